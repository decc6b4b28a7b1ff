//! `exec` and `console`: running something inside a jail brig started,
//! as jexec(8) does (attach, change to the jail's root, become the user).

use super::{Error, Refused};
use crate::host::{Command, Host, Place, Stdio};
use crate::model::JailName;

/// The jid of brig's running jail `name`; a jail of that name brig did
/// not start is refused.
fn jid_of(host: &dyn Host, name: &JailName) -> Result<i32, Error> {
    let cfg = super::config(host)?;
    match host.jail_find(name.as_str())? {
        Some(j) => match super::observe::foreign(host, &cfg, name, &j) {
            Some(foreign) => Err(foreign.into()),
            None => Ok(j.jid),
        },
        None => Err(Refused::NotRunning(name.clone()).into()),
    }
}

/// Runs `command` (program and arguments) inside jail `name` as `user`
/// (root by default) with a clean environment and this process's
/// terminal; its exit status.
pub fn exec(host: &mut dyn Host, name: &JailName, user: Option<&str>, command: &[String]) -> Result<i32, Error> {
    let jid = jid_of(host, name)?;
    let (program, rest) = command.split_first().ok_or_else(|| Error::Usage("give a command after --".into()))?;
    let mut cmd = Command::new(program.as_str()).args(rest.iter().cloned());
    cmd.user = user.map(str::to_string);
    cmd.clean_env = true;
    cmd.stdio = Stdio::Inherit;
    Ok(host.spawn(&cmd, Place::Jail(jid))?.status)
}

/// A login shell inside, like `jexec NAME login -f USER`; its exit status.
pub fn console(host: &mut dyn Host, name: &JailName, user: &str) -> Result<i32, Error> {
    let jid = jid_of(host, name)?;
    let mut cmd = Command::new("/usr/bin/login").args(["-f", user]);
    cmd.clean_env = true;
    cmd.stdio = Stdio::Inherit;
    Ok(host.spawn(&cmd, Place::Jail(jid))?.status)
}

/// The pkg(8) brig runs for jails: the host's (/usr/local/sbin/pkg, not
/// the pkg(7) bootstrapper in /usr/sbin), or the program in BRIG_PKG
/// (another build, or a wrapper that logs).
fn pkg_program() -> String {
    std::env::var("BRIG_PKG").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "/usr/local/sbin/pkg".into())
}

/// `pkg -j JID ARGS...`: the host's pkg(8) working on the packages of
/// brig's running jail `name` (it attaches to the jail, so the jail's own
/// repositories and database are used, and nothing needs to be installed
/// in it). With `Stdio::Inherit` it shares brig's terminal.
pub fn pkg(host: &mut dyn Host, name: &JailName, args: &[String], stdio: Stdio) -> Result<crate::host::Output, Error> {
    let jid = jid_of(host, name)?;
    let mut cmd = Command::new(pkg_program()).args(["-j".to_string(), jid.to_string()]).args(args.iter().cloned());
    cmd.stdio = stdio;
    match host.spawn(&cmd, Place::Host) {
        Err(e) if e.errno == crate::host::Errno::ENOENT => Err(Refused::NoPkg { program: cmd.program }.into()),
        other => Ok(other?),
    }
}
