use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::output::{print_json, table};
use super::CliError;
use crate::app::doctor::{self, Check, Status};
use crate::host::Host;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct DoctorJson<'a> {
    ok: bool,
    checks: &'a [Check],
}

/// Exit 1 when any check fails; warnings alone exit 0.
pub fn run(host: &dyn Host, args: &DoctorArgs) -> Result<ExitCode, CliError> {
    let checks = doctor::judge(&doctor::observe(host));
    let ok = checks.iter().all(|c| c.status != Status::Fail);
    if args.json {
        print_json(&DoctorJson { ok, checks: &checks })?;
    } else {
        let rows =
            checks.iter().map(|c| vec![c.status.as_str().to_string(), c.name.clone(), c.detail.clone()]).collect();
        println!("{}", table(&["STATUS", "CHECK", "DETAIL"], rows));
        // Fixes go below the table, where a long one does not widen it.
        for c in checks.iter().filter(|c| !c.fix.is_empty()) {
            println!("{} {}: {}", c.status.as_str(), c.name, c.fix);
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
