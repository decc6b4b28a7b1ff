//! Capturing a command's output into unlinked temporary files instead of
//! pipes. A pipe is only done when every holder closes it, and a command
//! such as /etc/rc leaves daemons behind that hold it forever; a file is
//! read once the command itself has exited.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU32, Ordering};

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

fn read_all(mut f: std::fs::File) -> std::io::Result<Vec<u8>> {
    f.seek(SeekFrom::Start(0))?;
    let mut v = Vec::new();
    f.read_to_end(&mut v)?;
    Ok(v)
}

/// Runs `c` with stdin from /dev/null and its output captured; returns
/// once the command has exited, whatever it left running.
pub fn run(c: &mut std::process::Command) -> std::io::Result<(ExitStatus, Vec<u8>, Vec<u8>)> {
    let (out, err) = (scratch()?, scratch()?);
    c.stdin(std::process::Stdio::null()).stdout(out.try_clone()?).stderr(err.try_clone()?);
    let status = c.status()?;
    Ok((status, read_all(out)?, read_all(err)?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn returns_when_the_command_exits_even_if_a_child_keeps_the_output_open() {
        let started = std::time::Instant::now();
        let mut c = std::process::Command::new("sh");
        c.args(["-c", "echo out; echo err >&2; sleep 30 & exit 2"]);
        let (status, out, err) = super::run(&mut c).expect("runs");
        assert_eq!(
            (status.code(), out.as_slice(), err.as_slice()),
            (Some(2), b"out\n".as_slice(), b"err\n".as_slice())
        );
        assert!(started.elapsed().as_secs() < 10, "did not wait for the background child");
    }
}
