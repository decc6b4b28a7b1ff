//! `migrate`: a jail moved to brig on another machine, over ssh: its
//! datasets sent while it runs, then stopped, what changed meanwhile
//! sent, and started there; the downtime measured. A failure once the
//! jail stopped starts it here again.

use std::io::Write;
use std::time::{Duration, Instant};

use super::guard::guard;
use super::lifecycle::{start_alone, stop_under_entry, Surroundings};
use super::transfer::{prepare, send, ExportRequest};
use super::{Error, Refused, Report};
use crate::host::Host;
use crate::model::snapshot::SnapshotName;
use crate::model::JailName;
use crate::plan::jail as jail_plan;
use crate::plan::snapshot::Tree;
use crate::state::journal::{self, Action};

/// What writes a remote brig's standard input.
pub type Feed<'a> = dyn FnMut(&mut dyn Write) -> Result<(), Error> + 'a;

/// A brig on another machine.
pub trait Remote {
    /// Runs `brig ARGS` there, its standard input what `input` writes
    /// (none without it); an error unless it exits 0.
    fn brig(&mut self, args: &[&str], input: Option<&mut Feed<'_>>) -> Result<(), Error>;
    /// Runs `brig ARGS` there: its exit status and what it printed (at
    /// most ANSWER_LIMIT bytes).
    fn brig_output(&mut self, args: &[&str]) -> Result<(i32, Vec<u8>), Error>;
}

/// The most a remote brig's answer is read of.
pub const ANSWER_LIMIT: u64 = 16 << 20;

/// `ssh://[USER@]HOST[:PORT]`, reached with `ssh` (or the program in
/// BRIG_SSH, as rsync's -e and GIT_SSH), running `remote_brig` there.
#[derive(Debug, Clone)]
pub struct Ssh {
    pub program: String,
    pub destination: String,
    pub port: Option<u16>,
    pub remote_brig: String,
}

impl Ssh {
    /// Reads `ssh://[USER@]HOST[:PORT]`.
    pub fn parse(url: &str, remote_brig: &str) -> Result<Ssh, Error> {
        let bad = || Error::Usage(format!("{url}: expected ssh://[USER@]HOST[:PORT]"));
        let rest = url.strip_prefix("ssh://").ok_or_else(bad)?;
        let (dest, port) = match rest.rsplit_once(':') {
            Some((d, p)) => (d, Some(p.parse::<u16>().map_err(|_| bad())?)),
            None => (rest, None),
        };
        // Letters, digits and the punctuation of user names and host names:
        // nothing ssh would read as an option or a shell would expand.
        let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        let host_ok = match dest.split_once('@') {
            Some((u, h)) => ok(u) && ok(h),
            None => ok(dest),
        };
        if !host_ok || dest.starts_with('-') {
            return Err(bad());
        }
        let program = std::env::var("BRIG_SSH").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "ssh".into());
        Ok(Ssh { program, destination: dest.to_string(), port, remote_brig: remote_brig.to_string() })
    }
}

impl Ssh {
    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.program);
        if let Some(p) = self.port {
            cmd.arg("-p").arg(p.to_string());
        }
        cmd.arg(&self.destination).arg("--").arg(&self.remote_brig).args(args);
        cmd
    }

    fn failed(&self, args: &[&str], why: String) -> Error {
        Refused::RemoteFailed { what: format!("{} {} {}", self.destination, self.remote_brig, args.join(" ")), why }
            .into()
    }
}

impl Remote for Ssh {
    fn brig_output(&mut self, args: &[&str]) -> Result<(i32, Vec<u8>), Error> {
        use std::io::Read;
        let mut child = self
            .command(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| self.failed(args, format!("{} could not run: {e}", self.program)))?;
        let mut out = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            stdout.take(ANSWER_LIMIT).read_to_end(&mut out).map_err(|e| self.failed(args, e.to_string()))?;
        }
        let status = child.wait().map_err(|e| self.failed(args, format!("waiting for {}: {e}", self.program)))?;
        Ok((status.code().unwrap_or(-1), out))
    }

    fn brig(&mut self, args: &[&str], input: Option<&mut Feed<'_>>) -> Result<(), Error> {
        let mut cmd = self.command(args);
        cmd.stdin(if input.is_some() { std::process::Stdio::piped() } else { std::process::Stdio::null() });
        let failed = |why: String| self.failed(args, why);
        let mut child = cmd.spawn().map_err(|e| failed(format!("{} could not run: {e}", self.program)))?;
        let fed = match (input, child.stdin.take()) {
            (Some(feed), Some(mut stdin)) => {
                let r = feed(&mut stdin);
                // The end of the stream is the remote side's end of input.
                drop(stdin);
                r
            }
            _ => Ok(()),
        };
        let status = child.wait().map_err(|e| failed(format!("waiting for {}: {e}", self.program)))?;
        // The remote brig's own message, on this terminal already, says
        // why it failed (a feed cut short is then only its consequence);
        // a failed feed to a brig that went on is ours to say.
        if !status.success() {
            return Err(failed(format!("it ended with {status}")));
        }
        fed
    }
}

/// What a migration did.
#[derive(Debug)]
pub struct Migrated {
    /// From the stop here to the start there; None when it was not
    /// running.
    pub downtime: Option<Duration>,
    /// Whether only what changed since a snapshot both machines had went.
    pub incremental: bool,
}

/// The newest snapshot of jail `name` that the other machine has too,
/// as its latest (an import continues only from there): None when it
/// has no such jail. A jail there with nothing in common is refused.
fn common(
    host: &dyn Host,
    cfg: &crate::config::HostConfig,
    name: &JailName,
    remote: &mut dyn Remote,
) -> Result<Option<SnapshotName>, Error> {
    let (code, out) = remote.brig_output(&["snapshot", "list", name.as_str(), "--json"])?;
    // brig's exit status for a jail that does not exist.
    match code {
        3 => return Ok(None),
        0 => {}
        _ => {
            return Err(Refused::RemoteFailed {
                what: format!("brig snapshot list {name}"),
                why: format!("it ended with exit status {code}"),
            }
            .into())
        }
    }
    let listed: serde_json::Value = serde_json::from_slice(&out).map_err(|e| Refused::RemoteFailed {
        what: format!("brig snapshot list {name}"),
        why: format!("its answer does not read: {e}"),
    })?;
    let theirs: Vec<&str> = listed["jails"][0]["snapshots"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["name"].as_str()).collect())
        .unwrap_or_default();
    let jail_ds = jail_plan::dataset(cfg, name);
    let ours = Tree::read(&host.zfs_list(jail_ds.as_str(), crate::plan::snapshot::PROPS)?);
    match theirs.last() {
        Some(last) if ours.snapshots.iter().any(|s| s.name == *last && s.missing.is_empty()) => {
            Ok(Some(SnapshotName::parse(last)?))
        }
        _ => Err(Refused::NothingInCommon { jail: name.clone() }.into()),
    }
}

/// Moves jail `name` to `remote`: with `live`, its datasets while it runs
/// (only what changed since a snapshot both have, when the other machine
/// has the jail from an earlier migration), then the stop and what
/// changed meanwhile; without, the stop first. A jail that ran is
/// started there; on a failure after its stop, here again, as it is by
/// the next brig after a kill (the journal). The jail stays defined here,
/// stopped.
pub fn migrate(
    host: &mut dyn Host,
    name: &JailName,
    remote: &mut dyn Remote,
    live: bool,
    report: &dyn Report,
) -> Result<Migrated, Error> {
    let cfg = super::config(host)?;
    let _lock = guard(host, &cfg, &[name], report)?;
    let spec = super::select::defined(host, &cfg, name)?;
    let running = host.jail_find(name.as_str())?.is_some();
    let base = common(host, &cfg, name, remote)?;
    let incremental = base.is_some();
    let cfg_ = &cfg;
    let ship =
        |host: &mut dyn Host, remote: &mut dyn Remote, since: Option<SnapshotName>| -> Result<SnapshotName, Error> {
            let prepared = prepare(host, cfg_, name, &ExportRequest { snapshot: None, since, sign: None })?;
            let mut feed = |w: &mut dyn Write| send(host, &prepared, None, w).map(drop);
            // Its own jail, from this host: the definition is trusted.
            remote.brig(&["import", "--trust", "-"], Some(&mut feed))?;
            Ok(SnapshotName::parse(&prepared.manifest().snapshot)?)
        };
    if !running {
        ship(host, remote, base)?;
        return Ok(Migrated { downtime: None, incremental });
    }
    let since = if live { Some(ship(host, remote, base)?) } else { base };
    let entry = journal::begin(host, name, Action::Migrate)?;
    let stopped = Instant::now();
    let around = Surroundings::read(host, &cfg)?;
    stop_under_entry(host, &cfg, name, Some(&spec), &around, report)?;
    let moved = (|| -> Result<(), Error> {
        ship(host, remote, since)?;
        remote.brig(&["start", name.as_str()], None)
    })();
    if let Err(e) = moved {
        // Back where it was: the service matters more than the move.
        start_alone(host, &cfg, &spec, &[], report)?;
        entry.finish(host)?;
        return Err(e);
    }
    let downtime = stopped.elapsed();
    entry.finish(host)?;
    Ok(Migrated { downtime: Some(downtime), incremental })
}
