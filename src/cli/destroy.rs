//! `brig destroy`.

use std::process::ExitCode;

use clap::Args;

use super::report::Printer;
use super::CliError;
use crate::host::Host;
use crate::model::JailName;

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The jail to destroy.
    pub name: String,
    /// Stop a running jail first (its processes are killed), and destroy it even if other jails depend on it.
    #[arg(long)]
    pub force: bool,
}

pub fn run(host: &mut dyn Host, args: &DestroyArgs) -> Result<ExitCode, CliError> {
    let name = JailName::parse(&args.name)?;
    crate::app::destroy::destroy(host, &name, args.force, &Printer)?;
    println!("destroyed jail {name}");
    Ok(ExitCode::SUCCESS)
}
