//! Boot waves: which jails `brig boot start` starts, in what groups. A
//! jail's wave comes after the waves of every jail it depends on; among
//! jails of the same dependency depth, each `priority` is a wave of its
//! own, lower first. The jails of a wave start in parallel; the next wave
//! waits for the whole previous one (and its readiness checks). Stopping
//! runs the waves backwards.

use thiserror::Error;

use super::order::{start_order, Cycle};
use crate::model::jail::JailSpec;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BootPlanError {
    #[error(transparent)]
    Cycle(#[from] Cycle),
    #[error("jail {jail} depends on {dependency}, which is not defined; define it or remove it from `depends`")]
    Unknown { jail: String, dependency: String },
}

/// The waves, as indexes into the specs given, and the jails started only
/// because a boot jail depends on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waves {
    pub waves: Vec<Vec<usize>>,
    /// (jail, the boot jail that needs it)
    pub pulled_in: Vec<(String, String)>,
}

/// Waves for the jails of `specs` that `pick` selects, plus every jail they
/// depend on, transitively (with `pull_in`), or only among themselves
/// (without: dependencies outside the set are ignored, as when stopping).
pub fn waves(specs: &[JailSpec], pick: &dyn Fn(&JailSpec) -> bool, pull_in: bool) -> Result<Waves, BootPlanError> {
    let index = |name: &str| specs.iter().position(|s| s.name.as_str() == name);
    let mut chosen: Vec<bool> = specs.iter().map(pick).collect();
    let mut pulled_in = Vec::new();
    if pull_in {
        let mut stack: Vec<usize> = (0..specs.len()).filter(|&i| chosen[i]).collect();
        while let Some(i) = stack.pop() {
            for d in &specs[i].depends {
                let j = index(d.as_str()).ok_or_else(|| BootPlanError::Unknown {
                    jail: specs[i].name.to_string(),
                    dependency: d.to_string(),
                })?;
                if !chosen[j] {
                    chosen[j] = true;
                    pulled_in.push((d.to_string(), specs[i].name.to_string()));
                    stack.push(j);
                }
            }
        }
    }
    let picked: Vec<usize> = (0..specs.len()).filter(|&i| chosen[i]).collect();
    let refs: Vec<&JailSpec> = picked.iter().map(|&i| &specs[i]).collect();
    let order = start_order(&refs)?;
    // Depth: 0 without dependencies in the set, else one more than the
    // deepest of them; start_order puts dependencies first.
    let mut depth = vec![0usize; specs.len()];
    for &k in &order {
        let i = picked[k];
        depth[i] = specs[i]
            .depends
            .iter()
            .filter_map(|d| index(d.as_str()))
            .filter(|&j| chosen[j])
            .map(|j| depth[j] + 1)
            .max()
            .unwrap_or(0);
    }
    let mut keyed: Vec<(usize, u32, usize)> = picked.iter().map(|&i| (depth[i], specs[i].priority, i)).collect();
    keyed.sort_by(|a, b| (a.0, a.1, &specs[a.2].name).cmp(&(b.0, b.1, &specs[b.2].name)));
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut last = None;
    for (d, p, i) in keyed {
        if last != Some((d, p)) {
            out.push(Vec::new());
            last = Some((d, p));
        }
        if let Some(w) = out.last_mut() {
            w.push(i);
        }
    }
    pulled_in.sort();
    Ok(Waves { waves: out, pulled_in })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::empty as spec;

    fn names(specs: &[JailSpec], w: &Waves) -> Vec<Vec<String>> {
        w.waves.iter().map(|wave| wave.iter().map(|&i| specs[i].name.to_string()).collect()).collect()
    }

    #[test]
    fn dependencies_then_priority_make_the_waves() {
        let specs = [
            spec("web", "boot = true\ndepends = [\"app\"]\n"),
            spec("app", "boot = true\ndepends = [\"db\", \"cache\"]\n"),
            spec("db", "boot = true\npriority = 20\n"),
            spec("cache", "boot = true\npriority = 10\n"),
            spec("dns", "boot = true\npriority = 10\n"),
            spec("mail", "boot = true\n"),
            spec("lab", ""),
        ];
        let w = waves(&specs, &|s| s.boot, true).expect("plans");
        assert_eq!(names(&specs, &w), vec![vec!["cache", "dns"], vec!["db"], vec!["mail"], vec!["app"], vec!["web"]]);
        assert!(w.pulled_in.is_empty());
    }

    #[test]
    fn dependencies_outside_the_boot_set_are_pulled_in_and_unknown_ones_refused() {
        let specs = [spec("web", "boot = true\ndepends = [\"db\"]\n"), spec("db", "")];
        let w = waves(&specs, &|s| s.boot, true).expect("plans");
        assert_eq!(names(&specs, &w), vec![vec!["db"], vec!["web"]]);
        assert_eq!(w.pulled_in, vec![("db".to_string(), "web".to_string())]);
        let only = waves(&specs, &|s| s.boot, false).expect("plans");
        assert_eq!(names(&specs, &only), vec![vec!["web"]]);
        let lone = [spec("web", "boot = true\ndepends = [\"db\"]\n")];
        assert_eq!(
            waves(&lone, &|s| s.boot, true).map_err(|e| e.to_string()),
            Err("jail web depends on db, which is not defined; define it or remove it from `depends`".into())
        );
        let cycle = [spec("a", "boot = true\ndepends = [\"b\"]\n"), spec("b", "depends = [\"a\"]\n")];
        assert!(matches!(waves(&cycle, &|s| s.boot, true), Err(BootPlanError::Cycle(_))));
    }
}
