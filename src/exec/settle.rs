//! Waiting for the kernel to let go of a removed jail.
//!
//! jail_remove(2) only marks the jail dying and sends its processes
//! SIGKILL; the prison stays until its last reference goes (prison_deref in
//! kern_jail.c): processes still exiting, open files, sockets. Meanwhile the
//! jail's mounts are busy and unmount(2) answers EBUSY. jail(8) does not
//! wait; brig does, within bounds, so that a stop either leaves nothing
//! mounted or says what is still holding on.

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use crate::host::{Errno, GetFlags, Host, HostError, JailKey, Jid, MountEntry};
use crate::kernel::net::{IN6_IFF_DUPLICATED, IN6_IFF_TENTATIVE};

/// How long a removed jail may take to be freed before brig goes on
/// without it: killed processes exit in milliseconds, but a TCP
/// connection in TIME_WAIT keeps its jail dying for up to a minute, and
/// that holds no mount.
const GONE_WITHIN: Duration = Duration::from_secs(5);

/// How long a busy mount is retried: the processes that held it were
/// killed and are exiting.
const FREE_WITHIN: Duration = Duration::from_secs(10);

/// Pauses between polls: short at first, since a jail without processes
/// goes at once, then at most this.
const LONGEST_PAUSE: Duration = Duration::from_millis(100);

/// Polls `done` with growing pauses until it says yes or `within` has
/// passed; returns its last answer.
fn poll<E>(within: Duration, mut done: impl FnMut() -> Result<bool, E>) -> Result<bool, E> {
    let deadline = Instant::now() + within;
    let mut pause = Duration::from_millis(1);
    loop {
        if done()? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// Whether jail `jid` has left the kernel: jail_get(2) with JAIL_DYING no
/// longer finds it.
fn gone(host: &dyn Host, jid: Jid) -> Result<bool, HostError> {
    match host.jail_get(&JailKey::Jid(jid), &["jid"], GetFlags::DYING) {
        Ok(_) => Ok(false),
        Err(e) if e.errno == Errno::ENOENT => Ok(true),
        Err(e) => Err(e),
    }
}

/// jail_remove(2), then [`await_gone`].
pub fn remove_jail(host: &mut dyn Host, jid: Jid) -> Result<(), HostError> {
    host.jail_remove(jid)?;
    await_gone(host, jid)
}

/// Waits (bounded) until a removed jail is freed. One still dying
/// afterwards is not an error: what it still holds shows up as a busy
/// mount, which [`unmount`] reports.
pub fn await_gone(host: &dyn Host, jid: Jid) -> Result<(), HostError> {
    poll(GONE_WITHIN, || gone(host, jid))?;
    Ok(())
}

/// Waits until each IPv6 alias has passed duplicate address detection:
/// net.inet6.ip6.dad_count probes a second apart, so the bound is that
/// many seconds and two more. A duplicated address, or one still
/// tentative then (an interface that is down never finishes), fails.
pub fn await_dad(host: &dyn Host, aliases: &[(String, Ipv6Addr)]) -> Result<(), HostError> {
    let within = dad_within(host);
    for (iface, addr) in aliases {
        let mut flags = 0;
        poll(within, || {
            flags = host.addr6_flags(iface, *addr)?;
            Ok::<_, HostError>(flags & IN6_IFF_TENTATIVE == 0)
        })?;
        dad_verdict("addr6_flags", iface, *addr, flags)?;
    }
    Ok(())
}

/// How long duplicate address detection may take: a second a probe
/// (net.inet6.ip6.dad_count, RETRANS_TIMER), and two more.
fn dad_within(host: &dyn Host) -> Duration {
    let probes = host.sysctl_get("net.inet6.ip6.dad_count").ok().and_then(|v| v.as_int()).unwrap_or(1);
    Duration::from_secs(u64::try_from(probes.clamp(0, 60)).unwrap_or(1) + 2)
}

/// An address that came out of duplicate address detection unusable.
fn dad_verdict(op: &'static str, iface: &str, addr: Ipv6Addr, flags: u32) -> Result<(), HostError> {
    let why = if flags & IN6_IFF_DUPLICATED != 0 {
        "another node on the network already has it (duplicate address detection); choose another address"
    } else if flags & IN6_IFF_TENTATIVE != 0 {
        "it is still tentative: duplicate address detection has not finished (is the interface up and connected?)"
    } else {
        return Ok(());
    };
    Err(HostError::new(op, Errno::EADDRNOTAVAIL, format!("{addr} on {iface}: {why}")))
}

/// The same wait for a VNET jail's own addresses, done inside the jail.
pub fn await_vnet_dad(host: &mut dyn Host, jid: Jid, iface: &str, addrs: &[Ipv6Addr]) -> Result<(), HostError> {
    let within = dad_within(host);
    let flags = host.vnet_await_dad(jid, iface, addrs, within)?;
    for (addr, f) in addrs.iter().zip(flags) {
        dad_verdict("vnet_await_dad", iface, *addr, f)?;
    }
    Ok(())
}

/// unmount(2) by filesystem ID, retrying while the filesystem is busy
/// (EBUSY) for a bounded time; then the error says what is holding it.
pub fn unmount(host: &mut dyn Host, mount: &MountEntry) -> Result<(), HostError> {
    let target = &mount.target;
    let mut last = None;
    let done = poll(FREE_WITHIN, || match host.unmount(mount, false) {
        Ok(()) => Ok(true),
        Err(e) if e.errno == Errno::EBUSY => {
            last = Some(e);
            Ok(false)
        }
        Err(e) => Err(e),
    })?;
    match last.filter(|_| !done) {
        None => Ok(()),
        Some(e) => Err(HostError::new(
            e.op,
            Errno::EBUSY,
            format!(
                "{} is still busy after {} s: a process (perhaps one of a removed jail's, still exiting) has a file or directory open there; `fstat -f {}` shows which. Run the command again once it has gone",
                target.display(),
                FREE_WITHIN.as_secs(),
                target.display()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_stops_at_the_first_yes_or_at_the_bound() {
        let mut n = 0;
        assert_eq!(
            poll::<()>(Duration::from_secs(5), || {
                n += 1;
                Ok(n == 3)
            }),
            Ok(true)
        );
        assert_eq!(n, 3);
        let started = Instant::now();
        assert_eq!(poll::<()>(Duration::from_millis(20), || Ok(false)), Ok(false));
        assert!(started.elapsed() >= Duration::from_millis(20));
        assert_eq!(poll(Duration::from_secs(5), || Err::<bool, _>("broken")), Err("broken"));
    }
}
