//! Each jail's usage samples on disk, `/var/db/brig/usage/NAME.samples`
//! (0600): fixed-size records appended one write at a time. Bounded: when
//! the file reaches `MAX_BYTES` it becomes `NAME.samples.old` (replacing
//! the one before) and a new one begins, so a jail's samples never take more
//! than twice that, about two months of minute samples. A destroyed
//! jail's samples stay, for its last bill.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::host::Host;
use crate::model::JailName;
use crate::plan::usage::{decode_all, Sample, RECORD};

pub const USAGE_DIR: &str = "/var/db/brig/usage";
/// 31 days of one sample a minute.
pub const MAX_BYTES: u64 = RECORD as u64 * 31 * 24 * 60;

// Both end in a suffix no other jail's name gives: a name has at most
// one dot (parent.child), so `X.samples.old` is never `Y.samples`.
fn path(name: &JailName) -> PathBuf {
    Path::new(USAGE_DIR).join(format!("{name}.samples"))
}

fn old_path(name: &JailName) -> PathBuf {
    Path::new(USAGE_DIR).join(format!("{name}.samples.old"))
}

/// Appends one sample of `name`.
pub fn append(host: &dyn Host, name: &JailName, sample: &Sample) -> std::io::Result<()> {
    host.make_dirs(Path::new(USAGE_DIR), 0o700)?;
    let local = host.local_path(&path(name));
    let full = std::fs::symlink_metadata(&local).is_ok_and(|m| m.len() >= MAX_BYTES);
    if full {
        std::fs::rename(&local, host.local_path(&old_path(name)))?;
    }
    let mut f = super::open_for_append(&local)?;
    // A record cut short (a full disk) would shift every later one: it
    // goes first.
    let len = f.metadata()?.len();
    if len % RECORD as u64 != 0 {
        f.set_len(len - len % RECORD as u64)?;
    }
    f.write_all(&sample.encode())
}

/// Every sample of `name`, oldest first; none when there are none.
pub fn read(host: &dyn Host, name: &JailName) -> std::io::Result<Vec<Sample>> {
    let mut out = Vec::new();
    for p in [old_path(name), path(name)] {
        match host.read_file(&p, MAX_BYTES + RECORD as u64) {
            // A file cut mid-record by a crash: the whole records read.
            Ok(bytes) => out.extend(decode_all(&bytes)),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(std::io::Error::other(format!("{}: {e}", host.local_path(&p).display()))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_becomes_the_old_one_and_both_read_in_order() {
        let dir = tempfile::tempdir().expect("dir");
        let host = crate::host::sim::SimHost::open(dir.path()).expect("sim");
        let name = JailName::parse("web").expect("name");
        let per_file = MAX_BYTES / RECORD as u64;
        for unix in 0..per_file + 3 {
            append(&host, &name, &Sample { unix, started: 0, cputime: unix, memoryuse: 0, io_rate: 0 })
                .expect("append");
        }
        let local = |p: &Path| std::fs::metadata(host.local_path(p)).expect("file").len();
        assert_eq!((local(&old_path(&name)), local(&path(&name))), (MAX_BYTES, 3 * RECORD as u64));
        let all = read(&host, &name).expect("read");
        assert_eq!(all.len() as u64, per_file + 3);
        assert!(all.windows(2).all(|w| w[0].unix + 1 == w[1].unix));
        // A record cut short is cut off before the next one is written.
        let mut f = crate::state::open_for_append(&host.local_path(&path(&name))).expect("open");
        std::io::Write::write_all(&mut f, &[7; 5]).expect("torn");
        append(&host, &name, &Sample { unix: 1 << 20, started: 0, cputime: 0, memoryuse: 0, io_rate: 0 })
            .expect("append");
        let all = read(&host, &name).expect("read");
        assert_eq!(all.last().map(|s| s.unix), Some(1 << 20));
        assert_eq!(all.len() as u64, per_file + 4);
    }
}
