//! Jail processes of a caller without root. This models nothing of
//! FreeBSD: it is how the sim gets a plain user's *Linux* process into a
//! jail root, since chroot(2) needs privilege. The child enters a user
//! namespace of its own (user_namespaces(7)) whose only uid is the jail
//! user's, mapped to the caller's real uid (the same for the group), and a
//! mount namespace of its own; there it may chroot. Inside it is root (or
//! nobody) of the jail; outside it stays the caller, whose brig sees,
//! signals and kills it like any of its processes. A single mapped uid is
//! all an unprivileged process may map, so a process in the jail cannot
//! become another user later (setuid fails), unlike under root.

use std::ffi::{CStr, CString};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use super::process::{cannot_run, cstring, OP};
use crate::host::{Command, HostError, HostResult, Jid, Output};

/// Which step of `Namespace::enter` failed.
#[derive(Clone, Copy)]
enum Stage {
    Namespace = 1,
    Devfs = 2,
}

/// Runs `c` chrooted to `root` as `ids` (uid, gid) inside its own
/// namespaces, with `devfs` (local paths of the devfs mounts beneath
/// `root`) shown to it. A failure says which step failed, told by the
/// child through a pipe (its errno alone cannot say).
pub fn run(
    mut c: std::process::Command,
    root: CString,
    ids: (u32, u32),
    devfs: &[PathBuf],
    cmd: &Command,
    jid: Jid,
) -> HostResult<Output> {
    let ns = Namespace::prepare(ids, devfs)?;
    let (report, told) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
        .map_err(|e| HostError::new(OP, e, format!("{}: a pipe to start it", cmd.display())))?;
    let told_fd = told.as_raw_fd();
    // SAFETY: only async-signal-safe system calls on values prepared
    // before the fork; nothing is allocated in the child.
    unsafe {
        c.pre_exec(move || {
            ns.enter(told_fd)?;
            if libc::chroot(root.as_ptr()) != 0 || libc::chdir(c"/".as_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let ran = crate::host::capture::run(&mut c, cmd.stdio, cmd.deadline, cmd.output_limit);
    // The child's copy went with its exec or its exit: a byte in the pipe
    // now is all it will ever say.
    drop(told);
    ran.map_err(|e| {
        let mut byte = [0u8];
        let why = match nix::unistd::read(&report, &mut byte) {
            Ok(1) if byte[0] == Stage::Namespace as u8 => {
                ": without root the simulated host chroots a jail's processes inside a user namespace, and this kernel refuses to make one; run brig as root, or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces)"
            }
            Ok(1) if byte[0] == Stage::Devfs as u8 => ": its devfs could not be shown to it",
            _ => "",
        };
        cannot_run(&e, cmd, jid, why)
    })
}

/// Everything the child needs to enter its namespaces, made before the
/// fork (the child may not allocate).
struct Namespace {
    uid_map: CString,
    gid_map: CString,
    /// Each devfs mount point beneath the jail root, with (host device,
    /// node) pairs.
    devfs: Vec<(CString, Vec<(CString, CString)>)>,
}

impl Namespace {
    /// The jail user `uid`:`gid` inside is the caller's real uid and gid
    /// outside: the one mapping an unprivileged process may write.
    fn prepare((uid, gid): (u32, u32), devfs: &[PathBuf]) -> HostResult<Namespace> {
        let map = |inner: u32, outer: u32| {
            CString::new(format!("{inner} {outer} 1"))
                .map_err(|_| HostError::new(OP, nix::errno::Errno::EINVAL, "an id map with a NUL byte"))
        };
        let mut mounts = Vec::new();
        for dir in devfs {
            let mut nodes = Vec::new();
            for (name, ..) in super::mount::DEVICES {
                nodes.push((cstring(&Path::new("/dev").join(name))?, cstring(&dir.join(name))?));
            }
            mounts.push((cstring(dir)?, nodes));
        }
        Ok(Namespace {
            uid_map: map(uid, nix::unistd::getuid().as_raw())?,
            gid_map: map(gid, nix::unistd::getgid().as_raw())?,
            devfs: mounts,
        })
    }

    /// In the child: a new user and mount namespace with the id maps;
    /// then, in that mount namespace only, a tmpfs on each devfs mount
    /// point holding the host's own /dev/null and friends, bind-mounted:
    /// what the sim's devfs shows a jail when brig runs as root (mknod
    /// needs root outside). Mounts of a namespace owned by a new user
    /// namespace never propagate back to the host (mount_namespaces(7)),
    /// and they go with its last process. A failing step writes its
    /// `Stage` to `told`.
    ///
    /// # Safety
    /// Only async-signal-safe calls: it runs between fork and exec.
    unsafe fn enter(&self, told: i32) -> std::io::Result<()> {
        let fail = |stage: Stage| {
            let e = std::io::Error::last_os_error();
            let byte = stage as u8;
            libc::write(told, (&raw const byte).cast(), 1);
            Err(e)
        };
        if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) != 0 {
            return fail(Stage::Namespace);
        }
        // Without "deny" an unprivileged process may not write gid_map.
        let maps = [
            (c"/proc/self/setgroups", c"deny"),
            (c"/proc/self/uid_map", self.uid_map.as_c_str()),
            (c"/proc/self/gid_map", self.gid_map.as_c_str()),
        ];
        if !maps.iter().all(|(file, text)| write_file(file, text)) {
            return fail(Stage::Namespace);
        }
        for (dir, nodes) in &self.devfs {
            let tmpfs = c"tmpfs".as_ptr();
            if libc::mount(tmpfs, dir.as_ptr(), tmpfs, libc::MS_NOSUID, c"mode=755".as_ptr().cast()) != 0 {
                return fail(Stage::Devfs);
            }
            for (host, node) in nodes {
                let fd = libc::open(node.as_ptr(), libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC, 0o666);
                if fd < 0 || libc::close(fd) != 0 {
                    return fail(Stage::Devfs);
                }
                if libc::mount(host.as_ptr(), node.as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null()) != 0 {
                    return fail(Stage::Devfs);
                }
            }
        }
        Ok(())
    }
}

/// Writes all of `text` to `file` with one write(2), as /proc's id maps
/// require.
///
/// # Safety
/// Only async-signal-safe calls: it runs between fork and exec.
unsafe fn write_file(file: &CStr, text: &CStr) -> bool {
    let fd = libc::open(file.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return false;
    }
    let len = text.to_bytes().len();
    let wrote = libc::write(fd, text.as_ptr().cast(), len);
    libc::close(fd);
    usize::try_from(wrote) == Ok(len)
}
