//! brig's own state and the safe file access it is kept with: where each
//! file lives (`layout`), locks between brig processes (`lock`), the
//! journal of unfinished commands (`journal`), atomic replacement
//! (`atomic`), bounded reads (`bounded`) and operations confined beneath
//! a directory that never follow a symlink (`beneath`).

pub mod archive;
pub mod atomic;
pub mod beneath;
pub mod bounded;
pub mod consolelog;
pub mod events;
pub mod journal;
pub mod keys;
pub mod layout;
pub mod lock;
pub mod usage;

/// Opens a file of brig's logs and records to append to, made 0600 when
/// missing, never through a symbolic link: each write lands at its end,
/// whole, whoever else appends (O_APPEND writes of a regular file are
/// atomic as to position).
pub fn open_for_append(local: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(local)
}
