//! Taking jails in hand: their locks, then recovery of whatever a killed
//! brig left half-done to them (the journal), before the command itself.

use std::collections::BTreeSet;
use std::path::Path;

use super::lifecycle::{plans, remove, stop_one, Surroundings};
use super::{Error, Event, Recovery, Report};
use crate::config::{jail, ConfigError, HostConfig};
use crate::host::Host;
use crate::model::JailName;
use crate::state::atomic::{remove_leftovers, temp_of};
use crate::state::journal::{self, Action};
use crate::state::layout::{JAILS_DIR, JOURNAL_DIR, STARTED_DIR};
use crate::state::lock::{self, Held};

/// The end of the name of the copy `brig edit` works on, `.NAME.edit.toml`.
pub const EDIT_COPY_SUFFIX: &str = ".edit.toml";

/// Locks `names` (lock::jails) and recovers each from an interrupted
/// command, reporting what was done.
pub fn guard(
    host: &mut dyn Host,
    cfg: &HostConfig,
    names: &[&JailName],
    report: &dyn Report,
) -> Result<Vec<Held>, Error> {
    let held = lock::jails(host, names.iter().copied())?;
    sweep(host, names)?;
    for name in names {
        recover(host, cfg, name, report)?;
    }
    Ok(held)
}

/// What `guard` does after it has locked, for a caller that holds the
/// host lock exclusively (`brig gc`), which no other brig can hold a
/// jail's lock beside.
pub fn recover_held(host: &mut dyn Host, cfg: &HostConfig, name: &JailName, report: &dyn Report) -> Result<(), Error> {
    sweep(host, &[name])?;
    recover(host, cfg, name, report)
}

/// `guard` unless the command only shows what it would do.
pub fn guard_unless(
    dry_run: bool,
    host: &mut dyn Host,
    cfg: &HostConfig,
    names: &[&JailName],
    report: &dyn Report,
) -> Result<Vec<Held>, Error> {
    if dry_run {
        return Ok(Vec::new());
    }
    guard(host, cfg, names, report)
}

/// Removes what a killed brig left half-written for `names`: temporary
/// files of their definitions, journal entries and start records, and the
/// copies an interrupted `edit` was working on. Only under the jails'
/// locks, so no brig is writing them; one pass over each directory.
fn sweep(host: &dyn Host, names: &[&JailName]) -> Result<(), Error> {
    let mine: BTreeSet<&str> = names.iter().map(|n| n.as_str()).collect();
    let ours =
        |entry: &str, ext: &str| temp_of(entry).and_then(|f| f.strip_suffix(ext)).is_some_and(|n| mine.contains(n));
    let edit_copy = |entry: &str| {
        entry.strip_prefix('.').and_then(|e| e.strip_suffix(EDIT_COPY_SUFFIX)).is_some_and(|n| mine.contains(n))
    };
    let sweep = |dir: &str, leftover: &dyn Fn(&str) -> bool| {
        remove_leftovers(host, Path::new(dir), leftover)
            .map_err(|e| ConfigError::io(host.local_path(Path::new(dir)), e))
    };
    sweep(JAILS_DIR, &|e| ours(e, ".toml") || edit_copy(e))?;
    sweep(JOURNAL_DIR, &|e| ours(e, ".json"))?;
    sweep(STARTED_DIR, &|e| ours(e, ".json"))?;
    Ok(())
}

/// A create is taken back (it had not finished, so the jail never
/// existed); a start is taken back as a stop would; a stop, a destroy and
/// an apply are finished; an apply that was making the jail's datasets is
/// taken back but for the definition, and made again from it.
fn recover(host: &mut dyn Host, cfg: &HostConfig, name: &JailName, report: &dyn Report) -> Result<(), Error> {
    let Some(entry) = journal::unfinished(host, name)? else { return Ok(()) };
    let how = match entry.action {
        Action::Create => {
            remove(host, cfg, name, true)?;
            Recovery::TakenBack
        }
        Action::Destroy => {
            remove(host, cfg, name, true)?;
            Recovery::Finished
        }
        Action::Start | Action::Stop => {
            // A definition that no longer reads: the start record says how.
            let spec = jail::load_defined(host, name, cfg).ok();
            let around = Surroundings::read(host, cfg)?;
            stop_one(host, cfg, name, spec.as_ref(), &around, false, report)?;
            // Killed while it made an epair: one no record names.
            crate::exec::sweep_unnamed_epairs(host)?;
            if entry.action == Action::Start {
                Recovery::TakenBack
            } else {
                Recovery::Finished
            }
        }
        Action::Provision => {
            remove(host, cfg, name, false)?;
            let spec = jail::load_defined(host, name, cfg)?;
            for p in &plans(host, cfg, std::slice::from_ref(&spec))? {
                crate::exec::run(host, &p.ops)?;
            }
            Recovery::TakenBackAndRedone
        }
        // The stop finished, and the jail runs here again; a migration
        // run again moves it.
        Action::Migrate => {
            let spec = jail::load_defined(host, name, cfg)?;
            if host.jail_find(name.as_str())?.is_none() {
                let around = Surroundings::read(host, cfg)?;
                super::lifecycle::stop_under_entry(host, cfg, name, Some(&spec), &around, report)?;
                super::lifecycle::start_alone(host, cfg, &spec, &[], report)?;
            }
            Recovery::TakenBack
        }
        Action::Upgrade => super::upgrade::recover(host, cfg, name, &entry, report)?,
        Action::Commit => super::image::recover_commit(host, cfg, name)?,
        Action::Build => {
            let build = entry.build.unwrap_or(journal::BuildEntry { was_running: false, busy: true });
            super::provision::recover(host, cfg, name, &build, report)?;
            Recovery::TakenBack
        }
        Action::Apply => {
            let spec = jail::load_defined(host, name, cfg)?;
            let plans = plans(host, cfg, std::slice::from_ref(&spec))?;
            for p in plans.iter().filter(|p| p.restart.is_empty()) {
                crate::exec::run(host, &p.ops)?;
            }
            Recovery::Finished
        }
    };
    journal::clear(host, name)?;
    report.event(&Event::Recovered { jail: name, action: entry.action, pid: entry.pid, how });
    // The event log names the recovery too: the command that did it
    // logs only itself.
    let mut r = crate::state::events::Record::now(
        "recover",
        std::env::args().skip(1).collect(),
        vec![name.to_string()],
        None,
        std::time::Duration::ZERO,
    );
    r.detail = Some(format!("an interrupted {} (pid {}) was {}", entry.action.as_str(), entry.pid, how.as_str()));
    super::log_event(host, &r, name, report);
    Ok(())
}
