//! Running a command on the host or inside a jail.
//!
//! A command on the host with brig's own credentials is started by std
//! (posix_spawn where it can). Anything else, a command inside a jail or
//! as another user, goes through brig's jexec helper (`jexec.rs`): brig
//! starts itself as `brig-jexec`, a fresh single-threaded process that
//! attaches, sets the user's login context and execs the command. So
//! between fork and exec in brig, which may have several threads (boot),
//! the only call is fcntl(2) on the report pipe.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;

use nix::errno::Errno;

use super::io_errno;
use crate::host::jexec::{self, Request};
use crate::host::{Command, HostError, HostResult, Output, Place};

const OP: &str = "spawn";

/// Runs a prepared command with the stdio and deadline the caller asked
/// for (files, not pipes, for captured output: /etc/rc's daemons would
/// hold a pipe open).
fn finish(
    mut c: std::process::Command,
    cmd: &Command,
    what: impl Fn(std::io::Error) -> HostError,
) -> HostResult<Output> {
    crate::host::capture::run(&mut c, cmd.stdio, cmd.deadline, cmd.output_limit).map_err(what)
}

fn cannot_run<'a>(cmd: &'a Command, place: &str) -> impl Fn(std::io::Error) -> HostError + 'a {
    let place = place.to_string();
    move |e| HostError::new(OP, io_errno(&e), format!("{}: cannot run {} {place}", cmd.display(), cmd.program))
}

/// On the host with brig's own credentials and environment: std does it
/// all. (A clean environment goes through the helper, which builds it from
/// login.conf as jail(8)'s run_command does.)
fn on_host(cmd: &Command) -> HostResult<Output> {
    let mut c = std::process::Command::new(&cmd.program);
    c.args(&cmd.args);
    c.envs(cmd.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    finish(c, cmd, cannot_run(cmd, "on the host"))
}

/// Runs one of the base system's tools (pfctl, dnctl) with `args`,
/// `input` on its standard input: its standard output, or, when it exits
/// with a failure, its message (the tools say no more in their exit
/// status), for the caller to read the errno from.
pub(super) fn tool(
    op: &'static str,
    program: &str,
    args: &[&str],
    input: Option<&str>,
) -> HostResult<Result<String, String>> {
    use std::io::Write;
    use std::process::Stdio;
    let failed = |what: &str, e: std::io::Error| HostError::new(op, io_errno(&e), format!("{what} {program}"));
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed("running", e))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        // A tool that stops reading fails, and says why.
        let _ = stdin.write_all(text.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| failed("waiting for", e))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Ok(Err(format!("{program} {}: {msg}", args.join(" "))));
    }
    Ok(Ok(String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// A pipe whose ends are closed on exec: (read, write). `op` and `what`
/// name what it is for, in the error.
pub(super) fn pipe(op: &'static str, what: &str) -> HostResult<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(HostError::new(op, Errno::last(), what));
    }
    // SAFETY: both were just created and belong to nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

pub(super) fn spawn(cmd: &Command, place: Place, helper: &Path) -> HostResult<Output> {
    let jid = match place {
        Place::Host if cmd.user.is_none() && !cmd.clean_env => return on_host(cmd),
        Place::Host => None,
        Place::Jail(j) => Some(j),
    };
    let (read, write) = pipe(OP, "creating the helper's report pipe")?;
    let req = Request {
        report_fd: write.as_raw_fd(),
        jid,
        user: cmd.user.clone(),
        clean: cmd.clean_env,
        env: cmd.env.clone(),
        program: cmd.program.clone(),
        args: cmd.args.clone(),
    };
    let mut c = std::process::Command::new(helper);
    c.arg0(jexec::ARG0).args(req.to_args());
    let fd = write.as_raw_fd();
    // SAFETY: only fcntl(2), async-signal-safe, between fork and exec: the
    // helper inherits the report pipe's write end, and nothing else does.
    unsafe {
        c.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let place_text = jid.map_or_else(|| "on the host".to_string(), |j| format!("in jail {j}"));
    let ran = finish(c, cmd, cannot_run(cmd, &place_text));
    // With our write end closed, the pipe ends when the helper exec'd or
    // exited; a report is a few bytes.
    drop(write);
    let mut report = Vec::new();
    let _ = std::fs::File::from(read).take(64).read_to_end(&mut report);
    let user = cmd.user.as_deref().unwrap_or("root");
    match jexec::parse_report(&report) {
        Some((stage, errno)) => Err(HostError::new(
            OP,
            Errno::from_raw(errno),
            format!("{}: {}", cmd.display(), stage.describe(jid, user, &cmd.program)),
        )),
        None => ran,
    }
}
