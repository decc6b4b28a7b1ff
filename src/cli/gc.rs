//! `brig gc`: what brig made that nothing owns any more, removed.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::output::{print_json, table};
use super::report::reporter;
use super::CliError;
use crate::app::gc::{gc, Collect};
use crate::host::Host;
use crate::plan::gc::Orphan;

#[derive(Debug, Args)]
pub struct GcArgs {
    /// List the orphans and why, without removing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Destroy the datasets of jails without a definition too (they hold data; a definition moved aside would lose it).
    #[arg(long)]
    pub datasets: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
struct OrphanJson<'a> {
    #[serde(flatten)]
    orphan: &'a Orphan,
    why: String,
    /// null on a dry run.
    removed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct GcJson<'a> {
    /// Whether anything was removed.
    changed: bool,
    dry_run: bool,
    orphans: Vec<OrphanJson<'a>>,
}

/// Exit 1 when something listed could not be removed.
pub fn run(host: &mut dyn Host, args: &GcArgs) -> Result<ExitCode, CliError> {
    // JSON alone on standard output; each orphan's error is in it.
    let report = reporter(args.json);
    let collected = gc(host, Collect { dry_run: args.dry_run, datasets: args.datasets }, report)?;
    let failed = collected.iter().any(|c| matches!(c.removed, Some(Err(_))));
    let code = if failed { ExitCode::from(1) } else { ExitCode::SUCCESS };
    if args.json {
        let orphans = collected
            .iter()
            .map(|c| OrphanJson {
                orphan: &c.orphan,
                why: c.orphan.why(),
                removed: c.removed.as_ref().map(Result::is_ok),
                error: c.removed.as_ref().and_then(|r| r.as_ref().err()).map(ToString::to_string),
            })
            .collect();
        let changed = collected.iter().any(|c| matches!(c.removed, Some(Ok(()))));
        print_json(&GcJson { changed, dry_run: args.dry_run, orphans })?;
        return Ok(code);
    }
    if collected.is_empty() {
        println!("nothing to collect");
        return Ok(code);
    }
    let rows = collected
        .iter()
        .map(|c| {
            let result = match &c.removed {
                None if args.dry_run => "would be removed".to_string(),
                None => "kept: pass --datasets to destroy it".to_string(),
                Some(Ok(())) => "removed".to_string(),
                Some(Err(e)) => format!("failed: {e}"),
            };
            vec![c.orphan.jail().to_string(), c.orphan.what(), c.orphan.why(), result]
        })
        .collect();
    println!("{}", table(&["JAIL", "ORPHAN", "WHY", "RESULT"], rows));
    Ok(code)
}
