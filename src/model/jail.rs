//! A jail definition, validated: every value typed and checked before it
//! can reach a path, a dataset name or a syscall, the secure defaults
//! filled in. Pure: errors carry the byte offset of the offending value;
//! the caller turns it into file:line:col.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::limits::Bandwidth;
use super::network::Network;
use super::param;
use super::quoted;
use super::raw::{RawJail, RawMount};
use super::{JailName, ReleaseName};
use crate::kernel::params::{self, ParamType};
use crate::kernel::{JailParam, ParamValue};

/// How a new jail's root is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JailType {
    /// A ZFS clone of the release snapshot: instant, shares blocks.
    #[default]
    Thin,
    /// An independent copy of the release.
    Thick,
    /// An empty dataset, for a root you fill yourself.
    Empty,
}

impl JailType {
    pub fn as_str(self) -> &'static str {
        match self {
            JailType::Thin => "thin",
            JailType::Thick => "thick",
            JailType::Empty => "empty",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exec {
    /// Run inside the jail after it is created (exec.start).
    pub start: String,
    /// Run inside the jail before it is removed (exec.stop).
    pub stop: String,
    /// Host-side hooks.
    pub prestart: Option<String>,
    pub poststart: Option<String>,
    pub prestop: Option<String>,
    pub poststop: Option<String>,
    /// Start commands from a clean environment (exec.clean).
    pub clean: bool,
    /// Seconds to wait for processes after SIGTERM (stop.timeout).
    pub timeout: u32,
}

/// `ready = "exec:COMMAND"`: run inside the jail after it starts, every
/// half second until it exits 0, for at most `timeout` seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    pub command: String,
    pub timeout: u32,
}

pub const DEFAULT_READY_TIMEOUT: u32 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// A host directory for nullfs; the fstype itself for pseudo filesystems.
    pub source: String,
    /// Inside the jail: absolute, no `..`.
    pub target: PathBuf,
    pub fstype: String,
    pub readonly: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JailSpec {
    pub name: JailName,
    pub release: Option<ReleaseName>,
    pub jail_type: JailType,
    pub hostname: String,
    pub boot: bool,
    pub priority: u32,
    /// What tells that the jail is ready for the jails that depend on it.
    pub ready: Option<Ready>,
    pub depends: Vec<JailName>,
    pub network: Network,
    /// pf rules in the jail's anchor; None leaves pf alone.
    pub firewall: Option<super::firewall::Firewall>,
    /// Every jail parameter brig sets: the secure defaults, then the host's
    /// `[defaults.params]`, then the definition's `[params]`.
    pub params: Vec<JailParam>,
    pub exec: Exec,
    pub mounts: Vec<Mount>,
    pub limits: super::limits::Limits,
    /// `[snapshots]`: automatic snapshots and how many are kept.
    pub snapshots: Option<super::snapshot::Retention>,
    pub zfs: super::zfs::ZfsSpec,
    /// `[[provision]]` steps and `[vars]`.
    pub provision: super::provision::Provision,
    /// The image a thin jail is cloned from instead of its release.
    pub image: Option<JailName>,
    /// `[health]`: the check and what `brig supervise` does about it.
    pub health: Option<super::health::Health>,
}

impl JailSpec {
    /// The names of the jail parameters a start sets that a kernel may
    /// not know: the definition's, and `vnet` (options VIMAGE) for a
    /// VNET jail.
    pub fn kernel_param_names(&self) -> impl Iterator<Item = &str> {
        let vnet = matches!(self.network, Network::Vnet(_)).then_some("vnet");
        self.params.iter().map(|p| p.name.as_str()).chain(vnet)
    }

    /// Its bandwidth limits and the host interface they are applied on.
    pub fn shaping(&self) -> Option<(Bandwidth, &str)> {
        let b = self.limits.bandwidth?;
        super::firewall::shaping_interface(&self.network, self.firewall.as_ref()).ok().map(|on| (b, on))
    }
}

/// A refusal: byte offset of the value in the file, and the sentence.
pub type Invalid = (usize, String);

fn at<T>(s: &Spanned<T>, msg: impl Into<String>) -> Invalid {
    (s.span().start, msg.into())
}

pub const DEFAULT_PRIORITY: u32 = 50;
pub const DEFAULT_TIMEOUT: u32 = 10;
pub const DEFAULT_START: &str = "/bin/sh /etc/rc";
pub const DEFAULT_STOP: &str = "/bin/sh /etc/rc.shutdown jail";
/// Filesystems a `[[mount]]` may use.
pub const MOUNT_FSTYPES: &[&str] = &["nullfs", "tmpfs", "procfs", "fdescfs", "linprocfs", "linsysfs"];

/// The parameters every jail gets unless something says otherwise:
/// tighter than jail(8)'s: every `allow.*` off except
/// `allow.suser`, which is not a privilege beyond the jail but whether its
/// root is root at all (security.bsd.suser_enabled inside it); off, a
/// customer's root could not even run /etc/rc.
pub fn secure_defaults() -> Vec<JailParam> {
    let mut out = vec![
        JailParam::int("securelevel", 2),
        JailParam::int("enforce_statfs", 2),
        JailParam::int("devfs_ruleset", 4),
        JailParam::int("children.max", 0),
    ];
    out.extend(
        params::PARAMS
            .iter()
            .filter(|d| d.name.starts_with("allow.") && d.ty == ParamType::Bool)
            .map(|d| JailParam::bool(d.name, d.name == "allow.suser")),
    );
    out
}

/// A hostname as sethostname(3) and DNS accept it: dot-separated labels of
/// letters, digits and `-`, each 1..=63 bytes, at most 255 in all.
pub fn check_hostname(h: &str) -> Result<(), String> {
    if h.is_empty() || h.len() > 255 {
        return Err(format!("hostname {} must be 1 to 255 characters", quoted(h)));
    }
    for label in h.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(format!(
                "hostname {} is not valid: use dot-separated labels of letters, digits and '-', each 1 to 63 characters", quoted(h)
            ));
        }
    }
    Ok(())
}

/// An absolute path without `.`/`..`, normalised.
pub(crate) fn plain_absolute(p: &str) -> Option<PathBuf> {
    if !p.starts_with('/') || p.chars().any(char::is_control) {
        return None;
    }
    // Component by component as written: Path::components would quietly
    // drop a "." and fold "//", and the path would not be what it says.
    let mut out = PathBuf::from("/");
    let trimmed = p.strip_prefix('/').unwrap_or(p);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Some(out);
    }
    for part in trimmed.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return None;
        }
        out.push(part);
    }
    Some(out)
}

fn command(s: &Option<Spanned<String>>) -> Result<Option<String>, Invalid> {
    match s {
        Some(c) if c.get_ref().trim().is_empty() => Err(at(c, "a command cannot be empty; remove the key instead")),
        Some(c) => Ok(Some(c.get_ref().clone())),
        None => Ok(None),
    }
}

/// Validates a definition. `host_defaults` are the host's
/// `[defaults.params]`, already checked.
pub fn validate(
    name: &JailName,
    raw: &RawJail,
    host_defaults: &[JailParam],
    default_type: JailType,
) -> Result<JailSpec, Invalid> {
    if let Some((parent, _)) = name.as_str().split_once('.') {
        return Err((
            0,
            format!("{name} names a jail inside jail {parent}, which that jail's root makes; a definition is for a jail of this host, without '.'"),
        ));
    }
    let jail_type = raw.jail_type.unwrap_or(default_type);
    let release = match (&raw.release, jail_type) {
        (Some(r), _) => Some(ReleaseName::parse(r.get_ref()).map_err(|e| at(r, e.to_string()))?),
        (None, JailType::Empty) => None,
        (None, t) => {
            return Err((
                0,
                format!("release is required for a {} jail, such as release = \"14.3-RELEASE\"", t.as_str()),
            ))
        }
    };
    let hostname = match &raw.hostname {
        Some(h) => {
            check_hostname(h.get_ref()).map_err(|e| at(h, e))?;
            h.get_ref().clone()
        }
        None => name.as_str().replace('_', "-"),
    };
    let priority = match &raw.priority {
        Some(p) => u32::try_from(*p.get_ref())
            .ok()
            .filter(|v| *v <= 999)
            .ok_or_else(|| at(p, "priority must be between 0 and 999"))?,
        None => DEFAULT_PRIORITY,
    };
    let mut depends: Vec<JailName> = Vec::new();
    // Sets beside the lists: a definition may be large, checks stay linear.
    let mut seen = std::collections::HashSet::new();
    for d in &raw.depends {
        let n = JailName::parse(d.get_ref()).map_err(|e| at(d, e.to_string()))?;
        if &n == name {
            return Err(at(d, format!("jail {name} cannot depend on itself")));
        }
        if !seen.insert(n.clone()) {
            return Err(at(d, format!("{n} is listed twice in depends")));
        }
        depends.push(n);
    }
    let network = super::network::validate(name, &raw.network)?;
    let firewall = super::firewall::validate(raw.firewall.as_ref(), &raw.expose, &network)?;
    let params = merged_params(raw, host_defaults)?;
    let exec = Exec {
        start: command(&raw.exec.start)?.unwrap_or_else(|| DEFAULT_START.into()),
        stop: command(&raw.exec.stop)?.unwrap_or_else(|| DEFAULT_STOP.into()),
        prestart: command(&raw.exec.prestart)?,
        poststart: command(&raw.exec.poststart)?,
        prestop: command(&raw.exec.prestop)?,
        poststop: command(&raw.exec.poststop)?,
        clean: raw.exec.clean.unwrap_or(true),
        timeout: match &raw.exec.timeout {
            Some(t) => u32::try_from(*t.get_ref())
                .ok()
                .filter(|v| *v <= 3600)
                .ok_or_else(|| at(t, "timeout must be between 0 and 3600 seconds"))?,
            None => DEFAULT_TIMEOUT,
        },
    };
    let mut mounts: Vec<Mount> = Vec::new();
    let mut targets = std::collections::HashSet::new();
    for m in &raw.mounts {
        let mount = mount(m)?;
        if !targets.insert(mount.target.clone()) {
            return Err(at(&m.target, format!("{} is mounted twice", mount.target.display())));
        }
        mounts.push(mount);
    }
    // dhclient(8) reads and writes the interface through bpf(4), which
    // every stock devfs ruleset hides (/etc/defaults/devfs.rules).
    if let Network::Vnet(v) = &network {
        let ruleset = match value(&params, "devfs_ruleset") {
            Some(ParamValue::Int(n)) => *n,
            _ => 4,
        };
        if v.dhcp && (1..=5).contains(&ruleset) {
            let span = raw.network.dhcp.as_ref().map_or(0, |d| d.span().start);
            return Err((
                span,
                format!("dhcp = true runs dhclient in the jail, which needs /dev/bpf, and devfs ruleset {ruleset} hides it; add to /etc/devfs.rules a ruleset such as [devfsrules_jail_dhcp=13] with `add include $devfsrules_jail_vnet` and `add path 'bpf*' unhide`, run `service devfs restart`, and set devfs_ruleset = 13 in [params]"),
            ));
        }
    }
    // brig sets a VNET jail's stack up as a process attached to it, whose
    // root has no privilege at all without allow.suser (priv_check_cred).
    if matches!(network, Network::Vnet(_)) && value(&params, "allow.suser") == Some(&ParamValue::Bool(false)) {
        let span = raw.params.keys().find(|k| k.get_ref() == "allow.suser").map_or(0, |k| k.span().start);
        return Err((
            span,
            "a VNET jail needs allow.suser: brig sets up its network stack as its root, which allow.suser = false leaves without privilege".into(),
        ));
    }
    let limits = super::limits::validate(&raw.limits)?;
    if limits.bandwidth.is_some() {
        let key = raw.limits.keys().find(|k| k.get_ref().starts_with("bandwidth_"));
        super::firewall::shaping_interface(&network, firewall.as_ref())
            .map_err(|why| (key.map_or(0, |k| k.span().start), why))?;
    }
    let zfs = super::zfs::validate(&raw.zfs, plain_absolute)?;
    let mut params = params;
    if let Some(first) = raw.zfs.delegate.first() {
        delegation_params(raw, &mut params).map_err(|why| at(first, why))?;
    }
    let provision = super::provision::validate(raw, name.as_str(), &hostname)?;
    // A step's mount is unmounted when provisioning ends: never one of
    // the jail's own.
    for step in &provision.steps {
        if let super::provision::Action::Mount(m) = &step.action {
            if targets.contains(&m.target) {
                return Err((
                    step.offset,
                    format!("{} is a [[mount]] of the jail already; a step cannot mount it too", m.target.display()),
                ));
            }
        }
    }
    Ok(JailSpec {
        image: image(raw, jail_type)?,
        provision,
        zfs,
        name: name.clone(),
        release,
        jail_type,
        hostname,
        boot: raw.boot,
        ready: ready(raw)?,
        priority,
        depends,
        network,
        firewall,
        params,
        exec,
        mounts,
        limits,
        snapshots: super::snapshot::validate(raw.snapshots.as_ref())?,
        health: super::health::validate(raw.health.as_ref())?,
    })
}

/// One `[[mount]]` (or a provision step's `mount`), checked.
pub(crate) fn mount(m: &RawMount) -> Result<Mount, Invalid> {
    let fstype = m.fstype.as_ref().map_or("nullfs".to_string(), |f| f.get_ref().clone());
    if !MOUNT_FSTYPES.contains(&fstype.as_str()) {
        let span = m.fstype.as_ref().map_or(m.target.span().start, |f| f.span().start);
        return Err((span, format!("fstype {} is not one of {}", quoted(&fstype), MOUNT_FSTYPES.join(", "))));
    }
    let target = plain_absolute(m.target.get_ref()).filter(|t| t != Path::new("/")).ok_or_else(|| {
        at(
            &m.target,
            format!(
                "target {} must be an absolute path inside the jail of plain names (no '.', '..', '//' or control characters), not /",
                quoted(m.target.get_ref())
            ),
        )
    })?;
    let source = match (&m.source, fstype.as_str()) {
        (Some(s), "nullfs") => plain_absolute(s.get_ref()).map(|p| p.display().to_string()).ok_or_else(|| {
            at(
                s,
                format!(
                    "source {} must be an absolute host path of plain names (no '.', '..', '//' or control characters)",
                    quoted(s.get_ref())
                ),
            )
        })?,
        (None, "nullfs") => return Err(at(&m.target, "a nullfs mount needs a source directory")),
        (_, other) => other.to_string(),
    };
    Ok(Mount { source, target, fstype, readonly: m.readonly })
}

/// `image = "NAME"`: named like a jail (without '.'), for a thin jail.
fn image(raw: &RawJail, jail_type: JailType) -> Result<Option<JailName>, Invalid> {
    let Some(i) = &raw.image else { return Ok(None) };
    if jail_type != JailType::Thin {
        return Err(at(
            i,
            format!("image is for a thin jail, which is cloned from it; this one is {}", jail_type.as_str()),
        ));
    }
    super::name::image_name(i.get_ref()).map(Some).map_err(|why| at(i, why))
}

fn ready(raw: &RawJail) -> Result<Option<Ready>, Invalid> {
    let timeout = match &raw.ready_timeout {
        Some(t) => u32::try_from(*t.get_ref())
            .ok()
            .filter(|v| (1..=3600).contains(v))
            .ok_or_else(|| at(t, "ready_timeout must be between 1 and 3600 seconds"))?,
        None => DEFAULT_READY_TIMEOUT,
    };
    let Some(r) = &raw.ready else {
        return match &raw.ready_timeout {
            Some(t) => Err(at(t, "ready_timeout without ready; add ready = \"exec:COMMAND\"")),
            None => Ok(None),
        };
    };
    match r.get_ref().strip_prefix("exec:") {
        Some(c) if !c.trim().is_empty() => Ok(Some(Ready { command: c.to_string(), timeout })),
        _ => Err(at(
            r,
            "ready takes exec:COMMAND, a command run inside the jail until it exits 0, such as \"exec:pg_isready\"",
        )),
    }
}

/// What a jail needs to mount the datasets delegated to it: allow.mount,
/// allow.mount.zfs and enforce_statfs below 2. brig sets them; a
/// definition that says otherwise is refused rather than overridden.
fn delegation_params(raw: &RawJail, params: &mut Vec<JailParam>) -> Result<(), String> {
    let explicit = |n: &str| raw.params.iter().find(|(k, _)| k.get_ref() == n).map(|(_, v)| v.get_ref().clone());
    for n in ["allow.mount", "allow.mount.zfs"] {
        if explicit(n) == Some(toml::Value::Boolean(false)) {
            return Err(format!("delegated datasets need {n} = true, but [params] sets it false; remove it"));
        }
        set(params, JailParam::bool(n, true));
    }
    match explicit("enforce_statfs").and_then(|v| v.as_integer()) {
        Some(v) if v >= 2 => {
            return Err("delegated datasets need enforce_statfs below 2 (1 is enough), but [params] sets it to 2".into())
        }
        Some(_) => {}
        None => set(params, JailParam::int("enforce_statfs", 1)),
    }
    Ok(())
}

fn set(params: &mut Vec<JailParam>, p: JailParam) {
    match params.iter_mut().find(|x| x.name == p.name) {
        Some(x) => *x = p,
        None => params.push(p),
    }
}

fn value<'a>(params: &'a [JailParam], name: &str) -> Option<&'a ParamValue> {
    params.iter().find(|p| p.name == name).map(|p| &p.value)
}

fn merged_params(raw: &RawJail, host_defaults: &[JailParam]) -> Result<Vec<JailParam>, Invalid> {
    let mut out = secure_defaults();
    for p in host_defaults {
        set(&mut out, p.clone());
    }
    for (k, v) in &raw.params {
        let p =
            param::check(k.get_ref(), v.get_ref()).map_err(|why| at(k, format!("parameter {} {why}", k.get_ref())))?;
        set(&mut out, p);
    }
    // Parameters that only work together (jail(8), mount(2) in a jail).
    let on = |n: &str| value(&out, n) == Some(&ParamValue::Bool(true));
    let statfs = match value(&out, "enforce_statfs") {
        Some(ParamValue::Int(v)) => *v,
        _ => 2,
    };
    let span_of = |n: &str| raw.params.keys().find(|k| k.get_ref() == n).map_or(0, |k| k.span().start);
    for fs in ["devfs", "fdescfs", "nullfs", "procfs", "linprocfs", "linsysfs", "tmpfs", "zfs", "fusefs"] {
        let name = format!("allow.mount.{fs}");
        if on(&name) && !on("allow.mount") {
            return Err((span_of(&name), format!("parameter {name} needs allow.mount = true")));
        }
        if on(&name) && statfs >= 2 {
            return Err((
                span_of(&name),
                format!("parameter {name} needs enforce_statfs below 2, so the jail can see its mounts"),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<JailSpec, Invalid> {
        let raw = crate::config::jail::parse(Path::new("t.toml"), text).expect("parses");
        validate(&JailName::parse("web").expect("name"), &raw, &[], JailType::Thin)
    }

    fn err(text: &str) -> String {
        let (offset, msg) = spec(text).expect_err("invalid");
        let (line, col) = crate::config::line_col(text, offset);
        format!("{line}:{col}: {msg}")
    }

    #[test]
    fn secure_defaults_turn_every_allow_off_but_keep_root_root() {
        let d = secure_defaults();
        let allow: Vec<&JailParam> = d.iter().filter(|p| p.name.starts_with("allow.")).collect();
        assert!(allow.len() > 20);
        for p in allow {
            assert_eq!(p.value, ParamValue::Bool(p.name == "allow.suser"), "{}", p.name);
        }
    }

    #[test]
    fn defaults_are_secure() {
        let s = spec("release = \"14.3-RELEASE\"\n").expect("valid");
        assert_eq!(s.hostname, "web");
        assert_eq!((s.priority, s.boot, s.exec.timeout, s.exec.clean), (50, false, 10, true));
        assert_eq!(s.exec.start, "/bin/sh /etc/rc");
        assert_eq!(s.network, Network::None);
        assert_eq!(value(&s.params, "securelevel"), Some(&ParamValue::Int(2)));
        assert_eq!(value(&s.params, "devfs_ruleset"), Some(&ParamValue::Int(4)));
        assert_eq!(value(&s.params, "allow.raw_sockets"), Some(&ParamValue::Bool(false)));
        assert_eq!(value(&s.params, "allow.set_hostname"), Some(&ParamValue::Bool(false)));
    }

    #[test]
    fn values_are_typed() {
        let s = spec(
            "release = \"14.3-RELEASE\"\nhostname = \"www.example.org\"\npriority = 5\ndepends = [\"db\"]\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.10/24\", \"192.0.2.11\"]\nip6 = [\"2001:db8::10/64\"]\n[params]\nsecurelevel = 3\n[[mount]]\nsource = \"/data/www\"\ntarget = \"/usr/local/www/\"\nreadonly = true\n",
        )
        .expect("valid");
        assert_eq!(s.depends, vec![JailName::parse("db").expect("name")]);
        let Network::Alias { interface, ip4, ip6 } = &s.network else { panic!("addresses") };
        assert_eq!(interface.as_deref(), Some("em0"));
        assert_eq!(ip4.iter().map(ToString::to_string).collect::<Vec<_>>(), vec!["192.0.2.10/24", "192.0.2.11/32"]);
        assert_eq!(ip6[0].to_string(), "2001:db8::10/64");
        assert_eq!(value(&s.params, "securelevel"), Some(&ParamValue::Int(3)));
        assert_eq!(s.mounts[0].target, Path::new("/usr/local/www"));
    }

    #[test]
    fn errors_point_at_the_value() {
        assert_eq!(
            err("type = \"thin\"\n"),
            "1:1: release is required for a thin jail, such as release = \"14.3-RELEASE\""
        );
        assert!(err("release = \"14.3\"\n").starts_with("1:11: invalid release '14.3'"));
        assert_eq!(
            err("release = \"14.3-RELEASE\"\n[network]\nip4 = [\"192.0.2.300/24\"]\n"),
            "3:8: '192.0.2.300/24' is not an IPv4 address such as 192.0.2.10/24"
        );
        assert_eq!(
            err("release = \"14.3-RELEASE\"\n[network]\nip4 = [\"0.0.0.0\"]\n"),
            "3:8: 0.0.0.0 cannot be a jail's address"
        );
        assert_eq!(
            err("release = \"14.3-RELEASE\"\n[params]\n\"allow.teleport\" = true\n"),
            "3:1: parameter allow.teleport is not a jail parameter FreeBSD knows (see jail(8))"
        );
        assert_eq!(
            err("release = \"14.3-RELEASE\"\n[params]\n\"allow.mount.zfs\" = true\n"),
            "3:1: parameter allow.mount.zfs needs allow.mount = true"
        );
        assert_eq!(
            err("release = \"14.3-RELEASE\"\n[params]\n\"allow.mount\" = true\n\"allow.mount.zfs\" = true\n"),
            "4:1: parameter allow.mount.zfs needs enforce_statfs below 2, so the jail can see its mounts"
        );
        assert!(err("release = \"14.3-RELEASE\"\nhostname = \"-bad-\"\n")
            .starts_with("2:12: hostname '-bad-' is not valid"));
        assert_eq!(err("release = \"14.3-RELEASE\"\ndepends = [\"web\"]\n"), "2:12: jail web cannot depend on itself");
        assert!(err("release = \"14.3-RELEASE\"\n[[mount]]\nsource = \"/data\"\ntarget = \"../etc\"\n")
            .starts_with("4:10: target '../etc' must be an absolute path"));
        assert!(err("release = \"14.3-RELEASE\"\n[[mount]]\nsource = \"/a/../etc\"\ntarget = \"/mnt\"\n")
            .starts_with("3:10: source '/a/../etc'"));
        assert_eq!(
            err("release = \"14.3-RELEASE\"\n[network]\ninherit = true\nip4 = [\"192.0.2.1\"]\n"),
            "4:8: a jail with mode = \"inherit\" shares the host's network; it cannot have ip4 or ip6"
        );
        assert_eq!(err("release = \"14.3-RELEASE\"\npriority = 1000\n"), "2:12: priority must be between 0 and 999");
    }

    #[test]
    fn an_empty_jail_needs_no_release() {
        let raw = crate::config::jail::parse(Path::new("t.toml"), "type = \"empty\"\n").expect("parses");
        let s = validate(&JailName::parse("e").expect("name"), &raw, &[], JailType::Thin).expect("valid");
        assert_eq!((s.jail_type, s.release), (JailType::Empty, None));
    }

    #[test]
    fn hostnames() {
        assert!(check_hostname("a.example.org").is_ok());
        for bad in ["", "a..b", "-a", "a-", "a_b", &"x".repeat(64), &format!("{}.x", "a.".repeat(130))] {
            assert!(check_hostname(bad).is_err(), "{bad}");
        }
    }
}
