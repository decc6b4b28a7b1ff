//! The request structures of the interface-address ioctls as bytes, laid
//! out as on FreeBSD/amd64: what ifconfig(8) hands to SIOCAIFADDR,
//! SIOCDIFADDR, SIOCAIFADDR_IN6, SIOCDIFADDR_IN6 and SIOCGIFAFLAG_IN6, and
//! the sockaddrs getifaddrs(3) returns.
//!
//! The libc crate has neither these structures nor the ioctl numbers for
//! FreeBSD, and its `sockaddr_in` on Linux has no `sin_len`, so they are
//! encoded here field by field from the headers (net/if.h,
//! netinet/in_var.h, netinet6/in6_var.h, netinet/in.h, netinet6/in6.h,
//! sys/sockio.h) and tested byte for byte on every platform.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::ioccom::{iow, iowr};

/// IFNAMSIZ, net/if.h.
pub const IFNAMSIZ: usize = 16;

/// Address families of sys/socket.h (FreeBSD's numbers: AF_INET6 is 28
/// there, not Linux's 10).
pub const AF_INET: u8 = 2;
pub const AF_LINK: u8 = 18;
pub const AF_INET6: u8 = 28;

/// `struct sockaddr_in`: 16 bytes.
pub(super) const SOCKADDR_IN: usize = 16;
/// `struct sockaddr_in6`: 28 bytes.
pub(super) const SOCKADDR_IN6: usize = 28;

/// `struct in_aliasreq` (the AF_INET view of `struct ifaliasreq`): name,
/// address, broadcast address, mask, vhid.
pub const IN_ALIASREQ: usize = IFNAMSIZ + 3 * SOCKADDR_IN + 4;
/// `struct ifreq` used through its `ifr_addr` member.
pub const IFREQ: usize = IFNAMSIZ + SOCKADDR_IN;
/// `struct in6_aliasreq`: name, address, destination, prefix mask, flags
/// (at 100), `struct in6_addrlifetime` (two time_t then two uint32_t, at
/// 104), vhid (at 128), padded to the 8-byte alignment of time_t.
pub const IN6_ALIASREQ: usize = 136;
/// `struct in6_ifreq`: the name and a union whose largest member is
/// `struct icmp6_ifstat` (34 uint64_t).
pub const IN6_IFREQ: usize = IFNAMSIZ + 34 * 8;

/// sys/sockio.h: `_IOW('i', 43, struct ifaliasreq)`.
pub const SIOCAIFADDR: u64 = iow(b'i', 43, IN_ALIASREQ);
/// sys/sockio.h: `_IOW('i', 25, struct ifreq)`.
pub const SIOCDIFADDR: u64 = iow(b'i', 25, IFREQ);
/// netinet6/in6_var.h: `_IOW('i', 27, struct in6_aliasreq)`.
pub const SIOCAIFADDR_IN6: u64 = iow(b'i', 27, IN6_ALIASREQ);
/// netinet6/in6_var.h: `_IOW('i', 25, struct in6_ifreq)`.
pub const SIOCDIFADDR_IN6: u64 = iow(b'i', 25, IN6_IFREQ);
/// netinet6/in6_var.h: `_IOWR('i', 73, struct in6_ifreq)`: the
/// `IN6_IFF_*` flags of one address.
pub const SIOCGIFAFLAG_IN6: u64 = iowr(b'i', 73, IN6_IFREQ);

/// ND6_INFINITE_LIFETIME, netinet6/nd6.h: ifconfig(8) gives manually added
/// addresses infinite valid and preferred lifetimes (a zero valid lifetime
/// makes the kernel ignore the request).
const ND6_INFINITE_LIFETIME: u32 = 0xffff_ffff;

/// netinet6/in6_var.h: the address is still being checked by duplicate
/// address detection and cannot be bound to yet.
pub const IN6_IFF_TENTATIVE: u32 = 0x02;
/// netinet6/in6_var.h: duplicate address detection found another node
/// with the address; it will never become usable.
pub const IN6_IFF_DUPLICATED: u32 = 0x04;
/// netinet6/in6_var.h: the interface is down or detached.
pub const IN6_IFF_DETACHED: u32 = 0x08;

/// A name that does not fit IFNAMSIZ or contains NUL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an interface name (1 to 15 bytes, no NUL)")]
pub struct BadIfName(pub String);

/// The NUL-padded `ifr_name` field.
pub fn ifname(iface: &str) -> Result<[u8; IFNAMSIZ], BadIfName> {
    let bytes = iface.as_bytes();
    if bytes.is_empty() || bytes.len() >= IFNAMSIZ || bytes.contains(&0) {
        return Err(BadIfName(iface.to_string()));
    }
    let mut name = [0u8; IFNAMSIZ];
    name[..bytes.len()].copy_from_slice(bytes);
    Ok(name)
}

/// `struct sockaddr_in`: sin_len, sin_family, sin_port (0), the address in
/// network byte order, eight bytes of sin_zero.
pub(super) fn sockaddr_in(addr: Ipv4Addr) -> [u8; SOCKADDR_IN] {
    let mut s = [0u8; SOCKADDR_IN];
    s[0] = SOCKADDR_IN as u8;
    s[1] = AF_INET;
    s[4..8].copy_from_slice(&addr.octets());
    s
}

/// `struct sockaddr_in6`: sin6_len, sin6_family, port, flowinfo, the
/// address, scope id. `None` is an absent address: all zeros, whose
/// sin6_len 0 tells the kernel it is not given.
pub(super) fn sockaddr_in6(addr: Option<Ipv6Addr>) -> [u8; SOCKADDR_IN6] {
    let mut s = [0u8; SOCKADDR_IN6];
    if let Some(a) = addr {
        s[0] = SOCKADDR_IN6 as u8;
        s[1] = AF_INET6;
        s[8..24].copy_from_slice(&a.octets());
    }
    s
}

/// `ifconfig IF inet ADDR/LEN alias`: the SIOCAIFADDR request. No
/// broadcast address is given (sin_len 0): the kernel derives it from the
/// mask on broadcast interfaces.
pub fn in_aliasreq(iface: &str, net: Ipv4Net) -> Result<[u8; IN_ALIASREQ], BadIfName> {
    let mut r = [0u8; IN_ALIASREQ];
    r[..IFNAMSIZ].copy_from_slice(&ifname(iface)?);
    r[16..32].copy_from_slice(&sockaddr_in(net.addr()));
    r[48..64].copy_from_slice(&sockaddr_in(net.netmask()));
    Ok(r)
}

/// `ifconfig IF inet ADDR -alias`: the SIOCDIFADDR request.
pub fn ifreq_addr(iface: &str, addr: Ipv4Addr) -> Result<[u8; IFREQ], BadIfName> {
    let mut r = [0u8; IFREQ];
    r[..IFNAMSIZ].copy_from_slice(&ifname(iface)?);
    r[16..32].copy_from_slice(&sockaddr_in(addr));
    Ok(r)
}

/// `ifconfig IF inet6 ADDR/LEN alias`: the SIOCAIFADDR_IN6 request, with
/// infinite lifetimes as ifconfig(8) gives a manual address.
pub fn in6_aliasreq(iface: &str, net: Ipv6Net) -> Result<[u8; IN6_ALIASREQ], BadIfName> {
    let mut r = [0u8; IN6_ALIASREQ];
    r[..IFNAMSIZ].copy_from_slice(&ifname(iface)?);
    r[16..44].copy_from_slice(&sockaddr_in6(Some(net.addr())));
    // ifra_dstaddr (44..72) stays absent.
    r[72..100].copy_from_slice(&sockaddr_in6(Some(net.netmask())));
    // ifra_flags (100..104) 0: duplicate address detection runs.
    // ifra_lifetime: ia6t_expire and ia6t_preferred (104..120) 0, then
    // the valid and preferred lifetimes.
    r[120..124].copy_from_slice(&ND6_INFINITE_LIFETIME.to_ne_bytes());
    r[124..128].copy_from_slice(&ND6_INFINITE_LIFETIME.to_ne_bytes());
    Ok(r)
}

/// The SIOCDIFADDR_IN6 and SIOCGIFAFLAG_IN6 request: the name and the
/// address in the union's `ifru_addr`.
pub fn in6_ifreq_addr(iface: &str, addr: Ipv6Addr) -> Result<[u8; IN6_IFREQ], BadIfName> {
    let mut r = [0u8; IN6_IFREQ];
    r[..IFNAMSIZ].copy_from_slice(&ifname(iface)?);
    r[16..44].copy_from_slice(&sockaddr_in6(Some(addr)));
    Ok(r)
}

/// The `ifru_flags6` SIOCGIFAFLAG_IN6 wrote over the union.
pub fn in6_ifreq_flags(reply: &[u8; IN6_IFREQ]) -> u32 {
    u32::from_ne_bytes([reply[16], reply[17], reply[18], reply[19]])
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
pub fn ip_net(addr: &[u8], mask: Option<&[u8]>) -> Option<IpNet> {
    let (offset, len) = match *addr.get(1)? {
        AF_INET => (4, 4),
        AF_INET6 => (8, 16),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_are_those_of_the_headers() {
        assert_eq!(SIOCAIFADDR, 0x8044_692b);
        assert_eq!(SIOCDIFADDR, 0x8020_6919);
        assert_eq!(SIOCAIFADDR_IN6, 0x8088_691b);
        assert_eq!(SIOCDIFADDR_IN6, 0x8120_6919);
        assert_eq!(SIOCGIFAFLAG_IN6, 0xc120_6949);
    }

    #[test]
    fn an_ipv4_alias_request_byte_for_byte() {
        let r = in_aliasreq("em0", "192.0.2.10/24".parse().expect("net")).expect("encodes");
        assert_eq!(&r[..4], b"em0\0");
        assert!(r[4..16].iter().all(|&b| b == 0));
        assert_eq!(r[16..32], [16, 2, 0, 0, 192, 0, 2, 10, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(r[32..48].iter().all(|&b| b == 0), "no broadcast address");
        assert_eq!(r[48..56], [16, 2, 0, 0, 255, 255, 255, 0]);
        assert!(r[56..].iter().all(|&b| b == 0), "vhid 0");
        let d = ifreq_addr("em0", "192.0.2.10".parse().expect("ip")).expect("encodes");
        assert_eq!(d[16..24], [16, 2, 0, 0, 192, 0, 2, 10]);
    }

    #[test]
    fn an_ipv6_alias_request_byte_for_byte() {
        let r = in6_aliasreq("em0", "2001:db8::10/64".parse().expect("net")).expect("encodes");
        assert_eq!(&r[..4], b"em0\0");
        assert_eq!(r[16..24], [28, 28, 0, 0, 0, 0, 0, 0]);
        assert_eq!(r[24..40], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10]);
        assert!(r[44..72].iter().all(|&b| b == 0), "no destination");
        assert_eq!(r[72..80], [28, 28, 0, 0, 0, 0, 0, 0]);
        assert_eq!(r[80..96], [0xff; 8].iter().chain(&[0; 8]).copied().collect::<Vec<u8>>()[..]);
        assert_eq!(r[100..104], [0; 4], "flags: DAD runs");
        assert_eq!(r[120..128], [0xff; 8], "infinite lifetimes");
        assert!(r[128..].iter().all(|&b| b == 0), "vhid 0 and padding");
        let q = in6_ifreq_addr("em0", "2001:db8::10".parse().expect("ip")).expect("encodes");
        assert_eq!(q.len(), 288);
        assert_eq!(q[16..18], [28, 28]);
        assert_eq!(q[39], 0x10);
    }

    #[test]
    fn the_flags_of_an_address_are_read_from_the_union() {
        let mut reply = [0u8; IN6_IFREQ];
        reply[16..20].copy_from_slice(&(IN6_IFF_TENTATIVE | IN6_IFF_DETACHED).to_ne_bytes());
        assert_eq!(in6_ifreq_flags(&reply), 0x0a);
    }

    fn raw4(a: [u8; 4]) -> Vec<u8> {
        let mut v = vec![16, AF_INET, 0, 0];
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
        let mut a = vec![28, AF_INET6, 0, 0, 0, 0, 0, 0];
        a.extend_from_slice(&[0xfe, 0x80, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        a.extend_from_slice(&[0; 4]);
        let mut m = vec![28, AF_INET6, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&[0xff; 8]);
        m.extend_from_slice(&[0; 12]);
        assert_eq!(ip_net(&a, Some(&m)), "fe80::1/64".parse().ok());
    }

    #[test]
    fn other_families_are_skipped() {
        assert_eq!(ip_net(&[20, AF_LINK, 1, 0], None), None);
        // Linux's AF_INET6 number means nothing here.
        assert_eq!(ip_net(&[28, 10, 0, 0, 0, 0, 0, 0], None), None);
    }

    #[test]
    fn names_fit_ifnamsiz() {
        assert_eq!(&ifname("em0").expect("fits")[..4], b"em0\0");
        assert!(ifname("a_very_long_ifname").is_err());
        assert!(ifname("").is_err());
        assert!(ifname("e\0m").is_err());
    }
}
