//! `brig plan` and `brig apply`: make the machine match the definitions.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::output::print_json;
use super::report::{reporter, Printer};
use super::CliError;
use crate::app::{self, apply::Planned};
use crate::host::Host;
use crate::plan::apply::{JailPlan, Restart};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The jails to compare [default: every defined jail].
    pub names: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Exit 0 when there is nothing to do, 2 when apply has changes to make (or jails to restart, or provision steps to run), 1 on any error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The jails to change [default: every defined jail].
    pub names: Vec<String>,
    /// Restart running jails whose changes the kernel only takes at creation.
    #[arg(long)]
    pub restart: bool,
    /// Print JSON: whether anything changed, and what, by jail.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct ApplyJson<'a> {
    /// Whether anything changed: Ansible's `changed`.
    changed: bool,
    changes: usize,
    jails: &'a [crate::app::apply::ChangedJail],
    notes: &'a [String],
}

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct PlanJson<'a> {
    jails: Vec<JailJson<'a>>,
    /// How many operations apply would perform.
    changes: usize,
}

#[derive(Serialize, schemars::JsonSchema)]
struct JailJson<'a> {
    name: String,
    state: &'static str,
    in_sync: bool,
    operations: Vec<String>,
    restart: &'a [Restart],
    notes: Vec<String>,
    provision: Option<&'a crate::app::provision::Preview>,
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

/// The exit of a command that handled every definition it could: the
/// broken ones fail it, named; a single jail named alone keeps its own
/// error and exit code.
fn finish(broken: Vec<(crate::model::JailName, app::Error)>, handled: usize) -> Result<ExitCode, CliError> {
    app::broken(broken, handled).map_or(Ok(ExitCode::SUCCESS), |e| Err(e.into()))
}

/// With `--detailed-exitcode`, like terraform's: 0 nothing to do, 2
/// changes pending, 1 any error.
pub fn plan(host: &dyn Host, args: &PlanArgs) -> Result<ExitCode, CliError> {
    let (outcome, pending) = show_plan(host, args);
    match (outcome, args.detailed_exitcode) {
        (Err(e), true) => Err(CliError::Failed(Box::new(e))),
        (Ok(_), true) if pending => Ok(ExitCode::from(2)),
        (outcome, _) => outcome,
    }
}

/// Prints the plan; whether apply, a restart or provisioning has work.
fn show_plan(host: &dyn Host, args: &PlanArgs) -> (Result<ExitCode, CliError>, bool) {
    let Planned { plans, provisions, broken } = match app::apply::plan(host, &args.names, &Printer) {
        Ok(p) => p,
        Err(e) => return (Err(e.into()), false),
    };
    let pending = plans.iter().any(|p| !p.ops.is_empty() || !p.restart.is_empty())
        || provisions.iter().flatten().any(|v| v.would_run() > 0);
    (print_plan(plans, provisions, broken, args), pending)
}

fn print_plan(
    plans: Vec<JailPlan>,
    provisions: Vec<Option<crate::app::provision::Preview>>,
    broken: Vec<(crate::model::JailName, app::Error)>,
    args: &PlanArgs,
) -> Result<ExitCode, CliError> {
    let changes = plans.iter().map(|p| p.ops.len()).sum();
    if args.json {
        let jails = plans
            .iter()
            .zip(&provisions)
            .map(|(p, provision)| JailJson {
                provision: provision.as_ref(),
                name: p.name.to_string(),
                state: state(p),
                in_sync: p.in_sync(),
                operations: p.ops.iter().map(ToString::to_string).collect(),
                restart: &p.restart,
                notes: p.notes.iter().map(ToString::to_string).collect(),
            })
            .collect();
        print_json(&PlanJson { jails, changes })?;
        return finish(broken, plans.len());
    }
    for (p, provision) in plans.iter().zip(&provisions) {
        let steps = provision.as_ref().filter(|v| v.would_run() > 0);
        if p.in_sync() && p.notes.is_empty() && steps.is_none() {
            continue;
        }
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
        if let Some(v) = steps {
            match &v.restore {
                crate::plan::provision::Restore::Nothing => {}
                crate::plan::provision::Restore::Rollback { snapshot, .. } => {
                    println!(
                        "  provision: the root goes back to its layer {snapshot}; what changed in it since is lost"
                    )
                }
                crate::plan::provision::Restore::Replace { origin } => println!(
                    "  provision: the root is replaced by a fresh clone of {origin}; what changed in it is lost"
                ),
            }
            for s in &v.steps {
                let how = if s.cached { "cached" } else { "would run" };
                println!("  provision step {}/{} {}: {}: {how}", s.n, v.steps.len(), s.place, s.step);
            }
            println!(
                "  note: `brig provision {}` runs {} of its {}",
                p.name,
                v.would_run(),
                plural(v.steps.len(), "step")
            );
        }
    }
    let restarts = plans.iter().filter(|p| !p.restart.is_empty()).count();
    let steps: usize = provisions.iter().flatten().map(|v| v.would_run()).sum();
    if changes == 0 && restarts == 0 && steps > 0 {
        println!("nothing for apply to do; `brig provision` would run {}", plural(steps, "step"));
    } else if changes == 0 && restarts == 0 {
        println!("{}", nothing_to_do(plans.len()));
    } else {
        let touched = plans.iter().filter(|p| !p.ops.is_empty()).count();
        let mut summary = format!("{} to {}", plural(changes, "change"), plural(touched, "jail"));
        if restarts > 0 {
            summary.push_str(&format!("; {} need a restart (`brig apply --restart`)", plural(restarts, "jail")));
        }
        println!("{summary}");
    }
    finish(broken, plans.len())
}

pub fn apply(host: &mut dyn Host, args: &ApplyArgs) -> Result<ExitCode, CliError> {
    let report = reporter(args.json);
    let applied = app::apply::apply(host, &args.names, args.restart, report)?;
    if args.json {
        let changed = applied.changes > 0;
        print_json(&ApplyJson { changed, changes: applied.changes, jails: &applied.changed, notes: &applied.notes })?;
    } else if applied.changes == 0 {
        println!("{}", nothing_to_do(applied.jails));
    } else {
        println!("applied {}", plural(applied.changes, "change"));
    }
    finish(applied.broken, applied.jails)
}
