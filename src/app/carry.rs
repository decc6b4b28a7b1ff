//! Carrying a root's own changes onto another root: what `zfs diff`
//! says changed between the release snapshot a root started from and a
//! snapshot of that root is made so in a fresh clone of a newer release
//! snapshot. Files under /etc that both sides changed are merged three
//! ways, as etcupdate(8) does; a conflict is listed, never guessed.
//!
//! Every path is jail-controlled: sources are read and targets written
//! beneath their roots, following no symbolic link (`state::beneath`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{Error, Refused};
use crate::host::{FileKind, Host};
use crate::plan::upgrade::{carry as steps, merged, Step};
use crate::state::beneath::{BeneathError, EntryKind, Root};

/// What carrying did.
#[derive(Debug, Default)]
pub struct Carried {
    /// Entries copied or removed.
    pub changes: usize,
    /// /etc files both sides changed, merged.
    pub merged: Vec<String>,
    /// Files both sides changed that are not merged (outside /etc, or
    /// removed by the release): the root's own copy kept.
    pub kept: Vec<String>,
    /// /etc files whose changes clash: nothing was written for them.
    pub conflicts: Vec<String>,
}

/// The three roots of a carry, and the files with several names copied
/// so far.
struct Roots {
    /// The release snapshot the root started from.
    base: Root,
    /// The snapshot of the root.
    ours: Root,
    /// The root being changed.
    onto: Root,
    /// A hard-linked file of `ours` (by inode) and the first of its names
    /// copied onto `onto`: its other names become links to that one.
    linked: RefCell<HashMap<u64, PathBuf>>,
    /// The entries copied that have file flags, set once all is written.
    flagged: RefCell<Vec<(PathBuf, u32, bool)>>,
}

impl Roots {
    /// `rel` copied from `ours` onto `onto`; a file with several names
    /// whose first name is there already becomes a link to it.
    fn copy(&self, rel: &Path) -> Result<(), BeneathError> {
        let entry = self.ours.entry(rel)?;
        let shared = entry.filter(|e| e.kind == EntryKind::File && e.nlink > 1);
        let first = shared.and_then(|e| self.linked.borrow().get(&e.ino).cloned());
        self.onto.copy_entry_from(&self.ours, rel, first.as_deref())?;
        if let (Some(e), None) = (shared, first) {
            self.linked.borrow_mut().insert(e.ino, rel.to_path_buf());
        }
        if let Some(e) = entry.filter(|e| e.flags != 0) {
            self.flagged.borrow_mut().push((rel.to_path_buf(), e.flags, e.kind == EntryKind::Dir));
        }
        Ok(())
    }

    /// The file flags of what was copied, files first, then directories
    /// deepest first, as bsdtar's fixup pass does: an immutable entry
    /// takes no new name or entry after.
    fn set_flags(&self) -> Result<(), BeneathError> {
        let mut flagged = self.flagged.take();
        flagged.sort_by_key(|(p, _, dir)| (*dir, std::cmp::Reverse(p.components().count())));
        for (rel, flags, _) in flagged {
            self.onto.set_entry_flags(&rel, flags)?;
        }
        Ok(())
    }

    /// The other names of the hard-linked files copied: `zfs diff` lists
    /// a changed file under one name only (zfs_obj_to_path follows one
    /// parent), so every name `ours` has for it is linked to the copy,
    /// found in the directories that changed, or in the whole tree when
    /// some are still missing.
    fn relink(&self, changed_dirs: &[PathBuf]) -> Result<(), BeneathError> {
        if self.linked.borrow().is_empty() {
            return Ok(());
        }
        if self.relink_in(changed_dirs, false)? {
            let mut every = Vec::new();
            let mut stack = vec![PathBuf::new()];
            while let Some(dir) = stack.pop() {
                for n in self.ours.names(if dir.as_os_str().is_empty() { Path::new(".") } else { &dir })? {
                    let rel = dir.join(n);
                    if self.ours.entry(&rel)?.is_some_and(|e| e.kind == EntryKind::Dir) {
                        stack.push(rel);
                    }
                }
                every.push(dir);
            }
            self.relink_in(&every, true)?;
        }
        Ok(())
    }

    /// Links the names in `dirs`; whether some linked file still has
    /// names not seen (after a walk of the whole tree, nothing more can
    /// be found: those are outside it).
    fn relink_in(&self, dirs: &[PathBuf], whole: bool) -> Result<bool, BeneathError> {
        let linked = self.linked.borrow().clone();
        let mut seen: HashMap<u64, u64> = HashMap::new();
        for dir in dirs {
            let at = if dir.as_os_str().is_empty() { Path::new(".") } else { dir.as_path() };
            // A directory the diff listed may be gone by now (renamed).
            let root = dir.as_os_str().is_empty();
            if !root && !self.ours.entry(at)?.is_some_and(|e| e.kind == EntryKind::Dir) {
                continue;
            }
            for n in self.ours.names(at)? {
                let rel = dir.join(n);
                let Some(e) = self.ours.entry(&rel)?.filter(|e| e.kind == EntryKind::File && e.nlink > 1) else {
                    continue;
                };
                let Some(first) = linked.get(&e.ino) else { continue };
                *seen.entry(e.ino).or_insert(0) += 1;
                if *first == rel {
                    continue;
                }
                let same = match (self.onto.entry(first)?, self.onto.entry(&rel)?) {
                    (Some(a), Some(b)) => a.ino == b.ino,
                    _ => false,
                };
                if !same {
                    self.onto.copy_entry_from(&self.ours, &rel, Some(first))?;
                }
            }
        }
        if whole {
            return Ok(false);
        }
        let nlinks = |ino: &u64| linked.get(ino).and_then(|p| self.ours.entry(p).ok().flatten()).map_or(0, |e| e.nlink);
        Ok(linked.keys().any(|ino| seen.get(ino).copied().unwrap_or(0) < nlinks(ino)))
    }
}

fn beneath(root: &Path) -> impl Fn(BeneathError) -> Error + '_ {
    move |source| Refused::Beneath { root: root.to_path_buf(), source }.into()
}

/// Carries what changed from snapshot `from` to snapshot `to` onto the
/// mounted root at `onto` (a path of the machine). With `merge`, /etc
/// files both sides changed are merged three ways (and conflicts listed)
/// and other files both changed are listed as kept.
pub fn carry(host: &dyn Host, from: &str, to: &str, onto: &Path, merge: bool) -> Result<Carried, Error> {
    let diff = host.zfs_diff(from, to)?;
    let open = |dir: PathBuf| Root::open(&dir).map_err(|source| Error::from(Refused::Beneath { root: dir, source }));
    let roots = Roots {
        base: open(host.zfs_snapshot_files(from)?)?,
        ours: open(host.zfs_snapshot_files(to)?)?,
        onto: open(host.local_path(onto))?,
        linked: RefCell::new(HashMap::new()),
        flagged: RefCell::new(Vec::new()),
    };
    let fail = beneath(onto);
    let mut done = Carried::default();
    let mut changed_dirs = Vec::new();
    for step in steps(&diff) {
        match step {
            Step::Remove(p) => roots.onto.remove_all(&p).map_err(&fail)?,
            Step::CopyTree(p) => copy_tree(&roots, &p).map_err(&fail)?,
            Step::Copy { path, kind: FileKind::File, modified: true } if merge => {
                if !both_changed(&roots, &path).map_err(&fail)? {
                    roots.copy(&path).map_err(&fail)?;
                } else if merged(&path) && roots.onto.entry(&path).map_err(&fail)?.is_some() {
                    match merge_file(&roots, &path).map_err(&fail)? {
                        Merge::Clean => done.merged.push(path.display().to_string()),
                        Merge::Same => {}
                        Merge::Conflict => done.conflicts.push(path.display().to_string()),
                    }
                } else {
                    roots.copy(&path).map_err(&fail)?;
                    done.kept.push(path.display().to_string());
                }
            }
            Step::Copy { path, kind, .. } => match roots.ours.entry(&path).map_err(&fail)? {
                // Gone from the snapshot's view (a later rename moved
                // it): the rename's own entry carries it.
                None => continue,
                Some(_) => {
                    roots.copy(&path).map_err(&fail)?;
                    if kind == FileKind::Dir {
                        changed_dirs.push(path);
                    }
                }
            },
        }
        done.changes += 1;
    }
    // The root's own directory changes too when a name is added there.
    changed_dirs.push(PathBuf::new());
    roots.relink(&changed_dirs).map_err(&fail)?;
    roots.set_flags().map_err(&fail)?;
    Ok(done)
}

/// A directory and everything in it, copied entry by entry.
fn copy_tree(roots: &Roots, top: &Path) -> Result<(), BeneathError> {
    let mut stack = vec![top.to_path_buf()];
    while let Some(rel) = stack.pop() {
        roots.copy(&rel)?;
        if roots.ours.entry(&rel)?.is_some_and(|e| e.kind == EntryKind::Dir) {
            stack.extend(roots.ours.names(&rel)?.into_iter().map(|n| rel.join(n)));
        }
    }
    Ok(())
}

/// Whether the release changed a file the root changed too: the target
/// no longer holds the base's version.
fn both_changed(roots: &Roots, rel: &Path) -> Result<bool, BeneathError> {
    Ok(!same_file(&roots.base, &roots.onto, rel)?)
}

/// Whether `rel` is the same regular file (contents and mode) under both
/// roots; anything missing or not a file on either side is not.
fn same_file(a: &Root, b: &Root, rel: &Path) -> Result<bool, BeneathError> {
    let (Some(ea), Some(eb)) = (a.entry(rel)?, b.entry(rel)?) else { return Ok(false) };
    if ea.kind != EntryKind::File || eb.kind != EntryKind::File || ea.size != eb.size || ea.mode != eb.mode {
        return Ok(false);
    }
    let (mut fa, mut fb) = (a.open_file(rel)?, b.open_file(rel)?);
    let io = |e| BeneathError::from_io(rel, e);
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = read_full(&mut fa, &mut ba).map_err(io)?;
        let m = read_full(&mut fb, &mut bb).map_err(io)?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// Reads until `buf` is full or the file ends.
fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

enum Merge {
    Clean,
    /// Both made the same change.
    Same,
    Conflict,
}

/// base, ours and theirs of an /etc file merged line by line (diffy's
/// diff3); a file that is not text of at most 1 MiB on every side, or
/// whose changes overlap, is a conflict.
fn merge_file(roots: &Roots, rel: &Path) -> Result<Merge, BeneathError> {
    let read = |r: &Root| r.read_to_string(rel).ok().flatten();
    let (Some(base), Some(ours), Some(theirs)) = (read(&roots.base), read(&roots.ours), read(&roots.onto)) else {
        return Ok(Merge::Conflict);
    };
    if ours == theirs {
        return Ok(Merge::Same);
    }
    let Ok(text) = diffy::merge(&base, &ours, &theirs) else { return Ok(Merge::Conflict) };
    let Some(mine) = roots.ours.entry(rel)? else { return Ok(Merge::Conflict) };
    roots.onto.write_atomic(rel, text.as_bytes(), mine.mode)?;
    roots.onto.set_owner_mode(rel, mine.uid, mine.gid, Some(mine.mode))?;
    Ok(Merge::Clean)
}
