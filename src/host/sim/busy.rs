//! When a filesystem is busy. On FreeBSD, unmount(2) without MNT_FORCE
//! fails with EBUSY while a vnode of the filesystem is in use (vflush in
//! vfs_subr.c): a process's root or working directory, an open file, or the
//! root of a jail that is still dying (a prison holds `pr_root` until it is
//! freed, prison_deref in kern_jail.c). zfs(8) destroy and rename unmount
//! first and fail the same way ("pool or dataset is busy";
//! zfs_destroy_005_neg). The sim's jailed processes are real Linux
//! processes, so their roots, working directories and descriptors are read
//! from /proc.

use std::path::Path;

use super::fs;
use super::state::State;
use crate::host::ParamValue;

/// What keeps the filesystem mounted at `target` (a path of the simulated
/// machine) busy, if anything: a dying jail whose root holds it (the mount
/// is the jail's root or inside it, where the jail's exiting processes had
/// their files), or a process with its root, working directory or an open
/// file there.
pub fn holder(st: &State, root: &Path, target: &Path) -> Option<String> {
    for j in st.jails.values().filter(|j| !j.alive()) {
        if let Some(ParamValue::Str(path)) = j.params.get("path").map(|p| &p.value) {
            if target.starts_with(path) {
                return Some(format!("jail {} (jid {}) is still dying", j.name, j.jid));
            }
        }
    }
    let local = fs::local(root, target);
    process_in(&local)
}

/// The first process with its root, working directory or an open file at
/// or below `local` (a path of the machine the sim runs on).
fn process_in(local: &Path) -> Option<String> {
    let inside = |p: &Path| p.starts_with(local);
    let rd = std::fs::read_dir("/proc").ok()?;
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let proc_dir = e.path();
        let mut uses =
            ["root", "cwd"].iter().filter_map(|l| std::fs::read_link(proc_dir.join(l)).ok()).collect::<Vec<_>>();
        if let Ok(fds) = std::fs::read_dir(proc_dir.join("fd")) {
            uses.extend(fds.flatten().filter_map(|fd| std::fs::read_link(fd.path()).ok()));
        }
        if let Some(p) = uses.iter().find(|p| inside(p)) {
            return Some(format!("process {pid} uses {}", p.display()));
        }
    }
    None
}
