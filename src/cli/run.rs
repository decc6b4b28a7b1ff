//! `brig start`, `brig stop`, `brig restart`.

use std::process::ExitCode;

use clap::Args;

use super::report::Printer;
use super::CliError;
use crate::app::run::{self, RunRequest};
use crate::app::select::Names;
use crate::host::Host;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The jails [or --all].
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub names: Vec<String>,
    /// Every defined jail.
    #[arg(long)]
    pub all: bool,
    /// Print the steps instead of performing them.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Start jails that define limits without their rctl rules when kern.racct.enable is 0 (with a warning).
    #[arg(long)]
    pub no_limits: bool,
}

impl RunArgs {
    pub fn names(&self) -> Names {
        Names { names: self.names.clone(), all: self.all }
    }

    fn request(&self, no_limits: bool) -> RunRequest {
        RunRequest { names: self.names(), dry_run: self.dry_run, no_limits }
    }
}

pub fn start(host: &mut dyn Host, args: &StartArgs) -> Result<ExitCode, CliError> {
    run::start(host, &args.run.request(args.no_limits), &Printer)?;
    Ok(ExitCode::SUCCESS)
}

pub fn stop(host: &mut dyn Host, args: &RunArgs) -> Result<ExitCode, CliError> {
    run::stop(host, &args.request(false), &Printer)?;
    Ok(ExitCode::SUCCESS)
}

pub fn restart(host: &mut dyn Host, args: &StartArgs) -> Result<ExitCode, CliError> {
    run::restart(host, &args.run.request(args.no_limits), &Printer)?;
    Ok(ExitCode::SUCCESS)
}
