//! Atomic file replacement: write a temporary file in the same directory,
//! fsync it, rename it over the target, fsync the directory. A crash at any
//! point leaves either the old file or the new one, never a torn mix.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Replaces `path` with `contents`, created with `mode`.
pub fn write(path: &Path, contents: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| std::io::Error::other("path has no file name"))?;
    let tmp = dir.join(format!(".{}.tmp.{}", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        // The umask may have narrowed the mode; set it exactly.
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Removes the temporary files interrupted writes of `path` left beside
/// it (`.NAME.tmp.PID`, from any process): called by the next brig that
/// holds the lock under which `path` is written, so none is in progress.
pub fn remove_leftovers(path: &Path) -> std::io::Result<()> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return Ok(()) };
    let prefix = format!(".{}.tmp.", name.to_string_lossy());
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in entries.flatten() {
        let n = e.file_name();
        let n = n.to_string_lossy();
        if n.strip_prefix(&prefix).is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())) {
            // remove_file never follows a symlink: only the name goes.
            std::fs::remove_file(e.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn replaces_contents_with_the_given_mode() {
        let t = tempfile::tempdir().expect("tempdir");
        let p = t.path().join("a.toml");
        write(&p, b"one", 0o600).expect("first write");
        write(&p, b"two", 0o600).expect("second write");
        assert_eq!(std::fs::read(&p).expect("read"), b"two");
        assert_eq!(std::fs::metadata(&p).expect("meta").mode() & 0o777, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(t.path()).expect("readdir").collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn missing_directory_is_an_error_and_leaves_nothing() {
        let t = tempfile::tempdir().expect("tempdir");
        assert!(write(&t.path().join("no/such/dir/f"), b"x", 0o600).is_err());
    }
}
