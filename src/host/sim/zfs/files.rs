//! A dataset's files: where they are while mounted, stashed or
//! snapshotted, and moving them when a dataset is mounted or unmounted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::props::{effective, mountpoint};
use super::{io, no, Paths};
use crate::host::sim::busy;
use crate::host::sim::config::SimConfig;
use crate::host::sim::fs;
use crate::host::sim::jail::Refusal;
use crate::host::sim::state::State;

pub(super) fn should_mount(st: &State, cfg: &SimConfig, name: &str) -> Option<PathBuf> {
    let canmount = st.datasets.get(name).and_then(|d| d.props.get("canmount")).map(String::as_str);
    if canmount == Some("off") || effective(st, cfg, name, "jailed") == "on" {
        return None;
    }
    mountpoint(st, cfg, name)
}

/// Copies a tree without following symlinks, keeping modes, owners (when
/// permitted) and hard links, and skipping directories that are mount
/// points of other filesystems.
pub(super) fn copy_tree(src: &Path, dst: &Path, skip: &[PathBuf]) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mut links: BTreeMap<(u64, u64), PathBuf> = BTreeMap::new();
    fn walk(
        src: &Path,
        dst: &Path,
        skip: &[PathBuf],
        links: &mut BTreeMap<(u64, u64), PathBuf>,
    ) -> std::io::Result<()> {
        let meta = std::fs::symlink_metadata(src)?;
        std::fs::create_dir_all(dst)?;
        let _ = std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()));
        for entry in std::fs::read_dir(src)? {
            let entry = entry?;
            let from = entry.path();
            let to = dst.join(entry.file_name());
            let m = std::fs::symlink_metadata(&from)?;
            if m.file_type().is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
                let _ = std::os::unix::fs::lchown(&to, Some(m.uid()), Some(m.gid()));
            } else if m.is_dir() {
                if !skip.contains(&from) {
                    walk(&from, &to, skip, links)?;
                }
            } else if m.is_file() {
                if m.nlink() > 1 {
                    if let Some(first) = links.get(&(m.dev(), m.ino())) {
                        std::fs::hard_link(first, &to)?;
                        continue;
                    }
                    links.insert((m.dev(), m.ino()), to.clone());
                }
                std::fs::copy(&from, &to)?;
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
                let _ = std::os::unix::fs::lchown(&to, Some(m.uid()), Some(m.gid()));
                // lchown clears setuid bits; put the mode back.
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
            } else {
                use std::os::unix::fs::FileTypeExt;
                // FIFOs and sockets are inodes a snapshot keeps too;
                // device nodes the sim cannot make without root.
                let kind = match m.file_type() {
                    t if t.is_fifo() => nix::sys::stat::SFlag::S_IFIFO,
                    t if t.is_socket() => nix::sys::stat::SFlag::S_IFSOCK,
                    _ => continue,
                };
                let mode = nix::sys::stat::Mode::from_bits_truncate((m.mode() & 0o777) as libc::mode_t);
                nix::sys::stat::mknod(&to, kind, mode, 0).map_err(std::io::Error::from)?;
            }
        }
        // The directory's own mode last: as a plain user the sim could not
        // fill a directory without write permission (root, as FreeBSD's
        // zfs runs, could).
        std::fs::set_permissions(dst, std::fs::Permissions::from_mode(meta.mode() & 0o7777))
    }
    walk(src, dst, skip, &mut links)
}

/// The size of the files of a tree, not counting other mounts.
pub(super) fn tree_size(dir: &Path, skip: &[PathBuf]) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| {
            let p = e.path();
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() && !skip.contains(&p) => 512 + tree_size(&p, skip),
                Ok(m) if m.is_dir() => 0,
                Ok(m) => m.len().max(1),
                Err(_) => 0,
            }
        })
        .sum()
}

/// The size of what a clone's tree holds that its origin's does not:
/// files new or different, directories new. ZFS counts the blocks a
/// clone wrote since it was made as its `used`; the sim counts whole
/// files.
pub(super) fn unique_size(dir: &Path, origin: &Path, skip: &[PathBuf]) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| {
            let (p, o) = (e.path(), origin.join(e.file_name()));
            let theirs = std::fs::symlink_metadata(&o).ok();
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() && skip.contains(&p) => 0,
                Ok(m) if m.is_dir() => {
                    let new = if theirs.is_some_and(|t| t.is_dir()) { 0 } else { 512 };
                    new + unique_size(&p, &o, skip)
                }
                Ok(m) if m.file_type().is_symlink() => {
                    let same = std::fs::read_link(&p).ok() == std::fs::read_link(&o).ok() && theirs.is_some();
                    if same {
                        0
                    } else {
                        m.len().max(1)
                    }
                }
                // Only regular files are read: a FIFO would block.
                Ok(m) if m.is_file() => {
                    let same = theirs.is_some_and(|t| t.is_file() && t.len() == m.len())
                        && std::fs::read(&p).ok() == std::fs::read(&o).ok();
                    if same {
                        0
                    } else {
                        m.len().max(1)
                    }
                }
                Ok(m) => u64::from(theirs.is_none_or(|t| t.file_type() != m.file_type())),
                Err(_) => 0,
            }
        })
        .sum()
}

pub(super) fn other_mount_dirs(st: &State, paths: &Paths, except: &Path) -> Vec<PathBuf> {
    st.mounts.values().filter(|m| m.target != except).map(|m| fs::local(paths.root, &m.target)).collect()
}

/// Moves every entry of one directory into another (same filesystem).
pub(super) fn move_entries(from: &Path, to: &Path) -> Result<(), Refusal> {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(from).map_err(|e| io(e, from))? {
        let entry = entry.map_err(|e| io(e, from))?;
        let dest = to.join(entry.file_name());
        // rename(2) of a directory to another parent rewrites its "..",
        // which needs write permission on it: nothing to root, as FreeBSD's
        // zfs runs, but a plain user running the sim lends itself the
        // owner's write bit for the move (a release's /dev is 0555).
        let mode = entry
            .metadata()
            .ok()
            .filter(|m| m.is_dir() && m.permissions().mode() & 0o200 == 0)
            .map(|m| m.permissions().mode());
        if let Some(mode) = mode {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode | 0o200))
                .map_err(|e| io(e, &entry.path()))?;
        }
        let moved = std::fs::rename(entry.path(), &dest);
        if let Some(mode) = mode {
            let at = if moved.is_ok() { dest.clone() } else { entry.path() };
            std::fs::set_permissions(&at, std::fs::Permissions::from_mode(mode)).map_err(|e| io(e, &at))?;
        }
        moved.map_err(|e| io(e, &dest))?;
    }
    Ok(())
}

/// EBUSY, as zfs(8) words it, while something uses the filesystem mounted
/// at `mp` (busy::holder).
pub(super) fn busy_at(st: &State, paths: &Paths, mp: &Path) -> Result<(), Refusal> {
    match busy::holder(st, paths.root, mp) {
        Some(who) => {
            Err(no(Errno::EBUSY, format!("cannot unmount '{}': pool or dataset is busy ({who})", mp.display())))
        }
        None => Ok(()),
    }
}

/// [`busy_at`] for each of these datasets that is mounted.
pub(super) fn none_busy(st: &State, paths: &Paths, names: &[String]) -> Result<(), Refusal> {
    names
        .iter()
        .filter_map(|n| st.datasets.get(n).and_then(|d| d.mounted.clone()))
        .try_for_each(|mp| busy_at(st, paths, &mp))
}

/// Mounts a dataset at its mountpoint: its files move from the stash into
/// place.
pub(super) fn mount_at(st: &mut State, paths: &Paths, name: &str, mp: &Path) -> Result<(), Refusal> {
    let Some(guid) = st.datasets.get(name).map(|d| d.guid) else {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {name}")));
    };
    let local = fs::local(paths.root, mp);
    let stash = paths.stash(guid);
    std::fs::create_dir_all(&local).map_err(|e| io(e, &local))?;
    if stash.exists() {
        move_entries(&stash, &local)?;
        std::fs::remove_dir(&stash).map_err(|e| io(e, &stash))?;
    }
    if let Some(d) = st.datasets.get_mut(name) {
        d.mounted = Some(mp.to_path_buf());
    }
    st.push_mount("zfs", name, mp.to_path_buf(), false);
    Ok(())
}

/// Unmounts a dataset: EBUSY while anything is mounted beneath it; its
/// files move to the stash and the empty mountpoint directory is removed,
/// as zfs(8) does.
pub(super) fn unmount_ds(st: &mut State, paths: &Paths, name: &str) -> Result<(), Refusal> {
    let Some(d) = st.datasets.get(name) else { return Ok(()) };
    let (Some(mp), guid) = (d.mounted.clone(), d.guid) else { return Ok(()) };
    if st.mounts.values().any(|m| m.target != mp && m.target.starts_with(&mp)) {
        return Err(no(Errno::EBUSY, format!("cannot unmount '{}': something is mounted beneath it", mp.display())));
    }
    busy_at(st, paths, &mp)?;
    let local = fs::local(paths.root, &mp);
    let stash = paths.stash(guid);
    std::fs::create_dir_all(&stash).map_err(|e| io(e, &stash))?;
    if local.is_dir() {
        move_entries(&local, &stash)?;
        let _ = std::fs::remove_dir(&local);
    }
    let gone: Vec<u64> =
        st.mounts.iter().filter(|(_, m)| m.fstype == "zfs" && m.source == name).map(|(k, _)| *k).collect();
    for k in gone {
        st.remove_mount(k);
    }
    if let Some(d) = st.datasets.get_mut(name) {
        d.mounted = None;
    }
    Ok(())
}

/// Mounts a dataset by request (`mount -t zfs`): refused for `jailed=on`
/// datasets, which only their jail may mount.
pub fn mount_request(st: &mut State, cfg: &SimConfig, paths: &Paths, name: &str, target: &Path) -> Result<(), Refusal> {
    if !st.datasets.contains_key(name) {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {name}")));
    }
    if effective(st, cfg, name, "jailed") == "on" {
        return Err(no(Errno::EPERM, format!("'{name}' is jailed=on and cannot be mounted by the host")));
    }
    if st.datasets.get(name).is_some_and(|d| d.mounted.is_some()) {
        return Err(no(Errno::EBUSY, format!("'{name}' is already mounted")));
    }
    mount_at(st, paths, name, target)
}

/// Unmounting the mount entry of a dataset.
pub fn unmount_request(st: &mut State, paths: &Paths, name: &str) -> Result<(), Refusal> {
    unmount_ds(st, paths, name)
}

/// Whether `path` (of the simulated machine) is on a read-only
/// filesystem: the innermost mount holding it is mounted read-only, or is
/// a dataset with `readonly=on` (zfs_vfsops.c turns the property into
/// the mount's MNT_RDONLY, and the sim's dataset mounts carry the
/// property, not the flag).
pub fn read_only_at(st: &State, cfg: &SimConfig, path: &Path) -> bool {
    match st.mount_holding(path) {
        Some(m) if m.fstype == "zfs" => effective(st, cfg, &m.source, "readonly") == "on",
        Some(m) => m.readonly,
        None => false,
    }
}
