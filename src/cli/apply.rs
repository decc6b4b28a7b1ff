//! `brig plan` and `brig apply`: make the machine match the definitions.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::output::print_json;
use super::run::{known_params, limits_on, start_one, stop_one, RunArgs, Selection, Surroundings};
use super::CliError;
use crate::config::HostConfig;
use crate::host::{GetFlags, Host, JailKey};
use crate::model::jail::JailSpec;
use crate::model::JailName;
use crate::plan::apply::{self as plan, JailPlan, Restart, Running, Seen};
use crate::plan::run::jail_params;

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The jails to compare [default: every defined jail].
    pub names: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The jails to change [default: every defined jail].
    pub names: Vec<String>,
    /// Restart running jails whose changes the kernel only takes at creation.
    #[arg(long)]
    pub restart: bool,
}

/// The plans of `specs`, from one read of the machine plus one jail_get
/// per running jail: no process is spawned.
pub(super) fn plans(host: &dyn Host, cfg: &HostConfig, specs: &[JailSpec]) -> Result<Vec<JailPlan>, CliError> {
    let seen = crate::app::observe::machine(host, cfg)?;
    // A running jail brig did not start is left alone: planned as if it
    // were not running, with a note saying why.
    let foreign: std::collections::BTreeMap<&str, String> = specs
        .iter()
        .filter_map(|s| {
            let j = seen.jails.get(s.name.as_str())?;
            Some((s.name.as_str(), crate::app::observe::foreign(host, cfg, &s.name, j)?))
        })
        .collect();
    let up = |s: &JailSpec| seen.jails.get(s.name.as_str()).filter(|_| !foreign.contains_key(s.name.as_str()));
    let known = crate::app::observe::known_params(
        host,
        specs.iter().filter(|s| up(s).is_some()).flat_map(|s| s.params.iter().map(|p| p.name.as_str())),
    )?;
    let rules = crate::app::observe::rctl_rules(host, "jail:")?;
    let ncpu = host.sysctl_get("hw.ncpu")?.as_int().and_then(|n| u32::try_from(n).ok()).unwrap_or(1);
    let mounts = crate::plan::run::mounts_by_jail(cfg, &seen.mounts);
    let mut out = Vec::new();
    for spec in specs {
        let started = crate::app::observe::started(host, &spec.name);
        let (wanted, live, cpus) = match up(spec) {
            Some(j) => {
                let wanted = jail_params(cfg, spec, &known).map_err(|e| CliError::Failed(e.to_string()))?;
                let names: Vec<&str> = wanted.iter().map(|p| p.name.as_str()).filter(|n| *n != "name").collect();
                let live = host.jail_get(&JailKey::Jid(j.jid), &names, GetFlags::ALIVE)?;
                (wanted, live, host.cpuset_get(j.jid)?)
            }
            None => (Vec::new(), Vec::new(), Vec::new()),
        };
        let running =
            up(spec).map(|jail| Running { jail, wanted: &wanted, live: &live, started: started.as_ref(), cpus: &cpus });
        let view = Seen {
            datasets: &seen.datasets,
            rules: rules.as_deref(),
            ncpu,
            mounts: mounts.get(spec.name.as_str()).map_or(&[], Vec::as_slice),
            interfaces: &seen.interfaces,
            running,
        };
        let mut p = plan::jail(cfg, spec, &view).map_err(|e| CliError::Failed(e.to_string()))?;
        p.notes.extend(foreign.get(spec.name.as_str()).cloned().map(crate::plan::apply::Note::NotBrigs));
        out.push(p);
    }
    Ok(out)
}

/// The selected definitions; none named means every one. A definition
/// that does not read is named at the end and makes the exit status 1;
/// the others are planned and applied.
fn specs(host: &dyn Host, cfg: &HostConfig, names: &[String]) -> Result<Selection, CliError> {
    super::run::selected(host, cfg, &RunArgs { names: names.to_vec(), all: names.is_empty(), dry_run: false })
}

/// The exit of a command that handled every definition it could: the
/// broken ones fail it, named.
/// A single jail named alone keeps its own error and exit code.
fn finish(broken: Vec<(JailName, CliError)>, handled: usize) -> Result<ExitCode, CliError> {
    super::run::broken_error(broken, handled).map_or(Ok(ExitCode::SUCCESS), Err)
}

#[derive(Serialize)]
struct PlanJson<'a> {
    jails: Vec<JailJson<'a>>,
    /// How many operations apply would perform.
    changes: usize,
}

#[derive(Serialize)]
struct JailJson<'a> {
    name: String,
    state: &'static str,
    in_sync: bool,
    operations: Vec<String>,
    restart: &'a [Restart],
    notes: Vec<String>,
}

fn state(p: &JailPlan) -> &'static str {
    if p.running {
        "running"
    } else {
        "stopped"
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn nothing_to_do(jails: usize) -> String {
    if jails == 1 {
        "nothing to do: 1 jail matches its definition".into()
    } else {
        format!("nothing to do: {jails} jails match their definitions")
    }
}

pub fn plan(host: &dyn Host, args: &PlanArgs) -> Result<ExitCode, CliError> {
    let cfg = super::require_config(host)?;
    let Selection { specs, broken } = specs(host, &cfg, &args.names)?;
    let plans = plans(host, &cfg, &specs)?;
    let changes = plans.iter().map(|p| p.ops.len()).sum();
    if args.json {
        let jails = plans
            .iter()
            .map(|p| JailJson {
                name: p.name.to_string(),
                state: state(p),
                in_sync: p.in_sync(),
                operations: p.ops.iter().map(ToString::to_string).collect(),
                restart: &p.restart,
                notes: p.notes.iter().map(ToString::to_string).collect(),
            })
            .collect();
        print_json(&PlanJson { jails, changes })?;
        return finish(broken, specs.len());
    }
    for p in plans.iter().filter(|p| !p.in_sync() || !p.notes.is_empty()) {
        println!("{} ({}):", p.name, state(p));
        for op in &p.ops {
            println!("  {op}");
        }
        for r in &p.restart {
            println!("  needs a restart: {r}");
        }
        for n in &p.notes {
            println!("  note: {n}");
        }
    }
    let restarts = plans.iter().filter(|p| !p.restart.is_empty()).count();
    if changes == 0 && restarts == 0 {
        println!("{}", nothing_to_do(plans.len()));
    } else {
        let touched = plans.iter().filter(|p| !p.ops.is_empty()).count();
        let mut summary = format!("{} to {}", plural(changes, "change"), plural(touched, "jail"));
        if restarts > 0 {
            summary.push_str(&format!("; {} need a restart (`brig apply --restart`)", plural(restarts, "jail")));
        }
        println!("{summary}");
    }
    finish(broken, specs.len())
}

pub fn apply(host: &mut dyn Host, args: &ApplyArgs) -> Result<ExitCode, CliError> {
    let cfg = super::require_config(host)?;
    // Locked before their definitions are read: what is applied is what
    // the definition says while no other brig can change it.
    let run = RunArgs { names: args.names.clone(), all: args.names.is_empty(), dry_run: false };
    let names = super::run::targets(host, &run)?;
    let _lock = super::guard::guard(host, &cfg, &names.iter().collect::<Vec<_>>())?;
    let Selection { specs, broken } = super::run::load(host, &cfg, names, run.all)?;
    let plans = plans(host, &cfg, &specs)?;
    let mut changes = 0;
    let mut pending: Vec<&JailPlan> = Vec::new();
    for (p, spec) in plans.iter().zip(&specs) {
        if !p.restart.is_empty() {
            // A restart sets everything at once; half of it live first
            // would only be a second interruption.
            if args.restart {
                let around = Surroundings::read(host, &cfg)?;
                stop_one(host, &cfg, &spec.name, Some(spec), &around, false)?;
                let known = known_params(host, std::slice::from_ref(spec))?;
                let limits = limits_on(host, std::slice::from_ref(spec), false)?;
                start_one(host, &cfg, spec, &specs, &known, limits, false)?;
                changes += 1;
            } else {
                pending.push(p);
            }
            continue;
        }
        if p.ops.is_empty() {
            continue;
        }
        super::run::show(&p.name, &p.ops);
        let action =
            if p.provisions { crate::state::journal::Action::Provision } else { crate::state::journal::Action::Apply };
        super::guard::journaled(host, &p.name, action, |h| {
            crate::exec::run(h, &p.ops).map_err(|e| CliError::Failed(format!("jail {}: {e}", p.name)))
        })?;
        changes += p.ops.len();
    }
    for n in plans.iter().flat_map(|p| p.notes.iter()) {
        eprintln!("brig: note: {n}");
    }
    if !pending.is_empty() {
        for (_, e) in &broken {
            eprintln!("brig: {e}");
        }
        let what: Vec<String> = pending
            .iter()
            .map(|p| {
                let params: Vec<&str> = p.restart.iter().map(|r| r.param.as_str()).collect();
                format!("{} ({})", p.name, params.join(", "))
            })
            .collect();
        let names: Vec<String> = pending.iter().map(|p| p.name.to_string()).collect();
        return Err(CliError::Failed(format!(
            "{} must restart for changes the running jail cannot take: {}; nothing was changed there; run `brig apply --restart {}`",
            if pending.len() == 1 { "this jail" } else { "these jails" },
            what.join("; "),
            names.join(" ")
        )));
    }
    if changes == 0 {
        println!("{}", nothing_to_do(plans.len()));
    } else {
        println!("applied {}", plural(changes, "change"));
    }
    finish(broken, specs.len())
}
