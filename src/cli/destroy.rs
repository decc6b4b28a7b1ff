use std::process::ExitCode;

use clap::Args;

use super::CliError;
use crate::config::HostConfig;
use crate::host::Host;
use crate::model::JailName;
use crate::plan::jail::{self as plan, DestroySeen};
use crate::state::journal::Action;

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The jail to destroy.
    pub name: String,
    /// Stop a running jail first (its processes are killed), and destroy it even if other jails depend on it.
    #[arg(long)]
    pub force: bool,
}

pub fn run(host: &mut dyn Host, args: &DestroyArgs) -> Result<ExitCode, CliError> {
    let cfg = super::require_config(host)?;
    let name = JailName::parse(&args.name)?;
    // A destroy that was killed is finished by the guard's recovery; then
    // this one has nothing left to do, and that is success.
    let finishing = crate::state::journal::unfinished(host, &name)?.is_some_and(|e| e.action == Action::Destroy);
    let _lock = super::guard::guard(host, &cfg, &[&name])?;
    let def_path = host.local_path(&crate::state::layout::definition_path(&name));
    let definition_exists = def_path.exists();
    let dataset_exists = crate::app::observe::dataset_exists(host, plan::dataset(&cfg, &name).as_str())?;
    if !definition_exists && !dataset_exists {
        if finishing {
            println!("destroyed jail {name}");
            return Ok(ExitCode::SUCCESS);
        }
        return Err(CliError::NotFound(format!("jail {name} does not exist; `brig list` shows the jails")));
    }
    let running = host.jail_find(name.as_str())?;
    // Not even --force takes a jail brig did not start.
    if let Some(why) = running.as_ref().and_then(|j| crate::app::observe::foreign(host, &cfg, &name, j)) {
        return Err(CliError::Failed(why));
    }
    if let (Some(j), false) = (&running, args.force) {
        return Err(CliError::Failed(format!(
            "jail {name} is running (jid {}); stop it first, or pass --force to kill its processes and destroy it",
            j.jid
        )));
    }
    let needed_by = dependents(host, &cfg, &name);
    if !needed_by.is_empty() && !args.force {
        let list: Vec<String> = needed_by.iter().map(ToString::to_string).collect();
        return Err(CliError::Failed(format!(
            "jail {name} is in the depends of {}; remove it there first (they could not start without it), or pass --force",
            list.join(", ")
        )));
    }
    super::guard::journaled(host, &name, Action::Destroy, |h| remove_everything(h, &cfg, &name))?;
    println!("destroyed jail {name}");
    Ok(ExitCode::SUCCESS)
}

/// The defined jails that depend on `name` (definitions that do not read
/// are passed over: they cannot start anyway).
fn dependents(host: &dyn Host, cfg: &HostConfig, name: &JailName) -> Vec<JailName> {
    let files = crate::config::jail::definition_files(host).unwrap_or_default();
    files
        .iter()
        .filter_map(|p| Some((p, crate::config::jail::name_of(p)?)))
        .filter_map(|(p, n)| crate::config::jail::load(p, &n, cfg).ok())
        .filter(|s| s.depends.contains(name))
        .map(|s| s.name)
        .collect()
}

/// Everything of a jail goes, running or not: the jail, its mounts,
/// aliases, rules, datasets, records and definition (what destroy --force
/// does, and how an interrupted create is taken back).
pub(super) fn remove_everything(host: &mut dyn Host, cfg: &HostConfig, name: &JailName) -> Result<(), CliError> {
    remove(host, cfg, name, true)
}

/// All of it but the definition: how an interrupted apply that was making
/// the jail's datasets is taken back.
pub(super) fn remove_all_but_definition(
    host: &mut dyn Host,
    cfg: &HostConfig,
    name: &JailName,
) -> Result<(), CliError> {
    remove(host, cfg, name, false)
}

fn remove(host: &mut dyn Host, cfg: &HostConfig, name: &JailName, definition: bool) -> Result<(), CliError> {
    let def_path = host.local_path(&crate::state::layout::definition_path(name));
    let running = host.jail_find(name.as_str())?;
    let dying = match running {
        Some(_) => None,
        None => crate::app::observe::dying(host, name.as_str())?,
    };
    let mounts = host.mounts()?;
    let interfaces = host.interfaces()?;
    let started = crate::app::observe::started(host, name);
    let rules = crate::app::observe::rctl_rules(host, "jail:")?.unwrap_or_default();
    let seen = DestroySeen {
        dying: dying.as_ref(),
        rules: &rules,
        started: started.as_ref(),
        running: running.as_ref(),
        mounts: &mounts,
        interfaces: &interfaces,
        dataset_exists: crate::app::observe::dataset_exists(host, plan::dataset(cfg, name).as_str())?,
        definition_exists: definition && def_path.exists(),
    };
    crate::exec::run(host, &plan::destroy(cfg, name, &seen))?;
    Ok(())
}
