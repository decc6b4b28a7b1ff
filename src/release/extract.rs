//! Unpacking a `.txz` distribution set in-process (xz + tar, no tar(1)),
//! safely: every entry is written beneath the target through
//! [`crate::state::beneath`], so an absolute path, a `..` or a path through a
//! symlink the archive itself planted is refused rather than followed.
//! Modes (setuid included), owners, symlinks and hard links are kept.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::ReleaseError;
use crate::model::release::Budget;
use crate::state::beneath::{self, Root};

/// What an extraction wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    /// Every entry as `tar tvf` lists it (MANIFEST's count): the root
    /// itself and skipped ones included, pax and GNU headers not.
    pub entries: u64,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    /// Device nodes and FIFOs, not made: devfs provides devices in a jail.
    pub skipped: Vec<PathBuf>,
    pub bytes: u64,
}

/// Unpacks an xz-compressed tar archive beneath `root`, within `budget`
/// (what it used is taken off). Checks `stop` between entries so Ctrl-C
/// ends it promptly.
pub fn extract_txz(archive: &Path, root: &Root, budget: &mut Budget, stop: &AtomicBool) -> Result<Stats, ReleaseError> {
    let file = std::fs::File::open(archive).map_err(|e| ReleaseError::Io { path: archive.to_path_buf(), source: e })?;
    let xz = lzma_rust2::XzReader::new(std::io::BufReader::new(file), true);
    extract_tar(xz, &archive.display().to_string(), root, budget, stop)
}

/// Unpacks a tar stream beneath `root`; `name` names the archive in errors.
pub fn extract_tar(
    reader: impl Read,
    name: &str,
    root: &Root,
    budget: &mut Budget,
    stop: &AtomicBool,
) -> Result<Stats, ReleaseError> {
    let broken = |e: std::io::Error| ReleaseError::Archive { archive: name.to_string(), why: e.to_string() };
    let unsafe_entry = |e: beneath::BeneathError| ReleaseError::Unsafe { archive: name.to_string(), source: e };
    let over = |what: &str, max: u64| {
        ReleaseError::Archive {
        archive: name.to_string(),
        why: format!("unpacks to more than {max} {what}, the most brig accepts for a release ([fetch] in brig.toml); nothing was kept"),
    }
    };
    let (max_bytes, max_entries) = (budget.bytes, budget.entries);
    let mut archive = tar::Archive::new(reader);
    let mut stats = Stats::default();
    for entry in archive.entries().map_err(broken)? {
        if stop.load(Ordering::Relaxed) {
            return Err(ReleaseError::Interrupted);
        }
        let mut entry = entry.map_err(broken)?;
        let path: PathBuf = entry.path().map_err(broken)?.into_owned();
        budget.entries = budget.entries.checked_sub(1).ok_or_else(|| over("entries", max_entries))?;
        stats.entries += 1;
        // Refuse absolute paths and `..` before anything is created.
        let comps = beneath::components(&path).map_err(unsafe_entry)?;
        if comps.is_empty() {
            // "./": the root itself.
            continue;
        }
        let header = entry.header();
        let mode = header.mode().map_err(broken)?;
        let uid = u32::try_from(header.uid().map_err(broken)?).unwrap_or(0);
        let gid = u32::try_from(header.gid().map_err(broken)?).unwrap_or(0);
        let kind = header.entry_type();
        match kind {
            tar::EntryType::Directory => {
                root.create_dir(&path, 0o755).map_err(unsafe_entry)?;
                root.set_owner_mode(&path, uid, gid, Some(mode)).map_err(unsafe_entry)?;
                stats.dirs += 1;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                // The header's size is the archive's word: count what is
                // really written, and stop one byte past the budget.
                let mut out = root.create_file(&path, 0o600).map_err(unsafe_entry)?;
                let n = std::io::copy(&mut (&mut entry).take(budget.bytes + 1), &mut out).map_err(broken)?;
                budget.bytes = budget.bytes.checked_sub(n).ok_or_else(|| over("bytes", max_bytes))?;
                drop(out);
                root.set_owner_mode(&path, uid, gid, Some(mode)).map_err(unsafe_entry)?;
                stats.files += 1;
                stats.bytes += n;
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(broken)?
                    .ok_or_else(|| broken(std::io::Error::other(format!("symlink {} has no target", path.display()))))?
                    .into_owned();
                root.symlink(&path, &target).map_err(unsafe_entry)?;
                root.set_owner_mode(&path, uid, gid, None).map_err(unsafe_entry)?;
                stats.symlinks += 1;
            }
            tar::EntryType::Link => {
                let existing = entry
                    .link_name()
                    .map_err(broken)?
                    .ok_or_else(|| {
                        broken(std::io::Error::other(format!("hard link {} has no target", path.display())))
                    })?
                    .into_owned();
                root.hard_link(&existing, &path).map_err(unsafe_entry)?;
                stats.hardlinks += 1;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => stats.skipped.push(path),
            // Metadata entries the tar crate has already applied to the
            // next entry (pax, GNU long names).
            tar::EntryType::XHeader
            | tar::EntryType::XGlobalHeader
            | tar::EntryType::GNULongName
            | tar::EntryType::GNULongLink => {
                // Not an entry of its own (tar tvf does not list it).
                budget.entries += 1;
                stats.entries -= 1;
            }
            other => {
                return Err(ReleaseError::Archive {
                    archive: name.to_string(),
                    why: format!("{}: unsupported entry type {other:?}", path.display()),
                })
            }
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// path, kind, contents, link target, mode
    type Entry<'a> = (&'a str, tar::EntryType, &'a [u8], Option<&'a str>, u32);

    /// A tar stream built by hand so tests can include entries a polite
    /// tar writer would refuse (absolute paths, `..`).
    fn tar_of(entries: &[Entry]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, kind, data, link, mode) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_mode(*mode);
            // Owned by 1001:2002 unless root's (the setuid file).
            let owner = if *mode & 0o4000 != 0 { 0 } else { 1001 };
            h.set_uid(owner);
            h.set_gid(owner * 2);
            h.set_size(data.len() as u64);
            // Write the name bytes directly: set_path refuses `..` and
            // absolute paths, which these tests need.
            let name = &mut h.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            if let Some(l) = link {
                let ln = &mut h.as_old_mut().linkname;
                ln[..l.len()].copy_from_slice(l.as_bytes());
            }
            h.set_cksum();
            b.append(&h, *data).expect("append");
        }
        b.into_inner().expect("finish")
    }

    const ROOMY: Budget = Budget { bytes: 1 << 20, entries: 100 };

    fn within(entries: &[Entry], budget: Budget) -> (tempfile::TempDir, Result<Stats, ReleaseError>) {
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(t.path().join("root")).expect("mkdir");
        let root = Root::open(&t.path().join("root")).expect("root");
        let mut left = budget;
        let r =
            extract_tar(std::io::Cursor::new(tar_of(entries)), "test.tar", &root, &mut left, &AtomicBool::new(false));
        (t, r)
    }

    fn run(entries: &[Entry]) -> (tempfile::TempDir, Result<Stats, ReleaseError>) {
        within(entries, ROOMY)
    }

    #[test]
    fn an_archive_that_unpacks_past_the_budget_is_refused() {
        let big = [7u8; 3000];
        let (_, r) = within(&[("a", F, &big, None, 0o644)], Budget { bytes: 2000, entries: 10 });
        let e = r.expect_err("too many bytes");
        assert!(e.to_string().contains("unpacks to more than 2000 bytes"), "{e}");
        let many: Vec<Entry> = ["a", "b", "c"].iter().map(|n| (*n, F, &b"x"[..], None, 0o644)).collect();
        let (_, r) = within(&many, Budget { bytes: 2000, entries: 2 });
        assert!(r.expect_err("too many entries").to_string().contains("unpacks to more than 2 entries"));
        let (_, r) = within(&many, Budget { bytes: 2000, entries: 3 });
        assert_eq!(r.expect("fits").entries, 3, "as tar tvf counts");
    }

    use tar::EntryType::{Directory as D, Link as L, Regular as F, Symlink as S};

    #[test]
    fn keeps_files_modes_symlinks_and_hard_links() {
        let (t, r) = run(&[
            ("bin/", D, b"", None, 0o755),
            ("bin/sh", F, b"#!shell", None, 0o555),
            ("usr/bin/su", F, b"su", None, 0o4555),
            ("bin/rsh", L, b"", Some("bin/sh"), 0o555),
            ("sys", S, b"", Some("usr/src/sys"), 0o777),
        ]);
        let stats = r.expect("extracts");
        assert_eq!((stats.files, stats.dirs, stats.symlinks, stats.hardlinks), (2, 1, 1, 1));
        let root = t.path().join("root");
        let su = std::fs::metadata(root.join("usr/bin/su")).expect("su");
        assert_eq!(su.mode() & 0o7777, 0o4555, "setuid bit kept");
        if nix::unistd::geteuid().is_root() {
            let sh = std::fs::metadata(root.join("bin/sh")).expect("sh");
            assert_eq!((sh.uid(), sh.gid(), su.uid()), (1001, 2002, 0), "owners kept");
        }
        assert_eq!(std::fs::read_link(root.join("sys")).expect("link"), Path::new("usr/src/sys"));
        let sh = std::fs::metadata(root.join("bin/sh")).expect("sh");
        assert_eq!(sh.ino(), std::fs::metadata(root.join("bin/rsh")).expect("rsh").ino(), "hard link");
    }

    #[test]
    fn refuses_absolute_paths_and_dotdot() {
        let (t, r) = run(&[("../escape", F, b"x", None, 0o644)]);
        assert!(r.expect_err("dotdot").to_string().contains("'..' would leave the tree"));
        assert!(!t.path().join("escape").exists());
        let (_, r) = run(&[("/etc/passwd", F, b"x", None, 0o644)]);
        assert!(r.expect_err("absolute").to_string().contains("absolute paths are not allowed"));
    }

    #[test]
    fn refuses_to_write_through_a_symlink_it_planted() {
        let t = tempfile::tempdir().expect("tempdir");
        let outside = t.path().join("outside");
        std::fs::create_dir(&outside).expect("mkdir");
        let link_target = outside.display().to_string();
        let (t2, r) = run(&[("etc", S, b"", Some(&link_target), 0o777), ("etc/passwd", F, b"pwned", None, 0o644)]);
        let e = r.expect_err("through a symlink");
        assert!(e.to_string().contains("etc/passwd: a component is a symbolic link"), "{e}");
        assert!(!outside.join("passwd").exists());
        drop(t2);
        // A link planted at the final component is not followed either.
        let (_, r) = run(&[("f", S, b"", Some(&format!("{link_target}/x")), 0o777), ("f", F, b"pwned", None, 0o644)]);
        assert!(r.is_err());
        assert!(!outside.join("x").exists());
        // Nor a hard link to something outside.
        let (_, r) = run(&[("h", L, b"", Some("../../etc/passwd"), 0o644)]);
        assert!(r.is_err());
    }

    #[test]
    fn stops_when_asked() {
        let t = tempfile::tempdir().expect("tempdir");
        let root = Root::open(t.path()).expect("root");
        let data = tar_of(&[("a", F, b"x", None, 0o644)]);
        let r = extract_tar(std::io::Cursor::new(data), "t", &root, &mut ROOMY.clone(), &AtomicBool::new(true));
        assert!(matches!(r, Err(ReleaseError::Interrupted)));
    }
}
