//! A jail definition as written: every key of brig.toml(5)'s JAIL
//! DEFINITIONS with the position of its value, unknown keys refused, as
//! `config::jail` reads it from TOML and `model::jail::validate` checks it
//! into a `JailSpec`. No TOML is read or written here.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::jail::JailType;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJail {
    pub release: Option<Spanned<String>>,
    #[serde(rename = "type")]
    pub jail_type: Option<JailType>,
    pub hostname: Option<Spanned<String>>,
    #[serde(default)]
    pub boot: bool,
    pub priority: Option<Spanned<i64>>,
    /// Readiness probe, `exec:COMMAND`.
    pub ready: Option<Spanned<String>>,
    pub ready_timeout: Option<Spanned<i64>>,
    #[serde(default)]
    pub depends: Vec<Spanned<String>>,
    #[serde(default)]
    pub network: RawNetwork,
    #[serde(default)]
    pub params: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    #[serde(default)]
    pub exec: RawExec,
    #[serde(default, rename = "mount")]
    pub mounts: Vec<RawMount>,
    #[serde(default)]
    pub zfs: RawZfs,
    /// pf rules in the jail's anchor, checked by `model::firewall`.
    pub firewall: Option<RawFirewall>,
    #[serde(default)]
    pub expose: Vec<RawExpose>,
    /// rctl limits and CPUs, checked by `model::limits`.
    #[serde(default)]
    pub limits: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    /// Automatic snapshots, checked by `model::snapshot`.
    pub snapshots: Option<RawSnapshots>,
    /// Variables of the provision steps, checked by `model::provision`.
    #[serde(default)]
    pub vars: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    /// `[[provision]]` steps, checked by `model::provision`.
    #[serde(default)]
    pub provision: Vec<RawStep>,
    /// Provision at the first start after create.
    pub provision_on_create: Option<Spanned<bool>>,
    /// The image (`brig commit`) a thin jail is cloned from instead of
    /// its release.
    pub image: Option<Spanned<String>>,
    /// The health check and restart policy, checked by `model::health`.
    pub health: Option<RawHealth>,
}

/// One `[[provision]]` step as written: exactly one of the kinds, and
/// `creates` beside `run`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub pkg: Option<Spanned<Vec<Spanned<String>>>>,
    pub copy: Option<Spanned<RawCopy>>,
    pub render: Option<Spanned<RawRender>>,
    pub sysrc: Option<Spanned<BTreeMap<String, Spanned<toml::Value>>>>,
    pub service: Option<Spanned<RawService>>,
    pub run: Option<Spanned<String>>,
    pub creates: Option<Spanned<String>>,
    pub user: Option<Spanned<RawUser>>,
    pub mount: Option<Spanned<RawMount>>,
}

/// Where a copied or rendered file goes and whose it is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCopy {
    pub from: Spanned<String>,
    pub to: Spanned<String>,
    pub mode: Option<Spanned<String>>,
    pub owner: Option<Spanned<String>>,
    pub group: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRender {
    pub template: Spanned<String>,
    pub to: Spanned<String>,
    #[serde(default)]
    pub vars: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    pub mode: Option<Spanned<String>>,
    pub owner: Option<Spanned<String>>,
    pub group: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub name: Option<Spanned<String>>,
    pub action: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUser {
    pub name: Spanned<String>,
    pub uid: Option<Spanned<i64>>,
    #[serde(default)]
    pub groups: Vec<Spanned<String>>,
    pub home: Option<Spanned<String>>,
    pub shell: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    pub check: Option<Spanned<String>>,
    /// Durations: whole seconds, or a string such as "30s" or "5m".
    pub interval: Option<Spanned<toml::Value>>,
    pub timeout: Option<Spanned<toml::Value>>,
    pub retries: Option<Spanned<i64>>,
    pub start_period: Option<Spanned<toml::Value>>,
    pub restart: Option<Spanned<String>>,
    pub restart_delay: Option<Spanned<toml::Value>>,
    pub max_restarts: Option<Spanned<i64>>,
    pub restart_window: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSnapshots {
    pub keep: Option<Spanned<i64>>,
    pub every: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub mode: Option<Spanned<String>>,
    pub interface: Option<Spanned<String>>,
    #[serde(default)]
    pub ip4: Vec<Spanned<String>>,
    #[serde(default)]
    pub ip6: Vec<Spanned<String>>,
    /// The older spelling of `mode = "inherit"`.
    pub inherit: Option<Spanned<bool>>,
    pub bridge: Option<Spanned<String>>,
    pub uplink: Option<Spanned<String>>,
    pub ip4_gateway: Option<Spanned<String>>,
    pub ip6_gateway: Option<Spanned<String>>,
    pub dhcp: Option<Spanned<bool>>,
    pub slaac: Option<Spanned<bool>>,
    pub mac: Option<Spanned<String>>,
    pub mtu: Option<Spanned<i64>>,
}

/// `[firewall]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFirewall {
    #[serde(default)]
    pub inbound: Vec<Spanned<String>>,
    /// `"any"`, `"none"` or a list of rules.
    pub outbound: Option<Spanned<toml::Value>>,
    pub nat: Option<Spanned<bool>>,
    pub nat_interface: Option<Spanned<String>>,
}

/// One `[[expose]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpose {
    pub proto: Option<Spanned<String>>,
    pub host_port: Spanned<i64>,
    pub port: Option<Spanned<i64>>,
    pub host_address: Spanned<String>,
    pub address: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExec {
    pub start: Option<Spanned<String>>,
    pub stop: Option<Spanned<String>>,
    pub prestart: Option<Spanned<String>>,
    pub poststart: Option<Spanned<String>>,
    pub prestop: Option<Spanned<String>>,
    pub poststop: Option<Spanned<String>>,
    pub clean: Option<bool>,
    pub timeout: Option<Spanned<i64>>,
}

/// `[zfs]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawZfs {
    pub quota: Option<Spanned<toml::Value>>,
    pub reservation: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub delegate: Vec<Spanned<toml::Value>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMount {
    pub source: Option<Spanned<String>>,
    pub target: Spanned<String>,
    pub fstype: Option<Spanned<String>>,
    #[serde(default)]
    pub readonly: bool,
}
