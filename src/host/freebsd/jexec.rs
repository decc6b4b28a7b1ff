//! The jexec helper: brig run as `brig-jexec` (see `host::jexec`), a
//! fresh single-threaded process that does what jexec(8) -U does, then
//! execs the command in its place: jail_attach(2), chdir("/"), the user
//! from the jail's own password database, its login class
//! (login_getpwclass(3)), initgroups(3), setgid(2), setusercontext(3)
//! with the flags of jexec.c (login.conf limits, umask, PATH and
//! environment apply), USER, HOME and SHELL, the command's variables,
//! descriptors above stderr closed.

use std::ffi::{CStr, CString, OsStr};
use std::path::Path;

use libc::{c_char, c_int, c_uint};

use crate::host::jexec::{self, Request, Stage};
use crate::kernel::login;

/// `login_cap_t` of login_cap.h, only ever passed back to libutil.
#[repr(C)]
struct LoginCap {
    _private: [u8; 0],
}

// libutil (-lutil, which the libc crate and std already link on FreeBSD).
extern "C" {
    fn login_getpwclass(pwd: *const libc::passwd) -> *mut LoginCap;
    fn login_close(lc: *mut LoginCap);
    fn setusercontext(lc: *mut LoginCap, pwd: *const libc::passwd, uid: libc::uid_t, flags: c_uint) -> c_int;
    /// environ(7); libc does not export it for FreeBSD.
    static mut environ: *mut *mut c_char;
}

/// Where the helper keeps its report descriptor.
const REPORT: c_int = 3;

/// What environ points to once the environment is cleaned, as jexec -l
/// does; setenv(3) builds a new array from it.
static mut EMPTY_ENV: [*mut c_char; 1] = [std::ptr::null_mut()];

/// Acts as the helper and never returns when brig was started as
/// `brig-jexec`; returns at once otherwise. Called first thing in main,
/// before any thread exists.
pub fn main_if_helper() {
    let mut argv = std::env::args_os();
    let is_helper = argv.next().is_some_and(|a| Path::new(&a).file_name() == Some(OsStr::new(jexec::ARG0)));
    if !is_helper {
        return;
    }
    let args: Option<Vec<String>> = argv.map(|a| a.into_string().ok()).collect();
    let mut req = match args.ok_or_else(|| "arguments are not UTF-8".to_string()).and_then(|a| Request::parse(&a)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e} (this program is run by brig)", jexec::ARG0);
            std::process::exit(127);
        }
    };
    // The report moves to descriptor 3, which stays open (close-on-exec,
    // so the command never sees it) when everything above is closed.
    // SAFETY: plain system calls on descriptors this process owns.
    unsafe {
        if req.report_fd != REPORT && libc::dup2(req.report_fd, REPORT) == REPORT {
            libc::close(req.report_fd);
        }
        libc::fcntl(REPORT, libc::F_SETFD, libc::FD_CLOEXEC);
    }
    req.report_fd = REPORT;
    let (stage, errno) = run(&req);
    let report = jexec::report(stage, errno);
    // SAFETY: writing a buffer we own to the descriptor brig gave us.
    unsafe { libc::write(req.report_fd, report.as_ptr().cast(), report.len()) };
    std::process::exit(127)
}

fn errno() -> c_int {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EINVAL)
}

/// errno after a call that sets it only on some failures (getpwnam(3)
/// leaves it 0 for "no such user"): `otherwise` when it stayed 0.
fn errno_or(otherwise: c_int) -> c_int {
    match std::io::Error::last_os_error().raw_os_error() {
        Some(0) | None => otherwise,
        Some(e) => e,
    }
}

fn clear_errno() {
    // SAFETY: __error() is the calling thread's errno.
    unsafe { *libc::__error() = 0 }
}

fn c(s: &str) -> Result<CString, c_int> {
    CString::new(s).map_err(|_| libc::EINVAL)
}

/// setenv(3) of one variable.
fn set(name: &str, value: &CStr) -> Result<(), (Stage, c_int)> {
    let n = c(name).map_err(|e| (Stage::Env, e))?;
    // SAFETY: both are NUL-terminated; setenv copies them.
    if unsafe { libc::setenv(n.as_ptr(), value.as_ptr(), 1) } != 0 {
        return Err((Stage::Env, errno()));
    }
    Ok(())
}

/// Everything up to the exec; returns only on failure, with the step and
/// errno.
fn run(req: &Request) -> (Stage, c_int) {
    match prepare(req) {
        Err(failed) => failed,
        Ok((program, argv)) => {
            let mut ptrs: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();
            ptrs.push(std::ptr::null());
            // SAFETY: `program` and the NULL-terminated `ptrs` point into
            // CStrings alive for the call; on success it does not return.
            unsafe { libc::execvp(program.as_ptr(), ptrs.as_ptr()) };
            (Stage::Exec, errno())
        }
    }
}

type Prepared = (CString, Vec<CString>);

fn prepare(req: &Request) -> Result<Prepared, (Stage, c_int)> {
    let program = c(&req.program).map_err(|e| (Stage::Exec, e))?;
    let mut argv = vec![program.clone()];
    for a in &req.args {
        argv.push(c(a).map_err(|e| (Stage::Exec, e))?);
    }
    // SAFETY: plain system calls on integers and a literal path.
    unsafe {
        if let Some(jid) = req.jid {
            if libc::jail_attach(jid) != 0 {
                return Err((Stage::Attach, errno()));
            }
            if libc::chdir(c"/".as_ptr()) != 0 {
                return Err((Stage::Chdir, errno()));
            }
        }
    }
    if let Some(flags) = login::context_flags(req.user.is_some(), req.clean) {
        // The user is looked up after jail_attach: in the jail's own
        // databases, as jexec -U does. errno is cleared first to tell "no
        // such user" from a failed lookup, as jexec's get_user_info does.
        clear_errno();
        let pw = match &req.user {
            Some(u) => {
                let name = c(u).map_err(|e| (Stage::User, e))?;
                // SAFETY: NUL-terminated name; the result is NULL or
                // libc's static entry, used before any other getpw* call.
                unsafe { libc::getpwnam(name.as_ptr()) }
            }
            // SAFETY: as above.
            None => unsafe { libc::getpwuid(libc::getuid()) },
        };
        // SAFETY: NULL or a valid entry (see above).
        let Some(pw) = (unsafe { pw.as_ref() }) else { return Err((Stage::User, errno_or(libc::ENOENT))) };
        // SAFETY: `pw` is a valid entry for these libutil and libc calls.
        unsafe {
            clear_errno();
            let lc = login_getpwclass(pw);
            if lc.is_null() {
                return Err((Stage::Class, errno_or(libc::EINVAL)));
            }
            if libc::initgroups(pw.pw_name, pw.pw_gid) != 0 {
                return Err((Stage::Groups, errno()));
            }
            if req.clean {
                let term = libc::getenv(c"TERM".as_ptr());
                let term = (!term.is_null()).then(|| CStr::from_ptr(term).to_owned());
                environ = (&raw mut EMPTY_ENV).cast::<*mut c_char>();
                // A placeholder: LOGIN_SETPATH puts the class's path.
                set("PATH", c"/bin:/usr/bin")?;
                if let Some(t) = term {
                    set("TERM", &t)?;
                }
            }
            if libc::setgid(pw.pw_gid) != 0 {
                return Err((Stage::SetGid, errno()));
            }
            if setusercontext(lc, pw, pw.pw_uid, flags) != 0 {
                return Err((Stage::Context, errno()));
            }
            login_close(lc);
            // After setusercontext, so login.conf cannot change them.
            let shell = if *pw.pw_shell == 0 { c"/bin/sh" } else { CStr::from_ptr(pw.pw_shell) };
            set("USER", CStr::from_ptr(pw.pw_name))?;
            set("HOME", CStr::from_ptr(pw.pw_dir))?;
            set("SHELL", shell)?;
            // A clean environment starts in the user's home, or not at
            // all: jexec -l and jail(8)'s run_command (host commands too)
            // fail when it cannot.
            if req.clean && libc::chdir(pw.pw_dir) != 0 {
                return Err((Stage::Chdir, errno()));
            }
        }
    }
    for (k, v) in &req.env {
        if k.is_empty() || k.contains('=') {
            return Err((Stage::Env, libc::EINVAL));
        }
        set(k, &c(v).map_err(|e| (Stage::Env, e))?)?;
    }
    // SAFETY: plain calls; every descriptor above the report is closed,
    // as jail(8) does before its exec.
    unsafe {
        libc::endpwent();
        libc::closefrom(REPORT + 1);
    }
    Ok((program, argv))
}
