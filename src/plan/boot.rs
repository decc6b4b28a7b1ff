//! Boot waves: which jails `brig boot start` starts, in what groups. A
//! jail's wave comes after the waves of every jail it depends on; among
//! jails of the same dependency depth, each `priority` is a wave of its
//! own, lower first. The jails of a wave start in parallel; the next wave
//! waits for the whole previous one (and its readiness checks). Stopping
//! runs the waves backwards.

use std::collections::{BTreeMap, HashMap};

use super::order::{order_what_can_start, Cycle};
use crate::model::jail::JailSpec;
use crate::model::JailName;

/// The waves, as indexes into the specs given, the jails started only
/// because a boot jail depends on them, and the jails that cannot start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waves {
    pub waves: Vec<Vec<usize>>,
    /// (jail, the boot jail that needs it)
    pub pulled_in: Vec<(String, String)>,
    /// (jail, why it cannot start): a dependency that is not defined, a
    /// dependency cycle, or a dependency that is itself blocked. The other
    /// jails still get their waves.
    pub blocked: Vec<(String, String)>,
}

/// Waves for the jails of `specs` that `pick` selects, plus every jail they
/// depend on, transitively (with `pull_in`), or only among themselves
/// (without: dependencies outside the set are ignored, as when stopping).
/// Linear in jails and dependencies, but for sorting.
pub fn waves(specs: &[JailSpec], pick: &dyn Fn(&JailSpec) -> bool, pull_in: bool) -> Waves {
    let index: HashMap<&JailName, usize> = specs.iter().enumerate().map(|(i, s)| (&s.name, i)).collect();
    let mut chosen: Vec<bool> = specs.iter().map(pick).collect();
    let mut pulled_in = Vec::new();
    let mut blocked: BTreeMap<usize, String> = BTreeMap::new();
    if pull_in {
        let mut stack: Vec<usize> = (0..specs.len()).filter(|&i| chosen[i]).collect();
        while let Some(i) = stack.pop() {
            for d in &specs[i].depends {
                let Some(&j) = index.get(d) else {
                    blocked.insert(i, format!("it depends on {d}, which is not defined"));
                    continue;
                };
                if !chosen[j] {
                    chosen[j] = true;
                    pulled_in.push((d.to_string(), specs[i].name.to_string()));
                    stack.push(j);
                }
            }
        }
    }
    // What depends on a blocked jail is blocked too.
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); specs.len()];
    for (i, s) in specs.iter().enumerate().filter(|(i, _)| chosen[*i]) {
        for &d in s.depends.iter().filter_map(|d| index.get(d)) {
            dependents[d].push(i);
        }
    }
    let mut spread: Vec<usize> = blocked.keys().copied().collect();
    while let Some(j) = spread.pop() {
        for &k in &dependents[j] {
            if let std::collections::btree_map::Entry::Vacant(e) = blocked.entry(k) {
                e.insert(format!("it depends on {}, which cannot start", specs[j].name));
                spread.push(k);
            }
        }
    }
    let picked: Vec<usize> = (0..specs.len()).filter(|&i| chosen[i] && !blocked.contains_key(&i)).collect();
    let refs: Vec<&JailSpec> = picked.iter().map(|&i| &specs[i]).collect();
    let (order, stuck) = order_what_can_start(&refs);
    if !stuck.is_empty() {
        let why = Cycle::of(&refs, &stuck).to_string();
        for &k in &stuck {
            blocked.insert(picked[k], why.clone());
        }
    }
    // Depth: 0 without dependencies in the set, else one more than the
    // deepest of them; the order puts dependencies first.
    let mut depth = vec![0usize; specs.len()];
    let mut placed = vec![false; specs.len()];
    for &k in &order {
        let i = picked[k];
        depth[i] = specs[i]
            .depends
            .iter()
            .filter_map(|d| index.get(d))
            .filter(|&&j| placed[j])
            .map(|&j| depth[j] + 1)
            .max()
            .unwrap_or(0);
        placed[i] = true;
    }
    let mut keyed: Vec<(usize, u32, usize)> =
        order.iter().map(|&k| picked[k]).map(|i| (depth[i], specs[i].priority, i)).collect();
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
    let blocked = blocked.into_iter().map(|(i, why)| (specs[i].name.to_string(), why)).collect();
    Waves { waves: out, pulled_in, blocked }
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
        let w = waves(&specs, &|s| s.boot, true);
        assert_eq!(names(&specs, &w), vec![vec!["cache", "dns"], vec!["db"], vec!["mail"], vec!["app"], vec!["web"]]);
        assert!(w.pulled_in.is_empty());
    }

    #[test]
    fn dependencies_outside_the_boot_set_are_pulled_in_and_unknown_ones_block_only_their_dependents() {
        let specs = [spec("web", "boot = true\ndepends = [\"db\"]\n"), spec("db", "")];
        let w = waves(&specs, &|s| s.boot, true);
        assert_eq!(names(&specs, &w), vec![vec!["db"], vec!["web"]]);
        assert_eq!(w.pulled_in, vec![("db".to_string(), "web".to_string())]);
        let only = waves(&specs, &|s| s.boot, false);
        assert_eq!(names(&specs, &only), vec![vec!["web"]]);
        // web lacks db, app waits for web; mail is fine and still starts.
        let specs = [
            spec("web", "boot = true\ndepends = [\"db\"]\n"),
            spec("app", "boot = true\ndepends = [\"web\"]\n"),
            spec("mail", "boot = true\n"),
        ];
        let w = waves(&specs, &|s| s.boot, true);
        assert_eq!(names(&specs, &w), vec![vec!["mail"]]);
        assert_eq!(
            w.blocked,
            vec![
                ("web".to_string(), "it depends on db, which is not defined".to_string()),
                ("app".to_string(), "it depends on web, which cannot start".to_string()),
            ]
        );
        let cycle = [
            spec("a", "boot = true\ndepends = [\"b\"]\n"),
            spec("b", "depends = [\"a\"]\n"),
            spec("c", "boot = true\n"),
        ];
        let w = waves(&cycle, &|s| s.boot, true);
        assert_eq!(names(&cycle, &w), vec![vec!["c"]]);
        let why = "the dependencies of a, b form a cycle; remove one of them from `depends`".to_string();
        assert_eq!(w.blocked, vec![("a".to_string(), why.clone()), ("b".to_string(), why)]);
    }

    #[test]
    fn ten_thousand_jails_in_a_chain_plan_quickly() {
        // A chain is the worst case for the old quadratic and cubic scans;
        // this is a correctness check at scale, not a timing.
        let mut specs = vec![spec("j0", "boot = true\n")];
        for i in 1..10_000 {
            specs.push(spec(&format!("j{i}"), &format!("boot = true\ndepends = [\"j{}\"]\n", i - 1)));
        }
        let w = waves(&specs, &|s| s.boot, true);
        assert_eq!(w.waves.len(), 10_000);
        assert_eq!(specs[w.waves[9_999][0]].name.as_str(), "j9999");
    }
}
