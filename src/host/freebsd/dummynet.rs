//! dummynet(4) pipes through dnctl(8): the IP_DUMMYNET3 socket option
//! takes a version-dependent sequence of `struct dn_*` objects
//! (ip_dummynet.h) that dnctl already builds. dnctl runs only when a jail
//! with bandwidth limits starts, stops or changes them; whether the
//! module is loaded is read from a sysctl of its own, without a process.

use nix::errno::Errno;

use crate::host::{HostError, HostResult};

const DNCTL: &str = "/sbin/dnctl";

/// Without dummynet.ko, IP_DUMMYNET3 is ENOPROTOOPT (rip_ctloutput), and
/// `dnctl pipe show` would print nothing and succeed: its sysctl says.
fn loaded(op: &'static str) -> HostResult<()> {
    match super::sysctl::kind(crate::kernel::dummynet::LOADED_SYSCTL) {
        Ok(_) => Ok(()),
        Err(e) if e.errno == Errno::ENOENT => Err(HostError::new(op, Errno::ENOPROTOOPT, "dummynet.ko is not loaded")),
        Err(e) => Err(e),
    }
}

/// dnctl with `args`; its message's strerror text as the errno (`err(1,
/// "setsockopt(...)")` in dummynet.c).
fn dnctl(op: &'static str, args: &[&str]) -> HostResult<String> {
    super::spawn::tool(op, DNCTL, args, None)?.map_err(|msg| {
        let errno = if msg.contains("Protocol not available") {
            Errno::ENOPROTOOPT
        } else if ["Invalid argument", "need a pipe", "too large"].iter().any(|m| msg.contains(m)) {
            Errno::EINVAL
        } else {
            Errno::EIO
        };
        HostError::new(op, errno, msg)
    })
}

pub(super) fn config(pipe: u16, bandwidth: u32) -> HostResult<()> {
    loaded("dn_pipe_config")?;
    let (n, bw) = (pipe.to_string(), bandwidth.to_string());
    dnctl("dn_pipe_config", &["pipe", &n, "config", "bw", &bw]).map(|_| ())
}

/// dnctl's delete warns about a pipe dummynet does not have, with the
/// wrong number and an exit status not worth relying on: the listing
/// says first.
pub(super) fn delete(pipe: u16) -> HostResult<()> {
    if !list("dn_pipe_delete")?.iter().any(|(p, _)| *p == pipe) {
        return Err(HostError::new("dn_pipe_delete", Errno::EINVAL, format!("dummynet has no pipe {pipe}")));
    }
    dnctl("dn_pipe_delete", &["pipe", &pipe.to_string(), "delete"]).map(|_| ())
}

pub(super) fn list(op: &'static str) -> HostResult<Vec<(u16, u32)>> {
    loaded(op)?;
    Ok(crate::kernel::dummynet::parse_pipes(&dnctl(op, &["pipe", "show"])?))
}
