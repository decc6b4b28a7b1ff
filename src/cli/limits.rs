//! `brig limits NAME [set|unset]` and `brig stats`.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::output::{print_json, rctl_amount, table};
use super::report::reporter;
use super::CliError;
use crate::app::limits::{self, Change, Changed, Usage};
use crate::host::Host;
use crate::model::JailName;

#[derive(Debug, Args)]
pub struct LimitsArgs {
    /// The jail.
    pub name: String,
    /// Print JSON instead of a table (with set or unset: changed and effect).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub change: Option<LimitsChange>,
}

#[derive(Debug, Subcommand)]
pub enum LimitsChange {
    /// Set limits (RESOURCE=AMOUNT, cpus=LIST, bandwidth_in=BITS or bandwidth_out=BITS) in the definition and on the running jail.
    Set {
        /// Such as memoryuse=1G, maxproc=200, 'readbps={ amount = "10M", action = "log" }' or cpus=0-3.
        #[arg(required = true, value_name = "RESOURCE=AMOUNT")]
        values: Vec<String>,
        /// Say whether the definition would change and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove limits from the definition and from the running jail.
    Unset {
        #[arg(required = true, value_name = "RESOURCE")]
        resources: Vec<String>,
        /// Say whether the definition would change and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

impl LimitsChange {
    /// Whether it only says what would change.
    pub fn dry_run(&self) -> bool {
        match self {
            LimitsChange::Set { dry_run, .. } | LimitsChange::Unset { dry_run, .. } => *dry_run,
        }
    }
}

/// `brig limits NAME set|unset --json`.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct ChangeJson<'a> {
    jail: &'a str,
    changed: bool,
    dry_run: bool,
    /// What was done: pending is a dry run's change.
    #[schemars(extend("enum" = ["unchanged", "pending", "stopped", "not-brigs", "live", "live-but-bandwidth"]))]
    effect: &'static str,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print JSON instead of a table.
    #[arg(long, conflicts_with = "prometheus")]
    pub json: bool,
    /// Print the Prometheus text format (for node_exporter's textfile collector).
    #[arg(long)]
    pub prometheus: bool,
}

/// The resources `brig stats` shows, in its column order.
const STATS: &[&str] = &["memoryuse", "pcpu", "maxproc", "openfiles", "readbps", "writebps"];

pub fn run(host: &mut dyn Host, args: &LimitsArgs) -> Result<ExitCode, CliError> {
    let name = JailName::parse(&args.name)?;
    let (change, dry_run) = match &args.change {
        None => return show(host, &name, args.json),
        Some(c @ LimitsChange::Set { values, .. }) => (Change::Set(values.clone()), c.dry_run()),
        Some(c @ LimitsChange::Unset { resources, .. }) => (Change::Unset(resources.clone()), c.dry_run()),
    };
    let changed = limits::change(host, &name, &change, dry_run, reporter(args.json))?;
    if args.json {
        let effect = match changed {
            Changed::Unchanged => "unchanged",
            Changed::Pending => "pending",
            Changed::Stopped => "stopped",
            Changed::NotBrigs => "not-brigs",
            Changed::Live => "live",
            Changed::LiveButBandwidth => "live-but-bandwidth",
        };
        let changed = !matches!(changed, Changed::Unchanged);
        print_json(&ChangeJson { jail: name.as_str(), changed, dry_run, effect })?;
        return Ok(ExitCode::SUCCESS);
    }
    match changed {
        Changed::Unchanged => println!("the limits of {name} are already so"),
        Changed::Pending => println!("would update the limits of {name}"),
        Changed::Stopped => println!("updated the limits of {name}; they apply when it starts"),
        Changed::NotBrigs => println!("updated the limits of {name}; they apply when brig starts it"),
        Changed::Live => println!("updated the limits of {name}, live"),
        Changed::LiveButBandwidth => println!(
            "updated the limits of {name}, live but for its bandwidth limits, which start and end with the jail: `brig restart {name}` applies them"
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn show(host: &dyn Host, name: &JailName, json: bool) -> Result<ExitCode, CliError> {
    let view = limits::show(host, name)?;
    if json {
        print_json(&view)?;
        return Ok(ExitCode::SUCCESS);
    }
    if view.limits.is_empty() && view.cpus.is_none() && view.bandwidth.is_none() {
        println!("jail {name} has no limits");
        return Ok(ExitCode::SUCCESS);
    }
    let dash = || "-".to_string();
    let body = view
        .limits
        .iter()
        .map(|r| {
            vec![
                r.limit.resource.to_string(),
                format!(
                    "{}{}",
                    rctl_amount(r.limit.resource, r.limit.amount),
                    if r.limit.per_process { "/process" } else { "" }
                ),
                r.limit.action.clone(),
                if view.running {
                    if r.active {
                        "yes".into()
                    } else {
                        "no".into()
                    }
                } else {
                    dash()
                },
                r.usage.map_or_else(dash, |u| rctl_amount(r.limit.resource, u)),
            ]
        })
        .collect();
    println!("{}", table(&["RESOURCE", "AMOUNT", "ACTION", "ACTIVE", "USAGE"], body));
    if let Some(c) = &view.cpus {
        println!("cpus: {c}");
    }
    if let Some(b) = &view.bandwidth {
        println!("bandwidth: {b}");
    }
    if view.running && !view.racct {
        eprintln!("brig: kern.racct.enable is 0: no limit is enforced; add kern.racct.enable=1 to /boot/loader.conf and reboot");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct StatsJson {
    jails: Vec<Usage>,
}

pub fn stats(host: &dyn Host, args: &StatsArgs) -> Result<ExitCode, CliError> {
    let rows = limits::stats(host)?;
    if args.prometheus {
        let watched = crate::app::health::supervised(host)?;
        print!("{}", super::prometheus::render(&rows, &watched));
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        print_json(&StatsJson { jails: rows })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut header = vec!["NAME", "JID"];
    header.extend_from_slice(STATS);
    let body = rows
        .iter()
        .map(|r| {
            let mut v = vec![r.name.clone(), r.jid.to_string()];
            v.extend(STATS.iter().map(|s| r.usage.get(*s).map_or_else(|| "-".into(), |n| rctl_amount(s, *n))));
            v
        })
        .collect();
    println!("{}", table(&header, body));
    Ok(ExitCode::SUCCESS)
}
