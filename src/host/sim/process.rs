//! Processes inside simulated jails: real Linux processes whose root is
//! changed to the jail's root directory (chroot(2)), so `/bin/sh /etc/rc`
//! and `brig exec` really run the jail's own programs (the tests' jail
//! roots hold brig's test userland, tests/userland) and their exit status
//! is real. As root the child chroots and becomes the jail user with
//! setuid, as jexec does; without root, userns.rs gets it there.
//!
//! A process belongs to a jail when its root directory is the jail's root
//! (`/proc/PID/root`), which also covers the daemons it leaves behind;
//! jail_remove kills them, as the kernel does. That works without root
//! too: /proc shows a user the root directory of each of its processes,
//! in a namespace of their own or not.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::host::{Command, HostError, HostResult, Jid, Output};
use crate::state::beneath::Root;

pub(super) const OP: &str = "spawn";
const DEFAULT_PATH: &str = "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin";

/// A user from the jail's own `/etc/passwd`.
struct PwEntry {
    uid: u32,
    gid: u32,
    home: String,
    shell: String,
}

/// Looks a user up in the jail's `/etc/passwd`, read without following
/// any symlink the jail planted.
fn lookup_user(root: &Path, user: &str) -> Option<PwEntry> {
    // Bounded and never blocking, like every read of a jail's files.
    let text = Root::open(root).ok()?.read_to_string(Path::new("etc/passwd")).ok()??;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 7 && f[0] == user).then(|| PwEntry {
            uid: f[2].parse().unwrap_or(u32::MAX),
            gid: f[3].parse().unwrap_or(u32::MAX),
            home: f[5].to_string(),
            shell: f[6].to_string(),
        })
    })
}

/// Runs `cmd` with its root changed to `root` (a local path), as jexec
/// would inside jail `jid`; `devfs` are the local paths of the devfs
/// mounts beneath that root (see userns.rs).
pub fn run(root: &Path, jid: Jid, cmd: &Command, devfs: &[PathBuf]) -> HostResult<Output> {
    let user = match &cmd.user {
        Some(u) => Some(lookup_user(root, u).ok_or_else(|| {
            HostError::new(OP, Errno::ENOENT, format!("{}: user {u} does not exist in jail {jid}", cmd.display()))
        })?),
        None => None,
    };
    let mut c = std::process::Command::new(&cmd.program);
    c.args(&cmd.args);
    if cmd.clean_env {
        c.env_clear().env("PATH", DEFAULT_PATH);
        if let Ok(t) = std::env::var("TERM") {
            c.env("TERM", t);
        }
        let (home, shell, name) = match (&user, &cmd.user) {
            (Some(p), Some(n)) => (p.home.clone(), p.shell.clone(), n.clone()),
            _ => ("/root".into(), "/bin/sh".into(), "root".into()),
        };
        c.env("HOME", home).env("SHELL", shell).env("USER", name);
    }
    c.envs(cmd.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let croot = cstring(root)?;
    let ids = user.as_ref().map(|p| (p.uid, p.gid));
    if nix::unistd::geteuid().is_root() {
        // SAFETY: only async-signal-safe system calls on values prepared
        // before the fork; nothing is allocated in the child.
        unsafe {
            c.pre_exec(move || {
                if libc::chroot(croot.as_ptr()) != 0 || libc::chdir(c"/".as_ptr()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if let Some((uid, gid)) = ids {
                    let groups = [gid];
                    if libc::setgroups(1, groups.as_ptr()) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        return crate::host::capture::run(&mut c, cmd.stdio, cmd.deadline, cmd.output_limit)
            .map_err(|e| cannot_run(&e, cmd, jid, ""));
    }
    unprivileged(c, croot, ids.unwrap_or((0, 0)), devfs, cmd, jid)
}

#[cfg(target_os = "linux")]
use super::userns::run as unprivileged;

/// Off Linux the simulated host has no user namespaces to lean on.
#[cfg(not(target_os = "linux"))]
fn unprivileged(
    _: std::process::Command,
    _: CString,
    _: (u32, u32),
    _: &[PathBuf],
    cmd: &Command,
    jid: Jid,
) -> HostResult<Output> {
    Err(HostError::new(
        OP,
        Errno::EPERM,
        format!(
            "{}: cannot run it in jail {jid}: the simulated host chroots a jail's processes, which needs root here; run brig as root",
            cmd.display()
        ),
    ))
}

/// A spawn that failed in the child: what it was and where.
pub(super) fn cannot_run(e: &std::io::Error, cmd: &Command, jid: Jid, why: &str) -> HostError {
    let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
    HostError::new(OP, errno, format!("{}: cannot run it in jail {jid}{why}", cmd.display()))
}

pub(super) fn cstring(p: &Path) -> HostResult<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| HostError::new(OP, Errno::EINVAL, format!("{}: path contains a NUL byte", p.display())))
}

/// The processes whose root directory is `root` (a local path).
pub fn pids_in(root: &Path) -> Vec<i32> {
    let Ok(want) = root.canonicalize() else { return Vec::new() };
    let Ok(rd) = std::fs::read_dir("/proc") else { return Vec::new() };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/root")).is_ok_and(|r: PathBuf| r == want))
        .collect()
}

/// What racct would count for the processes of a jail root, read from
/// Linux's /proc: `maxproc` (processes), `nthr` (threads), `memoryuse`
/// (resident bytes) and `openfiles` (descriptors). Other resources read 0.
pub fn usage(root: &Path) -> BTreeMap<&'static str, u64> {
    let mut u = BTreeMap::new();
    for pid in pids_in(root) {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        *u.entry("maxproc").or_insert(0) += 1;
        *u.entry("nthr").or_insert(0) += field("Threads:");
        *u.entry("memoryuse").or_insert(0) += field("VmRSS:") * 1024;
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(Iterator::count).unwrap_or(0);
        *u.entry("openfiles").or_insert(0) += fds as u64;
    }
    u
}

/// Kills every process of a jail root, as jail_remove(2) does.
pub fn kill_all(root: &Path) {
    for pid in pids_in(root) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
}
