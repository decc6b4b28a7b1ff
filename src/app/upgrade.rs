//! `brig upgrade`: a jail brought to its release's newest patch level
//! (`--patch`, the default) or to another release (`--to`), reversibly.
//!
//! A thin jail stays thin: a fresh clone of the target release snapshot
//! (`root.next`) gets the jail's own changes (what `zfs diff` says
//! changed since the release snapshot its root came from), with /etc
//! merged three ways; then the roots are switched and the old one is
//! kept as `root.prev` for `--rollback`. A thick jail is brought up to
//! date in place by freebsd-update, after a snapshot it is rolled back
//! to on any failure. Each jail's upgrade is journaled: a killed one is
//! finished or taken back by the next command that takes the jail.

use std::path::PathBuf;

use serde::Serialize;

use super::carry::carry;
use super::guard::guard;
use super::lifecycle::{start_alone, stop_under_entry, Surroundings};
use super::{Error, Recovery, Refused, Report};
use crate::config::{edit, jail, ConfigError, HostConfig};
use crate::host::{Errno, Host};
use crate::model::jail::{JailSpec, JailType};
use crate::model::snapshot::SnapshotName;
use crate::model::version::{newest_snapshot, Version};
use crate::model::{JailName, ReleaseName};
use crate::plan::jail::{root_dataset, root_path, root_props};
use crate::plan::release as release_plan;
use crate::plan::upgrade::{next_root, previous_root, SNAPSHOT_PREFIX};
use crate::state::journal::{self, UpgradeEntry};
use crate::state::layout::definition_path;

/// The user property on an upgraded root naming the release it is of,
/// so a killed upgrade's definition can be brought in line with it.
const ROOT_RELEASE_PROP: &str = "brig:release";

/// The newest level of a release: its snapshot and the version in it.
#[derive(Debug, Clone, Serialize)]
pub struct Level {
    /// `<root>/releases/R@pN`
    pub snapshot: String,
    pub version: Version,
}

/// The version in a root's `/bin/freebsd-version` (a path of the machine),
/// read without running it; None when it has none that reads.
pub fn userland(host: &dyn Host, root: &std::path::Path) -> Option<Version> {
    crate::release::userland(&host.open_root(root).ok()?).ok().flatten()
}

/// The newest level of release `r`: its newest snapshot (`base`, `p1`,
/// ...) and the version its files say. NotFound when it is not fetched.
pub fn level(host: &dyn Host, cfg: &HostConfig, r: &ReleaseName) -> Result<Level, Error> {
    super::release::refuse_interrupted(host, cfg, r)?;
    let dataset = release_plan::dataset(cfg, r);
    let list = match host.zfs_list(dataset.as_str(), &[]) {
        Ok(l) => l,
        Err(e) if e.errno == Errno::ENOENT => return Err(Refused::ReleaseMissing(r.clone()).into()),
        Err(e) => return Err(e.into()),
    };
    let prefix = format!("{dataset}@");
    let names = list.iter().filter_map(|d| d.name.strip_prefix(&prefix));
    let Some(newest) = newest_snapshot(names) else { return Err(Refused::ReleaseMissing(r.clone()).into()) };
    let snapshot = format!("{prefix}{newest}");
    let files = host.zfs_snapshot_files(&snapshot)?;
    let version = crate::state::beneath::Root::open(&files)
        .ok()
        .and_then(|root| crate::release::userland(&root).ok().flatten())
        .ok_or_else(|| Refused::NoUserland {
            what: format!("release {r}"),
            path: files.join(crate::release::VERSION_FILE),
        })?;
    Ok(Level { snapshot, version })
}

/// Where to take jails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The newest patch level of the release each names.
    Patch,
    /// Another release, which must be fetched.
    To(ReleaseName),
}

#[derive(Debug, Clone)]
pub struct UpgradeRequest {
    pub target: Target,
    /// Stop a running jail around the switch and start it again.
    pub restart: bool,
    pub dry_run: bool,
    /// Then the jail's packages (`pkg -j JID upgrade -y`): it must run.
    pub packages: bool,
}

/// How one jail's upgrade ended.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Upgraded {
        from: String,
        to: String,
        /// Entries of the jail's own carried onto the new root (thin).
        carried: Option<usize>,
        merged: Vec<String>,
        kept: Vec<String>,
        /// The snapshot taken first.
        snapshot: String,
        /// Its packages were upgraded too.
        packages: bool,
    },
    /// What a dry run would do.
    Would { from: String, to: String },
    Unchanged {
        version: String,
        /// Its packages were upgraded.
        packages: bool,
    },
}

/// Upgrades one jail, whose lock is not held: it is taken here.
pub fn upgrade(
    host: &mut dyn Host,
    name: &JailName,
    req: &UpgradeRequest,
    report: &dyn Report,
) -> Result<Outcome, Error> {
    let cfg = super::config(host)?;
    let _lock = if req.dry_run { Vec::new() } else { guard(host, &cfg, &[name], report)? };
    let spec = super::select::defined(host, &cfg, name)?;
    let Some(release) = spec.release.clone().filter(|_| spec.jail_type != JailType::Empty) else {
        return Err(Refused::NotUpgradable { jail: name.clone() }.into());
    };
    let target_release = match &req.target {
        Target::Patch => release.clone(),
        Target::To(r) => r.clone(),
    };
    super::release::refuse_newer_than_kernel(host, &target_release)?;
    let target = level(host, &cfg, &target_release)?;
    let root = root_path(&cfg, name);
    let current = userland(host, &root).ok_or_else(|| Refused::NoUserland {
        what: format!("jail {name}"),
        path: host.local_path(&root.join(crate::release::VERSION_FILE)),
    })?;
    let running = host.jail_find(name.as_str())?;
    if req.packages && running.is_none() {
        return Err(Refused::PackagesNeedRunning { jail: name.clone() }.into());
    }
    if current == target.version {
        if req.packages && !req.dry_run {
            upgrade_packages(host, name)?;
        }
        return Ok(Outcome::Unchanged { version: current.to_string(), packages: req.packages });
    }
    if current.number() > target.version.number()
        || (current.release == target.version.release && current.patch > target.version.patch)
    {
        return Err(Refused::Downgrade {
            jail: name.clone(),
            from: current.to_string(),
            to: target.version.to_string(),
        }
        .into());
    }
    if let (Some(j), false) = (&running, req.restart) {
        return Err(Refused::UpgradeRunning { jail: name.clone(), jid: j.jid }.into());
    }
    if spec.jail_type == JailType::Thick && target_release != release {
        return Err(Refused::ThickAcrossReleases { jail: name.clone(), release: target_release }.into());
    }
    if req.dry_run {
        return Ok(Outcome::Would { from: current.to_string(), to: target.version.to_string() });
    }
    let tree = super::snapshot::tree(host, &cfg, name)?;
    let snap = snapshot_name(&tree, &current)?;
    let mut progress = UpgradeEntry { snapshot: snap.to_string(), restart: running.is_some(), done: false };
    let entry = journal::begin_upgrade(host, name, progress.clone())?;
    if running.is_some() {
        let around = Surroundings::read(host, &cfg)?;
        stop_under_entry(host, &cfg, name, Some(&spec), &around, report)?;
    }
    // Taken stopped, so that it holds everything the jail wrote.
    let done =
        super::snapshot::take_locked(host, &cfg, name, &tree, Some(snap.clone())).and_then(|_| match spec.jail_type {
            JailType::Thick => in_place(host, &cfg, name, &release, &current, &target.version),
            _ => rebuild(host, &cfg, &spec, &snap, &target, &target_release),
        });
    let (carried, merged, kept) = match done {
        Ok(d) => d,
        Err(e) => {
            // Back as it was, then the failure.
            take_back(host, &cfg, &spec, &snap)?;
            if running.is_some() {
                start_alone(host, &cfg, &spec, &[], report)?;
            }
            entry.finish(host)?;
            return Err(e);
        }
    };
    progress.done = true;
    entry.record(host, progress)?;
    if running.is_some() {
        let spec = super::select::defined(host, &cfg, name)?;
        start_alone(host, &cfg, &spec, &[], report)?;
        if req.packages {
            if let Err(e) = upgrade_packages(host, name) {
                // The base back too: the jail as it was before.
                let around = Surroundings::read(host, &cfg)?;
                stop_under_entry(host, &cfg, name, Some(&spec), &around, report)?;
                if spec.jail_type != JailType::Thick {
                    swap_back(host, &cfg, name)?;
                }
                take_back(host, &cfg, &spec, &snap)?;
                let spec = super::select::defined(host, &cfg, name)?;
                start_alone(host, &cfg, &spec, &[], report)?;
                entry.finish(host)?;
                return Err(e);
            }
        }
    }
    entry.finish(host)?;
    Ok(Outcome::Upgraded {
        from: current.to_string(),
        to: target.version.to_string(),
        carried,
        merged,
        kept,
        snapshot: snap.to_string(),
        packages: req.packages,
    })
}

/// `pkg -j JID upgrade -y`: the running jail's packages, from its own
/// repositories; a failure is the upgrade's.
fn upgrade_packages(host: &mut dyn Host, name: &JailName) -> Result<(), Error> {
    let args = ["upgrade".to_string(), "-y".to_string()];
    let out = super::enter::pkg(host, name, &args, crate::host::Stdio::Capture)?;
    if out.status != 0 {
        let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
        let last: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        return Err(Refused::UpdateFailed {
            tool: "pkg upgrade",
            what: format!("the packages of jail {name}"),
            output: format!("{} (exit status {})", last[last.len().saturating_sub(4)..].join(" "), out.status),
        }
        .into());
    }
    Ok(())
}

/// `upgrade-from-VERSION` (numbered when a rolled-back upgrade left one):
/// the snapshot before the upgrade says what it holds.
fn snapshot_name(tree: &crate::plan::snapshot::Tree, current: &Version) -> Result<SnapshotName, Error> {
    Ok(tree.free(&SnapshotName::parse(&format!("{SNAPSHOT_PREFIX}from-{current}"))?)?)
}

type Done = (Option<usize>, Vec<String>, Vec<String>);

/// A thick jail: its release's update tool on its root.
fn in_place(
    host: &mut dyn Host,
    cfg: &HostConfig,
    name: &JailName,
    release: &ReleaseName,
    current: &Version,
    want: &Version,
) -> Result<Done, Error> {
    let root = root_path(cfg, name);
    super::release::update_root(host, cfg, release, &root, current, &format!("jail {name}"))?;
    // At least the level its release has: the tool may have found a newer.
    match userland(host, &root) {
        Some(v) if v.release == want.release && v.patch >= want.patch => Ok((None, Vec::new(), Vec::new())),
        got => Err(Refused::UpgradeCheck {
            jail: name.clone(),
            want: want.to_string(),
            got: got.map_or_else(|| "none".into(), |v| v.to_string()),
        }
        .into()),
    }
}

/// freebsd-update's working directory for a release, made if missing.
pub fn workdir(host: &dyn Host, cfg: &HostConfig, release: &str) -> Result<PathBuf, Error> {
    let dir = cfg.mountpoint.join("cache").join("freebsd-update").join(release);
    host.make_dirs(&dir, 0o700).map_err(|e| ConfigError::io(host.local_path(&dir), e))?;
    Ok(dir)
}

/// A thin jail: `root.next` cloned from the target snapshot, the jail's
/// changes carried onto it, its version checked, then switched in.
fn rebuild(
    host: &mut dyn Host,
    cfg: &HostConfig,
    spec: &JailSpec,
    snap: &SnapshotName,
    target: &Level,
    target_release: &ReleaseName,
) -> Result<Done, Error> {
    let name = &spec.name;
    let root = root_dataset(cfg, name);
    let origin =
        release_origin(host, cfg, root.as_str())?.ok_or_else(|| Refused::NotUpgradable { jail: name.clone() })?;
    let next = next_root(cfg, name);
    if super::observe::dataset_exists(host, next.as_str())? {
        host.zfs_destroy(next.as_str(), true)?;
    }
    let mut props = root_props(spec);
    props.push((ROOT_RELEASE_PROP.into(), target_release.to_string()));
    host.zfs_clone(&target.snapshot, next.as_str(), &props)?;
    let next_path = super::release::mountpoint(host, next.as_str())?;
    let carried = carry(host, &origin, &format!("{root}@{snap}"), &next_path, true)?;
    if !carried.conflicts.is_empty() {
        return Err(Refused::UpgradeConflicts { jail: name.clone(), files: carried.conflicts }.into());
    }
    let got = userland(host, &next_path);
    if got.as_ref() != Some(&target.version) {
        return Err(Refused::UpgradeCheck {
            jail: name.clone(),
            want: target.version.to_string(),
            got: got.map_or_else(|| "none".into(), |v| v.to_string()),
        }
        .into());
    }
    switch(host, cfg, name)?;
    set_release(host, cfg, name, target_release)?;
    Ok((Some(carried.changes), carried.merged, carried.kept))
}

/// `root` becomes `root.prev` (an older one goes) and `root.next` becomes
/// `root`.
fn switch(host: &mut dyn Host, cfg: &HostConfig, name: &JailName) -> Result<(), Error> {
    let (root, next, prev) = (root_dataset(cfg, name), next_root(cfg, name), previous_root(cfg, name));
    if super::observe::dataset_exists(host, prev.as_str())? {
        host.zfs_destroy(prev.as_str(), true)?;
    }
    host.zfs_rename(root.as_str(), prev.as_str())?;
    host.zfs_rename(next.as_str(), root.as_str())?;
    Ok(())
}

/// The definition's `release`, written in place (every other key and
/// comment kept); nothing when it already says so.
fn set_release(host: &mut dyn Host, cfg: &HostConfig, name: &JailName, release: &ReleaseName) -> Result<(), Error> {
    let spec = super::select::defined(host, cfg, name)?;
    if spec.release.as_ref() == Some(release) {
        return Ok(());
    }
    let machine_path = definition_path(name);
    let old = crate::config::read_machine_text(host, &machine_path)?;
    let path = host.local_path(&machine_path);
    let mut doc = edit::document(&old, &path)?;
    edit::set(&mut doc, &[], "release", release.as_str().into())
        .map_err(|source| Refused::NotATable { file: path.clone(), source })?;
    let text = doc.to_string();
    jail::check(&path, &text, name, cfg)?;
    host.write_file(&machine_path, text.as_bytes(), 0o600).map_err(|e| ConfigError::io(&path, e))?;
    Ok(())
}

/// The release snapshot at the start of a root's history: its origin,
/// or its origin's origin for a clone of a jail (`brig clone`).
fn release_origin(host: &dyn Host, cfg: &HostConfig, dataset: &str) -> Result<Option<String>, Error> {
    let releases = format!("{}/", cfg.releases());
    let mut at = dataset.to_string();
    // A chain of clones of clones is short; the bound only stops a loop.
    for _ in 0..32 {
        let origin = host.zfs_get(&at, &["origin"])?.remove("origin").filter(|o| o != "-" && !o.is_empty());
        match origin {
            None => return Ok(None),
            Some(o) if o.starts_with(&releases) => return Ok(Some(o)),
            Some(o) => at = o.split('@').next().unwrap_or_default().to_string(),
        }
    }
    Ok(None)
}

/// The previous root (`root.prev`) switched back in, the upgraded one
/// destroyed, and the definition's release the previous root's. The
/// jail is stopped and its lock held.
fn swap_back(host: &mut dyn Host, cfg: &HostConfig, name: &JailName) -> Result<(), Error> {
    let (root, prev, next) = (root_dataset(cfg, name), previous_root(cfg, name), next_root(cfg, name));
    let release = release_origin(host, cfg, prev.as_str())?
        .as_deref()
        .and_then(|o| o.strip_prefix(&format!("{}/", cfg.releases())))
        .and_then(|o| o.split('@').next())
        .and_then(|r| ReleaseName::parse(r).ok());
    // Named on the root to be before the switch: a recovery brings the
    // definition in line with whichever root it finds.
    if let Some(r) = &release {
        host.zfs_set(prev.as_str(), &[(ROOT_RELEASE_PROP.into(), r.to_string())])?;
    }
    // The upgraded root becomes the one being built, which a recovery
    // destroys once the previous one is the root.
    host.zfs_rename(root.as_str(), next.as_str())?;
    host.zfs_rename(prev.as_str(), root.as_str())?;
    host.zfs_destroy(next.as_str(), true)?;
    if let Some(r) = &release {
        set_release(host, cfg, name, r)?;
    }
    Ok(())
}

/// Undoes what an upgrade did before its switch: a thin jail's
/// `root.next` destroyed, a thick jail's root rolled back to `snap`; then
/// the snapshot `snap` of its tree goes too, so the jail is as it was.
fn take_back(host: &mut dyn Host, cfg: &HostConfig, spec: &JailSpec, snap: &SnapshotName) -> Result<(), Error> {
    let name = &spec.name;
    if spec.jail_type == JailType::Thick {
        let s = format!("{}@{snap}", root_dataset(cfg, name));
        if super::observe::dataset_exists(host, &s)? {
            host.zfs_rollback(&s)?;
        }
    }
    let next = next_root(cfg, name);
    if super::observe::dataset_exists(host, next.as_str())? {
        host.zfs_destroy(next.as_str(), true)?;
    }
    let taken = super::snapshot::tree(host, cfg, name)?.present(snap);
    if !taken.is_empty() {
        host.zfs_destroy_snapshots(&taken.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    Ok(())
}

/// Recovers an upgrade a killed brig left. One that had switched roots
/// (a thin jail's old root is `root.prev` with the upgrade snapshot; half
/// switched, only `root.next` is left) or was done is finished, the
/// definition naming the release its root is of; any other is taken
/// back. A jail it stopped is started again.
pub fn recover(
    host: &mut dyn Host,
    cfg: &HostConfig,
    name: &JailName,
    entry: &journal::Entry,
    report: &dyn Report,
) -> Result<Recovery, Error> {
    let spec = super::select::defined(host, cfg, name)?;
    let Some(up) = &entry.upgrade else { return Ok(Recovery::TakenBack) };
    let (root, next) = (root_dataset(cfg, name), next_root(cfg, name));
    let has = |host: &dyn Host, d: &str| super::observe::dataset_exists(host, d);
    let switched = up.done
        || (spec.jail_type != JailType::Thick
            && (has(host, &format!("{}@{}", previous_root(cfg, name), up.snapshot))? || !has(host, root.as_str())?));
    let how = if switched {
        // Half-way through a switch (or a rollback's): the root being
        // switched in becomes the root; the one switched out goes.
        if has(host, next.as_str())? {
            if has(host, root.as_str())? {
                host.zfs_destroy(next.as_str(), true)?;
            } else {
                host.zfs_rename(next.as_str(), root.as_str())?;
            }
        }
        let release = host.zfs_get(root.as_str(), &[ROOT_RELEASE_PROP])?.remove(ROOT_RELEASE_PROP);
        if let Some(r) = release.and_then(|r| ReleaseName::parse(&r).ok()) {
            set_release(host, cfg, name, &r)?;
        }
        Recovery::Finished
    } else {
        take_back(host, cfg, &spec, &SnapshotName::parse(&up.snapshot)?)?;
        Recovery::TakenBack
    };
    if up.restart {
        // Whatever a start killed half-way left goes first.
        let spec = super::select::defined(host, cfg, name)?;
        let around = Surroundings::read(host, cfg)?;
        stop_under_entry(host, cfg, name, Some(&spec), &around, report)?;
        start_alone(host, cfg, &spec, &[], report)?;
    }
    Ok(how)
}

/// `upgrade --rollback`: a thin jail's previous root switched back in
/// (and its release back in the definition); a thick jail rolled back to
/// its newest upgrade snapshot. The jail must be stopped, or `restart`.
pub fn rollback(host: &mut dyn Host, name: &JailName, restart: bool, report: &dyn Report) -> Result<String, Error> {
    let cfg = super::config(host)?;
    let spec = super::select::defined(host, &cfg, name)?;
    if spec.jail_type == JailType::Thick {
        let tree = super::snapshot::tree(host, &cfg, name)?;
        let snap = tree
            .snapshots
            .iter()
            .rev()
            .find(|s| s.name.starts_with(SNAPSHOT_PREFIX))
            .ok_or_else(|| Refused::NoUpgradeToUndo { jail: name.clone() })?;
        let snap = SnapshotName::parse(&snap.name)?;
        let how = super::snapshot::RollbackOptions { force: false, restart };
        super::snapshot::rollback(host, name, &snap, how, report)?;
        return Ok(userland(host, &root_path(&cfg, name)).map_or_else(|| snap.to_string(), |v| v.to_string()));
    }
    let _lock = guard(host, &cfg, &[name], report)?;
    let prev = previous_root(&cfg, name);
    if !super::observe::dataset_exists(host, prev.as_str())? {
        return Err(Refused::NoUpgradeToUndo { jail: name.clone() }.into());
    }
    let running = host.jail_find(name.as_str())?;
    if let (Some(j), false) = (&running, restart) {
        return Err(Refused::UpgradeRunning { jail: name.clone(), jid: j.jid }.into());
    }
    // Nothing to take back: done from the start, so that a kill is
    // finished from whichever root is there.
    let progress = UpgradeEntry { snapshot: String::new(), restart: running.is_some(), done: true };
    let entry = journal::begin_upgrade(host, name, progress)?;
    if running.is_some() {
        let around = Surroundings::read(host, &cfg)?;
        stop_under_entry(host, &cfg, name, Some(&spec), &around, report)?;
    }
    swap_back(host, &cfg, name)?;
    if running.is_some() {
        let spec = super::select::defined(host, &cfg, name)?;
        start_alone(host, &cfg, &spec, &[], report)?;
    }
    entry.finish(host)?;
    Ok(userland(host, &root_path(&cfg, name)).map_or_else(|| "its previous root".into(), |v| v.to_string()))
}

/// One jail of a batch and how its upgrade ended.
pub type Upgrade = (JailName, Result<Outcome, Error>);

/// Upgrades each named jail (every jail with `--all`), `jobs` at a time,
/// each with a host connection of its own: one failing (and taken back)
/// does not stop the others. The outcome per jail, in name order.
pub fn upgrade_all(
    host: &mut dyn Host,
    connect: super::boot::Connect,
    names: &super::select::Names,
    req: &UpgradeRequest,
    jobs: u16,
    report: &(dyn Report + Sync),
) -> Result<Vec<Upgrade>, Error> {
    let mut targets = super::select::targets(host, names)?;
    if names.all {
        // Every jail that has a userland of a release to upgrade; an empty
        // one is not for brig to upgrade (one named is refused).
        let cfg = super::config(host)?;
        targets.retain(|n| {
            jail::load_defined(host, n, &cfg).map_or(true, |s| s.release.is_some() && s.jail_type != JailType::Empty)
        });
    }
    let refs: Vec<&JailName> = targets.iter().collect();
    let work = |h: &mut dyn Host, name: &JailName| upgrade(h, name, req, report);
    Ok(super::boot::parallel(connect, jobs, &refs, &work).into_iter().map(|(n, r)| (n.clone(), r)).collect())
}
