//! File operations confined beneath a directory, never following a
//! symlink on the way.
//!
//! brig runs as root and writes inside trees it does not control: release
//! archives it unpacks, and jail roots whose contents belong to jail root.
//! A planted `etc -> /` must not turn a write of `etc/rc.conf` into a write
//! of the host's. Every operation here walks the path one component at a
//! time with `openat(O_NOFOLLOW | O_DIRECTORY)` from a directory descriptor,
//! so a symlink anywhere before the last component is an error (ELOOP or
//! ENOTDIR), and the last component is created or opened with
//! `O_NOFOLLOW`/`AT_SYMLINK_NOFOLLOW`.

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{mkdirat, Mode};
use nix::unistd::{fchownat, linkat, symlinkat, Gid, Uid};
use thiserror::Error;

/// A path that could not be used, and why.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{path}: {why}")]
pub struct BeneathError {
    /// The path relative to the root, as the archive or config named it.
    pub path: String,
    pub why: String,
    pub errno: Option<Errno>,
}

impl BeneathError {
    /// An I/O error at `path`.
    pub fn from_io(path: &Path, e: std::io::Error) -> BeneathError {
        BeneathError {
            path: path.display().to_string(),
            why: e.to_string(),
            errno: e.raw_os_error().map(Errno::from_raw),
        }
    }
}

fn err(path: &Path, errno: Errno) -> BeneathError {
    let why = match errno {
        Errno::ELOOP | Errno::EMLINK => "a component is a symbolic link; refusing to follow it".to_string(),
        Errno::ENOTDIR => "a component is not a directory".to_string(),
        e => e.desc().to_string(),
    };
    BeneathError { path: path.display().to_string(), why, errno: Some(errno) }
}

/// The error for `name` in `dir` refusing O_NOFOLLOW|O_DIRECTORY: Linux
/// says ENOTDIR and FreeBSD ELOOP or EMLINK for a symlink, so look and
/// name the real cause.
fn err_at(dir: &OwnedFd, name: &OsStr, rel: &Path, e: Errno) -> BeneathError {
    let is_link = nix::sys::stat::fstatat(dir.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK);
    err(rel, if is_link { Errno::ELOOP } else { e })
}

/// Splits a relative path into plain names: `..`, absolute paths and empty
/// paths are refused.
pub fn components(path: &Path) -> Result<Vec<&OsStr>, BeneathError> {
    let bad = |why: &str| BeneathError { path: path.display().to_string(), why: why.into(), errno: None };
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => return Err(bad("'..' would leave the tree")),
            Component::RootDir | Component::Prefix(_) => return Err(bad("absolute paths are not allowed")),
        }
    }
    Ok(out)
}

/// Permission bits as the platform's `mode_t` (u16 on FreeBSD, u32 on
/// Linux); the mask keeps the conversion lossless.
fn mode_of(bits: u32) -> Mode {
    Mode::from_bits_truncate((bits & 0o7777) as libc::mode_t)
}

/// A directory that operations are confined beneath.
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
    /// On a read-only filesystem: every write is EROFS. The kernel says so
    /// itself on FreeBSD; the simulated host opens such roots with
    /// `open_read_only` so that a write there fails as it would.
    read_only: bool,
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY.union(OFlag::O_DIRECTORY).union(OFlag::O_NOFOLLOW).union(OFlag::O_CLOEXEC);

impl Root {
    /// Opens the root itself (a path brig chose, so it may be reached through
    /// the host's own symlinks; only what is beneath it is distrusted).
    pub fn open(path: &Path) -> Result<Root, BeneathError> {
        let fd = nix::fcntl::open(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| err(path, e))?;
        Ok(Root { fd, path: path.to_path_buf(), read_only: false })
    }

    /// Opens a root on a read-only filesystem: reads work, every write is
    /// EROFS.
    pub fn open_read_only(path: &Path) -> Result<Root, BeneathError> {
        Ok(Root { read_only: true, ..Root::open(path)? })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// EROFS for a write beneath a read-only root.
    fn writable(&self, rel: &Path) -> Result<(), BeneathError> {
        if self.read_only {
            return Err(err(rel, Errno::EROFS));
        }
        Ok(())
    }

    /// Opens the directory holding `rel`'s last component, walking each
    /// parent with O_NOFOLLOW; with `create`, missing parents are made
    /// (mode 0755). Returns the parent's descriptor and the last name.
    fn parent_of<'a>(&self, rel: &'a Path, create: bool) -> Result<(OwnedFd, &'a OsStr), BeneathError> {
        let comps = components(rel)?;
        let Some((last, parents)) = comps.split_last() else {
            return Err(BeneathError { path: rel.display().to_string(), why: "empty path".into(), errno: None });
        };
        let mut dir = self.dup()?;
        for name in parents {
            let next = match openat(dir.as_fd(), *name, DIR_FLAGS, Mode::empty()) {
                Err(Errno::ENOENT) if create => {
                    mkdirat(dir.as_fd(), *name, mode_of(0o755)).map_err(|e| err(rel, e))?;
                    openat(dir.as_fd(), *name, DIR_FLAGS, Mode::empty())
                }
                other => other,
            };
            dir = next.map_err(|e| err_at(&dir, name, rel, e))?;
        }
        Ok((dir, last))
    }

    fn dup(&self) -> Result<OwnedFd, BeneathError> {
        self.fd.try_clone().map_err(|e| BeneathError::from_io(&self.path, e))
    }

    /// Creates (or truncates) a regular file beneath the root and returns it
    /// for writing; a symlink in its place is refused.
    pub fn create_file(&self, rel: &Path, mode: u32) -> Result<std::fs::File, BeneathError> {
        self.writable(rel)?;
        let (dir, name) = self.parent_of(rel, true)?;
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(dir.as_fd(), name, flags, mode_of(mode & 0o777)).map_err(|e| err(rel, e))?;
        Ok(std::fs::File::from(fd))
    }

    /// Opens a file beneath the root for reading. O_NONBLOCK: a FIFO the
    /// jail planted there opens at once instead of waiting for a writer;
    /// the reader checks that it is a regular file (`read_to_string`).
    pub fn open_file(&self, rel: &Path) -> Result<std::fs::File, BeneathError> {
        let (dir, name) = self.parent_of(rel, false)?;
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let fd = openat(dir.as_fd(), name, flags, Mode::empty()).map_err(|e| err(rel, e))?;
        Ok(std::fs::File::from(fd))
    }

    /// Reads a regular file of at most 1 MiB beneath the root (a jail's
    /// rc.conf, passwd); `None` if it does not exist. The jail controls
    /// the file: a FIFO, a device or a sparse giant is refused, not read.
    pub fn read_to_string(&self, rel: &Path) -> Result<Option<String>, BeneathError> {
        let f = match self.open_file(rel) {
            Ok(f) => f,
            Err(e) if e.errno == Some(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(e),
        };
        let refused = |why: String, errno: Option<Errno>| BeneathError { path: rel.display().to_string(), why, errno };
        let bytes = crate::state::bounded::read_file(f, crate::state::bounded::CONFIG_LIMIT).map_err(|e| match e {
            crate::state::bounded::ReadError::Io(e) => refused(e.to_string(), e.raw_os_error().map(Errno::from_raw)),
            other => refused(other.to_string(), None),
        })?;
        String::from_utf8(bytes).map(Some).map_err(|_| refused("is not UTF-8 text".into(), None))
    }

    /// Replaces a file beneath the root atomically: a temporary file in the
    /// same directory, fsync, then renameat over the name (which replaces a
    /// planted symlink itself, never its target).
    pub fn write_atomic(&self, rel: &Path, contents: &[u8], mode: u32) -> Result<(), BeneathError> {
        self.writable(rel)?;
        use std::io::Write;
        let (dir, name) = self.parent_of(rel, true)?;
        let tmp = format!(".{}.brig-{}", name.to_string_lossy(), std::process::id());
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(dir.as_fd(), tmp.as_str(), flags, mode_of(mode)).map_err(|e| err(rel, e))?;
        let mut f = std::fs::File::from(fd);
        let io = |e: std::io::Error| BeneathError {
            path: rel.display().to_string(),
            why: e.to_string(),
            errno: e.raw_os_error().map(Errno::from_raw),
        };
        let written = f
            .write_all(contents)
            .and_then(|()| f.sync_all())
            .map_err(io)
            .and_then(|()| nix::sys::stat::fchmod(f.as_fd(), mode_of(mode)).map_err(|e| err(rel, e)))
            .and_then(|()| nix::fcntl::renameat(dir.as_fd(), tmp.as_str(), dir.as_fd(), name).map_err(|e| err(rel, e)));
        if written.is_err() {
            let _ = nix::unistd::unlinkat(dir.as_fd(), tmp.as_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
        }
        written
    }

    /// Copies the tree at `src` (a directory brig trusts, such as a release)
    /// into this root: modes, owners, symlinks and hard links kept, nothing
    /// followed on either side.
    pub fn copy_tree_from(&self, src: &Path) -> Result<(), BeneathError> {
        self.writable(Path::new("."))?;
        use std::os::unix::fs::MetadataExt;
        let io = BeneathError::from_io;
        let mut links: std::collections::HashMap<(u64, u64), PathBuf> = std::collections::HashMap::new();
        let mut stack = vec![PathBuf::new()];
        while let Some(rel) = stack.pop() {
            let dir = src.join(&rel);
            for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
                let entry = entry.map_err(|e| io(&dir, e))?;
                let from = entry.path();
                let to = rel.join(entry.file_name());
                let m = std::fs::symlink_metadata(&from).map_err(|e| io(&from, e))?;
                let ft = m.file_type();
                if ft.is_symlink() {
                    self.symlink(&to, &std::fs::read_link(&from).map_err(|e| io(&from, e))?)?;
                    self.set_owner_mode(&to, m.uid(), m.gid(), None)?;
                } else if ft.is_dir() {
                    self.create_dir(&to, 0o755)?;
                    self.set_owner_mode(&to, m.uid(), m.gid(), Some(m.mode()))?;
                    stack.push(to);
                } else if ft.is_file() {
                    if m.nlink() > 1 {
                        if let Some(first) = links.get(&(m.dev(), m.ino())) {
                            self.hard_link(first, &to)?;
                            continue;
                        }
                        links.insert((m.dev(), m.ino()), to.clone());
                    }
                    let mut input = std::fs::File::open(&from).map_err(|e| io(&from, e))?;
                    let mut out = self.create_file(&to, 0o600)?;
                    std::io::copy(&mut input, &mut out).map_err(|e| io(&from, e))?;
                    drop(out);
                    self.set_owner_mode(&to, m.uid(), m.gid(), Some(m.mode()))?;
                }
            }
        }
        Ok(())
    }

    /// Creates a directory (and its parents); an existing directory is fine,
    /// an existing symlink is not.
    pub fn create_dir(&self, rel: &Path, mode: u32) -> Result<(), BeneathError> {
        self.writable(rel)?;
        let (dir, name) = self.parent_of(rel, true)?;
        match mkdirat(dir.as_fd(), name, mode_of(mode & 0o777)) {
            Ok(()) => Ok(()),
            Err(Errno::EEXIST) => {
                openat(dir.as_fd(), name, DIR_FLAGS, Mode::empty()).map(drop).map_err(|e| err_at(&dir, name, rel, e))
            }
            Err(e) => Err(err(rel, e)),
        }
    }

    /// Creates a symlink `rel -> target` (the target is stored, not followed).
    pub fn symlink(&self, rel: &Path, target: &Path) -> Result<(), BeneathError> {
        self.writable(rel)?;
        let (dir, name) = self.parent_of(rel, true)?;
        symlinkat(target, dir.as_fd(), name).map_err(|e| err(rel, e))
    }

    /// Creates a hard link `rel` to the existing file `existing`, both
    /// beneath the root; neither path may pass through a symlink.
    pub fn hard_link(&self, existing: &Path, rel: &Path) -> Result<(), BeneathError> {
        self.writable(rel)?;
        let (from_dir, from_name) = self.parent_of(existing, false)?;
        let (to_dir, to_name) = self.parent_of(rel, true)?;
        linkat(from_dir.as_fd(), from_name, to_dir.as_fd(), to_name, AtFlags::empty()).map_err(|e| err(rel, e))
    }

    /// Sets owner and mode of an entry without following a symlink. The
    /// owner first: chown clears setuid bits, so the mode goes on after.
    /// Symlinks get their owner only (their mode means nothing). Only root
    /// can give files away; brig always is on FreeBSD, and a user trying
    /// the simulated host without root keeps their own ownership.
    pub fn set_owner_mode(&self, rel: &Path, uid: u32, gid: u32, mode: Option<u32>) -> Result<(), BeneathError> {
        self.writable(rel)?;
        let (dir, name) = self.parent_of(rel, false)?;
        if nix::unistd::geteuid().is_root() {
            fchownat(
                dir.as_fd(),
                name,
                Some(Uid::from_raw(uid)),
                Some(Gid::from_raw(gid)),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(|e| err(rel, e))?;
        }
        if let Some(mode) = mode {
            // fchmodat cannot skip symlinks on Linux: open the entry itself
            // with O_NOFOLLOW (refused for a symlink) and chmod the fd;
            // O_NONBLOCK, or a FIFO would wait for a writer.
            let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
            let fd = openat(dir.as_fd(), name, flags, Mode::empty()).map_err(|e| err(rel, e))?;
            nix::sys::stat::fchmod(fd.as_fd(), mode_of(mode)).map_err(|e| err(rel, e))?;
        }
        Ok(())
    }

    /// What is at `rel`, not following a symlink there; None if nothing.
    pub fn entry(&self, rel: &Path) -> Result<Option<Entry>, BeneathError> {
        let (dir, name) = match self.parent_of(rel, false) {
            Ok(p) => p,
            Err(e) if e.errno == Some(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(e),
        };
        match nix::sys::stat::fstatat(dir.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(Entry::of(&st))),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(err(rel, e)),
        }
    }

    /// Removes what is at `rel`, a whole directory tree included, never
    /// following a symlink; nothing there is fine.
    pub fn remove_all(&self, rel: &Path) -> Result<(), BeneathError> {
        self.writable(rel)?;
        let Some(e) = self.entry(rel)? else { return Ok(()) };
        let (dir, name) = self.parent_of(rel, false)?;
        if e.flags != 0 {
            set_flags(&dir, name, 0, rel)?;
        }
        if e.kind == EntryKind::Dir {
            let sub = openat(dir.as_fd(), name, DIR_FLAGS, Mode::empty()).map_err(|e| err_at(&dir, name, rel, e))?;
            let sub = Root { fd: sub, path: self.path.join(rel), read_only: false };
            for child in sub.names(Path::new("."))? {
                sub.remove_all(Path::new(&child))
                    .map_err(|e| BeneathError { path: rel.join(&e.path).display().to_string(), ..e })?;
            }
            return nix::unistd::unlinkat(dir.as_fd(), name, nix::unistd::UnlinkatFlags::RemoveDir)
                .map_err(|e| err(rel, e));
        }
        nix::unistd::unlinkat(dir.as_fd(), name, nix::unistd::UnlinkatFlags::NoRemoveDir).map_err(|e| err(rel, e))
    }

    /// The names in the directory at `rel` (`.` for the root itself).
    pub fn names(&self, rel: &Path) -> Result<Vec<std::ffi::OsString>, BeneathError> {
        let fd = if components(rel)?.is_empty() {
            self.dup()?
        } else {
            let (dir, name) = self.parent_of(rel, false)?;
            openat(dir.as_fd(), name, DIR_FLAGS, Mode::empty()).map_err(|e| err_at(&dir, name, rel, e))?
        };
        let mut d = nix::dir::Dir::from_fd(fd).map_err(|e| err(rel, e))?;
        let mut out = Vec::new();
        for entry in d.iter() {
            let entry = entry.map_err(|e| err(rel, e))?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                out.push(<OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name).to_os_string());
            }
        }
        Ok(out)
    }

    /// Makes `rel` here what it is in `src`: a file copied whole (or, with
    /// `link_to`, a hard link to that path here), a symlink or FIFO made
    /// anew, a directory made (its contents are not copied); owner and
    /// mode kept (file flags are the caller's to set, last). Whatever is
    /// here first that is not a directory, or is of another kind, is
    /// removed (its flags cleared).
    /// A socket is not copied: the program that made it makes it again. A
    /// device is refused: a jail's devices come from devfs. Nothing is
    /// followed on either side.
    pub fn copy_entry_from(&self, src: &Root, rel: &Path, link_to: Option<&Path>) -> Result<(), BeneathError> {
        self.writable(rel)?;
        let Some(from) = src.entry(rel)? else {
            return Err(err(rel, Errno::ENOENT));
        };
        if from.kind == EntryKind::Socket {
            return Ok(());
        }
        if from.kind == EntryKind::Device {
            return Err(BeneathError {
                path: rel.display().to_string(),
                why: "is a device node; a jail's devices come from devfs, so brig does not copy them".into(),
                errno: None,
            });
        }
        if let Some(here) = self.entry(rel)? {
            if here.kind != from.kind || from.kind != EntryKind::Dir {
                self.remove_all(rel)?;
            } else if here.flags != 0 {
                let (dir, name) = self.parent_of(rel, false)?;
                set_flags(&dir, name, 0, rel)?;
            }
        }
        match (from.kind, link_to) {
            (EntryKind::File, Some(first)) => return self.hard_link(first, rel),
            (EntryKind::Dir, _) => self.create_dir(rel, from.mode)?,
            (EntryKind::Symlink, _) => {
                let (dir, name) = src.parent_of(rel, false)?;
                let target = nix::fcntl::readlinkat(dir.as_fd(), name).map_err(|e| err(rel, e))?;
                self.symlink(rel, Path::new(&target))?;
                return self.set_owner_mode(rel, from.uid, from.gid, None);
            }
            (EntryKind::Fifo, _) => {
                let (dir, name) = self.parent_of(rel, true)?;
                nix::unistd::mkfifoat(dir.as_fd(), name, mode_of(from.mode & 0o777)).map_err(|e| err(rel, e))?;
            }
            _ => {
                let mut input = src.open_file(rel)?;
                let mut out = self.create_file(rel, 0o600)?;
                std::io::copy(&mut input, &mut out).map_err(|e| BeneathError::from_io(rel, e))?;
            }
        }
        self.set_owner_mode(rel, from.uid, from.gid, Some(from.mode))
    }

    /// Sets an entry's file flags (chflags(2)) without following a link;
    /// nothing on Linux. Last, once nothing more is written there: an
    /// immutable file takes no new name and an immutable directory no
    /// new entry (zfs_link, zfs_zaccess: EPERM).
    pub fn set_entry_flags(&self, rel: &Path, flags: u32) -> Result<(), BeneathError> {
        self.writable(rel)?;
        let (dir, name) = self.parent_of(rel, false)?;
        set_flags(&dir, name, flags, rel)
    }
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    /// A character or block device.
    Device,
}

/// An entry as lstat sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// Which file it is, and how many names it has.
    pub ino: u64,
    pub nlink: u64,
    /// File flags (chflags(2): schg, uappnd...); always 0 on Linux.
    pub flags: u32,
}

impl Entry {
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)] // stat's field types differ by platform
    fn of(st: &nix::sys::stat::FileStat) -> Entry {
        let kind = match st.st_mode & libc::S_IFMT {
            libc::S_IFREG => EntryKind::File,
            libc::S_IFDIR => EntryKind::Dir,
            libc::S_IFLNK => EntryKind::Symlink,
            libc::S_IFIFO => EntryKind::Fifo,
            libc::S_IFSOCK => EntryKind::Socket,
            _ => EntryKind::Device,
        };
        Entry {
            kind,
            mode: (st.st_mode as u32) & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            size: u64::try_from(st.st_size).unwrap_or(0),
            ino: st.st_ino as u64,
            nlink: st.st_nlink as u64,
            flags: flags_of(st),
        }
    }
}

#[cfg(target_os = "freebsd")]
fn flags_of(st: &nix::sys::stat::FileStat) -> u32 {
    st.st_flags
}

#[cfg(not(target_os = "freebsd"))]
fn flags_of(_: &nix::sys::stat::FileStat) -> u32 {
    0
}

/// chflagsat(2) without following a link: an immutable or append-only
/// file (the base system's libc and su are schg) can be neither replaced
/// nor removed until its flags are cleared (zfs_zaccess, EPERM).
#[cfg(target_os = "freebsd")]
fn set_flags(dir: &OwnedFd, name: &OsStr, flags: u32, rel: &Path) -> Result<(), BeneathError> {
    use std::os::fd::AsRawFd;
    let c = std::ffi::CString::new(name.as_encoded_bytes()).map_err(|_| err(rel, Errno::EINVAL))?;
    // SAFETY: `dir` is an open directory and `c` a NUL-terminated name
    // that outlives the call.
    let rc =
        unsafe { libc::chflagsat(dir.as_raw_fd(), c.as_ptr(), libc::c_ulong::from(flags), libc::AT_SYMLINK_NOFOLLOW) };
    if rc != 0 {
        return Err(err(rel, Errno::last()));
    }
    Ok(())
}

/// Linux has no chflags(2) flags to keep (the simulated host has none).
#[cfg(not(target_os = "freebsd"))]
fn set_flags(_: &OwnedFd, _: &OsStr, _: u32, _: &Path) -> Result<(), BeneathError> {
    Ok(())
}
