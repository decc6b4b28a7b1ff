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
/// pkg(8) itself: /usr/sbin/pkg is pkg(7), which bootstraps it and, run
/// without a terminal before that, fails.
const PKG: &str = "/usr/local/sbin/pkg";

/// How much of a failed run's output goes into the error.
const LAST_LINES: usize = 6;

/// `freebsd-update -f CONFIG -b ROOT -d WORKDIR --currently-running V
/// --not-running-from-cron fetch`, then the same with `install`.
/// `--currently-running` stands for uname -r, which would be the host's;
/// `--not-running-from-cron` lets fetch run without a terminal; PAGER=cat
/// keeps it from paging the file lists through less(1). The keys are
/// CONFIG's KeyPrint (the host's): brig fetches none.
///
/// fetch exits 1 after preparing the updates when the release is past
/// its end of life (cmd_fetch: `fetch_run || exit 1`, fetch_warn_eol),
/// so a failed fetch that left `WORKDIR/HASH-install` (HASH: the SHA-256
/// of "ROOT\n", as freebsd-update's BDHASH) goes on to install; install
/// exits 2 when there is nothing to install.
pub(super) fn run(root: &Path, workdir: &Path, config: &Path, running: &Version) -> HostResult<String> {
    const OP: &str = "freebsd_update";
    let step = |what: &str| -> HostResult<std::process::Output> {
        let mut cmd = std::process::Command::new(FREEBSD_UPDATE);
        cmd.arg("-f")
            .arg(config)
            .arg("-b")
            .arg(root)
            .arg("-d")
            .arg(workdir)
            .arg("--currently-running")
            .arg(running.to_string())
            .arg("--not-running-from-cron")
            .arg(what)
            .env("PAGER", "cat");
        shown(&mut cmd).map_err(|e| HostError::new(OP, io_errno(&e), format!("cannot run {FREEBSD_UPDATE}: {e}")))
    };
    let fetched = step("fetch")?;
    let prepared = {
        use sha2::Digest;
        let mut line = root.as_os_str().as_encoded_bytes().to_vec();
        line.push(b'\n');
        let hash: String = sha2::Sha256::digest(&line).iter().map(|b| format!("{b:02x}")).collect();
        std::fs::symlink_metadata(workdir.join(format!("{hash}-install"))).is_ok()
    };
    let mut said = if fetched.status.success() || prepared { text(&fetched) } else { return finished(OP, &fetched) };
    let installed = step("install")?;
    if installed.status.code() == Some(2) {
        return Ok(said);
    }
    said.push_str(&finished(OP, &installed)?);
    Ok(said)
}

fn text(out: &std::process::Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}

/// Runs a tool with no input. On a terminal its output goes there as it
/// comes (its own progress, for a long fetch); elsewhere it is kept.
fn shown(cmd: &mut std::process::Command) -> std::io::Result<std::process::Output> {
    use std::io::IsTerminal;
    cmd.stdin(Stdio::null());
    if std::io::stderr().is_terminal() {
        let status = cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit()).status()?;
        return Ok(std::process::Output { status, stdout: Vec::new(), stderr: Vec::new() });
    }
    cmd.output()
}

/// What a tool printed, or EIO with its last lines when it failed.
fn finished(op: &'static str, out: &std::process::Output) -> HostResult<String> {
    let text = text(out);
    if !out.status.success() {
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let last = match lines.len() {
            0 => "its output is above".to_string(),
            n => lines[n.saturating_sub(LAST_LINES)..].join(" "),
        };
        return Err(HostError::new(op, Errno::EIO, format!("{last} ({})", out.status)));
    }
    Ok(text)
}

/// `pkg -j JID install -y PACKAGE...`: pkg attaches to the jail before
/// it reads its configuration (main.c), so the jail's repositories,
/// keys, cache and network are used.
pub(super) fn pkg_install(jid: i32, packages: &[String]) -> HostResult<String> {
    const OP: &str = "pkg_install";
    let mut cmd = std::process::Command::new(PKG);
    cmd.arg("-j").arg(jid.to_string()).args(["install", "-y"]).args(packages);
    let out = shown(&mut cmd).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound { "; install pkg with `pkg bootstrap`" } else { "" };
        HostError::new(OP, io_errno(&e), format!("cannot run {PKG}: {e}{hint}"))
    })?;
    finished(OP, &out)
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
    let out = shown(&mut cmd).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound { "; install pkg with `pkg bootstrap`" } else { "" };
        HostError::new(OP, io_errno(&e), format!("cannot run {PKG}: {e}{hint}"))
    })?;
    finished(OP, &out)
}
