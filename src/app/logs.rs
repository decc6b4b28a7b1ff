//! `brig logs`: the end of a jail's console log, and what is appended to
//! it after (`follow`), across a rotation by newsyslog(8).

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{Error, NotFound};
use crate::host::Host;
use crate::model::JailName;
use crate::state::consolelog;

/// The most of a log `logs` reads back to find its last lines.
const TAIL_LIMIT: u64 = 16 << 20;
/// How often a followed log is looked at.
const POLL: Duration = Duration::from_millis(250);

fn open(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path)
}

/// Writes the last `lines` lines of `name`'s console log to `out`; with
/// `follow`, then what is appended, until `stop` is raised. A log that
/// does not exist yet is waited for when following.
pub fn show(
    host: &dyn Host,
    name: &JailName,
    lines: usize,
    follow: bool,
    stop: &AtomicBool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let path = host.local_path(&consolelog::path(name));
    let io = |e: std::io::Error| Error::Usage(format!("{}: {e}", path.display()));
    let mut at = match open(&path) {
        Ok(mut f) => {
            let end = f.metadata().map_err(io)?.len();
            let (_, text) = consolelog::tail(&mut f, end, lines, TAIL_LIMIT).map_err(io)?;
            out.write_all(&text).and_then(|()| out.flush()).map_err(io)?;
            Some((f, end))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && follow => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(NotFound::ConsoleLog { jail: name.clone(), path: consolelog::path(name) }.into())
        }
        Err(e) => return Err(io(e)),
    };
    while follow && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(POLL);
        at = follow_once(&path, at, out).map_err(io)?;
    }
    Ok(())
}

/// Copies what was appended since `at` (the open log and how far it was
/// read); a log replaced by a rotation or cut shorter is read again from
/// its start.
fn follow_once(
    path: &Path,
    at: Option<(std::fs::File, u64)>,
    out: &mut dyn Write,
) -> std::io::Result<Option<(std::fs::File, u64)>> {
    let now = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(at),
        Err(e) => return Err(e),
    };
    let (mut f, pos) = match at {
        Some((f, pos)) if f.metadata()?.ino() == now.ino() && now.len() >= pos => (f, pos),
        _ => (open(path)?, 0),
    };
    let end = f.metadata()?.len();
    if end > pos {
        f.seek(SeekFrom::Start(pos))?;
        std::io::copy(&mut (&mut f).take(end - pos), out)?;
        out.flush()?;
    }
    Ok(Some((f, end)))
}
