//! The base system's own tools run against a root other than the
//! running system: freebsd-update(8) with `-b` and pkg(8) with
//! `--rootdir`, as `brig release fetch|update` and `brig upgrade` of a
//! thick jail need them.

use std::path::Path;
use std::process::Stdio;

use nix::errno::Errno;

use super::io_errno;
use crate::host::{HostError, HostResult, PkgAction, PkgBaseJob};
use crate::model::version::Version;

const FREEBSD_UPDATE: &str = "/usr/sbin/freebsd-update";
const PKG: &str = "/usr/sbin/pkg";

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
    finished(OP, &out)
}

/// What a tool printed, or EIO with its last lines when it failed.
fn finished(op: &'static str, out: &std::process::Output) -> HostResult<String> {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let last = lines[lines.len().saturating_sub(LAST_LINES)..].join(" ");
        return Err(HostError::new(op, Errno::EIO, format!("{last} ({})", out.status)));
    }
    Ok(text)
}

/// `pkg --rootdir ROOT --repo-conf-dir REPOS -o ABI=.. -o OSVERSION=..
/// -o IGNORE_OSVERSION=yes -o PKG_CACHEDIR=.. install|upgrade -y -r
/// REPOSITORY ...`. The ABI and OSVERSION are given because an empty root
/// has no /usr/bin/uname for pkg to read them from (it would read the
/// host's); IGNORE_OSVERSION lets a release newer than the ABI's x.0
/// install; `-y` answers its questions. Absolute paths only: pkg changes
/// into the root first.
pub(super) fn pkg_base(job: &PkgBaseJob) -> HostResult<String> {
    const OP: &str = "pkg_base";
    let mut cmd = std::process::Command::new(PKG);
    cmd.arg("--rootdir")
        .arg(&job.root)
        .arg("--repo-conf-dir")
        .arg(&job.repos)
        .arg("-o")
        .arg(format!("ABI={}", job.abi))
        .arg("-o")
        .arg(format!("OSVERSION={}", job.osversion))
        .args(["-o", "IGNORE_OSVERSION=yes", "-o"])
        .arg(format!("PKG_CACHEDIR={}", job.cache.display()));
    match &job.action {
        PkgAction::Install(packages) => cmd.args(["install", "-y", "-r", &job.repository]).args(packages),
        PkgAction::Upgrade => cmd.args(["upgrade", "-y", "-r", &job.repository]),
    };
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| HostError::new(OP, io_errno(&e), format!("cannot run {PKG}: {e}")))?;
    finished(OP, &out)
}
