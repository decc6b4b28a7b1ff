//! `brig plan` / `brig apply`: what must change for the machine to match a
//! jail's definition. Missing datasets are made; a running jail gets the
//! parameters the kernel lets change (JAIL_UPDATE), its aliases and its
//! mounts; what the kernel only takes at creation is reported as needing a
//! restart, never half-done.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use ipnet::IpNet;
use serde::Serialize;
use thiserror::Error;

use super::dummynet::Pipes;
use super::jail::{
    dataset, delegated, delegated_dataset, jail_dataset, newest_origin, release_origin, root, root_dataset, root_path,
};
use super::run::{aliases_of, delegated_of, mounts, rules_of, Alias, Started, StartedFirewall, StartedVnet};
use super::Op;
use crate::config::HostConfig;
use crate::kernel::params::{lookup, Access};
use crate::kernel::{DatasetInfo, Interface, JailParam, LiveJail, MountEntry, ParamValue};
use crate::model::jail::JailSpec;
use crate::model::jail::JailType;
use crate::model::limits::Bandwidth;
use crate::model::{DatasetName, JailName};

/// A difference a running jail cannot take without a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Restart {
    pub param: String,
    pub from: String,
    pub to: String,
    pub why: &'static str,
}

impl std::fmt::Display for Restart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} -> {} ({})", self.param, self.from, self.to, self.why)
    }
}

/// What `brig apply` would do to one jail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JailPlan {
    pub name: JailName,
    pub running: bool,
    pub ops: Vec<Op>,
    pub restart: Vec<Restart>,
    /// Things brig noticed and deliberately leaves alone.
    pub notes: Vec<Note>,
    /// The plan makes the jail's root (a definition without datasets): a
    /// run killed half-way leaves a root that is there but incomplete, so
    /// it is journaled as a provisioning that recovery takes back whole.
    pub provisions: bool,
}

impl JailPlan {
    /// Nothing to do and nothing waiting for a restart.
    pub fn in_sync(&self) -> bool {
        self.ops.is_empty() && self.restart.is_empty()
    }
}

/// Something a plan leaves alone on purpose, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A thin jail's root is a clone of another release than it names.
    OtherRelease { jail: String, origin: String, release: String },
    /// A running jail whose root dataset is gone.
    RootMissing { jail: String, dataset: String },
    /// Limits defined while racct is off.
    LimitsOff { jail: String },
    /// A mount not in the definition, in a jail that may mount itself.
    JailsOwnMount { fstype: String, source: String, target: String },
    /// A running jail of this name that brig did not start.
    NotBrigs(super::jail::Foreign),
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::OtherRelease { jail, origin, release } => write!(
                f,
                "the root of {jail} is a clone of {origin}, not of {release}: apply does not rebuild a root when `release` changes; run `brig upgrade {jail} --to {release}`"
            ),
            Note::RootMissing { jail, dataset } => {
                write!(f, "{jail} is running without its root dataset {dataset}; stop it first")
            }
            Note::LimitsOff { jail } => write!(
                f,
                "the limits of {jail} are not applied: kern.racct.enable is 0 (add kern.racct.enable=1 to /boot/loader.conf and reboot)"
            ),
            Note::JailsOwnMount { fstype, source, target } => write!(
                f,
                "{fstype} {source} on {target} is not in the definition; left alone because the jail may mount filesystems itself (allow.mount)"
            ),
            Note::NotBrigs(why) => why.fmt(f),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApplyPlanError {
    #[error("jail {jail} has no root dataset and release {release} is not fetched; run `brig release fetch {release}` first")]
    NoRelease { jail: String, release: String },
    #[error("jail {jail}: {addr} is already configured on {interface} and brig did not add it, so brig will neither take it nor ever remove it; choose another address")]
    AddressTaken { jail: String, addr: std::net::IpAddr, interface: String },
}

/// A running jail: its live state and what its definition wants.
pub struct Running<'a> {
    pub jail: &'a LiveJail,
    /// The parameters a start would set (`run::jail_params`).
    pub wanted: &'a [JailParam],
    /// The same parameters as jail_get(2) reports them now.
    pub live: &'a [JailParam],
    /// The record of its start.
    pub started: Option<&'a Started>,
    /// The CPUs it may run on now.
    pub cpus: &'a [u32],
}

/// The machine as `app::observe::machine` read it.
pub struct Seen<'a> {
    pub datasets: &'a BTreeMap<String, DatasetInfo>,
    /// Every jail's rctl rules; None while racct is off.
    pub rules: Option<&'a [crate::kernel::rctl_rules::Rule]>,
    /// hw.ncpu: the CPUs of a jail without `cpus`.
    pub ncpu: u32,
    pub mounts: &'a [MountEntry],
    pub interfaces: &'a [Interface],
    pub running: Option<Running<'a>>,
}

pub fn jail(cfg: &HostConfig, spec: &JailSpec, seen: &Seen) -> Result<JailPlan, ApplyPlanError> {
    let mut plan = JailPlan {
        name: spec.name.clone(),
        running: seen.running.is_some(),
        ops: Vec::new(),
        restart: Vec::new(),
        notes: Vec::new(),
        provisions: false,
    };
    datasets(cfg, spec, seen, &mut plan)?;
    if let Some(r) = &seen.running {
        running(cfg, spec, r, seen, &mut plan)?;
    }
    Ok(plan)
}

/// The jail's dataset, root and delegated datasets, made as `brig create`
/// makes them when they are missing (a definition written by hand, a
/// create that was killed half-way), and their quotas kept as defined.
fn datasets(cfg: &HostConfig, spec: &JailSpec, seen: &Seen, plan: &mut JailPlan) -> Result<(), ApplyPlanError> {
    let root_ds = root_dataset(cfg, &spec.name);
    match seen.datasets.get(root_ds.as_str()) {
        Some(info) => {
            if let (JailType::Thin, Some(r)) = (spec.jail_type, &spec.release) {
                let origin = info.props.get("origin").map_or("-", String::as_str);
                // A clone of another jail (`brig clone`) has that jail's
                // snapshot for origin; only another release is news.
                let of_a_release = origin.starts_with(&format!("{}/", cfg.releases()));
                // Any patch level of its own release is its release.
                let of_its_release = origin.starts_with(&format!("{}@", super::release::dataset(cfg, r)));
                if of_a_release && !of_its_release {
                    plan.notes.push(Note::OtherRelease {
                        jail: spec.name.to_string(),
                        origin: origin.to_string(),
                        release: r.to_string(),
                    });
                }
            }
            let want = [("quota", spec.zfs.quota), ("reservation", spec.zfs.reservation)];
            sync_sizes(&root_ds, info, &want, plan);
        }
        None if seen.running.is_some() => {
            plan.notes.push(Note::RootMissing { jail: spec.name.to_string(), dataset: root_ds.to_string() });
            return Ok(());
        }
        None => {
            if let (JailType::Thin | JailType::Thick, Some(r)) = (spec.jail_type, &spec.release) {
                if !seen.datasets.contains_key(&release_origin(cfg, r)) {
                    return Err(ApplyPlanError::NoRelease { jail: spec.name.to_string(), release: r.to_string() });
                }
            }
            if !seen.datasets.contains_key(dataset(cfg, &spec.name).as_str()) {
                plan.ops.push(jail_dataset(cfg, spec));
            }
            let origin = spec.release.as_ref().map(|r| newest_origin(cfg, r, seen.datasets.keys().map(String::as_str)));
            plan.ops.extend(root(cfg, spec, origin.as_deref().unwrap_or_default()));
            plan.provisions = true;
        }
    }
    for d in &spec.zfs.delegate {
        let name = delegated_dataset(cfg, &spec.name, d);
        match seen.datasets.get(name.as_str()) {
            None => plan.ops.push(delegated(cfg, spec, d)),
            Some(info) => sync_sizes(&name, info, &[("quota", d.quota)], plan),
        }
    }
    Ok(())
}

/// `zfs set` of the size properties that differ from the definition
/// (absent: none, which `zfs get -p` shows as 0).
fn sync_sizes(name: &DatasetName, info: &DatasetInfo, want: &[(&str, Option<u64>)], plan: &mut JailPlan) {
    let mut props = Vec::new();
    for (prop, w) in want {
        let now = info.props.get(*prop).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let w = w.unwrap_or(0);
        if now != w {
            props.push((prop.to_string(), if w == 0 { "none".to_string() } else { w.to_string() }));
        }
    }
    if !props.is_empty() {
        plan.ops.push(Op::SetProps { name: name.clone(), props });
    }
}

/// Why a parameter cannot change on a running jail, if it cannot.
fn needs_restart(name: &str) -> Option<&'static str> {
    if name == "devfs_ruleset" {
        // The kernel would take it, but the jail's /dev keeps the rules it
        // was mounted with: only a restart makes the two agree.
        return Some("its /dev was mounted with the old ruleset");
    }
    match lookup(name) {
        Some(l) if l.def.access == Access::CreateOnly => Some("the kernel sets it only when a jail is created"),
        _ => None,
    }
}

/// Address lists compare as the kernel keeps them: the first address is
/// the primary one, the others are kept sorted.
fn same_value(a: &ParamValue, b: &ParamValue) -> bool {
    fn same_list<T: Ord + Clone>(a: &[T], b: &[T]) -> bool {
        let rest = |v: &[T]| {
            let mut r = v.get(1..).unwrap_or_default().to_vec();
            r.sort();
            r
        };
        a.first() == b.first() && rest(a) == rest(b)
    }
    match (a, b) {
        (ParamValue::Ip4(x), ParamValue::Ip4(y)) => same_list(x, y),
        (ParamValue::Ip6(x), ParamValue::Ip6(y)) => same_list(x, y),
        _ => a == b,
    }
}

fn running(
    cfg: &HostConfig,
    spec: &JailSpec,
    r: &Running,
    seen: &Seen,
    plan: &mut JailPlan,
) -> Result<(), ApplyPlanError> {
    let mut update = Vec::new();
    let mut old = Vec::new();
    for want in r.wanted.iter().filter(|p| p.name != "name") {
        let Some(now) = r.live.iter().find(|p| p.name == want.name) else { continue };
        if same_value(&want.value, &now.value) {
            continue;
        }
        // An address list follows its family's mode: when the mode itself
        // must change, the restart sets both.
        let family = want.name.strip_suffix(".addr");
        if family.is_some_and(|f| plan.restart.iter().any(|x| x.param == f)) {
            continue;
        }
        if let Some(why) = needs_restart(&want.name) {
            plan.restart.push(Restart {
                param: want.name.clone(),
                from: now.value.to_string(),
                to: want.value.to_string(),
                why,
            });
            continue;
        }
        update.push(want.clone());
        old.push(now.clone());
    }
    vnet_changes(spec, r, plan);
    let shaping = shaping_changes(spec, r, plan);
    let (add, remove) = aliases(spec, r, seen.interfaces, &plan.restart)?;
    let (attach, detach) = attachments(cfg, spec, r);
    if !add.is_empty() || !attach.is_empty() {
        // What is about to be added is recorded first, as a start does: a
        // brig killed after adding it leaves it recorded as its own.
        let mut before = r.started.cloned().unwrap_or_default();
        for op in add.iter().chain(&attach) {
            match op {
                Op::AddAlias { interface, addr } => {
                    let a = Alias { interface: interface.clone(), addr: *addr };
                    if !before.aliases.contains(&a) {
                        before.aliases.push(a);
                    }
                }
                Op::AttachDataset { dataset, .. } if !before.datasets.contains(&dataset.to_string()) => {
                    before.datasets.push(dataset.to_string())
                }
                _ => {}
            }
        }
        plan.ops.push(before.write(&spec.name));
    }
    // The record follows what is set up: after changes, and also when it
    // lags behind (a brig killed between adding an alias and writing it).
    let want = Started::of(cfg, spec, pipes_of(r));
    // (Its stop recipe alone is no reason: that one is kept for a
    // definition that stops reading, and a start's is good enough.)
    let lagging = plan.restart.is_empty()
        && r.started.is_some_and(|s| (&s.aliases, &s.datasets) != (&want.aliases, &want.datasets));
    // A pipe's bandwidth changes whatever else waits for a restart.
    let firewall = if plan.restart.is_empty() { [shaping, firewall_changes(spec, r)].concat() } else { shaping };
    let record = lagging
        || !(add.is_empty() && remove.is_empty() && attach.is_empty() && detach.is_empty() && firewall.is_empty());
    let dad = super::run::await_dad(&add);
    plan.ops.extend(add);
    plan.ops.extend(dad);
    if !update.is_empty() {
        plan.ops.push(Op::UpdateJail { name: spec.name.clone(), jid: r.jail.jid, params: update, old });
    }
    plan.ops.extend(remove);
    plan.ops.extend(detach);
    plan.ops.extend(attach);
    plan.ops.extend(firewall);
    if record {
        plan.ops.push(want.write(&spec.name));
    }
    mount_changes(cfg, spec, seen.mounts, plan);
    limit_changes(spec, r, seen, plan);
    Ok(())
}

/// The pipes a running jail's start took, if it has bandwidth limits.
fn pipes_of(r: &Running) -> Option<Pipes> {
    r.started.and_then(|s| s.firewall.as_ref()).and_then(|f| f.shaping).map(|s| s.pipes)
}

/// The jail's pf anchor, changed live in one transaction when its rules
/// differ from what its start (or the last apply) loaded; the record is
/// written after, so a brig killed in between loads them again.
fn firewall_changes(spec: &JailSpec, r: &Running) -> Vec<Op> {
    let want = StartedFirewall::of(spec, pipes_of(r)).map(|f| f.rules);
    let have = r.started.and_then(|s| s.firewall.clone()).map(|f| f.rules);
    if want == have {
        return Vec::new();
    }
    let anchor = super::pf::anchor(&spec.name);
    match (want, have) {
        (Some(rules), h) => vec![Op::LoadAnchor { anchor, rules, old: h.unwrap_or_default() }],
        // Connections the rules let through may go on unfiltered.
        (None, Some(_)) => vec![Op::FlushAnchor { anchor }],
        (None, None) => Vec::new(),
    }
}

/// A running jail's bandwidth changes live: dummynet changes a pipe in
/// place, and the connections pf sends to it follow. Limits added or
/// taken away wait for a restart: a start takes the pipes, and only a
/// stop deletes them, once no connection's state still sends packets to
/// them (dummynet drops what goes to a pipe it does not have).
fn shaping_changes(spec: &JailSpec, r: &Running, plan: &mut JailPlan) -> Vec<Op> {
    let want = spec.shaping().map(|(b, _)| b);
    let have = r.started.and_then(|s| s.firewall.as_ref()).and_then(|f| f.shaping);
    match (want, have) {
        (Some(w), Some(h)) => {
            [(h.pipes.down, w.inbound, h.bandwidth.inbound), (h.pipes.up, w.outbound, h.bandwidth.outbound)]
                .into_iter()
                .filter(|(_, want, had)| want != had)
                .map(|(pipe, bandwidth, old)| Op::ConfigurePipe { pipe, bandwidth, old: Some(old) })
                .collect()
        }
        (None, None) => Vec::new(),
        (w, h) => {
            let show = |b: Option<Bandwidth>| b.map_or_else(|| "-".to_string(), |b| b.to_string());
            plan.restart.push(Restart {
                param: "limits.bandwidth".into(),
                from: show(h.map(|h| h.bandwidth)),
                to: show(w),
                why: "a jail's dummynet pipes are made when it starts and deleted when it stops",
            });
            Vec::new()
        }
    }
}

/// A VNET jail's epair and stack are set up at its start, so any change
/// to them waits for a restart (a change of mode shows as the kernel's
/// create-only `vnet` parameter already).
fn vnet_changes(spec: &JailSpec, r: &Running, plan: &mut JailPlan) {
    let want = StartedVnet::of(spec);
    let have = r.started.and_then(|s| s.vnet.clone());
    if want.is_none() || have.is_none() || want == have {
        return;
    }
    let show = |v: &Option<StartedVnet>| v.as_ref().map_or_else(|| "-".to_string(), ToString::to_string);
    plan.restart.push(Restart {
        param: "network".into(),
        from: show(&have),
        to: show(&want),
        why: "a VNET jail's interface and stack are set up when it starts",
    });
}

/// rctl rules that differ are removed, then the wanted ones added (a
/// deny rule would replace its old amount by itself, and removing that
/// afterwards would find nothing); the cpuset is set when it differs.
fn limit_changes(spec: &JailSpec, r: &Running, seen: &Seen, plan: &mut JailPlan) {
    match seen.rules {
        None if !spec.limits.rules.is_empty() => plan.notes.push(Note::LimitsOff { jail: spec.name.to_string() }),
        None => {}
        Some(rules) => {
            let want: Vec<_> = spec.limits.rules.iter().map(|l| l.rule(&spec.name)).collect();
            let have: Vec<_> = rules_of(&spec.name, rules).collect();
            plan.ops.extend(have.iter().filter(|h| !want.contains(h)).map(|h| Op::RemoveRctl { rule: (*h).clone() }));
            plan.ops.extend(want.iter().filter(|w| !have.contains(w)).map(|w| Op::AddRctl { rule: w.clone() }));
        }
    }
    let all: Vec<u32> = (0..seen.ncpu).collect();
    let want = spec.limits.cpus.as_ref().unwrap_or(&all);
    if r.cpus != want.as_slice() {
        plan.ops.push(Op::PinCpus { jail: spec.name.clone(), cpus: want.clone() });
    }
}

/// Aliases to add (wanted addresses configured nowhere yet) and to
/// remove (addresses the start record says brig added that the
/// definition no longer wants), for the address families whose mode is
/// not waiting for a restart. A wanted address configured on the host but
/// not by brig is refused: brig would take it over, and later remove it.
fn aliases(
    spec: &JailSpec,
    r: &Running,
    interfaces: &[Interface],
    restart: &[Restart],
) -> Result<(Vec<Op>, Vec<Op>), ApplyPlanError> {
    let settled = |a: &IpNet| {
        let family = if a.addr().is_ipv4() { "ip4" } else { "ip6" };
        !restart.iter().any(|r| r.param == family)
    };
    let owner = |a: &IpNet| interfaces.iter().find(|x| x.addrs.iter().any(|y| y.addr() == a.addr()));
    let ours: Vec<Alias> = r.started.map(|s| s.aliases.clone()).unwrap_or_default();
    let same = |a: &Alias, b: &Alias| a.interface == b.interface && a.addr.addr() == b.addr.addr();
    let wanted = aliases_of(spec);
    let mut add = Vec::new();
    // brig's own addresses that move to another interface: taken off the
    // old one before they are added to the new.
    let mut moved: Vec<Alias> = Vec::new();
    for a in wanted.iter().filter(|a| settled(&a.addr)) {
        match owner(&a.addr) {
            None => add.push(Op::AddAlias { interface: a.interface.clone(), addr: a.addr }),
            Some(_) if ours.iter().any(|o| same(o, a)) => {}
            Some(i) if ours.iter().any(|o| o.interface == i.name && o.addr.addr() == a.addr.addr()) => {
                moved.push(Alias { interface: i.name.clone(), addr: a.addr });
                add.push(Op::AddAlias { interface: a.interface.clone(), addr: a.addr });
            }
            Some(i) => {
                return Err(ApplyPlanError::AddressTaken {
                    jail: spec.name.to_string(),
                    addr: a.addr.addr(),
                    interface: i.name.clone(),
                })
            }
        }
    }
    let mut remove: Vec<Op> = Vec::new();
    for (n, g) in ours.iter().enumerate() {
        let first = !ours[..n].iter().any(|h| same(h, g));
        let on = owner(&g.addr).is_some_and(|i| i.name == g.interface);
        let moving = moved.iter().any(|m| same(m, g));
        if first && settled(&g.addr) && !wanted.iter().any(|w| same(w, g)) && on && !moving {
            remove.push(Op::RemoveAlias { interface: g.interface.clone(), addr: g.addr });
        }
    }
    let mut first: Vec<Op> =
        moved.into_iter().map(|m| Op::RemoveAlias { interface: m.interface, addr: m.addr }).collect();
    first.extend(add);
    Ok((first, remove))
}

/// Delegated datasets to attach to the running jail (new in the
/// definition) and to detach (no longer in it; the dataset and its data
/// stay). What is attached comes from the start record.
fn attachments(cfg: &HostConfig, spec: &JailSpec, r: &Running) -> (Vec<Op>, Vec<Op>) {
    let wanted = delegated_of(cfg, spec);
    let attached = r.started.map_or_else(|| wanted.clone(), |s| s.datasets.clone());
    let op = |d: &String, attach: bool| {
        let dataset = DatasetName::parse(d).ok()?;
        let jail = spec.name.clone();
        Some(if attach { Op::AttachDataset { dataset, jail } } else { Op::DetachDataset { dataset, jail } })
    };
    let attach = wanted.iter().filter(|d| !attached.contains(d)).filter_map(|d| op(d, true)).collect();
    let detach = attached.iter().filter(|d| !wanted.contains(d)).filter_map(|d| op(d, false)).collect();
    (attach, detach)
}

/// Mounts inside a running jail's root: the wanted ones that are missing
/// or different are (re)mounted; others are unmounted, unless the jail may
/// mount filesystems itself (`allow.mount`), when brig cannot tell its
/// mounts from the jail's and leaves them.
fn mount_changes(cfg: &HostConfig, spec: &JailSpec, mounted: &[MountEntry], plan: &mut JailPlan) {
    let root = root_path(cfg, &spec.name);
    // The root's own dataset and ZFS datasets mounted inside it (delegated
    // to the jail) are not brig's mounts.
    let inside: Vec<&MountEntry> =
        mounted.iter().filter(|m| m.target.starts_with(&root) && m.target != root && m.fstype != "zfs").collect();
    // By target, so that many mounts stay linear.
    let mut at: HashMap<&Path, Vec<&MountEntry>> = HashMap::new();
    for m in &inside {
        at.entry(m.target.as_path()).or_default().push(m);
    }
    let mut unmount: Vec<&MountEntry> = Vec::new();
    let mut mount = Vec::new();
    let wanted = mounts(cfg, spec);
    let mut wanted_targets = HashSet::new();
    for op in wanted {
        let Op::MountIn { fstype, source, target, readonly, .. } = &op else { continue };
        let full = root.join(target);
        let here = at.get(full.as_path()).map_or(&[][..], Vec::as_slice);
        let matches = |m: &&MountEntry| &m.fstype == fstype && &m.source == source && m.readonly == *readonly;
        if !here.iter().any(matches) {
            // Stacked mounts come off the top first.
            unmount.extend(here.iter().rev().copied());
            mount.extend(super::run::guarded(op.clone()));
        }
        wanted_targets.insert(full);
    }
    let may_mount = spec.params.iter().any(|p| p.name == "allow.mount" && p.value == ParamValue::Bool(true));
    // Newest first, so that of mounts stacked on one target the top one
    // comes off first.
    for m in inside.iter().rev().filter(|m| !wanted_targets.contains(&m.target)) {
        if may_mount {
            plan.notes.push(Note::JailsOwnMount {
                fstype: m.fstype.clone(),
                source: m.source.clone(),
                target: shown(&root, &m.target),
            });
        } else {
            unmount.push(m);
        }
    }
    // Deepest first; a stable sort keeps stacked mounts top first.
    unmount.sort_by_key(|m| std::cmp::Reverse(m.target.components().count()));
    unmount.dedup_by_key(|m| m.fsid);
    plan.ops.extend(unmount.into_iter().map(|m| Op::Unmount { mount: m.clone() }));
    plan.ops.extend(mount);
}

/// A path inside the jail, as the jail sees it.
fn shown(root: &Path, target: &Path) -> String {
    format!("/{}", target.strip_prefix(root).unwrap_or(target).display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{DatasetKind, JailSys};
    use crate::model::network::Network;
    use crate::plan::run::jail_params;
    use crate::plan::testing::{cfg, lines, rule, spec};

    const WEB: &str = "release = \"14.3-RELEASE\"\nhostname = \"web.example.org\"\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.10/24\", \"192.0.2.12/24\", \"192.0.2.11/24\"]\n[[mount]]\nsource = \"/data/www\"\ntarget = \"/usr/local/www\"\nreadonly = true\n";

    fn ds(names: &[(&str, &str)]) -> BTreeMap<String, DatasetInfo> {
        names
            .iter()
            .map(|(n, origin)| {
                let kind = if n.contains('@') { DatasetKind::Snapshot } else { DatasetKind::Filesystem };
                let props = [("origin".to_string(), origin.to_string())].into();
                (n.to_string(), DatasetInfo { name: n.to_string(), kind, props })
            })
            .collect()
    }

    fn made() -> BTreeMap<String, DatasetInfo> {
        ds(&[
            ("zroot/brig/releases/14.3-RELEASE@base", "-"),
            ("zroot/brig/jails/web", "-"),
            ("zroot/brig/jails/web/root", "zroot/brig/releases/14.3-RELEASE@base"),
        ])
    }

    fn m(target: &str, fstype: &str, source: &str, readonly: bool) -> MountEntry {
        crate::plan::testing::mount(target, fstype, source, readonly)
    }

    /// What the kernel and the host look like right after `brig start` of
    /// `text`: live values equal the wanted ones, mounts and aliases made.
    struct Up {
        spec: JailSpec,
        started: Started,
        rules: Option<Vec<crate::kernel::rctl_rules::Rule>>,
        cpus: Vec<u32>,
        live: LiveJail,
        wanted: Vec<JailParam>,
        now: Vec<JailParam>,
        mounts: Vec<MountEntry>,
        interfaces: Vec<Interface>,
    }

    fn up(text: &str) -> Up {
        let spec = spec(text);
        let wanted = jail_params(&cfg(), &spec, &crate::plan::testing::kernel("14.3-RELEASE", &[])).expect("params");
        let root = "/usr/local/brig/jails/web/root";
        let mut live = LiveJail::from_params(&[JailParam::int("jid", 4), JailParam::str("name", "web")]);
        if let Network::Alias { ip4, .. } = &spec.network {
            live.ip4 = ip4.iter().map(|a| a.addr()).collect();
        }
        let web = JailName::parse("web").expect("name");
        Up {
            rules: Some(spec.limits.rules.iter().map(|l| l.rule(&web)).collect()),
            cpus: spec.limits.cpus.clone().unwrap_or_else(|| (0..4).collect()),
            started: Started::of(&cfg(), &spec, None),
            now: wanted.clone(),
            wanted,
            live,
            mounts: vec![
                m(root, "zfs", "zroot/brig/jails/web/root", false),
                m(&format!("{root}/dev"), "devfs", "devfs", false),
                m(&format!("{root}/usr/local/www"), "nullfs", "/data/www", true),
            ],
            interfaces: vec![Interface {
                name: "em0".into(),
                up: true,
                addrs: ["192.0.2.1/24", "192.0.2.10/24", "192.0.2.11/24", "192.0.2.12/24"]
                    .iter()
                    .map(|a| a.parse().expect("addr"))
                    .collect(),
            }],
            spec,
        }
    }

    fn plan_of(u: &Up, datasets: &BTreeMap<String, DatasetInfo>) -> JailPlan {
        plan_jail(u, datasets).expect("plans")
    }

    fn plan_jail(u: &Up, datasets: &BTreeMap<String, DatasetInfo>) -> Result<JailPlan, ApplyPlanError> {
        let seen = Seen {
            datasets,
            rules: u.rules.as_deref(),
            ncpu: 4,
            mounts: &u.mounts,
            interfaces: &u.interfaces,
            running: Some(Running {
                jail: &u.live,
                wanted: &u.wanted,
                live: &u.now,
                started: Some(&u.started),
                cpus: &u.cpus,
            }),
        };
        jail(&cfg(), &u.spec, &seen)
    }

    fn set(params: &mut [JailParam], name: &str, value: ParamValue) {
        if let Some(p) = params.iter_mut().find(|p| p.name == name) {
            p.value = value;
        }
    }

    #[test]
    fn a_jail_that_matches_its_definition_needs_nothing() {
        let mut u = up(WEB);
        // The kernel keeps all but the first address sorted.
        set(
            &mut u.now,
            "ip4.addr",
            ParamValue::Ip4(vec![[192, 0, 2, 10].into(), [192, 0, 2, 11].into(), [192, 0, 2, 12].into()]),
        );
        let p = plan_of(&u, &made());
        assert!(p.in_sync(), "{:?}", lines(&p.ops));
        assert!(p.notes.is_empty());
    }

    #[test]
    fn a_root_of_another_release_is_noted_and_a_clone_of_a_jail_is_not() {
        let u = up(WEB);
        let other = ds(&[
            ("zroot/brig/jails/web", "-"),
            ("zroot/brig/jails/web/root", "zroot/brig/releases/14.2-RELEASE@base"),
        ]);
        assert!(matches!(plan_of(&u, &other).notes.as_slice(), [Note::OtherRelease { .. }]));
        let cloned = ds(&[
            ("zroot/brig/jails/web", "-"),
            ("zroot/brig/jails/web/root", "zroot/brig/jails/box/root@2026-12-06T10:40:00Z"),
        ]);
        assert!(plan_of(&u, &cloned).notes.is_empty(), "made by brig clone");
    }

    #[test]
    fn a_stopped_jail_without_datasets_is_made_as_create_makes_it() {
        let s = spec(WEB);
        let seen = Seen {
            datasets: &ds(&[("zroot/brig/releases/14.3-RELEASE@base", "-")]),
            rules: Some(&[]),
            ncpu: 4,
            mounts: &[],
            interfaces: &[],
            running: None,
        };
        let p = jail(&cfg(), &s, &seen).expect("plans");
        // Exactly what `brig create` does, but for writing the definition.
        let mut created = crate::plan::jail::create(&cfg(), &s, "", "zroot/brig/releases/14.3-RELEASE@base");
        assert!(matches!(created.pop(), Some(Op::WriteFile { .. })));
        assert_eq!(p.ops, created);
        // The release's newest patch level, once `release update` made one.
        let half = ds(&[
            ("zroot/brig/releases/14.3-RELEASE@base", "-"),
            ("zroot/brig/releases/14.3-RELEASE@p5", "-"),
            ("zroot/brig/jails/web", "-"),
        ]);
        let p = jail(&cfg(), &s, &Seen { datasets: &half, running: None, ..seen }).expect("plans");
        assert_eq!(p.ops[0].to_string(), "zfs clone zroot/brig/releases/14.3-RELEASE@p5 zroot/brig/jails/web/root");
        let none = ds(&[]);
        assert_eq!(
            jail(&cfg(), &s, &Seen { datasets: &none, ..seen }),
            Err(ApplyPlanError::NoRelease { jail: "web".into(), release: "14.3-RELEASE".into() })
        );
    }

    #[test]
    fn changeable_parameters_are_updated_live_in_one_call() {
        let u = up(&WEB.replace("web.example.org", "www.example.org"));
        let mut u2 = up(WEB);
        u2.wanted = u.wanted.clone();
        set(&mut u2.now, "securelevel", ParamValue::Int(3));
        let p = plan_of(&u2, &made());
        assert_eq!(lines(&p.ops), vec!["jail_set update web host.hostname=www.example.org securelevel=2"]);
        assert!(p.restart.is_empty());
        let Op::UpdateJail { old, jid, .. } = &p.ops[0] else { panic!("an update") };
        assert_eq!(*jid, 4);
        assert_eq!(old[0].value, ParamValue::Str("web.example.org".into()));
    }

    #[test]
    fn create_only_and_start_time_parameters_need_a_restart() {
        let mut u = up(WEB);
        set(&mut u.now, "ip4", ParamValue::JailSys(JailSys::Inherit));
        set(&mut u.now, "ip4.addr", ParamValue::Ip4(vec![[192, 0, 2, 1].into()]));
        set(&mut u.now, "devfs_ruleset", ParamValue::Int(0));
        set(&mut u.now, "path", ParamValue::Str("/elsewhere".into()));
        let p = plan_of(&u, &made());
        let r: Vec<String> = p.restart.iter().map(ToString::to_string).collect();
        assert_eq!(
            r,
            vec![
                "path /elsewhere -> /usr/local/brig/jails/web/root (the kernel sets it only when a jail is created)",
                "ip4 inherit -> new (the kernel sets it only when a jail is created)",
                "devfs_ruleset 0 -> 4 (its /dev was mounted with the old ruleset)",
            ]
        );
        assert!(p.ops.is_empty(), "no half change while a restart is pending: {:?}", lines(&p.ops));
    }

    #[test]
    fn address_changes_add_aliases_first_and_remove_them_last() {
        let mut u = up(&WEB.replace("\"192.0.2.12/24\", ", ""));
        let was = up(WEB);
        (u.now, u.live, u.started) = (was.now, was.live, was.started);
        u.interfaces[0].addrs.retain(|a| a.addr().to_string() != "192.0.2.11");
        let p = plan_of(&u, &made());
        assert_eq!(
            lines(&p.ops),
            vec![
                "write /var/db/brig/started/web.json (mode 600)",
                "ifconfig em0 inet 192.0.2.11/24 alias",
                "jail_set update web ip4.addr=192.0.2.10,192.0.2.11",
                "ifconfig em0 192.0.2.12 -alias",
                "write /var/db/brig/started/web.json (mode 600)",
            ]
        );
        // Moved to another interface: the recorded aliases leave the old
        // one before they are added to the new.
        let mut moved = up(&WEB.replace("em0", "em1"));
        moved.started = up(WEB).started;
        moved.interfaces.push(Interface { name: "em1".into(), up: true, addrs: Vec::new() });
        let l = lines(&plan_of(&moved, &made()).ops);
        assert_eq!(l[0], "write /var/db/brig/started/web.json (mode 600)");
        assert_eq!(
            l[1..7],
            [
                "ifconfig em0 192.0.2.10 -alias",
                "ifconfig em0 192.0.2.12 -alias",
                "ifconfig em0 192.0.2.11 -alias",
                "ifconfig em1 inet 192.0.2.10/24 alias",
                "ifconfig em1 inet 192.0.2.12/24 alias",
                "ifconfig em1 inet 192.0.2.11/24 alias",
            ]
        );
        assert_eq!(l.len(), 8, "{l:?}");
        // The host's own address, or one another tool added, is refused.
        let mut taken = up(&WEB.replace("\"192.0.2.12/24\"", "\"192.0.2.1/24\""));
        taken.started = up(WEB).started;
        let e = plan_jail(&taken, &made()).expect_err("192.0.2.1 is em0's");
        assert_eq!(
            e.to_string(),
            "jail web: 192.0.2.1 is already configured on em0 and brig did not add it, so brig will neither take it nor ever remove it; choose another address"
        );
    }

    #[test]
    fn mounts_are_added_changed_and_removed() {
        let mut u = up(&WEB.replace("readonly = true", "readonly = false"));
        let root = "/usr/local/brig/jails/web/root";
        u.mounts.retain(|e| e.fstype != "devfs");
        u.mounts.push(m(&format!("{root}/mnt"), "tmpfs", "tmpfs", false));
        u.mounts.push(m(&format!("{root}/mnt/deep"), "nullfs", "/x", false));
        let p = plan_of(&u, &made());
        assert_eq!(
            lines(&p.ops),
            vec![
                "umount /usr/local/brig/jails/web/root/usr/local/www",
                "umount /usr/local/brig/jails/web/root/mnt/deep",
                "umount /usr/local/brig/jails/web/root/mnt",
                "check that devfs ruleset 4 is loaded",
                "mount -t devfs -o ruleset=4 devfs /dev in zroot/brig/jails/web/root",
                "mount -t nullfs /data/www /usr/local/www in zroot/brig/jails/web/root",
            ]
        );
        let mut allowed = up(&format!("{WEB}[params]\n\"allow.mount\" = true\n"));
        allowed.mounts.push(m(&format!("{root}/mnt"), "tmpfs", "tmpfs", false));
        let p = plan_of(&allowed, &made());
        assert!(p.ops.is_empty(), "{:?}", lines(&p.ops));
        assert_eq!(p.notes.len(), 1);
        assert!(p.notes[0].to_string().starts_with("tmpfs tmpfs on /mnt is not in the definition"), "{}", p.notes[0]);
    }

    #[test]
    fn a_root_cloned_from_another_release_is_noted_not_rebuilt() {
        let u = up(&WEB.replace("14.3-RELEASE", "14.2-RELEASE"));
        let mut d = made();
        d.extend(ds(&[("zroot/brig/releases/14.2-RELEASE@base", "-")]));
        let p = plan_of(&u, &d);
        assert!(p.ops.is_empty());
        assert!(p.notes[0]
            .to_string()
            .contains("is a clone of zroot/brig/releases/14.3-RELEASE@base, not of 14.2-RELEASE"));
    }

    #[test]
    fn limits_change_live_old_rules_first() {
        let limits = "[limits]\nmaxproc = 100\nmemoryuse = \"1G\"\n";
        let mut u = up(&format!("{WEB}{}", limits.replace("100", "200")));
        u.rules = Some(vec![
            rule("jail:web:memoryuse:deny=1073741824"),
            rule("jail:web:maxproc:deny=100"),
            rule("jail:web:openfiles:deny=10"),
            rule("jail:webby:maxproc:deny=100"),
        ]);
        u.cpus = vec![0, 1];
        let p = plan_of(&u, &made());
        assert_eq!(
            lines(&p.ops),
            vec![
                "rctl -r jail:web:maxproc:deny=100",
                "rctl -r jail:web:openfiles:deny=10",
                "rctl -a jail:web:maxproc:deny=200",
                "cpuset -l 0-3 -j web",
            ]
        );
        let mut off = up(&format!("{WEB}{limits}"));
        off.rules = None;
        let p = plan_of(&off, &made());
        assert!(p.ops.is_empty());
        assert!(matches!(&p.notes[0], Note::LimitsOff { jail } if jail == "web"), "{:?}", p.notes);
    }
}
