//! `brig exec`, `brig console` and `brig pkg`.

use std::process::ExitCode;

use clap::Args;

use super::CliError;
use crate::app::enter;
use crate::host::Host;
use crate::model::JailName;

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The running jail.
    pub name: String,
    /// Run as this user of the jail [default: root].
    #[arg(long, short)]
    pub user: Option<String>,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// The running jail.
    pub name: String,
    /// Log in as this user of the jail [default: root].
    #[arg(long, short)]
    pub user: Option<String>,
}

#[derive(Debug, Args)]
pub struct PkgArgs {
    /// The running jail.
    pub name: String,
    /// pkg(8)'s arguments, after `--` (such as `-- install -y nginx`).
    #[arg(last = true, required = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// The command's exit status is brig's (a status above 255 or a signal
/// becomes 1..=255 the way a shell reports it).
fn exit_with(status: i32) -> ExitCode {
    ExitCode::from(u8::try_from(status).unwrap_or(1))
}

pub fn exec(host: &mut dyn Host, args: &ExecArgs) -> Result<ExitCode, CliError> {
    let name = JailName::parse(&args.name)?;
    Ok(exit_with(enter::exec(host, &name, args.user.as_deref(), &args.command)?))
}

/// A login shell inside, like `jexec NAME login -f root`.
pub fn console(host: &mut dyn Host, args: &ConsoleArgs) -> Result<ExitCode, CliError> {
    let name = JailName::parse(&args.name)?;
    Ok(exit_with(enter::console(host, &name, args.user.as_deref().unwrap_or("root"))?))
}

/// `pkg -j JID ARGS`: the host's pkg(8) on the jail's packages; its exit
/// status is brig's.
pub fn pkg(host: &mut dyn Host, args: &PkgArgs) -> Result<ExitCode, CliError> {
    let name = JailName::parse(&args.name)?;
    Ok(exit_with(enter::pkg(host, &name, &args.args, crate::host::Stdio::Inherit)?.status))
}
