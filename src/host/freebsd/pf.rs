//! brig's pf anchors through pfctl(8): a whole anchor is loaded in one
//! transaction (pfctl_rules: DIOCXBEGIN, the rules, DIOCXCOMMIT), which
//! the pf ioctls would take a version-dependent `struct pf_rule` (or
//! nvlist) encoder per rule to do. pfctl runs once per start, stop or
//! firewall change of a jail that has a firewall; nothing that only
//! reads (list, plan, info) runs it: they read brig's start record.

use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};

use nix::errno::Errno;

use crate::host::{HostError, HostResult};

const PFCTL: &str = "/sbin/pfctl";

/// Runs pfctl with `args`, `input` on its standard input; its standard
/// output, or its message as the error: ENODEV when pf is not loaded,
/// EINVAL otherwise (pfctl's exit status says no more).
fn pfctl(op: &'static str, args: &[&str], input: Option<&str>) -> HostResult<String> {
    let mut child = Command::new(PFCTL)
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            HostError::new(op, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)), format!("running {PFCTL}"))
        })?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        // A pfctl that stops reading fails, and says why, below.
        let _ = stdin.write_all(text.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| {
        HostError::new(op, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)), format!("waiting for {PFCTL}"))
    })?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        // pfctl opens /dev/pf first: without pf.ko there is none.
        let errno = if msg.contains("/dev/pf") { Errno::ENODEV } else { Errno::EINVAL };
        return Err(HostError::new(op, errno, format!("pfctl {}: {msg}", args.join(" "))));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(super) fn load(anchor: &str, rules: &str) -> HostResult<()> {
    pfctl("pf_load", &["-a", anchor, "-f", "-"], Some(rules)).map(|_| ())
}

pub(super) fn rules(anchor: &str) -> HostResult<String> {
    let translation = pfctl("pf_rules", &["-a", anchor, "-s", "nat"], None)?;
    let filter = pfctl("pf_rules", &["-a", anchor, "-s", "rules"], None)?;
    Ok(format!("{translation}{filter}"))
}

pub(super) fn kill_states(addr: IpAddr) -> HostResult<()> {
    let a = addr.to_string();
    let all = if addr.is_ipv4() { "0.0.0.0/0" } else { "::/0" };
    pfctl("pf_kill_states", &["-k", &a], None)?;
    pfctl("pf_kill_states", &["-k", all, "-k", &a], None).map(|_| ())
}

pub(super) fn status() -> HostResult<crate::kernel::pf::PfStatus> {
    let info = pfctl("pf_status", &["-s", "info"], None)?;
    let enabled = info.lines().any(|l| l.trim_start().starts_with("Status: Enabled"));
    let listing =
        format!("{}{}", pfctl("pf_status", &["-s", "nat"], None)?, pfctl("pf_status", &["-s", "rules"], None)?);
    Ok(crate::kernel::pf::PfStatus { enabled, anchors: crate::kernel::pf::anchor_rules(&listing) })
}
