//! `brig supervise`: one process that runs each jail's `[health]` check
//! on its interval and restarts the jail as its policy says. Nothing it
//! knows lives only in memory: the definitions say what to watch, the
//! start records say which jails brig started (a jail stopped with `brig
//! stop` has none, and is left alone), and each jail's [`Watch`] is
//! written when it changes, so a supervisor killed and started again (or
//! a host rebooted) goes on with the same counters. Checks of a round run
//! on at most `jobs` worker threads, not one per jail; a jail is looked at
//! only when its interval has passed.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::boot::{parallel, Connect};
use super::guard::guard;
use super::health::{check, save_watch, watch, Checked};
use super::lifecycle::{start_alone, stop_one, Surroundings};
use super::{Error, Event, Refused, Report};
use crate::config::HostConfig;
use crate::host::Host;
use crate::model::health::Restart;
use crate::model::jail::JailSpec;
use crate::model::JailName;
use crate::plan::supervise::{Decision, Seen, Status, Watch};
use crate::state::events::{self, Record};
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

/// What the supervisor follows: the definitions with `[health]`, when
/// each is due, and their watches.
struct Supervisor {
    specs: Vec<JailSpec>,
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
    crate::release::interrupt::catch().map_err(|e| Error::Usage(format!("signals: {e}")))?;
    let stop = crate::release::interrupt::flag();
    let mut s = Supervisor {
        specs: Vec::new(),
        loaded: None,
        broken: Vec::new(),
        due: BTreeMap::new(),
        watches: BTreeMap::new(),
    };
    loop {
        if s.loaded.is_none_or(|t| t.elapsed() >= RELOAD) {
            s.reload(host, &cfg, report);
        }
        s.round(host, &cfg, connect, opts.jobs, report)?;
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
        self.specs = specs.into_iter().filter(|s| s.health.is_some()).collect();
        self.due.retain(|n, _| self.specs.iter().any(|s| &s.name == n));
        self.watches.retain(|n, _| self.specs.iter().any(|s| &s.name == n));
        for s in &self.specs {
            self.due.entry(s.name.clone()).or_insert_with(Instant::now);
        }
        self.loaded = Some(Instant::now());
    }

    /// Looks at every jail that is due: what it is, its check, and what
    /// to do about it.
    fn round(
        &mut self,
        host: &mut dyn Host,
        cfg: &HostConfig,
        connect: Connect,
        jobs: u16,
        report: &dyn Report,
    ) -> Result<(), Error> {
        let now = Instant::now();
        let due: Vec<&JailSpec> =
            self.specs.iter().filter(|s| self.due.get(&s.name).is_none_or(|t| *t <= now)).collect();
        if due.is_empty() {
            return Ok(());
        }
        let live: BTreeMap<String, i32> =
            host.jail_list()?.into_iter().filter(|j| !j.dying).map(|j| (j.name, j.jid)).collect();
        let work = |h: &mut dyn Host, s: &JailSpec| look(h, s, live.get(s.name.as_str()).copied());
        let looked = parallel(connect, jobs, &due, &work);
        for (spec, outcome) in looked {
            let Some(health) = &spec.health else { continue };
            self.due.insert(spec.name.clone(), now + Duration::from_secs(u64::from(health.interval)));
            let (seen, checked) = match outcome {
                Ok(o) => o,
                Err(error) => {
                    report.event(&Event::Failed { jail: &spec.name, error: &error });
                    continue;
                }
            };
            let w =
                self.watches.entry(spec.name.clone()).or_insert_with(|| watch(host, &spec.name).unwrap_or_default());
            let before = w.clone();
            let unix = super::now();
            w.saw(health, seen, unix);
            if let Some(c) = &checked {
                w.checked(health, c.passed, &c.output, unix);
            }
            if w.status != before.status {
                changed(host, spec, &before, w, report);
            }
            match w.decide(health, unix) {
                Decision::Nothing => {}
                Decision::GiveUp(reason) => {
                    note(host, spec, "supervise give-up", None, &reason, Duration::ZERO, report);
                }
                Decision::Restart(reason) => {
                    let began = Instant::now();
                    match restart(host, cfg, spec, w.owed, report) {
                        Ok(false) => {}
                        Ok(true) => {
                            w.restarted(true, unix);
                            note(host, spec, "supervise restart", None, &reason, began.elapsed(), report);
                        }
                        Err(e) => {
                            let up = host.jail_find(spec.name.as_str()).ok().flatten().is_some();
                            w.restarted(up, unix);
                            let error = e.to_string();
                            note(host, spec, "supervise restart", Some(error), &reason, began.elapsed(), report);
                        }
                    }
                }
            }
            if *w != before {
                if let Err(e) = save_watch(host, &spec.name, w) {
                    report.event(&Event::Failed {
                        jail: &spec.name,
                        error: &Error::Usage(format!("{}: {e}", super::health::watch_path(&spec.name).display())),
                    });
                }
            }
        }
        Ok(())
    }
}

/// What one jail is (`running` is its jid in the jail list) and, when it
/// runs, its check's outcome. Runs on a worker thread.
fn look(host: &mut dyn Host, spec: &JailSpec, running: Option<i32>) -> Result<(Seen, Option<Checked>), Error> {
    let Some(health) = &spec.health else { return Ok((Seen::Stopped, None)) };
    // brig's start writes the record first and its stop removes it last:
    // without one the jail is not brig's to look after.
    let recorded = host.exists(&crate::plan::run::started_path(&spec.name));
    let seen = match (running, recorded) {
        (_, false) => Seen::Stopped,
        (None, true) => Seen::Died,
        // A jail whose processes have all exited stays (persist) but does
        // nothing: with restart = "always" that is a jail that stopped.
        (Some(jid), true) if health.restart == Restart::Always && !host.jail_kill(jid, None)? => Seen::Died,
        (Some(jid), true) => Seen::Running { jid },
    };
    let checked = match seen {
        Seen::Running { jid } if health.check.is_some() => Some(check(host, jid, health)),
        _ => None,
    };
    Ok((seen, checked))
}

/// Stops and starts the jail, under its lock; false when it was not
/// done: another brig holds the jail, or the jail was stopped by hand
/// since it was looked at (its start record is gone and no start is
/// owed).
fn restart(
    host: &mut dyn Host,
    cfg: &HostConfig,
    spec: &JailSpec,
    owed: bool,
    report: &dyn Report,
) -> Result<bool, Error> {
    let _lock = match guard(host, cfg, &[&spec.name], report) {
        Err(Error::Lock(LockError::Busy { .. })) => return Ok(false),
        other => other?,
    };
    if !owed && super::observe::started(host, &spec.name).is_none() {
        return Ok(false);
    }
    let around = Surroundings::read(host, cfg)?;
    stop_one(host, cfg, &spec.name, Some(spec), &around, false, report)?;
    start_alone(host, cfg, spec, &[], report)?;
    super::provision::on_first_start(host, cfg, spec, report)?;
    Ok(true)
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
    if let Err(e) = events::append(host, &r) {
        report.event(&Event::Failed {
            jail: &spec.name,
            error: &Error::Usage(format!("the event log was not written: {e}")),
        });
    }
}
