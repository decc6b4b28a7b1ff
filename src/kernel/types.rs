//! The values that cross between brig and the kernel: jail parameters and
//! their values, the jails jail_get(2) reports, datasets, mounts,
//! interfaces, sysctl values. Plain data; `host::Host` moves them, `model`
//! and `plan` reason about them.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::mount::Fsid;

/// A jail id as the kernel hands it out (1..=999999).
pub type Jid = i32;

/// Flags of jail_set(2): `JAIL_CREATE`, `JAIL_UPDATE`, `JAIL_ATTACH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SetFlags {
    pub create: bool,
    pub update: bool,
    pub attach: bool,
}

impl SetFlags {
    pub const CREATE: SetFlags = SetFlags { create: true, update: false, attach: false };
    pub const UPDATE: SetFlags = SetFlags { create: false, update: true, attach: false };

    /// The bit pattern of `<sys/jail.h>`.
    pub fn bits(self) -> i32 {
        (if self.create { 0x01 } else { 0 })
            | (if self.update { 0x02 } else { 0 })
            | (if self.attach { 0x04 } else { 0 })
    }
}

/// The three states of a "jailsys" parameter (`ip4`, `ip6`, `host`, `vnet`,
/// `sysvshm`, ...), with the kernel's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JailSys {
    Disable = 0,
    New = 1,
    Inherit = 2,
}

impl JailSys {
    pub fn from_raw(v: i32) -> Option<JailSys> {
        match v {
            0 => Some(JailSys::Disable),
            1 => Some(JailSys::New),
            2 => Some(JailSys::Inherit),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JailSys::Disable => "disable",
            JailSys::New => "new",
            JailSys::Inherit => "inherit",
        }
    }
}

/// A typed jail parameter value, as jail_set(2) takes it and jail_get(2)
/// returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum ParamValue {
    Str(String),
    Int(i32),
    ULong(u64),
    Bool(bool),
    JailSys(JailSys),
    Ip4(Vec<Ipv4Addr>),
    Ip6(Vec<Ipv6Addr>),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Str(s) => f.write_str(s),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::ULong(u) => write!(f, "{u}"),
            ParamValue::Bool(b) => f.write_str(if *b { "true" } else { "false" }),
            ParamValue::JailSys(s) => f.write_str(s.as_str()),
            ParamValue::Ip4(a) => {
                let v: Vec<String> = a.iter().map(|x| x.to_string()).collect();
                f.write_str(&v.join(","))
            }
            ParamValue::Ip6(a) => {
                let v: Vec<String> = a.iter().map(|x| x.to_string()).collect();
                f.write_str(&v.join(","))
            }
        }
    }
}

/// One `name = value` of a jail. Booleans are always stored under their
/// positive name (`persist`, `allow.raw_sockets`); the encoder writes the
/// `no` form for `false`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JailParam {
    pub name: String,
    pub value: ParamValue,
}

impl JailParam {
    pub fn new(name: impl Into<String>, value: ParamValue) -> JailParam {
        JailParam { name: name.into(), value }
    }
    pub fn str(name: &str, v: impl Into<String>) -> JailParam {
        JailParam::new(name, ParamValue::Str(v.into()))
    }
    pub fn int(name: &str, v: i32) -> JailParam {
        JailParam::new(name, ParamValue::Int(v))
    }
    pub fn bool(name: &str, v: bool) -> JailParam {
        JailParam::new(name, ParamValue::Bool(v))
    }
}

/// The flags of jail_get(2). With `dying` (`JAIL_DYING`, 0x08) a lookup
/// also finds a jail that jail_remove(2) has killed but whose last
/// reference (a process still exiting, a socket, an open file) has not gone
/// yet; without it such a jail is ENOENT (kern_jail_get).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GetFlags {
    pub dying: bool,
}

impl GetFlags {
    pub const ALIVE: GetFlags = GetFlags { dying: false };
    pub const DYING: GetFlags = GetFlags { dying: true };

    /// The bit pattern of `<sys/jail.h>`.
    pub fn bits(self) -> i32 {
        if self.dying {
            0x08
        } else {
            0
        }
    }
}

/// How jail_get(2) selects a jail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JailKey {
    Jid(Jid),
    Name(String),
    /// `lastjid`: the first live jail with a jid greater than this one.
    After(Jid),
}

/// The parameters brig reads for every live jail in one sweep.
pub const LIVE_PARAMS: &[&str] = &[
    "jid",
    "name",
    "path",
    "host.hostname",
    "parent",
    "ip4.addr",
    "ip6.addr",
    "persist",
    "dying",
    "children.max",
    "children.cur",
    "securelevel",
    "enforce_statfs",
    "devfs_ruleset",
    "osrelease",
];

/// A running jail as the kernel reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveJail {
    pub jid: Jid,
    pub name: String,
    pub path: String,
    pub hostname: String,
    pub parent: Jid,
    pub ip4: Vec<Ipv4Addr>,
    pub ip6: Vec<Ipv6Addr>,
    pub persist: bool,
    pub dying: bool,
    pub children_max: i32,
    pub children_cur: i32,
    pub securelevel: i32,
    pub enforce_statfs: i32,
    pub devfs_ruleset: i32,
    pub osrelease: String,
}

impl LiveJail {
    /// Builds a `LiveJail` from the values of [`LIVE_PARAMS`].
    pub fn from_params(values: &[JailParam]) -> LiveJail {
        let mut j = LiveJail::default();
        for p in values {
            match (p.name.as_str(), &p.value) {
                ("jid", ParamValue::Int(v)) => j.jid = *v,
                ("name", ParamValue::Str(v)) => j.name = v.clone(),
                ("path", ParamValue::Str(v)) => j.path = v.clone(),
                ("host.hostname", ParamValue::Str(v)) => j.hostname = v.clone(),
                ("parent", ParamValue::Int(v)) => j.parent = *v,
                ("ip4.addr", ParamValue::Ip4(v)) => j.ip4 = v.clone(),
                ("ip6.addr", ParamValue::Ip6(v)) => j.ip6 = v.clone(),
                ("persist", ParamValue::Bool(v)) => j.persist = *v,
                ("dying", ParamValue::Bool(v)) => j.dying = *v,
                ("children.max", ParamValue::Int(v)) => j.children_max = *v,
                ("children.cur", ParamValue::Int(v)) => j.children_cur = *v,
                ("securelevel", ParamValue::Int(v)) => j.securelevel = *v,
                ("enforce_statfs", ParamValue::Int(v)) => j.enforce_statfs = *v,
                ("devfs_ruleset", ParamValue::Int(v)) => j.devfs_ruleset = *v,
                ("osrelease", ParamValue::Str(v)) => j.osrelease = v.clone(),
                _ => {}
            }
        }
        j
    }
}

/// What kind of ZFS object a dataset name refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetKind {
    Filesystem,
    Snapshot,
    Volume,
}

/// One line of a `zfs list -Hp`: the name, its kind and the requested
/// properties in parseable form (`-` where a property has no value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInfo {
    pub name: String,
    pub kind: DatasetKind,
    pub props: BTreeMap<String, String>,
}

/// A filesystem to mount with nmount(2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountRequest {
    /// `devfs`, `nullfs`, `fdescfs`, `procfs`, `tmpfs`, `zfs`, ...
    pub fstype: String,
    /// `from`: the directory of a nullfs mount, the dataset of a zfs mount;
    /// pseudo filesystems use their fstype, as mount(8) does.
    pub source: String,
    /// `fspath`, a path of the managed machine.
    pub target: PathBuf,
    pub readonly: bool,
    /// Extra nmount options (`ruleset=4`, `size=1g`, `linrdlnk`).
    pub options: Vec<(String, Option<String>)>,
}

/// One mounted filesystem (getfsstat(2)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MountEntry {
    pub fstype: String,
    pub source: String,
    pub target: PathBuf,
    pub readonly: bool,
    /// Its filesystem ID (`f_fsid`), by which it is unmounted.
    #[serde(default)]
    pub fsid: Fsid,
}

/// A sysctl value: numbers and strings are all brig reads or writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SysctlValue {
    Int(i64),
    Str(String),
}

impl SysctlValue {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            SysctlValue::Int(i) => Some(*i),
            SysctlValue::Str(s) => s.trim().parse().ok(),
        }
    }
}

impl std::fmt::Display for SysctlValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SysctlValue::Int(i) => write!(f, "{i}"),
            SysctlValue::Str(s) => f.write_str(s),
        }
    }
}

/// A network interface and its addresses (getifaddrs(3)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Interface {
    pub name: String,
    pub up: bool,
    /// Addresses with their prefix length, `192.0.2.5/24`.
    #[schemars(with = "Vec<String>")]
    pub addrs: Vec<IpNet>,
}

/// What brig sets up inside a VNET jail's own stack at its start: lo0
/// with 127.0.0.1/8 and ::1, then `interface` up with `addrs`, router
/// advertisements accepted when `slaac`, and the default routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VnetSetup {
    pub interface: String,
    /// Addresses with their prefix length, `192.0.2.5/24`.
    pub addrs: Vec<IpNet>,
    pub ip4_gateway: Option<std::net::Ipv4Addr>,
    /// A link-local one is reached through `interface`.
    pub ip6_gateway: Option<std::net::Ipv6Addr>,
    pub slaac: bool,
}

/// A VNET jail's stack as seen from inside it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VnetView {
    pub interfaces: Vec<Interface>,
    pub ip4_gateway: Option<std::net::Ipv4Addr>,
    pub ip6_gateway: Option<std::net::Ipv6Addr>,
}

/// How a path changed between two snapshots (`zfs diff`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    Modified,
    /// Moved to this path (relative to the dataset's root).
    Renamed(PathBuf),
}

/// What a changed path is (`zfs diff -F`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    /// A device, FIFO, socket or door.
    Other,
}

/// One line of `zfs diff -FH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffEntry {
    pub change: Change,
    pub kind: FileKind,
    /// Relative to the dataset's root.
    pub path: PathBuf,
}
