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

/// The file an interrupted write left, `.NAME.tmp.PID`, names: `NAME`.
pub fn temp_of(entry: &str) -> Option<&str> {
    let (name, pid) = entry.strip_prefix('.')?.rsplit_once(".tmp.")?;
    (!pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())).then_some(name)
}

/// Removes the entries of `dir` (of the managed machine) that `leftover`
/// picks, in one pass over the directory (a batch of jails costs one
/// read, not one per jail); a missing directory has none. Only names go:
/// remove_file never follows a symlink.
pub fn remove_leftovers(
    host: &dyn crate::host::Host,
    dir: &Path,
    leftover: impl Fn(&str) -> bool,
) -> std::io::Result<()> {
    for name in host.list_dir(dir)?.iter().filter(|n| leftover(n)) {
        host.remove_file(&dir.join(name))?;
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
    fn temporary_names_name_their_file() {
        assert_eq!(temp_of(".web.toml.tmp.4242"), Some("web.toml"));
        assert_eq!(temp_of(".web.toml.tmp."), None);
        assert_eq!(temp_of(".web.toml.tmp.12x"), None);
        assert_eq!(temp_of("web.toml.tmp.1"), None);
        assert_eq!(temp_of(".web.edit.toml"), None);
    }

    #[test]
    fn missing_directory_is_an_error_and_leaves_nothing() {
        let t = tempfile::tempdir().expect("tempdir");
        assert!(write(&t.path().join("no/such/dir/f"), b"x", 0o600).is_err());
    }
}
