//! `destroy`: a jail's datasets and definition go; its release stays.

use super::guard::guard;
use super::lifecycle::remove;
use super::{Error, NotFound, Refused, Report};
use crate::host::Host;
use crate::model::JailName;
use crate::plan::jail as plan;
use crate::state::journal::{self, Action};
use crate::state::layout::definition_path;

/// Destroys jail `name`. A running jail is refused unless `force`, and so
/// is one other jails depend on; a jail brig did not start never goes.
pub fn destroy(host: &mut dyn Host, name: &JailName, force: bool, report: &dyn Report) -> Result<(), Error> {
    let cfg = super::config(host)?;
    // A destroy that was killed is finished by the guard's recovery; then
    // this one has nothing left to do, and that is success.
    let finishing = journal::unfinished(host, name)?.is_some_and(|e| e.action == Action::Destroy);
    let _lock = guard(host, &cfg, &[name], report)?;
    let definition_exists = host.exists(&definition_path(name));
    let dataset_exists = super::observe::dataset_exists(host, plan::dataset(&cfg, name).as_str())?;
    if !definition_exists && !dataset_exists {
        if finishing {
            return Ok(());
        }
        return Err(NotFound::Nothing(name.clone()).into());
    }
    let running = host.jail_find(name.as_str())?;
    // Not even force takes a jail brig did not start.
    if let Some(foreign) = running.as_ref().and_then(|j| super::observe::foreign(host, &cfg, name, j)) {
        return Err(foreign.into());
    }
    if let (Some(j), false) = (&running, force) {
        return Err(Refused::Running { jail: name.clone(), jid: j.jid }.into());
    }
    // Definitions that do not read are passed over: they cannot start.
    let (specs, _) = super::select::every(host, &cfg);
    let by: Vec<JailName> = specs.into_iter().filter(|s| s.depends.contains(name)).map(|s| s.name).collect();
    if !by.is_empty() && !force {
        return Err(Refused::DependedOn { jail: name.clone(), by }.into());
    }
    // A clone of one of its snapshots (another jail made by `brig
    // clone`) holds the snapshot, and with it the dataset: zfs would
    // destroy the rest and leave a half jail.
    if dataset_exists {
        let own = format!("{}/", plan::dataset(&cfg, name));
        let list = host.zfs_list(plan::dataset(&cfg, name).as_str(), crate::plan::snapshot::PROPS)?;
        let tree = crate::plan::snapshot::Tree::read(&list);
        let held: Vec<_> = tree.snapshots.iter().filter(|s| s.clones.iter().any(|c| !c.starts_with(&own))).collect();
        if !held.is_empty() {
            let snaps = held.iter().map(|s| s.name.clone()).collect();
            let clones = held.iter().flat_map(|s| s.clones.clone()).collect();
            return Err(Refused::SnapshotCloned { jail: name.clone(), snaps, clones }.into());
        }
    }
    journal::around(host, name, Action::Destroy, |h| remove(h, &cfg, name, true))?;
    // What the supervisor counted of it would count for a new jail of
    // the name.
    super::health::forget(host, name).map_err(|e| super::health::watch_error(host, name, &e))?;
    // A `brig run` record of the name names nothing now.
    super::ephemeral::forget(host, name)
}
