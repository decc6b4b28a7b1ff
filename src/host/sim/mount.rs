//! nmount(2) and unmount(2) on the simulated machine. Mount targets are
//! looked up like namei does (symlinks followed, inside the sim root), so a
//! target a jail has replaced with a symlink really lands elsewhere; brig
//! must check before it asks.

use std::path::Path;

use nix::errno::Errno;

use super::busy;
use super::config::SimConfig;
use super::fs;
use super::jail::Refusal;
use super::state::State;
use super::zfs;
use crate::host::{MountEntry, MountRequest};

/// Filesystems a stock FreeBSD kernel can mount (modules load on demand).
const FSTYPES: &[&str] = &["devfs", "nullfs", "fdescfs", "procfs", "tmpfs", "zfs", "linprocfs", "linsysfs"];

fn no(errno: Errno, msg: impl Into<String>) -> Refusal {
    (errno, msg.into())
}

pub fn mount(st: &mut State, cfg: &SimConfig, paths: &zfs::Paths, req: &MountRequest) -> Result<(), Refusal> {
    if !FSTYPES.contains(&req.fstype.as_str()) {
        return Err(no(Errno::ENODEV, format!("unknown filesystem type '{}'", req.fstype)));
    }
    let target = fs::resolve_dir(paths.root, &req.target).map_err(|e| (e, req.target.display().to_string()))?;
    for (k, v) in &req.options {
        let ok = match (req.fstype.as_str(), k.as_str()) {
            ("devfs", "ruleset") => v.as_deref().is_some_and(|v| v.parse::<u16>().is_ok()),
            ("tmpfs", "size") => v.as_deref().is_some_and(|v| zfs::parse_size(v).is_some()),
            ("tmpfs", "mode") => v.as_deref().is_some_and(|v| u32::from_str_radix(v, 8).is_ok()),
            ("procfs" | "linprocfs", "linrdlnk") | ("fdescfs", "linrdlnk") => v.is_none(),
            _ => false,
        };
        if !ok {
            return Err(no(
                Errno::EINVAL,
                format!("{}: bad option {k}{}", req.fstype, v.as_deref().map(|v| format!("={v}")).unwrap_or_default()),
            ));
        }
    }
    if req.fstype == "devfs" {
        // devfs_ruleset_use: a ruleset that is not loaded is created empty,
        // and the mount hides nothing.
        let ruleset = req.options.iter().find(|(k, _)| k == "ruleset").and_then(|(_, v)| v.as_deref()?.parse().ok());
        if let Some(n) = ruleset.filter(|n: &u16| *n != 0) {
            st.devfs_rulesets.entry(n).or_insert(0);
        }
    }
    match req.fstype.as_str() {
        "nullfs" => {
            let src = fs::resolve_dir(paths.root, Path::new(&req.source)).map_err(|e| (e, req.source.clone()))?;
            st.push_mount("nullfs", &src.to_string_lossy(), target, req.readonly);
            Ok(())
        }
        "zfs" => zfs::mount_request(st, cfg, paths, &req.source, &target),
        other => {
            if other == "devfs" {
                populate_devfs(&fs::local(paths.root, &target)).map_err(|e| (e, target.display().to_string()))?;
            }
            st.push_mount(other, other, target, req.readonly);
            Ok(())
        }
    }
}

/// DEVFSIO_RGETNEXT walked to the end: the rules of a ruleset, 0 for one
/// that is not loaded (ENOENT at the first rule).
pub fn devfs_rules(st: &State, ruleset: u16) -> Result<u32, Refusal> {
    if ruleset == 0 {
        return Err(no(Errno::EINVAL, "ruleset 0 stands for the mount's own ruleset"));
    }
    Ok(st.devfs_rulesets.get(&ruleset).copied().unwrap_or(0))
}

/// The device nodes a jail's processes cannot do without, as (name, major,
/// minor) of the Linux machine the sim runs on.
pub(super) const DEVICES: &[(&str, u64, u64)] = &[("null", 1, 3), ("zero", 1, 5), ("random", 1, 8), ("urandom", 1, 9)];

/// A simulated devfs: the sim's jailed processes are real Linux processes,
/// and their scripts redirect to /dev/null. As root the nodes are made
/// here (mknod). Without root mknod is refused, so the mount is only
/// recorded and each jail process is shown the host's nodes in a mount
/// namespace of its own (userns.rs); off Linux (these are Linux device
/// numbers) it is only recorded.
#[cfg(target_os = "linux")]
fn populate_devfs(dir: &Path) -> Result<(), Errno> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    for (name, major, minor) in DEVICES {
        let node = dir.join(name);
        if std::fs::symlink_metadata(&node).is_err() {
            nix::sys::stat::mknod(
                &node,
                nix::sys::stat::SFlag::S_IFCHR,
                nix::sys::stat::Mode::from_bits_truncate(0o666),
                nix::sys::stat::makedev(*major, *minor),
            )?;
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn populate_devfs(_: &Path) -> Result<(), Errno> {
    Ok(())
}

/// Unmounting devfs takes its nodes away again.
fn depopulate_devfs(dir: &Path) {
    use std::os::unix::fs::FileTypeExt;
    for (name, ..) in DEVICES {
        let node = dir.join(name);
        if std::fs::symlink_metadata(&node).is_ok_and(|m| m.file_type().is_char_device()) {
            let _ = std::fs::remove_file(node);
        }
    }
}

/// unmount(2) with MNT_BYFSID (kern_unmount): the mount is found by its
/// filesystem ID alone, ENOENT when none has it (vfs_getvfs), whatever
/// its path now leads to; EBUSY while another mount sits beneath it
/// (MNT_FORCE does not help with that either) or while something still
/// uses it (busy::holder).
pub fn unmount(st: &mut State, paths: &zfs::Paths, mount: &MountEntry) -> Result<(), Refusal> {
    let Some(idx) = st.mounts.iter().find(|(_, m)| m.fsid == mount.fsid).map(|(k, _)| *k) else {
        return Err(no(
            Errno::ENOENT,
            format!(
                "{}: no mounted filesystem has ID {}",
                mount.target.display(),
                crate::kernel::mount::fsid_path(mount.fsid)
            ),
        ));
    };
    let target = st.mounts[&idx].target.clone();
    if st.mounts_under(&target).any(|m| m.target != target) {
        return Err(no(Errno::EBUSY, format!("{}: a filesystem is mounted beneath it", target.display())));
    }
    if let Some(who) = busy::holder(st, paths.root, &target) {
        return Err(no(Errno::EBUSY, format!("{} is busy: {who}", target.display())));
    }
    if st.mounts[&idx].fstype == "zfs" {
        let ds = st.mounts[&idx].source.clone();
        return zfs::unmount_request(st, paths, &ds);
    }
    // The nodes go with the mount, but only where the path still leads to
    // it: a jail may have redirected a parent directory since.
    if st.mounts[&idx].fstype == "devfs" && fs::resolve(paths.root, &target).is_ok_and(|t| t == target) {
        depopulate_devfs(&fs::local(paths.root, &target));
    }
    st.remove_mount(idx);
    Ok(())
}
