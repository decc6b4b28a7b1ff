//! `brig exec` and `brig console`: running something inside a jail, as
//! jexec(8) does (attach, change to the jail's root, become the user).

use std::process::ExitCode;

use clap::Args;

use super::CliError;
use crate::host::{Command, Host, Place, Stdio};
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

/// The jid of brig's running jail `name`; a jail of that name brig did
/// not start is refused.
fn jid_of(host: &dyn Host, name: &str) -> Result<i32, CliError> {
    let name = JailName::parse(name)?;
    let cfg = super::require_config(host)?;
    match host.jail_find(name.as_str())? {
        Some(j) => match crate::app::observe::foreign(host, &cfg, &name, &j) {
            Some(why) => Err(CliError::Failed(why)),
            None => Ok(j.jid),
        },
        None => Err(CliError::Failed(format!("jail {name} is not running; start it first"))),
    }
}

/// The command's exit status is brig's (a status above 255 or a signal
/// becomes 1..=255 the way a shell reports it).
fn exit_with(status: i32) -> ExitCode {
    ExitCode::from(u8::try_from(status).unwrap_or(1))
}

pub fn exec(host: &mut dyn Host, args: &ExecArgs) -> Result<ExitCode, CliError> {
    let jid = jid_of(host, &args.name)?;
    let (program, rest) =
        args.command.split_first().ok_or_else(|| CliError::Usage("give a command after --".into()))?;
    let mut cmd = Command::new(program.as_str()).args(rest.iter().cloned());
    cmd.user = args.user.clone();
    cmd.clean_env = true;
    cmd.stdio = Stdio::Inherit;
    Ok(exit_with(host.spawn(&cmd, Place::Jail(jid))?.status))
}

/// A login shell inside, like `jexec NAME login -f root`.
pub fn console(host: &mut dyn Host, args: &ConsoleArgs) -> Result<ExitCode, CliError> {
    let jid = jid_of(host, &args.name)?;
    let user = args.user.clone().unwrap_or_else(|| "root".into());
    let mut cmd = Command::new("/usr/bin/login").args(["-f", user.as_str()]);
    cmd.clean_env = true;
    cmd.stdio = Stdio::Inherit;
    Ok(exit_with(host.spawn(&cmd, Place::Jail(jid))?.status))
}
