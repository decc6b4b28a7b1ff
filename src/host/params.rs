//! The jail parameters of FreeBSD's kernel (kern_jail.c, jail(8)), with the
//! type jail_set(2) expects for each and whether it may change after the jail
//! is created. The simulated host enforces this table; the model validates a
//! definition's `[params]` against it; the encoder sizes jail_get(2) buffers
//! from it. Source: `shared/freebsd/jail-params.tsv`.

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
    p("allow.vmm", ParamType::Bool, RW),
    p("sysvmsg", ParamType::JailSys { disable: true }, RW),
    p("sysvsem", ParamType::JailSys { disable: true }, RW),
    p("sysvshm", ParamType::JailSys { disable: true }, RW),
    p("linux", ParamType::JailSys { disable: false }, RW),
    p("linux.osname", ParamType::Str { max: 65 }, RW),
    p("linux.osrelease", ParamType::Str { max: 65 }, RW),
    p("linux.oss_version", INT, RW),
    p("zfs.mount_snapshot", INT, RW),
    p("meta", ParamType::Str { max: 4096 }, RW),
    p("env", ParamType::Str { max: 4096 }, RW),
];

/// The kernel module that registers a parameter, for those that exist only
/// once it is loaded (a filesystem's VFS_SET, vmm.ko, linux.ko).
pub fn module_of(name: &str) -> Option<&'static str> {
    match name {
        "allow.vmm" => Some("vmm"),
        "allow.mount.fusefs" => Some("fusefs"),
        "allow.mount.linprocfs" => Some("linprocfs"),
        "allow.mount.linsysfs" => Some("linsysfs"),
        "allow.mount.nullfs" => Some("nullfs"),
        "allow.mount.tmpfs" => Some("tmpfs"),
        "allow.mount.fdescfs" => Some("fdescfs"),
        "allow.mount.procfs" => Some("procfs"),
        "allow.mount.zfs" => Some("zfs"),
        n if n == "linux" || n.starts_with("linux.") => Some("linux"),
        _ => None,
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
    fn names_are_unique() {
        for (i, a) in PARAMS.iter().enumerate() {
            assert!(PARAMS[i + 1..].iter().all(|b| b.name != a.name), "{} twice", a.name);
        }
    }
}
