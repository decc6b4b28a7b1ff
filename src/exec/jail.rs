//! The jail itself: made and changed with jail_set(2), commands run on
//! the host and inside it, its processes ended and the jail removed.

use std::time::{Duration, Instant};

use super::{running_jid, settle, Notice, StepError};
use crate::host::{Command, Host, JailParam, Place, SetFlags};
use crate::model::JailName;
use crate::state::consolelog;

/// How a jail step is taken back.
pub(super) enum Undo {
    Remove(i32),
    Update(i32, Vec<JailParam>),
}

pub(super) fn undo(host: &mut dyn Host, u: Undo) -> Result<(), StepError> {
    match u {
        Undo::Remove(jid) => Ok(settle::remove_jail(host, jid)?),
        Undo::Update(jid, old) => update(host, jid, &old),
    }
}

pub(super) fn create(host: &mut dyn Host, params: &[JailParam]) -> Result<Undo, StepError> {
    let jid = host.jail_set(params, SetFlags::CREATE)?;
    Ok(Undo::Remove(jid))
}

/// jail_set(2) with JAIL_UPDATE of the jail `jid`.
fn update(host: &mut dyn Host, jid: i32, params: &[JailParam]) -> Result<(), StepError> {
    let mut p = vec![JailParam::int("jid", jid)];
    p.extend_from_slice(params);
    host.jail_set(&p, SetFlags::UPDATE)?;
    Ok(())
}

pub(super) fn update_live(
    host: &mut dyn Host,
    jid: i32,
    params: &[JailParam],
    old: &[JailParam],
) -> Result<Undo, StepError> {
    update(host, jid, params)?;
    Ok(Undo::Update(jid, old.to_vec()))
}

/// `/bin/sh -c COMMAND` on the host or in a jail, its output appended to
/// the jail's console log (`stage`: what ran, as jail(8) names it); a
/// non-zero status is a failure carrying the last lines of its output.
fn run_command(
    host: &mut dyn Host,
    jail: &JailName,
    stage: &str,
    command: &str,
    place: Place,
    clean: bool,
    notices: &mut Vec<Notice>,
) -> Result<(), StepError> {
    let mut cmd = Command::new("/bin/sh").args(["-c", command]);
    cmd.clean_env = clean;
    let out = host.spawn(&cmd, place)?;
    if let Err(e) = consolelog::append(host, jail, &format!("{stage}: {command}"), &out) {
        let path = host.local_path(&consolelog::path(jail));
        notices.push(Notice::LogNotWritten { path, error: e.to_string() });
    }
    if out.status == 0 {
        return Ok(());
    }
    let text = String::from_utf8_lossy(if out.stderr.is_empty() { &out.stdout } else { &out.stderr }).into_owned();
    let tail: Vec<&str> = text.lines().rev().take(3).collect();
    let output = tail.into_iter().rev().collect::<Vec<_>>().join(" / ");
    Err(StepError::Command { status: out.status, output })
}

/// A hook (exec.prestart, exec.poststop...) of `jail`, on the host.
pub(super) fn hook(
    host: &mut dyn Host,
    jail: &JailName,
    stage: &str,
    command: &str,
    notices: &mut Vec<Notice>,
) -> Result<(), StepError> {
    run_command(host, jail, stage, command, Place::Host, false, notices)
}

/// exec.start or exec.stop inside the running jail.
pub(super) fn exec_in(
    host: &mut dyn Host,
    jail: &JailName,
    stage: &str,
    command: &str,
    clean: bool,
    notices: &mut Vec<Notice>,
) -> Result<(), StepError> {
    let jid = running_jid(host, jail)?;
    run_command(host, jail, stage, command, Place::Jail(jid), clean, notices)
}

/// SIGTERM to the jail's processes, then up to `timeout` seconds for them
/// to exit (jail(8)'s stop.timeout, term_procs).
pub(super) fn terminate(host: &mut dyn Host, jail: &JailName, timeout: u32) -> Result<(), StepError> {
    if let Some(j) = host.jail_find(jail.as_str())? {
        if host.jail_kill(j.jid, Some(nix::sys::signal::Signal::SIGTERM))? {
            let deadline = Instant::now() + Duration::from_secs(u64::from(timeout));
            while Instant::now() < deadline && host.jail_kill(j.jid, None)? {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    Ok(())
}

pub(super) fn remove(host: &mut dyn Host, jid: i32) -> Result<(), StepError> {
    Ok(settle::remove_jail(host, jid)?)
}

pub(super) fn await_gone(host: &dyn Host, jid: i32) -> Result<(), StepError> {
    Ok(settle::await_gone(host, jid)?)
}
