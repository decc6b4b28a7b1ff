//! Starting and stopping a jail in jail(8)'s order (startcommands[] and
//! stopcommands[] in usr.sbin/jail/command.c): aliases, mounts,
//! exec.prestart, create, exec.start
//! inside, exec.poststart; and back: exec.prestop, exec.stop inside,
//! remove, exec.poststop, unmounts, aliases.

use std::path::PathBuf;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::dummynet::Pipes;
use super::jail::{delegated_dataset, root_dataset, root_path};
use super::Op;
use crate::config::HostConfig;
use crate::kernel::params::KernelParams;
use crate::kernel::rctl_rules::Rule;
use crate::kernel::{Interface, JailParam, JailSys, LiveJail, MountEntry, ParamValue, VnetSetup};
use crate::model::jail::{Exec, JailSpec, DEFAULT_STOP, DEFAULT_TIMEOUT};
use crate::model::limits::Bandwidth;
use crate::model::network::{Link, Network, Vnet};
use crate::model::{DatasetName, JailName};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RunPlanError {
    #[error("jail {jail}: parameter {param} = {value} is not known to this kernel: {why}, or remove the parameter")]
    ParamMissing { jail: JailName, param: String, value: String, why: String },
    #[error("jail {jail}: mode = \"vnet\" needs a kernel with options VIMAGE (GENERIC has it since FreeBSD 12), and this one has none; use mode = \"alias\", or boot a kernel with VIMAGE")]
    NoVimage { jail: JailName },
}

/// What brig set up on the host for a started jail, kept until it stops:
/// the definition may change in between, and stop must take down what
/// start made, not what the definition says now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub aliases: Vec<Alias>,
    /// Datasets attached to the jail (`zfs jail`).
    #[serde(default)]
    pub datasets: Vec<String>,
    /// How to stop it, for when its definition no longer reads (a stop
    /// follows the definition while it does, as jail(8) follows
    /// jail.conf). Records from before it was kept have none.
    #[serde(default)]
    pub stop: Option<StopRecipe>,
    /// What a VNET start set up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnet: Option<StartedVnet>,
    /// The pf rules loaded into the jail's anchor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<StartedFirewall>,
}

/// The rules in a jail's pf anchor, the addresses whose states a stop
/// kills, and the pipes of its bandwidth limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedFirewall {
    pub rules: String,
    pub addrs: Vec<std::net::IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shaping: Option<StartedShaping>,
}

/// The dummynet pipes a start made, and the bandwidth they have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedShaping {
    pub pipes: Pipes,
    pub bandwidth: Bandwidth,
}

impl StartedFirewall {
    /// The anchor of `spec`, its limits through `pipes`.
    pub fn of(spec: &JailSpec, pipes: Option<Pipes>) -> Option<StartedFirewall> {
        let rules = super::pf::of(spec, pipes)?;
        let shaping = spec.shaping().zip(pipes).map(|((bandwidth, _), pipes)| StartedShaping { pipes, bandwidth });
        Some(StartedFirewall { rules, addrs: spec.network.addresses().iter().map(IpNet::addr).collect(), shaping })
    }
}

/// The network of a started VNET jail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedVnet {
    /// The epair the start made, by its host end (destroying either end
    /// takes both); None for a host interface handed over whole, which
    /// comes back by itself when the jail is gone.
    pub epair: Option<String>,
    /// The bridge its host end joined.
    pub bridge: Option<String>,
    /// What the start set up inside the jail.
    pub setup: VnetSetup,
    /// The start ran the jail's dhclient.
    #[serde(default)]
    pub dhcp: bool,
    /// The bridge's uplink, the epair's Ethernet address and MTU: a change
    /// of them waits for a restart too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uplink: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
}

impl StartedVnet {
    /// What a start of `spec` sets up, if it is a VNET jail.
    pub fn of(spec: &JailSpec) -> Option<StartedVnet> {
        let Network::Vnet(v) = &spec.network else { return None };
        let (epair, bridge, uplink) = match &v.link {
            Link::Bridge { bridge, host_end, uplink } => (Some(host_end.clone()), Some(bridge.clone()), uplink.clone()),
            Link::Interface => (None, None, None),
        };
        let setup = vnet_setup(spec, v);
        Some(StartedVnet { epair, bridge, setup, dhcp: v.dhcp, uplink, mac: v.mac.map(|m| m.to_string()), mtu: v.mtu })
    }
}

/// What a start of VNET jail `spec` (whose network is `v`) sets up inside it.
fn vnet_setup(spec: &JailSpec, v: &Vnet) -> VnetSetup {
    VnetSetup {
        interface: v.interface.clone(),
        addrs: spec.network.addresses(),
        ip4_gateway: v.ip4_gateway,
        ip6_gateway: v.ip6_gateway,
        slaac: v.slaac,
    }
}

impl std::fmt::Display for StartedVnet {
    /// `e0b_web on bridge0: 192.0.2.10/24 via 192.0.2.1, slaac`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.setup;
        write!(f, "{}", s.interface)?;
        if let Some(b) = &self.bridge {
            write!(f, " on {b}")?;
        }
        if let Some(u) = &self.uplink {
            write!(f, " (uplink {u})")?;
        }
        let mut parts: Vec<String> = s.addrs.iter().map(ToString::to_string).collect();
        parts.extend(s.ip4_gateway.map(|g| format!("via {g}")));
        parts.extend(s.ip6_gateway.map(|g| format!("via {g}")));
        if self.dhcp {
            parts.push("dhcp".into());
        }
        parts.extend(self.mac.as_ref().map(|m| format!("ether {m}")));
        parts.extend(self.mtu.map(|m| format!("mtu {m}")));
        if s.slaac {
            parts.push("slaac".into());
        }
        if !parts.is_empty() {
            write!(f, ": {}", parts.join(", "))?;
        }
        Ok(())
    }
}

/// The commands a stop runs, from `[exec]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopRecipe {
    pub prestop: Option<String>,
    pub command: String,
    pub poststop: Option<String>,
    pub clean: bool,
    pub timeout: u32,
}

impl StopRecipe {
    pub fn of(exec: &Exec) -> StopRecipe {
        StopRecipe {
            prestop: exec.prestop.clone(),
            command: exec.stop.clone(),
            poststop: exec.poststop.clone(),
            clean: exec.clean,
            timeout: exec.timeout,
        }
    }
}

/// exec.stop's defaults, for a jail with neither a readable definition
/// nor a recipe in its start record.
impl Default for StopRecipe {
    fn default() -> StopRecipe {
        StopRecipe {
            prestop: None,
            command: DEFAULT_STOP.to_string(),
            poststop: None,
            clean: true,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    pub interface: String,
    pub addr: IpNet,
}

/// The wait for the IPv6 addresses a VNET jail's stack got among `ops`
/// (link-local ones aside) to become usable, if any.
fn await_vnet_dad(ops: &[Op]) -> Option<Op> {
    ops.iter().find_map(|op| match op {
        Op::ConfigureVnet { jail, setup } => {
            let addrs: Vec<std::net::Ipv6Addr> = setup
                .addrs
                .iter()
                .filter_map(|a| match a {
                    IpNet::V6(n) if !n.addr().is_unicast_link_local() => Some(n.addr()),
                    _ => None,
                })
                .collect();
            (!addrs.is_empty()).then(|| Op::AwaitVnetDad {
                jail: jail.clone(),
                interface: setup.interface.clone(),
                addrs,
            })
        }
        _ => None,
    })
}

/// The wait for the IPv6 aliases among `ops` to become usable, if any.
pub fn await_dad(ops: &[Op]) -> Option<Op> {
    let aliases: Vec<(String, std::net::Ipv6Addr)> = ops
        .iter()
        .filter_map(|op| match op {
            Op::AddAlias { interface, addr: IpNet::V6(a) } => Some((interface.clone(), a.addr())),
            _ => None,
        })
        .collect();
    (!aliases.is_empty()).then_some(Op::AwaitDad { aliases })
}

/// The aliases a start of `spec` adds.
pub fn aliases_of(spec: &JailSpec) -> Vec<Alias> {
    match &spec.network {
        Network::Alias { interface: Some(i), .. } => {
            spec.network.addresses().into_iter().map(|addr| Alias { interface: i.clone(), addr }).collect()
        }
        _ => Vec::new(),
    }
}

/// The datasets a start of `spec` attaches.
pub fn delegated_of(cfg: &HostConfig, spec: &JailSpec) -> Vec<String> {
    spec.zfs.delegate.iter().map(|d| delegated_dataset(cfg, &spec.name, d).to_string()).collect()
}

/// `/var/db/brig/started/NAME.json`
pub fn started_path(name: &JailName) -> PathBuf {
    std::path::Path::new(crate::state::layout::STARTED_DIR).join(format!("{name}.json"))
}

impl Started {
    /// The record of a start of `spec`, its limits through `pipes`.
    pub fn of(cfg: &HostConfig, spec: &JailSpec, pipes: Option<Pipes>) -> Started {
        Started {
            aliases: aliases_of(spec),
            datasets: delegated_of(cfg, spec),
            stop: Some(StopRecipe::of(&spec.exec)),
            vnet: StartedVnet::of(spec),
            firewall: StartedFirewall::of(spec, pipes),
        }
    }

    /// The step that writes this record for `name`.
    pub fn write(&self, name: &JailName) -> Op {
        // Serialising plain strings and addresses cannot fail.
        let contents = serde_json::to_string_pretty(self).unwrap_or_default();
        Op::WriteFile { path: started_path(name), contents, mode: 0o600 }
    }
}

/// The jail_set(2) parameters of a start. `kernel` says which parameters
/// the kernel knows: a `false` it has never heard of is simply true
/// already, a `true` is an error saying why it is missing.
pub fn jail_params(cfg: &HostConfig, spec: &JailSpec, kernel: &KernelParams) -> Result<Vec<JailParam>, RunPlanError> {
    let mut p = vec![
        JailParam::str("name", spec.name.as_str()),
        JailParam::str("path", root_path(cfg, &spec.name).to_string_lossy()),
        JailParam::str("host.hostname", spec.hostname.as_str()),
        JailParam::bool("persist", true),
    ];
    match &spec.network {
        Network::Inherit => {
            p.push(JailParam::new("ip4", ParamValue::JailSys(JailSys::Inherit)));
            p.push(JailParam::new("ip6", ParamValue::JailSys(JailSys::Inherit)));
        }
        Network::None => {
            p.push(JailParam::new("ip4", ParamValue::JailSys(JailSys::Disable)));
            p.push(JailParam::new("ip6", ParamValue::JailSys(JailSys::Disable)));
        }
        Network::Vnet(_) if !kernel.knows("vnet") => return Err(RunPlanError::NoVimage { jail: spec.name.clone() }),
        // Its own stack, configured from inside once the jail exists;
        // with vnet=new the kernel takes no ip4/ip6 (kern_jail_set).
        Network::Vnet(_) => p.push(JailParam::new("vnet", ParamValue::JailSys(JailSys::New))),
        Network::Alias { ip4, ip6, .. } => {
            for (mode, addr, empty, value) in [
                ("ip4", "ip4.addr", ip4.is_empty(), ParamValue::Ip4(ip4.iter().map(|a| a.addr()).collect())),
                ("ip6", "ip6.addr", ip6.is_empty(), ParamValue::Ip6(ip6.iter().map(|a| a.addr()).collect())),
            ] {
                if empty {
                    p.push(JailParam::new(mode, ParamValue::JailSys(JailSys::Disable)));
                } else {
                    p.push(JailParam::new(mode, ParamValue::JailSys(JailSys::New)));
                    p.push(JailParam::new(addr, value));
                }
            }
        }
    }
    for param in &spec.params {
        if kernel.knows(&param.name) {
            p.push(param.clone());
        } else if param.value != ParamValue::Bool(false) {
            return Err(RunPlanError::ParamMissing {
                jail: spec.name.clone(),
                param: param.name.clone(),
                value: param.value.to_string(),
                why: kernel.why_missing(&param.name),
            });
        }
    }
    Ok(p)
}

/// The devfs ruleset of a jail: its `devfs_ruleset`, else the secure 4.
pub fn devfs_ruleset(spec: &JailSpec) -> i32 {
    spec.params
        .iter()
        .find_map(|p| match (p.name.as_str(), &p.value) {
            ("devfs_ruleset", ParamValue::Int(v)) => Some(*v),
            _ => None,
        })
        .unwrap_or(4)
}

/// A mount, after the check its devfs ruleset needs (none for ruleset 0,
/// which asks for no filtering and is audit's business).
pub fn guarded(op: Op) -> Vec<Op> {
    let ruleset = match &op {
        Op::MountIn { fstype, options, .. } if fstype == "devfs" => {
            options.iter().find(|(k, _)| k == "ruleset").and_then(|(_, v)| v.as_deref()?.parse::<u16>().ok())
        }
        _ => None,
    };
    match ruleset.filter(|n| *n != 0) {
        Some(ruleset) => vec![Op::CheckRuleset { ruleset }, op],
        None => vec![op],
    }
}

/// The mounts of a started jail: devfs with its ruleset on /dev, then the
/// `[[mount]]` entries in the order written.
pub fn mounts(cfg: &HostConfig, spec: &JailSpec) -> Vec<Op> {
    let root = root_dataset(cfg, &spec.name);
    let mut ops = vec![Op::MountIn {
        dataset: root.clone(),
        fstype: "devfs".into(),
        source: "devfs".into(),
        target: PathBuf::from("dev"),
        readonly: false,
        options: vec![("ruleset".into(), Some(devfs_ruleset(spec).to_string()))],
    }];
    for m in &spec.mounts {
        ops.push(Op::MountIn {
            dataset: root.clone(),
            fstype: m.fstype.clone(),
            source: m.source.clone(),
            target: m.target.strip_prefix("/").unwrap_or(&m.target).to_path_buf(),
            readonly: m.readonly,
            options: Vec::new(),
        });
    }
    ops
}

/// The stages of a jail's life in start order, as jail(8)'s
/// startcommands[] (usr.sbin/jail/jail.c): a start runs each stage's up
/// steps in this order, a stop each stage's down steps in the reverse
/// order, as stopcommands[] walks them back; exec undoes a failed start's
/// finished steps in reverse too. The rctl rules come before the jail is
/// made: the kernel keeps rules by jail name (kern_rctl.c finds or makes
/// the name's prison_racct), so the jail is limited from its first
/// instant, and a stop removes them only once the jail is gone, so no
/// process of it outlives its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The start record / its removal.
    Record,
    /// Aliases on the host's interfaces, or a VNET jail's epair joined
    /// to its bridge / the aliases removed, the epair destroyed.
    Network,
    /// The jail's pf anchor loaded / emptied, and its states killed once
    /// the jail is gone.
    Firewall,
    /// devfs and `[[mount]]`s in the root / unmounted, deepest first.
    Mounts,
    /// rctl rules / removed.
    Limits,
    /// exec.prestart / exec.poststop, on the host.
    Prepare,
    /// jail_set(JAIL_CREATE) / SIGTERM, then jail_remove.
    Jail,
    /// A VNET jail's interface moved in (jail(8)'s vnet.interface) and
    /// its stack set up / (both go with the jail's vnet).
    Vnet,
    /// The jail's CPUs / (the cpuset goes with the jail).
    Cpus,
    /// Delegated datasets attached / detached.
    Datasets,
    /// Waiting out IPv6 duplicate address detection / nothing to wait for.
    Dad,
    /// exec.start / exec.stop, inside the jail.
    Exec,
    /// exec.poststart / exec.prestop, on the host.
    Announce,
}

const STAGES: [Stage; 13] = [
    Stage::Record,
    Stage::Network,
    Stage::Firewall,
    Stage::Mounts,
    Stage::Limits,
    Stage::Prepare,
    Stage::Jail,
    Stage::Vnet,
    Stage::Cpus,
    Stage::Datasets,
    Stage::Dad,
    Stage::Exec,
    Stage::Announce,
];

/// The up steps of `stage` for starting `spec`; `so_far` are the steps
/// of the stages before it.
fn up(stage: Stage, cfg: &HostConfig, spec: &JailSpec, params: &[JailParam], how: &How, so_far: &[Op]) -> Vec<Op> {
    match stage {
        // The record first: whatever happens after, a later stop knows
        // what to take down (and a failed start's undo removes it again).
        Stage::Record => vec![Started::of(cfg, spec, how.pipes).write(&spec.name)],
        Stage::Network => match &spec.network {
            Network::Vnet(v) => epair(v),
            _ => aliases_of(spec).into_iter().map(|a| Op::AddAlias { interface: a.interface, addr: a.addr }).collect(),
        },
        // The pipes before the rules that name them: pf drops what goes
        // to a pipe dummynet does not have (dummynet_io in ip_dn_io.c).
        Stage::Firewall => {
            let shaping = spec.shaping().zip(how.pipes);
            let mut ops: Vec<Op> = shaping
                .map(|((b, _), p)| {
                    [(p.down, b.inbound), (p.up, b.outbound)]
                        .map(|(pipe, bandwidth)| Op::ConfigurePipe { pipe, bandwidth, old: None })
                        .to_vec()
                })
                .unwrap_or_default();
            ops.extend(super::pf::of(spec, how.pipes).map(|rules| Op::LoadAnchor {
                anchor: super::pf::anchor(&spec.name),
                rules,
                old: String::new(),
            }));
            ops
        }
        Stage::Mounts => mounts(cfg, spec).into_iter().flat_map(guarded).collect(),
        // Unless racct is off and the user said --no-limits.
        Stage::Limits if how.limits => {
            spec.limits.rules.iter().map(|l| Op::AddRctl { rule: l.rule(&spec.name) }).collect()
        }
        Stage::Limits => Vec::new(),
        Stage::Prepare => hook(&spec.name, "exec.prestart", &spec.exec.prestart),
        Stage::Jail => vec![Op::CreateJail { params: params.to_vec() }],
        Stage::Vnet => match &spec.network {
            Network::Vnet(v) => {
                let mut ops = vec![
                    Op::MoveToJail { interface: v.interface.clone(), jail: spec.name.clone() },
                    Op::ConfigureVnet { jail: spec.name.clone(), setup: vnet_setup(spec, v) },
                ];
                // The jail's own dhclient, which waits for a lease (or its
                // timeout) before it goes to the background.
                if v.dhcp {
                    ops.push(Op::ExecIn {
                        stage: "dhclient",
                        jail: spec.name.clone(),
                        command: format!("/sbin/dhclient {}", v.interface),
                        clean: true,
                    });
                }
                ops
            }
            _ => Vec::new(),
        },
        Stage::Cpus => match &spec.limits.cpus {
            Some(cpus) => vec![Op::PinCpus { jail: spec.name.clone(), cpus: cpus.clone() }],
            None => Vec::new(),
        },
        Stage::Datasets => spec
            .zfs
            .delegate
            .iter()
            .map(|d| Op::AttachDataset { dataset: delegated_dataset(cfg, &spec.name, d), jail: spec.name.clone() })
            .collect(),
        // Duplicate address detection ran meanwhile; the jail's daemons
        // can bind only once it is over.
        Stage::Dad => await_dad(so_far).into_iter().chain(await_vnet_dad(so_far)).collect(),
        Stage::Exec => vec![Op::ExecIn {
            stage: "exec.start",
            jail: spec.name.clone(),
            command: spec.exec.start.clone(),
            clean: spec.exec.clean,
        }],
        Stage::Announce => hook(&spec.name, "exec.poststart", &spec.exec.poststart),
    }
}

/// The epair of a VNET jail on a bridge: the bridge made if the host has
/// none, the epair made and named, its host end joined and up (the
/// member joins before it is up: FreeBSD 15 refuses a member with
/// addresses, and an up interface gets an IPv6 link-local one).
fn epair(v: &Vnet) -> Vec<Op> {
    let Link::Bridge { bridge, uplink, host_end } = &v.link else { return Vec::new() };
    vec![
        Op::EnsureBridge { bridge: bridge.clone(), uplink: uplink.clone() },
        Op::CreateEpair { host_end: host_end.clone(), jail_end: v.interface.clone(), mac: v.mac, mtu: v.mtu },
        Op::JoinBridge { bridge: bridge.clone(), member: host_end.clone(), peer: v.interface.clone(), mtu: v.mtu },
        Op::IfUp { interface: host_end.clone() },
    ]
}

/// A host hook of jail `jail`, if the definition has one.
fn hook(jail: &JailName, stage: &'static str, command: &Option<String>) -> Vec<Op> {
    command.iter().map(|c| Op::Hook { jail: jail.clone(), stage, command: c.clone() }).collect()
}

/// How a start goes besides the definition.
#[derive(Debug, Clone, Copy, Default)]
pub struct How {
    /// Apply rctl rules (racct may be off, and the user said --no-limits).
    pub limits: bool,
    /// The dummynet pipes of its bandwidth limits, if it has any.
    pub pipes: Option<Pipes>,
}

/// The steps of `brig start`: each stage's up steps, in order.
pub fn start(cfg: &HostConfig, spec: &JailSpec, kernel: &KernelParams, how: How) -> Result<Vec<Op>, RunPlanError> {
    let params = jail_params(cfg, spec, kernel)?;
    let mut ops = Vec::new();
    for stage in STAGES {
        let steps = up(stage, cfg, spec, &params, &how, &ops);
        ops.extend(steps);
    }
    Ok(ops)
}

/// Mount entries grouped by the jail whose root they are in (found from
/// the path: `<jails dir>/NAME/root/...`), so that planning many jails
/// looks at each mount once, not once per jail.
pub fn mounts_by_jail(cfg: &HostConfig, mounts: &[MountEntry]) -> std::collections::HashMap<String, Vec<MountEntry>> {
    let dir = cfg.jails_dir();
    let mut out: std::collections::HashMap<String, Vec<MountEntry>> = std::collections::HashMap::new();
    for m in mounts {
        let Ok(rest) = m.target.strip_prefix(&dir) else { continue };
        let mut parts = rest.components();
        if let (Some(name), Some(std::path::Component::Normal(r))) = (parts.next(), parts.next()) {
            if r == "root" {
                out.entry(name.as_os_str().to_string_lossy().into_owned()).or_default().push(m.clone());
            }
        }
    }
    out
}

/// Unmount everything mounted in a jail's root, deepest first (the root's
/// own dataset stays mounted).
pub fn unmount_all(cfg: &HostConfig, name: &JailName, mounts: &[MountEntry]) -> Vec<Op> {
    let root = root_path(cfg, name);
    let mut inside: Vec<&MountEntry> =
        mounts.iter().filter(|m| m.target.starts_with(&root) && !(m.fstype == "zfs" && m.target == root)).collect();
    // Deepest first; newest first among mounts stacked on one target.
    inside.reverse();
    inside.sort_by_key(|m| std::cmp::Reverse(m.target.components().count()));
    inside.into_iter().map(|m| Op::Unmount { mount: m.clone() }).collect()
}

/// Remove the aliases a start added, as its record says, where they are
/// still configured, IPv6 first (the reverse of start). Only those: what
/// the definition says now may have been edited to an address brig never
/// added, such as the host's own, and without a record brig added none.
pub fn remove_aliases(started: Option<&Started>, interfaces: &[Interface]) -> Vec<Op> {
    let mut all: Vec<Alias> = started.map(|s| s.aliases.clone()).unwrap_or_default();
    all.dedup();
    let present = |a: &Alias| {
        interfaces.iter().any(|x| x.name == a.interface && x.addrs.iter().any(|y| y.addr() == a.addr.addr()))
    };
    all.reverse();
    all.into_iter().filter(present).map(|a| Op::RemoveAlias { interface: a.interface, addr: a.addr }).collect()
}

/// The rules of the jail `name` among `rules` (the kernel's).
pub fn rules_of<'a>(name: &'a JailName, rules: &'a [Rule]) -> impl Iterator<Item = &'a Rule> {
    rules.iter().filter(move |r| r.is_of_jail(name.as_str()))
}

/// Remove the rules of the jail `name` among `rules`.
pub fn remove_rules(name: &JailName, rules: &[Rule]) -> Vec<Op> {
    rules_of(name, rules).map(|r| Op::RemoveRctl { rule: r.clone() }).collect()
}

/// What `brig stop` found: the live jail, the mounts, the interfaces.
pub struct StopSeen<'a> {
    pub running: Option<&'a LiveJail>,
    /// A jail of that name that is still dying (jail_get(2) with
    /// JAIL_DYING), when none is running: a stop killed after
    /// jail_remove(2) left it, and its mounts stay busy until it goes.
    pub dying: Option<&'a LiveJail>,
    /// The record of its start, if there is one.
    pub started: Option<&'a Started>,
    /// Its rctl rules in the kernel (jail_remove(2) leaves them).
    pub rules: &'a [Rule],
    pub mounts: &'a [MountEntry],
    pub interfaces: &'a [Interface],
}

/// The steps of `brig stop` of jail `name`: each stage's down steps,
/// the stages in reverse. A jail that is not running still gets its
/// leftover rules, mounts and aliases cleaned (like `jail -C`), so a stop
/// that failed half-way is finished by the next one. Without a readable
/// definition (`spec` is None) the stop follows its start record.
pub fn stop(cfg: &HostConfig, name: &JailName, spec: Option<&JailSpec>, seen: &StopSeen) -> Vec<Op> {
    let recipe = match (spec, seen.started.and_then(|s| s.stop.as_ref())) {
        (Some(spec), _) => StopRecipe::of(&spec.exec),
        (None, Some(recorded)) => recorded.clone(),
        (None, None) => StopRecipe::default(),
    };
    let down = Down { cfg, name, spec, seen, recipe: &recipe };
    STAGES.iter().rev().flat_map(|s| down.steps(*s)).collect()
}

/// What a stop knows, to take each stage down.
struct Down<'a> {
    cfg: &'a HostConfig,
    name: &'a JailName,
    spec: Option<&'a JailSpec>,
    seen: &'a StopSeen<'a>,
    recipe: &'a StopRecipe,
}

impl Down<'_> {
    fn steps(&self, stage: Stage) -> Vec<Op> {
        let (name, seen) = (self.name, self.seen);
        // The jail's own stages only while it runs.
        let running = seen.running.is_some();
        match stage {
            Stage::Announce if running => hook(name, "exec.prestop", &self.recipe.prestop),
            Stage::Exec if running => vec![
                Op::ExecIn {
                    stage: "exec.stop",
                    jail: name.clone(),
                    command: self.recipe.command.clone(),
                    clean: self.recipe.clean,
                },
                Op::Terminate { jail: name.clone(), timeout: self.recipe.timeout },
            ],
            // What the start attached (or, without its record, what the
            // definition delegates); the jail must still exist to detach.
            Stage::Datasets if running => {
                let attached = match (seen.started, self.spec) {
                    (Some(s), _) => s.datasets.clone(),
                    (None, Some(spec)) => delegated_of(self.cfg, spec),
                    (None, None) => Vec::new(),
                };
                attached
                    .iter()
                    .filter_map(|d| DatasetName::parse(d).ok())
                    .map(|dataset| Op::DetachDataset { dataset, jail: name.clone() })
                    .collect()
            }
            Stage::Jail => match (seen.running, seen.dying) {
                (Some(j), _) => vec![Op::RemoveJail { name: name.clone(), jid: j.jid }],
                // A stop killed after jail_remove left it dying, and its
                // mounts stay busy until it goes.
                (None, Some(j)) => vec![Op::AwaitGone { name: name.clone(), jid: j.jid }],
                (None, None) => Vec::new(),
            },
            Stage::Prepare if running => hook(name, "exec.poststop", &self.recipe.poststop),
            Stage::Limits => remove_rules(name, seen.rules),
            // What the start loaded, as its record says; without a record
            // (a jail started before records kept it), what the
            // definition would have loaded.
            Stage::Firewall => {
                let up = running || seen.dying.is_some();
                let fw = match seen.started {
                    Some(s) => s.firewall.clone(),
                    None if up => self.spec.and_then(|s| StartedFirewall::of(s, None)),
                    None => None,
                };
                let Some(fw) = fw else { return Vec::new() };
                let mut ops =
                    vec![Op::FlushAnchor { anchor: super::pf::anchor(name) }, Op::KillStates { addrs: fw.addrs }];
                // Once no state sends packets to them.
                if let Some(s) = fw.shaping {
                    ops.extend(s.pipes.both().map(|pipe| Op::DeletePipe { pipe, jail: name.clone() }));
                }
                ops
            }
            Stage::Mounts => unmount_all(self.cfg, name, seen.mounts),
            Stage::Network => {
                let mut ops = remove_aliases(seen.started, seen.interfaces);
                // What the start made, while the host has it: its host
                // end is on the host whatever became of the jail.
                let epair = seen.started.and_then(|s| s.vnet.as_ref()).and_then(|v| v.epair.clone());
                ops.extend(
                    epair
                        .filter(|e| seen.interfaces.iter().any(|i| &i.name == e))
                        .map(|name| Op::DestroyInterface { name }),
                );
                ops
            }
            Stage::Record if seen.started.is_some() => vec![Op::RemoveFile { path: started_path(name) }],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: How = How { limits: true, pipes: None };
    use crate::plan::testing::{cfg, golden, kernel, lines, rule};

    fn spec() -> JailSpec {
        let text = "release = \"14.3-RELEASE\"\nhostname = \"web.example.org\"\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.10/24\"]\nip6 = [\"2001:db8::10/64\"]\n[exec]\nprestart = \"logger starting\"\npoststop = \"logger stopped\"\n[[mount]]\nsource = \"/data/www\"\ntarget = \"/usr/local/www\"\nreadonly = true\n[limits]\nmaxproc = 100\nmemoryuse = \"1G\"\ncpus = \"0-1\"\n";
        crate::plan::testing::spec(text)
    }

    #[test]
    fn a_limited_jail_gets_its_pipes_before_the_rules_naming_them_and_loses_them_after_its_states() {
        let spec = crate::plan::testing::spec(
            "release = \"14.3-RELEASE\"\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.10/24\"]\n[limits]\nbandwidth_in = \"100M\"\n",
        );
        let pipes = Pipes { down: 32770, up: 32771 };
        let l = lines(
            &start(&cfg(), &spec, &kernel("14.3-RELEASE", &[]), How { limits: true, pipes: Some(pipes) })
                .expect("plans"),
        );
        let at =
            |prefix: &str| l.iter().position(|x| x.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix}: {l:?}"));
        assert_eq!(l[at("dnctl pipe 32770")], "dnctl pipe 32770 config bw 100000000bit/s");
        assert_eq!(l[at("dnctl pipe 32771")], "dnctl pipe 32771 config bw 0 (no limit)");
        assert!(at("dnctl pipe 32771") < at("pfctl -a brig/web"), "{l:?}");
        assert!(
            l[at("pfctl -a brig/web")].contains("match in on em0 inet from any to 192.0.2.10 dnpipe (32770, 32771)")
        );

        let started = Started::of(&cfg(), &spec, Some(pipes));
        let live = LiveJail { jid: 3, ..LiveJail::default() };
        let seen = StopSeen {
            running: Some(&live),
            dying: None,
            started: Some(&started),
            rules: &[],
            mounts: &[],
            interfaces: &[],
        };
        let down = lines(&stop(&cfg(), &spec.name, Some(&spec), &seen));
        let at = |prefix: &str| {
            down.iter().position(|x| x.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix}: {down:?}"))
        };
        assert!(at("pfctl -k 192.0.2.10") < at("dnctl pipe 32770 delete"), "{down:?}");
        assert!(at("dnctl pipe 32770 delete") < at("dnctl pipe 32771 delete"), "{down:?}");
        // Without its pipes (a definition only), no limits are written.
        assert!(!super::super::pf::of(&spec, None).is_some_and(|r| r.contains("dnpipe")));
    }

    #[test]
    fn golden_start_order() {
        let ops = start(&cfg(), &spec(), &kernel("14.3-RELEASE", &[]), LIMITS).expect("plans");
        golden("start.txt", &ops);
        let without = lines(&start(&cfg(), &spec(), &kernel("14.3-RELEASE", &[]), How::default()).expect("plans"));
        assert!(!without.iter().any(|l| l.starts_with("rctl")), "--no-limits leaves the rules out");
        assert!(without.iter().any(|l| l.starts_with("cpuset")), "but not the cpuset");
    }

    #[test]
    fn unknown_parameters_are_left_out_when_false_and_refused_when_true() {
        let known = kernel("14.3-RELEASE", &["allow.vmm"]);
        let ops = start(&cfg(), &spec(), &known, LIMITS).expect("plans");
        let create = lines(&ops).into_iter().find(|l| l.starts_with("jail_set create")).expect("jail_set");
        assert!(!create.contains(" allow.vmm="), "{create}");
        let mut s = spec();
        if let Some(p) = s.params.iter_mut().find(|p| p.name == "allow.vmm") {
            p.value = ParamValue::Bool(true);
        }
        let e = start(&cfg(), &s, &known, LIMITS).expect_err("vmm.ko is not loaded");
        assert_eq!(
            e.to_string(),
            "jail web: parameter allow.vmm = true is not known to this kernel: its module vmm is not loaded; load it with `kldload vmm` (and vmm_load=\"YES\" in /boot/loader.conf), or remove the parameter"
        );
    }

    #[test]
    fn golden_stop_order_and_cleanup_of_a_stopped_jail() {
        let live = LiveJail::from_params(&[JailParam::int("jid", 3), JailParam::str("name", "web")]);
        let m = |t: &str, fs: &str| crate::plan::testing::mount(t, fs, fs, false);
        let mounts = vec![
            m("/usr/local/brig/jails/web/root", "zfs"),
            m("/usr/local/brig/jails/web/root/dev", "devfs"),
            m("/usr/local/brig/jails/web/root/usr/local/www", "nullfs"),
        ];
        let mut ifs = vec![Interface {
            name: "em0".into(),
            up: true,
            addrs: vec!["192.0.2.10/24".parse().expect("a"), "2001:db8::10/64".parse().expect("a")],
        }];
        // Started when the definition still had an address on em1 (and
        // the IPv6 one on em0); its IPv4 address on em0 came later, by
        // hand: not brig's to remove.
        let started = Started {
            aliases: vec![
                Alias { interface: "em1".into(), addr: "192.0.2.99/24".parse().expect("a") },
                Alias { interface: "em0".into(), addr: "2001:db8::10/64".parse().expect("a") },
            ],
            datasets: vec!["zroot/brig/jails/web/data".into()],
            stop: None,
            vnet: None,
            firewall: None,
        };
        ifs.push(Interface { name: "em1".into(), up: true, addrs: vec!["192.0.2.99/24".parse().expect("a")] });
        let rules = vec![rule("jail:web:pcpu:deny=50"), rule("jail:webby:pcpu:deny=50")];
        let seen = StopSeen {
            running: Some(&live),
            dying: None,
            started: Some(&started),
            rules: &rules,
            mounts: &mounts,
            interfaces: &ifs,
        };
        golden("stop.txt", &stop(&cfg(), &spec().name, Some(&spec()), &seen));
        // A definition that no longer reads: the start record says how.
        let recorded = Started {
            stop: Some(StopRecipe { command: "/usr/local/bin/drain".into(), timeout: 30, ..StopRecipe::default() }),
            ..started.clone()
        };
        let l = lines(&stop(&cfg(), &spec().name, None, &StopSeen { started: Some(&recorded), ..seen }));
        assert_eq!(
            &l[..4],
            [
                "exec.stop in web: /usr/local/bin/drain",
                "SIGTERM the processes of web, wait up to 30 s",
                "zfs unjail web zroot/brig/jails/web/data",
                "jail_remove web (jid 3)"
            ]
        );
        assert_eq!(l[4], "rctl -r jail:web:pcpu:deny=50", "no poststop hook: the recipe has none");
        let stopped =
            StopSeen { running: None, dying: None, started: None, rules: &[], mounts: &mounts[..1], interfaces: &[] };
        assert!(stop(&cfg(), &spec().name, Some(&spec()), &stopped).is_empty(), "nothing left to clean");
        // Killed after jail_remove: the next stop waits for the dying jail
        // before it unmounts what it still holds.
        let dying = LiveJail { dying: true, ..live.clone() };
        let interrupted = StopSeen {
            running: None,
            dying: Some(&dying),
            started: None,
            rules: &[],
            mounts: &mounts,
            interfaces: &[],
        };
        assert_eq!(
            lines(&stop(&cfg(), &spec().name, Some(&spec()), &interrupted)),
            vec![
                "wait for the dying jail web (jid 3) to go",
                "umount /usr/local/brig/jails/web/root/usr/local/www",
                "umount /usr/local/brig/jails/web/root/dev",
            ]
        );
    }

    #[test]
    fn mounts_are_grouped_by_the_jail_they_are_in() {
        let m = |t: &str| crate::plan::testing::mount(t, "devfs", "devfs", false);
        let all = vec![
            m("/usr/local/brig/jails/web/root/dev"),
            m("/usr/local/brig/jails/web/root/usr/local/www"),
            m("/usr/local/brig/jails/db/root/dev"),
            m("/usr/local/brig/jails/db/other"),
            m("/usr/local/brig/jails/web"),
            m("/dev"),
        ];
        let g = mounts_by_jail(&cfg(), &all);
        assert_eq!(g.len(), 2);
        assert_eq!(g["web"].len(), 2);
        assert_eq!(g["db"].len(), 1);
    }
}
