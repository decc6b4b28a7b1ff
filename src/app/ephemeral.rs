//! `brig run`: a command in a jail made for it. A thin jail of a release
//! or an image is created, started, the command run inside with this
//! terminal, and the jail stopped and (`--rm`) destroyed afterwards,
//! whatever the command did and also after Ctrl-C, which reaches the
//! command. A record `/var/db/brig/runs/NAME.json` says what is to be
//! removed: a brig killed meanwhile leaves it, and the next `brig run`
//! removes what it names once its process is gone.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use super::create::{create, CreateRequest};
use super::run::{start, stop, RunRequest};
use super::select::Names;
use super::{Error, Event, Refused, Report};
use crate::host::Host;
use crate::model::JailName;
use crate::state::layout::RUNS_DIR;

/// What to run, and in what.
#[derive(Debug, Clone, Default)]
pub struct RunOnce {
    /// The jail's name [default: `run-PID-N`].
    pub name: Option<String>,
    pub release: Option<String>,
    pub image: Option<String>,
    pub ip4: Vec<String>,
    pub interface: Option<String>,
    /// `RESOURCE=AMOUNT` rctl limits.
    pub limits: Vec<String>,
    /// Destroy the jail afterwards; otherwise it is kept, stopped.
    pub rm: bool,
    pub user: Option<String>,
    pub command: Vec<String>,
}

/// How a run ended.
#[derive(Debug)]
pub struct Ran {
    pub name: JailName,
    /// The command's exit status (128 + signal when a signal ended it).
    pub status: i32,
    /// The jail stays (no `--rm`).
    pub kept: bool,
}

/// The record of a run in progress.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    pid: u32,
    rm: bool,
}

fn record_path(name: &JailName) -> PathBuf {
    Path::new(RUNS_DIR).join(format!("{name}.json"))
}

/// Forwards what the user must hear (recoveries, failures, notes) and
/// nothing of the routine: the command's output is what a run shows.
struct Quiet<'a>(&'a dyn Report);

impl Report for Quiet<'_> {
    fn event(&self, event: &Event<'_>) {
        if matches!(
            event,
            Event::Recovered { .. } | Event::Failed { .. } | Event::Broken { .. } | Event::Notice(_) | Event::Note(_)
        ) {
            self.0.event(event);
        }
    }
}

/// A start or stop of the run's jail alone.
fn alone(name: &JailName) -> RunRequest {
    RunRequest { names: Names { names: vec![name.to_string()], all: false }, dry_run: false, no_limits: false }
}

/// Whether process `pid` of this machine still runs.
fn alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else { return false };
    !matches!(nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None), Err(nix::errno::Errno::ESRCH))
}

/// Removes what runs of brig killed meanwhile left: each recorded jail
/// whose brig is gone is stopped, and destroyed when it was to be.
pub fn sweep(host: &mut dyn Host, report: &dyn Report) -> Result<(), Error> {
    let names = host.list_dir(Path::new(RUNS_DIR)).unwrap_or_default();
    for file in names {
        let Some(name) = file.strip_suffix(".json").and_then(|n| JailName::parse(n).ok()) else { continue };
        let path = record_path(&name);
        // A record that does not read names nothing brig may remove.
        let Some(record) = host
            .read_file(&path, crate::state::bounded::CONFIG_LIMIT)
            .ok()
            .and_then(|text| serde_json::from_slice::<Record>(&text).ok())
        else {
            report.event(&Event::RunRecordUnread { jail: &name, path: &host.local_path(&path) });
            continue;
        };
        if alive(record.pid) {
            continue;
        }
        // One left jail that cannot be removed does not stop this run.
        match finish(host, &name, record.rm, report) {
            Ok(()) => report.event(&Event::RunCleaned { jail: &name, pid: record.pid, removed: record.rm }),
            Err(error) => report.event(&Event::Failed { jail: &name, error: &error }),
        }
    }
    Ok(())
}

/// The jail stopped, then destroyed when `rm`, then its record removed.
fn finish(host: &mut dyn Host, name: &JailName, rm: bool, report: &dyn Report) -> Result<(), Error> {
    let quiet = Quiet(report);
    let one = alone(name);
    // A destroy with force stops the jail first; a jail a killed create
    // or destroy left is taken back or finished by the lock's recovery,
    // and then there is nothing.
    let done = if rm { super::destroy::destroy(host, name, true, &quiet) } else { stop(host, &one, &quiet) };
    match done {
        Ok(()) | Err(Error::NotFound(_)) => {}
        Err(e) => return Err(e),
    }
    forget(host, name)
}

/// Removes the record of a `brig run` jail named `name`: the jail was
/// destroyed, or one of that name is being made by another command, so
/// what the record names is gone either way.
pub fn forget(host: &dyn Host, name: &JailName) -> Result<(), Error> {
    let path = record_path(name);
    match host.remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(crate::config::ConfigError::io(host.local_path(&path), e).into())
        }
        _ => Ok(()),
    }
}

/// `forget` for a record whose brig is gone (a live one is creating this
/// very jail, from `run_once`).
pub fn forget_stale(host: &dyn Host, name: &JailName) -> Result<(), Error> {
    let text = host.read_file(&record_path(name), crate::state::bounded::CONFIG_LIMIT).unwrap_or_default();
    match serde_json::from_slice::<Record>(&text) {
        Ok(r) if alive(r.pid) => Ok(()),
        _ if text.is_empty() => Ok(()),
        _ => forget(host, name),
    }
}

/// Starts the jail made for the run, then runs the command in it: its
/// exit status.
fn start_and_run(host: &mut dyn Host, name: &JailName, req: &RunOnce, report: &dyn Report) -> Result<i32, Error> {
    let one = alone(name);
    start(host, &one, report)?;
    if crate::release::interrupt::flag().load(Ordering::SeqCst) {
        // Ctrl-C before the command began: it never runs.
        return Ok(130);
    }
    super::enter::exec(host, name, req.user.as_deref(), &req.command)
}

/// Runs the command in a jail made for it.
pub fn run_once(host: &mut dyn Host, req: &RunOnce, report: &dyn Report) -> Result<Ran, Error> {
    if req.command.is_empty() {
        return Err(Error::Usage("give a command after --, such as brig run -- /bin/sh".into()));
    }
    if req.release.is_none() && req.image.is_none() {
        return Err(Error::Usage("give --release RELEASE or --image IMAGE".into()));
    }
    super::config(host)?;
    sweep(host, report)?;
    crate::release::interrupt::catch().map_err(Refused::Interrupt)?;
    let name = match &req.name {
        Some(n) => JailName::new_jail(n)?,
        None => JailName::parse(&format!("run-{}-{}", std::process::id(), super::now() % 100_000))?,
    };
    if host.exists(&crate::state::layout::definition_path(&name)) {
        return Err(Refused::Exists {
            path: host.local_path(&crate::state::layout::definition_path(&name)),
            jail: name,
        }
        .into());
    }
    let path = record_path(&name);
    if host.exists(&path) {
        return Err(Refused::RunInProgress(name).into());
    }
    let record = serde_json::to_vec(&Record { pid: std::process::id(), rm: req.rm }).unwrap_or_default();
    let io = |e| crate::config::ConfigError::io(host.local_path(&path), e);
    host.make_dirs(Path::new(RUNS_DIR), 0o700).map_err(io)?;
    host.write_file(&path, &record, 0o600).map_err(io)?;
    let quiet = Quiet(report);
    let made = CreateRequest {
        name: name.to_string(),
        release: req.release.clone(),
        image: req.image.clone(),
        ip4: req.ip4.clone(),
        interface: req.interface.clone(),
        sets: req.limits.iter().map(|l| format!("limits.{l}")).collect(),
        ..CreateRequest::default()
    };
    if let Err(e) = create(host, &made, &quiet) {
        // Nothing of this run was made: whatever has the name is not its.
        forget(host, &name)?;
        return Err(e);
    }
    let outcome = start_and_run(host, &name, req, &quiet);
    let finished = finish(host, &name, req.rm, report);
    let status = outcome?;
    finished?;
    Ok(Ran { name, status, kept: !req.rm })
}
