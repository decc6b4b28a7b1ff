//! A jail's snapshots: one ZFS snapshot of each dataset of its tree (the
//! dataset holding it, its root, its delegated datasets), all taken in
//! one lzc_snapshot call, so they are of one instant. Pure: read from one
//! `zfs list` of the tree.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::kernel::{DatasetInfo, DatasetKind};
use crate::model::snapshot::{Retention, SnapshotName, AUTO_PREFIX};

/// What `zfs list` must show for this module.
pub const PROPS: &[&str] = &["createtxg", "creation", "used", "clones"];

/// One snapshot of a jail, as its datasets have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct JailSnapshot {
    pub name: String,
    /// Unix time it was taken.
    pub created: u64,
    /// Bytes only its snapshots hold, summed.
    pub used: u64,
    /// Datasets of the jail that have no snapshot of this name: made
    /// after it.
    pub missing: Vec<String>,
    /// Clones of its snapshots (`brig clone`, or made by hand).
    pub clones: Vec<String>,
}

/// A jail's dataset tree and its snapshots, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    pub filesystems: Vec<String>,
    pub snapshots: Vec<JailSnapshot>,
    /// Each filesystem's snapshots by name, with their createtxg.
    by_fs: BTreeMap<String, BTreeMap<String, u64>>,
}

fn num(d: &DatasetInfo, prop: &str) -> u64 {
    d.props.get(prop).and_then(|v| v.parse().ok()).unwrap_or(0)
}

impl Tree {
    /// Reads `list`, the recursive listing of the jail's dataset (with
    /// `PROPS`).
    pub fn read(list: &[DatasetInfo]) -> Tree {
        let mut tree = Tree::default();
        let mut snaps: BTreeMap<String, (u64, JailSnapshot)> = BTreeMap::new();
        for d in list {
            match (d.kind, d.name.split_once('@')) {
                (DatasetKind::Snapshot, Some((fs, snap))) => {
                    let txg = num(d, "createtxg");
                    tree.by_fs.entry(fs.to_string()).or_default().insert(snap.to_string(), txg);
                    let (order, s) = snaps.entry(snap.to_string()).or_insert_with(|| {
                        (
                            txg,
                            JailSnapshot {
                                name: snap.to_string(),
                                created: num(d, "creation"),
                                used: 0,
                                missing: Vec::new(),
                                clones: Vec::new(),
                            },
                        )
                    });
                    *order = (*order).min(txg);
                    s.created = s.created.min(num(d, "creation"));
                    s.used += num(d, "used");
                    let clones = d.props.get("clones").map(String::as_str).unwrap_or("");
                    s.clones.extend(clones.split(',').filter(|c| !c.is_empty() && *c != "-").map(str::to_string));
                }
                (DatasetKind::Snapshot, None) => {}
                _ => tree.filesystems.push(d.name.clone()),
            }
        }
        // brig's snapshots are those of the dataset holding the jail,
        // which the jail cannot touch; its root may snapshot its delegated
        // datasets as it likes, and those are its own business.
        let container = tree.container().unwrap_or_default().to_string();
        snaps.retain(|name, _| tree.has(&container, name));
        let mut ordered: Vec<(u64, JailSnapshot)> = snaps.into_values().collect();
        ordered.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
        for (_, mut s) in ordered {
            s.missing = tree.filesystems.iter().filter(|f| !tree.has(f, &s.name)).cloned().collect();
            tree.snapshots.push(s);
        }
        tree
    }

    fn has(&self, fs: &str, snap: &str) -> bool {
        self.by_fs.get(fs).is_some_and(|s| s.contains_key(snap))
    }

    /// The dataset holding the jail: the top of the tree.
    pub fn container(&self) -> Option<&str> {
        self.filesystems.iter().min_by_key(|f| f.matches('/').count()).map(String::as_str)
    }

    /// The latest snapshot of dataset `fs` of the tree, by createtxg,
    /// whoever took it.
    pub fn latest(&self, fs: &str) -> Option<&str> {
        self.by_fs.get(fs)?.iter().max_by_key(|(_, txg)| **txg).map(|(name, _)| name.as_str())
    }

    /// Whether any dataset of the tree has a snapshot of that name (the
    /// jail's own, of its delegated datasets, included): a new snapshot
    /// of that name would fail.
    pub fn taken(&self, snap: &SnapshotName) -> bool {
        self.by_fs.values().any(|s| s.contains_key(snap.as_str()))
    }

    /// `first`, or `first.1`, `first.2`... the first name no dataset of
    /// the tree has yet (two snapshots in one second; an upgrade again
    /// from the same version).
    pub fn free(&self, first: &SnapshotName) -> Result<SnapshotName, crate::model::ModelError> {
        let mut name = first.clone();
        for n in 1..100 {
            if !self.taken(&name) {
                break;
            }
            name = SnapshotName::parse(&format!("{first}.{n}"))?;
        }
        Ok(name)
    }

    pub fn find(&self, snap: &SnapshotName) -> Option<&JailSnapshot> {
        self.snapshots.iter().find(|s| s.name == snap.as_str())
    }

    /// The snapshot `snap` of each dataset of the tree: what one
    /// lzc_snapshot call takes.
    pub fn members(&self, snap: &SnapshotName) -> Vec<String> {
        self.filesystems.iter().map(|f| format!("{f}@{snap}")).collect()
    }

    /// The snapshots of `snap` the datasets have (one made after it has
    /// none).
    pub fn present(&self, snap: &SnapshotName) -> Vec<String> {
        self.filesystems.iter().filter(|f| self.has(f, snap.as_str())).map(|f| format!("{f}@{snap}")).collect()
    }
}

/// What a rollback to a snapshot does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    /// The later snapshots, each dataset's, that must go first (zfs
    /// rolls a dataset back only to its latest snapshot).
    pub destroy: Vec<String>,
    /// Their names, as the jail's.
    pub later: Vec<String>,
    /// `DATASET@SNAP` of each dataset.
    pub rollback: Vec<String>,
}

/// Why a rollback is refused before anything changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackRefusal {
    /// The jail has no snapshot of that name; the names it has.
    NoSuch { have: Vec<String> },
    /// Datasets made after the snapshot, which it cannot take back.
    Incomplete { missing: Vec<String> },
    /// Later snapshots, which a rollback would destroy: only with force.
    Later { later: Vec<String> },
    /// Later snapshots that have clones, which keep them.
    Cloned { clones: Vec<String> },
}

/// Plans a rollback of the jail's tree to `snap`; the later snapshots
/// are destroyed only with `force`.
pub fn rollback(tree: &Tree, snap: &SnapshotName, force: bool) -> Result<Rollback, RollbackRefusal> {
    let Some(target) = tree.find(snap) else {
        return Err(RollbackRefusal::NoSuch { have: tree.snapshots.iter().map(|s| s.name.clone()).collect() });
    };
    if !target.missing.is_empty() {
        return Err(RollbackRefusal::Incomplete { missing: target.missing.clone() });
    }
    let mut plan = Rollback { destroy: Vec::new(), later: Vec::new(), rollback: tree.members(snap) };
    for (fs, snaps) in &tree.by_fs {
        let at = snaps.get(snap.as_str()).copied().unwrap_or(u64::MAX);
        for (name, _) in snaps.iter().filter(|(_, txg)| **txg > at) {
            plan.destroy.push(format!("{fs}@{name}"));
            if !plan.later.contains(name) {
                plan.later.push(name.clone());
            }
        }
    }
    // In the jail's order, oldest first.
    let rank = |n: &String| tree.snapshots.iter().position(|s| &s.name == n);
    plan.later.sort_by_key(rank);
    if plan.later.is_empty() {
        return Ok(plan);
    }
    let clones: Vec<String> =
        tree.snapshots.iter().filter(|s| plan.later.contains(&s.name)).flat_map(|s| s.clones.clone()).collect();
    if !clones.is_empty() {
        return Err(RollbackRefusal::Cloned { clones });
    }
    if !force {
        return Err(RollbackRefusal::Later { later: plan.later });
    }
    Ok(plan)
}

/// What `snapshot prune` does to one jail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Prune {
    /// The automatic snapshot it takes, when one is due.
    pub take: Option<String>,
    /// The automatic snapshots past `keep`, oldest first.
    pub destroy: Vec<String>,
    /// Those it keeps although past `keep`: a clone needs them.
    pub kept: Vec<String>,
}

/// A run of `snapshot prune` less than this share of `every` after the
/// last automatic snapshot takes none: periodic(8) and cron start a little
/// earlier or later each time.
const DUE_AT_PERCENT: u64 = 95;

/// Plans `snapshot prune` of a jail at Unix time `now`: an automatic
/// snapshot when the newest is `every` old (or there is none), then the
/// oldest automatic ones past `keep` destroyed. The user's own snapshots
/// are never touched.
pub fn prune(tree: &Tree, r: Retention, now: u64) -> Prune {
    let autos: Vec<&JailSnapshot> = tree.snapshots.iter().filter(|s| s.name.starts_with(AUTO_PREFIX)).collect();
    let newest = autos.iter().map(|s| s.created).max();
    let due = newest.is_none_or(|t| now.saturating_sub(t) * 100 >= r.every * DUE_AT_PERCENT);
    let take = due.then(|| SnapshotName::auto_at(now)).filter(|n| !tree.taken(n));
    let count = autos.len() + usize::from(take.is_some());
    let mut plan = Prune { take: take.map(|t| t.to_string()), ..Prune::default() };
    for s in autos.iter().take(count.saturating_sub(r.keep as usize)) {
        if s.clones.is_empty() {
            plan.destroy.push(s.name.clone());
        } else {
            plan.kept.push(s.name.clone());
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, txg: u64, clones: &str) -> DatasetInfo {
        let kind = if name.contains('@') { DatasetKind::Snapshot } else { DatasetKind::Filesystem };
        let props = [
            ("createtxg", txg.to_string()),
            ("creation", (1000 + txg).to_string()),
            ("used", "10".into()),
            ("clones", clones.into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        DatasetInfo { name: name.into(), kind, props }
    }

    fn tree() -> Tree {
        let j = "zroot/brig/jails/web";
        Tree::read(&[
            info(j, 1, "-"),
            info(&format!("{j}@a"), 5, ""),
            info(&format!("{j}@b"), 9, ""),
            info(&format!("{j}/root"), 2, "-"),
            info(&format!("{j}/root@a"), 5, ""),
            info(&format!("{j}/root@b"), 9, ""),
            info(&format!("{j}/data"), 7, "-"),
            info(&format!("{j}/data@b"), 9, "zroot/brig/jails/copy/data"),
        ])
    }

    fn snap(s: &str) -> SnapshotName {
        SnapshotName::parse(s).expect("name")
    }

    #[test]
    fn a_jails_snapshots_are_its_datasets_snapshots_by_name_oldest_first() {
        let t = tree();
        assert_eq!(t.filesystems.len(), 3);
        let names: Vec<&str> = t.snapshots.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(t.snapshots[0].missing, ["zroot/brig/jails/web/data"], "made after a");
        assert_eq!((t.snapshots[1].used, t.snapshots[1].created), (30, 1009));
        assert_eq!(t.members(&snap("c")).len(), 3);
        // The jail's own snapshot of its delegated dataset is not brig's.
        let j = "zroot/brig/jails/web";
        let own = Tree::read(&[
            info(j, 1, "-"),
            info(&format!("{j}/data"), 2, "-"),
            info(&format!("{j}/data@auto-x"), 5, ""),
        ]);
        assert!(own.snapshots.is_empty());
        assert!(own.taken(&snap("auto-x")) && own.find(&snap("auto-x")).is_none());
        assert_eq!(t.present(&snap("a")).len(), 2);
        assert_eq!((t.latest("zroot/brig/jails/web/root"), t.latest("zroot/brig/jails/nope")), (Some("b"), None));
    }

    #[test]
    fn prune_takes_one_when_due_and_destroys_the_oldest_automatic_ones_past_keep() {
        let j = "zroot/brig/jails/web";
        let snap = |n: &str, t: u64, clones: &str| {
            let mut d = info(&format!("{j}@{n}"), t, clones);
            d.props.insert("creation".into(), t.to_string());
            d
        };
        let t = Tree::read(&[
            info(j, 1, "-"),
            snap("auto-a", 100, ""),
            snap("mine", 150, ""),
            snap("auto-b", 200, "x/y"),
            snap("auto-c", 300, ""),
        ]);
        let r = Retention { keep: 2, every: 100 };
        // Due: auto-c is 100 old. Four automatic then, two too many; auto-b is cloned.
        let p = prune(&t, r, 400);
        assert_eq!(p.take.as_deref(), Some("auto-1970-01-01T00:06:40Z"));
        assert_eq!((p.destroy, p.kept), (vec!["auto-a".to_string()], vec!["auto-b".to_string()]));
        // Not due within 95% of every; three automatic, one too many.
        let q = prune(&t, r, 390);
        assert_eq!((q.take, q.destroy), (None, vec!["auto-a".to_string()]));
        assert_eq!(prune(&t, Retention { keep: 10, every: 1000 }, 390), Prune::default(), "mine is never touched");
    }

    #[test]
    fn a_rollback_needs_the_whole_tree_and_force_past_later_snapshots() {
        let t = tree();
        assert_eq!(
            rollback(&t, &snap("x"), false),
            Err(RollbackRefusal::NoSuch { have: vec!["a".into(), "b".into()] })
        );
        assert_eq!(
            rollback(&t, &snap("a"), true),
            Err(RollbackRefusal::Incomplete { missing: vec!["zroot/brig/jails/web/data".into()] })
        );
        let plain = rollback(&t, &snap("b"), false).expect("the latest");
        assert!(plain.destroy.is_empty() && plain.rollback.len() == 3);
        // The later snapshot b has a clone: even force stops.
        let j = "zroot/brig/jails/web";
        let two = Tree::read(&[info(j, 1, "-"), info(&format!("{j}@a"), 5, ""), info(&format!("{j}@b"), 9, "x/y")]);
        assert_eq!(rollback(&two, &snap("a"), true), Err(RollbackRefusal::Cloned { clones: vec!["x/y".into()] }));
        let free = Tree::read(&[info(j, 1, "-"), info(&format!("{j}@a"), 5, ""), info(&format!("{j}@b"), 9, "")]);
        assert_eq!(rollback(&free, &snap("a"), false), Err(RollbackRefusal::Later { later: vec!["b".into()] }));
        let forced = rollback(&free, &snap("a"), true).expect("forced");
        assert_eq!((forced.destroy, forced.later), (vec![format!("{j}@b")], vec!["b".to_string()]));
    }
}
