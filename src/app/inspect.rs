//! The read-only views of jails: `info` and `list`. No lock, no process.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Error;
use crate::config::{jail, HostConfig};
use ipnet::IpNet;

use crate::host::{Errno, GetFlags, Host, JailKey, LiveJail, MountEntry, VnetView, LIVE_PARAMS};
use crate::model::jail::JailSpec;
use crate::model::network::{Link, Network};
use crate::model::version::Version;
use crate::model::JailName;
use crate::plan::jail as plan;
use crate::state::layout::definition_path;

#[derive(Serialize, schemars::JsonSchema)]
pub struct Definition {
    pub release: Option<String>,
    #[serde(rename = "type")]
    pub jail_type: String,
    pub hostname: String,
    pub boot: bool,
    pub priority: u32,
    pub depends: Vec<String>,
    /// alias, vnet, inherit or none.
    pub network: &'static str,
    /// The host interface of the aliases, or a VNET jail's own.
    pub interface: Option<String>,
    pub ip4: Vec<String>,
    pub ip6: Vec<String>,
    pub vnet: Option<VnetDefinition>,
    /// The pf rules of the jail's anchor (`brig/NAME`), one a line.
    pub firewall: Option<String>,
    /// Every parameter brig sets, secure defaults included.
    pub params: BTreeMap<String, String>,
    pub exec_start: String,
    pub exec_stop: String,
    pub mounts: Vec<String>,
}

/// What more a VNET jail's definition says.
#[derive(Serialize, schemars::JsonSchema)]
pub struct VnetDefinition {
    /// The bridge its epair joins; None for a host interface handed over.
    pub bridge: Option<String>,
    pub uplink: Option<String>,
    /// The epair's end on the host.
    pub host_end: Option<String>,
    pub mac: Option<String>,
    pub mtu: Option<u32>,
    pub ip4_gateway: Option<String>,
    pub ip6_gateway: Option<String>,
    pub dhcp: bool,
    pub slaac: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct Dataset {
    pub name: String,
    pub used: u64,
    /// 0 when there is none.
    pub quota: u64,
    pub origin: Option<String>,
    pub mountpoint: String,
    /// ZFS `jailed`: managed from inside a jail.
    pub jailed: bool,
    /// The running jail it is attached to (`zfs jail`), as brig recorded
    /// when it started the jail.
    pub attached_to: Option<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct JailInfo {
    pub name: String,
    pub file: String,
    pub state: String,
    pub jid: Option<i32>,
    pub definition: Definition,
    /// Parameters as the kernel reports them, while running.
    pub live: BTreeMap<String, String>,
    pub datasets: Vec<Dataset>,
    pub mounts: Vec<MountEntry>,
    /// A running VNET jail's stack, as seen from inside it.
    pub inside: Option<VnetView>,
    /// The userland in its root, and a newer patch level to upgrade to.
    /// Named `userland` in JSON: `version` is the document's own.
    #[serde(rename = "userland")]
    pub version: Option<String>,
    pub available: Option<String>,
    /// The pf rules its start (or the last apply) loaded.
    pub firewall_loaded: Option<String>,
}

fn definition(s: &JailSpec) -> Definition {
    let (ip4, ip6): (Vec<IpNet>, Vec<IpNet>) = s.network.addresses().into_iter().partition(|a| a.addr().is_ipv4());
    let strings = |v: Vec<IpNet>| v.iter().map(ToString::to_string).collect();
    let (interface, vnet) = match &s.network {
        Network::Alias { interface, .. } => (interface.clone(), None),
        Network::Vnet(v) => {
            let (bridge, uplink, host_end) = match &v.link {
                Link::Bridge { bridge, uplink, host_end } => {
                    (Some(bridge.clone()), uplink.clone(), Some(host_end.clone()))
                }
                Link::Interface => (None, None, None),
            };
            let vnet = VnetDefinition {
                bridge,
                uplink,
                host_end,
                mac: v.mac.map(|m| m.to_string()),
                mtu: v.mtu,
                ip4_gateway: v.ip4_gateway.map(|g| g.to_string()),
                ip6_gateway: v.ip6_gateway.map(|g| g.to_string()),
                dhcp: v.dhcp,
                slaac: v.slaac,
            };
            (Some(v.interface.clone()), Some(vnet))
        }
        Network::None | Network::Inherit => (None, None),
    };
    Definition {
        release: s.release.as_ref().map(ToString::to_string),
        jail_type: s.jail_type.as_str().into(),
        hostname: s.hostname.clone(),
        boot: s.boot,
        priority: s.priority,
        depends: s.depends.iter().map(ToString::to_string).collect(),
        network: s.network.mode(),
        firewall: crate::plan::pf::of(s, None),
        interface,
        ip4: strings(ip4),
        ip6: strings(ip6),
        vnet,
        params: s.params.iter().map(|p| (p.name.clone(), p.value.to_string())).collect(),
        exec_start: s.exec.start.clone(),
        exec_stop: s.exec.stop.clone(),
        mounts: s
            .mounts
            .iter()
            .map(|m| {
                format!(
                    "{} {} on {}{}",
                    m.fstype,
                    m.source,
                    m.target.display(),
                    if m.readonly { " (read-only)" } else { "" }
                )
            })
            .collect(),
    }
}

/// One jail: its definition, live parameters, datasets and mounts.
pub fn info(host: &dyn Host, name: &JailName) -> Result<JailInfo, Error> {
    let cfg = super::config(host)?;
    let path = definition_path(name);
    let spec = super::select::defined(host, &cfg, name)?;
    let running = host.jail_find(name.as_str())?;
    let mut live = BTreeMap::new();
    if let Some(j) = &running {
        let key = JailKey::Jid(j.jid);
        for p in host.jail_get(&key, LIVE_PARAMS, GetFlags::ALIVE)? {
            live.insert(p.name, p.value.to_string());
        }
        // One by one: a parameter of a module the kernel has not loaded is
        // unknown to it (EINVAL) and is left out rather than failing all.
        for p in &spec.params {
            match host.jail_get(&key, &[p.name.as_str()], GetFlags::ALIVE) {
                Ok(v) => live.extend(v.into_iter().map(|p| (p.name, p.value.to_string()))),
                Err(e) if e.errno == Errno::EINVAL => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    // What brig's start set up, while it runs.
    let record = running.as_ref().and_then(|_| super::observe::started(host, name));
    let attached: Vec<String> = record.as_ref().map(|s| s.datasets.clone()).unwrap_or_default();
    let props = ["used", "quota", "origin", "mountpoint", "jailed"];
    let datasets = match host.zfs_list(plan::dataset(&cfg, name).as_str(), &props) {
        Ok(list) => list
            .into_iter()
            .map(|d| Dataset {
                used: d.props.get("used").and_then(|v| v.parse().ok()).unwrap_or(0),
                quota: d.props.get("quota").and_then(|v| v.parse().ok()).unwrap_or(0),
                origin: d.props.get("origin").filter(|o| *o != "-").cloned(),
                mountpoint: d.props.get("mountpoint").cloned().unwrap_or_default(),
                jailed: d.props.get("jailed").is_some_and(|v| v == "on"),
                attached_to: attached.contains(&d.name).then(|| name.to_string()),
                name: d.name,
            })
            .collect(),
        Err(e) if e.errno == Errno::ENOENT => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let root = plan::root_path(&cfg, name);
    let mounts: Vec<MountEntry> = host.mounts()?.into_iter().filter(|m| m.target.starts_with(&root)).collect();
    let inside = match (&running, &spec.network) {
        (Some(j), Network::Vnet(_)) => Some(host.vnet_view(j.jid)?),
        _ => None,
    };
    let firewall_loaded = record.and_then(|s| s.firewall).map(|f| f.rules);
    let (version, available) = Versions::new(host, &cfg).of(name, &spec);
    Ok(JailInfo {
        version,
        available,
        inside,
        firewall_loaded,
        name: name.to_string(),
        file: path.display().to_string(),
        state: if running.is_some() { "running".into() } else { "stopped".into() },
        jid: running.as_ref().map(|j| j.jid),
        definition: definition(&spec),
        live,
        datasets,
        mounts,
    })
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct Listed {
    pub name: String,
    /// running, stopped, or invalid (the definition does not validate).
    pub state: String,
    pub jid: Option<i32>,
    pub ip: Vec<String>,
    pub release: Option<String>,
    #[serde(rename = "type")]
    pub jail_type: Option<String>,
    pub boot: Option<bool>,
    /// false for a running jail that has no definition.
    pub managed: bool,
    /// The managed jail a nested jail (`parent.child`) runs in.
    pub parent: Option<String>,
    /// Why the definition does not validate.
    pub error: Option<String>,
    /// The userland in its root (/bin/freebsd-version); `userland` in
    /// JSON, as in `info`'s.
    #[serde(rename = "userland")]
    pub version: Option<String>,
    /// A newer patch level of the same release that is here to upgrade
    /// to (`brig upgrade`): its release's newest, or the host's own.
    pub available: Option<String>,
}

/// Versions for `list`: each release's newest level and the host's own
/// userland, each read once from a file; no ZFS call, no process.
pub struct Versions<'a> {
    host: &'a dyn Host,
    cfg: &'a HostConfig,
    own: Option<Version>,
    releases: std::cell::RefCell<BTreeMap<String, Option<Version>>>,
}

impl<'a> Versions<'a> {
    pub fn new(host: &'a dyn Host, cfg: &'a HostConfig) -> Versions<'a> {
        let own = super::upgrade::userland(host, std::path::Path::new("/"));
        Versions { host, cfg, own, releases: Default::default() }
    }

    /// The jail's version and the newer one it could have.
    pub fn of(&self, name: &JailName, spec: &JailSpec) -> (Option<String>, Option<String>) {
        let Some(mine) = super::upgrade::userland(self.host, &plan::root_path(self.cfg, name)) else {
            return (None, None);
        };
        let release = spec.release.as_ref().map(|r| {
            self.releases
                .borrow_mut()
                .entry(r.to_string())
                .or_insert_with(|| super::upgrade::userland(self.host, &crate::plan::release::files(self.cfg, r)))
                .clone()
        });
        let newer = [release.flatten(), self.own.clone()]
            .into_iter()
            .flatten()
            .filter(|v| v.release == mine.release && v.patch > mine.patch)
            .max_by_key(|v| v.patch);
        (Some(mine.to_string()), newer.map(|v| v.snapshot()))
    }
}

fn live_ips(j: &LiveJail) -> Vec<String> {
    j.ip4.iter().map(ToString::to_string).chain(j.ip6.iter().map(ToString::to_string)).collect()
}

/// Every defined jail and every running one: one jail_get sweep and the
/// definition files; no process, no per-jail ZFS call.
/// Every defined jail, and every running one brig does not manage, from
/// one jail_get sweep. A definition that does not read is listed with
/// its error.
pub fn list(host: &dyn Host) -> Result<Vec<Listed>, Error> {
    let cfg = super::config(host)?;
    // By name; a running jail hides a dying one of the same name.
    let mut live: BTreeMap<String, LiveJail> = BTreeMap::new();
    for j in host.jail_list()? {
        if live.get(&j.name).is_none_or(|seen| seen.dying) {
            live.insert(j.name.clone(), j);
        }
    }
    let state_of = |j: &LiveJail| if j.dying { "dying" } else { "running" };
    let mut names: Vec<JailName> =
        jail::definition_files(host).unwrap_or_default().iter().filter_map(|p| jail::name_of(p)).collect();
    names.sort();
    let versions = Versions::new(host, &cfg);
    let mut rows = Vec::new();
    for name in &names {
        let running = live.get(name.as_str());
        let state = running.map_or("stopped", state_of);
        rows.push(match jail::load_defined(host, name, &cfg) {
            Ok(spec) => {
                let (version, available) = versions.of(name, &spec);
                Listed {
                    version,
                    available,
                    name: name.to_string(),
                    state: state.into(),
                    jid: running.map(|j| j.jid),
                    ip: match (running, &spec.network) {
                        // The kernel keeps no addresses for a VNET jail; a stopped
                        // jail has only its definition's.
                        (_, Network::Vnet(_)) | (None, Network::Alias { .. }) => {
                            spec.network.addresses().iter().map(|a| a.addr().to_string()).collect()
                        }
                        (Some(j), _) => live_ips(j),
                        (None, Network::Inherit) => vec!["inherit".into()],
                        (None, Network::None) => Vec::new(),
                    },
                    release: spec.release.as_ref().map(ToString::to_string),
                    jail_type: Some(spec.jail_type.as_str().into()),
                    boot: Some(spec.boot),
                    managed: true,
                    parent: None,
                    error: None,
                }
            }
            Err(e) => Listed {
                version: None,
                available: None,
                name: name.to_string(),
                state: running.map_or("invalid", state_of).into(),
                jid: running.map(|j| j.jid),
                ip: running.map(live_ips).unwrap_or_default(),
                release: None,
                jail_type: None,
                boot: None,
                managed: true,
                parent: None,
                error: Some(e.to_string()),
            },
        });
    }
    for (n, j) in &live {
        if !names.iter().any(|name| name.as_str() == n) {
            rows.push(Listed {
                name: n.clone(),
                state: state_of(j).into(),
                jid: Some(j.jid),
                ip: live_ips(j),
                release: None,
                jail_type: None,
                boot: None,
                managed: false,
                parent: n.rsplit_once('.').map(|(p, _)| p.to_string()),
                error: None,
                version: None,
                available: None,
            });
        }
    }
    Ok(rows)
}
