//! The order jails start in: every jail after the jails it depends on,
//! and among jails free to start, lower `priority` first, then by name.
//! Stopping is the reverse.

use thiserror::Error;

use crate::model::jail::JailSpec;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the dependencies of {} form a cycle; remove one of them from `depends`", jails.join(", "))]
pub struct Cycle {
    pub jails: Vec<String>,
}

/// Indexes of `specs` in start order. Dependencies on jails outside
/// `specs` are the caller's to check.
pub fn start_order(specs: &[&JailSpec]) -> Result<Vec<usize>, Cycle> {
    let mut done: Vec<bool> = vec![false; specs.len()];
    let mut out = Vec::with_capacity(specs.len());
    let inside = |n: &crate::model::JailName| specs.iter().position(|s| &s.name == n);
    while out.len() < specs.len() {
        let ready = (0..specs.len())
            .filter(|&i| !done[i] && specs[i].depends.iter().filter_map(inside).all(|d| done[d]))
            .min_by_key(|&i| (specs[i].priority, specs[i].name.clone()));
        match ready {
            Some(i) => {
                done[i] = true;
                out.push(i);
            }
            None => {
                let mut jails: Vec<String> =
                    (0..specs.len()).filter(|&i| !done[i]).map(|i| specs[i].name.to_string()).collect();
                jails.sort();
                return Err(Cycle { jails });
            }
        }
    }
    Ok(out)
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
        let order: Vec<String> =
            start_order(&refs).expect("no cycle").into_iter().map(|i| specs[i].name.to_string()).collect();
        assert_eq!(order, vec!["cache", "db", "app", "mail", "web"]);
    }

    #[test]
    fn a_cycle_names_its_jails() {
        let specs = [spec("a", "depends = [\"b\"]\n"), spec("b", "depends = [\"a\"]\n"), spec("c", "")];
        let refs: Vec<&JailSpec> = specs.iter().collect();
        let e = start_order(&refs).expect_err("cycle");
        assert_eq!(e.to_string(), "the dependencies of a, b form a cycle; remove one of them from `depends`");
    }
}
