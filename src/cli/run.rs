//! `brig start`, `brig stop`, `brig restart`.

use std::process::ExitCode;

use clap::Args;

use super::CliError;
use crate::config::{jail, HostConfig};
use crate::host::{Errno, Host, Interface, MountEntry};
use crate::kernel::params::KernelParams;
use crate::model::jail::JailSpec;
use crate::model::JailName;
use crate::plan::addresses::AddressBook;
use crate::plan::order::start_order;
use crate::plan::run::{self as plan, StopSeen};
use crate::state::journal::Action;
use crate::state::layout::definition_path;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The jails [or --all].
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub names: Vec<String>,
    /// Every defined jail.
    #[arg(long)]
    pub all: bool,
    /// Print the steps instead of performing them.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Start jails that define limits without their rctl rules when kern.racct.enable is 0 (with a warning).
    #[arg(long)]
    pub no_limits: bool,
}

/// Whether a start applies its jails' rctl rules: always when racct is on;
/// when it is off, only refused for jails that have rules, unless the user
/// accepted starting them without (`--no-limits`).
pub(super) fn limits_on(host: &dyn Host, specs: &[JailSpec], no_limits: bool) -> Result<bool, CliError> {
    let Some(first) = specs.iter().find(|s| !s.limits.rules.is_empty()) else { return Ok(true) };
    let racct = match host.sysctl_get("kern.racct.enable") {
        Ok(v) => v.as_int().unwrap_or(0) != 0,
        Err(e) if e.errno == Errno::ENOENT => false,
        Err(e) => return Err(e.into()),
    };
    if racct {
        return Ok(true);
    }
    if no_limits {
        eprintln!("brig: warning: kern.racct.enable is 0, so the jails start without their rctl limits");
        return Ok(false);
    }
    Err(CliError::Failed(format!(
        "jail {} has limits but kern.racct.enable is 0 on this host; add kern.racct.enable=1 to /boot/loader.conf and reboot, or pass --no-limits to start it without them",
        first.name
    )))
}

/// The jails a batch command works on: the valid definitions in start
/// order, and the jails whose definition does not read, each with why.
/// One broken definition never keeps the others from being handled.
pub(super) struct Selection {
    pub specs: Vec<JailSpec>,
    pub broken: Vec<(JailName, CliError)>,
}

impl Selection {
    /// The broken definitions as errors, for commands that need every
    /// definition they were given (a single named jail keeps its own
    /// error and exit code).
    pub fn require_all(self) -> Result<Vec<JailSpec>, CliError> {
        match broken_error(self.broken, self.specs.len()) {
            None => Ok(self.specs),
            Some(e) => Err(e),
        }
    }
}

/// The failure a command that handled `handled` good definitions owes for
/// the broken ones: none without any, a lone jail's own error (and exit
/// code) when it was the only one, else one line per broken definition.
pub(super) fn broken_error(mut broken: Vec<(JailName, CliError)>, handled: usize) -> Option<CliError> {
    match broken.len() {
        0 => None,
        1 if handled == 0 => Some(broken.remove(0).1),
        _ => Some(CliError::Failed(report_broken(&broken))),
    }
}

/// One line per broken definition, for the end of a batch.
pub(super) fn report_broken(broken: &[(JailName, CliError)]) -> String {
    broken.iter().map(|(_, e)| e.to_string()).collect::<Vec<_>>().join("\nbrig: ")
}

/// The jails a batch names (every defined one with `--all`; a name given
/// twice counts once). Only names: a command locks them before it reads
/// their definitions (`load`), so it never acts on a definition another
/// brig changed or removed meanwhile.
pub(super) fn targets(host: &dyn Host, args: &RunArgs) -> Result<Vec<JailName>, CliError> {
    if args.all {
        let files = jail::definition_files(host)?;
        let mut v: Vec<JailName> = files.iter().filter_map(|p| jail::name_of(p)).collect();
        v.sort();
        return Ok(v);
    }
    let mut v: Vec<JailName> = Vec::new();
    for n in &args.names {
        let n = JailName::parse(n)?;
        if !v.contains(&n) {
            v.push(n);
        }
    }
    Ok(v)
}

/// The definitions of `names`, validated, in start order. With `all`, a
/// jail whose definition went away since it was listed (destroyed by
/// another brig) is skipped with a sentence; a named one is an error,
/// unless it still runs from a start record (a stop follows that).
pub(super) fn load(host: &dyn Host, cfg: &HostConfig, names: Vec<JailName>, all: bool) -> Result<Selection, CliError> {
    let mut specs = Vec::new();
    let mut broken = Vec::new();
    for name in names {
        let path = host.local_path(&definition_path(&name));
        match jail::load(&path, &name, cfg) {
            Ok(spec) => specs.push(spec),
            Err(crate::config::ConfigError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                let e = CliError::NotFound(format!("jail {name} is not defined; `brig list` shows the jails"));
                if crate::app::observe::started(host, &name).is_some() {
                    // Deleted while it runs: a stop still follows its record.
                    broken.push((name, e));
                } else if all {
                    eprintln!("brig: jail {name} was destroyed meanwhile; skipped");
                } else {
                    return Err(e);
                }
            }
            Err(e) => broken.push((name, e.into())),
        }
    }
    let refs: Vec<&JailSpec> = specs.iter().collect();
    let order = start_order(&refs).map_err(|e| CliError::Failed(e.to_string()))?;
    let mut sorted: Vec<Option<JailSpec>> = specs.into_iter().map(Some).collect();
    Ok(Selection { specs: order.into_iter().filter_map(|i| sorted[i].take()).collect(), broken })
}

/// `targets` and `load` at once, for a command that changes nothing.
pub(super) fn selected(host: &dyn Host, cfg: &HostConfig, args: &RunArgs) -> Result<Selection, CliError> {
    load(host, cfg, targets(host, args)?, args.all)
}

/// Runs `one` on each jail in order and goes on after a failure; a jail
/// that depends on one that failed is skipped (`key` gives each item's
/// jail and what it waits for). Every failure is reported; a batch of one
/// jail fails with that jail's own error.
fn each<T>(
    items: &[T],
    mut failed: Vec<(JailName, CliError)>,
    verb: &str,
    key: impl Fn(&T) -> (&JailName, &[JailName]),
    mut one: impl FnMut(&T) -> Result<(), CliError>,
) -> Result<ExitCode, CliError> {
    let total = items.len() + failed.len();
    for item in items {
        let (name, deps) = key(item);
        let outcome = match deps.iter().find(|d| failed.iter().any(|(n, _)| &n == d)) {
            Some(d) => Err(CliError::Failed(format!("jail {name} skipped: it depends on {d}, which did not {verb}"))),
            None => one(item),
        };
        if let Err(e) = outcome {
            failed.push((name.clone(), e));
        }
    }
    if total == 1 {
        return match failed.pop() {
            Some((_, e)) => Err(e),
            None => Ok(ExitCode::SUCCESS),
        };
    }
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let names: Vec<String> = failed.iter().map(|(n, _)| n.to_string()).collect();
    Err(CliError::Failed(format!(
        "{}\nbrig: {} of {total} jails did not {verb}: {}",
        report_broken(&failed),
        failed.len(),
        names.join(", ")
    )))
}

fn load_cfg(host: &dyn Host) -> Result<HostConfig, CliError> {
    super::require_config(host)
}

/// The parameters of `specs` this kernel knows, read once for a batch.
pub(super) fn known_params(host: &dyn Host, specs: &[JailSpec]) -> Result<KernelParams, CliError> {
    Ok(crate::app::observe::known_params(host, specs.iter().flat_map(|s| s.params.iter().map(|p| p.name.as_str())))?)
}

/// Prints a plan's steps, each after its jail's name (`--dry-run`, and
/// the changes apply and limits make).
pub(super) fn show(name: &JailName, ops: &[crate::plan::Op]) {
    for op in ops {
        println!("{name}: {op}");
    }
}

pub(super) fn start_one(
    host: &mut dyn Host,
    cfg: &HostConfig,
    spec: &JailSpec,
    batch: &[JailSpec],
    known: &KernelParams,
    limits: bool,
    dry_run: bool,
) -> Result<(), CliError> {
    if let Some(j) = host.jail_find(spec.name.as_str())? {
        if let Some(why) = crate::app::observe::foreign(host, cfg, &spec.name, &j) {
            return Err(CliError::Failed(why));
        }
        println!("jail {} is already running (jid {})", spec.name, j.jid);
        return Ok(());
    }
    for dep in &spec.depends {
        let in_batch = batch.iter().any(|s| &s.name == dep);
        if !in_batch && host.jail_find(dep.as_str())?.is_none() {
            return Err(CliError::Failed(format!(
                "jail {} depends on {dep}, which is not running; start {dep} first",
                spec.name
            )));
        }
    }
    let ops = plan::start(cfg, spec, known, limits).map_err(|e| CliError::Failed(e.to_string()))?;
    if dry_run {
        show(&spec.name, &ops);
        return Ok(());
    }
    addresses_free(host, spec, &[])?;
    // A record of a start while the jail is not running: a stop failed
    // half-way and left some of what the start set up (its aliases among
    // them, which the start would otherwise see as someone else's).
    if crate::app::observe::started(host, &spec.name).is_some() {
        let around = Surroundings::read(host, cfg)?;
        stop_one(host, cfg, &spec.name, Some(spec), &around, false)?;
    }
    super::guard::journaled(host, &spec.name, Action::Start, |h| Ok(crate::exec::run(h, &ops)?))?;
    // The jail is up; a failure to read its jid back is not a failed start.
    match host.jail_find(spec.name.as_str()) {
        Ok(Some(j)) => println!("started jail {} (jid {})", spec.name, j.jid),
        _ => println!("started jail {}", spec.name),
    }
    Ok(())
}

/// Refuses addresses of `spec` that are somebody else's: the host's own,
/// a running jail's, or one of `defined`'s, naming who. (At start, exec's
/// own check refuses too, but knows only interfaces.)
pub(super) fn addresses_free(host: &dyn Host, spec: &JailSpec, defined: &[JailSpec]) -> Result<(), CliError> {
    let mine = crate::plan::addresses::of(spec);
    if mine.is_empty() {
        return Ok(());
    }
    let book = AddressBook::new(&host.interfaces()?, &host.jail_list()?, defined);
    refuse_taken(&book, host, spec)
}

/// `addresses_free` with the machine's addresses read once for a batch.
pub(super) fn refuse_taken(book: &AddressBook, host: &dyn Host, spec: &JailSpec) -> Result<(), CliError> {
    let mine = crate::plan::addresses::of(spec);
    if mine.is_empty() {
        return Ok(());
    }
    let own: Vec<std::net::IpAddr> = crate::app::observe::started(host, &spec.name)
        .map(|s| s.aliases.iter().map(|a| a.addr.addr()).collect())
        .unwrap_or_default();
    let taken = book.taken(&spec.name, &mine, &own);
    if taken.is_empty() {
        return Ok(());
    }
    let said: Vec<String> = taken.iter().map(ToString::to_string).collect();
    Err(CliError::Failed(format!("jail {}: {}; choose another address", spec.name, said.join(", "))))
}

/// The mounts, interfaces and jail rctl rules of the machine, read once
/// for a batch of stops: each stop only touches its own root, aliases and
/// rules.
pub(super) struct Surroundings {
    /// By jail name (plan::run::mounts_by_jail).
    pub mounts: std::collections::HashMap<String, Vec<MountEntry>>,
    pub interfaces: Vec<Interface>,
    pub rules: Vec<String>,
}

impl Surroundings {
    pub fn read(host: &dyn Host, cfg: &HostConfig) -> Result<Surroundings, CliError> {
        Ok(Surroundings {
            mounts: plan::mounts_by_jail(cfg, &host.mounts()?),
            interfaces: host.interfaces()?,
            rules: crate::app::observe::rctl_rules(host, "jail:")?.unwrap_or_default(),
        })
    }
}

/// Stops jail `name`, following its definition, or without one that
/// reads (`spec` None) the record of its start.
pub(super) fn stop_one(
    host: &mut dyn Host,
    cfg: &HostConfig,
    name: &JailName,
    spec: Option<&JailSpec>,
    around: &Surroundings,
    dry_run: bool,
) -> Result<(), CliError> {
    let running = host.jail_find(name.as_str())?;
    if let Some(why) = running.as_ref().and_then(|j| crate::app::observe::foreign(host, cfg, name, j)) {
        return Err(CliError::Failed(why));
    }
    let dying = match running {
        Some(_) => None,
        None => crate::app::observe::dying(host, name.as_str())?,
    };
    let started = crate::app::observe::started(host, name);
    let seen = StopSeen {
        running: running.as_ref(),
        dying: dying.as_ref(),
        started: started.as_ref(),
        rules: &around.rules,
        mounts: around.mounts.get(name.as_str()).map_or(&[], Vec::as_slice),
        interfaces: &around.interfaces,
    };
    let ops = plan::stop(cfg, name, spec, &seen);
    if ops.is_empty() {
        println!("jail {name} is not running");
        return Ok(());
    }
    if spec.is_none() {
        eprintln!("brig: jail {name}: its definition does not read; stopping it as it was started");
    }
    if dry_run {
        show(name, &ops);
        return Ok(());
    }
    super::guard::journaled(host, name, Action::Stop, |h| Ok(crate::exec::run(h, &ops)?))?;
    if running.is_some() {
        println!("stopped jail {name}");
    } else {
        println!("jail {name} was not running; cleaned up what an earlier stop left");
    }
    Ok(())
}

/// The locks of the jails a command changes, with recovery of what a
/// killed brig left half-done to them; a dry run changes nothing.
fn guard_unless(
    dry_run: bool,
    host: &mut dyn Host,
    cfg: &HostConfig,
    names: &[&JailName],
) -> Result<Vec<crate::state::lock::Held>, CliError> {
    if dry_run {
        return Ok(Vec::new());
    }
    super::guard::guard(host, cfg, names)
}

pub fn start(host: &mut dyn Host, args: &StartArgs) -> Result<ExitCode, CliError> {
    let cfg = load_cfg(host)?;
    let names = targets(host, &args.run)?;
    let _lock = guard_unless(args.run.dry_run, host, &cfg, &names.iter().collect::<Vec<_>>())?;
    let Selection { specs, broken } = load(host, &cfg, names, args.run.all)?;
    let known = known_params(host, &specs)?;
    let limits = limits_on(host, &specs, args.no_limits)?;
    each(
        &specs,
        broken,
        "start",
        |s| (&s.name, &s.depends),
        |s| start_one(host, &cfg, s, &specs, &known, limits, args.run.dry_run),
    )
}

pub fn stop(host: &mut dyn Host, args: &RunArgs) -> Result<ExitCode, CliError> {
    let cfg = load_cfg(host)?;
    let names = targets(host, args)?;
    let _lock = guard_unless(args.dry_run, host, &cfg, &names.iter().collect::<Vec<_>>())?;
    let Selection { specs, broken } = load(host, &cfg, names, args.all)?;
    // A jail whose definition does not read is stopped as it was started
    // if it runs, and first (what depends on it is unknown); otherwise its
    // definition is the failure to report.
    let mut idle = Vec::new();
    let mut order: Vec<(JailName, Option<&JailSpec>)> = Vec::new();
    for (name, e) in broken {
        if host.jail_find(name.as_str())?.is_some() || crate::app::observe::started(host, &name).is_some() {
            order.push((name, None));
        } else {
            idle.push((name, e));
        }
    }
    order.extend(specs.iter().rev().map(|s| (s.name.clone(), Some(s))));
    let around = Surroundings::read(host, &cfg)?;
    // Nothing is skipped: what a jail that failed to stop depends on
    // still stops.
    each(&order, idle, "stop", |(n, _)| (n, &[]), |(n, s)| stop_one(host, &cfg, n, *s, &around, args.dry_run))
}

pub fn restart(host: &mut dyn Host, args: &StartArgs) -> Result<ExitCode, CliError> {
    let cfg = load_cfg(host)?;
    let run = &args.run;
    // A jail whose definition does not read is not stopped: it could not
    // be started again.
    let names = targets(host, run)?;
    let _lock = guard_unless(run.dry_run, host, &cfg, &names.iter().collect::<Vec<_>>())?;
    let specs = load(host, &cfg, names, run.all)?.require_all()?;
    // Refused before anything stops, not after.
    let limits = limits_on(host, &specs, args.no_limits)?;
    let known = known_params(host, &specs)?;
    let around = Surroundings::read(host, &cfg)?;
    for s in specs.iter().rev() {
        stop_one(host, &cfg, &s.name, Some(s), &around, run.dry_run)?;
    }
    if run.dry_run {
        // Once stopped, each starts as a stopped jail does.
        for s in &specs {
            let ops = plan::start(&cfg, s, &known, limits).map_err(|e| CliError::Failed(e.to_string()))?;
            show(&s.name, &ops);
        }
        return Ok(ExitCode::SUCCESS);
    }
    each(
        &specs,
        Vec::new(),
        "start",
        |s| (&s.name, &s.depends),
        |s| start_one(host, &cfg, s, &specs, &known, limits, false),
    )
}
