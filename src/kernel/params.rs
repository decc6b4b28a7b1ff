//! The jail parameters of FreeBSD's kernel, with the type jail_set(2)
//! expects for each and whether it may change after the jail is created:
//! the SYSCTL_JAIL_PARAM* declarations of sys/kern/kern_jail.c,
//! kern_jailmeta.c (`meta`, `env`), the SYSV IPC, linux and OpenZFS
//! modules (`sysv*`, `linux*`, `zfs*`) and prison_add_allow() callers
//! (vmm, filesystems with VFCF_JAIL). The simulated host enforces this
//! table; the model validates a definition's `[params]` against it; the
//! encoder sizes jail_get(2) buffers from it. Which of them the running
//! kernel has, brig asks it (`KernelParams`).

/// The C type of a parameter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// NUL-terminated string of at most `max` bytes including the NUL.
    Str { max: usize },
    /// `int`, optionally limited to a range the kernel checks.
    Int { min: i32, max: i32 },
    /// `unsigned long` (host.hostid).
    ULong,
    /// Presence flag: `name` is true, `no` + last component is false.
    Bool,
    /// `int` of 0 disable, 1 new, 2 inherit; some refuse disable.
    JailSys { disable: bool },
    /// `struct in_addr[]`, network byte order.
    Ip4List,
    /// `struct in6_addr[]`.
    Ip6List,
}

/// When a parameter may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadWrite,
    /// Only with JAIL_CREATE (refused whenever JAIL_UPDATE is set).
    CreateOnly,
    /// Reported by jail_get(2), never set.
    ReadOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamDef {
    pub name: &'static str,
    pub ty: ParamType,
    pub access: Access,
}

/// MAXHOSTNAMELEN: jail names, host.hostname and host.domainname.
pub const MAXHOSTNAMELEN: usize = 256;
/// MAXPATHLEN: `path`.
pub const MAXPATHLEN: usize = 1024;
/// security.jail.jail_max_af_ips default: addresses per family.
pub const MAX_AF_IPS: usize = 255;

const INT: ParamType = ParamType::Int { min: i32::MIN, max: i32::MAX };
const RW: Access = Access::ReadWrite;
const CO: Access = Access::CreateOnly;
const RO: Access = Access::ReadOnly;

const fn p(name: &'static str, ty: ParamType, access: Access) -> ParamDef {
    ParamDef { name, ty, access }
}

/// Every parameter brig knows, in the order of kern_jail.c.
pub const PARAMS: &[ParamDef] = &[
    p("jid", INT, CO),
    p("parent", INT, RO),
    p("name", ParamType::Str { max: MAXHOSTNAMELEN }, RW),
    p("path", ParamType::Str { max: MAXPATHLEN }, CO),
    p("securelevel", INT, RW),
    p("osreldate", INT, CO),
    p("osrelease", ParamType::Str { max: 32 }, CO),
    p("enforce_statfs", ParamType::Int { min: 0, max: 2 }, RW),
    p("devfs_ruleset", ParamType::Int { min: 0, max: 65535 }, RW),
    p("persist", ParamType::Bool, RW),
    p("vnet", ParamType::JailSys { disable: false }, CO),
    p("dying", ParamType::Bool, RO),
    p("children.cur", INT, RO),
    p("children.max", INT, RW),
    p("host", ParamType::JailSys { disable: false }, RW),
    p("host.hostname", ParamType::Str { max: MAXHOSTNAMELEN }, RW),
    p("host.domainname", ParamType::Str { max: MAXHOSTNAMELEN }, RW),
    p("host.hostuuid", ParamType::Str { max: 64 }, RW),
    p("host.hostid", ParamType::ULong, RW),
    p("cpuset.id", INT, RO),
    p("ip4", ParamType::JailSys { disable: true }, CO),
    p("ip4.addr", ParamType::Ip4List, RW),
    p("ip4.saddrsel", ParamType::Bool, RW),
    p("ip6", ParamType::JailSys { disable: true }, CO),
    p("ip6.addr", ParamType::Ip6List, RW),
    p("ip6.saddrsel", ParamType::Bool, RW),
    p("allow.set_hostname", ParamType::Bool, RW),
    p("allow.sysvipc", ParamType::Bool, RW),
    p("allow.raw_sockets", ParamType::Bool, RW),
    p("allow.chflags", ParamType::Bool, RW),
    p("allow.mount", ParamType::Bool, RW),
    p("allow.quotas", ParamType::Bool, RW),
    p("allow.socket_af", ParamType::Bool, RW),
    p("allow.mlock", ParamType::Bool, RW),
    p("allow.reserved_ports", ParamType::Bool, RW),
    p("allow.read_msgbuf", ParamType::Bool, RW),
    p("allow.unprivileged_proc_debug", ParamType::Bool, RW),
    p("allow.suser", ParamType::Bool, RW),
    p("allow.nfsd", ParamType::Bool, RW),
    p("allow.extattr", ParamType::Bool, RW),
    p("allow.adjtime", ParamType::Bool, RW),
    p("allow.settime", ParamType::Bool, RW),
    p("allow.routing", ParamType::Bool, RW),
    p("allow.unprivileged_parent_tampering", ParamType::Bool, RW),
    p("allow.setaudit", ParamType::Bool, RW),
    p("allow.mount.devfs", ParamType::Bool, RW),
    p("allow.mount.fdescfs", ParamType::Bool, RW),
    p("allow.mount.nullfs", ParamType::Bool, RW),
    p("allow.mount.procfs", ParamType::Bool, RW),
    p("allow.mount.linprocfs", ParamType::Bool, RW),
    p("allow.mount.linsysfs", ParamType::Bool, RW),
    p("allow.mount.tmpfs", ParamType::Bool, RW),
    p("allow.mount.zfs", ParamType::Bool, RW),
    p("allow.mount.fusefs", ParamType::Bool, RW),
    p("allow.mount.lindebugfs", ParamType::Bool, RW),
    p("allow.mount.p9fs", ParamType::Bool, RW),
    p("allow.vmm", ParamType::Bool, RW),
    p("allow.vmm_ppt", ParamType::Bool, RW),
    p("sysvmsg", ParamType::JailSys { disable: true }, RW),
    p("sysvsem", ParamType::JailSys { disable: true }, RW),
    p("sysvshm", ParamType::JailSys { disable: true }, RW),
    p("linux", ParamType::JailSys { disable: false }, RW),
    p("linux.osname", ParamType::Str { max: 65 }, RW),
    p("linux.osrelease", ParamType::Str { max: 65 }, RW),
    p("linux.oss_version", INT, RW),
    p("zfs", ParamType::JailSys { disable: false }, RW),
    p("zfs.mount_snapshot", ParamType::Int { min: 0, max: 1 }, RW),
    p("meta", ParamType::Str { max: 4096 }, RW),
    p("env", ParamType::Str { max: 4096 }, RW),
];

/// The kernel module that registers a parameter, for those that exist only
/// once it is loaded (a filesystem's VFS_SET, vmm.ko, linux.ko).
pub fn module_of(name: &str) -> Option<&'static str> {
    match name {
        "allow.vmm" | "allow.vmm_ppt" => Some("vmm"),
        "allow.mount.fusefs" => Some("fusefs"),
        "allow.mount.lindebugfs" => Some("lindebugfs"),
        "allow.mount.p9fs" => Some("p9fs"),
        "allow.mount.linprocfs" => Some("linprocfs"),
        "allow.mount.linsysfs" => Some("linsysfs"),
        "allow.mount.nullfs" => Some("nullfs"),
        "allow.mount.tmpfs" => Some("tmpfs"),
        "allow.mount.fdescfs" => Some("fdescfs"),
        "allow.mount.procfs" => Some("procfs"),
        "allow.mount.zfs" => Some("zfs"),
        n if n == "linux" || n.starts_with("linux.") => Some("linux"),
        n if n == "zfs" || n.starts_with("zfs.") => Some("zfs"),
        _ => None,
    }
}

/// The release that first has a parameter, for those FreeBSD added after
/// 14 was branched: a 14.x kernel may lack them (brig asks the kernel;
/// this only words the error, and tells the simulated host what a
/// simulated 14.x lacks).
pub fn since(name: &str) -> Option<&'static str> {
    match name {
        // kern_jailmeta.c, D47668 (2025).
        "meta" | "env" => Some("15.0"),
        // vmm.ko's PCI passthrough permission and p9fs came with 15.
        "allow.vmm_ppt" | "allow.mount.p9fs" => Some("15.0"),
        _ => None,
    }
}

/// The parameters whose sysctl is a node: their value lives in the node's
/// empty-named child (SYSCTL_JAIL_PARAM_SYS_NODE for jailsys parameters;
/// kern_jail.c makes `allow.mount` the same way). `vnet` is a plain leaf.
pub fn is_node(name: &str) -> bool {
    matches!(name, "host" | "ip4" | "ip6" | "allow.mount" | "sysvmsg" | "sysvsem" | "sysvshm" | "linux" | "zfs")
}

/// Nodes under `security.jail.param` that are no parameter: they only
/// group others (SYSCTL_JAIL_PARAM_NODE without a value child).
pub const GROUPS: &[&str] = &["allow", "children", "cpuset"];

/// Whether `release` (`14.3-RELEASE`, `15.0-CURRENT`) is at least `since`
/// (`15.0`), comparing major and minor numbers.
pub fn release_at_least(release: &str, since: &str) -> bool {
    let number = |s: &str| -> (u32, u32) {
        let v = s.split('-').next().unwrap_or("");
        let mut it = v.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    };
    number(release) >= number(since)
}

/// What the running kernel knows of the parameters a command uses, read
/// once (observe::known_params), and why it lacks one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelParams {
    known: std::collections::BTreeSet<String>,
    /// kern.osrelease.
    release: String,
}

impl KernelParams {
    pub fn new(known: std::collections::BTreeSet<String>, release: impl Into<String>) -> KernelParams {
        KernelParams { known, release: release.into() }
    }

    pub fn knows(&self, name: &str) -> bool {
        self.known.contains(name)
    }

    /// Why the kernel lacks `name`, and what to do: a module to load, a
    /// release to upgrade to, or the kernel option it was built without.
    pub fn why_missing(&self, name: &str) -> String {
        let release = if self.release.is_empty() { "this kernel" } else { self.release.as_str() };
        match (module_of(name), since(name)) {
            (_, Some(v)) if !release_at_least(release, v) => {
                format!("FreeBSD {v} added it and this host runs {release}; upgrade the host")
            }
            (Some(m), _) => {
                format!("its module {m} is not loaded; load it with `kldload {m}` (and {m}_load=\"YES\" in /boot/loader.conf)")
            }
            (None, _) => format!("{release} was built without it (see the kernel options in brig.toml(5))"),
        }
    }
}

/// A parameter name as written, resolved against the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookup {
    pub def: &'static ParamDef,
    /// The name was the `no` form of a boolean (`nopersist`,
    /// `allow.noraw_sockets`).
    pub negated: bool,
}

/// Finds a parameter by name, accepting the `no` form of booleans.
pub fn lookup(name: &str) -> Option<Lookup> {
    if let Some(def) = PARAMS.iter().find(|d| d.name == name) {
        return Some(Lookup { def, negated: false });
    }
    let positive = positive_name(name)?;
    PARAMS.iter().find(|d| d.name == positive && d.ty == ParamType::Bool).map(|def| Lookup { def, negated: true })
}

/// `allow.noraw_sockets` -> `allow.raw_sockets`; `nopersist` -> `persist`.
fn positive_name(name: &str) -> Option<String> {
    let (prefix, last) = match name.rfind('.') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => ("", name),
    };
    let rest = last.strip_prefix("no")?;
    Some(format!("{prefix}{rest}"))
}

/// The `no` form of a boolean's name: `persist` -> `nopersist`,
/// `allow.mount.zfs` -> `allow.mount.nozfs`.
pub fn negated_name(name: &str) -> String {
    match name.rfind('.') {
        Some(i) => format!("{}no{}", &name[..=i], &name[i + 1..]),
        None => format!("no{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_plain_and_negated_booleans() {
        assert_eq!(lookup("persist").map(|l| l.negated), Some(false));
        let l = lookup("nopersist").expect("nopersist is persist");
        assert!(l.negated);
        assert_eq!(l.def.name, "persist");
        let l = lookup("allow.noraw_sockets").expect("negated allow flag");
        assert_eq!(l.def.name, "allow.raw_sockets");
        assert!(l.negated);
        assert_eq!(lookup("allow.mount.nozfs").map(|l| l.def.name), Some("allow.mount.zfs"));
    }

    #[test]
    fn no_prefix_only_applies_to_booleans() {
        assert!(lookup("nosecurelevel").is_none());
        assert!(lookup("nopath").is_none());
        assert!(lookup("bogus").is_none());
    }

    #[test]
    fn negated_names() {
        assert_eq!(negated_name("persist"), "nopersist");
        assert_eq!(negated_name("allow.raw_sockets"), "allow.noraw_sockets");
        assert_eq!(negated_name("allow.mount.zfs"), "allow.mount.nozfs");
    }

    #[test]
    fn releases_compare_by_major_and_minor() {
        assert!(release_at_least("15.0-RELEASE", "15.0"));
        assert!(release_at_least("15.1-STABLE", "15.0"));
        assert!(!release_at_least("14.3-RELEASE", "15.0"));
        assert!(release_at_least("16.0-CURRENT", "15.0"));
    }

    #[test]
    fn a_missing_parameter_is_explained() {
        let k = KernelParams::new(Default::default(), "14.3-RELEASE");
        assert_eq!(k.why_missing("meta"), "FreeBSD 15.0 added it and this host runs 14.3-RELEASE; upgrade the host");
        assert!(k.why_missing("allow.vmm").starts_with("its module vmm is not loaded; load it with `kldload vmm`"));
        assert!(k.why_missing("allow.nfsd").starts_with("14.3-RELEASE was built without it"));
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in PARAMS.iter().enumerate() {
            assert!(PARAMS[i + 1..].iter().all(|b| b.name != a.name), "{} twice", a.name);
        }
    }
}
