//! Files: release archives unpacked into a dataset, trees copied, files
//! inside a jail root written without following the jail's symlinks, and
//! brig's own files on the host (definitions, records, directories).

use std::path::{Path, PathBuf};

use super::{Notice, StepError};
use crate::host::Host;
use crate::model::release::{Archive, Budget};
use crate::model::DatasetName;
use crate::state::beneath::Root;
use crate::state::bounded::CONFIG_LIMIT;

/// How a file step is taken back (paths of the managed machine).
pub(super) enum Undo {
    Chmod(PathBuf, u32),
    RemoveDirs(Vec<PathBuf>),
    /// The old contents and mode, or None when there was no file.
    Restore(PathBuf, Option<(Vec<u8>, u32)>),
}

pub(super) fn undo(host: &dyn Host, u: Undo) -> Result<(), StepError> {
    match u {
        Undo::Chmod(p, mode) => host.set_dir_mode(&p, mode).map_err(io(host, &p)),
        Undo::RemoveDirs(dirs) => dirs.iter().rev().try_for_each(|d| host.remove_dir(d).map_err(io(host, d))),
        Undo::Restore(p, Some((old, mode))) => host.write_file(&p, &old, mode).map_err(io(host, &p)),
        Undo::Restore(p, None) => host.remove_file(&p).map_err(io(host, &p)),
    }
}

/// An I/O failure at `path` of the machine, named as the host shows it.
pub(super) fn io<'a>(host: &'a dyn Host, path: &'a Path) -> impl FnOnce(std::io::Error) -> StepError + 'a {
    move |source| StepError::Io { path: host.local_path(path), source }
}

/// The root directory of a mounted dataset, opened for symlink-safe work.
pub(super) fn dataset_root(host: &dyn Host, dataset: &DatasetName) -> Result<Root, StepError> {
    let mp = host.zfs_get(dataset.as_str(), &["mountpoint"])?.remove("mountpoint").unwrap_or_default();
    Ok(host.open_root(Path::new(&mp))?)
}

/// Unpacks each archive into the dataset, within `budget`, checking that
/// each holds as many entries as its MANIFEST says.
pub(super) fn extract(
    host: &dyn Host,
    dataset: &DatasetName,
    archives: &[Archive],
    budget: Budget,
    notices: &mut Vec<Notice>,
) -> Result<(), StepError> {
    let root = dataset_root(host, dataset)?;
    let mut left = budget;
    for a in archives {
        let stats = crate::release::extract::extract_txz(&a.path, &root, &mut left, crate::release::interrupt::flag())?;
        let name = a.path.display().to_string();
        if let Some(want) = a.entries.filter(|w| *w != stats.entries) {
            return Err(crate::release::ReleaseError::Archive {
                archive: name,
                why: format!(
                    "unpacked to {} entries, but MANIFEST says it holds {want}; the archive does not match its MANIFEST",
                    stats.entries
                ),
            }
            .into());
        }
        if let Some(first) = stats.skipped.first() {
            notices.push(Notice::NodesNotMade { archive: name, count: stats.skipped.len(), first: first.clone() });
        }
    }
    Ok(())
}

/// pkg(8) fills the dataset; its root must then say `release` in
/// /bin/freebsd-version (a repository of another release must not pass).
pub(super) fn install_packages(
    host: &mut dyn Host,
    dataset: &DatasetName,
    job: &crate::host::PkgBaseJob,
    release: &str,
) -> Result<(), StepError> {
    let mp = host.zfs_get(dataset.as_str(), &["mountpoint"])?.remove("mountpoint").unwrap_or_default();
    let job = crate::host::PkgBaseJob { root: PathBuf::from(&mp), ..job.clone() };
    host.pkg_base(&job)?;
    match crate::release::userland(&host.open_root(Path::new(&mp))?)? {
        Some(v) if v.release == release => Ok(()),
        other => Err(StepError::Refused(format!(
            "the packages installed a userland that says {}, not {release}",
            other.map_or_else(|| "no version in /bin/freebsd-version".to_string(), |v| v.to_string())
        ))),
    }
}

pub(super) fn copy_tree(host: &dyn Host, from: &DatasetName, to: &DatasetName) -> Result<(), StepError> {
    let src = dataset_root(host, from)?;
    dataset_root(host, to)?.copy_tree_from(src.path())?;
    Ok(())
}

pub(super) fn copy_dir(host: &dyn Host, from: &Path, to: &DatasetName) -> Result<(), StepError> {
    dataset_root(host, to)?.copy_tree_from(&host.local_path(from))?;
    Ok(())
}

pub(super) fn set_rc_conf(host: &dyn Host, dataset: &DatasetName, vars: &[(String, String)]) -> Result<(), StepError> {
    let root = dataset_root(host, dataset)?;
    let rc = Path::new("etc/rc.conf");
    let text = root.read_to_string(rc)?.unwrap_or_default();
    root.write_atomic(rc, set_rc_vars(&text, vars).as_bytes(), 0o644)?;
    Ok(())
}

/// rc.conf with `NAME="VALUE"` set for each var: an existing assignment is
/// replaced in place, a new one appended; everything else is kept.
pub fn set_rc_vars(text: &str, vars: &[(String, String)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for (k, v) in vars {
        let line = format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
        let prefix = format!("{k}=");
        match lines.iter_mut().find(|l| l.trim_start().starts_with(&prefix)) {
            Some(l) => *l = line,
            None => lines.push(line),
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// A host file into the jail root, with its mode. A host without the file
/// (no /etc/localtime means UTC) gives the jail none either.
pub(super) fn copy_into_jail(host: &dyn Host, dataset: &DatasetName, from: &Path, to: &Path) -> Result<(), StepError> {
    let data = match host.read_file(from, CONFIG_LIMIT) {
        Ok(d) => d,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(io(host, from)(e.into())),
    };
    let mode = host.file_mode(from).map_err(io(host, from))? & 0o777;
    let rel = to.strip_prefix("/").unwrap_or(to);
    dataset_root(host, dataset)?.write_atomic(rel, &data, mode)?;
    Ok(())
}

pub(super) fn remove(host: &dyn Host, path: &Path) -> Result<(), StepError> {
    host.remove_file(path).map_err(io(host, path))
}

pub(super) fn chmod(host: &dyn Host, path: &Path, mode: u32) -> Result<Undo, StepError> {
    let old = host.file_mode(path).map_err(io(host, path))?;
    host.set_dir_mode(path, mode).map_err(io(host, path))?;
    Ok(Undo::Chmod(path.to_path_buf(), old))
}

/// The directory and its missing parents, each with `mode`; undone by
/// removing the ones it made.
pub(super) fn make_dir(host: &dyn Host, path: &Path, mode: u32) -> Result<Undo, StepError> {
    Ok(Undo::RemoveDirs(host.make_dirs(path, mode).map_err(io(host, path))?))
}

/// Replaces the file atomically; undone by putting the old one back.
pub(super) fn write(host: &dyn Host, path: &Path, contents: &str, mode: u32) -> Result<Undo, StepError> {
    let old = match host.read_file(path, CONFIG_LIMIT) {
        Ok(b) => Some((b, host.file_mode(path).map_err(io(host, path))?)),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(io(host, path)(e.into())),
    };
    // Missing parents (/var/db/brig/started on first use) are made
    // private; they stay when the write is undone.
    if let Some(parent) = path.parent() {
        host.make_dirs(parent, 0o700).map_err(io(host, parent))?;
    }
    host.write_file(path, contents.as_bytes(), mode).map_err(io(host, path))?;
    Ok(Undo::Restore(path.to_path_buf(), old))
}
