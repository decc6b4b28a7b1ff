//! `brig snapshot`, `brig snapshot list|destroy`, `brig rollback`.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::output::{print_json, size, table};
use super::release::utc;
use super::report::Printer;
use super::CliError;
use crate::app::snapshot::{self, JailSnapshots, RollbackOptions};
use crate::host::Host;
use crate::model::snapshot::SnapshotName;
use crate::model::JailName;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SnapshotArgs {
    #[command(subcommand)]
    pub action: Option<SnapshotCommand>,
    #[command(flatten)]
    pub take: TakeArgs,
}

#[derive(Debug, Args)]
pub struct TakeArgs {
    /// The jail whose datasets (root, delegated datasets) to snapshot, all at one instant.
    #[arg(required = true)]
    pub name: Option<String>,
    /// The snapshot's name: letters, digits, '-', '_', '.', ':' (default: the time now in UTC, such as 2026-12-06T10:40:00Z).
    pub snap: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Take a snapshot: the same as `brig snapshot NAME [SNAP]` (for a jail named list, prune, create or destroy).
    Create(TakeArgs),
    /// List the snapshots of a jail, or of every jail, oldest first.
    List {
        /// The jail (default: every jail).
        name: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Take each jail's automatic snapshot when due and destroy those past `keep` ([snapshots]); what periodic(8) runs.
    Prune {
        /// The jails (default: every jail with [snapshots]).
        names: Vec<String>,
        /// Say what would be taken and destroyed, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Destroy a snapshot of a jail: every dataset's, at once.
    Destroy {
        /// The jail.
        name: String,
        /// The snapshot.
        snap: String,
    },
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The jail to roll back.
    pub name: String,
    /// The snapshot to roll its datasets back to.
    pub snap: String,
    /// Stop the jail if it runs, and start it after the rollback.
    #[arg(long)]
    pub restart: bool,
    /// Destroy the snapshots taken after SNAP, which the rollback must take.
    #[arg(long)]
    pub force: bool,
}

pub fn run(host: &mut dyn Host, args: &SnapshotArgs) -> Result<ExitCode, CliError> {
    match &args.action {
        None => take(host, &args.take),
        Some(SnapshotCommand::Create(t)) => take(host, t),
        Some(SnapshotCommand::List { name, json }) => list(host, name.as_deref(), *json),
        Some(SnapshotCommand::Prune { names, dry_run }) => {
            snapshot::prune(host, &crate::app::select::Names::or_all(names), *dry_run, &Printer)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(SnapshotCommand::Destroy { name, snap }) => {
            let (name, snap) = (JailName::parse(name)?, SnapshotName::parse(snap)?);
            snapshot::destroy(host, &name, &snap, &Printer)?;
            println!("destroyed snapshot {snap} of jail {name}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn take(host: &mut dyn Host, args: &TakeArgs) -> Result<ExitCode, CliError> {
    let name = JailName::parse(args.name.as_deref().unwrap_or_default())?;
    let snap = args.snap.as_deref().map(SnapshotName::parse).transpose()?;
    let snap = snapshot::take(host, &name, snap, &Printer)?;
    println!("took snapshot {snap} of jail {name}");
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct ListJson {
    jails: Vec<JailSnapshots>,
}

fn list(host: &dyn Host, name: Option<&str>, json: bool) -> Result<ExitCode, CliError> {
    let name = name.map(JailName::parse).transpose()?;
    let jails = snapshot::list(host, name.as_ref())?;
    if json {
        print_json(&ListJson { jails })?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows = jails
        .iter()
        .flat_map(|j| {
            j.snapshots.iter().map(|s| {
                let mut note = Vec::new();
                if !s.missing.is_empty() {
                    note.push(format!("not of {}", s.missing.join(", ")));
                }
                if !s.clones.is_empty() {
                    note.push(format!("cloned to {}", s.clones.join(", ")));
                }
                vec![j.jail.clone(), s.name.clone(), utc(s.created), size(s.used), note.join("; ")]
            })
        })
        .collect();
    println!("{}", table(&["JAIL", "SNAPSHOT", "CREATED", "USED", "NOTE"], rows));
    Ok(ExitCode::SUCCESS)
}

pub fn rollback(host: &mut dyn Host, args: &RollbackArgs) -> Result<ExitCode, CliError> {
    let (name, snap) = (JailName::parse(&args.name)?, SnapshotName::parse(&args.snap)?);
    let how = RollbackOptions { restart: args.restart, force: args.force };
    let done = snapshot::rollback(host, &name, &snap, how, &Printer)?;
    let mut line = format!("rolled jail {name} back to {snap}");
    if !done.destroyed.is_empty() {
        line.push_str(&format!(", destroying the later snapshots {}", done.destroyed.join(", ")));
    }
    if done.started {
        line.push_str(", and started it");
    }
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}
