//! `brig gc`: finds what brig made and recorded that nothing owns any
//! more (`plan::gc`) and removes it, each the way the command that should
//! have removed it would. Under the host lock, held exclusively: no other
//! brig works meanwhile, so nothing listed is in use by one.

use std::collections::BTreeSet;
use std::path::Path;

use super::guard::recover_held;
use super::health::{forget, watch_error, WATCH_DIR};
use super::lifecycle::{remove, stop_one, Surroundings};
use super::{Error, Report};
use crate::config::{jail, HostConfig};
use crate::host::Host;
use crate::model::JailName;
use crate::plan::gc::{orphans, Orphan, Seen};
use crate::state::journal;
use crate::state::layout::{JAILS_DIR, JOURNAL_DIR, LOCK_DIR, RUNS_DIR, STARTED_DIR};

/// An orphan and how its removal went: None when it was not tried (a
/// dry run, or a dataset without `datasets`).
pub struct Collected {
    pub orphan: Orphan,
    pub removed: Option<Result<(), Error>>,
}

/// What `gc` does besides listing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Collect {
    pub dry_run: bool,
    /// Destroy the datasets of jails without a definition too: they hold
    /// data, and a definition moved aside would lose it.
    pub datasets: bool,
}

/// The valid jail names of the entries `PREFIX NAME SUFFIX` of `dir`
/// (hidden files, a write's leftovers, are not entries).
fn names_in(host: &dyn Host, dir: &str, prefix: &str, suffix: &str) -> Result<BTreeSet<String>, Error> {
    let entries = match host.list_dir(Path::new(dir)) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::Usage(format!("{}: {e}", host.local_path(Path::new(dir)).display()))),
    };
    Ok(entries
        .iter()
        .filter(|e| !e.starts_with('.'))
        .filter_map(|e| e.strip_prefix(prefix)?.strip_suffix(suffix))
        .filter(|n| JailName::parse(n).is_ok())
        .map(str::to_string)
        .collect())
}

/// Reads what `plan::gc` looks at, in a fixed number of calls plus one
/// read per journal entry.
fn read(host: &dyn Host, cfg: &HostConfig) -> Result<Seen, Error> {
    let jails = cfg.jails();
    let under = format!("{jails}/");
    let datasets = super::observe::listing(host, jails.as_str(), &["brig:jail"])?
        .into_iter()
        .filter_map(|d| {
            let child = d.name.strip_prefix(&under)?;
            // Only a dataset brig marked as that jail's, never one a
            // user made beside them.
            let marked = !child.contains('/') && d.props.get("brig:jail").is_some_and(|v| v == child);
            marked.then(|| (child.to_string(), d.name.clone()))
        })
        .collect();
    let mut journal_entries = std::collections::BTreeMap::new();
    for name in names_in(host, JOURNAL_DIR, "", ".json")? {
        let Ok(jail) = JailName::parse(&name) else { continue };
        if let Some(e) = journal::unfinished(host, &jail)? {
            journal_entries.insert(name, (e.action.as_str().to_string(), e.pid));
        }
    }
    let (specs, _) = super::select::every(host, cfg);
    let restarts = |s: &crate::model::jail::JailSpec| {
        s.health.as_ref().is_some_and(|h| h.restart != crate::model::health::Restart::No)
    };
    let supervised = specs.iter().filter(|s| restarts(s)).map(|s| s.name.to_string()).collect();
    let mut rules: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
    for rule in super::observe::rctl_rules(host, "jail:")?.unwrap_or_default() {
        if let Ok(f) = crate::kernel::rctl_rules::parse(rule.as_str()) {
            if f.subject == "jail" && JailName::parse(&f.id).is_ok() {
                rules.entry(f.id).or_default().push(rule.to_string());
            }
        }
    }
    Ok(Seen {
        definitions: names_in(host, JAILS_DIR, "", ".toml")?,
        datasets,
        running: host.jail_list()?.into_iter().filter(|j| !j.dying).map(|j| j.name).collect(),
        started: names_in(host, STARTED_DIR, "", ".json")?,
        journal: journal_entries,
        locks: names_in(host, LOCK_DIR, "jail.", ".lock")?,
        watches: names_in(host, WATCH_DIR, "", ".json")?,
        rules,
        runs: names_in(host, RUNS_DIR, "", ".json")?,
        supervised,
    })
}

/// Lists the orphans and, unless a dry run, removes them (datasets only
/// when asked); one that cannot be removed does not stop the others.
pub fn gc(host: &mut dyn Host, how: Collect, report: &dyn Report) -> Result<Vec<Collected>, Error> {
    let cfg = super::config(host)?;
    let _only = crate::state::lock::host(host)?;
    let found = orphans(&read(host, &cfg)?);
    let mut out = Vec::new();
    for orphan in found {
        let kept = matches!(orphan, Orphan::Dataset { .. }) && !how.datasets;
        let removed = (!how.dry_run && !kept).then(|| collect(host, &cfg, &orphan, report));
        out.push(Collected { orphan, removed });
    }
    Ok(out)
}

fn collect(host: &mut dyn Host, cfg: &HostConfig, orphan: &Orphan, report: &dyn Report) -> Result<(), Error> {
    let name = JailName::parse(orphan.jail())?;
    let io = |path: &Path| {
        let shown = host.local_path(path);
        move |e: std::io::Error| Error::Usage(format!("{}: {e}", shown.display()))
    };
    match orphan {
        Orphan::Journal { .. } => recover_held(host, cfg, &name, report),
        Orphan::StartRecord { .. } => {
            // A definition that no longer reads: the start record says how.
            let spec = jail::load_defined(host, &name, cfg).ok();
            let around = Surroundings::read(host, cfg)?;
            stop_one(host, cfg, &name, spec.as_ref(), &around, false, report)
        }
        Orphan::RctlRule { rule, .. } => Ok(host.rctl_remove(rule)?),
        Orphan::Dataset { .. } => remove(host, cfg, &name, false),
        Orphan::Watch { .. } => forget(host, &name).map_err(|e| watch_error(host, &name, &e)),
        Orphan::Lock { .. } => {
            let path = Path::new(LOCK_DIR).join(format!("jail.{name}.lock"));
            let e = io(&path);
            host.remove_file(&path).map_err(e)
        }
    }
}
