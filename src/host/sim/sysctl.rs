//! sysctl(3) of the simulated machine: the values brig reads, their
//! defaults on a stock FreeBSD host, and which of them can be written at
//! run time (loader tunables and read-only nodes give EPERM, unknown names
//! ENOENT, as sysctl(3) does).

use nix::errno::Errno;

use super::config::SimConfig;
use super::state::State;
use crate::host::SysctlValue;
use crate::kernel;
use crate::kernel::params::{self, Access, ParamType};
use crate::kernel::sysctl::{SysctlType, CTLFLAG_MPSAFE, CTLFLAG_RD, CTLFLAG_TUN, CTLFLAG_WR};

/// The simulated machine's hw.machine.
pub const MACHINE: &str = "amd64";

/// (name, default, writable at run time)
const DEFAULTS: &[(&str, Default, bool)] = &[
    ("kern.securelevel", Default::Int(-1), true),
    ("hw.ncpu", Default::Int(4), false),
    ("kern.features.vimage", Default::Int(1), false),
    ("kern.features.racct", Default::Int(1), false),
    ("kern.features.rctl", Default::Int(1), false),
    ("security.jail.jailed", Default::Int(0), false),
    ("security.jail.vnet", Default::Int(0), false),
    ("security.jail.children.max", Default::Int(999_999), false),
    ("security.jail.enforce_statfs", Default::Int(2), true),
    ("security.jail.set_hostname_allowed", Default::Int(1), true),
    ("security.jail.socket_unixiproute_only", Default::Int(1), true),
    ("security.jail.sysvipc_allowed", Default::Int(0), true),
    ("security.jail.allow_raw_sockets", Default::Int(0), true),
    ("security.jail.chflags_allowed", Default::Int(0), true),
    ("security.jail.mount_allowed", Default::Int(0), true),
    ("security.jail.jail_max_af_ips", Default::Int(255), true),
    ("security.jail.devfs_ruleset", Default::Int(0), false),
    ("net.link.bridge.pfil_member", Default::Int(1), true),
    ("net.inet6.ip6.dad_count", Default::Int(1), true),
    ("net.link.epair.netisr_maxqlen", Default::Int(2100), true),
    ("net.pf.request_maxcount", Default::Int(65535), false),
    ("vfs.zfs.version.spa", Default::Int(5000), false),
];

enum Default {
    Int(i64),
}

/// The value of a sysctl on the simulated machine.
pub fn get(st: &State, cfg: &SimConfig, name: &str) -> Result<SysctlValue, Errno> {
    if let Some(v) = st.sysctl.get(name) {
        return Ok(v.clone());
    }
    if let Some(v) = cfg.sysctl.get(name) {
        return from_toml(v).ok_or(Errno::EINVAL);
    }
    match name {
        "kern.racct.enable" => return Ok(SysctlValue::Int(i64::from(cfg.racct))),
        "kern.osrelease" => return Ok(SysctlValue::Str(cfg.osrelease.clone())),
        "kern.osreldate" => return Ok(SysctlValue::Int(cfg.osreldate)),
        "kern.ostype" => return Ok(SysctlValue::Str("FreeBSD".into())),
        "hw.machine" => return Ok(SysctlValue::Str(MACHINE.into())),
        // A node of dummynet.ko (ip_dn_io.c): there while it is loaded.
        kernel::dummynet::LOADED_SYSCTL => {
            return match cfg.modules.iter().any(|m| m == "dummynet") {
                true => Ok(SysctlValue::Int(1)),
                false => Err(Errno::ENOENT),
            }
        }
        n if n.starts_with(PARAM) => return param_value(cfg, &n[PARAM.len()..]),
        // The caller's (prison0's) count: every jail, dying ones included.
        "security.jail.children.cur" => return Ok(SysctlValue::Int(super::jail::children_cur(st, 0).into())),
        _ => {}
    }
    DEFAULTS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, Default::Int(v), _)| SysctlValue::Int(*v))
        .ok_or(Errno::ENOENT)
}

/// Where the kernel describes the jail parameters it knows.
const PARAM: &str = "security.jail.param.";

/// Reading `security.jail.param.NAME` as sysctl_jail_param answers it:
/// 0 for numbers, a string's maximum length as a decimal string; a struct
/// (the address lists) is no integer or string for brig (EINVAL, as the
/// FreeBSD backend says); a node has no value (EISDIR, sysctl_root).
fn param_value(cfg: &SimConfig, name: &str) -> Result<SysctlValue, Errno> {
    let t = param_type(cfg, name)?;
    if t.is_node() {
        return Err(Errno::EISDIR);
    }
    match params::lookup(name).map(|l| l.def.ty) {
        Some(ParamType::Str { max }) => Ok(SysctlValue::Str(max.to_string())),
        Some(ParamType::Ip4List | ParamType::Ip6List) => Err(Errno::EINVAL),
        _ => Ok(SysctlValue::Int(0)),
    }
}

/// The oidfmt of `security.jail.param.NAME`, shaped as the kernel's
/// declarations make it (kernel::sysctl): a leaf per parameter, with
/// CTLFLAG_RDTUN for those fixed at creation; a node with an empty-named
/// value child for jailsys parameters and `allow.mount`; value-less nodes
/// for `allow`, `children`, `cpuset`. ENOENT for what this kernel lacks,
/// and for `no` names (only libjail knows those).
fn param_type(cfg: &SimConfig, name: &str) -> Result<SysctlType, Errno> {
    if params::GROUPS.contains(&name) {
        return Ok(SysctlType::node(None));
    }
    let l = params::lookup(name).filter(|l| !l.negated && cfg.knows(l.def.name)).ok_or(Errno::ENOENT)?;
    let access = match l.def.access {
        Access::ReadWrite => CTLFLAG_RD | CTLFLAG_WR,
        Access::CreateOnly => CTLFLAG_RD | CTLFLAG_TUN,
        Access::ReadOnly => CTLFLAG_RD,
    };
    let (kind, fmt) = kernel::sysctl::expected(l.def.ty);
    let fmt = match l.def.ty {
        ParamType::Ip4List | ParamType::Ip6List => format!("{fmt},a"),
        _ => fmt.to_string(),
    };
    let leaf = SysctlType::leaf(kind | access | CTLFLAG_MPSAFE, &fmt);
    Ok(if params::is_node(name) { SysctlType::node(Some(leaf)) } else { leaf })
}

/// sysctl.name2oid and sysctl.oidfmt of a name (Host::sysctl_type).
pub fn kind(st: &State, cfg: &SimConfig, name: &str) -> Result<SysctlType, Errno> {
    if let Some(p) = name.strip_prefix(PARAM) {
        return param_type(cfg, p);
    }
    let writable = DEFAULTS.iter().any(|(n, _, w)| *n == name && *w) || cfg.sysctl.contains_key(name);
    let access = CTLFLAG_RD | if writable { CTLFLAG_WR } else { 0 };
    Ok(match get(st, cfg, name)? {
        SysctlValue::Int(_) => SysctlType::leaf(kernel::sysctl::CTLTYPE_INT | access, "I"),
        SysctlValue::Str(_) => SysctlType::leaf(kernel::sysctl::CTLTYPE_STRING | access, "A"),
    })
}

/// An integer sysctl, for the simulated kernel's own checks.
pub fn int(st: &State, cfg: &SimConfig, name: &str) -> i64 {
    get(st, cfg, name).ok().and_then(|v| v.as_int()).unwrap_or(0)
}

/// Writes a sysctl: ENOENT if unknown, EPERM if read-only or a loader
/// tunable, EINVAL if a number is expected and the value is not one.
pub fn set(st: &mut State, cfg: &SimConfig, name: &str, value: &SysctlValue) -> Result<(), Errno> {
    let current = get(st, cfg, name)?;
    let writable = DEFAULTS.iter().any(|(n, _, w)| *n == name && *w) || cfg.sysctl.contains_key(name);
    if !writable {
        return Err(Errno::EPERM);
    }
    let value = match (&current, value) {
        (SysctlValue::Int(_), v) => SysctlValue::Int(v.as_int().ok_or(Errno::EINVAL)?),
        (SysctlValue::Str(_), v) => SysctlValue::Str(v.to_string()),
    };
    st.sysctl.insert(name.to_string(), value);
    Ok(())
}

fn from_toml(v: &toml::Value) -> Option<SysctlValue> {
    match v {
        toml::Value::Integer(i) => Some(SysctlValue::Int(*i)),
        toml::Value::Boolean(b) => Some(SysctlValue::Int(i64::from(*b))),
        toml::Value::String(s) => Some(SysctlValue::Str(s.clone())),
        _ => None,
    }
}
