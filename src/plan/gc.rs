//! What `brig gc` finds: things brig made and recorded that nothing owns
//! any more, each with why it is an orphan. Pure: the caller reads the
//! machine into [`Seen`] and removes what is listed. Only brig's own
//! things are considered: datasets it marked `brig:jail`, its records,
//! locks and journal entries, and rctl rules of jails it knows.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// What the machine holds, by jail name.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Names with a definition file (readable or not).
    pub definitions: BTreeSet<String>,
    /// Jail name to its dataset, for datasets marked `brig:jail`.
    pub datasets: BTreeMap<String, String>,
    /// Running (not dying) jails.
    pub running: BTreeSet<String>,
    /// Start records.
    pub started: BTreeSet<String>,
    /// Journal entries: the action and the pid of the brig that wrote it.
    pub journal: BTreeMap<String, (String, u32)>,
    /// `jail.NAME.lock` files.
    pub locks: BTreeSet<String>,
    /// Supervisor records.
    pub watches: BTreeSet<String>,
    /// rctl rules of jails, as the kernel lists them, by jail name.
    pub rules: BTreeMap<String, Vec<String>>,
    /// Jails of `brig run` records (their brig removes them).
    pub runs: BTreeSet<String>,
    /// Jails whose definition has a restart policy: one that stopped on
    /// its own is `brig supervise`'s to restart, not an orphan.
    pub supervised: BTreeSet<String>,
}

/// One thing to remove, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Orphan {
    /// An entry a killed brig left: recovered (taken back or finished)
    /// as the next command on the jail would.
    Journal { jail: String, action: String, pid: u32 },
    /// A start record of a jail that is not running: what that start set
    /// up (aliases, mounts, rules, pf anchor, epair, pipes) is taken down
    /// as a stop would, and the record goes.
    StartRecord { jail: String },
    /// A jail rule of a jail brig knows that is not running.
    RctlRule { jail: String, rule: String },
    /// A jail's dataset without a definition: destroyed with its
    /// snapshots.
    Dataset { jail: String, dataset: String },
    /// The supervisor's record of a jail without a definition.
    Watch { jail: String },
    /// The lock file of a jail without a definition.
    Lock { jail: String },
}

impl Orphan {
    pub fn jail(&self) -> &str {
        match self {
            Orphan::Journal { jail, .. }
            | Orphan::StartRecord { jail }
            | Orphan::RctlRule { jail, .. }
            | Orphan::Dataset { jail, .. }
            | Orphan::Watch { jail }
            | Orphan::Lock { jail } => jail,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Orphan::Journal { .. } => "journal",
            Orphan::StartRecord { .. } => "start-record",
            Orphan::RctlRule { .. } => "rctl-rule",
            Orphan::Dataset { .. } => "dataset",
            Orphan::Watch { .. } => "watch",
            Orphan::Lock { .. } => "lock",
        }
    }

    /// What it is, for a listing.
    pub fn what(&self) -> String {
        match self {
            Orphan::Journal { action, .. } => format!("journal entry of an interrupted {action}"),
            Orphan::StartRecord { .. } => "start record".into(),
            Orphan::RctlRule { rule, .. } => format!("rctl rule {rule}"),
            Orphan::Dataset { dataset, .. } => format!("dataset {dataset}"),
            Orphan::Watch { .. } => "supervisor record".into(),
            Orphan::Lock { .. } => "lock file".into(),
        }
    }

    /// Why nothing owns it.
    pub fn why(&self) -> String {
        match self {
            Orphan::Journal { pid, .. } => {
                format!("brig (pid {pid}) was killed before it finished; it is recovered as the next command would")
            }
            Orphan::StartRecord { .. } => {
                "the jail is not running and has no restart policy; what its start set up is taken down as a stop would"
                    .into()
            }
            Orphan::RctlRule { .. } => "the jail is not running; brig adds its rules at start".into(),
            Orphan::Dataset { .. } => "no definition names it (it is not running either)".into(),
            Orphan::Watch { .. } => "no definition names the jail".into(),
            Orphan::Lock { .. } => "the jail has no definition, and no brig works on it".into(),
        }
    }
}

/// The orphans, in the order they are removed: interrupted work first
/// (its recovery may remove more), then what a stop would take down,
/// rules, datasets, and files last.
pub fn orphans(seen: &Seen) -> Vec<Orphan> {
    let mut out = Vec::new();
    for (jail, (action, pid)) in &seen.journal {
        out.push(Orphan::Journal { jail: jail.clone(), action: action.clone(), pid: *pid });
    }
    let busy = |j: &String| seen.running.contains(j) || seen.journal.contains_key(j) || seen.runs.contains(j);
    for jail in seen.started.iter().filter(|j| !busy(j) && !seen.supervised.contains(*j)) {
        out.push(Orphan::StartRecord { jail: jail.clone() });
    }
    // A jail brig knows: one it defined, made or started.
    let known = |j: &String| seen.definitions.contains(j) || seen.datasets.contains_key(j) || seen.started.contains(j);
    for (jail, rules) in seen.rules.iter().filter(|(j, _)| known(j) && !busy(j) && !seen.started.contains(*j)) {
        out.extend(rules.iter().map(|rule| Orphan::RctlRule { jail: jail.clone(), rule: rule.clone() }));
    }
    for (jail, dataset) in &seen.datasets {
        if !seen.definitions.contains(jail) && !busy(jail) {
            out.push(Orphan::Dataset { jail: jail.clone(), dataset: dataset.clone() });
        }
    }
    for jail in seen.watches.iter().filter(|j| !seen.definitions.contains(*j)) {
        out.push(Orphan::Watch { jail: jail.clone() });
    }
    // A lock is made again by whichever command next takes it: without a
    // definition, and with no brig at work on the jail, it goes.
    for jail in seen.locks.iter().filter(|j| !seen.definitions.contains(*j) && !busy(j)) {
        out.push(Orphan::Lock { jail: jail.clone() });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_what_nothing_owns_is_an_orphan() {
        let seen = Seen {
            definitions: set(&["web", "db", "idle"]),
            datasets: [("web", "z/brig/jails/web"), ("old", "z/brig/jails/old"), ("cut", "z/brig/jails/cut")]
                .map(|(j, d)| (j.to_string(), d.to_string()))
                .into(),
            running: set(&["web", "foreign"]),
            started: set(&["web", "db"]),
            journal: [("cut".to_string(), ("create".to_string(), 77))].into(),
            locks: set(&["web", "old", "gone", "cut"]),
            watches: set(&["web", "old"]),
            rules: [
                ("idle".to_string(), vec!["jail:idle:maxproc:deny=10".to_string()]),
                ("web".to_string(), vec!["jail:web:maxproc:deny=10".to_string()]),
                ("foreign".to_string(), vec!["jail:foreign:maxproc:deny=10".to_string()]),
                ("db".to_string(), vec!["jail:db:maxproc:deny=10".to_string()]),
            ]
            .into(),
            runs: BTreeSet::new(),
            supervised: set(&["sup"]),
        };
        let mut seen = seen;
        // A jail with a restart policy that stopped on its own waits for
        // the supervisor.
        seen.started.insert("sup".into());
        let got: Vec<(String, String)> = orphans(&seen).iter().map(|o| (o.kind().into(), o.jail().into())).collect();
        let want = [
            ("journal", "cut"),
            // db stopped on its own: its record (and with it its rules,
            // which the stop removes) is the orphan.
            ("start-record", "db"),
            ("rctl-rule", "idle"),
            ("dataset", "old"),
            ("watch", "old"),
            ("lock", "gone"),
            ("lock", "old"),
        ];
        assert_eq!(got, want.map(|(k, j)| (k.to_string(), j.to_string())));
    }
}
