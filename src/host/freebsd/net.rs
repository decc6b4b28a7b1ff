//! Interfaces (getifaddrs(3)) and alias addresses, added and removed the
//! way ifconfig(8) does: SIOCAIFADDR/SIOCDIFADDR on an AF_INET datagram
//! socket, SIOCAIFADDR_IN6/SIOCDIFADDR_IN6 on an AF_INET6 one.
//!
//! The libc crate has neither these ioctl numbers nor `struct in_aliasreq`,
//! `struct in6_aliasreq` or `struct in6_ifreq`, so they are defined below
//! from the FreeBSD headers. Every size, offset and ioctl number was checked
//! against the FreeBSD 14 headers shipped with Zig (`zig cc -target
//! x86_64-freebsd`), and the sizes are asserted at compile time.

use std::ffi::CStr;
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use ipnet::IpNet;
use libc::{c_char, c_int, c_uint, c_ulong, sa_family_t, sockaddr_in, sockaddr_in6, time_t};
use nix::errno::Errno;

use crate::host::{HostError, HostResult, Interface};

/// IFNAMSIZ, net/if.h.
const IFNAMSIZ: usize = 16;

/// `_IOW(group, num, type)` of sys/ioccom.h: IOC_IN (0x80000000) | size
/// (13 bits) << 16 | group << 8 | num.
const fn iow(group: u8, num: u8, len: usize) -> c_ulong {
    0x8000_0000 | (((len as c_ulong) & 0x1fff) << 16) | ((group as c_ulong) << 8) | num as c_ulong
}

/// `struct in_aliasreq`, netinet/in_var.h (the AF_INET view of `struct
/// ifaliasreq`, net/if.h): 68 bytes.
#[repr(C)]
struct InAliasreq {
    ifra_name: [c_char; IFNAMSIZ],
    ifra_addr: sockaddr_in,
    ifra_broadaddr: sockaddr_in,
    ifra_mask: sockaddr_in,
    ifra_vhid: c_int,
}

/// `struct ifreq` used through its `ifr_addr` member, net/if.h: 32 bytes.
#[repr(C)]
struct IfreqAddr {
    ifr_name: [c_char; IFNAMSIZ],
    ifr_addr: sockaddr_in,
}

/// `struct in6_addrlifetime`, netinet6/in6_var.h: 24 bytes on amd64.
#[repr(C)]
struct In6Addrlifetime {
    ia6t_expire: time_t,
    ia6t_preferred: time_t,
    ia6t_vltime: u32,
    ia6t_pltime: u32,
}

/// `struct in6_aliasreq`, netinet6/in6_var.h: 136 bytes on amd64
/// (ifra_flags at 100, ifra_lifetime at 104, ifra_vhid at 128).
#[repr(C)]
struct In6Aliasreq {
    ifra_name: [c_char; IFNAMSIZ],
    ifra_addr: sockaddr_in6,
    ifra_dstaddr: sockaddr_in6,
    ifra_prefixmask: sockaddr_in6,
    ifra_flags: c_int,
    ifra_lifetime: In6Addrlifetime,
    ifra_vhid: c_int,
}

/// `struct in6_ifreq` used through `ifr_addr`, netinet6/in6_var.h: 288
/// bytes, because its union also holds `struct icmp6_ifstat` (34
/// uint64_t). The kernel copies in the whole size encoded in the ioctl.
#[repr(C)]
struct In6IfreqAddr {
    ifr_name: [c_char; IFNAMSIZ],
    ifr_addr: sockaddr_in6,
    ifr_rest: [u8; 288 - IFNAMSIZ - 28],
}

const _: () = assert!(size_of::<InAliasreq>() == 68);
const _: () = assert!(size_of::<IfreqAddr>() == 32);
const _: () = assert!(size_of::<In6Addrlifetime>() == 24);
const _: () = assert!(size_of::<In6Aliasreq>() == 136);
const _: () = assert!(size_of::<In6IfreqAddr>() == 288);

/// sys/sockio.h: `_IOW('i', 43, struct ifaliasreq)` = 0x8044692b.
const SIOCAIFADDR: c_ulong = iow(b'i', 43, size_of::<InAliasreq>());
/// sys/sockio.h: `_IOW('i', 25, struct ifreq)` = 0x80206919.
const SIOCDIFADDR: c_ulong = iow(b'i', 25, size_of::<IfreqAddr>());
/// netinet6/in6_var.h: `_IOW('i', 27, struct in6_aliasreq)` = 0x8088691b.
const SIOCAIFADDR_IN6: c_ulong = iow(b'i', 27, size_of::<In6Aliasreq>());
/// netinet6/in6_var.h: `_IOW('i', 25, struct in6_ifreq)` = 0x81206919.
const SIOCDIFADDR_IN6: c_ulong = iow(b'i', 25, size_of::<In6IfreqAddr>());

const _: () = assert!(SIOCAIFADDR == 0x8044_692b);
const _: () = assert!(SIOCDIFADDR == 0x8020_6919);
const _: () = assert!(SIOCAIFADDR_IN6 == 0x8088_691b);
const _: () = assert!(SIOCDIFADDR_IN6 == 0x8120_6919);

/// ND6_INFINITE_LIFETIME, netinet6/nd6.h: ifconfig(8) gives manually added
/// addresses infinite valid and preferred lifetimes (a zero valid lifetime
/// makes the kernel ignore the request).
const ND6_INFINITE_LIFETIME: u32 = 0xffff_ffff;

fn ifname(op: &'static str, iface: &str) -> HostResult<[c_char; IFNAMSIZ]> {
    let bytes = iface.as_bytes();
    if bytes.is_empty() || bytes.len() >= IFNAMSIZ || bytes.contains(&0) {
        return Err(HostError::new(op, Errno::EINVAL, format!("{iface:?} is not an interface name")));
    }
    let mut name = [0 as c_char; IFNAMSIZ];
    for (d, &s) in name.iter_mut().zip(bytes) {
        *d = s as c_char;
    }
    Ok(name)
}

fn sin(addr: Ipv4Addr) -> sockaddr_in {
    sockaddr_in {
        sin_len: size_of::<sockaddr_in>() as u8,
        sin_family: libc::AF_INET as sa_family_t,
        sin_port: 0,
        // s_addr is in network byte order: the octets as they are.
        sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(addr.octets()) },
        sin_zero: [0; 8],
    }
}

fn sin6(addr: Option<Ipv6Addr>) -> sockaddr_in6 {
    match addr {
        Some(a) => sockaddr_in6 {
            sin6_len: size_of::<sockaddr_in6>() as u8,
            sin6_family: libc::AF_INET6 as sa_family_t,
            sin6_port: 0,
            sin6_flowinfo: 0,
            sin6_addr: libc::in6_addr { s6_addr: a.octets() },
            sin6_scope_id: 0,
        },
        // An absent address: sin6_len 0 tells the kernel it is not given.
        None => sockaddr_in6 {
            sin6_len: 0,
            sin6_family: 0,
            sin6_port: 0,
            sin6_flowinfo: 0,
            sin6_addr: libc::in6_addr { s6_addr: [0; 16] },
            sin6_scope_id: 0,
        },
    }
}

/// A datagram socket of the family, the handle for address ioctls.
fn dgram_socket(op: &'static str, family: c_int) -> HostResult<OwnedFd> {
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

/// One interface ioctl. `arg` must be the request struct whose size is
/// encoded in `request` (guaranteed by the constants above).
fn ioctl<T>(op: &'static str, sock: &OwnedFd, request: c_ulong, arg: &mut T, what: String) -> HostResult<()> {
    // SAFETY: `arg` is a live, properly laid-out request struct of exactly
    // the size `request` encodes; the kernel copies it in (and out) within
    // the call only.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), request, std::ptr::from_mut(arg)) };
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
            let mut req = InAliasreq {
                ifra_name: ifname(OP, iface)?,
                ifra_addr: sin(net.addr()),
                // No broadcast address given (sin_len 0): the kernel derives
                // it from the mask on broadcast interfaces.
                ifra_broadaddr: sockaddr_in { sin_len: 0, sin_family: 0, ..sin(Ipv4Addr::UNSPECIFIED) },
                ifra_mask: sin(net.netmask()),
                ifra_vhid: 0,
            };
            let sock = dgram_socket(OP, libc::AF_INET)?;
            ioctl(OP, &sock, SIOCAIFADDR, &mut req, what)
        }
        IpNet::V6(net) => {
            const OP: &str = "SIOCAIFADDR_IN6";
            let mut req = In6Aliasreq {
                ifra_name: ifname(OP, iface)?,
                ifra_addr: sin6(Some(net.addr())),
                ifra_dstaddr: sin6(None),
                ifra_prefixmask: sin6(Some(net.netmask())),
                ifra_flags: 0,
                ifra_lifetime: In6Addrlifetime {
                    ia6t_expire: 0,
                    ia6t_preferred: 0,
                    ia6t_vltime: ND6_INFINITE_LIFETIME,
                    ia6t_pltime: ND6_INFINITE_LIFETIME,
                },
                ifra_vhid: 0,
            };
            let sock = dgram_socket(OP, libc::AF_INET6)?;
            ioctl(OP, &sock, SIOCAIFADDR_IN6, &mut req, what)
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
            let mut req = IfreqAddr { ifr_name: ifname(OP, iface)?, ifr_addr: sin(net.addr()) };
            let sock = dgram_socket(OP, libc::AF_INET)?;
            ioctl(OP, &sock, SIOCDIFADDR, &mut req, what)
        }
        IpNet::V6(net) => {
            const OP: &str = "SIOCDIFADDR_IN6";
            let mut req = In6IfreqAddr {
                ifr_name: ifname(OP, iface)?,
                ifr_addr: sin6(Some(net.addr())),
                ifr_rest: [0; 288 - IFNAMSIZ - 28],
            };
            let sock = dgram_socket(OP, libc::AF_INET6)?;
            ioctl(OP, &sock, SIOCDIFADDR_IN6, &mut req, what)
        }
    }
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

/// Leading one bits of a mask.
fn prefix_len(mask: &[u8]) -> u8 {
    let mut n = 0u8;
    for &b in mask {
        n += b.leading_ones() as u8;
        if b != 0xff {
            break;
        }
    }
    n
}

/// An interface address and its netmask (raw BSD sockaddrs: `sa_len`,
/// `sa_family`, then the family's fields) as a network. A netmask may be
/// shorter than a full sockaddr; missing bytes are zero. Link-local IPv6
/// addresses lose the scope the kernel embeds in bytes 2-3, as ifconfig(8)
/// clears it.
fn ip_net(addr: &[u8], mask: Option<&[u8]>) -> Option<IpNet> {
    let family = c_int::from(*addr.get(1)?);
    let (offset, len) = match family {
        libc::AF_INET => (4, 4),
        libc::AF_INET6 => (8, 16),
        _ => return None,
    };
    let bytes = addr.get(offset..offset + len)?;
    let mut m = [0u8; 16];
    let m = &mut m[..len];
    match mask {
        Some(mask) => {
            let avail = mask.get(offset..).unwrap_or(&[]);
            for (d, s) in m.iter_mut().zip(avail) {
                *d = *s;
            }
        }
        None => m.fill(0xff),
    }
    let prefix = prefix_len(m);
    let ip = if len == 4 {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    } else {
        let mut a = [0u8; 16];
        a.copy_from_slice(bytes);
        if a[0] == 0xfe && a[1] & 0xc0 == 0x80 {
            a[2] = 0;
            a[3] = 0;
        }
        IpAddr::V6(Ipv6Addr::from(a))
    };
    IpNet::new(ip, prefix).ok()
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
        if let Some(net) = addr.and_then(|a| ip_net(a, mask)) {
            if !out[idx].addrs.contains(&net) {
                out[idx].addrs.push(net);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw4(a: [u8; 4]) -> Vec<u8> {
        let mut v = vec![16, libc::AF_INET as u8, 0, 0];
        v.extend_from_slice(&a);
        v.extend_from_slice(&[0; 8]);
        v
    }

    #[test]
    fn ipv4_with_full_and_short_masks() {
        let net = ip_net(&raw4([192, 0, 2, 10]), Some(&raw4([255, 255, 255, 0])));
        assert_eq!(net, "192.0.2.10/24".parse().ok());
        // A mask sockaddr trimmed to its significant bytes (sa_len 7).
        let short = [7, 0, 0, 0, 255, 255, 255];
        assert_eq!(ip_net(&raw4([10, 1, 2, 3]), Some(&short)), "10.1.2.3/24".parse().ok());
        assert_eq!(ip_net(&raw4([10, 1, 2, 3]), None), "10.1.2.3/32".parse().ok());
    }

    #[test]
    fn ipv6_link_local_scope_is_cleared() {
        let mut a = vec![28, libc::AF_INET6 as u8, 0, 0, 0, 0, 0, 0];
        a.extend_from_slice(&[0xfe, 0x80, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        a.extend_from_slice(&[0; 4]);
        let mut m = vec![28, libc::AF_INET6 as u8, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&[0xff; 8]);
        m.extend_from_slice(&[0; 12]);
        assert_eq!(ip_net(&a, Some(&m)), "fe80::1/64".parse().ok());
    }

    #[test]
    fn other_families_are_skipped() {
        assert_eq!(ip_net(&[20, libc::AF_LINK as u8, 1, 0], None), None);
    }

    #[test]
    fn names_fit_ifnamsiz() {
        assert!(ifname("SIOCAIFADDR", "em0").is_ok());
        assert!(ifname("SIOCAIFADDR", "a_very_long_ifname").is_err());
        assert!(ifname("SIOCAIFADDR", "").is_err());
    }
}
