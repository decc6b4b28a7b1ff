//! `snapshot`, `snapshot list`, `snapshot destroy` and `rollback`: a
//! jail's whole dataset tree at one instant, and back to it.

use serde::Serialize;

use super::guard::guard;
use super::run::RunRequest;
use super::select::Names;
use super::{Error, NotFound, Refused, Report};
use crate::host::{Errno, Host};
use crate::model::snapshot::SnapshotName;
use crate::model::JailName;
use crate::plan::jail as jail_plan;
use crate::plan::snapshot::{self as plan, JailSnapshot, RollbackRefusal, Tree};

/// The jail's tree as `zfs list` shows it; a jail without a dataset does
/// not exist.
pub(super) fn tree(host: &dyn Host, cfg: &crate::config::HostConfig, name: &JailName) -> Result<Tree, Error> {
    match host.zfs_list(jail_plan::dataset(cfg, name).as_str(), plan::PROPS) {
        Ok(list) => Ok(Tree::read(&list)),
        Err(e) if e.errno == Errno::ENOENT => Err(NotFound::Nothing(name.clone()).into()),
        Err(e) => Err(e.into()),
    }
}

/// Takes snapshot `snap` (default: the time now, in UTC) of every
/// dataset of jail `name` in one call, so all are of one instant; a
/// running jail's files are as a power cut would leave them.
pub fn take(
    host: &mut dyn Host,
    name: &JailName,
    snap: Option<SnapshotName>,
    report: &dyn Report,
) -> Result<SnapshotName, Error> {
    let cfg = super::config(host)?;
    let _lock = guard(host, &cfg, &[name], report)?;
    let tree = tree(host, &cfg, name)?;
    take_locked(host, &cfg, name, &tree, snap)
}

/// The user property on the snapshot of the dataset holding a jail that
/// says which release its definition named then: a rollback to it across
/// a release change is refused.
pub const RELEASE_PROP: &str = "brig:release";

/// Takes snapshot `snap` (default: the time now) of every dataset of
/// `tree`, jail `name`'s, whose lock the caller holds.
pub fn take_locked(
    host: &mut dyn Host,
    cfg: &crate::config::HostConfig,
    name: &JailName,
    tree: &Tree,
    snap: Option<SnapshotName>,
) -> Result<SnapshotName, Error> {
    let snap = match snap {
        Some(s) => s,
        // Two in one second (a live migration takes two): the second
        // numbered.
        None => tree.free(&SnapshotName::at(super::now()))?,
    };
    if tree.taken(&snap) {
        return Err(Refused::SnapshotExists { jail: name.clone(), snap }.into());
    }
    let members = tree.members(&snap);
    host.zfs_snapshot(&members.iter().map(String::as_str).collect::<Vec<_>>())?;
    let release = super::select::defined(host, cfg, name).ok().and_then(|s| s.release);
    if let (Some(r), Some(top)) = (release, tree.container()) {
        host.zfs_set(&format!("{top}@{snap}"), &[(RELEASE_PROP.into(), r.to_string())])?;
    }
    Ok(snap)
}

/// A jail's snapshots, oldest first.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct JailSnapshots {
    pub jail: String,
    pub snapshots: Vec<JailSnapshot>,
}

/// The snapshots of jail `name`, or of every jail brig keeps: one `zfs
/// list` of the jails dataset.
pub fn list(host: &dyn Host, name: Option<&JailName>) -> Result<Vec<JailSnapshots>, Error> {
    let cfg = super::config(host)?;
    if let Some(n) = name {
        return Ok(vec![JailSnapshots { jail: n.to_string(), snapshots: tree(host, &cfg, n)?.snapshots }]);
    }
    let jails = cfg.jails();
    let list = host.zfs_list(jails.as_str(), plan::PROPS)?;
    let prefix = format!("{jails}/");
    // Each jail's part of the listing (zfs lists a tree depth first, a
    // dataset's snapshots after it).
    let mut by_jail: std::collections::BTreeMap<String, Vec<crate::kernel::DatasetInfo>> = Default::default();
    for d in list {
        let Some(rest) = d.name.strip_prefix(&prefix) else { continue };
        let jail = rest.split(['/', '@']).next().unwrap_or(rest).to_string();
        by_jail.entry(jail).or_default().push(d);
    }
    Ok(by_jail.into_iter().map(|(jail, list)| JailSnapshots { jail, snapshots: Tree::read(&list).snapshots }).collect())
}

/// Destroys snapshot `snap` of every dataset of jail `name`, all in one
/// call, or none; refused while a clone needs it.
pub fn destroy(host: &mut dyn Host, name: &JailName, snap: &SnapshotName, report: &dyn Report) -> Result<(), Error> {
    let cfg = super::config(host)?;
    let _lock = guard(host, &cfg, &[name], report)?;
    let tree = tree(host, &cfg, name)?;
    let Some(found) = tree.find(snap) else { return Err(no_such(name, snap, &tree)) };
    if !found.clones.is_empty() {
        return Err(Refused::SnapshotCloned {
            jail: name.clone(),
            snaps: vec![snap.to_string()],
            clones: found.clones.clone(),
        }
        .into());
    }
    let present = tree.present(snap);
    host.zfs_destroy_snapshots(&present.iter().map(String::as_str).collect::<Vec<_>>())?;
    Ok(())
}

fn no_such(name: &JailName, snap: &SnapshotName, tree: &Tree) -> Error {
    let have = tree.snapshots.iter().map(|s| s.name.clone()).collect();
    Refused::NoSnapshot { jail: name.clone(), snap: snap.clone(), have }.into()
}

/// Jail `name`'s snapshot `s`, which must cover its whole `tree`: what
/// an export or a clone is made from.
pub fn whole(name: &JailName, tree: &Tree, s: SnapshotName) -> Result<SnapshotName, Error> {
    let Some(found) = tree.find(&s) else { return Err(no_such(name, &s, tree)) };
    if !found.missing.is_empty() {
        return Err(Refused::SnapshotIncomplete { jail: name.clone(), snap: s, missing: found.missing.clone() }.into());
    }
    Ok(s)
}

/// How `rollback` goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RollbackOptions {
    /// Stop the jail if it runs, and start it after.
    pub restart: bool,
    /// Destroy the later snapshots a rollback must take.
    pub force: bool,
}

/// What a rollback did.
#[derive(Debug, Serialize)]
pub struct RolledBack {
    /// The later snapshots it destroyed.
    pub destroyed: Vec<String>,
    pub started: bool,
}

/// Rolls every dataset of jail `name` back to `snap`. Everything is
/// checked before anything changes: the snapshot covers the whole tree,
/// later snapshots go only with `force` (and never while a clone needs
/// them), a running jail only with `restart`. A rollback killed half-way
/// is finished by running it again: the later snapshots are gone, and a
/// dataset already rolled back is rolled back again to the same state.
pub fn rollback(
    host: &mut dyn Host,
    name: &JailName,
    snap: &SnapshotName,
    how: RollbackOptions,
    report: &dyn Report,
) -> Result<RolledBack, Error> {
    let cfg = super::config(host)?;
    let plan = {
        let _lock = guard(host, &cfg, &[name], report)?;
        let tree = tree(host, &cfg, name)?;
        let plan = plan::rollback(&tree, snap, how.force).map_err(|r| refusal(name, snap, &tree, r))?;
        // Its files would be another release's than its definition names.
        let now = super::select::defined(host, &cfg, name)?.release;
        if let (Some(top), Some(now)) = (tree.container(), now) {
            let was = host.zfs_get(&format!("{top}@{snap}"), &[RELEASE_PROP])?.remove(RELEASE_PROP);
            if let Some(was) = was.filter(|w| *w != now.to_string()) {
                return Err(Refused::RollbackAcrossRelease { jail: name.clone(), snap: snap.clone(), was, now }.into());
            }
        }
        if let (Some(j), false) = (host.jail_find(name.as_str())?, how.restart) {
            return Err(Refused::RollbackRunning { jail: name.clone(), jid: j.jid }.into());
        }
        plan
    };
    let one =
        || RunRequest { names: Names { names: vec![name.to_string()], all: false }, dry_run: false, no_limits: false };
    if how.restart && host.jail_find(name.as_str())?.is_some() {
        super::run::stop(host, &one(), report)?;
    }
    {
        let _lock = guard(host, &cfg, &[name], report)?;
        if let Some(j) = host.jail_find(name.as_str())? {
            // Started meanwhile by another brig.
            return Err(Refused::RollbackRunning { jail: name.clone(), jid: j.jid }.into());
        }
        if !plan.destroy.is_empty() {
            host.zfs_destroy_snapshots(&plan.destroy.iter().map(String::as_str).collect::<Vec<_>>())?;
        }
        for s in &plan.rollback {
            host.zfs_rollback(s)?;
        }
    }
    if how.restart {
        super::run::start(host, &one(), report)?;
    }
    Ok(RolledBack { destroyed: plan.later, started: how.restart })
}

fn refusal(name: &JailName, snap: &SnapshotName, tree: &Tree, r: RollbackRefusal) -> Error {
    let jail = name.clone();
    let snap_ = snap.clone();
    match r {
        RollbackRefusal::NoSuch { .. } => no_such(name, snap, tree),
        RollbackRefusal::Incomplete { missing } => Refused::SnapshotIncomplete { jail, snap: snap_, missing }.into(),
        RollbackRefusal::Later { later } => Refused::LaterSnapshots { jail, snap: snap_, later }.into(),
        RollbackRefusal::Cloned { clones } => {
            let snaps = tree.snapshots.iter().filter(|s| !s.clones.is_empty()).map(|s| s.name.clone()).collect();
            Refused::SnapshotCloned { jail, snaps, clones }.into()
        }
    }
}

/// `snapshot prune`: each jail's automatic snapshot when it is due, and
/// its automatic snapshots past `keep` destroyed, in one call each
/// (`[snapshots]` of its definition). Every jail with `[snapshots]` when
/// none is named (one that fails does not stop the others); a named jail
/// without it is refused.
pub fn prune(host: &mut dyn Host, names: &Names, dry_run: bool, report: &dyn Report) -> Result<(), Error> {
    let cfg = super::config(host)?;
    let targets = super::select::targets(host, names)?;
    let (specs, mut failed) = super::select::load(host, &cfg, targets, names.all, report)?.every_valid();
    let specs: Vec<_> = specs.into_iter().filter(|s| !names.all || s.snapshots.is_some()).collect();
    let total = specs.len() + failed.len();
    let now = super::now();
    for spec in &specs {
        let outcome = match spec.snapshots {
            None => Err(Refused::NoRetention { jail: spec.name.clone() }.into()),
            Some(r) => prune_one(host, &cfg, &spec.name, r, now, dry_run, report),
        };
        if let Err(e) = outcome {
            report.event(&super::Event::Failed { jail: &spec.name, error: &e });
            failed.push((spec.name.clone(), e));
        }
    }
    match (total, failed.pop()) {
        (_, None) => Ok(()),
        (1, Some((_, e))) => Err(e),
        (_, Some(last)) => {
            failed.push(last);
            Err(super::Batch { verb: Some(super::Verb::Prune), total, failed }.into())
        }
    }
}

fn prune_one(
    host: &mut dyn Host,
    cfg: &crate::config::HostConfig,
    name: &JailName,
    retention: crate::model::snapshot::Retention,
    now: u64,
    dry_run: bool,
    report: &dyn Report,
) -> Result<(), Error> {
    let _lock = if dry_run { Vec::new() } else { guard(host, cfg, &[name], report)? };
    let tree = tree(host, cfg, name)?;
    let plan = plan::prune(&tree, retention, now);
    if !dry_run {
        if let Some(t) = &plan.take {
            take_locked(host, cfg, name, &tree, Some(SnapshotName::parse(t)?))?;
        }
        let mut old = Vec::new();
        for s in &plan.destroy {
            old.extend(tree.present(&SnapshotName::parse(s)?));
        }
        if !old.is_empty() {
            host.zfs_destroy_snapshots(&old.iter().map(String::as_str).collect::<Vec<_>>())?;
        }
    }
    report.event(&super::Event::Pruned { jail: name, prune: &plan, dry_run });
    Ok(())
}
