//! The order jails start in: every jail after the jails it depends on,
//! and among jails free to start, lower `priority` first, then by name.
//! Stopping is the reverse.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use thiserror::Error;

use crate::model::jail::JailSpec;
use crate::model::JailName;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the dependencies of {} form a cycle; remove one of them from `depends`", jails.join(", "))]
pub struct Cycle {
    pub jails: Vec<String>,
}

impl Cycle {
    /// The jails of the cycle that keeps `stuck` (indexes of `specs`, as
    /// `order_what_can_start` leaves them) from starting, by name: the
    /// stuck jails that only wait behind the cycle are peeled off, those
    /// no other stuck jail depends on first, until none is left to peel.
    pub fn of(specs: &[&JailSpec], stuck: &[usize]) -> Cycle {
        let index: HashMap<&JailName, usize> = stuck.iter().map(|&i| (&specs[i].name, i)).collect();
        // How many stuck jails depend on each stuck jail; peeling one that
        // none depends on may free the one it waits for. O(n + e).
        let mut needed_by: HashMap<usize, usize> = stuck.iter().map(|&i| (i, 0)).collect();
        for &i in stuck {
            for d in specs[i].depends.iter().filter_map(|d| index.get(d)) {
                *needed_by.entry(*d).or_default() += 1;
            }
        }
        let mut peel: Vec<usize> = stuck.iter().copied().filter(|i| needed_by[i] == 0).collect();
        while let Some(i) = peel.pop() {
            needed_by.remove(&i);
            for d in specs[i].depends.iter().filter_map(|d| index.get(d)) {
                if let Some(n) = needed_by.get_mut(d) {
                    *n -= 1;
                    if *n == 0 {
                        peel.push(*d);
                    }
                }
            }
        }
        let left: Vec<usize> = needed_by.into_keys().collect();
        let mut jails: Vec<String> = left.iter().map(|&i| specs[i].name.to_string()).collect();
        jails.sort();
        Cycle { jails }
    }
}

/// The start order (indexes of `specs`) of every jail that can start,
/// and the jails that cannot: those in a dependency cycle and those that
/// depend on one. Dependencies on jails outside `specs` are the caller's
/// to check.
/// Kahn's algorithm with a heap for (priority, name): O((n + e) log n).
pub fn order_what_can_start(specs: &[&JailSpec]) -> (Vec<usize>, Vec<usize>) {
    let index: HashMap<&JailName, usize> = specs.iter().enumerate().map(|(i, s)| (&s.name, i)).collect();
    // How many of its dependencies in the set each jail still waits for,
    // and who waits for each.
    let mut waiting = vec![0usize; specs.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); specs.len()];
    for (i, s) in specs.iter().enumerate() {
        for d in s.depends.iter().filter_map(|d| index.get(d)) {
            waiting[i] += 1;
            dependents[*d].push(i);
        }
    }
    let key = |i: usize| Reverse((specs[i].priority, &specs[i].name, i));
    let mut ready: BinaryHeap<_> = (0..specs.len()).filter(|&i| waiting[i] == 0).map(key).collect();
    let mut order = Vec::with_capacity(specs.len());
    while let Some(Reverse((_, _, i))) = ready.pop() {
        order.push(i);
        for &k in &dependents[i] {
            waiting[k] -= 1;
            if waiting[k] == 0 {
                ready.push(key(k));
            }
        }
    }
    let stuck = (0..specs.len()).filter(|&i| waiting[i] > 0).collect();
    (order, stuck)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::empty as spec;

    #[test]
    fn dependencies_first_then_priority_then_name() {
        let specs = [
            spec("web", "depends = [\"app\"]\n"),
            spec("app", "depends = [\"db\", \"cache\"]\n"),
            spec("db", "priority = 20\n"),
            spec("cache", "priority = 10\n"),
            spec("mail", ""),
        ];
        let refs: Vec<&JailSpec> = specs.iter().collect();
        let (order, stuck) = order_what_can_start(&refs);
        let order: Vec<String> = order.into_iter().map(|i| specs[i].name.to_string()).collect();
        assert_eq!(order, vec!["cache", "db", "app", "mail", "web"]);
        assert!(stuck.is_empty());
    }

    #[test]
    fn a_cycle_names_its_jails() {
        let specs = [
            spec("a", "depends = [\"b\"]\n"),
            spec("b", "depends = [\"a\"]\n"),
            spec("c", ""),
            spec("d", "depends = [\"a\"]\n"),
        ];
        let refs: Vec<&JailSpec> = specs.iter().collect();
        let (order, stuck) = order_what_can_start(&refs);
        assert_eq!((order, stuck.clone()), (vec![2], vec![0, 1, 3]), "d waits behind the cycle; c starts");
        let e = Cycle::of(&refs, &stuck);
        assert_eq!(e.to_string(), "the dependencies of a, b form a cycle; remove one of them from `depends`");
    }
}
