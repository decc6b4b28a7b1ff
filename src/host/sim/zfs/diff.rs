//! `zfs diff` between two snapshots, and where a snapshot's files are
//! read (`MOUNTPOINT/.zfs/snapshot/NAME` on FreeBSD).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::ops::dataset_files;
use super::{no, Paths};
use crate::host::sim::jail::Refusal;
use crate::host::sim::state::State;
use crate::host::{Change, DiffEntry, FileKind};

/// The local directory holding a snapshot's files: ENOENT for a snapshot
/// that does not exist (zfsctl_snapdir_lookup).
pub fn snapshot_files(st: &State, paths: &Paths, snap: &str) -> Result<PathBuf, Refusal> {
    match st.datasets.get(snap).filter(|d| d.snapshot) {
        Some(d) => Ok(paths.snapshot_store(d.guid)),
        None => Err(no(Errno::ENOENT, format!("{snap}: no such snapshot"))),
    }
}

/// Whether snapshot `earlier` comes before `later` (a snapshot or a
/// filesystem) in `later`'s history: an earlier snapshot of its
/// filesystem, or of the filesystem its origin is on, back through
/// clones (dsl_dataset_is_before).
pub(super) fn is_before(st: &State, later: &str, earlier: &str) -> bool {
    let (Some(l), Some(e)) = (st.datasets.get(later), st.datasets.get(earlier)) else { return false };
    let Some((efs, _)) = earlier.split_once('@') else { return false };
    let mut fs = later.split('@').next().unwrap_or_default().to_string();
    let mut limit = if l.snapshot { l.guid } else { u64::MAX };
    loop {
        if efs == fs && e.guid < limit {
            return true;
        }
        let Some(origin) = st.datasets.get(&fs).and_then(|d| d.origin.clone()) else { return false };
        let Some(o) = st.datasets.get(&origin) else { return false };
        // The origin itself is in the clone's history.
        limit = o.guid + 1;
        fs = origin.split('@').next().unwrap_or_default().to_string();
    }
}

/// One entry of a tree: its kind, what tells a change (mode, size and
/// contents for a file, the target for a link) and its inode.
fn entries(root: &Path) -> BTreeMap<PathBuf, (FileKind, Vec<u8>, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(root.join(&rel)) else { continue };
        for e in rd.flatten() {
            let r = rel.join(e.file_name());
            let Ok(m) = std::fs::symlink_metadata(e.path()) else { continue };
            let mut sig = format!("{:o} {} {}\n", m.mode(), m.uid(), m.gid()).into_bytes();
            let kind = if m.file_type().is_symlink() {
                sig.extend(std::fs::read_link(e.path()).unwrap_or_default().into_os_string().into_encoded_bytes());
                FileKind::Symlink
            } else if m.is_dir() {
                // A directory changes when a name in it does, as its
                // mtime does on ZFS.
                let mut names: Vec<_> =
                    std::fs::read_dir(e.path()).into_iter().flatten().flatten().map(|c| c.file_name()).collect();
                names.sort();
                names.iter().for_each(|n| sig.extend(n.as_encoded_bytes().iter().chain(b"\n")));
                stack.push(r.clone());
                FileKind::Dir
            } else if m.is_file() {
                sig.extend(std::fs::read(e.path()).unwrap_or_default());
                FileKind::File
            } else {
                FileKind::Other
            };
            out.insert(r, (kind, sig, m.ino()));
        }
    }
    out
}

/// `zfs diff -FH FROM TO` (zfs_ioc_diff, dmu_diff): ENOENT when either
/// snapshot is missing, EXDEV when FROM is not earlier in TO's history.
/// What changed, by path relative to the dataset's root; a path whose
/// kind changed is removed and added, as ZFS reports a new object.
pub fn diff(st: &State, paths: &Paths, from: &str, to: &str) -> Result<Vec<DiffEntry>, Refusal> {
    let store = |snap: &str| -> Result<PathBuf, Refusal> {
        match st.datasets.get(snap) {
            Some(d) if d.snapshot => Ok(paths.snapshot_store(d.guid)),
            Some(d) => Ok(dataset_files(paths, d)),
            None => Err(no(Errno::ENOENT, format!("cannot open '{snap}': dataset does not exist"))),
        }
    };
    let (a, b) = (store(from)?, store(to)?);
    if !is_before(st, to, from) {
        return Err(no(Errno::EXDEV, format!("{from} is not an earlier snapshot of {to}'s history")));
    }
    let (old, new) = (entries(&a), entries(&b));
    let mut out = Vec::new();
    // ZFS reports a changed object once, under one of its names
    // (zfs_obj_to_path follows a single parent): a file's other hard
    // links are not listed.
    let mut reported = std::collections::BTreeSet::new();
    let mut once = |kind: FileKind, ino: u64| kind != FileKind::File || reported.insert(ino);
    for (p, (kind, sig, _)) in &old {
        match new.get(p) {
            None => out.push(DiffEntry { change: Change::Removed, kind: *kind, path: p.clone() }),
            Some((k, _, ino)) if k != kind => {
                out.push(DiffEntry { change: Change::Removed, kind: *kind, path: p.clone() });
                if once(*k, *ino) {
                    out.push(DiffEntry { change: Change::Added, kind: *k, path: p.clone() });
                }
            }
            Some((k, s, ino)) if s != sig && once(*k, *ino) => {
                out.push(DiffEntry { change: Change::Modified, kind: *k, path: p.clone() })
            }
            Some(_) => {}
        }
    }
    for (p, (kind, _, ino)) in &new {
        if !old.contains_key(p) && once(*kind, *ino) {
            out.push(DiffEntry { change: Change::Added, kind: *kind, path: p.clone() });
        }
    }
    Ok(out)
}
