//! Cloned interfaces and bridges the way ifconfig(8) makes them: the
//! SIOCIFCREATE2 family on an AF_INET datagram socket, and the bridge's
//! commands through SIOCSDRVSPEC/SIOCGDRVSPEC. The requests are the byte
//! arrays of `kernel::ifclone`; this file only makes the calls.

use libc::AF_INET;
use nix::errno::Errno;

use super::net::{dgram_socket, ioctl, name_err};
use crate::host::{HostError, HostResult, Jid};
use crate::kernel::ifclone as wire;
use crate::kernel::net::{ifname, IFNAMSIZ};

pub(super) fn create(name: &str) -> HostResult<String> {
    const OP: &str = "SIOCIFCREATE2";
    let sock = dgram_socket(OP, AF_INET)?;
    let mut req = wire::ifreq(name).map_err(name_err(OP))?;
    ioctl(OP, &sock, wire::SIOCIFCREATE2, &mut req, format!("creating a {name} interface"))?;
    Ok(wire::ifreq_name(&req))
}

pub(super) fn destroy(name: &str) -> HostResult<()> {
    const OP: &str = "SIOCIFDESTROY";
    let sock = dgram_socket(OP, AF_INET)?;
    let mut req = wire::ifreq(name).map_err(name_err(OP))?;
    ioctl(OP, &sock, wire::SIOCIFDESTROY, &mut req, format!("destroying {name}"))
}

pub(super) fn rename(name: &str, to: &str) -> HostResult<()> {
    const OP: &str = "SIOCSIFNAME";
    // What the kernel answers for these names (copyinstr, if_rename); the
    // request cannot even carry them.
    if to.len() >= IFNAMSIZ {
        return Err(HostError::new(OP, Errno::ENAMETOOLONG, format!("{to}: longer than an interface name may be")));
    }
    if to.is_empty() {
        return Err(HostError::new(OP, Errno::EINVAL, "an empty interface name"));
    }
    let sock = dgram_socket(OP, AF_INET)?;
    // Alive until the ioctl returns: the kernel copies the name in from it.
    let new = ifname(to).map_err(name_err(OP))?;
    let mut req = wire::ifreq_data(name, new.as_ptr() as u64).map_err(name_err(OP))?;
    ioctl(OP, &sock, wire::SIOCSIFNAME, &mut req, format!("renaming {name} to {to}"))
}

pub(super) fn to_jail(name: &str, jid: Jid) -> HostResult<()> {
    const OP: &str = "SIOCSIFVNET";
    let sock = dgram_socket(OP, AF_INET)?;
    let mut req = wire::ifreq_jid(name, jid).map_err(name_err(OP))?;
    ioctl(OP, &sock, wire::SIOCSIFVNET, &mut req, format!("moving {name} into jail {jid}"))
}

pub(super) fn up(name: &str) -> HostResult<()> {
    const OP: &str = "SIOCSIFFLAGS";
    let sock = dgram_socket(OP, AF_INET)?;
    let mut get = wire::ifreq(name).map_err(name_err(OP))?;
    ioctl("SIOCGIFFLAGS", &sock, wire::SIOCGIFFLAGS, &mut get, format!("reading the flags of {name}"))?;
    let flags = wire::ifreq_flags(&get) | wire::IFF_UP;
    let mut set = wire::ifreq_with_flags(name, flags).map_err(name_err(OP))?;
    ioctl(OP, &sock, wire::SIOCSIFFLAGS, &mut set, format!("bringing {name} up"))
}

/// A bridge's set command on `member` (BRDGADD, BRDGDEL).
fn bridge_set(op: &'static str, cmd: u64, bridge: &str, member: &str, what: String) -> HostResult<()> {
    let sock = dgram_socket(op, AF_INET)?;
    // Alive until the ioctl returns: the kernel copies it in.
    let breq = wire::ifbreq(member).map_err(name_err(op))?;
    let mut drv = wire::ifdrv(bridge, cmd, wire::IFBREQ, breq.as_ptr() as u64).map_err(name_err(op))?;
    ioctl(op, &sock, wire::SIOCSDRVSPEC, &mut drv, what)
}

pub(super) fn bridge_add(bridge: &str, member: &str) -> HostResult<()> {
    bridge_set("BRDGADD", wire::BRDGADD, bridge, member, format!("adding {member} to {bridge}"))
}

pub(super) fn bridge_remove(bridge: &str, member: &str) -> HostResult<()> {
    bridge_set("BRDGDEL", wire::BRDGDEL, bridge, member, format!("removing {member} from {bridge}"))
}

/// BRDGGIFS: first the length the members need, then the members; a
/// member added between the two calls is left for the next look.
pub(super) fn bridge_members(bridge: &str) -> HostResult<Vec<String>> {
    const OP: &str = "BRDGGIFS";
    let sock = dgram_socket(OP, AF_INET)?;
    let what = || format!("listing the members of {bridge}");
    let mut conf = wire::ifbifconf(0, 0);
    let mut drv =
        wire::ifdrv(bridge, wire::BRDGGIFS, wire::IFBIFCONF, conf.as_mut_ptr() as u64).map_err(name_err(OP))?;
    ioctl(OP, &sock, wire::SIOCGDRVSPEC, &mut drv, what())?;
    let needed = wire::ifbifconf_len(&conf);
    // At most what a bridge can hold (BRIDGE_IFCAPS aside, 4096 members
    // is far beyond any host): the kernel's answer is not trusted blindly.
    if needed as usize > 4096 * wire::IFBREQ {
        return Err(HostError::new(OP, Errno::EOVERFLOW, what()));
    }
    let mut buf = vec![0u8; needed as usize];
    let mut conf = wire::ifbifconf(needed, buf.as_mut_ptr() as u64);
    let mut drv =
        wire::ifdrv(bridge, wire::BRDGGIFS, wire::IFBIFCONF, conf.as_mut_ptr() as u64).map_err(name_err(OP))?;
    ioctl(OP, &sock, wire::SIOCGDRVSPEC, &mut drv, what())?;
    let filled = (wire::ifbifconf_len(&conf) as usize).min(buf.len());
    Ok(wire::members(&buf[..filled]))
}
