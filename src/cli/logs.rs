//! `brig logs`: a jail's console log.

use std::process::ExitCode;

use std::io::IsTerminal;

use clap::Args;

use super::output::TerminalSafe;
use super::CliError;
use crate::app::logs::show;
use crate::host::Host;
use crate::model::JailName;

#[derive(Debug, Args)]
pub struct LogsArgs {
    pub name: String,
    /// Show this many lines from the end.
    #[arg(short = 'n', long, default_value_t = 50, value_name = "N")]
    pub lines: usize,
    /// Keep printing what is appended, across a rotation, until interrupted.
    #[arg(short = 'f', long)]
    pub follow: bool,
}

pub fn run(host: &dyn Host, args: &LogsArgs) -> Result<ExitCode, CliError> {
    let name = JailName::parse(&args.name)?;
    let stop =
        crate::release::interrupt::catch().map_err(|e| crate::app::Error::from(crate::app::Refused::Interrupt(e)))?;
    let stdout = std::io::stdout();
    // What a jail wrote reaches a terminal only as text; a pipe gets it
    // as it is.
    if stdout.is_terminal() {
        show(host, &name, args.lines, args.follow, stop, &mut TerminalSafe::new(stdout.lock()))?;
    } else {
        show(host, &name, args.lines, args.follow, stop, &mut stdout.lock())?;
    }
    Ok(ExitCode::SUCCESS)
}
