//! Each jail's console log, `/var/log/brig/NAME.log` (jail(8)'s
//! exec.consolelog): the output of every command brig runs for the jail
//! (exec.prestart to exec.poststop, provision steps), each after a line
//! saying what ran, when and how it ended. Opened for each append and
//! never held, so newsyslog(8) rotates it without a signal to anyone.
//! Read back by `brig logs`.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::host::{Host, Output};
use crate::model::JailName;

/// Where the logs live, a directory of the managed machine (0700).
pub const LOG_DIR: &str = "/var/log/brig";

/// The console log of `jail`, a path of the managed machine.
pub fn path(jail: &JailName) -> PathBuf {
    Path::new(LOG_DIR).join(format!("{jail}.log"))
}

/// The line that goes before a command's output.
pub fn header(unix: u64, what: &str, out: &Output) -> String {
    let time = crate::model::snapshot::SnapshotName::at(unix);
    let end = match (out.timed_out, out.status) {
        (true, _) => "killed at its deadline".to_string(),
        (false, 0) => "exit 0".to_string(),
        (false, s) if s > 128 => format!("killed by signal {}", s - 128),
        (false, s) => format!("exit {s}"),
    };
    format!("--- {time} {what} ({end})\n")
}

/// Appends what `what` printed: the header line, its standard output,
/// then its standard error. The directory is made 0700 and the file 0600
/// when missing, never through a symbolic link.
pub fn append(host: &dyn Host, jail: &JailName, what: &str, out: &Output) -> std::io::Result<()> {
    let dir = Path::new(LOG_DIR);
    host.make_dirs(dir, 0o700)?;
    let mut text = header(crate::app::now(), what, out).into_bytes();
    for part in [&out.stdout, &out.stderr] {
        text.extend_from_slice(part);
        if !part.is_empty() && !part.ends_with(b"\n") {
            text.push(b'\n');
        }
    }
    let mut f = super::open_for_append(&host.local_path(&path(jail)))?;
    f.write_all(&text)
}

/// The last `lines` lines of `file` from `end` backwards, reading at most
/// `limit` bytes; the offset they start at.
pub fn tail(file: &mut std::fs::File, end: u64, lines: usize, limit: u64) -> std::io::Result<(u64, Vec<u8>)> {
    const CHUNK: u64 = 64 * 1024;
    let floor = end.saturating_sub(limit);
    let mut start = end;
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // A last line without its newline counts as a line too.
        let newlines = buf.iter().filter(|&&b| b == b'\n').count() - usize::from(buf.ends_with(b"\n"));
        if newlines >= lines || start == floor {
            break;
        }
        let from = start.saturating_sub(CHUNK).max(floor);
        let mut chunk = vec![0; usize::try_from(start - from).unwrap_or(0)];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
        start = from;
    }
    // Keep the last `lines` lines of what was read.
    let body = buf.strip_suffix(b"\n").unwrap_or(&buf);
    let mut cut = 0;
    let mut seen = 0;
    for (i, b) in body.iter().enumerate().rev() {
        if *b == b'\n' {
            seen += 1;
            if seen == lines {
                cut = i + 1;
                break;
            }
        }
    }
    if lines == 0 {
        cut = buf.len();
    }
    Ok((start + cut as u64, buf[cut..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines_and_where_they_start() {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("log");
        let text: String = (1..=100_000).map(|n| format!("line {n}\n")).collect();
        std::fs::write(&p, &text).expect("write");
        let mut f = std::fs::File::open(&p).expect("open");
        let end = text.len() as u64;
        let (at, got) = tail(&mut f, end, 2, 1 << 20).expect("tail");
        assert_eq!(got, b"line 99999\nline 100000\n");
        assert_eq!(&text.as_bytes()[usize::try_from(at).expect("fits")..], got.as_slice());
        assert_eq!(tail(&mut f, end, 0, 1 << 20).expect("tail").1, b"");
        // Bounded: never more than the limit, even when lines are many.
        assert!(tail(&mut f, end, 1_000_000, 1000).expect("tail").1.len() <= 1000);
        std::fs::write(&p, "a\nno newline").expect("write");
        let mut f = std::fs::File::open(&p).expect("open");
        assert_eq!(tail(&mut f, 12, 1, 100).expect("tail").1, b"no newline");
        assert_eq!(tail(&mut f, 12, 5, 100).expect("tail").1, b"a\nno newline");
    }

    #[test]
    fn the_header_says_what_ran_and_how_it_ended() {
        let out = Output { status: 137, ..Output::default() };
        assert_eq!(
            header(0, "exec.start: /bin/sh /etc/rc", &out),
            "--- 1970-01-01T00:00:00Z exec.start: /bin/sh /etc/rc (killed by signal 9)\n"
        );
    }
}
