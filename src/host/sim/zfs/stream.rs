//! `zfs send` and `zfs receive` on the simulated machine. A sim stream is
//! a header line, then a snapshot's files (a line describing each, a
//! file's bytes after its line), then a line with the SHA-256 of all of
//! that, so that, as with ZFS's own streams, a stream that is cut short or
//! altered is refused whole. ZFS knows an incremental
//! stream's source by its guid, which a received snapshot keeps; the sim
//! knows it by name and creation time, which a received snapshot keeps
//! too (a sim's guids are its own).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::files::{copy_tree, other_mount_dirs};
use super::names::check_name;
use super::ops::{clear_tree, create, dataset_files, snapshots_of};
use super::{io, no, Paths};
use crate::host::sim::config::SimConfig;
use crate::host::sim::jail::Refusal;
use crate::host::sim::state::State;

const MAGIC: &str = "brig-sim-zfs-stream 1";
/// The longest line a receive reads.
const MAX_LINE: u64 = 64 * 1024;

/// A snapshot as a stream names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    name: String,
    creation: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    magic: String,
    snapshot: Identity,
    /// The snapshot an incremental stream starts from.
    from: Option<Identity>,
    /// `from` is the origin of the snapshot's filesystem, not one of its
    /// own snapshots (dmu_send sets DRR_FLAG_CLONE).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    clone: bool,
}

/// One entry of a stream: a directory, a file (its bytes follow) or a
/// symbolic link, by its path relative to the dataset's root.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t")]
enum Entry {
    #[serde(rename = "d")]
    Dir { p: String, m: u32 },
    #[serde(rename = "f")]
    File { p: String, m: u32, n: u64 },
    #[serde(rename = "l")]
    Link { p: String, to: String },
    #[serde(rename = "end")]
    End { sha256: String },
}

fn write_err(e: std::io::Error) -> Refusal {
    (Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)), format!("writing the stream: {e}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `bytes` to `out` and into `hash`.
fn put(out: &mut dyn Write, hash: &mut Sha256, bytes: &[u8]) -> Result<(), Refusal> {
    hash.update(bytes);
    out.write_all(bytes).map_err(write_err)
}

fn put_entry(out: &mut dyn Write, hash: &mut Sha256, e: &Entry) -> Result<(), Refusal> {
    let mut line = serde_json::to_vec(e).map_err(|e| no(Errno::EIO, e.to_string()))?;
    line.push(b'\n');
    put(out, hash, &line)
}

/// The entries of a tree, parents before children, in name order.
fn walk(root: &Path, dir: &Path, out: &mut dyn Write, hash: &mut Sha256) -> Result<(), Refusal> {
    use std::os::unix::fs::PermissionsExt;
    let mut entries: Vec<_> = std::fs::read_dir(dir).map_err(|e| io(e, dir))?.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
        let m = std::fs::symlink_metadata(&path).map_err(|e| io(e, &path))?;
        let mode = m.permissions().mode() & 0o7777;
        if m.file_type().is_symlink() {
            let to = std::fs::read_link(&path).map_err(|e| io(e, &path))?.to_string_lossy().into_owned();
            put_entry(out, hash, &Entry::Link { p: rel, to })?;
        } else if m.is_dir() {
            put_entry(out, hash, &Entry::Dir { p: rel, m: mode })?;
            walk(root, &path, out, hash)?;
        } else if m.is_file() {
            put_entry(out, hash, &Entry::File { p: rel, m: mode, n: m.len() })?;
            let mut f = std::fs::File::open(&path).map_err(|e| io(e, &path))?;
            let mut w = HashingWriter { inner: &mut *out, hash };
            std::io::copy(&mut (&mut f).take(m.len()), &mut w).map_err(write_err)?;
        }
    }
    Ok(())
}

struct HashingWriter<'a> {
    inner: &'a mut dyn Write,
    hash: &'a mut Sha256,
}

impl Write for HashingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `zfs send [-i FROM] SNAP` (lzc_send): ENOENT for a snapshot that does
/// not exist; EXDEV when `from` is neither an earlier snapshot of the
/// same dataset nor its origin's (dmu_send: dsl_dataset_is_before).
pub fn send(st: &State, paths: &Paths, snap: &str, from: Option<&str>, out: &mut dyn Write) -> Result<(), Refusal> {
    check_name(snap)?;
    let Some((fs, name)) = snap.split_once('@') else {
        return Err(no(Errno::EINVAL, format!("'{snap}' is not a snapshot name")));
    };
    let Some(ds) = st.datasets.get(snap) else {
        return Err(no(Errno::ENOENT, format!("snapshot does not exist: {snap}")));
    };
    let clone = from.is_some_and(|f| !f.starts_with(&format!("{fs}@")));
    let from = match from {
        None => None,
        Some(f) => {
            let Some(fd) = st.datasets.get(f).filter(|d| d.snapshot) else {
                return Err(no(Errno::ENOENT, format!("snapshot does not exist: {f}")));
            };
            if !super::diff::is_before(st, snap, f) {
                return Err(no(Errno::EXDEV, format!("{f} is not an earlier snapshot of {fs} or of its origin")));
            }
            let fname = f.split_once('@').map_or("", |(_, n)| n);
            Some(Identity { name: fname.to_string(), creation: fd.creation })
        }
    };
    let header = Header {
        magic: MAGIC.into(),
        snapshot: Identity { name: name.to_string(), creation: ds.creation },
        from,
        clone,
    };
    let mut hash = Sha256::new();
    let mut line = serde_json::to_vec(&header).map_err(|e| no(Errno::EIO, e.to_string()))?;
    line.push(b'\n');
    put(out, &mut hash, &line)?;
    let store = paths.snapshot_store(ds.guid);
    if store.is_dir() {
        walk(&store, &store, out, &mut hash)?;
    }
    let sum = hex(&hash.finalize());
    let mut end = serde_json::to_vec(&Entry::End { sha256: sum }).map_err(|e| no(Errno::EIO, e.to_string()))?;
    end.push(b'\n');
    out.write_all(&end).map_err(write_err)
}

/// A line of a stream, at most MAX_LINE bytes.
fn line(reader: &mut dyn BufRead, hash: Option<&mut Sha256>) -> Result<Vec<u8>, Refusal> {
    let mut buf = Vec::new();
    reader.take(MAX_LINE).read_until(b'\n', &mut buf).map_err(|e| bad(&e.to_string()))?;
    if !buf.ends_with(b"\n") {
        return Err(bad("the stream ends early"));
    }
    if let Some(h) = hash {
        h.update(&buf);
    }
    Ok(buf)
}

fn bad(why: &str) -> Refusal {
    no(Errno::EINVAL, format!("invalid stream: {why}"))
}

/// A path of a stream entry, inside `root`: relative, of plain names, not
/// through a symbolic link an earlier entry made, and new (an entry
/// named twice would write through what the first made).
fn inside(root: &Path, p: &str) -> Result<std::path::PathBuf, Refusal> {
    let rel = Path::new(p);
    let plain = rel.components().all(|c| matches!(c, std::path::Component::Normal(_)));
    if p.is_empty() || !plain {
        return Err(bad(&format!("entry path {p:?}")));
    }
    let mut at = root.to_path_buf();
    for c in rel.parent().into_iter().flat_map(Path::components) {
        at.push(c);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| !m.is_dir()) {
            return Err(bad(&format!("entry path {p:?} goes through a link")));
        }
    }
    let at = root.join(rel);
    if std::fs::symlink_metadata(&at).is_ok() {
        return Err(bad(&format!("entry path {p:?} comes twice")));
    }
    Ok(at)
}

/// Reads a stream's files into `into`, checking its checksum: EINVAL for
/// a stream that is not one, ends early or does not match its checksum
/// (ZFS: bad magic, ZFS_ERR_STREAM_TRUNCATED, ECKSUM).
fn unpack(input: &mut dyn Read, into: &Path) -> Result<Header, Refusal> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut reader = BufReader::new(input);
    let mut hash = Sha256::new();
    let first = line(&mut reader, Some(&mut hash))?;
    let header: Header = serde_json::from_slice(&first).map_err(|_| bad("bad magic number"))?;
    if header.magic != MAGIC {
        return Err(bad("bad magic number"));
    }
    loop {
        let raw = line(&mut reader, None)?;
        let entry: Entry = serde_json::from_slice(&raw).map_err(|_| bad("an entry does not read"))?;
        if let Entry::End { sha256 } = &entry {
            if *sha256 != hex(&hash.clone().finalize()) {
                return Err(bad("checksum mismatch"));
            }
            return Ok(header);
        }
        hash.update(&raw);
        let fail = |e: std::io::Error| bad(&e.to_string());
        match entry {
            Entry::Dir { p, m } => {
                let at = inside(into, &p)?;
                std::fs::create_dir(&at).map_err(fail)?;
                std::fs::set_permissions(&at, std::fs::Permissions::from_mode(m & 0o7777)).map_err(fail)?;
            }
            Entry::File { p, m, n } => {
                let at = inside(into, &p)?;
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&at)
                    .map_err(fail)?;
                let mut src = HashingReader { inner: (&mut reader).take(n), hash: &mut hash };
                if std::io::copy(&mut src, &mut f).map_err(fail)? != n {
                    return Err(bad("the stream ends early"));
                }
                std::fs::set_permissions(&at, std::fs::Permissions::from_mode(m & 0o7777)).map_err(fail)?;
            }
            Entry::Link { p, to } => {
                let at = inside(into, &p)?;
                std::os::unix::fs::symlink(&to, &at).map_err(fail)?;
            }
            Entry::End { .. } => {}
        }
    }
}

struct HashingReader<'a, R> {
    inner: R,
    hash: &'a mut Sha256,
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// `zfs receive [-o PROP=VALUE...] FS@SNAP` (lzc_receive), checked as
/// dmu_recv_begin_check does: a full stream into a dataset that exists is
/// EEXIST, into a missing parent ENOENT; an incremental one needs the
/// dataset (ENOENT), its latest snapshot the stream's source (ENODEV),
/// and nothing changed since that snapshot (ETXTBSY). The stream is read
/// whole and checked before the dataset changes; then the dataset is made
/// (mounted as `zfs create` would) or updated, and snapshotted.
pub fn receive(
    st: &mut State,
    cfg: &SimConfig,
    paths: &Paths,
    snap: &str,
    props: &[(String, String)],
    input: &mut dyn Read,
) -> Result<(), Refusal> {
    check_name(snap)?;
    let Some((fs, name)) = snap.split_once('@') else {
        return Err(no(Errno::EINVAL, format!("'{snap}' is not a snapshot name")));
    };
    let staging = paths.simdir.join("receiving");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| io(e, &staging))?;
    let outcome = receive_staged(st, cfg, paths, fs, name, props, input, &staging);
    let _ = std::fs::remove_dir_all(&staging);
    outcome
}

#[allow(clippy::too_many_arguments)]
fn receive_staged(
    st: &mut State,
    cfg: &SimConfig,
    paths: &Paths,
    fs: &str,
    name: &str,
    props: &[(String, String)],
    input: &mut dyn Read,
    staging: &Path,
) -> Result<(), Refusal> {
    let header = unpack(input, staging)?;
    // dmu_recv_begin_check: a clone stream needs its origin given (brig
    // gives none), and never goes into a filesystem that exists.
    if header.clone {
        return Err(no(Errno::EINVAL, format!("cannot receive a clone stream into {fs}")));
    }
    if st.datasets.contains_key(&format!("{fs}@{name}")) {
        return Err(no(Errno::EEXIST, format!("destination snapshot {fs}@{name} exists")));
    }
    match &header.from {
        None => {
            if st.datasets.contains_key(fs) {
                return Err(no(Errno::EEXIST, format!("destination '{fs}' exists")));
            }
            create(st, cfg, paths, fs, props)?;
        }
        Some(from) => {
            let Some(ds) = st.datasets.get(fs).cloned() else {
                return Err(no(Errno::ENOENT, format!("destination '{fs}' does not exist")));
            };
            let prefix = format!("{fs}@{}", from.name);
            let latest =
                snapshots_of(st, fs).last().map(|(n, d)| (n.as_str() == prefix && d.creation == from.creation, d.guid));
            let Some((true, latest_guid)) = latest else {
                return Err(no(
                    Errno::ENODEV,
                    format!("most recent snapshot of {fs} does not match incremental source {}", from.name),
                ));
            };
            if !same_tree(&dataset_files(paths, &ds), &paths.snapshot_store(latest_guid)) {
                return Err(no(
                    Errno::ETXTBSY,
                    format!("destination {fs} has been modified since its most recent snapshot {}", from.name),
                ));
            }
        }
    }
    let ds = st.datasets.get(fs).cloned().ok_or_else(|| no(Errno::ENOENT, format!("dataset does not exist: {fs}")))?;
    let files = dataset_files(paths, &ds);
    let skip = other_mount_dirs(st, paths, ds.mounted.as_deref().unwrap_or(Path::new("")));
    clear_tree(&files, &skip).map_err(|e| io(e, &files))?;
    copy_tree(staging, &files, &skip).map_err(|e| io(e, &files))?;
    super::ops::snapshot_at(st, paths, &format!("{fs}@{name}"), header.snapshot.creation)
}

/// Whether two trees hold the same files with the same contents.
fn same_tree(a: &Path, b: &Path) -> bool {
    fn list(root: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for e in entries.flatten() {
                let p = e.path();
                let rel = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
                match std::fs::symlink_metadata(&p) {
                    Ok(m) if m.is_dir() => {
                        out.push((rel, Vec::new()));
                        stack.push(p);
                    }
                    Ok(m) if m.file_type().is_symlink() => out
                        .push((rel, std::fs::read_link(&p).unwrap_or_default().into_os_string().into_encoded_bytes())),
                    // Only regular files are read: a FIFO would block.
                    Ok(m) if m.is_file() => out.push((rel, std::fs::read(&p).unwrap_or_default())),
                    Ok(_) => out.push((rel, b"special".to_vec())),
                    Err(_) => {}
                }
            }
        }
        out.sort();
        out
    }
    list(a) == list(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream of `entries` (a file's bytes after its line), its sum right.
    fn stream(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let header = Header {
            magic: MAGIC.into(),
            snapshot: Identity { name: "s".into(), creation: 1 },
            from: None,
            clone: false,
        };
        let mut out = serde_json::to_vec(&header).expect("json");
        out.push(b'\n');
        for (line, bytes) in entries {
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
            out.extend_from_slice(bytes);
        }
        let sum = hex(&Sha256::digest(&out));
        out.extend_from_slice(format!("{{\"t\":\"end\",\"sha256\":\"{sum}\"}}\n").as_bytes());
        out
    }

    #[test]
    fn a_stream_never_writes_outside_where_it_is_received() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "safe").expect("write");
        let into = dir.path().join("into");
        let link = format!("{{\"t\":\"l\",\"p\":\"x\",\"to\":\"{}\"}}", victim.display());
        for (name, entries) in [
            (
                "a file through its own link",
                vec![(link.as_str(), &b""[..]), ("{\"t\":\"f\",\"p\":\"x\",\"m\":420,\"n\":4}", b"evil")],
            ),
            (
                "a file below a link",
                vec![(link.as_str(), &b""[..]), ("{\"t\":\"f\",\"p\":\"x/y\",\"m\":420,\"n\":4}", b"evil")],
            ),
            ("a path out", vec![("{\"t\":\"f\",\"p\":\"../victim\",\"m\":420,\"n\":4}", &b"evil"[..])]),
        ] {
            let _ = std::fs::remove_dir_all(&into);
            std::fs::create_dir_all(&into).expect("mkdir");
            let bytes = stream(&entries);
            assert!(unpack(&mut &bytes[..], &into).is_err(), "{name}");
            assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "safe", "{name}");
        }
        let _ = std::fs::remove_dir_all(&into);
        std::fs::create_dir_all(&into).expect("mkdir");
        let good = stream(&[
            ("{\"t\":\"d\",\"p\":\"etc\",\"m\":493}", b""),
            ("{\"t\":\"f\",\"p\":\"etc/motd\",\"m\":420,\"n\":2}", b"hi"),
        ]);
        unpack(&mut &good[..], &into).expect("an honest stream");
        assert_eq!(std::fs::read_to_string(into.join("etc/motd")).expect("motd"), "hi");
    }
}
