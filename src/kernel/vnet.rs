//! The requests that set up a VNET jail's own stack, as bytes laid out as
//! on FreeBSD/amd64 (docs/freebsd/vnet-config.md): an interface's
//! Ethernet address and MTU, its ND6 flags, its index, and the routing
//! messages that add and read a default route.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ioccom::{iow, iowr};
use super::net::{ifname, sockaddr_in, sockaddr_in6, BadIfName, AF_INET, AF_INET6, AF_LINK, IFNAMSIZ, IFREQ};
use super::net::{SOCKADDR_IN, SOCKADDR_IN6};

/// sys/sockio.h: `_IOW('i', 60, struct ifreq)`.
pub const SIOCSIFLLADDR: u64 = iow(b'i', 60, IFREQ);
/// sys/sockio.h: `_IOW('i', 52, struct ifreq)`.
pub const SIOCSIFMTU: u64 = iow(b'i', 52, IFREQ);
/// sys/sockio.h: `_IOWR('i', 51, struct ifreq)`.
pub const SIOCGIFMTU: u64 = iowr(b'i', 51, IFREQ);
/// sys/sockio.h: `_IOWR('i', 32, struct ifreq)`.
pub const SIOCGIFINDEX: u64 = iowr(b'i', 32, IFREQ);

/// `struct in6_ndireq`: the name, then `struct nd_ifinfo` (56 bytes).
pub const IN6_NDIREQ: usize = IFNAMSIZ + 56;
/// netinet6/in6_var.h: `_IOWR('i', 108, struct in6_ndireq)`.
pub const SIOCGIFINFO_IN6: u64 = iowr(b'i', 108, IN6_NDIREQ);
/// netinet6/in6_var.h: `_IOWR('i', 109, struct in6_ndireq)`.
pub const SIOCSIFINFO_IN6: u64 = iowr(b'i', 109, IN6_NDIREQ);
/// Where `nd_ifinfo.flags` is in the request.
const NDI_FLAGS: usize = 36;
/// netinet6/nd6.h: accept router advertisements (SLAAC).
pub const ND6_IFF_ACCEPT_RTADV: u32 = 0x2;
/// netinet6/nd6.h: IPv6 off on the interface; the kernel's default for
/// every interface but loopback (nd6_ifattach).
pub const ND6_IFF_IFDISABLED: u32 = 0x8;

/// `ifconfig IF ether MAC`: `ifr_addr` with sa_len 6 and the address in
/// sa_data (if_setlladdr checks the length against the interface's).
pub fn ifreq_lladdr(iface: &str, mac: [u8; 6]) -> Result<[u8; IFREQ], BadIfName> {
    let mut r = [0u8; IFREQ];
    r[..IFNAMSIZ].copy_from_slice(&ifname(iface)?);
    r[16] = 6;
    r[17] = AF_LINK;
    r[18..24].copy_from_slice(&mac);
    Ok(r)
}

/// `ifconfig IF mtu N`: `ifr_mtu`, an int.
pub fn ifreq_mtu(iface: &str, mtu: u32) -> Result<[u8; IFREQ], BadIfName> {
    let mut r = [0u8; IFREQ];
    r[..IFNAMSIZ].copy_from_slice(&ifname(iface)?);
    r[16..20].copy_from_slice(&(mtu as i32).to_ne_bytes());
    Ok(r)
}

/// `ifr_mtu` of a SIOCGIFMTU answer.
pub fn ifreq_mtu_of(r: &[u8; IFREQ]) -> u32 {
    i32::from_ne_bytes([r[16], r[17], r[18], r[19]]).max(0) as u32
}

/// `ifr_index` of a SIOCGIFINDEX answer: a u_short.
pub fn ifreq_index(r: &[u8; IFREQ]) -> u32 {
    u32::from(u16::from_ne_bytes([r[16], r[17]]))
}

/// A SIOCGIFINFO_IN6 request for `iface`.
pub fn in6_ndireq(iface: &str) -> Result<[u8; IN6_NDIREQ], BadIfName> {
    let mut r = [0u8; IN6_NDIREQ];
    r[..IFNAMSIZ].copy_from_slice(&ifname(iface)?);
    Ok(r)
}

pub fn ndireq_flags(r: &[u8; IN6_NDIREQ]) -> u32 {
    u32::from_ne_bytes([r[NDI_FLAGS], r[NDI_FLAGS + 1], r[NDI_FLAGS + 2], r[NDI_FLAGS + 3]])
}

/// The answer of SIOCGIFINFO_IN6 with its flags changed, for
/// SIOCSIFINFO_IN6, which replaces all of them (nd6_ioctl) and leaves
/// the other values as they are when they are unchanged.
pub fn ndireq_with_flags(mut r: [u8; IN6_NDIREQ], set: u32, clear: u32) -> [u8; IN6_NDIREQ] {
    let flags = (ndireq_flags(&r) | set) & !clear;
    r[NDI_FLAGS..NDI_FLAGS + 4].copy_from_slice(&flags.to_ne_bytes());
    r
}

/// net/route.h.
pub const RTM_VERSION: u8 = 5;
pub const RTM_ADD: u8 = 1;
pub const RTM_GET: u8 = 4;
const RTA_DST: i32 = 0x1;
const RTA_GATEWAY: i32 = 0x2;
const RTA_NETMASK: i32 = 0x4;
const RTF_UP: i32 = 0x1;
const RTF_GATEWAY: i32 = 0x2;
const RTF_STATIC: i32 = 0x800;
/// `struct rt_msghdr`: 152 bytes on amd64.
pub const RT_MSGHDR: usize = 152;

/// SA_SIZE: a sockaddr in a routing message takes its length rounded up
/// to a multiple of sizeof(long); an empty one takes 8.
fn sa_size(len: usize) -> usize {
    if len == 0 {
        8
    } else {
        1 + ((len - 1) | 7)
    }
}

/// The header of a routing message.
fn rt_msghdr(len: usize, kind: u8, flags: i32, addrs: i32, seq: i32) -> Vec<u8> {
    let mut m = vec![0u8; RT_MSGHDR];
    m[0..2].copy_from_slice(&(len as u16).to_ne_bytes());
    m[2] = RTM_VERSION;
    m[3] = kind;
    m[8..12].copy_from_slice(&flags.to_ne_bytes());
    m[12..16].copy_from_slice(&addrs.to_ne_bytes());
    m[20..24].copy_from_slice(&seq.to_ne_bytes());
    m
}

/// The sockaddrs of a default route of `gw`'s family: destination and
/// mask all zero (a missing mask would make a host route), then the
/// gateway; a link-local IPv6 gateway carries its interface's index in
/// sin6_scope_id, as route(8) gets it from getaddrinfo("fe80::1%IF").
fn default_route(kind: u8, gw: Option<IpAddr>, family: u8, scope: u32, seq: i32) -> Vec<u8> {
    let (dst, mask, gateway): (Vec<u8>, Vec<u8>, Option<Vec<u8>>) = if family == AF_INET {
        let zero = sockaddr_in(Ipv4Addr::UNSPECIFIED).to_vec();
        let gw = gw.and_then(|g| match g {
            IpAddr::V4(a) => Some(sockaddr_in(a).to_vec()),
            IpAddr::V6(_) => None,
        });
        (zero.clone(), zero, gw)
    } else {
        let zero = sockaddr_in6(Some(Ipv6Addr::UNSPECIFIED)).to_vec();
        let gw = gw.and_then(|g| match g {
            IpAddr::V6(a) => {
                let mut s = sockaddr_in6(Some(a)).to_vec();
                s[24..28].copy_from_slice(&scope.to_ne_bytes());
                Some(s)
            }
            IpAddr::V4(_) => None,
        });
        (zero.clone(), zero, gw)
    };
    let mut body = Vec::new();
    let mut addrs = RTA_DST;
    let mut push = |s: &[u8]| {
        let mut padded = s.to_vec();
        padded.resize(sa_size(s.len()), 0);
        body.extend(padded);
    };
    push(&dst);
    if let Some(g) = &gateway {
        push(g);
        addrs |= RTA_GATEWAY;
    }
    push(&mask);
    addrs |= RTA_NETMASK;
    let flags = if kind == RTM_ADD { RTF_UP | RTF_GATEWAY | RTF_STATIC } else { 0 };
    let mut m = rt_msghdr(RT_MSGHDR + body.len(), kind, flags, addrs, seq);
    m.extend(body);
    m
}

/// `route add default GW` (IPv4) or `route add -inet6 default GW%IF`:
/// RTM_ADD. `scope` is the interface index for a link-local gateway, 0
/// otherwise.
pub fn rtm_add_default(gw: IpAddr, scope: u32, seq: i32) -> Vec<u8> {
    let family = if gw.is_ipv4() { AF_INET } else { AF_INET6 };
    default_route(RTM_ADD, Some(gw), family, scope, seq)
}

/// `route -n get default` of one family (`ipv6`): RTM_GET.
pub fn rtm_get_default(ipv6: bool, seq: i32) -> Vec<u8> {
    default_route(RTM_GET, None, if ipv6 { AF_INET6 } else { AF_INET }, 0, seq)
}

/// Who a routing message read back answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtmReply {
    pub kind: u8,
    /// The process that sent the request (the kernel fills it in).
    pub pid: i32,
    pub seq: i32,
    pub errno: i32,
}

/// The header of a routing message read back, if it is a whole one of
/// this version.
pub fn rtm_reply(m: &[u8]) -> Option<RtmReply> {
    if m.len() < RT_MSGHDR || m[2] != RTM_VERSION {
        return None;
    }
    let int = |at: usize| i32::from_ne_bytes([m[at], m[at + 1], m[at + 2], m[at + 3]]);
    Some(RtmReply { kind: m[3], pid: int(16), seq: int(20), errno: int(24) })
}

/// The gateway of a routing message (an RTM_GET answer): the sockaddrs
/// are walked in RTAX order up to RTA_GATEWAY. A link-local IPv6
/// gateway comes back with its scope embedded in the second 16-bit word
/// (KAME), which is not part of the address.
pub fn rtm_gateway(m: &[u8]) -> Option<IpAddr> {
    if m.len() < RT_MSGHDR {
        return None;
    }
    let addrs = i32::from_ne_bytes([m[12], m[13], m[14], m[15]]);
    if addrs & RTA_GATEWAY == 0 {
        return None;
    }
    let mut at = RT_MSGHDR;
    if addrs & RTA_DST != 0 {
        at += sa_size(usize::from(*m.get(at)?));
    }
    let len = usize::from(*m.get(at)?);
    let sa = m.get(at..at + len)?;
    match sa.get(1).copied()? {
        AF_INET if len >= SOCKADDR_IN => Some(IpAddr::V4(Ipv4Addr::new(sa[4], sa[5], sa[6], sa[7]))),
        AF_INET6 if len >= SOCKADDR_IN6 => {
            let mut b: [u8; 16] = sa[8..24].try_into().ok()?;
            if b[0] == 0xfe && b[1] & 0xc0 == 0x80 {
                b[2] = 0;
                b[3] = 0;
            }
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_are_those_of_the_headers() {
        assert_eq!(SIOCSIFLLADDR, 0x8020_693c);
        assert_eq!(SIOCSIFMTU, 0x8020_6934);
        assert_eq!(SIOCGIFINDEX, 0xc020_6920);
        assert_eq!(SIOCGIFMTU, 0xc020_6933);
        assert_eq!(SIOCGIFINFO_IN6, 0xc048_696c);
        assert_eq!(SIOCSIFINFO_IN6, 0xc048_696d);
    }

    #[test]
    fn lladdr_mtu_and_index() {
        let r = ifreq_lladdr("e0b_web", [2, 0, 0x5e, 0, 0, 1]).expect("name");
        assert_eq!(&r[..8], b"e0b_web\0");
        assert_eq!(&r[16..24], &[6, 18, 2, 0, 0x5e, 0, 0, 1]);
        let r = ifreq_mtu("e0b_web", 9000).expect("name");
        assert_eq!(&r[16..20], &9000i32.to_ne_bytes());
        assert_eq!(ifreq_mtu_of(&r), 9000);
        let mut r = [0u8; IFREQ];
        r[16..18].copy_from_slice(&7u16.to_ne_bytes());
        assert_eq!(ifreq_index(&r), 7);
        assert!(ifreq_mtu("a-name-that-is-too-long", 1500).is_err());
    }

    #[test]
    fn nd6_flags_are_read_modified_and_written_whole() {
        let mut r = in6_ndireq("e0b_web").expect("name");
        assert_eq!(r.len(), 72);
        r[16..20].copy_from_slice(&1500u32.to_ne_bytes());
        r[36..40].copy_from_slice(&0x29u32.to_ne_bytes());
        let w = ndireq_with_flags(r, ND6_IFF_ACCEPT_RTADV, ND6_IFF_IFDISABLED);
        assert_eq!(ndireq_flags(&w), 0x23, "PERFORMNUD|ACCEPT_RTADV|AUTO_LINKLOCAL");
        assert_eq!(&w[16..20], &1500u32.to_ne_bytes(), "the rest as read");
    }

    #[test]
    fn a_default_route_is_what_route8_sends() {
        let m = rtm_add_default("192.0.2.1".parse().expect("a"), 0, 9);
        assert_eq!(m.len(), 200, "header and three sockaddr_in");
        assert_eq!(&m[0..4], &[200, 0, 5, 1]);
        assert_eq!(&m[8..16], &[0x03, 0x08, 0, 0, 7, 0, 0, 0], "UP|GATEWAY|STATIC, DST|GATEWAY|NETMASK");
        assert_eq!(&m[20..24], &9i32.to_ne_bytes());
        assert_eq!(&m[152..156], &[16, 2, 0, 0], "dst 0.0.0.0");
        assert_eq!(&m[168..176], &[16, 2, 0, 0, 192, 0, 2, 1], "gateway");
        assert_eq!(&m[184..192], &[16, 2, 0, 0, 0, 0, 0, 0], "mask 0");
        let m = rtm_add_default("fe80::1".parse().expect("a"), 3, 1);
        assert_eq!(m.len(), 248, "header and three padded sockaddr_in6");
        assert_eq!(&m[184..186], &[28, 28]);
        assert_eq!(&m[192..194], &[0xfe, 0x80]);
        assert_eq!(&m[208..212], &3u32.to_ne_bytes(), "sin6_scope_id");
        assert_eq!(&m[216..218], &[28, 28], "an all-zero mask of full length");
    }

    #[test]
    fn the_gateway_is_read_back_from_a_get() {
        let m = rtm_get_default(false, 4);
        assert_eq!((m.len(), m[3], m[12]), (184, RTM_GET, 5), "DST|NETMASK, no gateway asked");
        assert_eq!(rtm_gateway(&m), None);
        let answer = rtm_add_default("192.0.2.1".parse().expect("a"), 0, 4);
        assert_eq!(rtm_gateway(&answer), Some("192.0.2.1".parse().expect("a")));
        let mut six = rtm_add_default("fe80::1".parse().expect("a"), 0, 4);
        six[194..196].copy_from_slice(&[0, 3]);
        assert_eq!(rtm_gateway(&six), Some("fe80::1".parse().expect("a")), "the embedded scope is dropped");
        let mut answer = answer;
        answer[16..20].copy_from_slice(&77i32.to_ne_bytes());
        assert_eq!(rtm_reply(&answer), Some(RtmReply { kind: RTM_ADD, pid: 77, seq: 4, errno: 0 }));
        assert_eq!(rtm_reply(&answer[..100]), None);
        assert_eq!(rtm_gateway(&answer[..170]), None, "cut short");
    }
}
