//! Carries out a plan against a `Host`. The only code that changes the
//! machine. Every finished step is remembered with how to undo it; when a
//! step fails, the finished steps are undone in reverse (as jail(8) walks
//! back its command list) and both the failure and any undo failure are
//! reported.

mod settle;

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::host::{Host, HostError, MountEntry};
use crate::plan::Op;
use crate::state::atomic;

/// Why a step failed.
#[derive(Debug, Error)]
pub enum StepError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Release(#[from] crate::release::ReleaseError),
    /// A command brig ran exited non-zero.
    #[error("exited with status {status}{}", if output.is_empty() { String::new() } else { format!(": {output}") })]
    Command { status: i32, output: String },
    #[error(transparent)]
    Beneath(#[from] crate::state::beneath::BeneathError),
    /// The machine is in a state brig will not act in.
    #[error("{0}")]
    Refused(String),
}

/// A plan that failed at `step`, after undoing what it had done.
#[derive(Debug, Error)]
#[error("{step} failed: {source}{}", undo_note(.undo_errors))]
pub struct ExecError {
    /// The step that failed, as the plan prints it.
    pub step: String,
    pub source: Box<StepError>,
    /// Undo steps that failed too: the machine may need a hand.
    pub undo_errors: Vec<StepError>,
}

fn undo_note(errors: &[StepError]) -> String {
    if errors.is_empty() {
        String::new()
    } else {
        let each: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!("; undoing the earlier steps also failed: {}", each.join("; "))
    }
}

/// How to take back one finished step.
enum Undo {
    Nothing,
    RemoveAlias(String, ipnet::IpNet),
    Unmount(MountEntry),
    RemoveJail(i32),
    UpdateJail(i32, Vec<crate::host::JailParam>),
    RemoveRctl(String),
    Detach(String, i32),
    Attach(String, i32),
    AddRctl(String),
    PinCpus(i32, Vec<u32>),
    DestroyDataset(String),
    Rename(String, String),
    SetProps(String, Vec<(String, String)>),
    Chmod(PathBuf, u32),
    RemoveDirs(Vec<PathBuf>),
    /// The old contents and mode, or None when there was no file.
    Restore(PathBuf, Option<(Vec<u8>, u32)>),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StepError + '_ {
    move |source| StepError::Io { path: path.to_path_buf(), source }
}

fn apply(host: &mut dyn Host, op: &Op, notices: &mut Vec<Notice>) -> Result<Undo, StepError> {
    match op {
        Op::CreateDataset { name, props } => {
            host.zfs_create(name.as_str(), props)?;
            Ok(Undo::DestroyDataset(name.to_string()))
        }
        Op::DestroyDataset { name, recursive } => {
            host.zfs_destroy(name.as_str(), *recursive)?;
            Ok(Undo::Nothing)
        }
        Op::Snapshot { dataset, snapshot } => {
            let full = format!("{dataset}@{snapshot}");
            host.zfs_snapshot(&full)?;
            Ok(Undo::DestroyDataset(full))
        }
        Op::Rename { from, to } => {
            host.zfs_rename(from.as_str(), to.as_str())?;
            Ok(Undo::Rename(to.to_string(), from.to_string()))
        }
        Op::Extract { dataset, archives, budget } => {
            let root = dataset_root(host, dataset)?;
            let mut left = *budget;
            for a in archives {
                let stats =
                    crate::release::extract::extract_txz(&a.path, &root, &mut left, crate::release::interrupt::flag())?;
                let name = a.path.display().to_string();
                if let Some(want) = a.entries.filter(|w| *w != stats.entries) {
                    return Err(crate::release::ReleaseError::Archive {
                        archive: name,
                        why: format!("unpacked to {} entries, but MANIFEST says it holds {want}; the archive does not match its MANIFEST", stats.entries),
                    }
                    .into());
                }
                if let Some(first) = stats.skipped.first() {
                    notices.push(Notice::NodesNotMade {
                        archive: name,
                        count: stats.skipped.len(),
                        first: first.clone(),
                    });
                }
            }
            Ok(Undo::Nothing)
        }
        Op::Clone { origin, name, props } => {
            host.zfs_clone(origin, name.as_str(), props)?;
            Ok(Undo::DestroyDataset(name.to_string()))
        }
        Op::CopyTree { from, to } => {
            let src = dataset_root(host, from)?;
            dataset_root(host, to)?.copy_tree_from(src.path())?;
            Ok(Undo::Nothing)
        }
        Op::SetRcConf { dataset, vars } => {
            let root = dataset_root(host, dataset)?;
            let rc = Path::new("etc/rc.conf");
            let text = root.read_to_string(rc)?.unwrap_or_default();
            root.write_atomic(rc, set_rc_vars(&text, vars).as_bytes(), 0o644)?;
            Ok(Undo::Nothing)
        }
        Op::CopyIntoJail { dataset, from, to } => {
            let local = host.local_path(from);
            let data = match std::fs::read(&local) {
                Ok(d) => d,
                // A host without the file (no /etc/localtime means UTC)
                // gives the jail none either.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Undo::Nothing),
                Err(e) => return Err(StepError::Io { path: local, source: e }),
            };
            let mode = std::fs::metadata(&local).map_err(io(&local))?.permissions().mode() & 0o777;
            let rel = to.strip_prefix("/").unwrap_or(to);
            dataset_root(host, dataset)?.write_atomic(rel, &data, mode)?;
            Ok(Undo::Nothing)
        }
        Op::AddAlias { interface, addr } => {
            // SIOCAIFADDR would quietly replace an address that is already
            // configured (in_aifaddr_ioctl), and brig would later remove
            // what was never its own.
            if let Some(owner) = host.interfaces()?.iter().find(|i| i.addrs.iter().any(|a| a.addr() == addr.addr())) {
                return Err(StepError::Refused(format!(
                    "{} is already configured on {}, and brig adds and removes only addresses it adds itself; choose another address, or leave out `interface` to use one the host has",
                    addr.addr(),
                    owner.name
                )));
            }
            host.addr_add(interface, *addr)?;
            Ok(Undo::RemoveAlias(interface.clone(), *addr))
        }
        Op::MountIn { dataset, fstype, source, target, readonly, options } => {
            let root = dataset_root(host, dataset)?;
            // Made or checked beneath the root: a jail that replaced the
            // mount point with a symlink cannot send the mount elsewhere.
            root.create_dir(target, 0o755)?;
            let mp = host.zfs_get(dataset.as_str(), &["mountpoint"])?.remove("mountpoint").unwrap_or_default();
            let full = Path::new(&mp).join(target);
            // Undone by its filesystem ID, like every unmount.
            let mounted = host.mount(&crate::host::MountRequest {
                fstype: fstype.clone(),
                source: source.clone(),
                target: full,
                readonly: *readonly,
                options: options.clone(),
            })?;
            Ok(Undo::Unmount(mounted))
        }
        Op::CheckRuleset { ruleset } => {
            if host.devfs_rules(*ruleset)? == 0 {
                return Err(StepError::Refused(format!(
                    "devfs ruleset {ruleset} is not loaded, and a /dev mounted with it would show the jail every device of the host, raw disks included; load it (define it in /etc/devfs.rules, keep devfs_load_rulesets=\"YES\" in rc.conf, then `service devfs restart`) or set devfs_ruleset to a loaded ruleset"
                )));
            }
            Ok(Undo::Nothing)
        }
        Op::Hook { command, .. } => {
            run_command(host, command, crate::host::Place::Host, false)?;
            Ok(Undo::Nothing)
        }
        Op::CreateJail { params } => {
            let jid = host.jail_set(params, crate::host::SetFlags::CREATE)?;
            Ok(Undo::RemoveJail(jid))
        }
        Op::UpdateJail { jid, params, old, .. } => {
            update_jail(host, *jid, params)?;
            Ok(Undo::UpdateJail(*jid, old.clone()))
        }
        Op::AttachDataset { dataset, jail } => {
            let jid = running_jid(host, jail)?;
            host.zfs_jail(dataset.as_str(), jid)?;
            Ok(Undo::Detach(dataset.to_string(), jid))
        }
        Op::DetachDataset { dataset, jail } => {
            let jid = running_jid(host, jail)?;
            match host.zfs_unjail(dataset.as_str(), jid) {
                Ok(()) => Ok(Undo::Attach(dataset.to_string(), jid)),
                // Not attached (someone ran zfs unjail, or the dataset is
                // gone): what this step wants is already true, and a stop
                // must not be blocked by it.
                Err(e) if e.errno == crate::host::Errno::ENOENT => Ok(Undo::Nothing),
                Err(e) => Err(e.into()),
            }
        }
        Op::AddRctl { rule } => {
            host.rctl_add(rule)?;
            Ok(Undo::RemoveRctl(rule.clone()))
        }
        Op::RemoveRctl { rule } => {
            host.rctl_remove(rule)?;
            Ok(Undo::AddRctl(rule.clone()))
        }
        Op::PinCpus { jail, cpus } => {
            let jid = running_jid(host, jail)?;
            let old = host.cpuset_get(jid)?;
            host.cpuset_set(jid, cpus)?;
            Ok(Undo::PinCpus(jid, old))
        }
        Op::ExecIn { jail, command, clean, .. } => {
            let jid = running_jid(host, jail)?;
            run_command(host, command, crate::host::Place::Jail(jid), *clean)?;
            Ok(Undo::Nothing)
        }
        Op::Terminate { jail, timeout } => {
            if let Some(j) = host.jail_find(jail)? {
                if host.jail_kill(j.jid, Some(nix::sys::signal::Signal::SIGTERM))? {
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(u64::from(*timeout));
                    while std::time::Instant::now() < deadline && host.jail_kill(j.jid, None)? {
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                }
            }
            Ok(Undo::Nothing)
        }
        Op::RemoveJail { jid, .. } => {
            settle::remove_jail(host, *jid)?;
            Ok(Undo::Nothing)
        }
        Op::AwaitDad { aliases } => {
            settle::await_dad(host, aliases)?;
            Ok(Undo::Nothing)
        }
        Op::AwaitGone { jid, .. } => {
            settle::await_gone(host, *jid)?;
            Ok(Undo::Nothing)
        }
        Op::Unmount { mount } => {
            settle::unmount(host, mount)?;
            Ok(Undo::Nothing)
        }
        Op::RemoveAlias { interface, addr } => {
            host.addr_remove(interface, *addr)?;
            Ok(Undo::Nothing)
        }
        Op::RemoveFile { path } => {
            let local = host.local_path(path);
            match std::fs::remove_file(&local) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(StepError::Io { path: local, source: e })
                }
                _ => {}
            }
            Ok(Undo::Nothing)
        }
        Op::SetProps { name, props } => {
            let keys: Vec<&str> = props.iter().map(|(k, _)| k.as_str()).collect();
            let old = host.zfs_get(name.as_str(), &keys)?;
            host.zfs_set(name.as_str(), props)?;
            Ok(Undo::SetProps(name.to_string(), old.into_iter().collect()))
        }
        Op::Chmod { path, mode } => {
            let local = host.local_path(path);
            let meta = std::fs::symlink_metadata(&local).map_err(io(&local))?;
            if !meta.is_dir() {
                return Err(StepError::Io { path: local, source: std::io::Error::other("not a directory") });
            }
            std::fs::set_permissions(&local, std::fs::Permissions::from_mode(*mode)).map_err(io(&local))?;
            Ok(Undo::Chmod(local, meta.permissions().mode() & 0o7777))
        }
        Op::MakeDir { path, mode } => {
            let local = host.local_path(path);
            let mut missing = Vec::new();
            let mut cur = local.as_path();
            while !cur.exists() {
                missing.push(cur.to_path_buf());
                match cur.parent() {
                    Some(p) => cur = p,
                    None => break,
                }
            }
            for dir in missing.iter().rev() {
                std::fs::create_dir(dir).map_err(io(dir))?;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(*mode)).map_err(io(dir))?;
            }
            Ok(Undo::RemoveDirs(missing))
        }
        Op::WriteFile { path, contents, mode } => {
            let local = host.local_path(path);
            let old = match std::fs::read(&local) {
                Ok(b) => {
                    let mode = std::fs::metadata(&local).map_err(io(&local))?.permissions().mode() & 0o7777;
                    Some((b, mode))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(StepError::Io { path: local, source: e }),
            };
            // Missing parents (/var/db/brig/started on first use) are made
            // private; they stay when the write is undone.
            if let Some(parent) = local.parent().filter(|p| !p.exists()) {
                std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent).map_err(io(parent))?;
            }
            atomic::write(&local, contents.as_bytes(), *mode).map_err(io(&local))?;
            Ok(Undo::Restore(local, old))
        }
    }
}

/// The jid of a jail that must be running.
fn running_jid(host: &dyn Host, jail: &str) -> Result<i32, StepError> {
    let j = host.jail_find(jail)?.ok_or_else(|| {
        StepError::Host(HostError::new("jail_get", crate::host::Errno::ENOENT, format!("jail {jail} is not running")))
    })?;
    Ok(j.jid)
}

/// jail_set(2) with JAIL_UPDATE of the jail `jid`.
fn update_jail(host: &mut dyn Host, jid: i32, params: &[crate::host::JailParam]) -> Result<(), StepError> {
    let mut p = vec![crate::host::JailParam::int("jid", jid)];
    p.extend_from_slice(params);
    host.jail_set(&p, crate::host::SetFlags::UPDATE)?;
    Ok(())
}

/// `/bin/sh -c COMMAND` on the host or in a jail; a non-zero status is a
/// failure carrying the last lines of its output.
fn run_command(host: &mut dyn Host, command: &str, place: crate::host::Place, clean: bool) -> Result<(), StepError> {
    let mut cmd = crate::host::Command::new("/bin/sh").args(["-c", command]);
    cmd.clean_env = clean;
    let out = host.spawn(&cmd, place)?;
    if out.status == 0 {
        return Ok(());
    }
    let text = String::from_utf8_lossy(if out.stderr.is_empty() { &out.stdout } else { &out.stderr }).into_owned();
    let tail: Vec<&str> = text.lines().rev().take(3).collect();
    let output = tail.into_iter().rev().collect::<Vec<_>>().join(" / ");
    Err(StepError::Command { status: out.status, output })
}

/// The root directory of a mounted dataset, opened for symlink-safe work.
fn dataset_root(
    host: &dyn Host,
    dataset: &crate::model::DatasetName,
) -> Result<crate::state::beneath::Root, StepError> {
    let mp = host.zfs_get(dataset.as_str(), &["mountpoint"])?.remove("mountpoint").unwrap_or_default();
    Ok(crate::state::beneath::Root::open(&host.local_path(Path::new(&mp)))?)
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

fn undo(host: &mut dyn Host, u: Undo) -> Result<(), StepError> {
    match u {
        Undo::Nothing => Ok(()),
        Undo::RemoveAlias(i, a) => Ok(host.addr_remove(&i, a)?),
        Undo::Unmount(t) => Ok(settle::unmount(host, &t)?),
        Undo::RemoveJail(jid) => Ok(settle::remove_jail(host, jid)?),
        Undo::UpdateJail(jid, old) => Ok(update_jail(host, jid, &old)?),
        Undo::Detach(ds, jid) => Ok(host.zfs_unjail(&ds, jid)?),
        Undo::Attach(ds, jid) => Ok(host.zfs_jail(&ds, jid)?),
        Undo::RemoveRctl(rule) => Ok(host.rctl_remove(&rule)?),
        Undo::AddRctl(rule) => Ok(host.rctl_add(&rule)?),
        Undo::PinCpus(jid, cpus) => Ok(host.cpuset_set(jid, &cpus)?),
        Undo::DestroyDataset(name) => Ok(host.zfs_destroy(&name, true)?),
        Undo::Rename(from, to) => Ok(host.zfs_rename(&from, &to)?),
        Undo::SetProps(name, props) => Ok(host.zfs_set(&name, &props)?),
        Undo::Chmod(p, mode) => std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).map_err(io(&p)),
        Undo::RemoveDirs(dirs) => dirs.iter().try_for_each(|d| std::fs::remove_dir(d).map_err(io(d))),
        Undo::Restore(p, Some((old, mode))) => atomic::write(&p, &old, mode).map_err(io(&p)),
        Undo::Restore(p, None) => std::fs::remove_file(&p).map_err(io(&p)),
    }
}

/// Something a step did not do, and deliberately: not an error, but
/// never silent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Device nodes and FIFOs in a release archive are not made: devfs
    /// gives a jail its devices.
    NodesNotMade { archive: String, count: usize, first: PathBuf },
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::NodesNotMade { archive, count, first } => write!(
                f,
                "{archive}: {count} device node(s) or FIFO(s) not made, such as {}; a jail's devices come from devfs",
                first.display()
            ),
        }
    }
}

/// Runs every step in order; on failure undoes the finished ones in
/// reverse and returns what failed. On success, what steps noticed.
pub fn run(host: &mut dyn Host, ops: &[Op]) -> Result<Vec<Notice>, ExecError> {
    let mut done: Vec<Undo> = Vec::new();
    let mut notices = Vec::new();
    for op in ops {
        match apply(host, op, &mut notices) {
            Ok(u) => done.push(u),
            Err(source) => {
                let undo_errors = done.into_iter().rev().filter_map(|u| undo(host, u).err()).collect();
                return Err(ExecError { step: op.to_string(), source: Box::new(source), undo_errors });
            }
        }
    }
    Ok(notices)
}

#[cfg(test)]
mod tests {
    use super::set_rc_vars;

    #[test]
    fn rc_conf_vars_are_replaced_or_appended() {
        let vars = vec![("hostname".to_string(), "web".to_string())];
        assert_eq!(set_rc_vars("", &vars), "hostname=\"web\"\n");
        assert_eq!(
            set_rc_vars("sshd_enable=\"YES\"\nhostname=\"old\"\n", &vars),
            "sshd_enable=\"YES\"\nhostname=\"web\"\n"
        );
        let quoted = vec![("x".to_string(), "a\"b".to_string())];
        assert_eq!(set_rc_vars("# c\n", &quoted), "# c\nx=\"a\\\"b\"\n");
    }
}
