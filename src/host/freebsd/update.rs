//! freebsd-update(8) run against a root other than the running system
//! (`-b`), as `brig release update` and `brig upgrade` of a thick jail
//! need it.

use std::path::Path;
use std::process::Stdio;

use nix::errno::Errno;

use super::io_errno;
use crate::host::{HostError, HostResult};
use crate::model::version::Version;

const FREEBSD_UPDATE: &str = "/usr/sbin/freebsd-update";

/// How much of a failed run's output goes into the error.
const LAST_LINES: usize = 6;

/// `freebsd-update -b ROOT -d WORKDIR --currently-running V
/// --not-running-from-cron fetch install`. `--currently-running` stands
/// for uname -r, which would be the host's; `--not-running-from-cron`
/// lets fetch run without a terminal; PAGER=cat keeps it from paging the
/// file lists through less(1). The keys are the host's
/// /etc/freebsd-update.conf KeyPrint: brig fetches none. A failure is
/// EIO with its last lines.
pub(super) fn run(root: &Path, workdir: &Path, running: &Version) -> HostResult<String> {
    const OP: &str = "freebsd_update";
    let out = std::process::Command::new(FREEBSD_UPDATE)
        .arg("-b")
        .arg(root)
        .arg("-d")
        .arg(workdir)
        .arg("--currently-running")
        .arg(running.to_string())
        .arg("--not-running-from-cron")
        .args(["fetch", "install"])
        .env("PAGER", "cat")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| HostError::new(OP, io_errno(&e), format!("cannot run {FREEBSD_UPDATE}: {e}")))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let last = lines[lines.len().saturating_sub(LAST_LINES)..].join(" ");
        return Err(HostError::new(OP, Errno::EIO, format!("{last} ({})", out.status)));
    }
    Ok(text)
}
