//! ZFS: libzfs_core (`zfs-core` crate) for create, clone, snapshot,
//! non-recursive destroy and rename where no mount has to move; zfs(8)
//! with parseable output (`-Hp`) for get, set, list, recursive destroy and
//! whatever libzfs_core cannot do on its own (mounting, renaming mounted
//! filesystems, properties brig does not know how to encode).
//!
//! lzc_create()/lzc_clone() do not mount, so after them the new filesystem
//! is mounted with `zfs mount NAME` when zfs(8) itself would have mounted it
//! (canmount=on, a real mountpoint, not jailed). If that mount fails the new
//! dataset is destroyed again, so a failed call leaves nothing behind.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::io;
use std::process::Stdio;

use foreign_types::ForeignType;
use nix::errno::Errno;
use nvpair::{NvData, NvList};
use zfs_core::{DataSetType, Zfs};

use super::{c_string, io_errno, mount};
use crate::host::{DatasetInfo, DiffEntry, HostError, HostResult, MountEntry};
use crate::kernel::zfs::{self as zfs_text, NativeValue};

/// zfs(8) in the base system.
const ZFS: &str = "/sbin/zfs";

/// The libzfs_core handle (libzfs_core_init() opens /dev/zfs), made on the
/// first ZFS call so a machine without ZFS can still run jails.
#[derive(Debug, Default)]
pub(super) struct Lzc {
    handle: Option<Zfs>,
}

impl Lzc {
    fn get(&mut self, op: &'static str) -> HostResult<&Zfs> {
        if self.handle.is_none() {
            let z = Zfs::new().map_err(|e| HostError::new(op, io_errno(&e), format!("cannot open /dev/zfs: {e}")))?;
            self.handle = Some(z);
        }
        self.handle.as_ref().ok_or_else(|| HostError::new(op, Errno::ENXIO, "libzfs_core is not available"))
    }
}

/// A libzfs_core failure. Codes above 1024 are OpenZFS's private
/// `ZFS_ERR_*` values (e.g. a volume as parent), reported as EINVAL.
fn lzc_err(op: &'static str, e: &io::Error, name: &str) -> HostError {
    match e.raw_os_error() {
        Some(raw) if raw >= 1024 => {
            HostError::new(op, Errno::EINVAL, format!("{name}: libzfs_core error {raw} (ZFS_ERR_*)"))
        }
        _ => {
            let errno = io_errno(e);
            HostError::new(op, errno, format!("{name}: {}", errno.desc()))
        }
    }
}

/// Runs zfs(8) with LC_ALL=C (its messages are matched in
/// `zfs_text::errno_for`) and returns its stdout; a nonzero exit is an
/// error whose detail is zfs's stderr.
fn run_zfs(op: &'static str, args: &[&str]) -> HostResult<String> {
    let out = std::process::Command::new(ZFS)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| HostError::new(op, io_errno(&e), format!("cannot run {ZFS}: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let detail = zfs_text::stderr_detail(&stderr);
        let detail = if detail.is_empty() { format!("zfs {} failed ({})", args.join(" "), out.status) } else { detail };
        return Err(HostError::new(op, zfs_text::errno_for(&stderr), detail));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `-o name=value` arguments for zfs create/clone.
fn dash_o(props: &[(String, String)]) -> Vec<String> {
    props.iter().flat_map(|(k, v)| ["-o".to_string(), format!("{k}={v}")]).collect()
}

fn add_u64(list: &mut NvList, name: &CStr, value: u64) -> io::Result<()> {
    // SAFETY: `list` is a valid nvlist we own and `name` a NUL-terminated
    // string; nvlist_add_uint64 copies both and returns an errno (0 = ok).
    let rc = unsafe { nvpair_sys::nvlist_add_uint64(list.as_mut_ptr(), name.as_ptr(), value) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// The props nvlist of lzc_create()/lzc_clone().
fn nvlist(op: &'static str, props: &[(String, NativeValue)]) -> HostResult<NvList> {
    let mut list = NvList::try_new_unique_names().map_err(|e| HostError::new(op, io_errno(&e), "nvlist_alloc"))?;
    for (name, value) in props {
        let cname = c_string(op, "property name", name)?;
        let added = match value {
            NativeValue::Str(s) => {
                let cvalue = c_string(op, "property value", s)?;
                list.insert(cname.as_c_str(), cvalue.as_c_str())
            }
            NativeValue::U64(v) => add_u64(&mut list, &cname, *v),
        };
        added.map_err(|e| HostError::new(op, io_errno(&e), format!("property {name}")))?;
    }
    Ok(list)
}

/// Where a dataset (or snapshot) is mounted, from getfsstat(2).
fn mounted_at(name: &str) -> HostResult<Vec<MountEntry>> {
    Ok(mount::mounts()?.into_iter().filter(|m| m.fstype == "zfs" && m.source == name).collect())
}

/// Mounts a filesystem libzfs_core just made, when zfs(8) would have: the
/// given properties decide first, then the effective ones (canmount,
/// mountpoint and jailed may be inherited). On failure the new dataset is
/// destroyed again.
fn mount_new(lzc: &mut Lzc, op: &'static str, name: &str, props: &[(String, String)]) -> HostResult<()> {
    if !zfs_text::auto_mounts(props.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        return Ok(());
    }
    let mounted = get(name, &["canmount", "mountpoint", "jailed"]).and_then(|eff| {
        if zfs_text::auto_mounts(eff.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            run_zfs(op, &["mount", name]).map(drop)
        } else {
            Ok(())
        }
    });
    if let Err(e) = mounted {
        let undone = c_string(op, "dataset name", name)
            .and_then(|c| lzc.get(op)?.destroy(c.as_c_str()).map_err(|e| lzc_err(op, &e, name)));
        let what = match undone {
            Ok(()) => "so it was destroyed again",
            Err(_) => "and could not be destroyed again",
        };
        return Err(HostError::new(op, e.errno, format!("{name} was created but not mounted, {what}: {}", e.detail)));
    }
    Ok(())
}

/// `zfs create -o PROP=VALUE... NAME`.
pub(super) fn create(lzc: &mut Lzc, name: &str, props: &[(String, String)]) -> HostResult<()> {
    const OP: &str = "zfs_create";
    let Some(native) = zfs_text::native_props(props) else {
        // A property brig cannot encode natively: zfs(8) does the whole
        // job, mounting included.
        let mut args = vec!["create".to_string()];
        args.extend(dash_o(props));
        args.push(name.to_string());
        return run_zfs(OP, &args.iter().map(String::as_str).collect::<Vec<_>>()).map(drop);
    };
    let cname = c_string(OP, "dataset name", name)?;
    let list = nvlist(OP, &native)?;
    lzc.get(OP)?.create(cname.as_c_str(), DataSetType::Zfs, &list).map_err(|e| lzc_err(OP, &e, name))?;
    mount_new(lzc, OP, name, props)
}

/// `zfs clone -o PROP=VALUE... ORIGIN NAME`.
pub(super) fn clone(lzc: &mut Lzc, origin: &str, name: &str, props: &[(String, String)]) -> HostResult<()> {
    const OP: &str = "zfs_clone";
    let Some(native) = zfs_text::native_props(props) else {
        let mut args = vec!["clone".to_string()];
        args.extend(dash_o(props));
        args.push(origin.to_string());
        args.push(name.to_string());
        return run_zfs(OP, &args.iter().map(String::as_str).collect::<Vec<_>>()).map(drop);
    };
    let cname = c_string(OP, "dataset name", name)?;
    let corigin = c_string(OP, "origin", origin)?;
    let mut list = nvlist(OP, &native)?;
    lzc.get(OP)?
        .clone_dataset(cname.as_c_str(), corigin.as_c_str(), &mut list)
        .map_err(|e| lzc_err(OP, &e, &format!("{name} from {origin}")))?;
    mount_new(lzc, OP, name, props)
}

/// A list of snapshot names as libzfs_core takes them: booleans named
/// after each (`fnvlist_add_boolean`).
fn snapshot_list(op: &'static str, snaps: &[&str]) -> HostResult<NvList> {
    let alloc = |e: io::Error| HostError::new(op, io_errno(&e), "nvlist_alloc");
    let mut list = NvList::try_new_unique_names().map_err(alloc)?;
    for snap in snaps {
        if !snap.contains('@') {
            return Err(HostError::new(op, Errno::EINVAL, format!("{snap} is not a snapshot name (DATASET@SNAP)")));
        }
        let c = c_string(op, "snapshot name", snap)?;
        list.add_boolean(c.as_c_str()).map_err(|e| HostError::new(op, io_errno(&e), snap.to_string()))?;
    }
    Ok(list)
}

/// The first failure an lzc call listed in its error nvlist (snapshot
/// name and errno), taking ownership of `errs`.
fn first_listed(errs: *mut nvpair_sys::nvlist) -> Option<(String, i32)> {
    // SAFETY: a non-NULL `errs` is an nvlist the call allocated for us and
    // nobody else owns; NvList frees it on drop.
    let errs = (!errs.is_null()).then(|| unsafe { <NvList as ForeignType>::from_ptr(errs) });
    errs.as_ref().and_then(|l| {
        l.iter().find_map(|pair| match pair.data() {
            NvData::Int32(code) => Some((pair.name().to_string_lossy().into_owned(), code)),
            _ => None,
        })
    })
}

/// `zfs snapshot NAME@SNAP...` through lzc_snapshot(), all in one
/// transaction, called directly: the zfs-core wrapper drops the return
/// code whenever the kernel sent back an error list, and for ENOSPC or
/// EXDEV that list is empty (kernel::zfs::snapshot_failure).
pub(super) fn snapshot(lzc: &mut Lzc, snaps: &[&str]) -> HostResult<()> {
    const OP: &str = "zfs_snapshot";
    let mut list = snapshot_list(OP, snaps)?;
    let mut props = NvList::try_new_unique_names().map_err(|e| HostError::new(OP, io_errno(&e), "nvlist_alloc"))?;
    // libzfs_core_init() must have run.
    lzc.get(OP)?;
    let mut errs: *mut nvpair_sys::nvlist = std::ptr::null_mut();
    // SAFETY: `list` and `props` are valid nvlists we own, which
    // lzc_snapshot only reads; it stores a newly allocated nvlist (or NULL)
    // in `errs`, whose ownership passes to first_listed.
    let rc = unsafe { zfs_core_sys::lzc_snapshot(list.as_mut_ptr(), props.as_mut_ptr(), &mut errs) };
    let listed = first_listed(errs);
    match zfs_text::snapshot_failure(rc, listed, &snaps.join(" ")) {
        None => Ok(()),
        Some((name, code)) => Err(lzc_err(OP, &io::Error::from_raw_os_error(code), &name)),
    }
}

/// `zfs rollback NAME@SNAP` through lzc_rollback_to(), which rolls a
/// mounted filesystem back in place.
pub(super) fn rollback(lzc: &mut Lzc, snap: &str) -> HostResult<()> {
    const OP: &str = "zfs_rollback";
    let Some((fs_name, _)) = snap.split_once('@') else {
        return Err(HostError::new(OP, Errno::EINVAL, format!("{snap} is not a snapshot name (DATASET@SNAP)")));
    };
    let cfs = c_string(OP, "dataset name", fs_name)?;
    let csnap = c_string(OP, "snapshot name", snap)?;
    lzc.get(OP)?.rollback_to(cfs.as_c_str(), csnap.as_c_str()).map_err(|e| {
        let e = lzc_err(OP, &e, snap);
        match e.errno {
            Errno::EEXIST => HostError::new(OP, e.errno, format!("{snap} is not the latest snapshot of {fs_name}")),
            _ => e,
        }
    })
}

/// `zfs destroy NAME@SNAP...` through lzc_destroy_snaps(), all or none,
/// called directly: the zfs-core wrapper takes the error list as an
/// nvlist even when the kernel sent none back.
pub(super) fn destroy_snapshots(lzc: &mut Lzc, snaps: &[&str]) -> HostResult<()> {
    const OP: &str = "zfs_destroy_snapshots";
    if snaps.is_empty() {
        return Ok(());
    }
    let mut list = snapshot_list(OP, snaps)?;
    lzc.get(OP)?;
    let mut errs: *mut nvpair_sys::nvlist = std::ptr::null_mut();
    // SAFETY: `list` is a valid nvlist we own, which lzc_destroy_snaps
    // only reads; it stores a newly allocated nvlist (or NULL) in `errs`,
    // whose ownership passes to first_listed.
    let rc = unsafe { zfs_core_sys::lzc_destroy_snaps(list.as_mut_ptr(), 0, &mut errs) };
    let listed = first_listed(errs);
    if rc == 0 {
        return Ok(());
    }
    let (name, code) = listed.unwrap_or_else(|| (snaps.join(" "), rc));
    let e = lzc_err(OP, &io::Error::from_raw_os_error(code), &name);
    let detail = match e.errno {
        Errno::EEXIST => format!("snapshot {name} has dependent clones"),
        Errno::EBUSY => format!("snapshot {name} is held or in use"),
        _ => e.detail,
    };
    Err(HostError::new(OP, e.errno, detail))
}

/// `zfs destroy [-r] NAME`. Recursive destroys go to zfs(8); a single
/// dataset or snapshot is unmounted (as zfs(8) would) and destroyed with
/// lzc_destroy(), and remounted if the destroy then fails.
pub(super) fn destroy(lzc: &mut Lzc, name: &str, recursive: bool) -> HostResult<()> {
    const OP: &str = "zfs_destroy";
    if recursive {
        return run_zfs(OP, &["destroy", "-r", name]).map(drop);
    }
    let cname = c_string(OP, "dataset name", name)?;
    let mounted = mounted_at(name)?;
    for (i, at) in mounted.iter().enumerate() {
        if let Err(e) = mount::unmount(at, false) {
            if i > 0 {
                let _ = run_zfs(OP, &["mount", name]);
            }
            return Err(HostError::new(OP, e.errno, format!("cannot unmount {name} from {}", at.target.display())));
        }
    }
    let destroyed = lzc.get(OP).and_then(|z| z.destroy(cname.as_c_str()).map_err(|e| lzc_err(OP, &e, name)));
    if let Err(e) = destroyed {
        if !mounted.is_empty() {
            // Leave things as they were.
            let _ = run_zfs(OP, &["mount", name]);
        }
        let snapshot = name.contains('@');
        let detail = match e.errno {
            Errno::EEXIST if snapshot => format!("snapshot {name} has dependent clones"),
            Errno::EEXIST => format!("{name} has child datasets; destroy them first or destroy recursively"),
            Errno::EBUSY if snapshot => format!("snapshot {name} is held or in use"),
            Errno::EBUSY => format!("{name} has snapshots or is in use; destroy recursively"),
            _ => e.detail,
        };
        return Err(HostError::new(OP, e.errno, detail));
    }
    Ok(())
}

/// `zfs rename FROM TO`: lzc_rename() for a snapshot, zfs(8) for a
/// filesystem, which unmounts and remounts what moves, and refuses a
/// dataset delegated to a jail (`jailed=on`, "used in a non-global zone")
/// where the kernel itself would not.
pub(super) fn rename(lzc: &mut Lzc, from: &str, to: &str) -> HostResult<()> {
    const OP: &str = "zfs_rename";
    if !from.contains('@') {
        return run_zfs(OP, &["rename", from, to]).map(drop);
    }
    let cfrom = c_string(OP, "dataset name", from)?;
    let cto = c_string(OP, "dataset name", to)?;
    lzc.get(OP)?.rename(cfrom.as_c_str(), cto.as_c_str()).map_err(|e| lzc_err(OP, &e, &format!("{from} -> {to}")))
}

/// `zfs promote NAME` through lzc_promote(), which names a conflicting
/// snapshot in the buffer it is given.
pub(super) fn promote(lzc: &mut Lzc, name: &str) -> HostResult<()> {
    const OP: &str = "zfs_promote";
    let cname = c_string(OP, "dataset name", name)?;
    lzc.get(OP)?;
    let mut conflict = [0 as std::os::raw::c_char; 256];
    let len = std::os::raw::c_int::try_from(conflict.len()).unwrap_or(0);
    // SAFETY: the name is NUL-terminated and outlives the call; the buffer
    // is `len` bytes, which lzc_promote fills with a NUL-terminated name.
    let rc = unsafe { zfs_core_sys::lzc_promote(cname.as_ptr(), conflict.as_mut_ptr(), len) };
    if rc == 0 {
        return Ok(());
    }
    // SAFETY: zero-filled and written NUL-terminated by lzc_promote.
    let clash = unsafe { CStr::from_ptr(conflict.as_ptr()) }.to_string_lossy().into_owned();
    let e = io::Error::from_raw_os_error(rc);
    let what = if clash.is_empty() { name.to_string() } else { format!("{name} (conflicting snapshot {clash})") };
    Err(lzc_err(OP, &e, &what))
}

/// `zfs get -Hp -o property,value,source PROPS NAME`.
pub(super) fn get(name: &str, props: &[&str]) -> HostResult<BTreeMap<String, String>> {
    const OP: &str = "zfs_get";
    if props.is_empty() {
        return Ok(BTreeMap::new());
    }
    let list = props.join(",");
    let out = run_zfs(OP, &["get", "-Hp", "-o", "property,value,source", &list, name])?;
    zfs_text::parse_get(&out).map_err(|e| HostError::new(OP, Errno::EIO, e))
}

/// `zfs jail JID NAME` / `zfs unjail JID NAME`: libzfs_core has no
/// call for ZFS_IOC_JAIL, so zfs(8) does it, once per dataset at start.
pub(super) fn jail(op: &'static str, name: &str, jid: crate::host::Jid) -> HostResult<()> {
    let verb = if op == "zfs_jail" { "jail" } else { "unjail" };
    run_zfs(op, &[verb, &jid.to_string(), name]).map(drop)
}

/// `zfs set PROP=VALUE... NAME`.
pub(super) fn set(name: &str, props: &[(String, String)]) -> HostResult<()> {
    if props.is_empty() {
        return Ok(());
    }
    let mut args = vec!["set".to_string()];
    args.extend(props.iter().map(|(k, v)| format!("{k}={v}")));
    args.push(name.to_string());
    run_zfs("zfs_set", &args.iter().map(String::as_str).collect::<Vec<_>>()).map(drop)
}

/// `zfs list -Hp -r -t all -o name,type,PROPS ROOT`.
pub(super) fn list(root: &str, props: &[&str]) -> HostResult<Vec<DatasetInfo>> {
    const OP: &str = "zfs_list";
    let columns = std::iter::once("name").chain(std::iter::once("type")).chain(props.iter().copied());
    let columns = columns.collect::<Vec<_>>().join(",");
    let out = run_zfs(OP, &["list", "-Hp", "-r", "-t", "all", "-o", &columns, root])?;
    zfs_text::parse_list(&out, props).map_err(|e| HostError::new(OP, Errno::EIO, e))
}

/// `zfs diff -FH FROM TO`, its paths made relative to TO's mountpoint,
/// which zfs(8) prints before each (libzfs_diff.c print_cmn).
pub(super) fn diff(from: &str, to: &str) -> HostResult<Vec<DiffEntry>> {
    const OP: &str = "zfs_diff";
    let fs = to.split('@').next().unwrap_or(to);
    let mountpoint = get(fs, &["mountpoint"])?.remove("mountpoint").unwrap_or_default();
    let out = run_zfs(OP, &["diff", "-FH", from, to])?;
    zfs_text::parse_diff(&out, &mountpoint).map_err(|e| HostError::new(OP, Errno::EIO, e))
}

/// `MOUNTPOINT/.zfs/snapshot/NAME`, which the ZFS control directory
/// mounts when it is looked up (zfsctl_snapdir_lookup): ENOENT when the
/// filesystem is not mounted or the snapshot does not exist.
pub(super) fn snapshot_files(snap: &str) -> HostResult<std::path::PathBuf> {
    const OP: &str = "zfs_snapshot_files";
    let Some((fs, name)) = snap.split_once('@') else {
        return Err(HostError::new(OP, Errno::EINVAL, format!("{snap} is not a snapshot name (DATASET@SNAP)")));
    };
    let props = get(fs, &["mountpoint", "mounted"])?;
    let mountpoint = props.get("mountpoint").map(String::as_str).unwrap_or_default();
    if props.get("mounted").map(String::as_str) != Some("yes") || !mountpoint.starts_with('/') {
        return Err(HostError::new(OP, Errno::ENOENT, format!("{fs} is not mounted, so {snap} cannot be read")));
    }
    let dir = std::path::Path::new(mountpoint).join(".zfs/snapshot").join(name);
    if !dir.is_dir() {
        return Err(HostError::new(OP, Errno::ENOENT, format!("{}: no such snapshot directory", dir.display())));
    }
    Ok(dir)
}

/// Runs `kernel_side` (an lzc call given one end of a pipe) in a thread
/// while `user_side` moves the stream through the other end; the
/// kernel's errno, else the copy's. Closing its end when done tells the
/// other side the stream is over.
fn through_pipe(
    op: &'static str,
    kernel_reads: bool,
    kernel_side: impl FnOnce(std::os::fd::RawFd) -> i32 + Send,
    user_side: impl FnOnce(std::fs::File) -> io::Result<u64>,
) -> HostResult<()> {
    use std::os::fd::AsRawFd;
    let (read_end, write_end) = super::spawn::pipe(op, "the stream's pipe")?;
    let (kernel_end, user_end) = if kernel_reads { (read_end, write_end) } else { (write_end, read_end) };
    let (rc, copied) = std::thread::scope(|s| {
        let kernel = s.spawn(move || {
            let rc = kernel_side(kernel_end.as_raw_fd());
            drop(kernel_end);
            rc
        });
        let copied = user_side(std::fs::File::from(user_end));
        (kernel.join().unwrap_or(libc::EIO), copied)
    });
    // Our side's failure first, unless it is only the kernel's side
    // closing its end (then the kernel's errno says why): a damaged
    // archive or a full disk is news, the broken pipe that follows not.
    let ours = copied.map(drop).map_err(|e| (e.kind() != io::ErrorKind::BrokenPipe, e));
    match (rc, ours) {
        (_, Err((true, e))) | (0, Err((false, e))) => {
            Err(HostError::new(op, io_errno(&e), format!("copying the stream: {e}")))
        }
        (0, Ok(())) => Ok(()),
        (rc, _) => Err(lzc_err(op, &io::Error::from_raw_os_error(rc), "the stream")),
    }
}

/// `zfs send [-i FROM] SNAP` through lzc_send() into a pipe, copied to
/// `out` (large blocks and embedded data kept, as `zfs send -Le`).
pub(super) fn send(lzc: &mut Lzc, snap: &str, from: Option<&str>, out: &mut dyn std::io::Write) -> HostResult<()> {
    const OP: &str = "zfs_send";
    let csnap = c_string(OP, "snapshot name", snap)?;
    let cfrom = from.map(|f| c_string(OP, "snapshot name", f)).transpose()?;
    lzc.get(OP)?;
    let flags = zfs_core_sys::lzc_send_flags::LZC_SEND_FLAG_EMBED_DATA
        | zfs_core_sys::lzc_send_flags::LZC_SEND_FLAG_LARGE_BLOCK;
    let kernel = |fd| {
        let from_ptr = cfrom.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        // SAFETY: both names are NUL-terminated strings that outlive the
        // call; `fd` is the open write end of our pipe.
        unsafe { zfs_core_sys::lzc_send(csnap.as_ptr(), from_ptr, fd, flags) }
    };
    through_pipe(OP, false, kernel, |mut r| io::copy(&mut r, out))
}

/// `zfs receive -o PROP=VALUE... FS@SNAP` through lzc_receive() from a
/// pipe fed from `input`; the properties set and the filesystem mounted
/// after, as zfs(8) does (lzc_receive mounts nothing).
pub(super) fn receive(
    lzc: &mut Lzc,
    snap: &str,
    props: &[(String, String)],
    input: &mut dyn std::io::Read,
) -> HostResult<()> {
    const OP: &str = "zfs_receive";
    let Some((fs, _)) = snap.split_once('@') else {
        return Err(HostError::new(OP, Errno::EINVAL, format!("{snap} is not a snapshot name (DATASET@SNAP)")));
    };
    let csnap = c_string(OP, "snapshot name", snap)?;
    lzc.get(OP)?;
    let kernel = |fd| {
        // SAFETY: the name is a NUL-terminated string that outlives the
        // call, no props, no origin; `fd` is the open read end of our pipe.
        unsafe {
            zfs_core_sys::lzc_receive(
                csnap.as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null(),
                zfs_core_sys::boolean_t::B_FALSE,
                zfs_core_sys::boolean_t::B_FALSE,
                fd,
            )
        }
    };
    // A whole stream makes the filesystem, which then gets its
    // properties and is mounted as zfs(8) would; an incremental one adds
    // to one that is as it was (mounted, if it was).
    let cfs = c_string(OP, "dataset name", fs)?;
    let existed = lzc.get(OP)?.exists(cfs.as_c_str());
    through_pipe(OP, true, kernel, |mut w| io::copy(input, &mut w))?;
    if existed {
        return Ok(());
    }
    set(fs, props)?;
    mount_new(lzc, OP, fs, props)
}
