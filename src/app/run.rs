//! `start`, `stop` and `restart` of a batch of jails: in dependency
//! order, going on past a failure, skipping what depends on a jail that
//! failed, and reporting every failure at the end.

use super::guard::guard_unless;
use super::lifecycle::{
    dummynet_on, known_params, limits_on, pipe_book, start_one, stop_one, warn_inert_firewalls, Books, StartContext,
    Surroundings,
};
use super::select::{load, targets, Names, Selection};
use super::{Batch, Error, Event, Refused, Report, Verb};
use crate::host::Host;
use crate::model::jail::JailSpec;
use crate::model::JailName;

/// Which jails, and how.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub names: Names,
    /// Report the steps instead of taking them.
    pub dry_run: bool,
    /// Start jails that define limits without their rctl rules when
    /// kern.racct.enable is 0.
    pub no_limits: bool,
}

/// Runs `one` on each jail in order and goes on after a failure; a jail
/// that depends on one that failed is skipped (`key` gives each item's
/// jail and what it waits for). A batch of one jail fails with that
/// jail's own error.
fn each<T>(
    items: &[T],
    mut failed: Vec<(JailName, Error)>,
    verb: Verb,
    key: impl Fn(&T) -> (&JailName, &[JailName]),
    mut one: impl FnMut(&T) -> Result<(), Error>,
) -> Result<(), Error> {
    let total = items.len() + failed.len();
    for item in items {
        let (name, deps) = key(item);
        let outcome = match deps.iter().find(|d| failed.iter().any(|(n, _)| &n == d)) {
            Some(d) => Err(Refused::DependencyFailed { jail: name.clone(), dep: d.clone(), verb }.into()),
            None => one(item),
        };
        if let Err(e) = outcome {
            failed.push((name.clone(), e));
        }
    }
    match (total, failed.pop()) {
        (_, None) => Ok(()),
        (1, Some((_, e))) => Err(e),
        (_, Some(last)) => {
            failed.push(last);
            Err(Batch { verb: Some(verb), total, failed }.into())
        }
    }
}

pub fn start(host: &mut dyn Host, req: &RunRequest, report: &dyn Report) -> Result<(), Error> {
    let cfg = super::config(host)?;
    let names = targets(host, &req.names)?;
    let _lock = guard_unless(req.dry_run, host, &cfg, &names.iter().collect::<Vec<_>>(), report)?;
    let (specs, broken) = load(host, &cfg, names, req.names.all, report)?.startable();
    let known = known_params(host, &specs)?;
    let limits = limits_on(host, &specs, req.no_limits, report)?;
    warn_inert_firewalls(host, &specs, req.dry_run, report);
    let books = Books::read(host, &specs, req.dry_run)?;
    let ctx = StartContext { known: &known, books: &books, limits, batch: &specs, dry_run: req.dry_run };
    each(
        &specs,
        broken,
        Verb::Start,
        |s| (&s.name, &s.depends),
        |s| {
            start_one(host, &cfg, s, &ctx, report)?;
            if req.dry_run {
                return Ok(());
            }
            super::provision::on_first_start(host, &cfg, s, report)
        },
    )
}

pub fn stop(host: &mut dyn Host, req: &RunRequest, report: &dyn Report) -> Result<(), Error> {
    let cfg = super::config(host)?;
    let names = targets(host, &req.names)?;
    let _lock = guard_unless(req.dry_run, host, &cfg, &names.iter().collect::<Vec<_>>(), report)?;
    let Selection { specs, cyclic, broken, .. } = load(host, &cfg, names, req.names.all, report)?;
    // A jail whose definition does not read is stopped as it was started
    // if it runs, and first (what depends on it is unknown); otherwise its
    // definition is the failure to report. Jails caught in a dependency
    // cycle come next: their order is unknown too.
    let mut idle = Vec::new();
    let mut order: Vec<(JailName, Option<&JailSpec>)> = Vec::new();
    for (name, e) in broken {
        if host.jail_find(name.as_str())?.is_some() || super::observe::started(host, &name).is_some() {
            order.push((name, None));
        } else {
            idle.push((name, e));
        }
    }
    order.extend(cyclic.iter().map(|s| (s.name.clone(), Some(s))));
    order.extend(specs.iter().rev().map(|s| (s.name.clone(), Some(s))));
    let around = Surroundings::read(host, &cfg)?;
    // Nothing is skipped: what a jail that failed to stop depends on
    // still stops.
    each(
        &order,
        idle,
        Verb::Stop,
        |(n, _)| (n, &[]),
        |(n, s)| {
            stop_one(host, &cfg, n, *s, &around, req.dry_run, report)?;
            // Stopped by hand: the supervisor owes it no start.
            if !req.dry_run {
                super::health::forgive(host, n).map_err(|e| super::health::watch_error(host, n, &e))?;
            }
            Ok(())
        },
    )
}

pub fn restart(host: &mut dyn Host, req: &RunRequest, report: &dyn Report) -> Result<(), Error> {
    let cfg = super::config(host)?;
    // A jail whose definition does not read is not stopped: it could not
    // be started again.
    let names = targets(host, &req.names)?;
    let _lock = guard_unless(req.dry_run, host, &cfg, &names.iter().collect::<Vec<_>>(), report)?;
    let specs = load(host, &cfg, names, req.names.all, report)?.require_all()?;
    // Refused before anything stops, not after.
    let limits = limits_on(host, &specs, req.no_limits, report)?;
    if !req.dry_run {
        dummynet_on(host, &specs)?;
    }
    warn_inert_firewalls(host, &specs, req.dry_run, report);
    let known = known_params(host, &specs)?;
    let around = Surroundings::read(host, &cfg)?;
    for s in specs.iter().rev() {
        stop_one(host, &cfg, &s.name, Some(s), &around, req.dry_run, report)?;
    }
    if req.dry_run {
        // Once stopped, each starts as a stopped jail does.
        let mut book = pipe_book(host, &specs, true)?;
        for s in &specs {
            let pipes = s.shaping().and_then(|_| book.take());
            let ops = crate::plan::run::start(&cfg, s, &known, crate::plan::run::How { limits, pipes })?;
            report.event(&Event::Steps { jail: &s.name, ops: &ops });
        }
        return Ok(());
    }
    let books = Books::read(host, &specs, false)?;
    let ctx = StartContext { known: &known, books: &books, limits, batch: &specs, dry_run: false };
    each(&specs, Vec::new(), Verb::Start, |s| (&s.name, &s.depends), |s| start_one(host, &cfg, s, &ctx, report))
}
