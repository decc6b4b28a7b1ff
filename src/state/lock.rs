//! Locks between brig processes: one per jail, and one for the host-wide
//! state (brig.toml, releases). A command that changes a jail holds that
//! jail's lock exclusively and the host lock shared; `init` and the
//! release commands hold the host lock exclusively. Two brigs on the same
//! jail are serialised; on different jails they run side by side. flock(2)
//! locks vanish with their process, so a killed brig never leaves one.

use std::fs::File;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use thiserror::Error;

use crate::host::Host;
use crate::model::JailName;

#[derive(Debug, Error)]
pub enum LockError {
    #[error("{what} is busy: another brig is working on it; wait for it, or run again without --no-wait to wait")]
    Busy { what: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Held(#[allow(dead_code)] Flock<File>);

/// Whether a taken lock is waited for (saying so on stderr after a
/// second) or fails at once (`--no-wait`), for the whole process.
static NO_WAIT: AtomicBool = AtomicBool::new(false);

pub fn set_no_wait(no_wait: bool) {
    NO_WAIT.store(no_wait, Ordering::Relaxed);
}

fn open(host: &dyn Host, file: &str) -> Result<File, LockError> {
    let dir = host.local_path(Path::new(crate::state::layout::LOCK_DIR));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LockError::Io { path, source }
    };
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(io(&dir))?;
    let path = dir.join(file);
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)
        .map_err(io(&path))
}

fn take(file: File, what: &str, exclusive: bool) -> Result<Held, LockError> {
    let (try_arg, block_arg) = if exclusive {
        (FlockArg::LockExclusiveNonblock, FlockArg::LockExclusive)
    } else {
        (FlockArg::LockSharedNonblock, FlockArg::LockShared)
    };
    let file = match Flock::lock(file, try_arg) {
        Ok(l) => return Ok(Held(l)),
        Err((f, Errno::EWOULDBLOCK)) => f,
        Err((_, e)) => return Err(LockError::Io { path: PathBuf::from(what), source: e.into() }),
    };
    if NO_WAIT.load(Ordering::Relaxed) {
        return Err(LockError::Busy { what: what.to_string() });
    }
    // A short grace first, so that a quick competitor goes unremarked.
    std::thread::sleep(Duration::from_secs(1));
    let file = match Flock::lock(file, try_arg) {
        Ok(l) => return Ok(Held(l)),
        Err((f, Errno::EWOULDBLOCK)) => f,
        Err((_, e)) => return Err(LockError::Io { path: PathBuf::from(what), source: e.into() }),
    };
    eprintln!("brig: waiting for another brig working on {what}");
    Flock::lock(file, block_arg)
        .map(Held)
        .map_err(|(_, e)| LockError::Io { path: PathBuf::from(what), source: e.into() })
}

/// The host-wide lock, exclusively: init and the release commands.
pub fn host(h: &dyn Host) -> Result<Held, LockError> {
    take(open(h, "host.lock")?, "this host's brig configuration", true)
}

/// The lock only one `brig supervise` holds, for as long as it runs;
/// taken without waiting: a second supervisor is refused.
pub fn supervisor(h: &dyn Host) -> Result<Held, LockError> {
    let what = "the supervisor";
    match Flock::lock(open(h, "supervise.lock")?, FlockArg::LockExclusiveNonblock) {
        Ok(l) => Ok(Held(l)),
        Err((_, Errno::EWOULDBLOCK)) => Err(LockError::Busy { what: what.to_string() }),
        Err((_, e)) => Err(LockError::Io { path: PathBuf::from(what), source: e.into() }),
    }
}

/// The lock of one release's download cache: two fetches of a release take
/// turns, while every other command goes on (a download holds no lock the
/// jails' commands need; only unpacking takes the host lock).
pub fn release(h: &dyn Host, name: &str) -> Result<Held, LockError> {
    take(open(h, &format!("release.{name}.lock"))?, &format!("the download of release {name}"), true)
}

/// The lock on who has which address, held from a check of a jail's
/// addresses until its definition is written (create, edit), so that two
/// jails cannot both be given the same one. Always taken after the jail
/// locks, never before: no deadlock.
pub fn addresses(h: &dyn Host) -> Result<Held, LockError> {
    take(open(h, "addresses.lock")?, "the addresses of this host's jails", true)
}

/// The lock held while brig makes an epair and names its ends (see
/// `exec::sweep_unnamed_epairs`). Taken inside the jail locks.
pub fn interfaces(h: &dyn Host) -> Result<Held, LockError> {
    take(open(h, "interfaces.lock")?, "the interfaces brig makes", true)
}

/// The lock held while brig makes sure a dummynet pipe it takes is free,
/// and takes it. Taken inside the jail locks.
pub fn pipes(h: &dyn Host) -> Result<Held, LockError> {
    take(open(h, "pipes.lock")?, "the dummynet pipes brig takes", true)
}

/// The locks of some jails (exclusive) and the host lock (shared), taken
/// in name order so that two brigs locking overlapping sets cannot
/// deadlock.
pub fn jails<'a>(h: &dyn Host, names: impl IntoIterator<Item = &'a JailName>) -> Result<Vec<Held>, LockError> {
    let mut sorted: Vec<&JailName> = names.into_iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut held = vec![take(open(h, "host.lock")?, "this host's brig configuration", false)?];
    for name in sorted {
        held.push(take(open(h, &format!("jail.{name}.lock"))?, &format!("jail {name}"), true)?);
    }
    Ok(held)
}
