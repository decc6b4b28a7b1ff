use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, CliError};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

pub fn run(args: &CompletionsArgs) -> Result<ExitCode, CliError> {
    clap_complete::generate(args.shell, &mut Cli::command(), "brig", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
