//! `brig boot start|stop|plan`: what rc.d/brig runs at boot and shutdown.
//! Waves (plan::boot) run one after the other; the jails of a wave start
//! or stop in parallel, each worker thread with its own connection to the
//! host. A failed jail does not stop the others; the jails that depend on
//! it are skipped; both are reported and make the exit status 1.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Subcommand;
use serde::Serialize;

use super::host_choice::{self, HostChoice};
use super::output::print_json;
use super::run::{known_params, limits_on, start_one, stop_one, Surroundings};
use super::CliError;
use crate::config::{jail, HostConfig};
use crate::host::{Command, Host, Place};
use crate::model::jail::{JailSpec, Ready};
use crate::model::JailName;
use crate::plan::boot::{waves, Waves};

#[derive(Debug, Subcommand)]
pub enum BootCommand {
    /// Start every jail with boot = true (and what they depend on), wave by wave.
    Start {
        /// How many jails of a wave start at the same time.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
        jobs: u16,
        /// Start jails that define limits without them when kern.racct.enable is 0.
        #[arg(long)]
        no_limits: bool,
    },
    /// Stop every running jail brig manages, in the reverse waves.
    Stop {
        /// How many jails of a wave stop at the same time.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
        jobs: u16,
    },
    /// Print the waves `boot start` would run.
    Plan {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Every valid definition, and each jail whose definition does not read
/// with a sentence saying why.
fn definitions(host: &dyn Host, cfg: &HostConfig) -> (Vec<JailSpec>, Vec<(JailName, String)>) {
    let mut specs = Vec::new();
    let mut invalid = Vec::new();
    for path in jail::definition_files(host).unwrap_or_default() {
        let Some(name) = jail::name_of(&path) else { continue };
        match jail::load(&path, &name, cfg) {
            Ok(s) => specs.push(s),
            Err(e) => invalid.push((name, e.to_string())),
        }
    }
    (specs, invalid)
}

/// Runs `work` on every jail of `wave` with up to `jobs` threads, each
/// with a host of its own; the outcome per jail, in wave order.
fn parallel<'a>(
    choice: &Option<HostChoice>,
    jobs: u16,
    wave: &[&'a JailSpec],
    work: &(dyn Fn(&mut dyn Host, &JailSpec) -> Result<(), String> + Sync),
) -> Vec<(&'a JailSpec, Result<(), String>)> {
    let queue = Mutex::new(wave.iter().copied().enumerate().collect::<std::collections::VecDeque<_>>());
    let results = Mutex::new(BTreeMap::new());
    let workers = usize::from(jobs).min(wave.len()).max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut host = host_choice::open(choice.clone());
                while let Some((i, spec)) = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None) {
                    let outcome = match &mut host {
                        Ok(h) => work(&mut **h, spec),
                        Err(e) => Err(e.to_string()),
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
fn wait_ready(host: &mut dyn Host, spec: &JailSpec, ready: &Ready) -> Result<(), String> {
    let jid = host.jail_find(spec.name.as_str()).map_err(|e| e.to_string())?.map(|j| j.jid);
    let jid = jid.ok_or_else(|| format!("jail {} is not running", spec.name))?;
    let deadline = Instant::now() + Duration::from_secs(u64::from(ready.timeout));
    loop {
        // A probe that hangs is killed when the time is up.
        let mut probe = Command::new("/bin/sh").args(["-c", ready.command.as_str()]);
        probe.deadline = Some(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100)));
        let out = host.spawn(&probe, Place::Jail(jid)).map_err(|e| e.to_string())?;
        if out.status == 0 && !out.timed_out {
            return Ok(());
        }
        if out.timed_out {
            return Err(format!(
                "started, but not ready after {} s: `{}` was still running and was killed",
                ready.timeout, ready.command
            ));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "started, but not ready after {} s: `{}` last exited with status {}",
                ready.timeout, ready.command, out.status
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

type Invalid = Vec<(JailName, String)>;

fn plan_of(host: &dyn Host, cfg: &HostConfig) -> (Vec<JailSpec>, Invalid, Waves) {
    let (specs, invalid) = definitions(host, cfg);
    let w = waves(&specs, &|s| s.boot, true);
    (specs, invalid, w)
}

#[derive(Serialize)]
struct WaveJson {
    wave: usize,
    jails: Vec<String>,
}

#[derive(Serialize)]
struct PulledJson {
    jail: String,
    needed_by: String,
}

#[derive(Serialize)]
struct BlockedJson {
    jail: String,
    why: String,
}

#[derive(Serialize)]
struct PlanJson {
    waves: Vec<WaveJson>,
    pulled_in: Vec<PulledJson>,
    /// Jails that cannot start (dependencies undefined or in a cycle).
    blocked: Vec<BlockedJson>,
    invalid: Vec<String>,
}

pub fn run(choice: Option<HostChoice>, cmd: &BootCommand) -> Result<ExitCode, CliError> {
    let mut host = host_choice::open(choice.clone())?;
    let cfg = super::require_config(&*host)?;
    match cmd {
        BootCommand::Plan { json } => {
            let (specs, invalid, w) = plan_of(&*host, &cfg);
            let ok = invalid.is_empty() && w.blocked.is_empty();
            let code = if ok { ExitCode::SUCCESS } else { ExitCode::from(1) };
            let list = |wave: &Vec<usize>| wave.iter().map(|&i| specs[i].name.to_string()).collect::<Vec<_>>();
            if *json {
                print_json(&PlanJson {
                    waves: w
                        .waves
                        .iter()
                        .enumerate()
                        .map(|(n, wave)| WaveJson { wave: n + 1, jails: list(wave) })
                        .collect(),
                    pulled_in: w
                        .pulled_in
                        .iter()
                        .map(|(j, b)| PulledJson { jail: j.clone(), needed_by: b.clone() })
                        .collect(),
                    blocked: w
                        .blocked
                        .iter()
                        .map(|(j, why)| BlockedJson { jail: j.clone(), why: why.clone() })
                        .collect(),
                    invalid: invalid.into_iter().map(|(_, e)| e).collect(),
                })?;
                return Ok(code);
            }
            for (n, wave) in w.waves.iter().enumerate() {
                println!("wave {}: {}", n + 1, list(wave).join(" "));
            }
            for (j, by) in &w.pulled_in {
                println!("{j} starts too: {by} depends on it");
            }
            if w.waves.is_empty() {
                println!("no jail has boot = true");
            }
            for (j, why) in &w.blocked {
                eprintln!("brig: jail {j} cannot start: {why}");
            }
            for (_, e) in &invalid {
                eprintln!("brig: {e}");
            }
            Ok(code)
        }
        BootCommand::Start { jobs, no_limits } => start(&mut *host, &choice, &cfg, *jobs, *no_limits),
        BootCommand::Stop { jobs } => stop(&mut *host, &choice, &cfg, *jobs),
    }
}

fn start(
    host: &mut dyn Host,
    choice: &Option<HostChoice>,
    cfg: &HostConfig,
    jobs: u16,
    no_limits: bool,
) -> Result<ExitCode, CliError> {
    let began = Instant::now();
    let (specs, invalid, w) = plan_of(host, cfg);
    let names: Vec<&crate::model::JailName> = w.waves.iter().flatten().map(|&i| &specs[i].name).collect();
    let _lock = super::guard::guard(host, cfg, &names)?;
    let known = known_params(host, &specs)?;
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    // Jails whose dependencies cannot be met are skipped; the rest start.
    let mut skipped: BTreeMap<String, String> = w.blocked.iter().cloned().collect();
    let mut started = 0;
    for wave in &w.waves {
        let mut runnable = Vec::new();
        for &i in wave {
            let s = &specs[i];
            match s.depends.iter().find(|d| failed.contains_key(d.as_str()) || skipped.contains_key(d.as_str())) {
                Some(d) => {
                    skipped.insert(s.name.to_string(), format!("it depends on {d}, which did not start"));
                }
                None => runnable.push(s),
            }
        }
        let work = |h: &mut dyn Host, s: &JailSpec| -> Result<(), String> {
            let limits = limits_on(h, std::slice::from_ref(s), no_limits).map_err(|e| e.to_string())?;
            start_one(h, cfg, s, &[], &known, limits, false).map_err(|e| e.to_string())?;
            match &s.ready {
                Some(r) => wait_ready(h, s, r),
                None => Ok(()),
            }
        };
        for (s, outcome) in parallel(choice, jobs, &runnable, &work) {
            match outcome {
                Ok(()) => started += 1,
                Err(e) => {
                    eprintln!("brig: jail {}: {e}", s.name);
                    failed.insert(s.name.to_string(), e);
                }
            }
        }
    }
    for (j, why) in &skipped {
        eprintln!("brig: jail {j} skipped: {why}");
    }
    for (_, e) in &invalid {
        eprintln!("brig: {e}");
    }
    println!(
        "boot: {started} jails started in {} waves in {:.1} s; {} failed, {} skipped",
        w.waves.len(),
        began.elapsed().as_secs_f64(),
        failed.len(),
        skipped.len()
    );
    let ok = failed.is_empty() && skipped.is_empty() && invalid.is_empty();
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn stop(host: &mut dyn Host, choice: &Option<HostChoice>, cfg: &HostConfig, jobs: u16) -> Result<ExitCode, CliError> {
    let (specs, invalid) = definitions(host, cfg);
    let running: BTreeSet<String> = host.jail_list()?.into_iter().filter(|j| !j.dying).map(|j| j.name).collect();
    // Running, or left half-stopped by a stop that was killed: its start
    // record is still there, and the stop finishes it.
    let ours = |name: &JailName| running.contains(name.as_str()) || crate::app::observe::started(host, name).is_some();
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
    let _lock = super::guard::guard(host, cfg, &names)?;
    let around = Surroundings::read(host, cfg)?;
    let mut failed = 0;
    for (name, spec) in first {
        if let Err(e) = stop_one(host, cfg, name, spec, &around, false) {
            eprintln!("brig: jail {name}: {e}");
            failed += 1;
        }
    }
    for wave in w.waves.iter().rev() {
        let jails: Vec<&JailSpec> = wave.iter().map(|&i| &specs[i]).collect();
        let work = |h: &mut dyn Host, s: &JailSpec| {
            stop_one(h, cfg, &s.name, Some(s), &around, false).map_err(|e| e.to_string())
        };
        for (s, outcome) in parallel(choice, jobs, &jails, &work) {
            if let Err(e) = outcome {
                eprintln!("brig: jail {}: {e}", s.name);
                failed += 1;
            }
        }
    }
    for (_, e) in &invalid {
        eprintln!("brig: {e}");
    }
    Ok(if failed == 0 && invalid.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
