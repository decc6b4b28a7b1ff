//! Boot and shutdown: what rc.d/brig runs. Waves (plan::boot) run one
//! after the other; the jails of a wave start or stop in parallel, each
//! worker thread with its own connection to the host. A failed jail does
//! not stop the others; the jails that depend on it are skipped.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::guard::guard;
use super::lifecycle::{
    known_params, limits_on, start_one, stop_one, warn_inert_firewalls, Books, StartContext, Surroundings,
};
use super::{Error, Event, Refused, Report};
use crate::config::HostConfig;
use crate::host::{Command, Host, Place};
use crate::model::jail::{JailSpec, Ready};
use crate::model::JailName;
use crate::plan::boot::{waves, Waves};

/// Opens another connection to the same host, for a worker thread.
pub type Connect<'a> = &'a (dyn Fn() -> Result<Box<dyn Host>, Error> + Sync);

/// The boot jails in waves, and the definitions that do not read.
pub struct BootPlan {
    pub specs: Vec<JailSpec>,
    pub invalid: Vec<(JailName, Error)>,
    pub waves: Waves,
}

/// What `boot start` did.
pub struct BootStarted {
    pub plan: BootPlan,
    pub started: usize,
    pub failed: Vec<(JailName, Error)>,
    /// Jails not started because a dependency could not start, with why.
    pub skipped: BTreeMap<String, String>,
    pub took: Duration,
}

/// What `boot stop` did.
pub struct BootStopped {
    pub failed: Vec<(JailName, Error)>,
    pub invalid: Vec<(JailName, Error)>,
}

/// The waves `boot start` would run. Reads only.
pub fn plan(host: &dyn Host) -> Result<BootPlan, Error> {
    let cfg = super::config(host)?;
    Ok(plan_of(host, &cfg))
}

fn plan_of(host: &dyn Host, cfg: &HostConfig) -> BootPlan {
    let (specs, invalid) = super::select::every(host, cfg);
    let waves = waves(&specs, &|s| s.boot, true);
    BootPlan { specs, invalid, waves }
}

/// Runs `work` on every item of `wave` (jails) with up to `jobs`
/// threads, each with a host of its own; the outcome per item, in order.
pub(super) fn parallel<'a, T: Sync + ?Sized, R: Send>(
    connect: Connect,
    jobs: u16,
    wave: &[&'a T],
    work: &(dyn Fn(&mut dyn Host, &T) -> Result<R, Error> + Sync),
) -> Vec<(&'a T, Result<R, Error>)> {
    let queue = Mutex::new(wave.iter().copied().enumerate().collect::<VecDeque<_>>());
    let results = Mutex::new(BTreeMap::new());
    let workers = usize::from(jobs).min(wave.len()).max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut host = connect();
                while let Some((i, spec)) = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None) {
                    let outcome = match &mut host {
                        Ok(h) => work(&mut **h, spec),
                        Err(e) => Err(Error::Usage(e.to_string())),
                    };
                    if let Ok(mut r) = results.lock() {
                        r.insert(i, (spec, outcome));
                    }
                }
            });
        }
    });
    results.into_inner().map(|r| r.into_values().collect()).unwrap_or_default()
}

/// Runs the readiness probe inside the jail until it exits 0.
fn wait_ready(host: &mut dyn Host, spec: &JailSpec, ready: &Ready) -> Result<(), Error> {
    let jid = host.jail_find(spec.name.as_str())?.map(|j| j.jid);
    let jid = jid.ok_or_else(|| Refused::NotRunning(spec.name.clone()))?;
    let deadline = Instant::now() + Duration::from_secs(u64::from(ready.timeout));
    let not_ready = |status| Refused::NotReady { timeout: ready.timeout, command: ready.command.clone(), status };
    loop {
        // A probe that hangs is killed when the time is up.
        let mut probe = Command::new("/bin/sh").args(["-c", ready.command.as_str()]);
        probe.deadline = Some(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100)));
        let out = host.spawn(&probe, Place::Jail(jid))?;
        if out.status == 0 && !out.timed_out {
            return Ok(());
        }
        if out.timed_out {
            return Err(not_ready(None).into());
        }
        if Instant::now() >= deadline {
            return Err(not_ready(Some(out.status)).into());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Starts every jail with boot = true (and what they depend on), wave by
/// wave, `jobs` at a time.
pub fn start(
    host: &mut dyn Host,
    connect: Connect,
    jobs: u16,
    no_limits: bool,
    report: &dyn Report,
) -> Result<BootStarted, Error> {
    let began = Instant::now();
    let cfg = super::config(host)?;
    let plan = plan_of(host, &cfg);
    let names: Vec<&JailName> = plan.waves.waves.iter().flatten().map(|&i| &plan.specs[i].name).collect();
    let _lock = guard(host, &cfg, &names, report)?;
    let known = known_params(host, &plan.specs)?;
    warn_inert_firewalls(host, &plan.specs, false, report);
    let books = Books::read(host, &plan.specs, false)?;
    let mut failed: Vec<(JailName, Error)> = Vec::new();
    // Jails whose dependencies cannot be met are skipped; the rest start.
    let mut skipped: BTreeMap<String, String> = plan.waves.blocked.iter().cloned().collect();
    let mut started = 0;
    for wave in &plan.waves.waves {
        let mut runnable = Vec::new();
        for &i in wave {
            let s = &plan.specs[i];
            let down = |d: &&JailName| failed.iter().any(|(n, _)| n == *d) || skipped.contains_key(d.as_str());
            match s.depends.iter().find(down) {
                Some(d) => {
                    skipped.insert(s.name.to_string(), format!("it depends on {d}, which did not start"));
                }
                None => runnable.push(s),
            }
        }
        let work = |h: &mut dyn Host, s: &JailSpec| -> Result<(), Error> {
            let limits = limits_on(h, std::slice::from_ref(s), no_limits, report)?;
            let ctx = StartContext { known: &known, books: &books, limits, batch: &[], dry_run: false };
            start_one(h, &cfg, s, &ctx, report)?;
            // Its dependents wait for its steps as for its readiness.
            super::provision::on_first_start(h, &cfg, s, report)?;
            match &s.ready {
                Some(r) => wait_ready(h, s, r),
                None => Ok(()),
            }
        };
        for (s, outcome) in parallel(connect, jobs, &runnable, &work) {
            match outcome {
                Ok(()) => started += 1,
                Err(error) => {
                    report.event(&Event::Failed { jail: &s.name, error: &error });
                    failed.push((s.name.clone(), error));
                }
            }
        }
    }
    Ok(BootStarted { plan, started, failed, skipped, took: began.elapsed() })
}

/// Stops every running jail brig manages, in the reverse waves.
pub fn stop(host: &mut dyn Host, connect: Connect, jobs: u16, report: &dyn Report) -> Result<BootStopped, Error> {
    let cfg = super::config(host)?;
    let (specs, invalid) = super::select::every(host, &cfg);
    let running: BTreeSet<String> = host.jail_list()?.into_iter().filter(|j| !j.dying).map(|j| j.name).collect();
    // Running, or left half-stopped by a stop that was killed: its start
    // record is still there, and the stop finishes it.
    let ours = |name: &JailName| running.contains(name.as_str()) || super::observe::started(host, name).is_some();
    let w = waves(&specs, &|s| ours(&s.name), false);
    // Stopped first, since their place in the order is unknown: a jail
    // whose definition does not read (as it was started), and one caught
    // in a dependency cycle.
    let blocked: BTreeSet<&str> = w.blocked.iter().map(|(j, _)| j.as_str()).collect();
    let first: Vec<(&JailName, Option<&JailSpec>)> = invalid
        .iter()
        .map(|(n, _)| n)
        .filter(|n| ours(n))
        .map(|n| (n, None))
        .chain(specs.iter().filter(|s| blocked.contains(s.name.as_str())).map(|s| (&s.name, Some(s))))
        .collect();
    let names: Vec<&JailName> =
        first.iter().map(|(n, _)| *n).chain(w.waves.iter().flatten().map(|&i| &specs[i].name)).collect();
    let _lock = guard(host, &cfg, &names, report)?;
    let around = Surroundings::read(host, &cfg)?;
    let mut failed = Vec::new();
    let mut fail = |jail: &JailName, error: Error| {
        report.event(&Event::Failed { jail, error: &error });
        failed.push((jail.clone(), error));
    };
    for (name, spec) in first {
        if let Err(e) = stop_one(host, &cfg, name, spec, &around, false, report) {
            fail(name, e);
        }
    }
    for wave in w.waves.iter().rev() {
        let jails: Vec<&JailSpec> = wave.iter().map(|&i| &specs[i]).collect();
        let work = |h: &mut dyn Host, s: &JailSpec| stop_one(h, &cfg, &s.name, Some(s), &around, false, report);
        for (s, outcome) in parallel(connect, jobs, &jails, &work) {
            if let Err(e) = outcome {
                fail(&s.name, e);
            }
        }
    }
    Ok(BootStopped { failed, invalid })
}
