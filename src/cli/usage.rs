//! `brig usage`: what a jail used over a time, for billing.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::output::{print_json, size};
use super::CliError;
use crate::host::Host;
use crate::model::snapshot::{parse_interval, SnapshotName};
use crate::model::JailName;
use crate::plan::usage::Totals;

#[derive(Debug, Args)]
pub struct UsageArgs {
    pub name: String,
    /// Only the last INTERVAL, such as 12h, 30d or 4w; every sample kept when not given.
    #[arg(long, value_name = "INTERVAL")]
    pub since: Option<String>,
    /// Print JSON instead of lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct UsageJson<'a> {
    jail: &'a str,
    since: u64,
    #[serde(flatten)]
    totals: &'a Totals,
}

pub fn run(host: &dyn Host, args: &UsageArgs) -> Result<ExitCode, CliError> {
    let name = JailName::parse(&args.name)?;
    let since = match &args.since {
        Some(s) => {
            let secs = parse_interval(s).map_err(|why| CliError::Usage(format!("--since {s}: {why}")))?;
            crate::app::now().saturating_sub(secs)
        }
        None => 0,
    };
    let t = crate::app::usage::usage(host, &name, since)?;
    if args.json {
        print_json(&UsageJson { jail: name.as_str(), since, totals: &t })?;
        return Ok(ExitCode::SUCCESS);
    }
    let at = |u: Option<u64>| u.map_or_else(|| "-".to_string(), |u| SnapshotName::at(u).to_string());
    println!("jail {name}: {} samples from {} to {}", t.samples, at(t.from), at(t.to));
    println!("cpu: {} s", t.cpu_seconds);
    println!("memory: {:.3} GiB-hours", t.memory_byte_hours / f64::from(1u32 << 30));
    println!("I/O: {}", size(t.io_bytes));
    println!("covered: {} s", t.covered_seconds);
    Ok(ExitCode::SUCCESS)
}
