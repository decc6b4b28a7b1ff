//! brig's pf anchors through pfctl(8): a whole anchor is loaded in one
//! transaction (pfctl_rules: DIOCXBEGIN, the rules, DIOCXCOMMIT), which
//! the pf ioctls would take a version-dependent `struct pf_rule` (or
//! nvlist) encoder per rule to do. pfctl runs once per start, stop or
//! firewall change of a jail that has a firewall; nothing that only
//! reads (list, plan, info) runs it: they read brig's start record.

use std::net::IpAddr;

use nix::errno::Errno;

use crate::host::{HostError, HostResult};

const PFCTL: &str = "/sbin/pfctl";

/// Runs pfctl with `args`, `input` on its standard input: its standard
/// output, or its message as the error: ENODEV when pf is not loaded,
/// EINVAL otherwise (pfctl's exit status says no more).
fn pfctl(op: &'static str, args: &[&str], input: Option<&str>) -> HostResult<String> {
    super::spawn::tool(op, PFCTL, args, input)?.map_err(|msg| {
        // pfctl opens /dev/pf first: without pf.ko there is none.
        let errno = if msg.contains("/dev/pf") { Errno::ENODEV } else { Errno::EINVAL };
        HostError::new(op, errno, msg)
    })
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
