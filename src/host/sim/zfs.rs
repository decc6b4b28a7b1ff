//! The simulated ZFS: datasets, snapshots and clones of one pool, with the
//! name rules of zfs_namecheck.c and the errnos of dsl_destroy.c and
//! dmu_objset.c.
//!
//! A mounted dataset's files are real files under the sim directory at its
//! mountpoint; an unmounted dataset's files wait in `DIR/.sim/data/GUID`; a
//! snapshot's files are a copy in `DIR/.sim/snapshots/GUID`. A clone starts
//! as a copy of its origin's files: the sim models what a clone contains,
//! not how little space it takes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::busy;
use super::config::SimConfig;
use super::fs;
use super::jail::Refusal;
use super::state::{SimDataset, State};
use crate::host::Jid;
use crate::host::{DatasetInfo, DatasetKind};

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

// ---- names ----------------------------------------------------------------

/// The characters zfs_namecheck.c allows. `%` is for the kernel's own
/// temporary names (`%recv`): entity_namecheck refuses it in any name a
/// caller gives, so create, clone, rename and snapshot are EINVAL.
fn valid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | ' ')
}

/// dataset_namecheck / snapshot_namecheck: EINVAL for any malformed name,
/// as the ioctl entry check reports it.
pub fn check_name(name: &str) -> Result<(), Refusal> {
    let bad = |why: &str| no(Errno::EINVAL, format!("invalid dataset name '{name}': {why}"));
    if name.len() >= MAX_NAME {
        return Err(bad("name is too long"));
    }
    let (fs_part, snap) = match name.split_once('@') {
        Some((f, s)) => (f, Some(s)),
        None => (name, None),
    };
    if fs_part.is_empty() || fs_part.starts_with('/') || fs_part.ends_with('/') {
        return Err(bad("leading or trailing slash, or empty name"));
    }
    for comp in fs_part.split('/') {
        if comp.is_empty() {
            return Err(bad("empty component"));
        }
        if comp == "." || comp == ".." {
            return Err(bad("'.' or '..' component"));
        }
        if let Some(c) = comp.chars().find(|c| !valid_char(*c)) {
            return Err(bad(&format!("invalid character '{c}'")));
        }
    }
    if let Some(s) = snap {
        if s.is_empty() || s.contains('@') || s.contains('/') {
            return Err(bad("malformed snapshot name"));
        }
        if let Some(c) = s.chars().find(|c| !valid_char(*c)) {
            return Err(bad(&format!("invalid character '{c}'")));
        }
    }
    Ok(())
}

fn parent_name(name: &str) -> Option<&str> {
    name.rfind('/').map(|i| &name[..i])
}

fn pool_of(name: &str) -> &str {
    name.split(['/', '@']).next().unwrap_or(name)
}

fn is_descendant(name: &str, of: &str) -> bool {
    name.len() > of.len() && name.starts_with(of) && matches!(name.as_bytes()[of.len()], b'/' | b'@')
}

// ---- properties -----------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    OnOff,
    Size,
    Choice(&'static [&'static str]),
    Mountpoint,
    Number,
    ReadOnly,
}

/// (name, kind, inherited by children, default)
const NATIVE: &[(&str, Kind, bool, &str)] = &[
    ("type", Kind::ReadOnly, false, ""),
    ("name", Kind::ReadOnly, false, ""),
    ("creation", Kind::ReadOnly, false, ""),
    ("used", Kind::ReadOnly, false, ""),
    ("available", Kind::ReadOnly, false, ""),
    ("referenced", Kind::ReadOnly, false, ""),
    ("mounted", Kind::ReadOnly, false, ""),
    ("origin", Kind::ReadOnly, false, ""),
    ("guid", Kind::ReadOnly, false, ""),
    ("clones", Kind::ReadOnly, false, ""),
    ("compressratio", Kind::ReadOnly, false, ""),
    ("mountpoint", Kind::Mountpoint, true, ""),
    ("canmount", Kind::Choice(&["on", "off", "noauto"]), false, "on"),
    ("readonly", Kind::OnOff, true, "off"),
    ("jailed", Kind::OnOff, true, "off"),
    ("atime", Kind::OnOff, true, "on"),
    ("exec", Kind::OnOff, true, "on"),
    ("setuid", Kind::OnOff, true, "on"),
    ("devices", Kind::OnOff, true, "on"),
    ("quota", Kind::Size, false, "0"),
    ("refquota", Kind::Size, false, "0"),
    ("reservation", Kind::Size, false, "0"),
    ("refreservation", Kind::Size, false, "0"),
    ("compression", Kind::Choice(&["on", "off", "lz4", "zstd", "gzip", "lzjb", "zle"]), true, "off"),
    ("recordsize", Kind::Size, true, "131072"),
    ("snapdir", Kind::Choice(&["hidden", "visible"]), true, "hidden"),
    ("sync", Kind::Choice(&["standard", "always", "disabled"]), true, "standard"),
    ("copies", Kind::Number, true, "1"),
];

fn native(name: &str) -> Option<(Kind, bool, &'static str)> {
    NATIVE.iter().find(|(n, ..)| *n == name).map(|(_, k, i, d)| (*k, *i, *d))
}

/// User properties: a colon, then lowercase letters, digits and `:-._`,
/// at most 256 characters.
fn is_user_prop(name: &str) -> bool {
    name.contains(':')
        && name.len() <= 256
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, ':' | '-' | '.' | '_'))
}

/// A size property's value as zprop_parse_value reads it: `none` is 0 for
/// the properties that take it (quota, reservation and their ref
/// variants), anything else goes through zfs_nicestrtonum
/// (kernel::zfs::parse_size, the one brig uses everywhere).
pub fn parse_size(v: &str) -> Option<u64> {
    if v == "none" {
        return Some(0);
    }
    crate::kernel::zfs::parse_size(v)
}

/// Checks one `PROP=VALUE` the way `zfs set` does and returns the value to
/// store (sizes normalised to bytes).
fn check_prop(name: &str, value: &str) -> Result<String, Refusal> {
    if is_user_prop(name) {
        if value.len() > 8192 {
            return Err(no(Errno::E2BIG, format!("property '{name}': value is too long")));
        }
        return Ok(value.to_string());
    }
    let Some((kind, ..)) = native(name) else {
        return Err(no(Errno::EINVAL, format!("invalid property '{name}'")));
    };
    let bad = || no(Errno::EINVAL, format!("bad value '{value}' for property '{name}'"));
    match kind {
        Kind::ReadOnly => Err(no(Errno::EINVAL, format!("property '{name}' is read-only"))),
        Kind::OnOff => matches!(value, "on" | "off").then(|| value.to_string()).ok_or_else(bad),
        Kind::Choice(c) => c.contains(&value).then(|| value.to_string()).ok_or_else(bad),
        Kind::Size => parse_size(value).map(|n| n.to_string()).ok_or_else(bad),
        Kind::Number => value.parse::<u64>().map(|n| n.to_string()).map_err(|_| bad()),
        Kind::Mountpoint => {
            if matches!(value, "none" | "legacy") || (value.starts_with('/') && !value.contains('\0')) {
                Ok(value.to_string())
            } else {
                Err(bad())
            }
        }
    }
}

/// A property's effective value: local, else inherited, else the default.
fn effective(st: &State, cfg: &SimConfig, name: &str, prop: &str) -> String {
    if prop == "mountpoint" {
        return mountpoint_prop(st, cfg, name);
    }
    let mut cur = Some(name);
    let inherits = native(prop).is_some_and(|(_, i, _)| i);
    while let Some(n) = cur {
        if let Some(v) = st.datasets.get(n).and_then(|d| d.props.get(prop)) {
            return v.clone();
        }
        if !inherits {
            break;
        }
        cur = parent_name(n);
    }
    native(prop).map(|(_, _, d)| d.to_string()).unwrap_or_default()
}

/// `zfs get mountpoint`: the path, or `none`/`legacy` as inherited.
fn mountpoint_prop(st: &State, cfg: &SimConfig, name: &str) -> String {
    match mountpoint(st, cfg, name) {
        Some(p) => p.to_string_lossy().into_owned(),
        None => {
            let mut cur = Some(name);
            while let Some(n) = cur {
                if let Some(v) = st.datasets.get(n).and_then(|d| d.props.get("mountpoint")) {
                    return v.clone();
                }
                cur = parent_name(n);
            }
            "none".into()
        }
    }
}

/// The effective mountpoint: local, or the parent's plus this component, or
/// `/POOL` for the pool's root. None for `none`/`legacy`.
pub fn mountpoint(st: &State, cfg: &SimConfig, name: &str) -> Option<PathBuf> {
    if let Some(v) = st.datasets.get(name).and_then(|d| d.props.get("mountpoint")) {
        return match v.as_str() {
            "none" | "legacy" => None,
            p => Some(PathBuf::from(p)),
        };
    }
    match name.rfind('/') {
        Some(i) => mountpoint(st, cfg, &name[..i]).map(|p| p.join(&name[i + 1..])),
        None => Some(PathBuf::from(format!("/{}", cfg.pool))),
    }
}

fn should_mount(st: &State, cfg: &SimConfig, name: &str) -> Option<PathBuf> {
    let canmount = st.datasets.get(name).and_then(|d| d.props.get("canmount")).map(String::as_str);
    if canmount == Some("off") || effective(st, cfg, name, "jailed") == "on" {
        return None;
    }
    mountpoint(st, cfg, name)
}

// ---- moving files ---------------------------------------------------------

/// Copies a tree without following symlinks, keeping modes, owners (when
/// permitted) and hard links, and skipping directories that are mount
/// points of other filesystems.
fn copy_tree(src: &Path, dst: &Path, skip: &[PathBuf]) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mut links: BTreeMap<(u64, u64), PathBuf> = BTreeMap::new();
    fn walk(
        src: &Path,
        dst: &Path,
        skip: &[PathBuf],
        links: &mut BTreeMap<(u64, u64), PathBuf>,
    ) -> std::io::Result<()> {
        let meta = std::fs::symlink_metadata(src)?;
        std::fs::create_dir_all(dst)?;
        let _ = std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()));
        for entry in std::fs::read_dir(src)? {
            let entry = entry?;
            let from = entry.path();
            let to = dst.join(entry.file_name());
            let m = std::fs::symlink_metadata(&from)?;
            if m.file_type().is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
                let _ = std::os::unix::fs::lchown(&to, Some(m.uid()), Some(m.gid()));
            } else if m.is_dir() {
                if !skip.contains(&from) {
                    walk(&from, &to, skip, links)?;
                }
            } else if m.is_file() {
                if m.nlink() > 1 {
                    if let Some(first) = links.get(&(m.dev(), m.ino())) {
                        std::fs::hard_link(first, &to)?;
                        continue;
                    }
                    links.insert((m.dev(), m.ino()), to.clone());
                }
                std::fs::copy(&from, &to)?;
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
                let _ = std::os::unix::fs::lchown(&to, Some(m.uid()), Some(m.gid()));
                // lchown clears setuid bits; put the mode back.
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
            }
        }
        // The directory's own mode last: as a plain user the sim could not
        // fill a directory without write permission (root, as FreeBSD's
        // zfs runs, could).
        std::fs::set_permissions(dst, std::fs::Permissions::from_mode(meta.mode() & 0o7777))
    }
    walk(src, dst, skip, &mut links)
}

/// The size of the files of a tree, not counting other mounts.
fn tree_size(dir: &Path, skip: &[PathBuf]) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| {
            let p = e.path();
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() && !skip.contains(&p) => 512 + tree_size(&p, skip),
                Ok(m) if m.is_dir() => 0,
                Ok(m) => m.len().max(1),
                Err(_) => 0,
            }
        })
        .sum()
}

fn other_mount_dirs(st: &State, paths: &Paths, except: &Path) -> Vec<PathBuf> {
    st.mounts.values().filter(|m| m.target != except).map(|m| fs::local(paths.root, &m.target)).collect()
}

/// Moves every entry of one directory into another (same filesystem).
fn move_entries(from: &Path, to: &Path) -> Result<(), Refusal> {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(from).map_err(|e| io(e, from))? {
        let entry = entry.map_err(|e| io(e, from))?;
        let dest = to.join(entry.file_name());
        // rename(2) of a directory to another parent rewrites its "..",
        // which needs write permission on it: nothing to root, as FreeBSD's
        // zfs runs, but a plain user running the sim lends itself the
        // owner's write bit for the move (a release's /dev is 0555).
        let mode = entry
            .metadata()
            .ok()
            .filter(|m| m.is_dir() && m.permissions().mode() & 0o200 == 0)
            .map(|m| m.permissions().mode());
        if let Some(mode) = mode {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode | 0o200))
                .map_err(|e| io(e, &entry.path()))?;
        }
        let moved = std::fs::rename(entry.path(), &dest);
        if let Some(mode) = mode {
            let at = if moved.is_ok() { dest.clone() } else { entry.path() };
            std::fs::set_permissions(&at, std::fs::Permissions::from_mode(mode)).map_err(|e| io(e, &at))?;
        }
        moved.map_err(|e| io(e, &dest))?;
    }
    Ok(())
}

/// EBUSY, as zfs(8) words it, while something uses the filesystem mounted
/// at `mp` (busy::holder).
fn busy_at(st: &State, paths: &Paths, mp: &Path) -> Result<(), Refusal> {
    match busy::holder(st, paths.root, mp) {
        Some(who) => {
            Err(no(Errno::EBUSY, format!("cannot unmount '{}': pool or dataset is busy ({who})", mp.display())))
        }
        None => Ok(()),
    }
}

/// [`busy_at`] for each of these datasets that is mounted.
fn none_busy(st: &State, paths: &Paths, names: &[String]) -> Result<(), Refusal> {
    names
        .iter()
        .filter_map(|n| st.datasets.get(n).and_then(|d| d.mounted.clone()))
        .try_for_each(|mp| busy_at(st, paths, &mp))
}

/// Mounts a dataset at its mountpoint: its files move from the stash into
/// place.
fn mount_at(st: &mut State, paths: &Paths, name: &str, mp: &Path) -> Result<(), Refusal> {
    let Some(guid) = st.datasets.get(name).map(|d| d.guid) else {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {name}")));
    };
    let local = fs::local(paths.root, mp);
    let stash = paths.stash(guid);
    std::fs::create_dir_all(&local).map_err(|e| io(e, &local))?;
    if stash.exists() {
        move_entries(&stash, &local)?;
        std::fs::remove_dir(&stash).map_err(|e| io(e, &stash))?;
    }
    if let Some(d) = st.datasets.get_mut(name) {
        d.mounted = Some(mp.to_path_buf());
    }
    st.push_mount("zfs", name, mp.to_path_buf(), false);
    Ok(())
}

/// Unmounts a dataset: EBUSY while anything is mounted beneath it; its
/// files move to the stash and the empty mountpoint directory is removed,
/// as zfs(8) does.
fn unmount_ds(st: &mut State, paths: &Paths, name: &str) -> Result<(), Refusal> {
    let Some(d) = st.datasets.get(name) else { return Ok(()) };
    let (Some(mp), guid) = (d.mounted.clone(), d.guid) else { return Ok(()) };
    if st.mounts.values().any(|m| m.target != mp && m.target.starts_with(&mp)) {
        return Err(no(Errno::EBUSY, format!("cannot unmount '{}': something is mounted beneath it", mp.display())));
    }
    busy_at(st, paths, &mp)?;
    let local = fs::local(paths.root, &mp);
    let stash = paths.stash(guid);
    std::fs::create_dir_all(&stash).map_err(|e| io(e, &stash))?;
    if local.is_dir() {
        move_entries(&local, &stash)?;
        let _ = std::fs::remove_dir(&local);
    }
    let gone: Vec<u64> =
        st.mounts.iter().filter(|(_, m)| m.fstype == "zfs" && m.source == name).map(|(k, _)| *k).collect();
    for k in gone {
        st.mounts.remove(&k);
    }
    if let Some(d) = st.datasets.get_mut(name) {
        d.mounted = None;
    }
    Ok(())
}

// ---- operations -----------------------------------------------------------

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A new dataset with a new guid. Its storage starts empty: a sim killed
/// in the middle of an operation never saved the guid it had drawn, so
/// the guid comes round again and would find that operation's half copy.
fn new_dataset(
    st: &mut State,
    paths: &Paths,
    props: BTreeMap<String, String>,
    origin: Option<String>,
    snapshot: bool,
) -> Result<SimDataset, Refusal> {
    let guid = st.guid();
    for leftover in [paths.stash(guid), paths.snapshot_store(guid)] {
        match std::fs::remove_dir_all(&leftover) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e, &leftover)),
            _ => {}
        }
    }
    Ok(SimDataset { snapshot, props, origin, creation: now(), guid, mounted: None, holds: Vec::new() })
}

fn checked_props(props: &[(String, String)]) -> Result<BTreeMap<String, String>, Refusal> {
    props.iter().map(|(k, v)| Ok((k.clone(), check_prop(k, v)?))).collect()
}

fn check_new_fs(st: &State, cfg: &SimConfig, name: &str) -> Result<(), Refusal> {
    check_name(name)?;
    if name.contains('@') {
        return Err(no(Errno::EINVAL, format!("'{name}' is a snapshot name")));
    }
    if pool_of(name) != cfg.pool {
        return Err(no(Errno::ENOENT, format!("no such pool '{}'", pool_of(name))));
    }
    if st.datasets.contains_key(name) {
        return Err(no(Errno::EEXIST, format!("dataset already exists: {name}")));
    }
    if name.matches('/').count() >= MAX_NESTING {
        return Err(no(Errno::ENAMETOOLONG, format!("{name}: nesting too deep")));
    }
    match parent_name(name) {
        Some(p) if !st.datasets.contains_key(p) => Err(no(Errno::ENOENT, format!("parent does not exist: {p}"))),
        _ => Ok(()),
    }
}

pub fn create(
    st: &mut State,
    cfg: &SimConfig,
    paths: &Paths,
    name: &str,
    props: &[(String, String)],
) -> Result<(), Refusal> {
    check_new_fs(st, cfg, name)?;
    let props = checked_props(props)?;
    let ds = new_dataset(st, paths, props, None, false)?;
    st.datasets.insert(name.to_string(), ds);
    if let Some(mp) = should_mount(st, cfg, name) {
        mount_at(st, paths, name, &mp)?;
    }
    Ok(())
}

pub fn snapshot(st: &mut State, paths: &Paths, snap: &str) -> Result<(), Refusal> {
    check_name(snap)?;
    let Some((fs_name, _)) = snap.split_once('@') else {
        return Err(no(Errno::EINVAL, format!("'{snap}' is not a snapshot name")));
    };
    let Some(src) = st.datasets.get(fs_name).cloned() else {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {fs_name}")));
    };
    if src.snapshot {
        return Err(no(Errno::EINVAL, format!("'{fs_name}' is a snapshot")));
    }
    if st.datasets.contains_key(snap) {
        return Err(no(Errno::EEXIST, format!("snapshot already exists: {snap}")));
    }
    let ds = new_dataset(st, paths, BTreeMap::new(), None, true)?;
    let store = paths.snapshot_store(ds.guid);
    let files = match &src.mounted {
        Some(mp) => fs::local(paths.root, mp),
        None => paths.stash(src.guid),
    };
    let skip = other_mount_dirs(st, paths, src.mounted.as_deref().unwrap_or(Path::new("")));
    if files.is_dir() {
        copy_tree(&files, &store, &skip).map_err(|e| io(e, &store))?;
    } else {
        std::fs::create_dir_all(&store).map_err(|e| io(e, &store))?;
    }
    st.datasets.insert(snap.to_string(), ds);
    Ok(())
}

pub fn clone(
    st: &mut State,
    cfg: &SimConfig,
    paths: &Paths,
    origin: &str,
    name: &str,
    props: &[(String, String)],
) -> Result<(), Refusal> {
    check_name(origin)?;
    if !origin.contains('@') {
        return Err(no(Errno::EINVAL, format!("'{origin}' is not a snapshot")));
    }
    let Some(guid) = st.datasets.get(origin).map(|d| d.guid) else {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {origin}")));
    };
    check_new_fs(st, cfg, name)?;
    let props = checked_props(props)?;
    let ds = new_dataset(st, paths, props, Some(origin.to_string()), false)?;
    let stash = paths.stash(ds.guid);
    copy_tree(&paths.snapshot_store(guid), &stash, &[]).map_err(|e| io(e, &stash))?;
    st.datasets.insert(name.to_string(), ds);
    if let Some(mp) = should_mount(st, cfg, name) {
        mount_at(st, paths, name, &mp)?;
    }
    Ok(())
}

fn clones_of(st: &State, snap: &str) -> Vec<String> {
    st.datasets.iter().filter(|(_, d)| d.origin.as_deref() == Some(snap)).map(|(n, _)| n.clone()).collect()
}

/// Why one dataset or snapshot cannot be destroyed on its own
/// (dsl_destroy_head_check_impl, dsl_destroy_snapshot_check_impl): a
/// filesystem with children is EEXIST, with snapshots EBUSY; a snapshot
/// with clones is EEXIST, with a user hold EBUSY. Being attached to a
/// jail is no obstacle: the kernel keeps only the name in the jail's zone,
/// so protecting a tenant's data is brig's job.
fn destroy_check(st: &State, name: &str) -> Result<(), Refusal> {
    let Some(d) = st.datasets.get(name) else {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {name}")));
    };
    if d.snapshot {
        if let Some(c) = clones_of(st, name).first() {
            return Err(no(Errno::EEXIST, format!("snapshot '{name}' has dependent clones, such as '{c}'")));
        }
        if let Some(tag) = d.holds.first() {
            return Err(no(Errno::EBUSY, format!("snapshot '{name}' is held (tag '{tag}'); zfs release it first")));
        }
        return Ok(());
    }
    let below: Vec<&String> = st.datasets.keys().filter(|n| is_descendant(n, name)).collect();
    if below.iter().any(|n| !n.contains('@')) {
        return Err(no(Errno::EEXIST, format!("'{name}' has children; use -r to destroy them")));
    }
    if !below.is_empty() {
        return Err(no(Errno::EBUSY, format!("'{name}' has snapshots; use -r to destroy them")));
    }
    Ok(())
}

/// Destroys one dataset or snapshot that has nothing below it: unmounted
/// first (EBUSY while in use), then its files dropped.
fn destroy_one(st: &mut State, paths: &Paths, name: &str) -> Result<(), Refusal> {
    destroy_check(st, name)?;
    unmount_ds(st, paths, name)?;
    if let Some(ds) = st.datasets.remove(name) {
        let dir = if ds.snapshot { paths.snapshot_store(ds.guid) } else { paths.stash(ds.guid) };
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| io(e, &dir))?;
        }
    }
    Ok(())
}

/// `zfs destroy [-r] NAME`. Alone, all or nothing. Recursive, it is
/// best effort, as zfs(8)'s destroy_callback is: every snapshot and
/// descendant that can go goes, deepest first, a busy or held one and
/// its ancestors stay, and the first failure is reported; the partial
/// tree is kept (zfs_destroy_005_neg), so callers must converge from it.
/// The state is to be saved even when this fails.
pub fn destroy(st: &mut State, paths: &Paths, name: &str, recursive: bool) -> Result<(), Refusal> {
    check_name(name)?;
    if !st.datasets.contains_key(name) {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {name}")));
    }
    if !name.contains('/') && !name.contains('@') {
        return Err(no(Errno::EINVAL, format!("cannot destroy the pool's root dataset '{name}'")));
    }
    if !recursive {
        return destroy_one(st, paths, name);
    }
    let mut doomed: Vec<String> = st.datasets.keys().filter(|n| is_descendant(n, name)).cloned().collect();
    // zfs destroy -r refuses up front when a snapshot in the tree has a
    // clone outside it (that needs -R, which brig never uses).
    for d in doomed.iter().filter(|d| d.contains('@')) {
        if let Some(c) = clones_of(st, d).into_iter().find(|c| !is_descendant(c, name)) {
            return Err(no(Errno::EEXIST, format!("snapshot '{d}' has dependent clones, such as '{c}'")));
        }
    }
    // Deepest first, snapshots before their filesystem: children and
    // snapshots go before their parents.
    doomed.sort_by_key(|n| std::cmp::Reverse((n.matches('/').count(), n.contains('@'))));
    doomed.push(name.to_string());
    // Like zfs_iter_dependents, a clone inside the tree goes before its
    // origin: what failed only because of something destroyed later in the
    // same pass is tried again, until a pass makes no progress.
    loop {
        let mut first_error = None;
        let before = doomed.len();
        doomed.retain(|d| match destroy_one(st, paths, d) {
            Ok(()) => false,
            Err(e) => {
                first_error.get_or_insert(e);
                true
            }
        });
        match first_error {
            None => return Ok(()),
            Some(e) if doomed.len() == before => return Err(e),
            Some(_) => {}
        }
    }
}

pub fn rename(st: &mut State, cfg: &SimConfig, paths: &Paths, from: &str, to: &str) -> Result<(), Refusal> {
    check_name(from)?;
    check_name(to)?;
    if !st.datasets.contains_key(from) {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {from}")));
    }
    if pool_of(from) != pool_of(to) {
        return Err(no(Errno::EXDEV, "cannot rename to a different pool"));
    }
    if from.contains('@') != to.contains('@') || (from.contains('@') && from.split('@').next() != to.split('@').next())
    {
        return Err(no(Errno::EINVAL, "snapshots can only be renamed within their dataset"));
    }
    if st.datasets.contains_key(to) {
        return Err(no(Errno::EEXIST, format!("dataset already exists: {to}")));
    }
    if is_descendant(to, from) {
        return Err(no(Errno::EINVAL, "cannot rename a dataset to be a descendant of itself"));
    }
    if let Some(p) = parent_name(to) {
        if !st.datasets.contains_key(p) && !to.contains('@') {
            return Err(no(Errno::ENOENT, format!("parent does not exist: {p}")));
        }
    }
    if !from.contains('@') && effective(st, cfg, from, "jailed") == "on" {
        // libzfs zfs_rename: a dataset delegated to a jail is the jail's.
        return Err(no(Errno::EPERM, format!("cannot rename '{from}': dataset is used in a non-global zone")));
    }
    let mut moving: Vec<String> =
        st.datasets.keys().filter(|n| *n == from || is_descendant(n, from)).cloned().collect();
    // zfs_rename refuses to make anything deeper than
    // zfs_max_dataset_nesting, though what is already deeper may move.
    let deepening = to.matches('/').count() > from.matches('/').count();
    if deepening && moving.iter().any(|n| format!("{to}{}", &n[from.len()..]).matches('/').count() >= MAX_NESTING) {
        return Err(no(Errno::ENAMETOOLONG, format!("cannot rename '{from}' to '{to}': nesting too deep")));
    }
    moving.sort_by_key(|n| std::cmp::Reverse(n.matches(['/', '@']).count()));
    let was_mounted: Vec<String> =
        moving.iter().filter(|n| st.datasets.get(*n).is_some_and(|d| d.mounted.is_some())).cloned().collect();
    // changelist_prefix unmounts everything first and, when one is busy,
    // remounts the rest and renames nothing: checked before anything moves.
    none_busy(st, paths, &was_mounted)?;
    for n in &moving {
        unmount_ds(st, paths, n)?;
    }
    for n in &moving {
        if let Some(ds) = st.datasets.remove(n) {
            let new = format!("{to}{}", &n[from.len()..]);
            for other in st.datasets.values_mut() {
                if other.origin.as_deref() == Some(n.as_str()) {
                    other.origin = Some(new.clone());
                }
            }
            st.datasets.insert(new, ds);
        }
    }
    let mut remount: Vec<String> = was_mounted.iter().map(|n| format!("{to}{}", &n[from.len()..])).collect();
    remount.sort_by_key(|n| n.matches('/').count());
    for n in remount {
        if let Some(mp) = should_mount(st, cfg, &n) {
            mount_at(st, paths, &n, &mp)?;
        }
    }
    Ok(())
}

fn used(st: &State, paths: &Paths, name: &str) -> u64 {
    let own = referenced(st, paths, name);
    let kids: u64 = st
        .datasets
        .keys()
        .filter(|n| is_descendant(n, name) && !n[name.len() + 1..].contains(['/', '@']))
        .map(|n| used(st, paths, n))
        .sum();
    own + kids
}

fn referenced(st: &State, paths: &Paths, name: &str) -> u64 {
    let Some(d) = st.datasets.get(name) else { return 0 };
    if d.snapshot {
        return tree_size(&paths.snapshot_store(d.guid), &[]);
    }
    match &d.mounted {
        Some(mp) => tree_size(&fs::local(paths.root, mp), &other_mount_dirs(st, paths, mp)),
        None => tree_size(&paths.stash(d.guid), &[]),
    }
}

/// One property in `zfs get -Hp` form. None: an unset user property.
fn prop_value(st: &State, cfg: &SimConfig, paths: &Paths, name: &str, prop: &str) -> Result<Option<String>, Refusal> {
    let d = st.datasets.get(name).ok_or_else(|| no(Errno::ENOENT, format!("dataset does not exist: {name}")))?;
    if is_user_prop(prop) {
        let mut cur = Some(name.split('@').next().unwrap_or(name));
        if d.snapshot {
            return Ok(d.props.get(prop).cloned());
        }
        while let Some(n) = cur {
            if let Some(v) = st.datasets.get(n).and_then(|x| x.props.get(prop)) {
                return Ok(Some(v.clone()));
            }
            cur = parent_name(n);
        }
        return Ok(None);
    }
    if native(prop).is_none() {
        return Err(no(Errno::EINVAL, format!("bad property list: invalid property '{prop}'")));
    }
    let fs_only = |v: String| if d.snapshot { "-".to_string() } else { v };
    Ok(Some(match prop {
        "type" => (if d.snapshot { "snapshot" } else { "filesystem" }).to_string(),
        "name" => name.to_string(),
        "creation" => d.creation.to_string(),
        "guid" => d.guid.to_string(),
        "origin" => d.origin.clone().unwrap_or_else(|| "-".into()),
        "used" => {
            if d.snapshot {
                "0".into()
            } else {
                used(st, paths, name).to_string()
            }
        }
        "referenced" => referenced(st, paths, name).to_string(),
        "compressratio" => "1.00".into(),
        "available" => {
            let pool_used = used(st, paths, &cfg.pool);
            let mut avail = cfg.pool_size.saturating_sub(pool_used);
            let mut cur = Some(name.split('@').next().unwrap_or(name));
            while let Some(n) = cur {
                let q = effective(st, cfg, n, "quota").parse::<u64>().unwrap_or(0);
                if q > 0 {
                    avail = avail.min(q.saturating_sub(used(st, paths, n)));
                }
                cur = parent_name(n);
            }
            fs_only(avail.to_string())
        }
        "mounted" => fs_only((if d.mounted.is_some() { "yes" } else { "no" }).to_string()),
        "clones" => {
            if d.snapshot {
                clones_of(st, name).join(",")
            } else {
                "-".into()
            }
        }
        "mountpoint" => fs_only(effective(st, cfg, name, prop)),
        _ => fs_only(effective(st, cfg, name, prop)),
    }))
}

pub fn get(
    st: &State,
    cfg: &SimConfig,
    paths: &Paths,
    name: &str,
    props: &[&str],
) -> Result<BTreeMap<String, String>, Refusal> {
    check_name(name)?;
    let mut out = BTreeMap::new();
    for p in props {
        if let Some(v) = prop_value(st, cfg, paths, name, p)? {
            out.insert(p.to_string(), v);
        }
    }
    Ok(out)
}

pub fn set(
    st: &mut State,
    cfg: &SimConfig,
    paths: &Paths,
    name: &str,
    props: &[(String, String)],
) -> Result<(), Refusal> {
    check_name(name)?;
    if !st.datasets.contains_key(name) {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {name}")));
    }
    let checked = checked_props(props)?;
    if checked.contains_key("mountpoint") && effective(st, cfg, name, "jailed") == "on" {
        // libzfs zfs_valid_proplist, from the host.
        return Err(no(Errno::EPERM, format!("'mountpoint' cannot be set on dataset in a non-global zone ({name})")));
    }
    for (k, v) in &checked {
        if matches!(k.as_str(), "quota" | "refquota") && v != "0" {
            let q = v.parse::<u64>().unwrap_or(0);
            if q < used(st, paths, name) {
                return Err(no(Errno::ENOSPC, format!("size is less than current used or reserved space ({k})")));
            }
        }
    }
    let remount = checked.keys().any(|k| matches!(k.as_str(), "mountpoint" | "canmount" | "jailed"));
    let affected: Vec<String> = st
        .datasets
        .iter()
        .filter(|(n, d)| (*n == name || is_descendant(n, name)) && !d.snapshot && d.mounted.is_some())
        .map(|(n, _)| n.clone())
        .collect();
    if remount {
        // As for rename: nothing changes while one of them is busy.
        none_busy(st, paths, &affected)?;
    }
    if remount {
        let mut deepest = affected.clone();
        deepest.sort_by_key(|n| std::cmp::Reverse(n.matches('/').count()));
        for n in &deepest {
            unmount_ds(st, paths, n)?;
        }
    }
    if let Some(d) = st.datasets.get_mut(name) {
        d.props.extend(checked);
    }
    if remount {
        let mut order = affected;
        if !order.iter().any(|n| n == name) {
            order.push(name.to_string());
        }
        order.sort_by_key(|n| n.matches('/').count());
        for n in order {
            if let Some(mp) = should_mount(st, cfg, &n) {
                mount_at(st, paths, &n, &mp)?;
            }
        }
    }
    Ok(())
}

pub fn list(
    st: &State,
    cfg: &SimConfig,
    paths: &Paths,
    root: &str,
    props: &[&str],
) -> Result<Vec<DatasetInfo>, Refusal> {
    check_name(root)?;
    if !st.datasets.contains_key(root) {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {root}")));
    }
    let mut out = Vec::new();
    for (n, d) in st.datasets.iter().filter(|(n, _)| *n == root || is_descendant(n, root)) {
        let mut values = BTreeMap::new();
        for p in props {
            let v = prop_value(st, cfg, paths, n, p)?.unwrap_or_else(|| "-".into());
            values.insert(p.to_string(), v);
        }
        let kind = if d.snapshot { DatasetKind::Snapshot } else { DatasetKind::Filesystem };
        out.push(DatasetInfo { name: n.clone(), kind, props: values });
    }
    Ok(out)
}

/// Mounts a dataset by request (`mount -t zfs`): refused for `jailed=on`
/// datasets, which only their jail may mount.
pub fn mount_request(st: &mut State, cfg: &SimConfig, paths: &Paths, name: &str, target: &Path) -> Result<(), Refusal> {
    if !st.datasets.contains_key(name) {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {name}")));
    }
    if effective(st, cfg, name, "jailed") == "on" {
        return Err(no(Errno::EPERM, format!("'{name}' is jailed=on and cannot be mounted by the host")));
    }
    if st.datasets.get(name).is_some_and(|d| d.mounted.is_some()) {
        return Err(no(Errno::EBUSY, format!("'{name}' is already mounted")));
    }
    mount_at(st, paths, name, target)
}

/// `zfs jail JID NAME`: zfs(8) opens the dataset first (ENOENT if it
/// does not exist, EINVAL for a snapshot), then zone_dataset_attach
/// (spl_zone.c) adds the *name* to the jail's zone: an unknown jail is
/// ENOENT, the same name twice in one jail EEXIST, and one dataset may be
/// attached to several jails. `jailed` is not looked at here; only
/// mounting does.
pub fn attach(st: &mut State, name: &str, jid: Jid) -> Result<(), Refusal> {
    let d = st.datasets.get(name).ok_or_else(|| no(Errno::ENOENT, format!("dataset does not exist: {name}")))?;
    if d.snapshot {
        return Err(no(Errno::EINVAL, format!("'{name}' is a snapshot and cannot be jailed")));
    }
    let j = st.jails.get_mut(&jid).ok_or_else(|| no(Errno::ENOENT, format!("jail {jid} does not exist")))?;
    if j.zone.iter().any(|n| n == name) {
        return Err(no(Errno::EEXIST, format!("'{name}' is already attached to jail {jid}")));
    }
    j.zone.push(name.to_string());
    Ok(())
}

/// `zfs unjail JID NAME` (zone_dataset_detach): ENOENT unless the name is
/// in that jail's zone.
pub fn detach(st: &mut State, name: &str, jid: Jid) -> Result<(), Refusal> {
    let zone = st.jails.get_mut(&jid).map(|j| &mut j.zone);
    match zone.and_then(|z| z.iter().position(|n| n == name).map(|i| (z, i))) {
        Some((z, i)) => {
            z.remove(i);
            Ok(())
        }
        None => Err(no(Errno::ENOENT, format!("'{name}' is not attached to jail {jid}"))),
    }
}

/// `zfs hold TAG SNAP` (dsl_dataset_user_hold): ENOENT for a missing
/// snapshot, EINVAL for a filesystem, EEXIST for a tag it already has.
pub fn hold(st: &mut State, snap: &str, tag: &str) -> Result<(), Refusal> {
    let d = st.datasets.get_mut(snap).ok_or_else(|| no(Errno::ENOENT, format!("dataset does not exist: {snap}")))?;
    if !d.snapshot {
        return Err(no(Errno::EINVAL, format!("'{snap}' is not a snapshot")));
    }
    if d.holds.iter().any(|t| t == tag) {
        return Err(no(Errno::EEXIST, format!("tag '{tag}' already exists on '{snap}'")));
    }
    d.holds.push(tag.to_string());
    Ok(())
}

/// Whether jail `jid` may see `name`: the name, or one of its ancestors,
/// is in its zone (zone_dataset_visible).
fn visible_in(st: &State, jid: Jid, name: &str) -> bool {
    st.jails.get(&jid).is_some_and(|j| {
        j.zone.iter().any(|n| n == name || name.strip_prefix(n.as_str()).is_some_and(|r| r.starts_with('/')))
    })
}

/// What root inside jail `jid` gets from `zfs mount NAME`: the dataset (or
/// one below it) must be attached to the jail, `jailed=on`, and the jail
/// needs allow.mount, allow.mount.zfs and enforce_statfs below 2 (EPERM
/// otherwise). It is mounted at its `mountpoint` inside the jail's root.
pub fn mount_in_jail(
    st: &mut State,
    cfg: &SimConfig,
    paths: &Paths,
    jid: Jid,
    name: &str,
    root: &Path,
) -> Result<(), Refusal> {
    let j = st.jails.get(&jid).ok_or_else(|| no(Errno::ENOENT, format!("jail {jid} does not exist")))?;
    if !j.flag("allow.mount") || !j.flag("allow.mount.zfs") {
        return Err(no(Errno::EPERM, "mounting ZFS in a jail needs allow.mount and allow.mount.zfs"));
    }
    // Every live jail has enforce_statfs (set at creation).
    if j.int("enforce_statfs") >= 2 {
        return Err(no(Errno::EPERM, "mounting ZFS in a jail needs enforce_statfs below 2"));
    }
    if !visible_in(st, jid, name) || !st.datasets.contains_key(name) {
        return Err(no(Errno::EPERM, format!("'{name}' is not attached to jail {jid}")));
    }
    if effective(st, cfg, name, "jailed") != "on" {
        return Err(no(Errno::EPERM, format!("'{name}' is not jailed=on")));
    }
    if st.datasets.get(name).is_some_and(|d| d.mounted.is_some()) {
        return Err(no(Errno::EBUSY, format!("'{name}' is already mounted")));
    }
    let mp = effective(st, cfg, name, "mountpoint");
    let inside = Path::new(&mp).strip_prefix("/").unwrap_or(Path::new(&mp)).to_path_buf();
    mount_at(st, paths, name, &root.join(inside))
}

/// Unmounting the mount entry of a dataset.
pub fn unmount_request(st: &mut State, paths: &Paths, name: &str) -> Result<(), Refusal> {
    unmount_ds(st, paths, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_dataset_never_inherits_what_a_killed_operation_left() {
        // A clone killed half-way wrote files under the guid it drew but
        // never saved; the next dataset draws the same guid.
        let dir = tempfile::tempdir().expect("tempdir");
        let simdir = dir.path().join(".sim");
        let paths = Paths { root: dir.path(), simdir: &simdir };
        let mut st = State { next_guid: 7, ..State::default() };
        let leftover = paths.stash(8).join("etc");
        std::fs::create_dir_all(&leftover).expect("mkdir");
        std::fs::write(leftover.join("half"), b"x").expect("write");
        let ds = new_dataset(&mut st, &paths, BTreeMap::new(), None, false).expect("new");
        assert_eq!(ds.guid, 8);
        assert!(!paths.stash(8).exists(), "its storage starts empty");
    }

    #[test]
    fn names_follow_zfs_namecheck() {
        for good in ["zroot", "zroot/brig/jails/web-1", "zroot/a_b.c:d", "zroot/r@base"] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in
            ["", "/zroot", "zroot/", "zroot//a", "zroot/a@b@c", "zroot/a@b/c", "zroot/a$", "zroot/..", "zroot/a@%"]
        {
            assert_eq!(check_name(bad).map_err(|e| e.0), Err(Errno::EINVAL), "{bad}");
        }
        assert_eq!(check_name(&format!("zroot/{}", "x".repeat(250))).map_err(|e| e.0), Err(Errno::EINVAL));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("1.5K"), Some(1536));
        assert_eq!(parse_size("10GB"), Some(10 << 30));
        assert_eq!(parse_size("none"), Some(0));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("-1"), None);
    }

    #[test]
    fn user_property_names() {
        assert!(is_user_prop("brig:release"));
        assert!(!is_user_prop("brig"));
        assert!(!is_user_prop("Brig:Release"));
    }
}
