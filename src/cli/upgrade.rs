//! `brig upgrade`: jails to their release's newest patch level or to
//! another release; each failure is taken back and makes the exit
//! status 1.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::host_choice::{self, HostChoice};
use super::output::print_json;
use super::report::{reporter, Printer};
use super::CliError;
use crate::app::select::Names;
use crate::app::upgrade::{self, Outcome, Target, UpgradeRequest};
use crate::app::Error;
use crate::model::{JailName, ReleaseName};

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// The jails to upgrade.
    #[arg(required_unless_present = "all")]
    pub names: Vec<String>,
    /// Every jail brig manages.
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    /// To the newest patch level of the release each names (the default).
    #[arg(long, conflicts_with = "to")]
    pub patch: bool,
    /// To another release, which must be fetched (thin jails).
    #[arg(long, value_name = "RELEASE")]
    pub to: Option<String>,
    /// Stop running jails around the upgrade and start them again.
    #[arg(long)]
    pub restart: bool,
    /// Then upgrade each jail's packages (pkg -j JID upgrade -y; the jail must run); a failure takes the base back too.
    #[arg(long, conflicts_with = "rollback")]
    pub packages: bool,
    /// Show what would be upgraded; change nothing.
    #[arg(long, conflicts_with = "rollback")]
    pub dry_run: bool,
    /// How many jails are upgraded at the same time.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Undo the last upgrade of the named jail: its previous root back (a thick jail: its upgrade snapshot).
    #[arg(long, conflicts_with_all = ["all", "to", "patch"])]
    pub rollback: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `brig upgrade --json`.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct UpgradeJson {
    /// Whether any jail's base or packages were upgraded.
    changed: bool,
    jails: Vec<JailJson>,
}

#[derive(Serialize, schemars::JsonSchema)]
struct JailJson {
    jail: String,
    #[serde(flatten)]
    outcome: Option<Outcome>,
    error: Option<String>,
}

pub fn run(choice: Option<HostChoice>, args: &UpgradeArgs) -> Result<ExitCode, CliError> {
    let mut host = host_choice::open(choice.clone())?;
    if args.rollback {
        let [name] = args.names.as_slice() else {
            return Err(Error::Usage("--rollback undoes the upgrade of one jail; name it".into()).into());
        };
        let name = JailName::parse(name)?;
        let now = upgrade::rollback(&mut *host, &name, args.restart, &Printer)?;
        println!("rolled back jail {name}: it is on {now} again");
        return Ok(ExitCode::SUCCESS);
    }
    let target = match &args.to {
        Some(r) => Target::To(ReleaseName::parse(r)?),
        None => Target::Patch,
    };
    let req = UpgradeRequest { target, restart: args.restart, dry_run: args.dry_run, packages: args.packages };
    let connect = || host_choice::open(choice.clone()).map_err(|e| Error::Usage(e.to_string()));
    let names = Names { names: args.names.clone(), all: args.all };
    let results = upgrade::upgrade_all(&mut *host, &connect, &names, &req, args.jobs, reporter(args.json))?;
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    if args.json {
        let rows: Vec<JailJson> = results
            .into_iter()
            .map(|(n, r)| match r {
                Ok(o) => JailJson { jail: n.to_string(), outcome: Some(o), error: None },
                Err(e) => JailJson { jail: n.to_string(), outcome: None, error: Some(e.to_string()) },
            })
            .collect();
        let changed = rows
            .iter()
            .any(|j| matches!(j.outcome, Some(Outcome::Upgraded { .. } | Outcome::Unchanged { packages: true, .. })));
        print_json(&UpgradeJson { changed, jails: rows })?;
    } else {
        let (mut upgraded, mut unchanged) = (0, 0);
        for (name, r) in &results {
            match r {
                Ok(Outcome::Upgraded { from, to, carried, merged, kept, snapshot, packages }) => {
                    upgraded += 1;
                    let own = carried.map_or(String::new(), |n| format!(", {n} of its own changes carried"));
                    let pkgs = if *packages { ", its packages upgraded" } else { "" };
                    println!("upgraded jail {name}: {from} -> {to}{own}{pkgs} (snapshot before: {snapshot})");
                    if !merged.is_empty() {
                        println!("  merged: {}", merged.join(", "));
                    }
                    if !kept.is_empty() {
                        println!("  kept its own copies, which the new release changes too: {}", kept.join(", "));
                    }
                }
                Ok(Outcome::Would { from, to }) => println!("would upgrade jail {name}: {from} -> {to}"),
                Ok(Outcome::Unchanged { version, packages }) => {
                    unchanged += 1;
                    let pkgs = if *packages { "; its packages upgraded" } else { "" };
                    println!("jail {name} is up to date ({version}){pkgs}");
                }
                Err(e) => eprintln!("brig: jail {name}: {e}"),
            }
        }
        if results.len() > 1 && !args.dry_run {
            println!("{upgraded} upgraded, {unchanged} unchanged, {failed} failed and left as they were");
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
