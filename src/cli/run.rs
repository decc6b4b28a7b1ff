//! `brig start`, `brig stop`, `brig restart`.

use std::process::ExitCode;

use clap::Args;

use super::CliError;
use crate::config::{jail, HostConfig};
use crate::host::params::KernelParams;
use crate::host::{Errno, Host, Interface, MountEntry};
use crate::journal::Action;
use crate::model::jail::JailSpec;
use crate::model::JailName;
use crate::plan::jail::definition_path;
use crate::plan::order::start_order;
use crate::plan::run::{self as plan, StopSeen};

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

/// The selected jails' definitions, validated, in start order.
pub(super) fn selected(host: &dyn Host, cfg: &HostConfig, args: &RunArgs) -> Result<Vec<JailSpec>, CliError> {
    let names: Vec<JailName> = if args.all {
        let files = jail::definition_files(host).unwrap_or_default();
        let mut v: Vec<JailName> = files.iter().filter_map(|p| jail::name_of(p)).collect();
        v.sort();
        v
    } else {
        args.names.iter().map(|n| JailName::parse(n)).collect::<Result<_, _>>()?
    };
    let mut specs = Vec::new();
    for name in names {
        let path = host.local_path(&definition_path(&name));
        if !path.exists() {
            return Err(CliError::NotFound(format!("jail {name} is not defined; `brig list` shows the jails")));
        }
        specs.push(jail::load(&path, &name, cfg)?);
    }
    let refs: Vec<&JailSpec> = specs.iter().collect();
    let order = start_order(&refs).map_err(|e| CliError::Failed(e.to_string()))?;
    let mut sorted: Vec<Option<JailSpec>> = specs.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| sorted[i].take()).collect())
}

fn load_cfg(host: &dyn Host) -> Result<HostConfig, CliError> {
    super::require_config(host)
}

/// The parameters of `specs` this kernel knows, read once for a batch.
pub(super) fn known_params(host: &dyn Host, specs: &[JailSpec]) -> Result<KernelParams, CliError> {
    Ok(crate::observe::known_params(host, specs.iter().flat_map(|s| s.params.iter().map(|p| p.name.as_str())))?)
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
    // A record of a start while the jail is not running: a stop failed
    // half-way and left some of what the start set up (its aliases among
    // them, which the start would otherwise see as someone else's).
    if crate::observe::started(host, &spec.name).is_some() {
        let around = Surroundings::read(host, cfg)?;
        stop_one(host, cfg, spec, &around, false)?;
    }
    super::guard::journaled(host, &spec.name, Action::Start, |h| Ok(crate::exec::run(h, &ops)?))?;
    // The jail is up; a failure to read its jid back is not a failed start.
    match host.jail_find(spec.name.as_str()) {
        Ok(Some(j)) => println!("started jail {} (jid {})", spec.name, j.jid),
        _ => println!("started jail {}", spec.name),
    }
    Ok(())
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
            rules: crate::observe::rctl_rules(host, "jail:")?.unwrap_or_default(),
        })
    }
}

pub(super) fn stop_one(
    host: &mut dyn Host,
    cfg: &HostConfig,
    spec: &JailSpec,
    around: &Surroundings,
    dry_run: bool,
) -> Result<(), CliError> {
    let running = host.jail_find(spec.name.as_str())?;
    let dying = match running {
        Some(_) => None,
        None => crate::observe::dying(host, spec.name.as_str())?,
    };
    let started = crate::observe::started(host, &spec.name);
    let seen = StopSeen {
        running: running.as_ref(),
        dying: dying.as_ref(),
        started: started.as_ref(),
        rules: &around.rules,
        mounts: around.mounts.get(spec.name.as_str()).map_or(&[], Vec::as_slice),
        interfaces: &around.interfaces,
    };
    let ops = plan::stop(cfg, spec, &seen);
    if ops.is_empty() {
        println!("jail {} is not running", spec.name);
        return Ok(());
    }
    if dry_run {
        show(&spec.name, &ops);
        return Ok(());
    }
    super::guard::journaled(host, &spec.name, Action::Stop, |h| Ok(crate::exec::run(h, &ops)?))?;
    if running.is_some() {
        println!("stopped jail {}", spec.name);
    } else {
        println!("jail {} was not running; cleaned up what an earlier stop left", spec.name);
    }
    Ok(())
}

/// The locks of the jails a command changes, with recovery of what a
/// killed brig left half-done to them; a dry run changes nothing.
fn guard_unless(
    dry_run: bool,
    host: &mut dyn Host,
    cfg: &HostConfig,
    specs: &[JailSpec],
) -> Result<Vec<crate::lock::Held>, CliError> {
    if dry_run {
        return Ok(Vec::new());
    }
    let names: Vec<&JailName> = specs.iter().map(|s| &s.name).collect();
    super::guard::guard(host, cfg, &names)
}

pub fn start(host: &mut dyn Host, args: &StartArgs) -> Result<ExitCode, CliError> {
    let cfg = load_cfg(host)?;
    let specs = selected(host, &cfg, &args.run)?;
    let _lock = guard_unless(args.run.dry_run, host, &cfg, &specs)?;
    let known = known_params(host, &specs)?;
    let limits = limits_on(host, &specs, args.no_limits)?;
    for s in &specs {
        start_one(host, &cfg, s, &specs, &known, limits, args.run.dry_run)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn stop(host: &mut dyn Host, args: &RunArgs) -> Result<ExitCode, CliError> {
    let cfg = load_cfg(host)?;
    let specs = selected(host, &cfg, args)?;
    let _lock = guard_unless(args.dry_run, host, &cfg, &specs)?;
    let around = Surroundings::read(host, &cfg)?;
    for s in specs.iter().rev() {
        stop_one(host, &cfg, s, &around, args.dry_run)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn restart(host: &mut dyn Host, args: &StartArgs) -> Result<ExitCode, CliError> {
    let cfg = load_cfg(host)?;
    let run = &args.run;
    let specs = selected(host, &cfg, run)?;
    let _lock = guard_unless(run.dry_run, host, &cfg, &specs)?;
    // Refused before anything stops, not after.
    let limits = limits_on(host, &specs, args.no_limits)?;
    let known = known_params(host, &specs)?;
    let around = Surroundings::read(host, &cfg)?;
    for s in specs.iter().rev() {
        stop_one(host, &cfg, s, &around, run.dry_run)?;
    }
    if run.dry_run {
        // Once stopped, each starts as a stopped jail does.
        for s in &specs {
            let ops = plan::start(&cfg, s, &known, limits).map_err(|e| CliError::Failed(e.to_string()))?;
            show(&s.name, &ops);
        }
        return Ok(ExitCode::SUCCESS);
    }
    for s in &specs {
        start_one(host, &cfg, s, &specs, &known, limits, false)?;
    }
    Ok(ExitCode::SUCCESS)
}
