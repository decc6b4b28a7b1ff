//! The simulated ZFS: datasets, snapshots and clones of one pool, with the
//! name rules of zfs_namecheck.c and the errnos of dsl_destroy.c and
//! dmu_objset.c.
//!
//! A mounted dataset's files are real files under the sim directory at its
//! mountpoint; an unmounted dataset's files wait in `DIR/.sim/data/GUID`; a
//! snapshot's files are a copy in `DIR/.sim/snapshots/GUID`. A clone starts
//! as a copy of its origin's files: the sim models what a clone contains,
//! not how little space it takes.

use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::jail::Refusal;

mod diff;
mod files;
mod jailed;
mod names;
mod ops;
mod props;
mod stream;

pub use diff::{diff, snapshot_files};
pub use files::{mount_request, read_only_at, unmount_request};
pub use jailed::{attach, detach, mount_in_jail};
pub use ops::{clone, create, destroy, destroy_snapshots, hold, promote, rename, rollback, snapshot};
pub use props::{get, list, parse_size, set};
pub use stream::{receive, send};

/// ZFS_MAX_DATASET_NAME_LEN
const MAX_NAME: usize = 256;
/// zfs_max_dataset_nesting
const MAX_NESTING: usize = 50;

fn no(errno: Errno, msg: impl Into<String>) -> Refusal {
    (errno, msg.into())
}

/// Where the sim keeps what is not mounted.
pub struct Paths<'a> {
    /// The sim directory: `/` of the simulated machine.
    pub root: &'a Path,
    /// `DIR/.sim`.
    pub simdir: &'a Path,
}

impl Paths<'_> {
    fn stash(&self, guid: u64) -> PathBuf {
        self.simdir.join("data").join(guid.to_string())
    }
    fn snapshot_store(&self, guid: u64) -> PathBuf {
        self.simdir.join("snapshots").join(guid.to_string())
    }
}

fn io(e: std::io::Error, what: &Path) -> Refusal {
    (Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)), what.display().to_string())
}
