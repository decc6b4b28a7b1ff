//! The simulated kernel's jail_set(2), jail_get(2) and jail_remove(2).
//!
//! Requests arrive as the same iovec byte buffers the FreeBSD host passes to
//! the kernel and are parsed the way kern_jail.c parses them, so an encoding
//! mistake fails here too. The rules and their errnos follow
//! `shared/freebsd/jail-set-errors.tsv`; where the sim differs from the
//! kernel the comment says so.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use nix::errno::Errno;

use super::config::SimConfig;
use super::fs;
use super::state::{SimJail, State};
use super::sysctl;
use crate::host::encode::{self, IovPair};
use crate::host::params::{self, Access, ParamType, MAXHOSTNAMELEN, MAX_AF_IPS};
use crate::host::{JailParam, JailSys, Jid, ParamValue, SetFlags};

/// The highest jail id (JAIL_MAX).
const JAIL_MAX: Jid = 999_999;

/// A refusal: the errno and the kernel's errmsg text.
pub type Refusal = (Errno, String);

fn no(errno: Errno, msg: impl Into<String>) -> Refusal {
    (errno, msg.into())
}

/// The allow.* flags a new jail gets (JAIL_DEFAULT_ALLOW).
const DEFAULT_ALLOW: &[&str] =
    &["allow.set_hostname", "allow.reserved_ports", "allow.unprivileged_proc_debug", "allow.suser"];

fn c_name(raw: &[u8]) -> Result<String, Refusal> {
    match raw.split_last() {
        Some((0, name)) if !name.contains(&0) => {
            String::from_utf8(name.to_vec()).map_err(|_| no(Errno::EINVAL, "parameter name is not UTF-8"))
        }
        _ => Err(no(Errno::EINVAL, "parameter name is not NUL-terminated")),
    }
}

/// Parses a jail_set(2) request into positive names and typed values.
fn parse_set(cfg: &SimConfig, iov: &[IovPair]) -> Result<BTreeMap<String, ParamValue>, Refusal> {
    let mut out: BTreeMap<String, ParamValue> = BTreeMap::new();
    for pair in iov {
        let name = c_name(&pair.name)?;
        if name == "errmsg" {
            continue;
        }
        let look = params::lookup(&name)
            .filter(|l| l.def.access != Access::ReadOnly && cfg.knows(l.def.name))
            .ok_or_else(|| no(Errno::EINVAL, format!("unknown parameter: {name}")))?;
        let value = if look.def.ty == ParamType::Bool {
            // vfs_flagopt: a boolean is present or not; its value is ignored.
            ParamValue::Bool(!look.negated)
        } else {
            let bytes = pair.value.as_deref().unwrap_or(&[]);
            encode::decode_value(look.def, bytes).map_err(|e| (e.errno, e.detail))?
        };
        if let Some(prev) = out.get(look.def.name) {
            if look.def.ty == ParamType::Bool && prev != &value {
                return Err(no(Errno::EINVAL, format!("{} cannot be both set and cleared", look.def.name)));
            }
        }
        out.insert(look.def.name.to_string(), value);
    }
    Ok(out)
}

fn int_param(p: &BTreeMap<String, ParamValue>, name: &str) -> Option<i32> {
    match p.get(name) {
        Some(ParamValue::Int(v)) => Some(*v),
        _ => None,
    }
}

fn jailsys_param(p: &BTreeMap<String, ParamValue>, name: &str) -> Option<JailSys> {
    match p.get(name) {
        Some(ParamValue::JailSys(v)) => Some(*v),
        _ => None,
    }
}

impl SimJail {
    pub(super) fn int(&self, name: &str) -> i32 {
        match self.params.get(name).map(|p| &p.value) {
            Some(ParamValue::Int(v)) => *v,
            _ => 0,
        }
    }
    pub(super) fn flag(&self, name: &str) -> bool {
        matches!(self.params.get(name).map(|p| &p.value), Some(ParamValue::Bool(true)))
    }
    fn jailsys(&self, name: &str) -> JailSys {
        match self.params.get(name).map(|p| &p.value) {
            Some(ParamValue::JailSys(v)) => *v,
            _ => JailSys::Disable,
        }
    }
    fn ip4(&self) -> Vec<Ipv4Addr> {
        match self.params.get("ip4.addr").map(|p| &p.value) {
            Some(ParamValue::Ip4(v)) => v.clone(),
            _ => Vec::new(),
        }
    }
    fn ip6(&self) -> Vec<Ipv6Addr> {
        match self.params.get("ip6.addr").map(|p| &p.value) {
            Some(ParamValue::Ip6(v)) => v.clone(),
            _ => Vec::new(),
        }
    }
    fn set(&mut self, name: &str, value: ParamValue) {
        self.params.insert(name.to_string(), JailParam::new(name, value));
    }
}

/// What a parent grants: the host itself (prison0) or a jail.
struct Parent {
    jid: Jid,
    securelevel: i32,
    enforce_statfs: i32,
    children_max: i32,
    devfs_ruleset: i32,
    /// None: prison0, which has every allow flag.
    allow: Option<Vec<String>>,
    /// None: unrestricted (prison0 or ip4=inherit up to prison0).
    ip4: Option<Vec<Ipv4Addr>>,
    ip6: Option<Vec<Ipv6Addr>>,
    osrelease: String,
    osreldate: i32,
}

fn parent_of(st: &State, cfg: &SimConfig, jid: Jid) -> Parent {
    match st.jails.get(&jid) {
        None => Parent {
            jid: 0,
            securelevel: i32::try_from(sysctl::int(st, cfg, "kern.securelevel")).unwrap_or(-1),
            enforce_statfs: 0,
            children_max: i32::try_from(sysctl::int(st, cfg, "security.jail.children.max")).unwrap_or(JAIL_MAX),
            devfs_ruleset: 0,
            allow: None,
            ip4: None,
            ip6: None,
            osrelease: cfg.osrelease.clone(),
            osreldate: i32::try_from(cfg.osreldate).unwrap_or(0),
        },
        Some(j) => Parent {
            jid: j.jid,
            securelevel: j.int("securelevel"),
            enforce_statfs: j.int("enforce_statfs"),
            children_max: j.int("children.max"),
            devfs_ruleset: j.int("devfs_ruleset"),
            allow: Some(
                j.params
                    .iter()
                    .filter(|(k, v)| k.starts_with("allow.") && v.value == ParamValue::Bool(true))
                    .map(|(k, _)| k.clone())
                    .collect(),
            ),
            ip4: (j.jailsys("ip4") == JailSys::New).then(|| j.ip4()),
            ip6: (j.jailsys("ip6") == JailSys::New).then(|| j.ip6()),
            osrelease: match j.params.get("osrelease").map(|p| &p.value) {
                Some(ParamValue::Str(s)) => s.clone(),
                _ => cfg.osrelease.clone(),
            },
            osreldate: j.int("osreldate"),
        },
    }
}

fn children_cur(st: &State, jid: Jid) -> i32 {
    i32::try_from(st.jails.values().filter(|j| j.parent == jid).count()).unwrap_or(i32::MAX)
}

fn find_by_name(st: &State, name: &str) -> Option<Jid> {
    st.jails.values().find(|j| j.name == name).map(|j| j.jid)
}

fn next_jid(st: &State) -> Result<Jid, Refusal> {
    let mut j = st.last_jid;
    for _ in 0..JAIL_MAX {
        j = if j >= JAIL_MAX { 1 } else { j + 1 };
        if !st.jails.contains_key(&j) {
            return Ok(j);
        }
    }
    Err(no(Errno::EAGAIN, "no available jail IDs"))
}

fn check_ip4(addrs: &[Ipv4Addr]) -> Result<(), Refusal> {
    if addrs.len() > MAX_AF_IPS {
        return Err(no(Errno::EINVAL, "too many IPv4 addresses"));
    }
    for (i, a) in addrs.iter().enumerate() {
        if a.is_unspecified() || a.is_broadcast() || addrs[..i].contains(a) {
            return Err(no(Errno::EINVAL, format!("invalid or duplicate IPv4 address {a}")));
        }
    }
    Ok(())
}

fn check_ip6(addrs: &[Ipv6Addr]) -> Result<(), Refusal> {
    if addrs.len() > MAX_AF_IPS {
        return Err(no(Errno::EINVAL, "too many IPv6 addresses"));
    }
    for (i, a) in addrs.iter().enumerate() {
        if a.is_unspecified() || addrs[..i].contains(a) {
            return Err(no(Errno::EINVAL, format!("invalid or duplicate IPv6 address {a}")));
        }
    }
    Ok(())
}

/// prison_ip_conflict_check: the same address in two live jails is only
/// refused when either jail has more than one address of that family.
fn check_clash(st: &State, me: Jid, ip4: &[Ipv4Addr], ip6: &[Ipv6Addr]) -> Result<(), Refusal> {
    for other in st.jails.values().filter(|j| j.jid != me) {
        let o4 = other.ip4();
        if ip4.iter().any(|a| o4.contains(a)) && (ip4.len() > 1 || o4.len() > 1) {
            return Err(no(Errno::EADDRINUSE, "IPv4 addresses clash"));
        }
        let o6 = other.ip6();
        if ip6.iter().any(|a| o6.contains(a)) && (ip6.len() > 1 || o6.len() > 1) {
            return Err(no(Errno::EADDRINUSE, "IPv6 addresses clash"));
        }
    }
    Ok(())
}

/// The parameters checked against the parent on create and update.
fn check_against_parent(p: &BTreeMap<String, ParamValue>, parent: &Parent) -> Result<(), Refusal> {
    if let Some(sl) = int_param(p, "securelevel") {
        if sl < parent.securelevel {
            return Err(no(Errno::EPERM, format!("securelevel {sl} is below the parent's {}", parent.securelevel)));
        }
    }
    if let Some(es) = int_param(p, "enforce_statfs") {
        if es < parent.enforce_statfs {
            return Err(no(Errno::EPERM, "enforce_statfs is below the parent's"));
        }
    }
    if parent.jid != 0 {
        if let Some(cm) = int_param(p, "children.max") {
            if cm >= parent.children_max {
                return Err(no(Errno::EPERM, "children.max must be below the parent's"));
            }
        }
        if let Some(rs) = int_param(p, "devfs_ruleset") {
            if rs != 0 && rs != parent.devfs_ruleset {
                return Err(no(Errno::EPERM, "devfs_ruleset differs from the parent's"));
            }
        }
    }
    if let Some(allowed) = &parent.allow {
        for (k, v) in p {
            if k.starts_with("allow.") && *v == ParamValue::Bool(true) && !allowed.contains(k) {
                return Err(no(Errno::EPERM, format!("{k} is not allowed by the parent")));
            }
        }
    }
    if let (Some(allowed), Some(ParamValue::Ip4(want))) = (&parent.ip4, p.get("ip4.addr")) {
        if want.iter().any(|a| !allowed.contains(a)) {
            return Err(no(Errno::EPERM, "IPv4 addresses are not a subset of the parent's"));
        }
    }
    if let (Some(allowed), Some(ParamValue::Ip6(want))) = (&parent.ip6, p.get("ip6.addr")) {
        if want.iter().any(|a| !allowed.contains(a)) {
            return Err(no(Errno::EPERM, "IPv6 addresses are not a subset of the parent's"));
        }
    }
    Ok(())
}

/// jail_set(2).
/// `alive(path)` tells whether processes run with that jail root, for a
/// jail that stops persisting.
pub fn set(
    st: &mut State,
    cfg: &SimConfig,
    root: &Path,
    iov: &[IovPair],
    flags: SetFlags,
    alive: &dyn Fn(&str) -> bool,
) -> Result<Jid, Refusal> {
    if !flags.create && !flags.update {
        return Err(no(Errno::EINVAL, "no valid operation (create or update)"));
    }
    if flags.attach {
        // The sim cannot move brig's own process into a jail; brig never
        // asks for it (commands go through Host::spawn).
        return Err(no(Errno::EOPNOTSUPP, "the simulated host does not support JAIL_ATTACH"));
    }
    if flags.create && sysctl::int(st, cfg, "security.jail.jailed") == 1 {
        let max = sysctl::int(st, cfg, "security.jail.children.max");
        let cur = sysctl::int(st, cfg, "security.jail.children.cur");
        if max == 0 || cur >= max {
            return Err(no(Errno::EPERM, "prison limit exceeded"));
        }
    }
    let mut p = parse_set(cfg, iov)?;

    if let Some(j) = int_param(&p, "jid") {
        if j < 0 {
            return Err(no(Errno::EINVAL, "negative jid"));
        }
    }
    for (name, ty) in params::PARAMS.iter().map(|d| (d.name, d.ty)) {
        match (ty, p.get(name)) {
            (ParamType::Int { min, max }, Some(ParamValue::Int(v))) if *v < min || *v > max => {
                return Err(no(Errno::EINVAL, format!("{name} must be between {min} and {max}")));
            }
            (ParamType::JailSys { disable: false }, Some(ParamValue::JailSys(JailSys::Disable))) => {
                return Err(no(Errno::EINVAL, format!("{name} cannot be disable")));
            }
            _ => {}
        }
    }
    if flags.update {
        // jid selects the jail on update; every other create-only
        // parameter is refused.
        let fixed = params::PARAMS.iter().filter(|d| d.access == Access::CreateOnly && d.name != "jid");
        if let Some(d) = fixed.into_iter().find(|d| p.contains_key(d.name)) {
            return Err(no(Errno::EINVAL, format!("{} cannot be changed after creation", d.name)));
        }
    }
    let vnet_new = jailsys_param(&p, "vnet") == Some(JailSys::New);
    if vnet_new && ["ip4", "ip4.addr", "ip6", "ip6.addr"].iter().any(|k| p.contains_key(*k)) {
        return Err(no(Errno::EINVAL, "vnet jails cannot have IP address restrictions"));
    }
    if let Some(ParamValue::Ip4(a)) = p.get_mut("ip4.addr") {
        check_ip4(a)?;
        // prison_ip_copyin: the first address is the primary one, the
        // rest are kept sorted.
        a.get_mut(1..).unwrap_or_default().sort();
    }
    if let Some(ParamValue::Ip6(a)) = p.get_mut("ip6.addr") {
        check_ip6(a)?;
        a.get_mut(1..).unwrap_or_default().sort();
    }
    if let Some(ParamValue::Str(path)) = p.get("path") {
        if path.is_empty() {
            return Err(no(Errno::EINVAL, "path is empty"));
        }
        let resolved = fs::resolve_dir(root, Path::new(path)).map_err(|e| (e, path.clone()))?;
        p.insert("path".into(), ParamValue::Str(resolved.to_string_lossy().into_owned()));
    }
    if int_param(&p, "osreldate") == Some(0) {
        return Err(no(Errno::EINVAL, "osreldate cannot be 0"));
    }
    if matches!(p.get("osrelease"), Some(ParamValue::Str(s)) if s.is_empty()) {
        return Err(no(Errno::EINVAL, "osrelease string must be 1-31 bytes long"));
    }

    // Find the jail: by jid, else by name.
    let name = match p.get("name") {
        Some(ParamValue::Str(n)) => Some(n.clone()),
        _ => None,
    };
    let mut jid = int_param(&p, "jid").unwrap_or(0);
    let mut parent_jid: Jid = 0;
    let mut last_component = None;
    if let Some(n) = &name {
        if n.is_empty() {
            return Err(no(Errno::EINVAL, "name is empty"));
        }
        if n.len() + 1 > MAXHOSTNAMELEN {
            return Err(no(Errno::ENAMETOOLONG, format!("name {n} is too long")));
        }
        let (prefix, last) = match n.rfind('.') {
            Some(i) => (Some(&n[..i]), &n[i + 1..]),
            None => (None, n.as_str()),
        };
        if let Some(prefix) = prefix {
            parent_jid =
                find_by_name(st, prefix).ok_or_else(|| no(Errno::ENOENT, format!("jail \"{prefix}\" not found")))?;
        }
        if last.is_empty() {
            return Err(no(Errno::EINVAL, "name has an empty component"));
        }
        if last.bytes().all(|b| b.is_ascii_digit()) {
            let numeric: Option<Jid> = if last.starts_with('0') { None } else { last.parse().ok() };
            match numeric {
                // kern_jail.c: a create without a jid takes it from an
                // all-digit name.
                Some(v) if jid == 0 && flags.create => jid = v,
                Some(v) if v == jid => {}
                _ => return Err(no(Errno::EINVAL, "name cannot be numeric (unless it is the jid)")),
            }
        }
        last_component = Some(last.to_string());
    }
    let existing: Option<Jid> = if jid != 0 {
        match (st.jails.contains_key(&jid), flags.create, flags.update) {
            (true, true, false) => return Err(no(Errno::EEXIST, format!("jail {jid} already exists"))),
            (false, false, true) => return Err(no(Errno::ENOENT, format!("jail {jid} not found"))),
            (true, _, _) => Some(jid),
            (false, _, _) => None,
        }
    } else if let Some(n) = &name {
        match (find_by_name(st, n), flags.create, flags.update) {
            (Some(_), true, false) => return Err(no(Errno::EEXIST, format!("jail \"{n}\" already exists"))),
            (None, false, true) => return Err(no(Errno::ENOENT, format!("jail \"{n}\" not found"))),
            (found, _, _) => found,
        }
    } else if !flags.create {
        return Err(no(Errno::ENOENT, "update specified no jail"));
    } else {
        None
    };

    match existing {
        Some(jid) => update(st, cfg, jid, name, p, alive),
        None => create(st, cfg, jid, parent_jid, name, last_component, p),
    }
}

fn create(
    st: &mut State,
    cfg: &SimConfig,
    jid: Jid,
    parent_jid: Jid,
    name: Option<String>,
    _last: Option<String>,
    mut p: BTreeMap<String, ParamValue>,
) -> Result<Jid, Refusal> {
    if p.get("persist") != Some(&ParamValue::Bool(true)) {
        return Err(no(Errno::EINVAL, "new jail must persist or attach"));
    }
    // Every ancestor must have room for one more child.
    let mut up = parent_jid;
    while let Some(a) = st.jails.get(&up) {
        if children_cur(st, a.jid) >= a.int("children.max") {
            return Err(no(Errno::EPERM, "prison limit exceeded"));
        }
        up = a.parent;
    }
    let parent = parent_of(st, cfg, parent_jid);
    check_against_parent(&p, &parent)?;
    let jid = if jid == 0 { next_jid(st)? } else { jid };
    let name = name.unwrap_or_else(|| jid.to_string());

    // IP modes: addresses given -> new; nothing -> disable; inherit ->
    // the parent's list (empty for an unrestricted parent).
    for (mode, addr) in [("ip4", "ip4.addr"), ("ip6", "ip6.addr")] {
        let m = jailsys_param(&p, mode).unwrap_or(if p.contains_key(addr) { JailSys::New } else { JailSys::Disable });
        if m != JailSys::New && p.contains_key(addr) {
            return Err(no(Errno::EINVAL, format!("{addr} requires {mode}=new")));
        }
        p.insert(mode.to_string(), ParamValue::JailSys(m));
    }
    let ip4 = match p.get("ip4.addr") {
        Some(ParamValue::Ip4(a)) => a.clone(),
        _ => Vec::new(),
    };
    let ip6 = match p.get("ip6.addr") {
        Some(ParamValue::Ip6(a)) => a.clone(),
        _ => Vec::new(),
    };
    check_clash(st, jid, &ip4, &ip6)?;

    let mut j = SimJail { jid, name, parent: parent_jid, params: BTreeMap::new(), cpus: None };
    // Defaults of a new prison (kern_jail.c), then what was asked.
    j.set("path", ParamValue::Str("/".into()));
    j.set("securelevel", ParamValue::Int(parent.securelevel));
    j.set("enforce_statfs", ParamValue::Int(2.max(parent.enforce_statfs)));
    j.set("devfs_ruleset", ParamValue::Int(parent.devfs_ruleset));
    j.set("children.max", ParamValue::Int(0));
    j.set("host", ParamValue::JailSys(JailSys::New));
    j.set("host.hostname", ParamValue::Str(String::new()));
    j.set("host.domainname", ParamValue::Str(String::new()));
    j.set("host.hostuuid", ParamValue::Str("00000000-0000-0000-0000-000000000000".into()));
    j.set("host.hostid", ParamValue::ULong(0));
    j.set("osrelease", ParamValue::Str(parent.osrelease.clone()));
    j.set("osreldate", ParamValue::Int(parent.osreldate));
    j.set("vnet", ParamValue::JailSys(JailSys::Inherit));
    j.set("ip4.saddrsel", ParamValue::Bool(true));
    j.set("ip6.saddrsel", ParamValue::Bool(true));
    for s in ["sysvmsg", "sysvsem", "sysvshm"] {
        j.set(s, ParamValue::JailSys(JailSys::Disable));
    }
    for def in params::PARAMS.iter().filter(|d| d.name.starts_with("allow.") && cfg.knows(d.name)) {
        let granted = parent.allow.as_ref().is_none_or(|a| a.iter().any(|x| x == def.name));
        j.set(def.name, ParamValue::Bool(granted && DEFAULT_ALLOW.contains(&def.name)));
    }
    p.remove("jid");
    p.remove("name");
    for (k, v) in p {
        j.set(&k, v);
    }
    st.jails.insert(jid, j);
    st.last_jid = jid;
    Ok(jid)
}

fn update(
    st: &mut State,
    cfg: &SimConfig,
    jid: Jid,
    name: Option<String>,
    mut p: BTreeMap<String, ParamValue>,
    alive: &dyn Fn(&str) -> bool,
) -> Result<Jid, Refusal> {
    let (parent_jid, ip4_mode, ip6_mode) = match st.jails.get(&jid) {
        Some(j) => (j.parent, j.jailsys("ip4"), j.jailsys("ip6")),
        None => return Err(no(Errno::ENOENT, format!("jail {jid} not found"))),
    };
    let parent = parent_of(st, cfg, parent_jid);
    check_against_parent(&p, &parent)?;
    if p.contains_key("ip4.addr") && ip4_mode != JailSys::New {
        return Err(no(Errno::EINVAL, "ip4 cannot be changed after creation"));
    }
    if p.contains_key("ip6.addr") && ip6_mode != JailSys::New {
        return Err(no(Errno::EINVAL, "ip6 cannot be changed after creation"));
    }
    if p.contains_key("ip4.addr") || p.contains_key("ip6.addr") {
        let cur = &st.jails[&jid];
        let ip4 = match p.get("ip4.addr") {
            Some(ParamValue::Ip4(a)) => a.clone(),
            _ => cur.ip4(),
        };
        let ip6 = match p.get("ip6.addr") {
            Some(ParamValue::Ip6(a)) => a.clone(),
            _ => cur.ip6(),
        };
        check_clash(st, jid, &ip4, &ip6)?;
    }
    if let Some(n) = name {
        if let Some(other) = find_by_name(st, &n) {
            if other != jid {
                return Err(no(Errno::EEXIST, format!("jail \"{n}\" already exists")));
            }
        }
        if let Some(j) = st.jails.get_mut(&jid) {
            j.name = n;
        }
    }
    p.remove("jid");
    p.remove("name");
    let mut dies = false;
    if let Some(j) = st.jails.get_mut(&jid) {
        for (k, v) in p {
            j.set(&k, v);
        }
        // Without persist, a jail lives only while it has processes.
        let path = match j.params.get("path").map(|p| &p.value) {
            Some(ParamValue::Str(p)) => p.clone(),
            _ => "/".to_string(),
        };
        dies = !j.flag("persist") && !alive(&path);
    }
    if dies {
        remove_tree(st, jid);
    }
    Ok(jid)
}

/// A jail and all its descendants, parents first.
pub fn tree(st: &State, jid: Jid) -> Vec<Jid> {
    let mut out = vec![jid];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(st.jails.values().filter(|j| j.parent == parent).map(|j| j.jid));
        i += 1;
    }
    out
}

fn remove_tree(st: &mut State, jid: Jid) {
    let children: Vec<Jid> = st.jails.values().filter(|j| j.parent == jid).map(|j| j.jid).collect();
    for c in children {
        remove_tree(st, c);
    }
    st.jails.remove(&jid);
    // The prison's datasets are detached with it (the zone's OSD goes).
    for d in st.datasets.values_mut().filter(|d| d.jail == Some(jid)) {
        d.jail = None;
    }
}

/// jail_remove(2): the jail and all its descendants go; their rctl rules,
/// mounts and aliases stay, as on FreeBSD.
pub fn remove(st: &mut State, jid: Jid) -> Result<(), Refusal> {
    if !st.jails.contains_key(&jid) {
        return Err(no(Errno::EINVAL, format!("jail {jid} not found")));
    }
    remove_tree(st, jid);
    Ok(())
}

/// The value of one parameter of a live jail, as jail_get(2) reports it.
fn value_of(st: &State, cfg: &SimConfig, j: &SimJail, name: &str) -> Result<ParamValue, Refusal> {
    let look = params::lookup(name)
        .filter(|l| cfg.knows(l.def.name))
        .ok_or_else(|| no(Errno::EINVAL, format!("unknown parameter: {name}")))?;
    let positive = look.def.name;
    let v = match positive {
        "jid" => ParamValue::Int(j.jid),
        "name" => ParamValue::Str(j.name.clone()),
        "parent" => ParamValue::Int(j.parent),
        "children.cur" => ParamValue::Int(children_cur(st, j.jid)),
        "dying" => ParamValue::Bool(false),
        "cpuset.id" => ParamValue::Int(j.jid + 1),
        _ => match j.params.get(positive) {
            Some(p) => p.value.clone(),
            None => match look.def.ty {
                ParamType::Str { .. } => ParamValue::Str(String::new()),
                ParamType::Int { .. } => ParamValue::Int(0),
                ParamType::ULong => ParamValue::ULong(0),
                ParamType::Bool => ParamValue::Bool(false),
                ParamType::JailSys { .. } => ParamValue::JailSys(JailSys::Disable),
                ParamType::Ip4List => ParamValue::Ip4(Vec::new()),
                ParamType::Ip6List => ParamValue::Ip6(Vec::new()),
            },
        },
    };
    Ok(match (look.negated, v) {
        (true, ParamValue::Bool(b)) => ParamValue::Bool(!b),
        (_, v) => v,
    })
}

/// jail_get(2) as kern_jail.c does it: of options with the same name only
/// the last counts (vfs_sanitizeopts); the jail is chosen by `lastjid`,
/// else a non-zero `jid`, else `name`; every surviving option gets its
/// value, the key included. Returns one value per pair (None for a pair
/// the kernel dropped as a duplicate, or for `lastjid`).
pub fn get(st: &State, cfg: &SimConfig, iov: &[IovPair]) -> Result<Vec<Option<ParamValue>>, Refusal> {
    let names: Vec<String> = iov.iter().map(|p| c_name(&p.name)).collect::<Result<_, _>>()?;
    let survives = |i: usize| !names[i + 1..].contains(&names[i]);
    let find = |key: &str| (0..iov.len()).find(|&i| names[i] == key && survives(i));
    let int_of = |i: usize| -> Result<i32, Refusal> {
        let bytes = iov[i].value.as_deref().unwrap_or(&[]);
        <[u8; 4]>::try_from(bytes)
            .map(i32::from_ne_bytes)
            .map_err(|_| no(Errno::EINVAL, format!("{}: expected 4 bytes", names[i])))
    };
    let jail = if let Some(i) = find("lastjid") {
        let last = int_of(i)?;
        st.jails
            .range(last.saturating_add(1)..)
            .next()
            .map(|(_, j)| j)
            .ok_or_else(|| no(Errno::ENOENT, format!("no jail after {last}")))?
    } else if let Some(jid) = find("jid").map(int_of).transpose()?.filter(|j| *j != 0) {
        st.jails.get(&jid).ok_or_else(|| no(Errno::ENOENT, format!("jail {jid} not found")))?
    } else if let Some(i) = find("name") {
        let bytes = iov[i].value.as_deref().unwrap_or(&[]);
        let n = match bytes.iter().position(|&b| b == 0) {
            Some(end) if end > 0 => String::from_utf8_lossy(&bytes[..end]).into_owned(),
            _ => return Err(no(Errno::ENOENT, "jail \"\" not found")),
        };
        let found = find_by_name(st, &n).or_else(|| n.parse::<Jid>().ok().filter(|j| st.jails.contains_key(j)));
        found.and_then(|jid| st.jails.get(&jid)).ok_or_else(|| no(Errno::ENOENT, format!("jail \"{n}\" not found")))?
    } else {
        return Err(no(Errno::ENOENT, "no jail specified"));
    };
    (0..iov.len())
        .map(|i| match names[i].as_str() {
            _ if !survives(i) => Ok(None),
            "lastjid" | "errmsg" => Ok(None),
            name => value_of(st, cfg, jail, name).map(Some),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::JailKey;

    fn booted() -> (tempfile::TempDir, State, SimConfig) {
        let t = tempfile::tempdir().expect("tempdir");
        let cfg = SimConfig::default();
        let mut st = State::boot(&cfg);
        let iov =
            encode::encode_set(&[JailParam::str("name", "web"), JailParam::bool("persist", true)]).expect("encodes");
        set(&mut st, &cfg, t.path(), &iov, SetFlags::CREATE, &|_| false).expect("created");
        (t, st, cfg)
    }

    #[test]
    fn a_repeated_option_replaces_the_key_as_in_the_kernel() {
        let (_t, st, cfg) = booted();
        // The key, then "name" again as a buffer to fill: the kernel keeps
        // only the last one, an empty name.
        let mut dup = vec![encode::encode_param(&JailParam::str("name", "web")).expect("key")];
        dup.push(IovPair { name: b"name\0".to_vec(), value: Some(vec![0; 256]) });
        assert_eq!(get(&st, &cfg, &dup).map_err(|e| e.0), Err(Errno::ENOENT));
        // The shared encoder answers `name` from the key instead.
        let req = encode::encode_get(&JailKey::Name("web".into()), &["name", "jid"]).expect("encodes");
        let values = get(&st, &cfg, &req.pairs).expect("found");
        assert_eq!(values[req.slots[0]], Some(ParamValue::Str("web".into())));
        assert_eq!(values[req.slots[1]], Some(ParamValue::Int(1)));
    }
}
