//! brig's own files on the managed machine, done on the local
//! filesystem: its state under /var/db/brig, its configuration under
//! /usr/local/etc/brig, the files it copies into jails. These are the
//! `Host` trait's file methods as FreeBSD runs them (a path of the
//! machine is a local path there); the simulated host first maps the
//! path into its directory and refuses what a read-only filesystem
//! refuses.
//!
//! Every read is bounded and of a regular file only (`state::bounded`),
//! every write atomic (`state::atomic`), and nothing is followed through
//! a symlink where a jail could have planted one (`state::beneath`).

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The permission bits of `path` itself (a symlink is not followed).
pub fn mode(path: &Path) -> io::Result<u32> {
    Ok(std::fs::symlink_metadata(path)?.permissions().mode() & 0o7777)
}

/// Removes a file; one that is not there is not an error.
pub fn remove(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Makes one directory with exactly `mode` (the umask does not apply).
pub fn make_dir(path: &Path, mode: u32) -> io::Result<()> {
    std::fs::create_dir(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Sets the permission bits of a directory; anything else is refused
/// (brig only changes the modes of its own directories).
pub fn set_dir_mode(path: &Path, mode: u32) -> io::Result<()> {
    if !std::fs::symlink_metadata(path)?.is_dir() {
        return Err(io::Error::other("not a directory"));
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// The names in a directory, sorted; a missing directory has none.
pub fn list(path: &Path) -> io::Result<Vec<String>> {
    let rd = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut names: Vec<String> = rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    Ok(names)
}
