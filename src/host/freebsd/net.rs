//! Interfaces (getifaddrs(3)) and alias addresses, added and removed the
//! way ifconfig(8) does: SIOCAIFADDR/SIOCDIFADDR on an AF_INET datagram
//! socket, SIOCAIFADDR_IN6/SIOCDIFADDR_IN6 on an AF_INET6 one. The request
//! structures are the byte arrays of `kernel::net`, tested on every
//! platform; this file only makes the calls.

use std::ffi::CStr;
use std::net::Ipv6Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use ipnet::IpNet;
use libc::{c_int, c_uint, c_ulong};
use nix::errno::Errno;

use crate::host::{HostError, HostResult, Interface};
use crate::kernel::net as wire;

pub(super) fn name_err(op: &'static str) -> impl FnOnce(wire::BadIfName) -> HostError {
    move |e| HostError::new(op, Errno::EINVAL, e.to_string())
}

/// A datagram socket of the family, the handle for address ioctls.
pub(super) fn dgram_socket(op: &'static str, family: c_int) -> HostResult<OwnedFd> {
    // SAFETY: plain system call; a non-negative result is a new descriptor
    // that nothing else owns.
    let fd = unsafe { libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        let errno = Errno::last();
        return Err(HostError::new(op, errno, "opening a socket for the ioctl"));
    }
    // SAFETY: `fd` was just returned by socket(2) and is owned by us alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// One interface ioctl. `arg` is the request as bytes, exactly as long as
/// `request` encodes (the `kernel::net` constants are built from the same
/// sizes as its encoders).
pub(super) fn ioctl<const N: usize>(
    op: &'static str,
    sock: &OwnedFd,
    request: u64,
    arg: &mut [u8; N],
    what: String,
) -> HostResult<()> {
    // SAFETY: `arg` is N live bytes, the size `request` encodes; the
    // kernel copies them in (and out) within the call only.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), request as c_ulong, arg.as_mut_ptr()) };
    if rc < 0 {
        let errno = Errno::last();
        return Err(HostError::new(op, errno, what));
    }
    Ok(())
}

/// `ifconfig IF inet ADDR/LEN alias` or `ifconfig IF inet6 ADDR/LEN alias`.
/// Errors are named after the ioctl (`SIOCAIFADDR`, `SIOCAIFADDR_IN6`).
pub(super) fn addr_add(iface: &str, addr: IpNet) -> HostResult<()> {
    let what = format!("adding {addr} to {iface}");
    match addr {
        IpNet::V4(net) => {
            const OP: &str = "SIOCAIFADDR";
            let mut req = wire::in_aliasreq(iface, net).map_err(name_err(OP))?;
            let sock = dgram_socket(OP, libc::AF_INET)?;
            ioctl(OP, &sock, wire::SIOCAIFADDR, &mut req, what)
        }
        IpNet::V6(net) => {
            const OP: &str = "SIOCAIFADDR_IN6";
            let mut req = wire::in6_aliasreq(iface, net).map_err(name_err(OP))?;
            let sock = dgram_socket(OP, libc::AF_INET6)?;
            ioctl(OP, &sock, wire::SIOCAIFADDR_IN6, &mut req, what)
        }
    }
}

/// `ifconfig IF inet ADDR -alias` or `ifconfig IF inet6 ADDR -alias`.
/// Errors are named after the ioctl (`SIOCDIFADDR`, `SIOCDIFADDR_IN6`).
pub(super) fn addr_remove(iface: &str, addr: IpNet) -> HostResult<()> {
    let what = format!("removing {} from {iface}", addr.addr());
    match addr {
        IpNet::V4(net) => {
            const OP: &str = "SIOCDIFADDR";
            let mut req = wire::ifreq_addr(iface, net.addr()).map_err(name_err(OP))?;
            let sock = dgram_socket(OP, libc::AF_INET)?;
            ioctl(OP, &sock, wire::SIOCDIFADDR, &mut req, what)
        }
        IpNet::V6(net) => {
            const OP: &str = "SIOCDIFADDR_IN6";
            let mut req = wire::in6_ifreq_addr(iface, net.addr()).map_err(name_err(OP))?;
            let sock = dgram_socket(OP, libc::AF_INET6)?;
            ioctl(OP, &sock, wire::SIOCDIFADDR_IN6, &mut req, what)
        }
    }
}

/// The `IN6_IFF_*` flags of an IPv6 address (SIOCGIFAFLAG_IN6), as
/// ifconfig(8) reads them to print `tentative` or `duplicated`.
pub(super) fn addr6_flags(iface: &str, addr: Ipv6Addr) -> HostResult<u32> {
    const OP: &str = "SIOCGIFAFLAG_IN6";
    let mut req = wire::in6_ifreq_addr(iface, addr).map_err(name_err(OP))?;
    let sock = dgram_socket(OP, libc::AF_INET6)?;
    ioctl(OP, &sock, wire::SIOCGIFAFLAG_IN6, &mut req, format!("reading the flags of {addr} on {iface}"))?;
    Ok(wire::in6_ifreq_flags(&req))
}

/// The list getifaddrs(3) returned, freed on drop.
struct IfAddrs(*mut libc::ifaddrs);

impl Drop for IfAddrs {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from getifaddrs and is freed once.
            unsafe { libc::freeifaddrs(self.0) }
        }
    }
}

/// The bytes of a sockaddr as the kernel sized it (`sa_len`).
///
/// # Safety
/// `sa` must be NULL or point to a sockaddr at least `sa_len` bytes long
/// that outlives the returned slice.
unsafe fn sockaddr_bytes<'a>(sa: *const libc::sockaddr) -> Option<&'a [u8]> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: per the contract, `sa` is valid and `sa_len` bytes long.
    unsafe { Some(std::slice::from_raw_parts(sa.cast::<u8>(), usize::from((*sa).sa_len))) }
}

/// Every interface with its IPv4 and IPv6 addresses, from getifaddrs(3).
pub(super) fn interfaces() -> HostResult<Vec<Interface>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs stores a list in `head`, freed by the guard below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        let errno = Errno::last();
        return Err(HostError::new("getifaddrs", errno, "listing interfaces"));
    }
    let list = IfAddrs(head);
    let mut out: Vec<Interface> = Vec::new();
    let mut cur = list.0;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list, alive until `list` drops.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string inside the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) }.to_string_lossy().into_owned();
        let up = ifa.ifa_flags & (libc::IFF_UP as c_uint) != 0;
        let idx = match out.iter().position(|i| i.name == name) {
            Some(i) => i,
            None => {
                out.push(Interface { name, up, addrs: Vec::new() });
                out.len() - 1
            }
        };
        out[idx].up |= up;
        // SAFETY: ifa_addr and ifa_netmask are NULL or sockaddrs of sa_len
        // bytes inside the list.
        let (addr, mask) = unsafe { (sockaddr_bytes(ifa.ifa_addr), sockaddr_bytes(ifa.ifa_netmask)) };
        if let Some(net) = addr.and_then(|a| wire::ip_net(a, mask)) {
            if !out[idx].addrs.contains(&net) {
                out[idx].addrs.push(net);
            }
        }
    }
    Ok(out)
}
