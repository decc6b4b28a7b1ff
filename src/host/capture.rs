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
/// `limit`, the output goes through pipes instead (`run_piped`).
pub fn run(
    c: &mut std::process::Command,
    stdio: crate::host::Stdio,
    deadline: Option<Duration>,
    limit: Option<u64>,
) -> std::io::Result<crate::host::Output> {
    if deadline.is_some() {
        c.process_group(0);
    }
    if let (crate::host::Stdio::Capture, Some(kept)) = (stdio, limit) {
        return run_piped(c, deadline, kept);
    }
    let files = match stdio {
        crate::host::Stdio::Capture => {
            let (out, err) = (scratch()?, scratch()?);
            c.stdin(std::process::Stdio::null()).stdout(out.try_clone()?).stderr(err.try_clone()?);
            Some((out, err))
        }
        crate::host::Stdio::Inherit => None,
    };
    let mut child = c.spawn()?;
    let (status, timed_out) = wait(&mut child, deadline, None)?;
    let (stdout, stderr) = match files {
        Some((out, err)) => (read_all(out, KEPT)?, read_all(err, KEPT)?),
        None => (Vec::new(), Vec::new()),
    };
    Ok(output(status, stdout, stderr, timed_out))
}

/// Exit code, or 128 + signal number when killed by a signal.
fn output(status: ExitStatus, stdout: Vec<u8>, stderr: Vec<u8>, timed_out: bool) -> crate::host::Output {
    let status = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    crate::host::Output { status, stdout, stderr, timed_out }
}

/// For a command whose output nobody vouches for (a health check): its
/// output read through pipes while it runs, only the last `kept` bytes of
/// each kept, and the pipes closed once it has exited, so that nothing it
/// left behind can write on: no file on the host grows, whatever the
/// command does to its limits, and a process that left the command's
/// group gets EPIPE.
fn run_piped(
    c: &mut std::process::Command,
    deadline: Option<Duration>,
    kept: u64,
) -> std::io::Result<crate::host::Output> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let (out_r, out_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let (err_r, err_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    for r in [&out_r, &err_r] {
        fcntl(r, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    }
    c.stdin(std::process::Stdio::null()).stdout(out_w).stderr(err_w);
    let spawned = c.spawn();
    // The command must hold the only write ends: the ones `c` kept go.
    c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let mut child = spawned?;
    let mut out_r = std::fs::File::from(out_r);
    let mut err_r = std::fs::File::from(err_r);
    let keep = usize::try_from(kept).unwrap_or(usize::MAX);
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut read_both = || {
        drain(&mut out_r, &mut stdout, keep);
        drain(&mut err_r, &mut stderr, keep);
    };
    let (status, timed_out) = wait(&mut child, deadline, Some(&mut read_both))?;
    // What it wrote before it exited; the read ends close here.
    read_both();
    Ok(output(status, stdout, stderr, timed_out))
}

/// Reads what `pipe` holds now (a bounded number of reads, so a writer
/// that never stops cannot hold the caller), keeping the last `keep`
/// bytes in `into`.
fn drain(pipe: &mut std::fs::File, into: &mut Vec<u8>, keep: usize) {
    let mut buf = [0u8; 8192];
    for _ in 0..64 {
        match pipe.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                into.extend_from_slice(&buf[..n]);
                if into.len() > keep {
                    into.drain(..into.len() - keep);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // Nothing more for now (EAGAIN), or nothing more at all.
            Err(_) => return,
        }
    }
}

/// Waits for `child`, killing its process group at the deadline; while
/// it runs, `meanwhile` is called every few milliseconds (to read its
/// pipes, which must not fill up).
fn wait(
    child: &mut std::process::Child,
    deadline: Option<Duration>,
    mut meanwhile: Option<&mut dyn FnMut()>,
) -> std::io::Result<(ExitStatus, bool)> {
    if deadline.is_none() && meanwhile.is_none() {
        return Ok((child.wait()?, false));
    }
    let until = deadline.map(|d| Instant::now() + d);
    loop {
        if let Some(m) = meanwhile.as_mut() {
            m();
        }
        if let Some(s) = child.try_wait()? {
            return Ok((s, false));
        }
        if until.is_some_and(|u| Instant::now() >= u) {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
            return Ok((child.wait()?, true));
        }
        std::thread::sleep(Duration::from_millis(10));
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
    fn a_limited_command_keeps_its_last_bytes_and_what_it_left_cannot_write_on() {
        let mut c = std::process::Command::new("sh");
        c.args(["-c", "i=0; while [ $i -lt 20000 ]; do echo $i; i=$((i+1)); done; echo err >&2"]);
        let out = super::run(&mut c, crate::host::Stdio::Capture, None, Some(1000)).expect("runs");
        assert_eq!(out.status, 0);
        assert!(out.stdout.len() == 1000 && out.stdout.ends_with(b"19998\n19999\n"), "{} bytes", out.stdout.len());
        assert_eq!(out.stderr, b"err\n");
        // A writer that left the command's process group and writes for
        // ever: brig returns when the command exits, and the writer is
        // ended by the closed pipe.
        let marker = format!("brig-capture-test-{}", std::process::id());
        let mut c = std::process::Command::new("sh");
        let script = format!("setsid sh -c 'while :; do echo {marker}; done' & echo started");
        c.args(["-c", &script]);
        let started = std::time::Instant::now();
        let out = super::run(&mut c, crate::host::Stdio::Capture, Some(std::time::Duration::from_secs(5)), Some(100))
            .expect("runs");
        assert!(started.elapsed().as_secs() < 5 && !out.timed_out, "waited for the writer");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let running = || {
            std::fs::read_dir("/proc").expect("proc").flatten().any(|e| {
                std::fs::read(e.path().join("cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(&marker))
            })
        };
        while running() {
            assert!(std::time::Instant::now() < deadline, "the writer still runs");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
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
