//! The dataset operations: create, snapshot, clone, destroy, rename and
//! hold, with the errnos of dmu_objset.c and dsl_destroy.c.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::files::{copy_tree, mount_at, none_busy, other_mount_dirs, should_mount, unmount_ds};
use super::names::{check_name, is_descendant, parent_name, pool_of};
use super::props::{check_prop, effective};
use super::{io, no, Paths, MAX_NESTING};
use crate::host::sim::config::SimConfig;
use crate::host::sim::fs;
use crate::host::sim::jail::Refusal;
use crate::host::sim::state::{SimDataset, State};

pub(super) fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A new dataset with a new guid. Its storage starts empty: a sim killed
/// in the middle of an operation never saved the guid it had drawn, so
/// the guid comes round again and would find that operation's half copy.
pub(super) fn new_dataset(
    st: &mut State,
    paths: &Paths,
    props: BTreeMap<String, String>,
    origin: Option<String>,
    snapshot: bool,
) -> Result<SimDataset, Refusal> {
    let guid = st.guid();
    for leftover in [paths.stash(guid), paths.snapshot_store(guid)] {
        match std::fs::remove_dir_all(&leftover) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e, &leftover)),
            _ => {}
        }
    }
    Ok(SimDataset { snapshot, props, origin, creation: now(), guid, mounted: None, holds: Vec::new() })
}

pub(super) fn checked_props(props: &[(String, String)]) -> Result<BTreeMap<String, String>, Refusal> {
    props.iter().map(|(k, v)| Ok((k.clone(), check_prop(k, v)?))).collect()
}

pub(super) fn check_new_fs(st: &State, cfg: &SimConfig, name: &str) -> Result<(), Refusal> {
    check_name(name)?;
    if name.contains('@') {
        return Err(no(Errno::EINVAL, format!("'{name}' is a snapshot name")));
    }
    if pool_of(name) != cfg.pool {
        return Err(no(Errno::ENOENT, format!("no such pool '{}'", pool_of(name))));
    }
    if st.datasets.contains_key(name) {
        return Err(no(Errno::EEXIST, format!("dataset already exists: {name}")));
    }
    if name.matches('/').count() >= MAX_NESTING {
        return Err(no(Errno::ENAMETOOLONG, format!("{name}: nesting too deep")));
    }
    match parent_name(name) {
        Some(p) if !st.datasets.contains_key(p) => Err(no(Errno::ENOENT, format!("parent does not exist: {p}"))),
        _ => Ok(()),
    }
}

pub fn create(
    st: &mut State,
    cfg: &SimConfig,
    paths: &Paths,
    name: &str,
    props: &[(String, String)],
) -> Result<(), Refusal> {
    check_new_fs(st, cfg, name)?;
    let props = checked_props(props)?;
    let ds = new_dataset(st, paths, props, None, false)?;
    st.datasets.insert(name.to_string(), ds);
    if let Some(mp) = should_mount(st, cfg, name) {
        mount_at(st, paths, name, &mp)?;
    }
    Ok(())
}

/// `zfs snapshot NAME@SNAP...` as lzc_snapshot does it: every name
/// checked first (zfs_ioc_snapshot: EINVAL for a bad one, EXDEV for two of
/// one dataset or another pool than the first's; then
/// dsl_dataset_snapshot_check: ENOENT for a missing dataset, EEXIST for a
/// snapshot that exists), then all made in one transaction.
pub fn snapshot(st: &mut State, paths: &Paths, snaps: &[&str]) -> Result<(), Refusal> {
    let mut seen = std::collections::BTreeSet::new();
    for snap in snaps {
        check_name(snap)?;
        let Some((fs_name, _)) = snap.split_once('@') else {
            return Err(no(Errno::EINVAL, format!("'{snap}' is not a snapshot name")));
        };
        if pool_of(snap) != pool_of(snaps[0]) || !seen.insert(fs_name) {
            return Err(no(Errno::EXDEV, format!("'{snap}': one snapshot a dataset, of one pool")));
        }
    }
    for snap in snaps {
        let fs_name = snap.split_once('@').map_or(*snap, |(f, _)| f);
        match st.datasets.get(fs_name) {
            None => return Err(no(Errno::ENOENT, format!("dataset does not exist: {fs_name}"))),
            Some(d) if d.snapshot => return Err(no(Errno::EINVAL, format!("'{fs_name}' is a snapshot"))),
            Some(_) => {}
        }
        if st.datasets.contains_key(*snap) {
            return Err(no(Errno::EEXIST, format!("snapshot already exists: {snap}")));
        }
    }
    for snap in snaps {
        snapshot_one(st, paths, snap, None)?;
    }
    Ok(())
}

/// A received snapshot, checked already: made as `zfs snapshot` makes
/// one, with the creation time it had where it was sent from.
pub(super) fn snapshot_at(st: &mut State, paths: &Paths, snap: &str, creation: u64) -> Result<(), Refusal> {
    snapshot_one(st, paths, snap, Some(creation))
}

/// One snapshot, checked already: a copy of the dataset's files.
fn snapshot_one(st: &mut State, paths: &Paths, snap: &str, creation: Option<u64>) -> Result<(), Refusal> {
    let fs_name = snap.split_once('@').map_or(snap, |(f, _)| f);
    let Some(src) = st.datasets.get(fs_name).cloned() else {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {fs_name}")));
    };
    let mut ds = new_dataset(st, paths, BTreeMap::new(), None, true)?;
    ds.creation = creation.unwrap_or(ds.creation);
    let store = paths.snapshot_store(ds.guid);
    let files = dataset_files(paths, &src);
    let skip = other_mount_dirs(st, paths, src.mounted.as_deref().unwrap_or(Path::new("")));
    if files.is_dir() {
        copy_tree(&files, &store, &skip).map_err(|e| io(e, &store))?;
    } else {
        std::fs::create_dir_all(&store).map_err(|e| io(e, &store))?;
    }
    st.datasets.insert(snap.to_string(), ds);
    Ok(())
}

/// Where a dataset's files are: its mount point, or its stash.
pub(super) fn dataset_files(paths: &Paths, d: &SimDataset) -> PathBuf {
    match &d.mounted {
        Some(mp) => fs::local(paths.root, mp),
        None => paths.stash(d.guid),
    }
}

/// The snapshots of filesystem `fs_name`, oldest first (by guid, which
/// grows as createtxg does).
pub(super) fn snapshots_of<'a>(st: &'a State, fs_name: &str) -> Vec<(&'a String, &'a SimDataset)> {
    let prefix = format!("{fs_name}@");
    let mut v: Vec<_> = st.datasets.iter().filter(|(n, _)| n.starts_with(&prefix)).collect();
    v.sort_by_key(|(_, d)| d.guid);
    v
}

/// `zfs rollback NAME@SNAP` as lzc_rollback_to does it
/// (dsl_dataset_rollback_check): ENOENT for a missing dataset, ESRCH for
/// a snapshot it does not have, EEXIST when a later snapshot exists (the
/// caller destroys those first); a mounted filesystem is rolled back in
/// place (zfs_ioc_rollback suspends and resumes it), what is mounted on
/// it stays.
pub fn rollback(st: &mut State, paths: &Paths, snap: &str) -> Result<(), Refusal> {
    check_name(snap)?;
    let Some((fs_name, _)) = snap.split_once('@') else {
        return Err(no(Errno::EINVAL, format!("'{snap}' is not a snapshot name")));
    };
    let Some(fs_ds) = st.datasets.get(fs_name).filter(|d| !d.snapshot).cloned() else {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {fs_name}")));
    };
    let snaps = snapshots_of(st, fs_name);
    let Some((_, target)) = snaps.iter().find(|(n, _)| n.as_str() == snap) else {
        return Err(no(Errno::ESRCH, format!("no snapshot {snap}")));
    };
    if let Some((latest, _)) = snaps.last().filter(|(n, _)| n.as_str() != snap) {
        return Err(no(Errno::EEXIST, format!("'{snap}' is not the latest snapshot of {fs_name}: {latest} is")));
    }
    let store = paths.snapshot_store(target.guid);
    let files = dataset_files(paths, &fs_ds);
    let skip = other_mount_dirs(st, paths, fs_ds.mounted.as_deref().unwrap_or(Path::new("")));
    clear_tree(&files, &skip).map_err(|e| io(e, &files))?;
    copy_tree(&store, &files, &skip).map_err(|e| io(e, &files))
}

/// Empties a directory but for the mount points of other filesystems in
/// it (and the directories that lead to them).
pub(super) fn clear_tree(dir: &Path, skip: &[PathBuf]) -> std::io::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    for entry in entries {
        let path = entry?.path();
        let m = std::fs::symlink_metadata(&path)?;
        if m.is_dir() && skip.iter().any(|s| s.starts_with(&path)) {
            if !skip.contains(&path) {
                clear_tree(&path, skip)?;
            }
        } else if m.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// `zfs destroy NAME@SNAP...` as lzc_destroy_snaps does it
/// (dsl_destroy_snapshots_nvl): EXDEV for snapshots of two pools, each
/// checked first (dsl_destroy_snapshot_check: one that does not exist is
/// skipped, EEXIST for one with clones, EBUSY for a held one), then all
/// destroyed, or none.
pub fn destroy_snapshots(st: &mut State, paths: &Paths, snaps: &[&str]) -> Result<(), Refusal> {
    for snap in snaps {
        check_name(snap)?;
        if !snap.contains('@') {
            return Err(no(Errno::EINVAL, format!("'{snap}' is not a snapshot name")));
        }
        if pool_of(snap) != pool_of(snaps[0]) {
            return Err(no(Errno::EXDEV, format!("'{snap}' is in another pool")));
        }
    }
    let present: Vec<&str> = snaps.iter().copied().filter(|s| st.datasets.contains_key(*s)).collect();
    for snap in &present {
        destroy_check(st, snap)?;
    }
    for snap in present {
        destroy_one(st, paths, snap)?;
    }
    Ok(())
}

pub fn clone(
    st: &mut State,
    cfg: &SimConfig,
    paths: &Paths,
    origin: &str,
    name: &str,
    props: &[(String, String)],
) -> Result<(), Refusal> {
    check_name(origin)?;
    if !origin.contains('@') {
        return Err(no(Errno::EINVAL, format!("'{origin}' is not a snapshot")));
    }
    let Some(guid) = st.datasets.get(origin).map(|d| d.guid) else {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {origin}")));
    };
    check_new_fs(st, cfg, name)?;
    let props = checked_props(props)?;
    let ds = new_dataset(st, paths, props, Some(origin.to_string()), false)?;
    let stash = paths.stash(ds.guid);
    copy_tree(&paths.snapshot_store(guid), &stash, &[]).map_err(|e| io(e, &stash))?;
    st.datasets.insert(name.to_string(), ds);
    if let Some(mp) = should_mount(st, cfg, name) {
        mount_at(st, paths, name, &mp)?;
    }
    Ok(())
}

/// `zfs promote NAME` (lzc_promote), as dsl_dataset_promote does it: the
/// clone takes over its origin's snapshots up to and including the
/// origin, the filesystem it was cloned from becomes a clone of that
/// snapshot, and every other clone of a moved snapshot follows it.
/// EINVAL for a filesystem that is not a clone; EEXIST when the clone
/// already has a snapshot of a moved one's name
/// (dsl_dataset_promote_check).
pub fn promote(st: &mut State, name: &str) -> Result<(), Refusal> {
    check_name(name)?;
    let Some(d) = st.datasets.get(name).filter(|d| !d.snapshot) else {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {name}")));
    };
    let Some(origin) = d.origin.clone() else {
        return Err(no(Errno::EINVAL, format!("cannot promote '{name}': not a cloned filesystem")));
    };
    let (from_fs, _) = origin.split_once('@').unwrap_or((origin.as_str(), ""));
    let from_fs = from_fs.to_string();
    let limit = st.datasets.get(&origin).map_or(0, |o| o.guid);
    let moved: Vec<String> =
        snapshots_of(st, &from_fs).into_iter().filter(|(_, s)| s.guid <= limit).map(|(n, _)| n.clone()).collect();
    let rename = |n: &str| format!("{name}@{}", n.split_once('@').map_or("", |(_, s)| s));
    if let Some(clash) = moved.iter().map(|n| rename(n)).find(|n| st.datasets.contains_key(n)) {
        return Err(no(Errno::EEXIST, format!("cannot promote '{name}': a conflicting snapshot name {clash} exists")));
    }
    for old in &moved {
        if let Some(snap) = st.datasets.remove(old) {
            st.datasets.insert(rename(old), snap);
        }
    }
    for ds in st.datasets.values_mut() {
        if let Some(o) = ds.origin.as_mut().filter(|o| moved.contains(o)) {
            *o = rename(o);
        }
    }
    // It takes its origin's own place in the clone tree.
    let grand = st.datasets.get(&from_fs).and_then(|f| f.origin.clone());
    if let Some(d) = st.datasets.get_mut(name) {
        d.origin = grand;
    }
    if let Some(f) = st.datasets.get_mut(&from_fs) {
        f.origin = Some(rename(&origin));
    }
    Ok(())
}

pub(super) fn clones_of(st: &State, snap: &str) -> Vec<String> {
    st.datasets.iter().filter(|(_, d)| d.origin.as_deref() == Some(snap)).map(|(n, _)| n.clone()).collect()
}

/// Why one dataset or snapshot cannot be destroyed on its own
/// (dsl_destroy_head_check_impl, dsl_destroy_snapshot_check_impl): a
/// filesystem with children is EEXIST, with snapshots EBUSY; a snapshot
/// with clones is EEXIST, with a user hold EBUSY. Being attached to a
/// jail is no obstacle: the kernel keeps only the name in the jail's zone,
/// so protecting a tenant's data is brig's job.
pub(super) fn destroy_check(st: &State, name: &str) -> Result<(), Refusal> {
    let Some(d) = st.datasets.get(name) else {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {name}")));
    };
    if d.snapshot {
        if let Some(c) = clones_of(st, name).first() {
            return Err(no(Errno::EEXIST, format!("snapshot '{name}' has dependent clones, such as '{c}'")));
        }
        if let Some(tag) = d.holds.first() {
            return Err(no(Errno::EBUSY, format!("snapshot '{name}' is held (tag '{tag}'); zfs release it first")));
        }
        return Ok(());
    }
    let below: Vec<&String> = st.datasets.keys().filter(|n| is_descendant(n, name)).collect();
    if below.iter().any(|n| !n.contains('@')) {
        return Err(no(Errno::EEXIST, format!("'{name}' has children; use -r to destroy them")));
    }
    if !below.is_empty() {
        return Err(no(Errno::EBUSY, format!("'{name}' has snapshots; use -r to destroy them")));
    }
    Ok(())
}

/// Destroys one dataset or snapshot that has nothing below it: unmounted
/// first (EBUSY while in use), then its files dropped.
pub(super) fn destroy_one(st: &mut State, paths: &Paths, name: &str) -> Result<(), Refusal> {
    destroy_check(st, name)?;
    unmount_ds(st, paths, name)?;
    if let Some(ds) = st.datasets.remove(name) {
        let dir = if ds.snapshot { paths.snapshot_store(ds.guid) } else { paths.stash(ds.guid) };
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| io(e, &dir))?;
        }
    }
    Ok(())
}

/// `zfs destroy [-r] NAME`. Alone, all or nothing. Recursive, it is
/// best effort, as zfs(8)'s destroy_callback is: every snapshot and
/// descendant that can go goes, deepest first, a busy or held one and
/// its ancestors stay, and the first failure is reported; the partial
/// tree is kept (zfs_destroy_005_neg), so callers must converge from it.
/// The state is to be saved even when this fails.
pub fn destroy(st: &mut State, paths: &Paths, name: &str, recursive: bool) -> Result<(), Refusal> {
    check_name(name)?;
    if !st.datasets.contains_key(name) {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {name}")));
    }
    if !name.contains('/') && !name.contains('@') {
        return Err(no(Errno::EINVAL, format!("cannot destroy the pool's root dataset '{name}'")));
    }
    if !recursive {
        return destroy_one(st, paths, name);
    }
    let mut doomed: Vec<String> = st.datasets.keys().filter(|n| is_descendant(n, name)).cloned().collect();
    // zfs destroy -r refuses up front when a snapshot in the tree has a
    // clone outside it (that needs -R, which brig never uses).
    for d in doomed.iter().filter(|d| d.contains('@')) {
        if let Some(c) = clones_of(st, d).into_iter().find(|c| !is_descendant(c, name)) {
            return Err(no(Errno::EEXIST, format!("snapshot '{d}' has dependent clones, such as '{c}'")));
        }
    }
    // Deepest first, snapshots before their filesystem: children and
    // snapshots go before their parents.
    doomed.sort_by_key(|n| std::cmp::Reverse((n.matches('/').count(), n.contains('@'))));
    doomed.push(name.to_string());
    // Like zfs_iter_dependents, a clone inside the tree goes before its
    // origin: what failed only because of something destroyed later in the
    // same pass is tried again, until a pass makes no progress.
    loop {
        let mut first_error = None;
        let before = doomed.len();
        doomed.retain(|d| match destroy_one(st, paths, d) {
            Ok(()) => false,
            Err(e) => {
                first_error.get_or_insert(e);
                true
            }
        });
        match first_error {
            None => return Ok(()),
            Some(e) if doomed.len() == before => return Err(e),
            Some(_) => {}
        }
    }
}

pub fn rename(st: &mut State, cfg: &SimConfig, paths: &Paths, from: &str, to: &str) -> Result<(), Refusal> {
    check_name(from)?;
    check_name(to)?;
    if !st.datasets.contains_key(from) {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {from}")));
    }
    if pool_of(from) != pool_of(to) {
        return Err(no(Errno::EXDEV, "cannot rename to a different pool"));
    }
    if from.contains('@') != to.contains('@') || (from.contains('@') && from.split('@').next() != to.split('@').next())
    {
        return Err(no(Errno::EINVAL, "snapshots can only be renamed within their dataset"));
    }
    if st.datasets.contains_key(to) {
        return Err(no(Errno::EEXIST, format!("dataset already exists: {to}")));
    }
    if is_descendant(to, from) {
        return Err(no(Errno::EINVAL, "cannot rename a dataset to be a descendant of itself"));
    }
    if let Some(p) = parent_name(to) {
        if !st.datasets.contains_key(p) && !to.contains('@') {
            return Err(no(Errno::ENOENT, format!("parent does not exist: {p}")));
        }
    }
    if !from.contains('@') && effective(st, cfg, from, "jailed") == "on" {
        // libzfs zfs_rename: a dataset delegated to a jail is the jail's.
        return Err(no(Errno::EPERM, format!("cannot rename '{from}': dataset is used in a non-global zone")));
    }
    let mut moving: Vec<String> =
        st.datasets.keys().filter(|n| *n == from || is_descendant(n, from)).cloned().collect();
    // zfs_rename refuses to make anything deeper than
    // zfs_max_dataset_nesting, though what is already deeper may move.
    let deepening = to.matches('/').count() > from.matches('/').count();
    if deepening && moving.iter().any(|n| format!("{to}{}", &n[from.len()..]).matches('/').count() >= MAX_NESTING) {
        return Err(no(Errno::ENAMETOOLONG, format!("cannot rename '{from}' to '{to}': nesting too deep")));
    }
    moving.sort_by_key(|n| std::cmp::Reverse(n.matches(['/', '@']).count()));
    let was_mounted: Vec<String> =
        moving.iter().filter(|n| st.datasets.get(*n).is_some_and(|d| d.mounted.is_some())).cloned().collect();
    // changelist_prefix unmounts everything first and, when one is busy,
    // remounts the rest and renames nothing: checked before anything moves.
    none_busy(st, paths, &was_mounted)?;
    for n in &moving {
        unmount_ds(st, paths, n)?;
    }
    for n in &moving {
        if let Some(ds) = st.datasets.remove(n) {
            let new = format!("{to}{}", &n[from.len()..]);
            for other in st.datasets.values_mut() {
                if other.origin.as_deref() == Some(n.as_str()) {
                    other.origin = Some(new.clone());
                }
            }
            st.datasets.insert(new, ds);
        }
    }
    let mut remount: Vec<String> = was_mounted.iter().map(|n| format!("{to}{}", &n[from.len()..])).collect();
    remount.sort_by_key(|n| n.matches('/').count());
    for n in remount {
        if let Some(mp) = should_mount(st, cfg, &n) {
            mount_at(st, paths, &n, &mp)?;
        }
    }
    Ok(())
}

/// `zfs hold TAG SNAP` (dsl_dataset_user_hold): ENOENT for a missing
/// snapshot, EINVAL for a filesystem, EEXIST for a tag it already has.
pub fn hold(st: &mut State, snap: &str, tag: &str) -> Result<(), Refusal> {
    let d = st.datasets.get_mut(snap).ok_or_else(|| no(Errno::ENOENT, format!("dataset does not exist: {snap}")))?;
    if !d.snapshot {
        return Err(no(Errno::EINVAL, format!("'{snap}' is not a snapshot")));
    }
    if d.holds.iter().any(|t| t == tag) {
        return Err(no(Errno::EEXIST, format!("tag '{tag}' already exists on '{snap}'")));
    }
    d.holds.push(tag.to_string());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_dataset_never_inherits_what_a_killed_operation_left() {
        // A clone killed half-way wrote files under the guid it drew but
        // never saved; the next dataset draws the same guid.
        let dir = tempfile::tempdir().expect("tempdir");
        let simdir = dir.path().join(".sim");
        let paths = Paths { root: dir.path(), simdir: &simdir };
        let mut st = State::default();
        st.next_guid = 7;
        let leftover = paths.stash(8).join("etc");
        std::fs::create_dir_all(&leftover).expect("mkdir");
        std::fs::write(leftover.join("half"), b"x").expect("write");
        let ds = new_dataset(&mut st, &paths, BTreeMap::new(), None, false).expect("new");
        assert_eq!(ds.guid, 8);
        assert!(!paths.stash(8).exists(), "its storage starts empty");
    }
}
