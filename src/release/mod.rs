//! Base releases: a FreeBSD release fetched once, verified against its
//! MANIFEST, unpacked into `<root>/releases/RELEASE`, made read-only and
//! snapshotted as `@base` for thin jails to clone.

pub mod extract;
pub mod fetch;
pub mod interrupt;
pub mod manifest;
pub mod pkgbase;
pub mod update;

use std::path::PathBuf;

use thiserror::Error;

use crate::model::version::Version;
use crate::state::beneath::{BeneathError, Root};

/// Where a root says its userland version.
pub const VERSION_FILE: &str = "bin/freebsd-version";

/// The version in a root's /bin/freebsd-version, read beneath the root
/// and never run; None when the file is missing or has no version line.
pub fn userland(root: &Root) -> Result<Option<Version>, BeneathError> {
    Ok(root.read_to_string(std::path::Path::new(VERSION_FILE))?.as_deref().and_then(Version::from_script))
}

#[derive(Debug, Error)]
pub enum ReleaseError {
    #[error("{0}")]
    Network(String),
    #[error("{file}: SHA-256 is {got} but {source_name} says {want}; the file was deleted, run the command again to fetch it anew")]
    Checksum { file: String, got: String, want: String, source_name: String },
    #[error("{path}:{line}: {why}")]
    Manifest { path: String, line: usize, why: String },
    #[error("{archive}: {why}")]
    Archive { archive: String, why: String },
    #[error("{archive}: entry {source}")]
    Unsafe { archive: String, source: BeneathError },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("interrupted; no release was left half-made, run the command again to continue")]
    Interrupted,
    #[error("{what} is {size} bytes or more, above the {max} bytes brig accepts (raise [fetch] in brig.toml if the release really is that large); nothing was kept")]
    TooLarge { what: String, size: u64, max: u64 },
}
