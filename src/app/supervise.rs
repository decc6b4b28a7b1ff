//! `brig supervise`: one process that runs each jail's `[health]` check
//! on its interval and restarts the jail as its policy says. Nothing it
//! knows lives only in memory: the definitions say what to watch, the
//! start records say which jails brig started (a jail stopped with `brig
//! stop` has none, and is left alone), and each jail's [`Watch`] is
//! written when it changes, so a supervisor killed and started again (or
//! a host rebooted) goes on with the same counters. Checks of a round run
//! on at most `jobs` worker threads, not one per jail; a jail is looked at
//! only when its interval has passed. Once a minute it also samples every
//! running jail's racct usage for `brig usage`.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::boot::{parallel, Connect};
use super::guard::guard;
use super::health::{check, owe, owed, save_watch, started_at, watch, Checked};
use super::lifecycle::{start_alone, stop_one, Surroundings};
use super::{Error, Event, Refused, Report};
use crate::config::HostConfig;
use crate::host::Host;
use crate::model::health::Restart;
use crate::model::jail::JailSpec;
use crate::model::JailName;
use crate::plan::supervise::{Decision, Seen, Status, Watch};
use crate::state::events::Record;
use crate::state::lock::LockError;

/// How often the definitions are read again: a jail defined, changed or
/// removed is followed within this.
pub const RELOAD: Duration = Duration::from_secs(10);
/// The longest sleep between rounds.
const TICK: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct Options {
    /// Checks run at once, each on a worker thread of its own.
    pub jobs: u16,
    /// One round over every watched jail, then return (for cron, tests
    /// and benchmarks).
    pub once: bool,
}

/// What the supervisor follows: the definitions (those with `[health]`
/// are checked), when each check is due, their watches, and when every
/// running jail was last sampled for `brig usage`.
struct Supervisor {
    specs: Vec<JailSpec>,
    sampled: Option<Instant>,
    loaded: Option<Instant>,
    broken: Vec<JailName>,
    due: BTreeMap<JailName, Instant>,
    watches: BTreeMap<JailName, Watch>,
}

/// Runs until SIGTERM or SIGINT (or after one round with `once`).
pub fn supervise(host: &mut dyn Host, connect: Connect, opts: &Options, report: &dyn Report) -> Result<(), Error> {
    let cfg = super::config(host)?;
    let _only = crate::state::lock::supervisor(host).map_err(|e| match e {
        LockError::Busy { .. } => Error::Refused(Refused::SupervisorRunning),
        e => e.into(),
    })?;
    // A jail another brig is working on is looked at again next round,
    // rather than waited for.
    crate::state::lock::set_no_wait(true);
    let stop = crate::release::interrupt::catch().map_err(Refused::Interrupt)?;
    let mut s = Supervisor {
        specs: Vec::new(),
        sampled: None,
        loaded: None,
        broken: Vec::new(),
        due: BTreeMap::new(),
        watches: BTreeMap::new(),
    };
    loop {
        if s.loaded.is_none_or(|t| t.elapsed() >= RELOAD) {
            s.reload(host, &cfg, report);
        }
        s.round(host, &cfg, connect, opts.jobs, report);
        if s.sampled.is_none_or(|t| t.elapsed() >= Duration::from_secs(super::usage::EVERY_SECONDS)) {
            s.sample(host, report);
        }
        if opts.once {
            return Ok(());
        }
        let next = s.due.values().min().map_or(TICK, |t| t.saturating_duration_since(Instant::now())).min(TICK);
        std::thread::sleep(next.max(Duration::from_millis(50)));
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
    }
}

impl Supervisor {
    /// Reads the definitions again; a definition that does not read is
    /// said once, and its jail is left as it is meanwhile.
    fn reload(&mut self, host: &dyn Host, cfg: &HostConfig, report: &dyn Report) {
        let (specs, invalid) = super::select::every(host, cfg);
        let broken: Vec<JailName> = invalid.iter().map(|(n, _)| n.clone()).collect();
        for (name, error) in &invalid {
            if !self.broken.contains(name) {
                report.event(&Event::Broken { jail: name, error });
            }
        }
        self.broken = broken;
        self.specs = specs;
        let checked = |n: &JailName| self.specs.iter().any(|s| &s.name == n && s.health.is_some());
        self.due.retain(|n, _| checked(n));
        self.watches.retain(|n, _| checked(n));
        let now = Instant::now();
        for s in self.specs.iter().filter(|s| s.health.is_some()) {
            // A shorter interval counts from now, not from the old one.
            let next = now + Duration::from_secs(u64::from(s.health.as_ref().map_or(0, |h| h.interval)));
            let due = self.due.entry(s.name.clone()).or_insert(now);
            *due = (*due).min(next);
        }
        self.loaded = Some(Instant::now());
    }

    /// Looks at every jail that is due: what it is, its check, and what
    /// to do about it. A failure to read the machine is said; the next
    /// round tries again.
    fn round(&mut self, host: &mut dyn Host, cfg: &HostConfig, connect: Connect, jobs: u16, report: &dyn Report) {
        let now = Instant::now();
        // Only jails with a check are due; the others are only sampled.
        let due: Vec<&JailSpec> =
            self.specs.iter().filter(|s| self.due.get(&s.name).is_some_and(|t| *t <= now)).collect();
        if due.is_empty() {
            return;
        }
        let live: BTreeMap<String, crate::host::LiveJail> = match host.jail_list() {
            Ok(l) => l.into_iter().filter(|j| !j.dying).map(|j| (j.name.clone(), j)).collect(),
            Err(e) => {
                report.event(&Event::SuperviseFailed { error: &e.into() });
                return;
            }
        };
        // A jail of the name that brig did not start is left alone: no
        // check runs in it.
        let ours: BTreeMap<&str, i32> = due
            .iter()
            .filter_map(|s| live.get(s.name.as_str()).map(|j| (s, j)))
            .filter(|(s, j)| super::observe::foreign(host, cfg, &s.name, j).is_none())
            .map(|(s, j)| (s.name.as_str(), j.jid))
            .collect();
        let foreign = |s: &JailSpec| live.contains_key(s.name.as_str()) && !ours.contains_key(s.name.as_str());
        let work = |h: &mut dyn Host, s: &JailSpec| {
            if foreign(s) {
                return Ok((Seen::Stopped, None));
            }
            look(h, s, ours.get(s.name.as_str()).copied())
        };
        let looked = parallel(connect, jobs, &due, &work);
        for (spec, outcome) in looked {
            let Some(health) = &spec.health else { continue };
            self.due.insert(spec.name.clone(), now + Duration::from_secs(u64::from(health.interval)));
            match outcome {
                Ok((seen, checked)) => follow(&mut self.watches, host, cfg, spec, seen, checked.as_ref(), report),
                Err(error) => report.event(&Event::Failed { jail: &spec.name, error: &error }),
            }
        }
    }
}

impl Supervisor {
    /// One usage sample of every running jail brig started. A failure is
    /// said; racct off ends the round quietly (there is nothing to count).
    fn sample(&mut self, host: &dyn Host, report: &dyn Report) {
        self.sampled = Some(Instant::now());
        let running: std::collections::BTreeSet<String> = match host.jail_list() {
            Ok(l) => l.into_iter().filter(|j| !j.dying).map(|j| j.name).collect(),
            Err(e) => return report.event(&Event::SuperviseFailed { error: &e.into() }),
        };
        let unix = super::now();
        for s in self.specs.iter().filter(|s| running.contains(s.name.as_str())) {
            if !host.exists(&crate::plan::run::started_path(&s.name)) {
                continue;
            }
            match super::usage::sample(host, &s.name, unix) {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => report.event(&Event::Failed { jail: &s.name, error: &error }),
            }
        }
    }
}

/// Takes in what a look saw of one jail, restarts it when its policy
/// says so, and writes its watch when it changed.
fn follow(
    watches: &mut BTreeMap<JailName, Watch>,
    host: &mut dyn Host,
    cfg: &HostConfig,
    spec: &JailSpec,
    seen: Seen,
    checked: Option<&Checked>,
    report: &dyn Report,
) {
    let Some(health) = &spec.health else { return };
    let name = &spec.name;
    // What an earlier supervisor counted goes on; a record that does not
    // read is said, and counting starts again.
    let w = watches.entry(name.clone()).or_insert_with(|| match watch(host, name) {
        Ok(w) => w.unwrap_or_default(),
        Err(why) => {
            let error = Error::Usage(format!("{why}; its counts start again"));
            report.event(&Event::Failed { jail: name, error: &error });
            Watch::default()
        }
    });
    let before = w.clone();
    let unix = super::now();
    let seen = recovered(host, cfg, spec, seen, report);
    w.saw(health, seen, unix);
    // A check of a jail that a recovery has since stopped counts for
    // nothing.
    if let (Some(c), Seen::Running { .. }) = (checked, seen) {
        w.checked(health, c.passed, &c.output, unix);
    }
    if w.status != before.status {
        changed(host, spec, &before, w, report);
    }
    match w.decide(health, unix) {
        Decision::Nothing => {}
        Decision::GiveUp(reason) => note(host, spec, "supervise give-up", None, &reason, Duration::ZERO, report),
        Decision::Restart(reason) => {
            let began = Instant::now();
            match restart(host, cfg, spec, seen, report) {
                // Not done (another brig holds the jail, or it changed):
                // nothing to count or say; the next round looks again.
                Ok(false) => {}
                done => {
                    w.restarted(unix);
                    let error = done.err().map(|e| e.to_string());
                    note(host, spec, "supervise restart", error, &reason, began.elapsed(), report);
                }
            }
        }
    }
    if *w != before {
        if let Err(e) = save_watch(host, name, w) {
            report.event(&Event::Failed { jail: name, error: &super::health::watch_error(host, name, &e) });
        }
    }
}

/// What one jail is now; `running` is its jid, when it runs.
fn observe(host: &mut dyn Host, spec: &JailSpec, running: Option<i32>) -> Result<Seen, Error> {
    let always = spec.health.as_ref().is_some_and(|h| h.restart == Restart::Always);
    // brig's start writes the record first and its stop removes it last:
    // without one the jail is not brig's to look after, unless the
    // supervisor's own restart stopped it and owes it a start.
    let recorded = host.exists(&crate::plan::run::started_path(&spec.name));
    Ok(match (running, recorded) {
        (None, false) if owed(host, &spec.name) => Seen::Owed,
        (_, false) => Seen::Stopped,
        (None, true) => Seen::Died,
        // A jail whose processes have all exited stays (persist) but does
        // nothing: with restart = "always" that is a jail that stopped.
        (Some(jid), true) if always && !host.jail_kill(jid, None)? => Seen::Died,
        (Some(jid), true) => Seen::Running { jid, started: started_at(host, &spec.name).unwrap_or(0) },
    })
}

/// What one jail is and, when it runs, its check's outcome. Runs on a
/// worker thread.
fn look(host: &mut dyn Host, spec: &JailSpec, running: Option<i32>) -> Result<(Seen, Option<Checked>), Error> {
    let Some(health) = &spec.health else { return Ok((Seen::Stopped, None)) };
    let seen = observe(host, spec, running)?;
    let checked = match seen {
        Seen::Running { jid, .. } if health.check.is_some() => Some(check(host, jid, health)),
        _ => None,
    };
    Ok((seen, checked))
}

/// Stops and starts the jail, under its lock, if it still needs it as
/// the round saw; false when nothing was done: another brig holds the
/// jail, or it changed since (stopped or started by hand). A start is
/// owed from before the stop until a start has been made (`start_one`
/// forgives it), so a restart that fails, or a supervisor killed half-way,
/// leaves the next round to start the jail.
fn restart(
    host: &mut dyn Host,
    cfg: &HostConfig,
    spec: &JailSpec,
    seen: Seen,
    report: &dyn Report,
) -> Result<bool, Error> {
    let _lock = match guard(host, cfg, &[&spec.name], report) {
        Err(Error::Lock(LockError::Busy { .. })) => return Ok(false),
        other => other?,
    };
    let running = host.jail_find(spec.name.as_str())?.map(|j| j.jid);
    let now = observe(host, spec, running)?;
    // Down either way (stopped on its own, or owed a start), or the very
    // start the round saw.
    let down = |s: Seen| matches!(s, Seen::Died | Seen::Owed);
    if now != seen && !(down(now) && down(seen)) {
        return Ok(false);
    }
    owe(host, &spec.name).map_err(|e| super::health::watch_error(host, &spec.name, &e))?;
    let around = Surroundings::read(host, cfg)?;
    stop_one(host, cfg, &spec.name, Some(spec), &around, false, report)?;
    start_alone(host, cfg, spec, &[], report)?;
    super::provision::on_first_start(host, cfg, spec, report)?;
    Ok(true)
}

/// Recovers what a killed brig left half-done to the jail (its journal
/// entry), as the next command on it would, and says what the jail is
/// then; the jail as `seen` when there is nothing to recover or another
/// brig holds it.
fn recovered(host: &mut dyn Host, cfg: &HostConfig, spec: &JailSpec, seen: Seen, report: &dyn Report) -> Seen {
    if !host.exists(&crate::state::journal::path(&spec.name)) {
        return seen;
    }
    let again = match guard(host, cfg, &[&spec.name], report) {
        Ok(_lock) => {
            host.jail_find(spec.name.as_str()).map_err(Error::from).and_then(|j| observe(host, spec, j.map(|j| j.jid)))
        }
        Err(Error::Lock(LockError::Busy { .. })) => return seen,
        Err(e) => Err(e),
    };
    again.unwrap_or_else(|error| {
        report.event(&Event::Failed { jail: &spec.name, error: &error });
        seen
    })
}

/// A change of health worth a line in the event log: a jail turned
/// unhealthy or down, or healthy again after that.
fn changed(host: &dyn Host, spec: &JailSpec, before: &Watch, now: &Watch, report: &dyn Report) {
    let bad = |s: Status| matches!(s, Status::Unhealthy | Status::Down);
    let worth = bad(now.status) || (now.status == Status::Healthy && bad(before.status));
    if worth {
        let mut detail = format!("{} -> {}", before.status.as_str(), now.status.as_str());
        if now.status == Status::Unhealthy && !now.output.is_empty() {
            detail = format!("{detail}: {}", now.output.lines().last().unwrap_or_default());
        }
        note(host, spec, "supervise health", None, &detail, Duration::ZERO, report);
    }
}

/// Says what the supervisor did, and appends it to the event log.
fn note(
    host: &dyn Host,
    spec: &JailSpec,
    command: &str,
    error: Option<String>,
    detail: &str,
    took: Duration,
    report: &dyn Report,
) {
    let what = match &error {
        Some(e) => format!("{command}: {detail}; failed: {e}"),
        None => format!("{command}: {detail}"),
    };
    report.event(&Event::Supervised { jail: &spec.name, what: &what });
    let mut r = Record::now(command, vec!["supervise".into()], vec![spec.name.to_string()], error, took);
    r.detail = Some(detail.to_string());
    super::log_event(host, &r, &spec.name, report);
}
