//! Running a command on the host or inside a jail.
//!
//! Inside a jail it is what jexec(8) does: fork, jail_attach(2), chdir("/"),
//! look the user up in the jail's own password database, then setgid(2),
//! initgroups(3), setuid(2) and exec. With `clean_env` the environment is
//! rebuilt like `exec.clean`: PATH, TERM, then HOME, SHELL and USER (set
//! too when a user is given, as jexec -U does), then the command's own
//! variables.
//!
//! The child-side code runs between fork and exec. It makes no Rust
//! allocation (everything it needs is prepared in the parent), but
//! getpwnam(3), initgroups(3) and setenv(3) are libc functions that may
//! allocate, exactly as in jexec(8): brig must spawn from a single thread.

use std::ffi::{CStr, CString};
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::ExitStatus;

use libc::c_char;
use nix::errno::Errno;
use nix::unistd::{Uid, User};

use super::{c_string, io_errno};
use crate::host::{Command, HostError, HostResult, Jid, Output, Place, Stdio};

const OP: &str = "spawn";

/// PATH of a clean environment: the `default` class of login.conf(5).
const DEFAULT_PATH: &CStr = c"/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin";
const DEFAULT_PATH_STR: &str = "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin";

/// The child reports which step failed by adding `stage * STAGE` to the
/// errno it returns; std hands that number back from spawn() unchanged.
const STAGE: i32 = 1 << 16;

#[derive(Debug, Clone, Copy)]
enum Stage {
    Attach = 1,
    Chdir = 2,
    User = 3,
    Env = 4,
    SetGid = 5,
    Groups = 6,
    SetUid = 7,
}

fn fail(stage: Stage, errno: i32) -> io::Error {
    io::Error::from_raw_os_error(stage as i32 * STAGE + errno)
}

fn failed(stage: Stage) -> io::Error {
    fail(stage, io::Error::last_os_error().raw_os_error().unwrap_or(libc::EINVAL))
}

extern "C" {
    /// The process environment (environ(7)); libc does not export it for
    /// FreeBSD.
    static mut environ: *mut *mut c_char;
}

/// An empty environment for `environ` to point at, as jexec(8) -l does;
/// FreeBSD's setenv(3) rebuilds its own array from it on the first call.
static mut EMPTY_ENV: [*mut c_char; 1] = [std::ptr::null_mut()];

fn setenv(name: &CStr, value: *const c_char) -> io::Result<()> {
    // SAFETY: `name` and `value` are NUL-terminated strings valid for the
    // call; setenv copies them.
    if unsafe { libc::setenv(name.as_ptr(), value, 1) } != 0 {
        return Err(failed(Stage::Env));
    }
    Ok(())
}

/// Everything the child needs, prepared in the parent.
struct ChildSetup {
    jid: Option<Jid>,
    user: Option<CString>,
    clean_env: bool,
    term: Option<CString>,
    env: Vec<(CString, CString)>,
}

impl ChildSetup {
    /// Runs in the child after fork(2), before exec.
    fn run(&self) -> io::Result<()> {
        if let Some(jid) = self.jid {
            // SAFETY: plain system calls.
            if unsafe { libc::jail_attach(jid) } != 0 {
                return Err(failed(Stage::Attach));
            }
            if unsafe { libc::chdir(c"/".as_ptr()) } != 0 {
                return Err(failed(Stage::Chdir));
            }
        }
        // The user is looked up after jail_attach, in the jail's own
        // password database (jexec -U).
        let pw = match &self.user {
            Some(u) => {
                // SAFETY: `u` is NUL-terminated; the result is NULL or
                // points into libc's static passwd buffer.
                let pw = unsafe { libc::getpwnam(u.as_ptr()) };
                if pw.is_null() {
                    return Err(fail(Stage::User, libc::ENOENT));
                }
                pw
            }
            // SAFETY: as above.
            None if self.clean_env => unsafe { libc::getpwuid(libc::getuid()) },
            None => std::ptr::null_mut(),
        };
        // SAFETY: `pw` is NULL or a valid passwd entry; nothing below calls
        // getpw*(3) again, so it stays valid.
        let pw = unsafe { pw.as_ref() };
        if self.clean_env {
            // SAFETY: single-threaded child; environ is repointed at a
            // static empty array before anything reads it.
            unsafe { environ = (&raw mut EMPTY_ENV).cast::<*mut c_char>() };
            setenv(c"PATH", DEFAULT_PATH.as_ptr())?;
            if let Some(term) = &self.term {
                setenv(c"TERM", term.as_ptr())?;
            }
        }
        // jexec(8) and jail(8) set USER, HOME and SHELL whenever the
        // environment is cleaned *or* a user is given, so a command run as
        // another user does not inherit root's HOME.
        if let Some(pw) = pw {
            // SAFETY: pw_shell is a NUL-terminated string of the entry.
            let shell = if unsafe { *pw.pw_shell } == 0 { c"/bin/sh".as_ptr() } else { pw.pw_shell };
            setenv(c"HOME", pw.pw_dir)?;
            setenv(c"SHELL", shell)?;
            setenv(c"USER", pw.pw_name)?;
        }
        for (name, value) in &self.env {
            setenv(name, value.as_ptr())?;
        }
        if let (Some(pw), Some(_)) = (pw, &self.user) {
            let (uid, gid) = (pw.pw_uid, pw.pw_gid);
            // SAFETY: plain system calls; pw_name is NUL-terminated.
            unsafe {
                if libc::setgid(gid) != 0 {
                    return Err(failed(Stage::SetGid));
                }
                if libc::initgroups(pw.pw_name, gid) != 0 {
                    return Err(failed(Stage::Groups));
                }
                if libc::setuid(uid) != 0 {
                    return Err(failed(Stage::SetUid));
                }
            }
        }
        if let (Some(pw), Some(_), true) = (pw, self.jid, self.clean_env) {
            // Like jexec -l: start in the user's home when it exists.
            // SAFETY: pw_dir is NUL-terminated; failure is harmless.
            unsafe { libc::chdir(pw.pw_dir) };
        }
        Ok(())
    }
}

/// The command's variables as C strings: a name must be non-empty and
/// free of `=`, and neither part may contain NUL.
fn env_pairs(cmd: &Command) -> HostResult<Vec<(CString, CString)>> {
    cmd.env
        .iter()
        .map(|(k, v)| {
            if k.is_empty() || k.contains('=') {
                return Err(HostError::new(OP, Errno::EINVAL, format!("{k:?} is not an environment variable name")));
            }
            Ok((c_string(OP, "environment variable name", k)?, c_string(OP, "environment variable value", v)?))
        })
        .collect()
}

/// What went wrong, decoded from the child's stage-tagged errno.
fn spawn_err(e: &io::Error, cmd: &Command, place: Place) -> HostError {
    let raw = e.raw_os_error().unwrap_or(0);
    let (stage, code) = (raw / STAGE, raw % STAGE);
    let errno = if raw == 0 { io_errno(e) } else { Errno::from_raw(code) };
    let user = cmd.user.as_deref().unwrap_or("root");
    let place_text = match place {
        Place::Host => "on the host".to_string(),
        Place::Jail(j) => format!("in jail {j}"),
    };
    let what = match stage {
        1 => format!("cannot attach to jail {}", if let Place::Jail(j) = place { j } else { 0 }),
        2 => "cannot change to the jail's root directory".to_string(),
        3 => format!("user {user} does not exist {place_text}"),
        4 => "cannot set the environment".to_string(),
        5..=7 => format!("cannot switch to user {user} {place_text}"),
        _ => format!("cannot run {} {place_text}", cmd.program),
    };
    HostError::new(OP, errno, format!("{}: {what}", cmd.display()))
}

/// Exit code, or 128 + signal number.
fn status_code(status: ExitStatus) -> i32 {
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

pub(super) fn spawn(cmd: &Command, place: Place) -> HostResult<Output> {
    let mut c = std::process::Command::new(&cmd.program);
    c.args(&cmd.args);
    let env = env_pairs(cmd)?;
    let term = std::env::var("TERM").ok().and_then(|t| CString::new(t).ok());
    let jid = match place {
        Place::Host => None,
        Place::Jail(j) => Some(j),
    };
    if jid.is_none() && cmd.user.is_none() {
        // On the host with brig's own credentials: std does it all.
        if cmd.clean_env {
            c.env_clear();
            c.env("PATH", DEFAULT_PATH_STR);
            if let Ok(t) = std::env::var("TERM") {
                c.env("TERM", t);
            }
            if let Ok(Some(u)) = User::from_uid(Uid::current()) {
                let shell = if u.shell.as_os_str().is_empty() { "/bin/sh".into() } else { u.shell };
                c.env("HOME", u.dir).env("SHELL", shell).env("USER", u.name);
            }
        }
        c.envs(cmd.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    } else {
        let user = cmd.user.as_deref().map(|u| c_string(OP, "user name", u)).transpose()?;
        let setup = ChildSetup { jid, user, clean_env: cmd.clean_env, term, env };
        // SAFETY: `run` makes only system calls and the libc calls listed
        // in the module comment, and allocates nothing itself.
        unsafe { c.pre_exec(move || setup.run()) };
    }
    match cmd.stdio {
        Stdio::Inherit => {
            let status = c.status().map_err(|e| spawn_err(&e, cmd, place))?;
            Ok(Output { status: status_code(status), stdout: Vec::new(), stderr: Vec::new() })
        }
        Stdio::Capture => {
            // Files, not pipes: /etc/rc's daemons would hold a pipe open.
            let (s, stdout, stderr) = crate::host::capture::run(&mut c).map_err(|e| spawn_err(&e, cmd, place))?;
            Ok(Output { status: status_code(s), stdout, stderr })
        }
    }
}
