//! `brig audit`: what a jail's root can do beyond brig's secure defaults,
//! each with a severity and why it matters. Pure: a definition, the rules
//! of its devfs ruleset and the host's `security.jail.*` values in,
//! findings out.

use serde::Serialize;

use crate::kernel::{JailSys, ParamValue};
use crate::model::firewall::Outbound;
use crate::model::jail::JailSpec;
use crate::model::network::Network;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Finding {
    pub severity: Severity,
    /// What grants it: `allow.raw_sockets = true`, `[network] inherit`.
    pub subject: String,
    pub why: String,
}

/// A jail's findings (powers beyond the defaults) and advice (protections
/// it does not have, such as limits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct JailAudit {
    pub name: String,
    pub findings: Vec<Finding>,
    pub advice: Vec<String>,
}

/// Each `allow.*` that widens a jail, with its severity and why.
const ALLOW: &[(&str, Severity, &str)] = &[
    ("allow.raw_sockets", Severity::High, "root can open raw sockets: forge packets and sniff the jail's traffic"),
    ("allow.vmm", Severity::High, "root can run bhyve guests through /dev/vmm, a large kernel attack surface"),
    ("allow.settime", Severity::High, "root can set the host's clock"),
    ("allow.routing", Severity::High, "root can change the host's routing table"),
    ("allow.sysvipc", Severity::High, "System V IPC is shared with the host and every other such jail"),
    ("allow.mount", Severity::Medium, "root can mount the filesystems its allow.mount.* permit"),
    ("allow.mount.devfs", Severity::High, "root can mount devfs and reach devices beyond its ruleset's /dev"),
    ("allow.mount.nullfs", Severity::Medium, "root can mount any directory it can see elsewhere in its tree"),
    ("allow.mount.zfs", Severity::Medium, "root can mount ZFS datasets delegated to it"),
    ("allow.mount.fusefs", Severity::Medium, "root can mount FUSE filesystems, kernel code driven by user input"),
    ("allow.mount.tmpfs", Severity::Medium, "root can mount tmpfs and use host memory outside its limits"),
    ("allow.mount.procfs", Severity::Low, "root can mount procfs"),
    ("allow.mount.fdescfs", Severity::Low, "root can mount fdescfs"),
    ("allow.mount.linprocfs", Severity::Low, "root can mount linprocfs"),
    ("allow.mount.linsysfs", Severity::Low, "root can mount linsysfs"),
    ("allow.chflags", Severity::Medium, "root can clear immutable and append-only flags"),
    ("allow.mlock", Severity::Medium, "root can lock memory, keeping it from the host"),
    ("allow.adjtime", Severity::Medium, "root can slew the host's clock"),
    ("allow.socket_af", Severity::Medium, "root can open sockets of any address family, not only IP, local and route"),
    ("allow.nfsd", Severity::Medium, "root can run an NFS server in the kernel"),
    (
        "allow.unprivileged_parent_tampering",
        Severity::Medium,
        "unprivileged users can debug processes the host runs in the jail",
    ),
    ("allow.read_msgbuf", Severity::Low, "users can read the kernel message buffer, with the host's messages"),
    ("allow.unprivileged_proc_debug", Severity::Low, "unprivileged users can debug their own processes"),
    ("allow.reserved_ports", Severity::Low, "root can bind ports below 1024 without being root elsewhere"),
    ("allow.extattr", Severity::Low, "root can set system extended attributes"),
    ("allow.setaudit", Severity::Low, "root can change its audit settings"),
    ("allow.quotas", Severity::Low, "root can change filesystem quotas"),
    ("allow.set_hostname", Severity::Low, "root can change the jail's hostname"),
];

fn value<'a>(spec: &'a JailSpec, name: &str) -> Option<&'a ParamValue> {
    spec.params.iter().find(|p| p.name == name).map(|p| &p.value)
}

fn int(spec: &JailSpec, name: &str, default: i32) -> i32 {
    match value(spec, name) {
        Some(ParamValue::Int(v)) => *v,
        _ => default,
    }
}

/// The findings of one jail. `ruleset_rules` is how many rules the
/// kernel has for its devfs ruleset (None: not known).
pub fn jail(spec: &JailSpec, ruleset_rules: Option<u32>) -> JailAudit {
    let mut f = Vec::new();
    let mut add = |severity, subject: String, why: &str| f.push(Finding { severity, subject, why: why.to_string() });
    for (name, sev, why) in ALLOW {
        if value(spec, name) == Some(&ParamValue::Bool(true)) {
            add(*sev, format!("{name} = true"), why);
        }
    }
    if value(spec, "allow.suser") == Some(&ParamValue::Bool(false)) {
        // Narrower, not wider; worth knowing when a jail misbehaves.
        add(Severity::Low, "allow.suser = false".into(), "root in the jail is not a superuser: services may fail");
    }
    match int(spec, "enforce_statfs", 2) {
        0 => add(Severity::High, "enforce_statfs = 0".into(), "the jail sees every mount point of the host"),
        1 => add(
            Severity::Medium,
            "enforce_statfs = 1".into(),
            "the jail sees mount points below its root, paths included",
        ),
        _ => {}
    }
    match int(spec, "securelevel", 2) {
        l if l < 0 => add(
            Severity::High,
            format!("securelevel = {l}"),
            "no securelevel protection: system flags, raw disks, the firewall are all changeable",
        ),
        0 => add(
            Severity::Medium,
            "securelevel = 0".into(),
            "root can clear system immutable flags and write to mounted disks it can see",
        ),
        _ => {}
    }
    match int(spec, "devfs_ruleset", 4) {
        n if n != 0 && ruleset_rules == Some(0) => add(
            Severity::High,
            format!("devfs_ruleset = {n}"),
            "that ruleset is not loaded: brig will not start the jail, and a /dev mounted with it shows every device of the host",
        ),
        0 => add(
            Severity::High,
            "devfs_ruleset = 0".into(),
            "no rules: every device of the host appears in the jail's /dev",
        ),
        4 | 5 => {}
        n => add(
            Severity::Low,
            format!("devfs_ruleset = {n}"),
            "not the stock jail ruleset (4, or 5 for VNET): check in /etc/devfs.rules what it unhides",
        ),
    }
    let children = int(spec, "children.max", 0);
    if children > 0 {
        add(
            Severity::Medium,
            format!("children.max = {children}"),
            "root can create jails of its own, with what this jail allows",
        );
    }
    for ipc in ["sysvshm", "sysvsem", "sysvmsg"] {
        if value(spec, ipc) == Some(&ParamValue::JailSys(JailSys::Inherit)) {
            add(
                Severity::High,
                format!("{ipc} = inherit"),
                "shares the host's System V IPC objects: it can read and change the host's",
            );
        }
    }
    let vnet =
        matches!(spec.network, Network::Vnet(_)) || value(spec, "vnet") == Some(&ParamValue::JailSys(JailSys::New));
    if vnet && spec.firewall.is_none() {
        add(
            Severity::Medium,
            "[network] mode = \"vnet\" without [firewall]".into(),
            "its root sets its own addresses, and nothing on the host filters what reaches it or what it sends; add [firewall]",
        );
    } else if vnet {
        add(Severity::Low, "[network] mode = \"vnet\"".into(), "its own network stack: root sets its own addresses");
    }
    let raw_sockets = value(spec, "allow.raw_sockets") == Some(&ParamValue::Bool(true));
    if let Some(fw) = &spec.firewall {
        if raw_sockets && fw.outbound == Outbound::Any {
            add(
                Severity::Medium,
                "[firewall] outbound = \"any\" with allow.raw_sockets".into(),
                "root can forge packets, and the firewall lets them go anywhere; list what it may reach in outbound",
            );
        }
    }
    if spec.network == Network::Inherit {
        add(
            Severity::High,
            "[network] inherit = true".into(),
            "uses every address of the host: can bind and listen on them",
        );
    }
    f.sort_by_key(|x| std::cmp::Reverse(x.severity));
    let mut advice = Vec::new();
    let limited = |r: &str| spec.limits.rules.iter().any(|l| l.resource == r);
    if !limited("memoryuse") && !limited("vmemoryuse") {
        advice.push("no memory limit (memoryuse): one jail can exhaust the host's memory".to_string());
    }
    if !limited("maxproc") {
        advice.push("no process limit (maxproc): a fork bomb in the jail reaches the host".to_string());
    }
    JailAudit { name: spec.name.to_string(), findings: f, advice }
}

/// Host sysctls that widen jails created without explicit parameters
/// (brig sets every one explicitly, but jails made with jail(8) do not).
pub fn host(sysctls: &[(&str, i64)]) -> Vec<Finding> {
    let mut f = Vec::new();
    for (name, v) in sysctls {
        let why = match (*name, *v) {
            ("security.jail.allow_raw_sockets", 1) => "jails without allow.raw_sockets get raw sockets",
            ("security.jail.mount_allowed", 1) => "jails without allow.mount may mount",
            ("security.jail.chflags_allowed", 1) => "jails without allow.chflags may clear system flags",
            ("security.jail.sysvipc_allowed", 1) => "jails without allow.sysvipc share System V IPC",
            ("security.jail.enforce_statfs", v) if v < 2 => "jails without enforce_statfs see host mount points",
            _ => continue,
        };
        f.push(Finding { severity: Severity::Low, subject: format!("{name} = {v}"), why: why.to_string() });
    }
    f
}

/// The sysctls `host` judges.
pub const HOST_SYSCTLS: &[&str] = &[
    "security.jail.allow_raw_sockets",
    "security.jail.mount_allowed",
    "security.jail.chflags_allowed",
    "security.jail.sysvipc_allowed",
    "security.jail.enforce_statfs",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::spec;

    #[test]
    fn a_default_jail_has_no_finding_only_advice() {
        let a = jail(&spec("release = \"14.3-RELEASE\"\n"), Some(5));
        assert_eq!(a.findings, Vec::new());
        assert_eq!(a.advice.len(), 2);
        let limited = jail(&spec("release = \"14.3-RELEASE\"\n[limits]\nmemoryuse = \"1G\"\nmaxproc = 100\n"), Some(5));
        assert!(limited.advice.is_empty());
    }

    #[test]
    fn a_permissive_jail_is_reported_worst_first() {
        let a = jail(&spec(
            "release = \"14.3-RELEASE\"\n[network]\ninherit = true\n[params]\n\"allow.raw_sockets\" = true\n\"allow.mount\" = true\n\"allow.mount.nullfs\" = true\nenforce_statfs = 1\nsecurelevel = -1\ndevfs_ruleset = 0\n\"children.max\" = 3\nsysvshm = \"inherit\"\n\"allow.mlock\" = true\n",
        ), Some(5));
        let got: Vec<String> = a.findings.iter().map(|f| format!("{} {}", f.severity.as_str(), f.subject)).collect();
        assert_eq!(
            got,
            vec![
                "high allow.raw_sockets = true",
                "high securelevel = -1",
                "high devfs_ruleset = 0",
                "high sysvshm = inherit",
                "high [network] inherit = true",
                "medium allow.mount = true",
                "medium allow.mount.nullfs = true",
                "medium allow.mlock = true",
                "medium enforce_statfs = 1",
                "medium children.max = 3",
            ]
        );
    }

    #[test]
    fn a_ruleset_that_is_not_loaded_is_high() {
        let a = jail(&spec("release = \"14.3-RELEASE\"\n"), Some(0));
        assert_eq!(a.findings.len(), 1);
        assert_eq!((a.findings[0].severity, a.findings[0].subject.as_str()), (Severity::High, "devfs_ruleset = 4"));
    }

    #[test]
    fn host_sysctls_that_widen_jails() {
        let f = host(&[
            ("security.jail.allow_raw_sockets", 1),
            ("security.jail.mount_allowed", 0),
            ("security.jail.enforce_statfs", 2),
        ]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].subject, "security.jail.allow_raw_sockets = 1");
    }
}
