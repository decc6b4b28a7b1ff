//! Taking a jail in hand: its lock, then recovery of whatever a killed
//! brig left half-done to it (journal), before the command itself; and
//! the journal entry around the command's own changes.

use std::path::Path;

use super::CliError;
use crate::config::{jail, HostConfig};
use crate::host::Host;
use crate::model::JailName;
use crate::state::journal::{self, Action};
use crate::state::layout::definition_path;
use crate::state::lock::Held;

/// Locks `names` (lock::jails) and recovers each from an interrupted
/// command, saying what was done.
pub(super) fn guard(host: &mut dyn Host, cfg: &HostConfig, names: &[&JailName]) -> Result<Vec<Held>, CliError> {
    let held = crate::state::lock::jails(host, names.iter().copied())?;
    sweep(host, names)?;
    for name in names {
        recover(host, cfg, name)?;
    }
    Ok(held)
}

/// Removes what a killed brig left half-written for `names`: temporary
/// files of their definitions, journal entries and start records, and the
/// copies an interrupted `edit` was working on. Only under the jails'
/// locks, so no brig is writing them; one pass over each directory.
fn sweep(host: &dyn Host, names: &[&JailName]) -> Result<(), CliError> {
    let mine: std::collections::BTreeSet<&str> = names.iter().map(|n| n.as_str()).collect();
    let ours = |entry: &str, ext: &str| {
        crate::state::atomic::temp_of(entry).and_then(|f| f.strip_suffix(ext)).is_some_and(|n| mine.contains(n))
    };
    let edit_copy = |entry: &str| {
        entry.strip_prefix('.').and_then(|e| e.strip_suffix(super::edit::COPY_SUFFIX)).is_some_and(|n| mine.contains(n))
    };
    let sweep = |dir: &str, leftover: &dyn Fn(&str) -> bool| {
        let dir = host.local_path(Path::new(dir));
        crate::state::atomic::remove_leftovers(&dir, leftover).map_err(|e| crate::config::ConfigError::io(&dir, e))
    };
    sweep(crate::state::layout::JAILS_DIR, &|e| ours(e, ".toml") || edit_copy(e))?;
    sweep(crate::state::layout::JOURNAL_DIR, &|e| ours(e, ".json"))?;
    sweep(crate::state::layout::STARTED_DIR, &|e| ours(e, ".json"))?;
    Ok(())
}

/// Runs `f`, the changes of `action` to `name`, with a journal entry that
/// only a killed process leaves behind: success and a failure (whose
/// steps exec has undone) both end it.
pub(super) fn journaled<T>(
    host: &mut dyn Host,
    name: &JailName,
    action: Action,
    f: impl FnOnce(&mut dyn Host) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let open = journal::begin(host, name, action)?;
    let out = f(host);
    open.finish()?;
    out
}

/// A create is taken back (it had not finished, so the jail never
/// existed); a start is taken back as a stop would; a stop, a destroy and
/// an apply are finished; an apply that was making the jail's datasets is
/// taken back but for the definition, and made again from it.
fn recover(host: &mut dyn Host, cfg: &HostConfig, name: &JailName) -> Result<(), CliError> {
    let Some(entry) = journal::unfinished(host, name)? else { return Ok(()) };
    let def = host.local_path(&definition_path(name));
    let spec = || jail::load(&def, name, cfg);
    let done = match entry.action {
        Action::Create => {
            super::destroy::remove_everything(host, cfg, name)?;
            "taken back"
        }
        Action::Destroy => {
            super::destroy::remove_everything(host, cfg, name)?;
            "finished"
        }
        Action::Start | Action::Stop => {
            // A definition that no longer reads: the start record says how.
            let spec = spec().ok();
            let around = super::run::Surroundings::read(host, cfg)?;
            super::run::stop_one(host, cfg, name, spec.as_ref(), &around, false)?;
            if entry.action == Action::Start {
                "taken back"
            } else {
                "finished"
            }
        }
        Action::Provision => {
            super::destroy::remove_all_but_definition(host, cfg, name)?;
            let spec = spec()?;
            let plans = super::apply::plans(host, cfg, std::slice::from_ref(&spec))?;
            for p in &plans {
                crate::exec::run(host, &p.ops)?;
            }
            "taken back and done again"
        }
        Action::Apply => {
            let spec = spec()?;
            let plans = super::apply::plans(host, cfg, std::slice::from_ref(&spec))?;
            for p in plans.iter().filter(|p| p.restart.is_empty()) {
                crate::exec::run(host, &p.ops)?;
            }
            "finished"
        }
    };
    journal::clear(host, name)?;
    eprintln!("brig: jail {name}: an interrupted {} (pid {}) was {done}", entry.action.as_str(), entry.pid);
    Ok(())
}
