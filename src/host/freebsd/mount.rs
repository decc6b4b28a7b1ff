//! nmount(2), unmount(2) and getfsstat(2).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use libc::{c_char, c_long};
use nix::errno::Errno;

use super::c_string;
use super::jail::{iov_count, IovRequest};
use crate::host::{HostError, HostResult, MountEntry, MountRequest};
use crate::kernel::encode::IovPair;

/// A `name=value` nmount option: both NUL-terminated, as mount(8) builds
/// them.
fn opt(name: &str, value: &[u8]) -> HostResult<IovPair> {
    if value.contains(&0) {
        return Err(HostError::new("nmount", Errno::EINVAL, format!("mount option {name}: value contains a NUL byte")));
    }
    let mut v = value.to_vec();
    v.push(0);
    Ok(IovPair { name: c_string("nmount", "mount option name", name)?.into_bytes_with_nul(), value: Some(v) })
}

/// A flag option such as `ro`: the name with a NULL, zero-length value.
fn flag(name: &str) -> HostResult<IovPair> {
    Ok(IovPair { name: c_string("nmount", "mount option name", name)?.into_bytes_with_nul(), value: None })
}

/// The nmount(2) options of a request, in the order mount(8) passes them:
/// `fstype`, `fspath`, `from`, then `ro` and the caller's options (for
/// devfs that includes `ruleset=N`, passed through as given).
fn options(req: &MountRequest) -> HostResult<Vec<IovPair>> {
    let mut pairs = vec![
        opt("fstype", req.fstype.as_bytes())?,
        opt("fspath", req.target.as_os_str().as_bytes())?,
        opt("from", req.source.as_bytes())?,
    ];
    // nullfs and unionfs before FreeBSD 13 read their lower directory only
    // from "target" (mount_nullfs(8) still passes it that way); newer
    // kernels take "from" first and fall back to "target". Passing both
    // works on every release.
    if req.fstype == "nullfs" || req.fstype == "unionfs" {
        pairs.push(opt("target", req.source.as_bytes())?);
    }
    if req.readonly {
        pairs.push(flag("ro")?);
    }
    for (name, value) in &req.options {
        pairs.push(match value {
            Some(v) => opt(name, v.as_bytes())?,
            None => flag(name)?,
        });
    }
    Ok(pairs)
}

/// nmount(2) with the kernel's errmsg as the error detail.
pub(super) fn mount(req: &MountRequest) -> HostResult<MountEntry> {
    let mut r = IovRequest::new(options(req)?);
    let mut iov = r.iovecs();
    let niov = iov_count("nmount", &iov)?;
    let flags = if req.readonly { libc::MNT_RDONLY } else { 0 };
    // SAFETY: `iov` holds `niov` iovecs pointing into buffers owned by `r`,
    // alive for the whole call; the kernel writes only into errmsg.
    let rc = unsafe { libc::nmount(iov.as_mut_ptr(), niov, flags) };
    if rc != 0 {
        let errno = Errno::last();
        let what = format!("{} {} on {}", req.fstype, req.source, req.target.display());
        let detail = r.errmsg_or(String::new);
        let detail = if detail.is_empty() { format!("mounting {what}") } else { format!("mounting {what}: {detail}") };
        return Err(HostError::new("nmount", errno, detail));
    }
    // The newest mount on the target is this one: its filesystem ID is
    // what unmounts it (getfsstat lists mounts oldest first).
    let all = mounts()?;
    all.into_iter().rfind(|m| m.target == req.target).ok_or_else(|| {
        HostError::new(
            "getfsstat",
            Errno::ENOENT,
            format!("{} was mounted but is not in the mount table", req.target.display()),
        )
    })
}

/// unmount(2) by filesystem ID (MNT_BYFSID, kernel::mount), with
/// MNT_FORCE when asked.
pub(super) fn unmount(mount: &MountEntry, force: bool) -> HostResult<()> {
    let by_id = std::ffi::CString::new(crate::kernel::mount::fsid_path(mount.fsid))
        .map_err(|_| HostError::new("unmount", Errno::EINVAL, mount.target.display().to_string()))?;
    let flags = libc::MNT_BYFSID | if force { libc::MNT_FORCE } else { 0 };
    // SAFETY: `by_id` is a valid NUL-terminated string for the whole call.
    if unsafe { libc::unmount(by_id.as_ptr(), flags) } != 0 {
        let errno = Errno::last();
        return Err(HostError::new("unmount", errno, mount.target.display().to_string()));
    }
    Ok(())
}

/// A NUL-terminated `char[]` field of `struct statfs` as bytes.
fn field(chars: &[c_char]) -> Vec<u8> {
    chars.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect()
}

fn entry(s: &libc::statfs) -> MountEntry {
    MountEntry {
        fstype: String::from_utf8_lossy(&field(&s.f_fstypename)).into_owned(),
        source: String::from_utf8_lossy(&field(&s.f_mntfromname)).into_owned(),
        target: PathBuf::from(OsStr::from_bytes(&field(&s.f_mntonname))),
        readonly: s.f_flags & (libc::MNT_RDONLY as u64) != 0,
        // SAFETY: fsid_t is `struct { int32_t val[2]; }` (sys/mount.h);
        // the libc crate only keeps its field private.
        fsid: unsafe { std::mem::transmute::<libc::fsid_t, [i32; 2]>(s.f_fsid) },
    }
}

/// Every mounted filesystem, from getfsstat(2) with MNT_NOWAIT (cached
/// statistics, never blocks on a hung NFS server).
pub(super) fn mounts() -> HostResult<Vec<MountEntry>> {
    let record = std::mem::size_of::<libc::statfs>();
    let mut spare = 8;
    loop {
        // SAFETY: a NULL buffer only asks for the number of mounts.
        let count = unsafe { libc::getfsstat(std::ptr::null_mut(), 0, libc::MNT_NOWAIT) };
        if count < 0 {
            let errno = Errno::last();
            return Err(HostError::new("getfsstat", errno, "counting mounted filesystems"));
        }
        let cap = usize::try_from(count).unwrap_or(0) + spare;
        let mut buf: Vec<libc::statfs> = Vec::with_capacity(cap);
        let bytes = c_long::try_from(cap * record)
            .map_err(|_| HostError::new("getfsstat", Errno::EOVERFLOW, "too many mounted filesystems"))?;
        // SAFETY: the kernel writes at most `bytes` bytes of whole statfs
        // records into the vector's spare capacity and returns how many.
        let got = unsafe { libc::getfsstat(buf.as_mut_ptr(), bytes, libc::MNT_NOWAIT) };
        if got < 0 {
            let errno = Errno::last();
            return Err(HostError::new("getfsstat", errno, "reading the mount table"));
        }
        let got = usize::try_from(got).unwrap_or(0).min(cap);
        if got == cap && spare < 4096 {
            // The table may have grown past the buffer meanwhile: ask again
            // with more room.
            spare *= 8;
            continue;
        }
        // SAFETY: the first `got` records were written by the kernel.
        unsafe { buf.set_len(got) };
        return Ok(buf.iter().map(entry).collect());
    }
}
