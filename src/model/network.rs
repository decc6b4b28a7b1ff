//! A jail's `[network]`, validated: which stack the jail has (none, the
//! host's, its own addresses on the host's stack, or a VNET stack of its
//! own), and for a VNET jail every name that will reach an ioctl checked
//! and derived here, so that planning never meets a bad one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::quoted;
use super::raw::RawNetwork;
use super::JailName;

/// What a jail's network is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Network {
    /// No addresses: a jail without network.
    None,
    /// `mode = "inherit"`: the host's whole network stack.
    Inherit,
    /// `mode = "alias"`: addresses aliased on `interface` of the host's
    /// stack (or already configured there when it is absent).
    Alias { interface: Option<String>, ip4: Vec<Ipv4Net>, ip6: Vec<Ipv6Net> },
    /// `mode = "vnet"`: a network stack of its own.
    Vnet(Vnet),
}

impl Network {
    /// The addresses the jail has, in whichever mode.
    pub fn addresses(&self) -> Vec<IpNet> {
        let (ip4, ip6) = match self {
            Network::Alias { ip4, ip6, .. } => (ip4, ip6),
            Network::Vnet(v) => (&v.ip4, &v.ip6),
            Network::None | Network::Inherit => return Vec::new(),
        };
        ip4.iter().map(|a| IpNet::V4(*a)).chain(ip6.iter().map(|a| IpNet::V6(*a))).collect()
    }

    pub fn mode(&self) -> &'static str {
        match self {
            Network::None => "none",
            Network::Inherit => "inherit",
            Network::Alias { .. } => "alias",
            Network::Vnet(_) => "vnet",
        }
    }
}

/// A VNET jail's stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vnet {
    pub link: Link,
    /// The interface inside the jail that gets the addresses.
    pub interface: String,
    pub ip4: Vec<Ipv4Net>,
    pub ip6: Vec<Ipv6Net>,
    pub ip4_gateway: Option<Ipv4Addr>,
    pub ip6_gateway: Option<Ipv6Addr>,
    /// IPv4 from a DHCP server: the jail's own dhclient(8) on its
    /// interface, started before exec.start.
    pub dhcp: bool,
    /// Accept router advertisements (ND6_IFF_ACCEPT_RTADV).
    pub slaac: bool,
    /// The jail end's Ethernet address: written, or for an epair derived
    /// from the jail's name so that a restarted jail keeps its leases (a
    /// host interface handed over keeps its own unless one is written).
    pub mac: Option<Mac>,
    pub mtu: Option<u32>,
}

/// How a VNET jail reaches the outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// An epair: `host_end` joins `bridge` (made when absent, with
    /// `uplink` as its first member), `jail_end` goes into the jail.
    Bridge { bridge: String, uplink: Option<String>, host_end: String },
    /// A host interface handed to the jail whole.
    Interface,
}

/// An Ethernet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mac(pub [u8; 6]);

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl Mac {
    /// `02:..`: a locally administered unicast address from a hash of the
    /// jail's name, the same at every start.
    pub fn derived(name: &JailName) -> Mac {
        let h = Sha256::digest(format!("brig vnet {name}").as_bytes());
        Mac([0x02, h[0], h[1], h[2], h[3], h[4]])
    }

    fn parse(s: &str) -> Option<Mac> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 6 {
            return None;
        }
        let mut b = [0u8; 6];
        for (out, p) in b.iter_mut().zip(parts) {
            if p.len() != 2 {
                return None;
            }
            *out = u8::from_str_radix(p, 16).ok()?;
        }
        Some(Mac(b))
    }
}

/// IFNAMSIZ less its NUL: the longest interface name.
pub const IFNAME_MAX: usize = 15;

/// The two ends of a jail's epair, `e0a_NAME` on the host and `e0b_NAME`
/// in the jail; a name too long for IFNAMSIZ keeps its first six
/// characters and gains five hex digits of its hash, so the names stay
/// distinct and the same at every start.
pub fn epair_ends(name: &JailName) -> (String, String) {
    let n = name.as_str();
    let stem = if 4 + n.len() <= IFNAME_MAX {
        n.to_string()
    } else {
        let h = Sha256::digest(n.as_bytes());
        let head: String = n.chars().take(6).collect();
        format!("{head}{:02x}{:02x}{:x}", h[0], h[1], h[2] >> 4)
    };
    (format!("e0a_{stem}"), format!("e0b_{stem}"))
}

/// The kernel's IF_MINMTU and IF_MAXMTU (net/if.h).
const MTU: std::ops::RangeInclusive<i64> = 72..=65535;

/// A refusal: byte offset of the value, and the sentence.
type Invalid = (usize, String);

fn at<T>(s: &Spanned<T>, msg: impl Into<String>) -> Invalid {
    (s.span().start, msg.into())
}

/// An interface name as the kernel takes it (IFNAMSIZ 16) and as pf and
/// ifconfig(8) read it back.
pub fn check_interface(i: &str) -> bool {
    !i.is_empty()
        && i.len() <= IFNAME_MAX
        && i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        && i.starts_with(|c: char| c.is_ascii_alphabetic())
}

fn interface(s: &Spanned<String>) -> Result<String, Invalid> {
    if check_interface(s.get_ref()) {
        Ok(s.get_ref().clone())
    } else {
        Err(at(
            s,
            format!(
                "{} is not an interface name: up to 15 letters, digits, '.', '_' and '-', starting with a letter",
                quoted(s.get_ref())
            ),
        ))
    }
}

/// `192.0.2.10/24` or a bare address (a /32 or /128).
fn parse_addr(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>().ok().or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

/// The keys only a VNET jail has, for the sentence that refuses them
/// elsewhere.
fn vnet_only(raw: &RawNetwork) -> Option<(usize, &'static str)> {
    let s = |v: &Option<Spanned<String>>| v.as_ref().map(|x| x.span().start);
    let b = |v: &Option<Spanned<bool>>| v.as_ref().map(|x| x.span().start);
    [
        (s(&raw.bridge), "bridge"),
        (s(&raw.uplink), "uplink"),
        (s(&raw.ip4_gateway), "ip4_gateway"),
        (s(&raw.ip6_gateway), "ip6_gateway"),
        (b(&raw.slaac), "slaac"),
        (s(&raw.mac), "mac"),
        (raw.mtu.as_ref().map(|x| x.span().start), "mtu"),
    ]
    .into_iter()
    .find_map(|(at, key)| at.map(|a| (a, key)))
}

fn addresses(raw: &RawNetwork) -> Result<(Vec<Ipv4Net>, Vec<Ipv6Net>), Invalid> {
    let mut ip4: Vec<Ipv4Net> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for a in &raw.ip4 {
        let net = match parse_addr(a.get_ref()) {
            Some(IpNet::V4(n)) => n,
            _ => return Err(at(a, format!("{} is not an IPv4 address such as 192.0.2.10/24", quoted(a.get_ref())))),
        };
        let ip = net.addr();
        if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip == net.network() && net.prefix_len() < 31
        {
            return Err(at(a, format!("{ip} cannot be a jail's address")));
        }
        if !seen.insert(IpAddr::V4(ip)) {
            return Err(at(a, format!("{ip} is listed twice")));
        }
        ip4.push(net);
    }
    let mut ip6: Vec<Ipv6Net> = Vec::new();
    for a in &raw.ip6 {
        let net = match parse_addr(a.get_ref()) {
            Some(IpNet::V6(n)) => n,
            _ => return Err(at(a, format!("{} is not an IPv6 address such as 2001:db8::10/64", quoted(a.get_ref())))),
        };
        let ip = net.addr();
        if ip.is_unspecified() || ip.is_multicast() {
            return Err(at(a, format!("{ip} cannot be a jail's address")));
        }
        if !seen.insert(IpAddr::V6(ip)) {
            return Err(at(a, format!("{ip} is listed twice")));
        }
        ip6.push(net);
    }
    Ok((ip4, ip6))
}

/// Validates `[network]` of jail `name`.
pub fn validate(name: &JailName, raw: &RawNetwork) -> Result<Network, Invalid> {
    let inherit = raw.inherit.as_ref().is_some_and(|i| *i.get_ref());
    let mode = match (&raw.mode, inherit) {
        (Some(m), true) if m.get_ref() != "inherit" => {
            return Err(at(m, "inherit = true is mode = \"inherit\"; keep one of them"));
        }
        (Some(m), _) => m.get_ref().as_str(),
        (None, true) => "inherit",
        (None, false) => "alias",
    };
    let (ip4, ip6) = addresses(raw)?;
    let first_addr = raw.ip4.first().or(raw.ip6.first());
    match mode {
        "inherit" | "none" => {
            if let Some(a) = first_addr {
                let why = if mode == "inherit" { "shares the host's network" } else { "has no network" };
                return Err(at(a, format!("a jail with mode = \"{mode}\" {why}; it cannot have ip4 or ip6")));
            }
            if let Some(i) = &raw.interface {
                return Err(at(
                    i,
                    format!("a jail with mode = \"{mode}\" has no interface of its own; remove interface"),
                ));
            }
        }
        "alias" => {}
        "vnet" => return vnet(name, raw, ip4, ip6).map(Network::Vnet),
        _ => {
            let m = raw.mode.as_ref().map_or(0, |m| m.span().start);
            return Err((m, format!("mode {} is not one of alias, vnet, inherit, none", quoted(mode))));
        }
    }
    if let Some((offset, key)) = vnet_only(raw) {
        return Err((
            offset,
            format!("{key} is for a jail with its own network stack; set mode = \"vnet\", or remove {key}"),
        ));
    }
    if raw.dhcp.as_ref().is_some_and(|d| *d.get_ref()) {
        let d = raw.dhcp.as_ref().map_or(0, |d| d.span().start);
        return Err((d, "dhcp is for a jail with its own network stack; set mode = \"vnet\", or remove dhcp".into()));
    }
    let interface = raw.interface.as_ref().map(interface).transpose()?;
    match mode {
        "inherit" => Ok(Network::Inherit),
        _ if ip4.is_empty() && ip6.is_empty() => Ok(Network::None),
        _ => Ok(Network::Alias { interface, ip4, ip6 }),
    }
}

fn vnet(name: &JailName, raw: &RawNetwork, ip4: Vec<Ipv4Net>, ip6: Vec<Ipv6Net>) -> Result<Vnet, Invalid> {
    let (host_end, jail_end) = epair_ends(name);
    let (link, interface_name) = match (&raw.bridge, &raw.interface) {
        (Some(_), Some(i)) => {
            return Err(at(
                i,
                "a VNET jail has either a bridge (an epair joins it) or an interface of its own, not both",
            ))
        }
        (Some(b), None) => {
            let bridge = interface(b)?;
            let uplink = raw.uplink.as_ref().map(interface).transpose()?;
            if uplink.as_deref() == Some(bridge.as_str()) {
                let u = raw.uplink.as_ref().map_or(0, |u| u.span().start);
                return Err((u, format!("{bridge} cannot be its own uplink")));
            }
            (Link::Bridge { bridge, uplink, host_end }, jail_end)
        }
        (None, Some(i)) => {
            if let Some(u) = &raw.uplink {
                return Err(at(u, "uplink is the bridge's way out; an interface handed to the jail whole has none"));
            }
            // brig would change the host's own NIC and not change it back.
            if let Some(m) = raw.mac.as_ref().map(|m| m.span().start).or(raw.mtu.as_ref().map(|m| m.span().start)) {
                return Err((
                    m,
                    format!("mac and mtu are for the epair brig makes; set them on {} in rc.conf", i.get_ref()),
                ));
            }
            (Link::Interface, interface(i)?)
        }
        (None, None) => {
            let m = raw.mode.as_ref().map_or(0, |m| m.span().start);
            return Err((m, "a VNET jail needs bridge = \"bridge0\" (an epair joins it) or interface = \"em1\" (handed to the jail whole)".into()));
        }
    };
    let ip4_gateway = match &raw.ip4_gateway {
        Some(g) => {
            let gw: Ipv4Addr = g
                .get_ref()
                .parse()
                .map_err(|_| at(g, format!("{} is not an IPv4 address such as 192.0.2.1", quoted(g.get_ref()))))?;
            if !ip4.iter().any(|n| n.contains(&gw) && n.addr() != gw) {
                return Err(at(
                    g,
                    format!("ip4_gateway {gw} is in none of the jail's ip4 networks, so the jail could not reach it"),
                ));
            }
            Some(gw)
        }
        None => None,
    };
    let slaac = raw.slaac.as_ref().is_some_and(|s| *s.get_ref());
    let ip6_gateway = match &raw.ip6_gateway {
        Some(g) => {
            let gw: Ipv6Addr = g.get_ref().parse().map_err(|_| {
                at(g, format!("{} is not an IPv6 address such as 2001:db8::1 or fe80::1", quoted(g.get_ref())))
            })?;
            let link_local = gw.is_unicast_link_local();
            if !link_local && !ip6.iter().any(|n| n.contains(&gw) && n.addr() != gw) {
                return Err(at(g, format!("ip6_gateway {gw} is neither link-local (fe80::/10) nor in one of the jail's ip6 networks, so the jail could not reach it")));
            }
            Some(gw)
        }
        None => None,
    };
    let dhcp = raw.dhcp.as_ref().filter(|d| *d.get_ref());
    if let (Some(d), Some(_)) = (dhcp, raw.ip4.first().or(raw.ip4_gateway.as_ref())) {
        return Err(at(d, "dhcp = true gets the jail's IPv4 address and gateway from a DHCP server; remove ip4 and ip4_gateway, or dhcp"));
    }
    let mac = match &raw.mac {
        Some(m) => {
            let mac = Mac::parse(m.get_ref()).ok_or_else(|| {
                at(m, format!("{} is not an Ethernet address such as 02:00:00:00:00:01", quoted(m.get_ref())))
            })?;
            if mac.0[0] & 1 == 1 || mac.0 == [0; 6] {
                return Err(at(m, format!("{mac} is a multicast or zero address; an interface needs a unicast one")));
            }
            Some(mac)
        }
        None if link == Link::Interface => None,
        None => Some(Mac::derived(name)),
    };
    let mtu = match &raw.mtu {
        Some(m) if MTU.contains(m.get_ref()) => Some(*m.get_ref() as u32),
        Some(m) => return Err(at(m, format!("mtu must be between {} and {}", MTU.start(), MTU.end()))),
        None => None,
    };
    Ok(Vnet {
        link,
        interface: interface_name,
        ip4,
        ip6,
        ip4_gateway,
        ip6_gateway,
        dhcp: dhcp.is_some(),
        slaac,
        mac,
        mtu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(name: &str, text: &str) -> Result<Network, String> {
        let full = format!("release = \"14.3-RELEASE\"\n[network]\n{text}");
        let raw = crate::config::jail::parse(std::path::Path::new("t.toml"), &full).expect("parses");
        validate(&JailName::parse(name).expect("name"), &raw.network).map_err(|(offset, msg)| {
            let (line, col) = crate::config::line_col(&full, offset);
            format!("{line}:{col}: {msg}")
        })
    }

    #[test]
    fn the_modes() {
        assert_eq!(net("web", ""), Ok(Network::None));
        assert_eq!(net("web", "mode = \"inherit\"\n"), Ok(Network::Inherit));
        assert_eq!(net("web", "inherit = true\n"), Ok(Network::Inherit), "the older spelling");
        assert_eq!(net("web", "mode = \"none\"\n"), Ok(Network::None));
        let alias = net("web", "interface = \"em0\"\nip4 = [\"192.0.2.10/24\"]\n").expect("alias");
        assert_eq!(alias.mode(), "alias");
        assert_eq!(alias.addresses(), vec!["192.0.2.10/24".parse::<IpNet>().expect("a")]);
    }

    #[test]
    fn a_vnet_jail_on_a_bridge() {
        let n = net(
            "web",
            "mode = \"vnet\"\nbridge = \"bridge0\"\nuplink = \"em0\"\nip4 = [\"192.0.2.10/24\"]\nip4_gateway = \"192.0.2.1\"\nip6 = [\"2001:db8::10/64\"]\nip6_gateway = \"fe80::1\"\nmtu = 9000\n",
        )
        .expect("vnet");
        let Network::Vnet(v) = n else { panic!("vnet") };
        assert_eq!(
            v.link,
            Link::Bridge { bridge: "bridge0".into(), uplink: Some("em0".into()), host_end: "e0a_web".into() }
        );
        assert_eq!(v.interface, "e0b_web");
        assert_eq!((v.ip4_gateway, v.mtu, v.slaac), (Some(Ipv4Addr::new(192, 0, 2, 1)), Some(9000), false));
        let derived = Mac::derived(&JailName::parse("web").expect("name"));
        assert_eq!(v.mac, Some(derived), "stable unless written");
        assert_eq!(derived.0[0], 0x02, "locally administered, unicast");
        let written = net("web", "mode = \"vnet\"\nbridge = \"bridge0\"\nmac = \"02:00:5e:00:00:01\"\n");
        let Ok(Network::Vnet(v)) = written else { panic!("vnet") };
        assert_eq!(v.mac.map(|m| m.to_string()).as_deref(), Some("02:00:5e:00:00:01"));
        let own = net("web", "mode = \"vnet\"\ninterface = \"em1\"\nslaac = true\n");
        let Ok(Network::Vnet(v)) = own else { panic!("vnet") };
        assert_eq!((v.link, v.interface.as_str(), v.slaac, v.mac), (Link::Interface, "em1", true, None));
        let theirs = net("web", "mode = \"vnet\"\ninterface = \"em1\"\nmtu = 9000\n");
        assert!(theirs
            .expect_err("refused")
            .contains("mac and mtu are for the epair brig makes; set them on em1 in rc.conf"));
    }

    #[test]
    fn epair_names_fit_ifnamsiz_and_stay_distinct() {
        let ends = |n: &str| epair_ends(&JailName::parse(n).expect("name"));
        assert_eq!(ends("web"), ("e0a_web".into(), "e0b_web".into()));
        assert_eq!(ends("elevenchars").0, "e0a_elevenchars");
        let (a, b) = ends("a-very-long-jail-name");
        assert!(a.len() <= IFNAME_MAX && b.len() <= IFNAME_MAX, "{a} {b}");
        assert!(a.starts_with("e0a_a-very"), "{a}");
        assert_ne!(ends("a-very-long-jail-name"), ends("a-very-long-jail-nam2"));
        assert_eq!(ends("a-very-long-jail-name"), (a, b), "the same at every start");
    }

    #[test]
    fn refusals_point_at_the_value() {
        let e = |t: &str| net("web", t).expect_err("invalid");
        assert_eq!(e("mode = \"bridge\"\n"), "3:8: mode 'bridge' is not one of alias, vnet, inherit, none");
        assert_eq!(
            e("bridge = \"bridge0\"\n"),
            "3:10: bridge is for a jail with its own network stack; set mode = \"vnet\", or remove bridge"
        );
        assert!(e("mode = \"vnet\"\n").starts_with("3:8: a VNET jail needs bridge"));
        assert_eq!(
            e("mode = \"vnet\"\nbridge = \"bridge0\"\ninterface = \"em1\"\n"),
            "5:13: a VNET jail has either a bridge (an epair joins it) or an interface of its own, not both"
        );
        assert_eq!(
            e("mode = \"vnet\"\nbridge = \"bridge0\"\nip4 = [\"192.0.2.10/24\"]\nip4_gateway = \"198.51.100.1\"\n"),
            "6:15: ip4_gateway 198.51.100.1 is in none of the jail's ip4 networks, so the jail could not reach it"
        );
        assert!(
            e("mode = \"vnet\"\nbridge = \"bridge0\"\nip6_gateway = \"2001:db8::1\"\n").contains("neither link-local")
        );
        assert!(e("mode = \"vnet\"\nbridge = \"bridge0\"\nmac = \"03:00:00:00:00:01\"\n").contains("multicast"));
        assert!(e("mode = \"vnet\"\nbridge = \"bridge0\"\nmac = \"02:00\"\n").contains("not an Ethernet address"));
        assert_eq!(e("mode = \"vnet\"\nbridge = \"bridge0\"\nmtu = 70000\n"), "5:7: mtu must be between 72 and 65535");
        assert!(e("mode = \"vnet\"\nbridge = \"bridge 0\"\n").contains("is not an interface name"));
        assert!(e("mode = \"vnet\"\nbridge = \"bridge0\"\nuplink = \"bridge0\"\n").contains("its own uplink"));
        assert!(e("mode = \"vnet\"\ninterface = \"em1\"\nuplink = \"em0\"\n").starts_with("5:10: uplink"));
        assert!(e("mode = \"none\"\nip4 = [\"192.0.2.1\"]\n").contains("has no network"));
        assert!(e("mode = \"alias\"\ninherit = true\n").contains("keep one of them"));
        assert!(e("mode = \"vnet\"\nbridge = \"bridge0\"\ndhcp = true\nip4 = [\"192.0.2.9/24\"]\n")
            .contains("remove ip4 and ip4_gateway, or dhcp"));
        let Ok(Network::Vnet(v)) = net("web", "mode = \"vnet\"\nbridge = \"bridge0\"\ndhcp = true\n") else {
            panic!("vnet")
        };
        assert!(v.dhcp);
    }
}
