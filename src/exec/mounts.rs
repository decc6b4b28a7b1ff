//! Mounts inside a jail root, and the devfs ruleset its /dev needs.

use std::path::{Path, PathBuf};

use super::files::dataset_root;
use super::{settle, StepError};
use crate::host::{Host, MountEntry, MountRequest};
use crate::model::DatasetName;

/// How a mount is taken back: by its filesystem ID, like every unmount.
pub(super) struct Undo(MountEntry);

pub(super) fn undo(host: &mut dyn Host, u: Undo) -> Result<(), StepError> {
    Ok(settle::unmount(host, &u.0)?)
}

/// A mount at `target` inside the dataset's root.
pub(super) struct MountIn<'a> {
    pub dataset: &'a DatasetName,
    pub fstype: &'a str,
    pub source: &'a str,
    pub target: &'a PathBuf,
    pub readonly: bool,
    pub options: &'a [(String, Option<String>)],
}

pub(super) fn mount_in(host: &mut dyn Host, m: &MountIn) -> Result<Undo, StepError> {
    let root = dataset_root(host, m.dataset)?;
    // Made or checked beneath the root: a jail that replaced the mount
    // point with a symlink cannot send the mount elsewhere.
    root.create_dir(m.target, 0o755)?;
    let mp = host.zfs_get(m.dataset.as_str(), &["mountpoint"])?.remove("mountpoint").unwrap_or_default();
    let mounted = host.mount(&MountRequest {
        fstype: m.fstype.to_string(),
        source: m.source.to_string(),
        target: Path::new(&mp).join(m.target),
        readonly: m.readonly,
        options: m.options.to_vec(),
    })?;
    Ok(Undo(mounted))
}

pub(super) fn unmount(host: &mut dyn Host, mount: &MountEntry) -> Result<(), StepError> {
    Ok(settle::unmount(host, mount)?)
}

/// A /dev mounted with a ruleset the kernel does not have would show the
/// jail every device of the host.
pub(super) fn check_ruleset(host: &dyn Host, ruleset: u16) -> Result<(), StepError> {
    if host.devfs_rules(ruleset)? == 0 {
        return Err(StepError::Refused(format!(
            "devfs ruleset {ruleset} is not loaded, and a /dev mounted with it would show the jail every device of the host, raw disks included; load it (define it in /etc/devfs.rules, keep devfs_load_rulesets=\"YES\" in rc.conf, then `service devfs restart`) or set devfs_ruleset to a loaded ruleset"
        )));
    }
    Ok(())
}
