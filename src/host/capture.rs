//! Running a prepared process for every backend: its output captured into
//! unlinked temporary files instead of pipes (a pipe is only done when
//! every holder closes it, and a command such as /etc/rc leaves daemons
//! behind that hold it forever; a file is read once the command itself
//! has exited), and a deadline after which it is killed with its process
//! group (a readiness probe that hangs must not hang brig).

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// An anonymous file: created mode 0600 and unlinked at once.
fn scratch() -> std::io::Result<std::fs::File> {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(".brig-capture-{}-{n}", std::process::id()));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(f)
}

/// The most of a command's output kept in memory: its end, where a
/// failure says why.
const KEPT: u64 = 64 << 20;

fn read_all(mut f: std::fs::File, kept: u64) -> std::io::Result<Vec<u8>> {
    let len = f.seek(SeekFrom::End(0))?;
    f.seek(SeekFrom::Start(len.saturating_sub(kept)))?;
    let mut v = Vec::new();
    f.take(kept).read_to_end(&mut v)?;
    Ok(v)
}

/// Runs `c` as `stdio` asks (captured: stdin from /dev/null, output read
/// once the command itself has exited, whatever it left running). With a
/// deadline, the command runs in a process group of its own, killed whole
/// with SIGKILL when the deadline passes; the output says so. With
/// `limit`, the command may write no file larger (its captured output
/// included) and only that much of each output is kept.
pub fn run(
    c: &mut std::process::Command,
    stdio: crate::host::Stdio,
    deadline: Option<Duration>,
    limit: Option<u64>,
) -> std::io::Result<crate::host::Output> {
    let files = match stdio {
        crate::host::Stdio::Capture => {
            let (out, err) = (scratch()?, scratch()?);
            c.stdin(std::process::Stdio::null()).stdout(out.try_clone()?).stderr(err.try_clone()?);
            Some((out, err))
        }
        crate::host::Stdio::Inherit => None,
    };
    if deadline.is_some() {
        c.process_group(0);
    }
    if let Some(bytes) = limit {
        let rl = libc::rlimit { rlim_cur: bytes as libc::rlim_t, rlim_max: bytes as libc::rlim_t };
        // SAFETY: setrlimit is async-signal-safe and touches only the
        // child's own limits, between fork and exec.
        unsafe {
            c.pre_exec(move || {
                if libc::setrlimit(libc::RLIMIT_FSIZE, &rl) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    let mut child = c.spawn()?;
    let (status, timed_out) = wait(&mut child, deadline)?;
    let (stdout, stderr) = match files {
        Some((out, err)) => {
            let kept = limit.unwrap_or(KEPT).min(KEPT);
            (read_all(out, kept)?, read_all(err, kept)?)
        }
        None => (Vec::new(), Vec::new()),
    };
    let status = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Ok(crate::host::Output { status, stdout, stderr, timed_out })
}

/// Waits for `child`, killing its process group at the deadline.
fn wait(child: &mut std::process::Child, deadline: Option<Duration>) -> std::io::Result<(ExitStatus, bool)> {
    let Some(limit) = deadline else { return Ok((child.wait()?, false)) };
    let until = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok((s, false));
        }
        if Instant::now() >= until {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
            return Ok((child.wait()?, true));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn returns_when_the_command_exits_even_if_a_child_keeps_the_output_open() {
        let started = std::time::Instant::now();
        let mut c = std::process::Command::new("sh");
        c.args(["-c", "echo out; echo err >&2; sleep 30 & exit 2"]);
        let out = super::run(&mut c, crate::host::Stdio::Capture, None, None).expect("runs");
        assert_eq!(
            (out.status, out.stdout.as_slice(), out.stderr.as_slice(), out.timed_out),
            (2, b"out\n".as_slice(), b"err\n".as_slice(), false)
        );
        assert!(started.elapsed().as_secs() < 10, "did not wait for the background child");
    }

    #[test]
    fn a_limited_command_writes_and_keeps_no_more_than_its_limit() {
        let mut c = std::process::Command::new("sh");
        c.args(["-c", "i=0; while [ $i -lt 20000 ]; do echo 0123456789; i=$((i+1)); done"]);
        let out = super::run(&mut c, crate::host::Stdio::Capture, None, Some(1000)).expect("runs");
        assert!(out.stdout.len() <= 1000, "{} bytes kept", out.stdout.len());
        assert_ne!(out.status, 0, "went past the limit unharmed");
    }

    #[test]
    fn a_command_past_its_deadline_is_killed_with_its_children() {
        let started = std::time::Instant::now();
        let mut c = std::process::Command::new("sh");
        c.args(["-c", "sleep 30 & sleep 30"]);
        let out = super::run(&mut c, crate::host::Stdio::Capture, Some(std::time::Duration::from_millis(200)), None)
            .expect("runs");
        assert!(out.timed_out);
        assert_eq!(out.status, 128 + 9);
        assert!(started.elapsed().as_secs() < 10);
    }
}
