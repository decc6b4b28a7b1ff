//! Reading files whose type and size brig does not control: definitions
//! a person or a script put in the jails directory, journal entries and
//! start records a crash may have cut, files inside a jail root. Only a
//! regular file is read, never through a symbolic link, never more than a
//! bound: a FIFO would block brig forever, a device could have effects
//! when opened, and an 8 GiB sparse file would be read whole.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Definitions, brig.toml and brig's own records: far above any real one
/// (a definition with a thousand mounts is about 100 KiB).
pub const CONFIG_LIMIT: u64 = 1 << 20;

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// Not a regular file: what it is instead.
    NotRegular(&'static str),
    TooLarge {
        size: u64,
        limit: u64,
    },
    Io(std::io::Error),
}

impl ReadError {
    /// The file is not there (so a caller may treat it as absent).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotRegular(what) => {
                write!(f, "is {what}, not a regular file; brig reads only regular files here")
            }
            ReadError::TooLarge { size, limit } => {
                write!(f, "is {size} bytes, more than the {limit} bytes brig reads from such a file")
            }
            ReadError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ReadError {}

impl From<ReadError> for std::io::Error {
    fn from(e: ReadError) -> std::io::Error {
        match e {
            ReadError::Io(e) => e,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other.to_string()),
        }
    }
}

/// What a file that is not regular is, for the sentence.
fn kind_of(t: std::fs::FileType) -> &'static str {
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
}

/// Reads `path`, a regular file not reached through a symbolic link in
/// its last component, of at most `limit` bytes.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    // lstat first, so that a device or FIFO is never opened at all.
    let meta = std::fs::symlink_metadata(path).map_err(ReadError::Io)?;
    if !meta.file_type().is_file() {
        return Err(ReadError::NotRegular(kind_of(meta.file_type())));
    }
    // O_NOFOLLOW and O_NONBLOCK: if it was swapped for a symlink or a FIFO
    // since, the open fails or returns at once, and fstat below says so.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // Linux says ELOOP, FreeBSD EMLINK (open(2)).
            Some(libc::ELOOP) | Some(libc::EMLINK) => ReadError::NotRegular("a symbolic link"),
            _ => ReadError::Io(e),
        })?;
    read_file(file, limit)
}

/// Reads an open file, which must be regular and at most `limit` bytes.
pub fn read_file(mut file: File, limit: u64) -> Result<Vec<u8>, ReadError> {
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.file_type().is_file() {
        return Err(ReadError::NotRegular(kind_of(meta.file_type())));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge { size: meta.len(), limit });
    }
    // The file may grow while it is read: never more than the bound.
    let mut out = Vec::with_capacity(meta.len() as usize);
    (&mut file).take(limit + 1).read_to_end(&mut out).map_err(ReadError::Io)?;
    if out.len() as u64 > limit {
        return Err(ReadError::TooLarge { size: out.len() as u64, limit });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_within_the_bound() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("a.toml");
        std::fs::write(&p, b"x = 1\n").expect("write");
        assert_eq!(read(&p, 6).expect("reads"), b"x = 1\n");
        let e = read(&p, 5).expect_err("too large");
        assert_eq!(e.to_string(), "is 6 bytes, more than the 5 bytes brig reads from such a file");
    }

    #[test]
    fn refuses_fifos_symlinks_and_directories_without_blocking() {
        let d = tempfile::tempdir().expect("tempdir");
        let fifo = d.path().join("fifo.toml");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
        assert_eq!(
            read(&fifo, 10).expect_err("fifo").to_string(),
            "is a FIFO, not a regular file; brig reads only regular files here"
        );
        let target = d.path().join("target");
        std::fs::write(&target, b"x").expect("write");
        let link = d.path().join("link.toml");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(read(&link, 10).expect_err("symlink").to_string().starts_with("is a symbolic link"));
        let dangling = d.path().join("dangling.toml");
        std::os::unix::fs::symlink(d.path().join("nowhere"), &dangling).expect("symlink");
        assert!(read(&dangling, 10).expect_err("dangling").to_string().starts_with("is a symbolic link"));
        assert!(read(d.path(), 10).expect_err("dir").to_string().starts_with("is a directory"));
        assert!(read(&d.path().join("missing"), 10).expect_err("missing").is_not_found());
    }

    #[test]
    fn a_sparse_giant_is_refused_without_reading_it() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("big.toml");
        let f = File::create(&p).expect("create");
        f.set_len(8 << 30).expect("sparse");
        assert!(matches!(read(&p, CONFIG_LIMIT), Err(ReadError::TooLarge { size, .. }) if size == 8 << 30));
    }
}
