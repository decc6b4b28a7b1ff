//! `brig doctor`: is this machine ready to run jails, and what to do if
//! not. Reading the machine (`observe`) is separate from judging it
//! (`judge`), so every verdict is tested on plain values.

use serde::Serialize;

use crate::config::HostConfig;
use crate::host::{Host, HostKind};
use crate::kernel::pf::{PfStatus, BRIG_ANCHORS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
    /// What to do about a warn or fail; empty for a pass.
    pub fix: String,
}

fn check(name: &str, status: Status, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check { name: name.to_string(), status, detail: detail.into(), fix: fix.into() }
}

/// The `security.jail.*` sysctls doctor shows, with the value brig
/// recommends and why.
pub const JAIL_SYSCTLS: &[(&str, i64, &str)] = &[
    ("security.jail.enforce_statfs", 2, "jails see only their own mounts"),
    ("security.jail.set_hostname_allowed", 0, "jail root cannot rename its jail"),
    ("security.jail.socket_unixiproute_only", 1, "only UNIX, IPv4 and IPv6 sockets"),
    ("security.jail.sysvipc_allowed", 0, "no System V IPC shared with the host"),
    ("security.jail.allow_raw_sockets", 0, "no raw sockets (spoofing, ping floods)"),
    ("security.jail.chflags_allowed", 0, "jail root cannot clear system file flags"),
    ("security.jail.mount_allowed", 0, "jail root cannot mount filesystems"),
];

/// Everything doctor looks at, read in one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub host: String,
    pub osrelease: Option<String>,
    /// brig.toml: Ok(None) when absent, Err(text) when unreadable.
    pub config: Result<Option<HostConfig>, String>,
    pub zfs_loaded: bool,
    pub pool_ok: Result<(), String>,
    /// Root dataset: (mounted, mountpoint) or the error reading it.
    pub root: Option<Result<(bool, String), String>>,
    pub racct: Option<i64>,
    pub jailed: Option<i64>,
    pub children: Option<(i64, i64)>,
    pub jail_sysctls: Vec<(String, Option<i64>)>,
    /// The devfs ruleset brig's jails get by default and how many rules it
    /// has (0: not loaded), or why that could not be read.
    pub devfs: (u16, Result<u32, String>),
    pub vimage: Option<i64>,
    pub bridge: bool,
    /// net.link.bridge.pfil_member: whether pf sees bridge members'
    /// packets, which a bridged jail's firewall is written on.
    pub pfil_member: Option<i64>,
    pub epair: bool,
    /// None: pf is not loaded; else what pfctl says of it.
    pub pf: Option<Result<PfStatus, String>>,
    /// dummynet.ko is loaded (its sysctls exist), for bandwidth limits.
    pub dummynet: bool,
}

fn int(host: &dyn Host, name: &str) -> Option<i64> {
    host.sysctl_get(name).ok().and_then(|v| v.as_int())
}

/// Reads the machine: sysctls, one zfs get, the config file.
pub fn observe(host: &dyn Host) -> Facts {
    let config = HostConfig::load(host).map_err(|e| e.to_string());
    let pool = match &config {
        Ok(Some(c)) => c.dataset.pool().to_string(),
        _ => crate::config::host::DEFAULT_DATASET.split('/').next().unwrap_or("zroot").to_string(),
    };
    let root = match &config {
        Ok(Some(c)) => Some(
            host.zfs_get(c.dataset.as_str(), &["mounted", "mountpoint"])
                .map(|p| {
                    (
                        p.get("mounted").map(String::as_str) == Some("yes"),
                        p.get("mountpoint").cloned().unwrap_or_default(),
                    )
                })
                .map_err(|e| e.to_string()),
        ),
        _ => None,
    };
    // [defaults.params] may choose another ruleset than the secure 4.
    let ruleset = match &config {
        Ok(Some(c)) => c.default_params().ok().and_then(|p| {
            p.iter().find_map(|p| match (p.name.as_str(), &p.value) {
                ("devfs_ruleset", crate::host::ParamValue::Int(n)) => u16::try_from(*n).ok(),
                _ => None,
            })
        }),
        _ => None,
    }
    .unwrap_or(4);
    let devfs = if ruleset == 0 { Ok(0) } else { host.devfs_rules(ruleset).map_err(|e| e.to_string()) };
    Facts {
        devfs: (ruleset, devfs),
        host: match host.kind() {
            HostKind::FreeBsd => "FreeBSD".to_string(),
            HostKind::Sim { dir } => format!("simulated FreeBSD in {}", dir.display()),
        },
        osrelease: host.sysctl_get("kern.osrelease").ok().map(|v| v.to_string()),
        config,
        zfs_loaded: host.sysctl_get("vfs.zfs.version.spa").is_ok(),
        pool_ok: host.zfs_get(&pool, &["type"]).map(|_| ()).map_err(|e| e.to_string()),
        root,
        racct: int(host, "kern.racct.enable"),
        jailed: int(host, "security.jail.jailed"),
        children: int(host, "security.jail.children.max").zip(int(host, "security.jail.children.cur")),
        jail_sysctls: JAIL_SYSCTLS.iter().map(|(n, _, _)| (n.to_string(), int(host, n))).collect(),
        vimage: int(host, "kern.features.vimage"),
        bridge: host.sysctl_get("net.link.bridge.pfil_member").is_ok(),
        pfil_member: int(host, "net.link.bridge.pfil_member"),
        epair: host.sysctl_get("net.link.epair.netisr_maxqlen").is_ok(),
        pf: host.sysctl_get("net.pf.request_maxcount").ok().map(|_| host.pf_status().map_err(|e| e.to_string())),
        dummynet: host.sysctl_get(crate::kernel::dummynet::LOADED_SYSCTL).is_ok(),
    }
}

/// pf: loaded, enabled, and evaluating brig's anchors (brig never edits
/// pf.conf, so it says which lines it needs).
pub(super) fn pf_check(pf: &Option<Result<PfStatus, String>>) -> Check {
    use Status::*;
    let status = match pf {
        None => {
            return check(
                "pf",
                Warn,
                "pf is not loaded: jails' [firewall], NAT and [[expose]] need it",
                "add pf_enable=\"YES\" to /etc/rc.conf and run `service pf start`",
            )
        }
        Some(Err(e)) => return check("pf", Warn, format!("pf's status could not be read: {e}"), ""),
        Some(Ok(s)) => s,
    };
    if !status.enabled {
        return check(
            "pf",
            Warn,
            "pf is loaded but not enabled: jails' firewalls, NAT and exposed ports do nothing",
            "add pf_enable=\"YES\" to /etc/rc.conf and run `pfctl -e`",
        );
    }
    let missing: Vec<&str> = BRIG_ANCHORS.iter().copied().filter(|a| !status.anchors.iter().any(|x| x == a)).collect();
    if missing.is_empty() {
        return check("pf", Pass, "pf is enabled and evaluates brig's anchors", "");
    }
    check(
        "pf",
        Warn,
        format!("pf.conf does not evaluate brig's anchors ({} missing): jails' rules are loaded but never used", missing.join(", ")),
        format!(
            "add to /etc/pf.conf, the first two among the translation rules and the last among the filter rules, then run `pfctl -f /etc/pf.conf`: {}",
            BRIG_ANCHORS.join("; ")
        ),
    )
}

/// The verdicts, in the order a sysadmin fixes things.
pub fn judge(f: &Facts) -> Vec<Check> {
    use Status::*;
    let mut out = Vec::new();
    out.push(check("host", Pass, format!("{}, {}", f.host, f.osrelease.as_deref().unwrap_or("unknown release")), ""));
    let cfg = match &f.config {
        Ok(Some(c)) => {
            out.push(check(
                "initialised",
                Pass,
                format!("{} (dataset {})", crate::state::layout::CONFIG_PATH, c.dataset),
                "",
            ));
            Some(c)
        }
        Ok(None) => {
            out.push(check("initialised", Fail, "brig.toml does not exist", "run `brig init`"));
            None
        }
        Err(e) => {
            out.push(check("initialised", Fail, e.clone(), "fix the file or run `brig init --force`"));
            None
        }
    };
    if f.zfs_loaded && f.pool_ok.is_ok() {
        out.push(check("zfs", Pass, "ZFS is loaded and the pool is usable", ""));
    } else if !f.zfs_loaded {
        out.push(check(
            "zfs",
            Fail,
            "the ZFS module is not loaded",
            "add zfs_enable=\"YES\" to /etc/rc.conf and run `service zfs start`",
        ));
    } else if let Err(e) = &f.pool_ok {
        out.push(check("zfs", Fail, e.clone(), "create the pool or pass `brig init --dataset POOL/brig`"));
    }
    if let (Some(c), Some(root)) = (cfg, &f.root) {
        let want = c.mountpoint.display().to_string();
        out.push(match root {
            Ok((true, mp)) if *mp == want => check("dataset", Pass, format!("{} mounted at {mp}", c.dataset), ""),
            Ok((true, mp)) => check(
                "dataset",
                Fail,
                format!("{} is mounted at {mp}, brig.toml says {want}", c.dataset),
                "run `brig init --force` to move it back",
            ),
            Ok((false, _)) => check(
                "dataset",
                Fail,
                format!("{} is not mounted", c.dataset),
                format!("run `zfs mount {}`", c.dataset),
            ),
            Err(e) => check("dataset", Fail, e.clone(), "run `brig init`"),
        });
    }
    out.push(match f.racct {
        Some(1) => check("racct", Pass, "kern.racct.enable=1: resource limits work", ""),
        _ => check(
            "racct",
            Warn,
            "kern.racct.enable=0: jails with [limits] will not start",
            "add kern.racct.enable=1 to /boot/loader.conf and reboot",
        ),
    });
    out.push(match (f.jailed, f.children) {
        (Some(1), Some((max, cur))) if max > cur => {
            check("nesting", Pass, format!("brig runs inside a jail with room for {} more jails", max - cur), "")
        }
        (Some(1), _) => check(
            "nesting",
            Fail,
            "brig runs inside a jail whose children.max leaves no room",
            "raise children.max of this jail from its host",
        ),
        _ => check("nesting", Pass, "brig runs on the host itself (not jailed)", ""),
    });
    for ((name, value), (_, rec, why)) in f.jail_sysctls.iter().zip(JAIL_SYSCTLS) {
        let short = name.trim_start_matches("security.jail.");
        out.push(match value {
            Some(v) if v == rec => check(short, Pass, format!("{name}={v} ({why})"), ""),
            Some(v) => check(
                short,
                Warn,
                format!("{name}={v}; brig recommends {rec} ({why}); it sets its own jails' parameters explicitly"),
                format!("sysctl {name}={rec}, and add it to /etc/sysctl.conf"),
            ),
            None => check(short, Warn, format!("{name} is not readable"), ""),
        });
    }
    out.push(match &f.devfs {
        (0, _) => check(
            "devfs",
            Warn,
            "jails get devfs ruleset 0 by default: their /dev shows every device of the host",
            "set devfs_ruleset = 4 in [defaults.params] of brig.toml",
        ),
        (n, Ok(0)) => check(
            "devfs",
            Fail,
            format!("devfs ruleset {n}, which jails get by default, is not loaded: brig refuses to start them, since their /dev would show every device of the host"),
            "keep devfs_load_rulesets=\"YES\" in /etc/rc.conf (rules of your own go in /etc/devfs.rules) and run `service devfs restart`",
        ),
        (n, Ok(rules)) => check("devfs", Pass, format!("devfs ruleset {n} is loaded ({rules} rules)"), ""),
        (n, Err(e)) => check("devfs", Warn, format!("devfs ruleset {n} could not be read: {e}"), "run brig doctor as root"),
    });
    out.push(match f.vimage {
        Some(1) => check("vnet", Pass, "VIMAGE kernel: VNET jails are available", ""),
        _ => check(
            "vnet",
            Warn,
            "kernel without VIMAGE: VNET jails are unavailable",
            "use the GENERIC kernel of FreeBSD 12 or later",
        ),
    });
    out.push(if f.bridge && f.epair {
        check("bridge", Pass, "if_bridge and if_epair are loaded", "")
    } else {
        check(
            "bridge",
            Warn,
            "if_bridge or if_epair is not loaded (needed for VNET jails on a bridge)",
            "kldload if_bridge if_epair, and add kld_list=\"if_bridge if_epair\" to /etc/rc.conf",
        )
    });
    if f.pfil_member == Some(0) {
        out.push(check(
            "pfil_member",
            Warn,
            "net.link.bridge.pfil_member is 0: pf never sees the packets of jails on a bridge, and their [firewall] does nothing",
            "sysctl net.link.bridge.pfil_member=1, and add net.link.bridge.pfil_member=1 to /etc/sysctl.conf",
        ));
    }
    out.push(pf_check(&f.pf));
    out.push(if f.dummynet {
        check("dummynet", Pass, "dummynet is loaded", "")
    } else {
        check(
            "dummynet",
            Warn,
            "dummynet is not loaded (needed for bandwidth_in and bandwidth_out)",
            crate::kernel::dummynet::LOAD_IT,
        )
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DatasetName;

    fn healthy() -> Facts {
        let cfg = HostConfig::new(DatasetName::parse("zroot/brig").expect("valid"), "/usr/local/brig".into());
        Facts {
            host: "FreeBSD".into(),
            osrelease: Some("14.3-RELEASE".into()),
            config: Ok(Some(cfg)),
            zfs_loaded: true,
            pool_ok: Ok(()),
            root: Some(Ok((true, "/usr/local/brig".into()))),
            racct: Some(1),
            jailed: Some(0),
            children: Some((999_999, 0)),
            jail_sysctls: JAIL_SYSCTLS.iter().map(|(n, v, _)| (n.to_string(), Some(*v))).collect(),
            devfs: (4, Ok(5)),
            vimage: Some(1),
            bridge: true,
            pfil_member: Some(1),
            epair: true,
            pf: Some(Ok(PfStatus { enabled: true, anchors: BRIG_ANCHORS.iter().map(|a| a.to_string()).collect() })),
            dummynet: true,
        }
    }

    fn status(checks: &[Check], name: &str) -> Status {
        checks.iter().find(|c| c.name == name).map(|c| c.status).expect(name)
    }

    #[test]
    fn healthy_host_passes_everything() {
        assert!(judge(&healthy()).iter().all(|c| c.status == Status::Pass));
    }

    #[test]
    fn racct_off_warns_with_the_loader_line() {
        let c = judge(&Facts { racct: Some(0), ..healthy() });
        let racct = c.iter().find(|c| c.name == "racct").expect("racct check");
        assert_eq!(racct.status, Status::Warn);
        assert_eq!(racct.fix, "add kern.racct.enable=1 to /boot/loader.conf and reboot");
    }

    #[test]
    fn uninitialised_and_unmounted_fail() {
        assert_eq!(status(&judge(&Facts { config: Ok(None), root: None, ..healthy() }), "initialised"), Status::Fail);
        let c = judge(&Facts { root: Some(Ok((false, "/usr/local/brig".into()))), ..healthy() });
        assert_eq!(status(&c, "dataset"), Status::Fail);
    }

    #[test]
    fn jailed_without_room_fails() {
        let c = judge(&Facts { jailed: Some(1), children: Some((2, 2)), ..healthy() });
        assert_eq!(status(&c, "nesting"), Status::Fail);
        let c = judge(&Facts { jailed: Some(1), children: Some((3, 2)), ..healthy() });
        assert_eq!(status(&c, "nesting"), Status::Pass);
    }

    #[test]
    fn an_unloaded_ruleset_fails() {
        let c = judge(&Facts { devfs: (4, Ok(0)), ..healthy() });
        assert_eq!(status(&c, "devfs"), Status::Fail);
        assert_eq!(status(&judge(&Facts { devfs: (0, Ok(0)), ..healthy() }), "devfs"), Status::Warn);
    }

    #[test]
    fn bridge_members_unseen_by_pf_warn() {
        assert_eq!(status(&judge(&Facts { pfil_member: Some(0), ..healthy() }), "pfil_member"), Status::Warn);
        assert!(judge(&healthy()).iter().all(|c| c.name != "pfil_member"), "no line when it is fine");
    }

    #[test]
    fn bandwidth_limits_need_dummynet() {
        let c = judge(&Facts { dummynet: false, ..healthy() });
        let d = c.iter().find(|c| c.name == "dummynet").expect("dummynet");
        assert_eq!(d.status, Status::Warn);
        assert!(d.fix.contains("dummynet_load=\"YES\""), "{}", d.fix);
    }

    #[test]
    fn pf_must_run_and_evaluate_brigs_anchors() {
        assert_eq!(status(&judge(&Facts { pf: None, ..healthy() }), "pf"), Status::Warn);
        let off = Facts { pf: Some(Ok(PfStatus { enabled: false, anchors: Vec::new() })), ..healthy() };
        assert_eq!(status(&judge(&off), "pf"), Status::Warn);
        let partial = PfStatus { enabled: true, anchors: vec!["anchor \"brig/*\"".into()] };
        let c = judge(&Facts { pf: Some(Ok(partial)), ..healthy() });
        let pf = c.iter().find(|c| c.name == "pf").expect("pf");
        assert_eq!(pf.status, Status::Warn);
        assert!(pf.detail.contains("nat-anchor \"brig/*\", rdr-anchor \"brig/*\" missing"), "{}", pf.detail);
        assert!(pf.fix.contains("nat-anchor \"brig/*\"; rdr-anchor \"brig/*\"; anchor \"brig/*\""), "{}", pf.fix);
    }

    #[test]
    fn widened_jail_sysctl_warns() {
        let mut f = healthy();
        f.jail_sysctls[4].1 = Some(1);
        assert_eq!(status(&judge(&f), "allow_raw_sockets"), Status::Warn);
    }
}
