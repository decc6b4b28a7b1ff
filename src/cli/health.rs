//! `brig health` (run the checks now) and `brig supervise` (run them on
//! their intervals and restart per policy, until stopped).

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::output::{print_json, printable, table};
use super::report::Printer;
use super::{host_choice, CliError, HostChoice};
use crate::app::health::JailHealth;
use crate::app::select::Names;
use crate::app::supervise::{supervise, Options};
use crate::app::Error;
use crate::plan::supervise::Status;

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The jails to check; every jail with a [health] check when none is named.
    pub names: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SuperviseArgs {
    /// Checks run at the same time.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
    /// Look at every jail once, restart what needs it, and exit.
    #[arg(long)]
    pub once: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct HealthJson<'a> {
    jails: &'a [JailHealth],
}

/// Exit 1 when a jail is unhealthy (or down), so a monitoring script can
/// use the status alone.
pub fn health(host: &mut dyn crate::host::Host, args: &HealthArgs) -> Result<ExitCode, CliError> {
    let found = crate::app::health::health(host, &Names { names: args.names.clone(), all: false })?;
    let jails = &found.jails;
    let bad = jails.iter().any(|j| matches!(j.status, Status::Unhealthy | Status::Down));
    let code = if bad { ExitCode::from(1) } else { ExitCode::SUCCESS };
    if args.json {
        print_json(&HealthJson { jails })?;
    } else if jails.is_empty() {
        println!("no jail has a [health] check");
    } else {
        let rows = jails
            .iter()
            .map(|j| {
                vec![
                    j.name.to_string(),
                    j.status.as_str().to_string(),
                    j.check.clone(),
                    j.restart.to_string(),
                    j.restarts.to_string(),
                    printable(j.output.lines().last().unwrap_or_default()),
                ]
            })
            .collect();
        println!("{}", table(&["NAME", "STATUS", "CHECK", "RESTART", "RESTARTS", "OUTPUT"], rows));
    }
    // A definition that does not read is named after the others' health.
    match crate::app::broken(found.broken, jails.len()) {
        Some(e) => Err(e.into()),
        None => Ok(code),
    }
}

pub fn run_supervisor(choice: Option<HostChoice>, args: &SuperviseArgs) -> Result<ExitCode, CliError> {
    let mut host = host_choice::open(choice.clone())?;
    // Each worker thread runs its checks through its own connection.
    let connect = || host_choice::open(choice.clone()).map_err(|e| Error::Usage(e.to_string()));
    supervise(&mut *host, &connect, &Options { jobs: args.jobs, once: args.once }, &Printer)?;
    Ok(ExitCode::SUCCESS)
}
