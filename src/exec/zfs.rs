//! Datasets: made, destroyed, snapshotted, renamed, cloned, their
//! properties set, and handed to a jail (`zfs jail`) or taken back.

use super::{running_jid, StepError};
use crate::host::{Errno, Host};
use crate::model::{DatasetName, JailName};

/// How a dataset step is taken back.
pub(super) enum Undo {
    Destroy(String),
    Rename { from: String, to: String },
    SetProps(String, Vec<(String, String)>),
    Detach(String, i32),
    Attach(String, i32),
}

pub(super) fn undo(host: &mut dyn Host, u: Undo) -> Result<(), StepError> {
    match u {
        Undo::Destroy(name) => host.zfs_destroy(&name, true)?,
        Undo::Rename { from, to } => host.zfs_rename(&from, &to)?,
        Undo::SetProps(name, props) => host.zfs_set(&name, &props)?,
        Undo::Detach(ds, jid) => host.zfs_unjail(&ds, jid)?,
        Undo::Attach(ds, jid) => host.zfs_jail(&ds, jid)?,
    }
    Ok(())
}

pub(super) fn create(host: &mut dyn Host, name: &DatasetName, props: &[(String, String)]) -> Result<Undo, StepError> {
    host.zfs_create(name.as_str(), props)?;
    Ok(Undo::Destroy(name.to_string()))
}

pub(super) fn destroy(host: &mut dyn Host, name: &DatasetName, recursive: bool) -> Result<(), StepError> {
    host.zfs_destroy(name.as_str(), recursive)?;
    Ok(())
}

pub(super) fn snapshot(host: &mut dyn Host, dataset: &DatasetName, snapshot: &str) -> Result<Undo, StepError> {
    let full = format!("{dataset}@{snapshot}");
    host.zfs_snapshot(&[&full])?;
    Ok(Undo::Destroy(full))
}

pub(super) fn rename(host: &mut dyn Host, from: &DatasetName, to: &DatasetName) -> Result<Undo, StepError> {
    host.zfs_rename(from.as_str(), to.as_str())?;
    Ok(Undo::Rename { from: to.to_string(), to: from.to_string() })
}

pub(super) fn clone(
    host: &mut dyn Host,
    origin: &str,
    name: &DatasetName,
    props: &[(String, String)],
) -> Result<Undo, StepError> {
    host.zfs_clone(origin, name.as_str(), props)?;
    Ok(Undo::Destroy(name.to_string()))
}

pub(super) fn set_props(
    host: &mut dyn Host,
    name: &DatasetName,
    props: &[(String, String)],
) -> Result<Undo, StepError> {
    let keys: Vec<&str> = props.iter().map(|(k, _)| k.as_str()).collect();
    let old = host.zfs_get(name.as_str(), &keys)?;
    host.zfs_set(name.as_str(), props)?;
    Ok(Undo::SetProps(name.to_string(), old.into_iter().collect()))
}

pub(super) fn attach(host: &mut dyn Host, dataset: &DatasetName, jail: &JailName) -> Result<Undo, StepError> {
    let jid = running_jid(host, jail)?;
    host.zfs_jail(dataset.as_str(), jid)?;
    Ok(Undo::Detach(dataset.to_string(), jid))
}

/// Not attached (someone ran zfs unjail, or the dataset is gone): what
/// this step wants is already true, and a stop must not be blocked by it.
pub(super) fn detach(host: &mut dyn Host, dataset: &DatasetName, jail: &JailName) -> Result<Option<Undo>, StepError> {
    let jid = running_jid(host, jail)?;
    match host.zfs_unjail(dataset.as_str(), jid) {
        Ok(()) => Ok(Some(Undo::Attach(dataset.to_string(), jid))),
        Err(e) if e.errno == Errno::ENOENT => Ok(None),
        Err(e) => Err(e.into()),
    }
}
