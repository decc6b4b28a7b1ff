//! Which provision steps run, and from which layer: pure.
//!
//! A layer is a snapshot named `l-KEY` (`model::provision::layer_name`)
//! holding a root as it was after the steps KEY hashes. A jail's root
//! takes layers as it runs its steps; a thin jail's are then handed to
//! the cache (`<root>/layers/BASE/KEY`, a clone of the root's last layer
//! that is promoted, so that it owns the layers and the root becomes its
//! clone), where every jail built on the same base finds them. The plan
//! starts from the latest layer of the steps as written that the jail has
//! or the cache holds, and runs the steps after it only.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::HostConfig;
use crate::model::provision::{layer_name, LAYER_PREFIX};
use crate::model::DatasetName;

/// `<root>/layers`: the layer cache.
pub fn cache(cfg: &HostConfig) -> DatasetName {
    cfg.dataset.child("layers")
}

/// The cache's datasets for one base (`14.3-RELEASE`, or an image's name).
pub fn cache_of(cfg: &HostConfig, base: &str) -> DatasetName {
    cache(cfg).child(base)
}

/// The clone that takes a jail's root's place when a run starts from a
/// cached layer.
pub fn next_root(cfg: &HostConfig, name: &crate::model::JailName) -> DatasetName {
    super::jail::dataset(cfg, name).child("root.build")
}

/// What the machine holds of a jail's layers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layers {
    /// The root's own layer snapshots, oldest first (their names).
    pub own: Vec<String>,
    /// The root's origin, when it is a layer of the cache: its name.
    pub origin: Option<String>,
    /// Layers of the cache, by name, with the snapshot to clone.
    pub shared: BTreeMap<String, String>,
    /// Every snapshot of the root, oldest first.
    pub all: Vec<String>,
    /// What a thin root is cloned from before any step: the release's or
    /// image's snapshot.
    pub base: Option<String>,
}

/// How the root gets to the layer the steps start from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum Restore {
    /// It is there already (or nothing has run on it yet).
    Nothing,
    /// Its own layer, after the later ones are destroyed.
    Rollback { snapshot: String, destroy: Vec<String> },
    /// A fresh clone of a cached layer (or of the base) in its place.
    Replace { origin: String },
}

/// What a provision run does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildPlan {
    /// How many steps the layer it starts from holds.
    pub cached: usize,
    pub restore: Restore,
}

/// Steps `keys[1..]` (keys[0] is the base's key) against what the machine
/// holds. `no_cache` starts from the base.
///
/// Steps never run on a root as it happens to be when the jail has a
/// snapshot to start from: what the jail's root user changed in it since
/// would go into the layers, and through the cache into other jails. The
/// root is rolled back to its own layer (those were made the same way),
/// or replaced by a fresh clone of a cached layer or of the release.
/// Only a root of its own (thick, empty) without layers runs its first
/// steps as it is; its layers are never shared.
pub fn build(keys: &[String], layers: &Layers, no_cache: bool) -> BuildPlan {
    let names: Vec<String> = keys.iter().map(|k| layer_name(k)).collect();
    let last = names.len().saturating_sub(1);
    let current = layers.own.last().or(layers.origin.as_ref());
    if !no_cache && current == names.last() {
        return BuildPlan { cached: last, restore: Restore::Nothing };
    }
    let candidates: Vec<usize> = if no_cache { vec![0] } else { (0..=last).rev().collect() };
    for j in candidates {
        let name = &names[j];
        if let Some(i) = layers.own.iter().position(|o| o == name) {
            let destroy = layers.own[i + 1..].to_vec();
            return BuildPlan { cached: j, restore: Restore::Rollback { snapshot: name.clone(), destroy } };
        }
        // The release itself is what a first layer is made from.
        let origin = if j == 0 { layers.base.clone() } else { layers.shared.get(name).cloned() };
        if let Some(origin) = origin {
            return BuildPlan { cached: j, restore: Restore::Replace { origin } };
        }
    }
    BuildPlan { cached: 0, restore: Restore::Nothing }
}

impl Layers {
    /// Snapshots of the root that are not layers (the user's): a root
    /// that has them is not replaced (the caller refuses), and its layers
    /// stay its own.
    pub fn others(&self) -> impl Iterator<Item = &String> {
        self.all.iter().filter(|s| !is_layer(s))
    }

    /// The user's snapshots a restore would destroy, or leave the root
    /// unable to be restored past: every one for a replacement, those
    /// taken after the layer for a rollback (lzc_rollback_to: EEXIST).
    pub fn in_the_way(&self, restore: &Restore) -> Vec<String> {
        let after = match restore {
            Restore::Nothing => return Vec::new(),
            Restore::Replace { .. } => 0,
            Restore::Rollback { snapshot, .. } => self.all.iter().position(|s| s == snapshot).map_or(0, |i| i + 1),
        };
        self.all.iter().skip(after).filter(|s| !is_layer(s)).cloned().collect()
    }
}

/// Whether a snapshot name is a layer's.
pub fn is_layer(snapshot: &str) -> bool {
    snapshot.strip_prefix(LAYER_PREFIX).is_some_and(|k| k.len() == 24 && k.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize, tag: &str) -> Vec<String> {
        (0..=n).map(|i| format!("{:0>24}", format!("{tag}{i}"))).collect()
    }

    fn l(k: &str) -> String {
        layer_name(k)
    }

    #[test]
    fn a_thin_root_starts_from_a_fresh_clone_and_one_of_its_own_as_it_is() {
        let k = keys(6, "a");
        let p = build(&k, &Layers { base: Some("r@base".into()), ..Layers::default() }, false);
        assert_eq!(p, BuildPlan { cached: 0, restore: Restore::Replace { origin: "r@base".into() } });
        assert_eq!(build(&k, &Layers::default(), false), BuildPlan { cached: 0, restore: Restore::Nothing });
        // A clone of a cached layer that ran meanwhile is cloned afresh.
        let shared: BTreeMap<String, String> = [(l(&k[2]), "c@x".to_string())].into_iter().collect();
        let used = Layers { origin: Some(l(&k[2])), shared, base: Some("r@base".into()), ..Layers::default() };
        assert_eq!(build(&k, &used, false).restore, Restore::Replace { origin: "c@x".into() });
        // --no-cache: the release, never a cached first layer.
        let shared: BTreeMap<String, String> = [(l(&k[0]), "c@k0".to_string())].into_iter().collect();
        let cached = Layers { shared, base: Some("r@base".into()), ..Layers::default() };
        assert_eq!(build(&k, &cached, true).restore, Restore::Replace { origin: "r@base".into() });
    }

    #[test]
    fn a_second_jail_clones_the_cached_layer() {
        let k = keys(6, "a");
        let shared: BTreeMap<String, String> = k.iter().map(|x| (l(x), format!("c/{x}@{}", l(x)))).collect();
        let p = build(&k, &Layers { shared, base: Some("r@base".into()), ..Layers::default() }, false);
        assert_eq!(p.cached, 6);
        assert_eq!(p.restore, Restore::Replace { origin: format!("c/{}@{}", k[6], l(&k[6])) });
    }

    #[test]
    fn a_changed_fourth_step_starts_after_the_third() {
        let old = keys(6, "a");
        let mut new = old[..4].to_vec();
        new.extend(keys(6, "b")[4..].iter().cloned());
        let shared: BTreeMap<String, String> = old.iter().map(|x| (l(x), format!("c@{}", l(x)))).collect();
        let layers = Layers { origin: Some(l(&old[6])), shared, ..Layers::default() };
        let p = build(&new, &layers, false);
        assert_eq!(p, BuildPlan { cached: 3, restore: Restore::Replace { origin: format!("c@{}", l(&old[3])) } });
        assert_eq!(build(&old, &layers, false), BuildPlan { cached: 6, restore: Restore::Nothing });
    }

    #[test]
    fn own_layers_are_rolled_back_to_and_the_user_s_snapshots_keep_the_root() {
        let k = keys(3, "a");
        let own: Vec<String> = k.iter().map(|x| l(x)).collect();
        let mut changed = k[..2].to_vec();
        changed.push(format!("{:0>24}", "z"));
        changed.push(format!("{:0>24}", "y"));
        let layers = Layers { own: own.clone(), ..Layers::default() };
        assert_eq!(
            build(&changed, &layers, false).restore,
            Restore::Rollback { snapshot: own[1].clone(), destroy: own[2..].to_vec() }
        );
        assert_eq!(
            build(&k, &layers, true).restore,
            Restore::Rollback { snapshot: own[0].clone(), destroy: own[1..].to_vec() }
        );
        let shared: BTreeMap<String, String> = k.iter().map(|x| (l(x), format!("c@{}", l(x)))).collect();
        let mine = Layers {
            origin: Some("other".into()),
            all: vec!["auto-1".into()],
            shared,
            base: Some("r@base".into()),
            ..Layers::default()
        };
        assert_eq!(build(&k, &mine, false).restore, Restore::Replace { origin: format!("c@{}", l(&k[3])) });
    }

    #[test]
    fn layer_names_are_recognised() {
        assert!(is_layer(&l(&"ab".repeat(32))));
        assert!(!is_layer("l-xyz") && !is_layer("2026-01-01T00:00:00Z"));
    }
}
