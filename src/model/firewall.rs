//! A jail's `[firewall]` and `[[expose]]`, validated: what may reach the
//! jail (everything else is blocked), what it may reach, the NAT of its
//! IPv4 addresses and the host ports forwarded to it. brig writes them
//! as pf rules into the jail's own anchor (`plan::pf`).

use std::net::IpAddr;

use ipnet::IpNet;
use toml::Spanned;

use super::network::{check_interface, Link, Network};
use super::quoted;
use super::raw::{RawExpose, RawFirewall};

/// A refusal: byte offset of the value, and the sentence.
type Invalid = (usize, String);

fn at<T>(s: &Spanned<T>, msg: impl Into<String>) -> Invalid {
    (s.span().start, msg.into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
    Icmp6,
    Any,
}

impl Proto {
    fn parse(s: &str) -> Option<Proto> {
        Some(match s {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            "icmp" => Proto::Icmp,
            "icmp6" => Proto::Icmp6,
            "any" => Proto::Any,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            Proto::Icmp6 => "icmp6",
            Proto::Any => "any",
        }
    }

    fn has_ports(self) -> bool {
        matches!(self, Proto::Tcp | Proto::Udp)
    }
}

/// `tcp/22 from 203.0.113.0/24`, `udp/53`, `tcp/8000-8010`, `icmp6`:
/// traffic allowed in (`peer` is where it comes from) or out (`peer` is
/// where it goes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    pub proto: Proto,
    pub ports: Option<(u16, u16)>,
    pub peer: Option<IpNet>,
}

/// What the jail may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    Any,
    None,
    Only(Vec<Allow>),
}

/// `[[expose]]`: a host port forwarded to the jail (pf rdr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expose {
    pub proto: Proto,
    pub host_port: u16,
    pub port: u16,
    /// The host address it is exposed on. Required: pf's `self` would be
    /// every address the host has when the rules load, other jails'
    /// aliases included.
    pub host_address: IpAddr,
    /// The jail's address it goes to.
    pub address: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firewall {
    /// What may reach the jail besides its exposed ports; the rest is
    /// blocked.
    pub inbound: Vec<Allow>,
    pub outbound: Outbound,
    /// The host interface the jail's IPv4 addresses are NATed through.
    pub nat: Option<String>,
    pub expose: Vec<Expose>,
}

/// The host interface a jail's bandwidth limits are applied on, in pf
/// passes the host routes: its NAT interface (where its traffic leaves
/// and, redirected, arrives), else the interface its aliases are on. A
/// VNET jail's traffic is bridged, and dummynet re-injects a delayed
/// packet into the host's IP stack instead of the bridge (dummynet_send
/// in ip_dn_io.c hands DIR_IN to netisr_dispatch(NETISR_IP) and DIR_OUT
/// to ip_output once bridge_pfil has stripped its Ethernet header), so
/// limits there would lose the jail's packets.
pub fn shaping_interface<'a>(network: &'a Network, firewall: Option<&'a Firewall>) -> Result<&'a str, String> {
    let on = match network {
        Network::Alias { interface, ip4, ip6 } if !(ip4.is_empty() && ip6.is_empty()) => interface.as_deref(),
        Network::Vnet(_) => {
            return Err("bandwidth limits are for alias jails: dummynet(4) re-injects a delayed bridged packet into the host's IP stack instead of the bridge, which would lose a VNET jail's traffic; leave bandwidth_in and bandwidth_out out, or use mode = \"alias\"".into())
        }
        _ => return Err("bandwidth_in and bandwidth_out limit the traffic of a jail's own addresses; give it ip4 or ip6 in [network]".into()),
    };
    match (firewall.and_then(|f| f.nat.as_deref()), on) {
        (Some(nat), _) => Ok(nat),
        // Its addresses' traffic leaves by the host's other interfaces;
        // nothing crosses a loopback one.
        (None, Some(on)) if on.starts_with("lo") => Err(format!("bandwidth limits on a jail whose addresses are on {on} need its NAT ([firewall] nat = true with nat_interface), the interface its traffic crosses")),
        (None, Some(on)) => Ok(on),
        (None, None) => Err("bandwidth limits are applied on the interface the jail's traffic crosses; name it with interface = \"em0\" in [network]".into()),
    }
}

fn port(s: &str) -> Option<u16> {
    s.parse::<u16>().ok().filter(|p| *p > 0)
}

/// One entry of `inbound` or `outbound`; `word` is `from` or `to`.
fn allow(s: &Spanned<String>, word: &str) -> Result<Allow, Invalid> {
    let text = s.get_ref().trim();
    let example = if word == "from" { "\"tcp/22 from 203.0.113.0/24\"" } else { "\"tcp/443 to 192.0.2.0/24\"" };
    let bad = || {
        at(s, format!("{} is not a rule such as {example}: PROTO[/PORT[-PORT]] [{word} ADDRESS[/LEN]], PROTO one of tcp, udp, icmp, icmp6, any", quoted(text)))
    };
    let mut words = text.split_whitespace();
    let what = words.next().ok_or_else(bad)?;
    let (proto, ports) = match what.split_once('/') {
        Some((p, ports)) => {
            let proto = Proto::parse(p).filter(|p| p.has_ports()).ok_or_else(bad)?;
            let range = match ports.split_once('-') {
                Some((a, b)) => (port(a).ok_or_else(bad)?, port(b).ok_or_else(bad)?),
                None => {
                    let p = port(ports).ok_or_else(bad)?;
                    (p, p)
                }
            };
            if range.0 > range.1 {
                return Err(bad());
            }
            (proto, Some(range))
        }
        None => (Proto::parse(what).ok_or_else(bad)?, None),
    };
    let peer = match (words.next(), words.next(), words.next()) {
        (None, _, _) => None,
        (Some(w), Some(addr), None) if w == word => {
            let net =
                addr.parse::<IpNet>().ok().or_else(|| addr.parse::<IpAddr>().ok().map(IpNet::from)).ok_or_else(bad)?;
            Some(net.trunc())
        }
        _ => return Err(bad()),
    };
    Ok(Allow { proto, ports, peer })
}

fn outbound(v: &Option<Spanned<toml::Value>>) -> Result<Outbound, Invalid> {
    let Some(v) = v else { return Ok(Outbound::Any) };
    let bad =
        || at(v, "outbound is \"any\", \"none\" or a list of rules such as [\"tcp/443\", \"udp/53 to 192.0.2.53\"]");
    match v.get_ref() {
        toml::Value::String(s) if s == "any" => Ok(Outbound::Any),
        toml::Value::String(s) if s == "none" => Ok(Outbound::None),
        toml::Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                let s = item.as_str().ok_or_else(bad)?;
                // Array items carry no position of their own: the key's.
                out.push(allow(&Spanned::new(v.span(), s.to_string()), "to")?);
            }
            Ok(Outbound::Only(out))
        }
        _ => Err(bad()),
    }
}

fn expose(e: &RawExpose, jail: &[IpNet]) -> Result<Expose, Invalid> {
    let proto = match &e.proto {
        Some(p) => Proto::parse(p.get_ref())
            .filter(|p| p.has_ports())
            .ok_or_else(|| at(p, format!("proto {} is not tcp or udp", quoted(p.get_ref()))))?,
        None => Proto::Tcp,
    };
    let num = |p: &Spanned<i64>, key: &str| {
        u16::try_from(*p.get_ref())
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| at(p, format!("{key} must be a port between 1 and 65535")))
    };
    let host_port = num(&e.host_port, "host_port")?;
    let port = match &e.port {
        Some(p) => num(p, "port")?,
        None => host_port,
    };
    let addr = |s: &Spanned<String>, what: &str| {
        s.get_ref().parse::<IpAddr>().map_err(|_| at(s, format!("{what} {} is not an IP address", quoted(s.get_ref()))))
    };
    let host_address = addr(&e.host_address, "host_address")?;
    let address = match &e.address {
        Some(a) => {
            let ip = addr(a, "address")?;
            if !jail.iter().any(|n| n.addr() == ip) {
                return Err(at(a, format!("address {ip} is not one of the jail's addresses")));
            }
            ip
        }
        // The jail's first address of the host address's family.
        None => {
            let v6 = host_address.is_ipv6();
            jail.iter().map(IpNet::addr).find(|a| a.is_ipv6() == v6).ok_or_else(|| {
                at(
                    &e.host_port,
                    format!("the jail has no {} address to expose the port on", if v6 { "IPv6" } else { "IPv4" }),
                )
            })?
        }
    };
    if host_address.is_ipv6() != address.is_ipv6() {
        return Err(at(
            &e.host_port,
            format!("host_address {host_address} and the jail's address {address} are of different families"),
        ));
    }
    Ok(Expose { proto, host_port, port, host_address, address })
}

/// Validates `[firewall]` and `[[expose]]` of a jail with `network`;
/// None when it has neither (pf is left alone).
pub fn validate(
    raw: Option<&RawFirewall>,
    exposes: &[RawExpose],
    network: &Network,
) -> Result<Option<Firewall>, Invalid> {
    if raw.is_none() && exposes.is_empty() {
        return Ok(None);
    }
    let jail = network.addresses();
    let first = exposes.first().map(|e| e.host_port.span().start).unwrap_or(0);
    let bridged = match network {
        Network::Vnet(v) => match v.link {
            Link::Bridge { .. } => true,
            // Its packets never reach the host's pf.
            Link::Interface => {
                return Err((first, "a VNET jail handed a whole interface sends and receives on it without the host's pf ever seeing its packets; run pf inside the jail, or put it on a bridge".into()))
            }
        },
        _ => false,
    };
    // A bridged jail's rules are bound to its epair's host end; any
    // other's can only name its addresses.
    if jail.is_empty() && !bridged {
        return Err((
            first,
            "[firewall] and [[expose]] filter by the jail's addresses; give it ip4 or ip6 in [network]".into(),
        ));
    }
    let default = RawFirewall::default();
    let raw = raw.unwrap_or(&default);
    let inbound = raw.inbound.iter().map(|s| allow(s, "from")).collect::<Result<Vec<_>, _>>()?;
    let outbound = outbound(&raw.outbound)?;
    let nat = match (&raw.nat, &raw.nat_interface) {
        (Some(n), i) if *n.get_ref() => {
            let Some(i) = i else {
                return Err(at(
                    n,
                    "nat = true needs nat_interface = \"em0\": the host interface with the address to translate to",
                ));
            };
            if !check_interface(i.get_ref()) {
                return Err(at(i, format!("{} is not an interface name", quoted(i.get_ref()))));
            }
            if !jail.iter().any(|a| a.addr().is_ipv4()) {
                return Err(at(
                    n,
                    "nat = true translates the jail's IPv4 addresses, and it has none written; give it ip4 (or route its IPv6 prefix instead)",
                ));
            }
            // pf filters a packet on its way out after translating it: an
            // alias jail's traffic passes pf only there, as the host's.
            if !bridged && outbound != Outbound::Any {
                return Err(at(n, "an alias jail's outbound rules cannot see its translated traffic (pf filters after nat); use mode = \"vnet\" on a bridge, or outbound = \"any\""));
            }
            Some(i.get_ref().clone())
        }
        (_, Some(i)) => return Err(at(i, "nat_interface without nat = true")),
        _ => None,
    };
    let expose = exposes.iter().map(|e| expose(e, &jail)).collect::<Result<Vec<_>, _>>()?;
    let mut seen = std::collections::HashSet::new();
    for (e, raw) in expose.iter().zip(exposes) {
        if !seen.insert((e.proto, e.host_port, e.host_address)) {
            return Err(at(&raw.host_port, format!("{}/{} is exposed twice", e.proto.as_str(), e.host_port)));
        }
    }
    Ok(Some(Firewall { inbound, outbound, nat, expose }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::JailName;

    fn fw(text: &str) -> Result<Option<Firewall>, String> {
        let full = format!("release = \"14.3-RELEASE\"\n[network]\nmode = \"vnet\"\nbridge = \"bridge0\"\nuplink = \"em0\"\nip4 = [\"192.0.2.20/24\"]\nip6 = [\"2001:db8::20/64\"]\n{text}");
        let raw = crate::config::jail::parse(std::path::Path::new("t.toml"), &full).expect("parses");
        let net = super::super::network::validate(&JailName::parse("web").expect("name"), &raw.network).expect("net");
        validate(raw.firewall.as_ref(), &raw.expose, &net).map_err(|(offset, msg)| {
            let (line, col) = crate::config::line_col(&full, offset);
            format!("{line}:{col}: {msg}")
        })
    }

    #[test]
    fn rules_ports_and_nat() {
        assert_eq!(fw(""), Ok(None), "no firewall: pf is left alone");
        let f = fw("[firewall]\ninbound = [\"tcp/22 from 203.0.113.0/24\", \"udp/60000-61000\", \"icmp6\"]\noutbound = [\"tcp/443\", \"udp/53 to 192.0.2.53\"]\nnat = true\nnat_interface = \"em0\"\n[[expose]]\nhost_port = 8080\nport = 80\nhost_address = \"198.51.100.7\"\n[[expose]]\nproto = \"udp\"\nhost_port = 53\nhost_address = \"198.51.100.7\"\n")
            .expect("valid")
            .expect("a firewall");
        assert_eq!(
            f.inbound[0],
            Allow { proto: Proto::Tcp, ports: Some((22, 22)), peer: Some("203.0.113.0/24".parse().expect("n")) }
        );
        assert_eq!(f.inbound[1].ports, Some((60000, 61000)));
        assert_eq!(f.inbound[2], Allow { proto: Proto::Icmp6, ports: None, peer: None });
        let Outbound::Only(out) = &f.outbound else { panic!("a list") };
        assert_eq!(out[1].peer, Some("192.0.2.53/32".parse().expect("n")));
        assert_eq!(f.nat.as_deref(), Some("em0"));
        assert_eq!(f.expose[0].address, "192.0.2.20".parse::<IpAddr>().expect("a"));
        assert_eq!((f.expose[1].proto, f.expose[1].port), (Proto::Udp, 53));
        let only_expose =
            fw("[[expose]]\nhost_port = 443\nhost_address = \"2001:db8::1\"\n").expect("valid").expect("fw");
        assert_eq!(only_expose.expose[0].address, "2001:db8::20".parse::<IpAddr>().expect("a"), "the jail's IPv6");
        assert_eq!(only_expose.outbound, Outbound::Any);
    }

    #[test]
    fn refusals_point_at_the_value() {
        let e = |t: &str| fw(t).expect_err("invalid");
        let bad = e("[firewall]\ninbound = [\"tcp/99999\"]\n");
        assert!(bad.starts_with("9:12: 'tcp/99999' is not a rule"), "{bad}");
        assert!(e("[firewall]\ninbound = [\"icmp/8\"]\n").contains("is not a rule"));
        assert!(e("[firewall]\ninbound = [\"tcp/22 to 192.0.2.1\"]\n").contains("is not a rule"));
        assert!(e("[firewall]\noutbound = \"some\"\n").starts_with("9:12: outbound is"));
        assert_eq!(e("[firewall]\nnat_interface = \"em0\"\n"), "9:17: nat_interface without nat = true");
        assert_eq!(
            e("[[expose]]\nhost_port = 8080\nhost_address = \"192.0.2.1\"\naddress = \"192.0.2.99\"\n"),
            "11:11: address 192.0.2.99 is not one of the jail's addresses"
        );
        let h = "host_address = \"192.0.2.1\"\n";
        assert!(e(&format!("[[expose]]\nhost_port = 0\n{h}")).contains("between 1 and 65535"));
        assert!(e(&format!("[[expose]]\nproto = \"icmp\"\nhost_port = 1\n{h}")).contains("is not tcp or udp"));
        assert!(e(&format!("[[expose]]\nhost_port = 80\n{h}[[expose]]\nhost_port = 80\n{h}"))
            .contains("tcp/80 is exposed twice"));
        assert!(e("[[expose]]\nhost_port = 80\nhost_address = \"2001:db8::1\"\naddress = \"192.0.2.20\"\n")
            .contains("different families"));
        assert!(e("[firewall]\nnat = true\n").contains("needs nat_interface"));
    }

    #[test]
    fn what_the_hosts_pf_cannot_filter_is_refused() {
        let with = |network: &str, rest: &str| {
            let full = format!("type = \"empty\"\n[network]\n{network}{rest}");
            let raw = crate::config::jail::parse(std::path::Path::new("t.toml"), &full).expect("parses");
            let net =
                super::super::network::validate(&JailName::parse("web").expect("name"), &raw.network).expect("net");
            validate(raw.firewall.as_ref(), &raw.expose, &net).map_err(|(_, m)| m)
        };
        let whole = with("mode = \"vnet\"\ninterface = \"em1\"\nip4 = [\"192.0.2.9/24\"]\n", "[firewall]\n");
        assert!(whole.expect_err("refused").contains("without the host's pf ever seeing its packets"));
        let alias = "interface = \"lo1\"\nip4 = [\"10.0.0.5/32\"]\n";
        let natted = with(alias, "[firewall]\nnat = true\nnat_interface = \"em0\"\noutbound = \"none\"\n");
        assert!(natted.expect_err("refused").contains("pf filters after nat"));
        assert!(with(alias, "[firewall]\nnat = true\nnat_interface = \"em0\"\n").is_ok());
        // On a bridge the rules are the epair's: no address needed.
        let slaac =
            with("mode = \"vnet\"\nbridge = \"bridge0\"\nslaac = true\n", "[firewall]\ninbound = [\"tcp/22\"]\n");
        assert!(slaac.expect("valid").is_some());
    }
}
