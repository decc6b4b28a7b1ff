//! Health checks: `[health]`'s check run inside a jail now (`brig
//! health`, and each round of `brig supervise`), and what the supervisor
//! recorded of each jail (its [`Watch`]), kept under
//! /var/db/brig/supervise so that a restarted supervisor, `brig health`
//! and `stats --prometheus` all read the same counters.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::select::{targets, Names};
use super::{Error, Refused};
use crate::host::{Command, Host, Jid, Place};
use crate::model::health::Health;
use crate::model::JailName;
use crate::plan::supervise::{Status, Watch};

/// The supervisor's record of each jail, `NAME.json` (0600).
pub const WATCH_DIR: &str = "/var/db/brig/supervise";

pub fn watch_path(name: &JailName) -> PathBuf {
    Path::new(WATCH_DIR).join(format!("{name}.json"))
}

/// The mark of a start the supervisor owes `name`: its restart stopped
/// the jail and could not start it again. `brig stop` removes it.
fn owed_path(name: &JailName) -> PathBuf {
    Path::new(WATCH_DIR).join(format!("{name}.owed"))
}

/// What the supervisor recorded of `name`: None when there is no record,
/// an error when there is one that does not read.
pub fn watch(host: &dyn Host, name: &JailName) -> Result<Option<Watch>, String> {
    let path = watch_path(name);
    let shown = || host.local_path(&path).display().to_string();
    match host.read_file(&path, crate::state::bounded::CONFIG_LIMIT) {
        Ok(text) => serde_json::from_slice(&text).map(Some).map_err(|e| format!("{}: {e}", shown())),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(format!("{}: {e}", shown())),
    }
}

pub fn owe(host: &dyn Host, name: &JailName) -> std::io::Result<()> {
    host.make_dirs(Path::new(WATCH_DIR), 0o700)?;
    host.write_file(&owed_path(name), b"", 0o600)
}

pub fn owed(host: &dyn Host, name: &JailName) -> bool {
    host.exists(&owed_path(name))
}

/// Removes `path`, which may not be there.
fn remove_if_there(host: &dyn Host, path: &Path) -> std::io::Result<()> {
    match host.remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The jail was stopped by hand (or started): no start is owed.
pub fn forgive(host: &dyn Host, name: &JailName) -> std::io::Result<()> {
    remove_if_there(host, &owed_path(name))
}

/// The jail is gone (destroyed, or its definition removed): what the
/// supervisor counted of it goes too, so a new jail of the name starts
/// afresh.
pub fn forget(host: &dyn Host, name: &JailName) -> std::io::Result<()> {
    forgive(host, name)?;
    remove_if_there(host, &watch_path(name))
}

/// An error about the supervisor's files of `name`, as a sentence.
pub fn watch_error(host: &dyn Host, name: &JailName, e: &std::io::Error) -> Error {
    Error::Usage(format!("{}: {e}", host.local_path(&watch_path(name)).display()))
}

/// Replaces the record of `name`.
pub fn save_watch(host: &dyn Host, name: &JailName, w: &Watch) -> std::io::Result<()> {
    host.make_dirs(Path::new(WATCH_DIR), 0o700)?;
    let text = serde_json::to_vec(w).map_err(std::io::Error::other)?;
    host.write_file(&watch_path(name), &text, 0o600)
}

/// The most of each of a check's outputs kept.
const CHECK_OUTPUT_LIMIT: u64 = 64 * 1024;

/// What the supervisor recorded of every defined jail that has a
/// record that reads, for metrics.
pub fn supervised(host: &dyn Host) -> Result<Vec<(JailName, Watch)>, Error> {
    let cfg = super::config(host)?;
    let (specs, _) = super::select::every(host, &cfg);
    Ok(specs.into_iter().filter_map(|s| Some((s.name.clone(), watch(host, &s.name).ok()??))).collect())
}

/// One run of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub passed: bool,
    /// What it printed (standard error, else standard output), or why it
    /// could not run or was killed.
    pub output: String,
}

/// Runs `health`'s check in jail `jid`, killed after its timeout. A
/// check that cannot be run at all (its program missing from the jail)
/// fails like one that ran and failed.
pub fn check(host: &mut dyn Host, jid: Jid, health: &Health) -> Checked {
    let Some(c) = &health.check else { return Checked { passed: true, output: String::new() } };
    let (program, args) = c.argv(health.timeout);
    let mut cmd = Command::new(program).args(args);
    // A second more than the check's own bound, which nc and fetch keep.
    cmd.deadline = Some(Duration::from_secs(u64::from(health.timeout) + 1));
    // The jail's root decides what the check prints: never more than this
    // stays in brig's memory, and nothing of it on the host's disk.
    cmd.output_limit = Some(CHECK_OUTPUT_LIMIT);
    match host.spawn(&cmd, Place::Jail(jid)) {
        Ok(out) if out.timed_out => Checked { passed: false, output: format!("no answer within {}s", health.timeout) },
        Ok(out) => {
            let text = if out.stderr.is_empty() { &out.stdout } else { &out.stderr };
            let mut output = String::from_utf8_lossy(text).trim_end().to_string();
            if out.status != 0 && output.is_empty() {
                output = format!("exited with status {}", out.status);
            }
            Checked { passed: out.status == 0, output }
        }
        Err(e) => Checked { passed: false, output: e.to_string() },
    }
}

/// A jail's health as `brig health` reports it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct JailHealth {
    pub name: JailName,
    pub status: Status,
    pub check: String,
    pub output: String,
    /// From the supervisor's record, when there is one.
    pub failures: u32,
    pub restarts: u64,
    pub restart: &'static str,
}

/// What `brig health` found: each jail's health and, when every jail was
/// asked for, the definitions that do not read (the others are checked).
pub struct Found {
    pub jails: Vec<JailHealth>,
    pub broken: Vec<(JailName, Error)>,
}

/// Runs the checks of `names` (every jail with `[health]` when none is
/// named) now. A running jail that fails its check within its start
/// period (counted from its start record) is starting, not unhealthy.
pub fn health(host: &mut dyn Host, names: &Names) -> Result<Found, Error> {
    let cfg = super::config(host)?;
    let all = names.names.is_empty() || names.all;
    let (specs, broken) = if all {
        let (specs, broken) = super::select::every(host, &cfg);
        (specs.into_iter().filter(|s| s.health.is_some()).collect(), broken)
    } else {
        let specs = targets(host, names)?
            .iter()
            .map(|n| super::select::defined(host, &cfg, n))
            .collect::<Result<Vec<_>, _>>()?;
        (specs, Vec::new())
    };
    let mut out = Vec::new();
    for spec in specs {
        let name = spec.name.clone();
        let Some(h) = &spec.health else { return Err(Refused::NoHealth(name).into()) };
        // A record that does not read shows no counts here; the
        // supervisor says what is wrong with it.
        let w = watch(host, &name).ok().flatten().unwrap_or_default();
        let shown = h.check.as_ref().map_or_else(|| "none".to_string(), ToString::to_string);
        let one = |status: Status, output: String| JailHealth {
            name: name.clone(),
            status,
            check: shown.clone(),
            output,
            failures: w.failures,
            restarts: w.restarts_total,
            restart: h.restart.as_str(),
        };
        let running = host.jail_find(name.as_str())?;
        let Some(j) = running else {
            out.push(one(Status::Stopped, String::new()));
            continue;
        };
        // Nothing runs in a jail brig did not start.
        if let Some(foreign) = super::observe::foreign(host, &cfg, &name, &j) {
            out.push(one(Status::Stopped, foreign.to_string()));
            continue;
        }
        let c = check(host, j.jid, h);
        let status = match (c.passed, h.check.is_some()) {
            (true, true) => Status::Healthy,
            (true, false) => Status::Running,
            (false, _) if started_within(host, &name, h.start_period) => Status::Starting,
            (false, _) => Status::Unhealthy,
        };
        out.push(one(status, c.output));
    }
    Ok(Found { jails: out, broken })
}

/// When the jail's start record was last written (Unix seconds): its
/// start, or an apply that changed what it records.
pub fn started_at(host: &dyn Host, name: &JailName) -> Option<u64> {
    let path = host.local_path(&crate::plan::run::started_path(name));
    let t = std::fs::symlink_metadata(path).and_then(|m| m.modified()).ok()?;
    t.duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// Whether the jail's start record was written less than `secs` ago.
fn started_within(host: &dyn Host, name: &JailName, secs: u32) -> bool {
    started_at(host, name).is_some_and(|t| super::now() < t.saturating_add(u64::from(secs)))
}
