//! The few C library calls std does not offer, declared by hand so the
//! userland builds with rustc alone (no crates, no Cargo.lock of its own).
//! Linux x86-64 numbers: the userland only ever runs inside the simulated
//! host, whose jail processes are Linux processes.

use std::ffi::{c_char, c_int, CString};
use std::os::fd::RawFd;

extern "C" {
    fn fork() -> c_int;
    fn _exit(status: c_int) -> !;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn kill(pid: c_int, sig: c_int) -> c_int;
    fn signal(sig: c_int, handler: usize) -> usize;
    fn getuid() -> u32;
    fn getgid() -> u32;
    fn setuid(uid: u32) -> c_int;
    fn setgid(gid: u32) -> c_int;
    fn setgroups(n: usize, groups: *const u32) -> c_int;
    fn dup2(old: c_int, new: c_int) -> c_int;
    fn pipe2(fds: *mut c_int, flags: c_int) -> c_int;
    fn isatty(fd: c_int) -> c_int;
    fn access(path: *const c_char, mode: c_int) -> c_int;
    fn gethostname(name: *mut c_char, len: usize) -> c_int;
}

const O_CLOEXEC: c_int = 0o2000000;
const SIG_DFL: usize = 0;
const SIG_IGN: usize = 1;

/// Signal names and numbers, for `trap` and `kill`.
pub const SIGNALS: &[(&str, i32)] =
    &[("HUP", 1), ("INT", 2), ("QUIT", 3), ("KILL", 9), ("USR1", 10), ("USR2", 12), ("ALRM", 14), ("TERM", 15)];

pub fn signal_number(name: &str) -> Option<i32> {
    let name = name.strip_prefix("SIG").unwrap_or(name);
    name.parse().ok().filter(|n| (1..64).contains(n)).or_else(|| SIGNALS.iter().find(|s| s.0 == name).map(|s| s.1))
}

fn check(rc: c_int) -> std::io::Result<c_int> {
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Some(0) in the child, Some(pid) in the parent. The userland is single
/// threaded, so the child may run anything.
pub fn fork_process() -> std::io::Result<i32> {
    // SAFETY: fork has no preconditions in a single-threaded process.
    check(unsafe { fork() })
}

/// Ends the process without running anything else of the parent's.
pub fn exit_now(status: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // SAFETY: _exit never returns and takes any status.
    unsafe { _exit(status) }
}

/// Waits for `pid` and returns its status as a shell reports it: the exit
/// code, or 128 plus the signal that killed it.
pub fn wait_for(pid: i32) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid int to write.
        let rc = unsafe { waitpid(pid, &mut status, 0) };
        if rc == pid {
            break;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return 127;
        }
    }
    if status & 0x7f == 0 {
        (status >> 8) & 0xff
    } else {
        128 + (status & 0x7f)
    }
}

pub fn send_signal(pid: i32, sig: i32) -> std::io::Result<()> {
    // SAFETY: plain system call.
    check(unsafe { kill(pid, sig) }).map(drop)
}

/// Signals caught by `trap`, one bit each, set by the handler.
pub static PENDING: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn on_signal(sig: c_int) {
    // An atomic or is async-signal-safe.
    PENDING.fetch_or(1 << sig, std::sync::atomic::Ordering::SeqCst);
}

/// What the shell does on `sig`: note it (Some(true)), ignore it
/// (Some(false)) or the default (None).
pub fn set_signal(sig: i32, caught: Option<bool>) {
    let handler = match caught {
        Some(true) => on_signal as extern "C" fn(c_int) as usize,
        Some(false) => SIG_IGN,
        None => SIG_DFL,
    };
    // SAFETY: the handler only does an atomic or.
    unsafe { signal(sig, handler) };
}

pub fn uid() -> u32 {
    // SAFETY: never fails.
    unsafe { getuid() }
}

pub fn gid() -> u32 {
    // SAFETY: never fails.
    unsafe { getgid() }
}

/// Becomes `uid`:`gid` with `gid` as the only group, as login(1) does.
pub fn become_user(uid: u32, gid: u32) -> std::io::Result<()> {
    // SAFETY: plain system calls on a one-element array.
    unsafe {
        check(setgroups(1, &gid))?;
        check(setgid(gid))?;
        check(setuid(uid))?;
    }
    Ok(())
}

/// Makes descriptor `new` a copy of `old`.
pub fn dup_to(old: RawFd, new: RawFd) -> std::io::Result<()> {
    // SAFETY: plain system call.
    check(unsafe { dup2(old, new) }).map(drop)
}

/// A pipe whose ends are closed by exec: (read, write).
pub fn pipe() -> std::io::Result<(std::fs::File, std::fs::File)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors.
    check(unsafe { pipe2(fds.as_mut_ptr(), O_CLOEXEC) })?;
    // SAFETY: both descriptors are new and owned by nothing else.
    Ok(unsafe { (std::fs::File::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(fds[1])) })
}

pub fn is_terminal(fd: RawFd) -> bool {
    // SAFETY: plain system call.
    unsafe { isatty(fd) == 1 }
}

/// access(2) with R_OK (4), W_OK (2) or X_OK (1).
pub fn can(path: &str, mode: i32) -> bool {
    let Ok(p) = CString::new(path) else { return false };
    // SAFETY: p is a valid C string.
    unsafe { access(p.as_ptr(), mode) == 0 }
}

pub fn hostname() -> std::io::Result<String> {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length.
    check(unsafe { gethostname(buf.as_mut_ptr().cast(), buf.len()) })?;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}
