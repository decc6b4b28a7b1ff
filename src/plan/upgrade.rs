//! Upgrades: the order in which a root's own changes (what `zfs diff`
//! says changed since the release snapshot it was cloned from) are
//! carried onto a fresh clone of a newer release snapshot, and the names
//! of the datasets an upgrade works with.

use std::path::{Path, PathBuf};

use crate::config::HostConfig;
use crate::host::{Change, DiffEntry, FileKind};
use crate::model::{DatasetName, JailName};

/// The root being built by an upgrade, beside the jail's root (no
/// delegated dataset may be named `root.*`).
pub fn next_root(cfg: &HostConfig, name: &JailName) -> DatasetName {
    super::jail::dataset(cfg, name).child("root.next")
}

/// The root the last upgrade replaced, kept for `upgrade --rollback`.
pub fn previous_root(cfg: &HostConfig, name: &JailName) -> DatasetName {
    super::jail::dataset(cfg, name).child("root.prev")
}

/// The prefix of the snapshot an upgrade takes of a jail's tree first.
pub const SNAPSHOT_PREFIX: &str = "upgrade-";

/// One step of carrying changes onto another root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Remove what is at the path, a directory with all it holds.
    Remove(PathBuf),
    /// Make the entry what it is in the source: a file copied, a
    /// directory made or given its mode, a symlink made anew.
    /// `modified`: it was there in the release too (a file the release
    /// also changed may need merging).
    Copy { path: PathBuf, kind: FileKind, modified: bool },
    /// A directory moved here: it and everything in it, which `zfs diff`
    /// does not list (their objects did not change).
    CopyTree(PathBuf),
}

/// The steps, in an order that works: removals deepest first, then
/// copies with each directory before what is in it.
pub fn carry(diff: &[DiffEntry]) -> Vec<Step> {
    let mut removals: Vec<&Path> = Vec::new();
    let mut copies: Vec<Step> = Vec::new();
    for e in diff {
        match &e.change {
            Change::Removed => removals.push(&e.path),
            Change::Added => copies.push(Step::Copy { path: e.path.clone(), kind: e.kind, modified: false }),
            Change::Modified => copies.push(Step::Copy { path: e.path.clone(), kind: e.kind, modified: true }),
            Change::Renamed(to) => {
                removals.push(&e.path);
                copies.push(match e.kind {
                    FileKind::Dir => Step::CopyTree(to.clone()),
                    kind => Step::Copy { path: to.clone(), kind, modified: false },
                });
            }
        }
    }
    removals.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    removals.dedup();
    let path_of = |s: &Step| match s {
        Step::Copy { path, .. } | Step::CopyTree(path) | Step::Remove(path) => path.clone(),
    };
    copies.sort_by_key(path_of);
    // The dataset's root itself is never replaced, only its mode kept.
    let mut out: Vec<Step> = removals
        .into_iter()
        .filter(|p| p.components().next().is_some())
        .map(|p| Step::Remove(p.to_path_buf()))
        .collect();
    out.extend(copies.into_iter().filter(|s| path_of(s).components().next().is_some()));
    out
}

/// Whether a changed file is merged three ways, as etcupdate(8) merges
/// /etc, rather than the jail's copy taking the release's place.
pub fn merged(path: &Path) -> bool {
    path.starts_with("etc") && path != Path::new("etc")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(change: Change, kind: FileKind, p: &str) -> DiffEntry {
        DiffEntry { change, kind, path: p.into() }
    }

    #[test]
    fn removals_go_deepest_first_and_copies_parents_first() {
        let diff = vec![
            e(Change::Added, FileKind::File, "usr/local/etc/app/app.conf"),
            e(Change::Removed, FileKind::Dir, "var/old"),
            e(Change::Added, FileKind::Dir, "usr/local/etc/app"),
            e(Change::Removed, FileKind::File, "var/old/log"),
            e(Change::Modified, FileKind::File, "etc/rc.conf"),
            e(Change::Renamed("srv/new".into()), FileKind::Dir, "srv/old"),
            e(Change::Modified, FileKind::Dir, ""),
        ];
        let steps = carry(&diff);
        let shown: Vec<String> = steps
            .iter()
            .map(|s| match s {
                Step::Remove(p) => format!("rm {}", p.display()),
                Step::Copy { path, modified, .. } => {
                    format!("cp{} {}", if *modified { "~" } else { "" }, path.display())
                }
                Step::CopyTree(p) => format!("tree {}", p.display()),
            })
            .collect();
        assert_eq!(
            shown,
            [
                "rm var/old/log",
                "rm var/old",
                "rm srv/old",
                "cp~ etc/rc.conf",
                "tree srv/new",
                "cp usr/local/etc/app",
                "cp usr/local/etc/app/app.conf",
            ]
        );
    }

    #[test]
    fn only_files_below_etc_are_merged() {
        assert!(merged(Path::new("etc/rc.conf")));
        assert!(merged(Path::new("etc/ssh/sshd_config")));
        assert!(!merged(Path::new("etc")));
        assert!(!merged(Path::new("usr/local/etc/nginx.conf")));
        assert!(!merged(Path::new("etcetera")));
    }
}
