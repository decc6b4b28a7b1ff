//! Datasets handed to jails: `zfs jail`/`unjail` (spl_zone.c) and a
//! jail mounting what it was given.

use std::path::Path;

use nix::errno::Errno;

use super::files::mount_at;
use super::props::effective;
use super::{no, Paths};
use crate::host::sim::config::SimConfig;
use crate::host::sim::jail::Refusal;
use crate::host::sim::state::State;
use crate::host::Jid;

/// `zfs jail JID NAME`: zfs(8) opens the dataset first (ENOENT if it
/// does not exist, EINVAL for a snapshot), then zone_dataset_attach
/// (spl_zone.c) adds the *name* to the jail's zone: an unknown jail is
/// ENOENT, the same name twice in one jail EEXIST, and one dataset may be
/// attached to several jails. `jailed` is not looked at here; only
/// mounting does.
pub fn attach(st: &mut State, name: &str, jid: Jid) -> Result<(), Refusal> {
    let d = st.datasets.get(name).ok_or_else(|| no(Errno::ENOENT, format!("dataset does not exist: {name}")))?;
    if d.snapshot {
        return Err(no(Errno::EINVAL, format!("'{name}' is a snapshot and cannot be jailed")));
    }
    let j = st.jails.get_mut(&jid).ok_or_else(|| no(Errno::ENOENT, format!("jail {jid} does not exist")))?;
    if j.zone.iter().any(|n| n == name) {
        return Err(no(Errno::EEXIST, format!("'{name}' is already attached to jail {jid}")));
    }
    j.zone.push(name.to_string());
    Ok(())
}

/// `zfs unjail JID NAME` (zone_dataset_detach): ENOENT unless the name is
/// in that jail's zone.
pub fn detach(st: &mut State, name: &str, jid: Jid) -> Result<(), Refusal> {
    let zone = st.jails.get_mut(&jid).map(|j| &mut j.zone);
    match zone.and_then(|z| z.iter().position(|n| n == name).map(|i| (z, i))) {
        Some((z, i)) => {
            z.remove(i);
            Ok(())
        }
        None => Err(no(Errno::ENOENT, format!("'{name}' is not attached to jail {jid}"))),
    }
}

/// Whether jail `jid` may see `name`: the name, or one of its ancestors,
/// is in its zone (zone_dataset_visible).
pub(super) fn visible_in(st: &State, jid: Jid, name: &str) -> bool {
    st.jails.get(&jid).is_some_and(|j| {
        j.zone.iter().any(|n| n == name || name.strip_prefix(n.as_str()).is_some_and(|r| r.starts_with('/')))
    })
}

/// What root inside jail `jid` gets from `zfs mount NAME`: the dataset (or
/// one below it) must be attached to the jail, `jailed=on`, and the jail
/// needs allow.mount, allow.mount.zfs and enforce_statfs below 2 (EPERM
/// otherwise). It is mounted at its `mountpoint` inside the jail's root.
pub fn mount_in_jail(
    st: &mut State,
    cfg: &SimConfig,
    paths: &Paths,
    jid: Jid,
    name: &str,
    root: &Path,
) -> Result<(), Refusal> {
    let j = st.jails.get(&jid).ok_or_else(|| no(Errno::ENOENT, format!("jail {jid} does not exist")))?;
    if !j.flag("allow.mount") || !j.flag("allow.mount.zfs") {
        return Err(no(Errno::EPERM, "mounting ZFS in a jail needs allow.mount and allow.mount.zfs"));
    }
    // Every live jail has enforce_statfs (set at creation).
    if j.int("enforce_statfs") >= 2 {
        return Err(no(Errno::EPERM, "mounting ZFS in a jail needs enforce_statfs below 2"));
    }
    if !visible_in(st, jid, name) || !st.datasets.contains_key(name) {
        return Err(no(Errno::EPERM, format!("'{name}' is not attached to jail {jid}")));
    }
    if effective(st, cfg, name, "jailed") != "on" {
        return Err(no(Errno::EPERM, format!("'{name}' is not jailed=on")));
    }
    if st.datasets.get(name).is_some_and(|d| d.mounted.is_some()) {
        return Err(no(Errno::EBUSY, format!("'{name}' is already mounted")));
    }
    let mp = effective(st, cfg, name, "mountpoint");
    let inside = Path::new(&mp).strip_prefix("/").unwrap_or(Path::new(&mp)).to_path_buf();
    mount_at(st, paths, name, &root.join(inside))
}
