//! `brig run`.

use std::process::ExitCode;

use clap::Args;

use super::report::Printer;
use super::CliError;
use crate::app::ephemeral::{run_once, RunOnce};
use crate::host::Host;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The release to clone, such as 14.3-RELEASE.
    #[arg(long, conflicts_with = "image")]
    pub release: Option<String>,
    /// The image to clone (`brig commit`).
    #[arg(long)]
    pub image: Option<String>,
    /// Destroy the jail afterwards (otherwise it is kept, stopped).
    #[arg(long)]
    pub rm: bool,
    /// The jail's name [default: run-PID-N].
    #[arg(long)]
    pub name: Option<String>,
    /// An IPv4 address with prefix length for the jail (repeatable).
    #[arg(long, value_name = "ADDR/LEN")]
    pub ip4: Vec<String>,
    /// The host interface the addresses go on.
    #[arg(long, value_name = "IF")]
    pub interface: Option<String>,
    /// An rctl limit, such as memoryuse=512M (repeatable).
    #[arg(long = "limit", value_name = "RES=AMOUNT")]
    pub limits: Vec<String>,
    /// Run as this user of the jail [default: root].
    #[arg(long, short)]
    pub user: Option<String>,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// The command's exit status is brig's.
pub fn run(host: &mut dyn Host, args: &RunArgs) -> Result<ExitCode, CliError> {
    let req = RunOnce {
        name: args.name.clone(),
        release: args.release.clone(),
        image: args.image.clone(),
        ip4: args.ip4.clone(),
        interface: args.interface.clone(),
        limits: args.limits.clone(),
        rm: args.rm,
        user: args.user.clone(),
        command: args.command.clone(),
    };
    let ran = run_once(host, &req, &Printer)?;
    if ran.kept {
        eprintln!("brig: jail {} is kept, stopped; `brig destroy {}` removes it", ran.name, ran.name);
    }
    Ok(ExitCode::from(u8::try_from(ran.status).unwrap_or(1)))
}
