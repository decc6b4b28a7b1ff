//! Taking a jail in hand: its lock, then recovery of whatever a killed
//! brig left half-done to it (journal), before the command itself; and
//! the journal entry around the command's own changes.

use super::CliError;
use crate::config::{jail, HostConfig};
use crate::host::Host;
use crate::journal::{self, Action};
use crate::lock::Held;
use crate::model::JailName;
use crate::plan::jail::definition_path;

/// Locks `names` (lock::jails) and recovers each from an interrupted
/// command, saying what was done.
pub(super) fn guard(host: &mut dyn Host, cfg: &HostConfig, names: &[&JailName]) -> Result<Vec<Held>, CliError> {
    let held = crate::lock::jails(host, names.iter().copied())?;
    for name in names {
        sweep(host, name)?;
        recover(host, cfg, name)?;
    }
    Ok(held)
}

/// Removes what a killed brig left half-written for `name`: temporary
/// files of its definition, journal entry and start record, and the copy
/// an interrupted `edit` was working on. Only under the jail's lock, so no
/// brig is writing them.
fn sweep(host: &dyn Host, name: &JailName) -> Result<(), CliError> {
    let files = [definition_path(name), journal::path(name), crate::plan::run::started_path(name)];
    for f in files.iter().map(|f| host.local_path(f)) {
        crate::config::atomic::remove_leftovers(&f).map_err(|e| crate::config::ConfigError::io(&f, e))?;
    }
    let copy = super::edit::copy_path(&host.local_path(&definition_path(name)), name);
    match std::fs::remove_file(&copy) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(crate::config::ConfigError::io(&copy, e).into()),
        _ => Ok(()),
    }
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
