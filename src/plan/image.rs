//! Images and the layer cache as listings show them: who uses what, and
//! what `brig image prune` may destroy. Pure.
//!
//! An image is `<root>/images/NAME` with its snapshot `@base`, made by
//! `brig commit` from a jail's root (a clone promoted, so the jail's root
//! is the image's clone) and cloned by `brig create --image` as a release
//! is. Cached layers are `<root>/layers/BASE/LAYER` (`plan::provision`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::HostConfig;
use crate::kernel::DatasetInfo;
use crate::model::{DatasetName, JailName};

/// The snapshot jails of an image are cloned from.
pub const IMAGE_SNAPSHOT: &str = "base";
/// The user property naming the release an image was made on.
pub const RELEASE_PROP: &str = "brig:release";
/// The user property naming the jail an image was made from.
pub const FROM_PROP: &str = "brig:from";

/// `<root>/images`
pub fn images(cfg: &HostConfig) -> DatasetName {
    cfg.dataset.child("images")
}

/// `<root>/images/NAME`
pub fn image(cfg: &HostConfig, name: &JailName) -> DatasetName {
    images(cfg).child(name.as_str())
}

/// `<root>/images/NAME@base`
pub fn origin(cfg: &HostConfig, name: &JailName) -> String {
    format!("{}@{IMAGE_SNAPSHOT}", image(cfg, name))
}

/// The clones of each dataset's snapshots, by dataset, from a listing
/// with the `clones` property.
pub fn users(list: &[DatasetInfo]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for d in list {
        let Some((fs, _)) = d.name.split_once('@') else {
            out.entry(d.name.clone()).or_default();
            continue;
        };
        let clones = d.props.get("clones").map(String::as_str).unwrap_or("");
        let entry = out.entry(fs.to_string()).or_default();
        entry.extend(clones.split(',').filter(|c| !c.is_empty() && *c != "-").map(str::to_string));
    }
    out
}

/// A clone as the user knows it: jail NAME for a jail's root, else the
/// dataset.
pub fn user_name(cfg: &HostConfig, dataset: &str) -> String {
    let jails = format!("{}/", cfg.jails());
    match dataset.strip_prefix(&jails).and_then(|rest| rest.strip_suffix("/root")) {
        Some(name) if !name.contains('/') => format!("jail {name}"),
        _ => dataset.to_string(),
    }
}

/// Cached layers no jail, image or other layer needs, in the order they
/// can be destroyed (a layer before the one it was cloned from). Only
/// `layers` (the datasets of the cache, `BASE/LAYER`) are candidates.
pub fn prunable(layers: &[String], users: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut gone: Vec<String> = Vec::new();
    loop {
        let before = gone.len();
        for l in layers {
            if gone.contains(l) {
                continue;
            }
            let unused = users.get(l).is_none_or(|u| u.iter().all(|c| gone.contains(c)));
            if unused {
                gone.push(l.clone());
            }
        }
        if gone.len() == before {
            return gone;
        }
    }
}

/// One image, for `brig image list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ImageRow {
    pub name: String,
    pub release: String,
    pub from: String,
    /// The jails (or datasets) cloned from it.
    pub used_by: Vec<String>,
}

/// One cached layer dataset, for `brig image list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct LayerRow {
    /// What it builds on (a release or an image).
    pub base: String,
    pub layer: String,
    /// How many layers (snapshots) it holds.
    pub snapshots: usize,
    pub used_by: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::DatasetKind;

    fn snap(name: &str, clones: &str) -> DatasetInfo {
        DatasetInfo {
            name: name.into(),
            kind: DatasetKind::Snapshot,
            props: [("clones".to_string(), clones.to_string())].into_iter().collect(),
        }
    }

    #[test]
    fn a_layer_is_pruned_once_nothing_needs_it_and_after_what_it_feeds() {
        let list = vec![
            snap("c/a@l-1", "c/b"),
            snap("c/a@l-2", ""),
            snap("c/b@l-3", ""),
            snap("c/d@l-4", "j/web/root"),
            snap("c/e@l-5", "-"),
        ];
        let u = users(&list);
        let layers: Vec<String> = ["c/a", "c/b", "c/d", "c/e"].iter().map(|s| s.to_string()).collect();
        assert_eq!(prunable(&layers, &u), ["c/b", "c/e", "c/a"]);
    }

    #[test]
    fn users_are_named_as_jails() {
        let cfg = HostConfig::new(DatasetName::parse("zroot/brig").expect("name"), "/usr/local/brig".into());
        assert_eq!(user_name(&cfg, "zroot/brig/jails/web/root"), "jail web");
        assert_eq!(user_name(&cfg, "zroot/brig/layers/x/l-1"), "zroot/brig/layers/x/l-1");
    }
}
