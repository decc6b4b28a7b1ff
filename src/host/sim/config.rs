//! `DIR/sim.toml`: the simulated machine's hardware and boot-time settings.
//! Written with defaults on first use; tests edit it to change the machine
//! (turn racct off, add an interface, make a command fail inside jails).

use std::collections::BTreeMap;
use std::path::Path;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::host::{HostError, HostResult};
use nix::errno::Errno;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// The ZFS pool; its root dataset is mounted at `/POOL`.
    pub pool: String,
    /// Pool size in bytes, for `available`.
    pub pool_size: u64,
    /// `kern.osrelease` of the simulated host.
    pub osrelease: String,
    pub osreldate: i64,
    /// `kern.racct.enable` (a loader tunable: fixed while the machine runs).
    pub racct: bool,
    /// Network interfaces and their addresses at boot.
    pub interfaces: BTreeMap<String, Vec<IpNet>>,
    /// Kernel modules loaded: parameters such as allow.mount.nullfs or
    /// allow.vmm exist only while theirs is.
    #[serde(default = "default_modules")]
    pub modules: Vec<String>,
    /// How many jail_get(2) calls by jid with JAIL_DYING still find a jail
    /// after jail_remove(2), before its last reference goes: on FreeBSD a
    /// removed jail stays dying while its killed processes exit and its
    /// sockets and files close, and its mounts stay busy meanwhile.
    #[serde(default = "default_dying_polls")]
    pub dying_polls: u32,
    /// devfs rulesets loaded at boot: rc.d/devfs loads the stock ones
    /// of /etc/defaults/devfs.rules (1 devfsrules_hide_all,
    /// 2 devfsrules_unhide_basic, 3 devfsrules_unhide_login,
    /// 4 devfsrules_jail, 5 devfsrules_jail_vnet) unless
    /// devfs_load_rulesets="NO".
    #[serde(default = "default_rulesets")]
    pub devfs_rulesets: Vec<u16>,
    /// How many SIOCGIFAFLAG_IN6 reads see a new IPv6 alias tentative
    /// while duplicate address detection runs (about a second per
    /// net.inet6.ip6.dad_count probe on FreeBSD; loopback runs none).
    #[serde(default = "default_dad_polls")]
    pub dad_polls: u32,
    /// IPv6 addresses another node on the network already has: duplicate
    /// address detection marks them duplicated when they are added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicate_addresses: Vec<std::net::Ipv6Addr>,
    /// Extra sysctls, or overrides of the defaults.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctl: BTreeMap<String, toml::Value>,
    /// pf is enabled (`pfctl -e`, pf_enable="YES").
    #[serde(default = "yes")]
    pub pf_enabled: bool,
    /// The anchor rules of the main pf ruleset (/etc/pf.conf): by
    /// default the three brig's anchors need.
    #[serde(default = "default_pf_conf_anchors")]
    pub pf_conf_anchors: Vec<String>,
    /// The directory standing for update.FreeBSD.org: `RELEASE/pN/` holds
    /// the files patch level N installs. None: no server answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_server: Option<std::path::PathBuf>,
    /// The directory standing for pkg.FreeBSD.org: `ABI/base_release_N/`
    /// holds a package repository in pkg's layout. None: no server answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkg_server: Option<std::path::PathBuf>,
}

fn yes() -> bool {
    true
}

fn default_pf_conf_anchors() -> Vec<String> {
    crate::kernel::pf::BRIG_ANCHORS.iter().map(|a| a.to_string()).collect()
}

fn default_dying_polls() -> u32 {
    2
}

fn default_dad_polls() -> u32 {
    2
}

fn default_rulesets() -> Vec<u16> {
    vec![1, 2, 3, 4, 5]
}

/// The number of rules of a stock ruleset in /etc/defaults/devfs.rules
/// (another loaded ruleset counts one).
pub fn stock_rules(ruleset: u16) -> u32 {
    match ruleset {
        1 => 1,
        2 => 6,
        3 => 6,
        4 | 5 => 5,
        _ => 1,
    }
}

fn default_modules() -> Vec<String> {
    ["zfs", "nullfs", "tmpfs", "fdescfs", "procfs"].iter().map(|m| m.to_string()).collect()
}

impl SimConfig {
    /// Whether the kernel knows a parameter now: its module is loaded and
    /// the simulated release has it.
    pub fn knows(&self, param: &str) -> bool {
        use crate::kernel::params;
        params::module_of(param).is_none_or(|m| self.modules.iter().any(|x| x == m))
            && params::since(param).is_none_or(|v| params::release_at_least(&self.osrelease, v))
    }
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        let net = |s: &str| -> IpNet {
            // The literals below are valid; parse cannot fail.
            s.parse().unwrap_or(IpNet::V4(ipnet::Ipv4Net::default()))
        };
        let mut interfaces = BTreeMap::new();
        interfaces.insert("lo0".to_string(), vec![net("127.0.0.1/8"), net("::1/128")]);
        interfaces.insert("em0".to_string(), vec![net("192.0.2.1/24"), net("2001:db8::1/64")]);
        SimConfig {
            pool: "zroot".to_string(),
            pool_size: 100 * 1024 * 1024 * 1024,
            osrelease: "14.3-RELEASE".to_string(),
            osreldate: 1_403_000,
            racct: true,
            interfaces,
            modules: default_modules(),
            dying_polls: default_dying_polls(),
            devfs_rulesets: default_rulesets(),
            dad_polls: default_dad_polls(),
            duplicate_addresses: Vec::new(),
            sysctl: BTreeMap::new(),
            pf_enabled: true,
            pf_conf_anchors: default_pf_conf_anchors(),
            update_server: None,
            pkg_server: None,
        }
    }
}

impl SimConfig {
    /// Reads `sim.toml`, writing the defaults first if it does not exist.
    pub fn load_or_create(path: &Path) -> HostResult<SimConfig> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| HostError::new("sim", Errno::EINVAL, format!("{}: {}", path.display(), e.message()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let cfg = SimConfig::default();
                let text =
                    toml::to_string_pretty(&cfg).map_err(|e| HostError::new("sim", Errno::EINVAL, e.to_string()))?;
                let header = "# The simulated FreeBSD machine of `brig --host sim:DIR`.\n\
                              # Edit to change it: pool, release, racct, interfaces, sysctls.\n\n";
                crate::state::atomic::write(path, format!("{header}{text}").as_bytes(), 0o644)
                    .map_err(|e| HostError::new("sim", Errno::EIO, format!("{}: {e}", path.display())))?;
                Ok(cfg)
            }
            Err(e) => Err(HostError::new("sim", Errno::EIO, format!("{}: {e}", path.display()))),
        }
    }
}
