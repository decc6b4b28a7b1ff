//! A jail's `[firewall]` and `[[expose]]` as the pf rules of its own
//! anchor, `brig/NAME`: brig never edits pf.conf; the administrator
//! references the anchors once (`nat-anchor "brig/*"`, `rdr-anchor
//! "brig/*"`, `anchor "brig/*"`) and brig replaces one jail's anchor
//! whole, in one transaction.
//!
//! A VNET jail on a bridge has its filter rules bound to its epair's
//! host end: what reaches the jail goes `out on` it, what the jail sends
//! comes `in on` it (pf sees bridge members with
//! net.link.bridge.pfil_member=1). So a packet from one jail to another
//! meets the sender's rules on one end and the receiver's on the other,
//! whatever order pf walks the anchors in, and a source address the jail
//! did not get is dropped. An alias jail's traffic is the host's: its
//! rules can only name its addresses. `quick` makes the first match
//! final, so the passes come before the blocks they make exceptions to;
//! rules are written per address family so each one is unambiguous.

use std::fmt::Write;

use ipnet::IpNet;

use crate::model::firewall::{Allow, Firewall, Outbound, Proto};
use crate::model::jail::JailSpec;
use crate::model::network::{Link, Network};
use crate::model::JailName;
use crate::plan::dummynet::Pipes;

/// The anchor of jail `name`.
pub fn anchor(name: &JailName) -> String {
    format!("brig/{name}")
}

/// pf's host list: one host, or `{ a, b }`.
fn hosts(items: &[String]) -> String {
    match items {
        [one] => one.clone(),
        _ => format!("{{ {} }}", items.join(", ")),
    }
}

/// The jail's own addresses (its interface's prefix is not its to
/// claim).
fn list(addrs: &[IpNet]) -> String {
    hosts(&addrs.iter().map(|a| a.addr().to_string()).collect::<Vec<_>>())
}

/// A peer: a host, or a network.
fn peer(p: IpNet) -> String {
    if p.prefix_len() == p.max_prefix_len() {
        p.addr().to_string()
    } else {
        p.to_string()
    }
}

fn family(v6: bool) -> &'static str {
    if v6 {
        "inet6"
    } else {
        "inet"
    }
}

/// ` proto tcp`, the peer and ` port 22` of an allow rule for one family,
/// or None when it does not apply to it (icmp on IPv6, a peer of the
/// other family).
fn pieces(a: &Allow, v6: bool) -> Option<(String, String, String)> {
    match a.proto {
        Proto::Icmp if v6 => return None,
        Proto::Icmp6 if !v6 => return None,
        _ => {}
    }
    if a.peer.is_some_and(|p| p.addr().is_ipv6() != v6) {
        return None;
    }
    let proto = match a.proto {
        Proto::Any => String::new(),
        p => format!(" proto {}", p.as_str()),
    };
    let peer = a.peer.map_or_else(|| "any".to_string(), peer);
    let port = match a.ports {
        Some((x, y)) if x == y => format!(" port {x}"),
        Some((x, y)) => format!(" port {x}:{y}"),
        None => String::new(),
    };
    Some((proto, peer, port))
}

/// nat and rdr, which pf.conf orders before filtering. `rdr pass` lets
/// the translated packet in without the host's own inbound rules; the
/// jail's rules still decide on its way to the jail. A jail with
/// bandwidth limits is redirected without `pass`, as pf then skips the
/// filter rules, its limits among them (the jail's own rules pass what
/// it exposes); its NATed packets are tagged, for its limits to know
/// them by once their source is the host's.
fn translation(out: &mut String, fw: &Firewall, v4: &[IpNet], shaped: Option<&Shaped>) {
    if let Some(i) = &fw.nat {
        let tag = shaped.map(|s| format!(" tag {}", s.pipes.tag())).unwrap_or_default();
        // `:0`: the interface's first address, not an alias of it that
        // may be another jail's.
        let _ = writeln!(out, "nat on {i} inet from {} to any{tag} -> ({i}:0)", list(v4));
    }
    let pass = if shaped.is_some() { "" } else { " pass" };
    for e in &fw.expose {
        let af = family(e.address.is_ipv6());
        let p = e.proto.as_str();
        let _ = writeln!(
            out,
            "rdr{pass} {af} proto {p} from any to {} port {} -> {} port {}",
            e.host_address, e.host_port, e.address, e.port
        );
    }
}

/// A jail's bandwidth limits as pf applies them: its pipes, on the host
/// interface its traffic crosses.
pub struct Shaped<'a> {
    pub on: &'a str,
    pub pipes: Pipes,
    /// Its IPv4 packets leave NATed, by the tag of `translation`.
    pub nat: bool,
}

/// `match` rules that give the jail's connections its pipes, in pf passes
/// on one interface only (a packet sent to dummynet twice would be
/// limited twice). pf keeps the pipes on the connection's state: the
/// first number for packets in the direction that made it, the second
/// for its replies (pf_pdesc_to_dnflow in pf.c).
fn shaping(out: &mut String, s: &Shaped, v4: &[IpNet], v6: &[IpNet]) {
    let (on, down, up) = (s.on, s.pipes.down, s.pipes.up);
    for (jail, v6) in [(v4, false), (v6, true)] {
        if jail.is_empty() {
            continue;
        }
        let (af, me) = (family(v6), list(jail));
        let _ = writeln!(out, "match in on {on} {af} from any to {me} dnpipe ({down}, {up})");
        if s.nat && !v6 {
            let _ = writeln!(out, "match out on {on} {af} all tagged {} dnpipe ({up}, {down})", s.pipes.tag());
        } else {
            let _ = writeln!(out, "match out on {on} {af} from {me} to any dnpipe ({up}, {down})");
        }
    }
}

/// What a jail on a bridge may send from, per family: its written
/// addresses (and its link-local ones), any address of the family it
/// gets by DHCP or SLAAC, or None: it has none of that family.
fn sources(v4: &[IpNet], v6: &[IpNet], dhcp: bool, slaac: bool) -> [(bool, Option<String>); 2] {
    let four = if dhcp { Some("any".to_string()) } else { Some(v4).filter(|v| !v.is_empty()).map(list) };
    let six = if slaac {
        "any".to_string()
    } else {
        let mine: Vec<String> =
            v6.iter().map(|a| a.addr().to_string()).chain(std::iter::once("fe80::/10".to_string())).collect();
        hosts(&mine)
    };
    [(false, four), (true, Some(six))]
}

/// The filter rules of a jail on a bridge, on its epair's host end `e`.
fn bound(out: &mut String, fw: &Firewall, e: &str, v4: &[IpNet], v6: &[IpNet], dhcp: bool, slaac: bool) {
    // What reaches the jail: out on its end. ICMPv6 always: neighbour
    // discovery and path MTU (RFC 4890).
    let _ = writeln!(out, "pass out quick on {e} inet6 proto icmp6 from any to any keep state");
    for x in &fw.expose {
        let af = family(x.address.is_ipv6());
        let _ = writeln!(
            out,
            "pass out quick on {e} {af} proto {} from any to any port {} keep state",
            x.proto.as_str(),
            x.port
        );
    }
    for a in fw.inbound.iter().filter(|a| a.proto != Proto::Icmp6) {
        for v6 in [false, true] {
            if let Some((proto, peer, port)) = pieces(a, v6) {
                let _ =
                    writeln!(out, "pass out quick on {e} {}{proto} from {peer} to any{port} keep state", family(v6));
            }
        }
    }
    let _ = writeln!(out, "block drop out quick on {e} all");
    // What the jail sends: in on its end, from its own addresses only.
    let _ = writeln!(out, "pass in quick on {e} inet6 proto icmp6 from any to any keep state");
    if dhcp {
        let _ = writeln!(out, "pass in quick on {e} inet proto udp from any to any port 67 keep state");
    }
    for (v6, from) in sources(v4, v6, dhcp, slaac) {
        let Some(from) = from else { continue };
        let af = family(v6);
        match &fw.outbound {
            Outbound::Any => {
                let _ = writeln!(out, "pass in quick on {e} {af} from {from} to any keep state");
            }
            Outbound::None => {}
            Outbound::Only(allowed) => {
                for a in allowed {
                    if let Some((proto, peer, port)) = pieces(a, v6) {
                        let _ =
                            writeln!(out, "pass in quick on {e} {af}{proto} from {from} to {peer}{port} keep state");
                    }
                }
            }
        }
    }
    let _ = writeln!(out, "block drop in quick on {e} all");
}

/// The filter rules of a jail on the host's stack, by its addresses.
/// Open outbound writes no pass: what the jail sends is then the host's
/// rules' business, and a pass here would let it past another jail's
/// rules that pf has not reached yet.
fn by_address(out: &mut String, fw: &Firewall, v4: &[IpNet], v6: &[IpNet]) {
    for (jail, v6) in [(v4, false), (v6, true)] {
        if jail.is_empty() {
            continue;
        }
        let af = family(v6);
        let me = list(jail);
        // What the jail sends itself goes over lo0 (the kernel gives its
        // 127.0.0.1 the jail's address): never the firewall's business.
        let _ = writeln!(out, "pass quick on lo0 {af} from {me} to {me} keep state");
        if v6 {
            let _ = writeln!(out, "pass quick inet6 proto icmp6 from any to {me} keep state");
            let _ = writeln!(out, "pass quick inet6 proto icmp6 from {me} to any keep state");
        }
        for x in fw.expose.iter().filter(|x| x.address.is_ipv6() == v6) {
            let _ = writeln!(
                out,
                "pass quick {af} proto {} from any to {} port {} keep state",
                x.proto.as_str(),
                x.address,
                x.port
            );
        }
        for a in fw.inbound.iter().filter(|a| !(v6 && a.proto == Proto::Icmp6)) {
            if let Some((proto, peer, port)) = pieces(a, v6) {
                let _ = writeln!(out, "pass quick {af}{proto} from {peer} to {me}{port} keep state");
            }
        }
        if let Outbound::Only(allowed) = &fw.outbound {
            for a in allowed {
                if let Some((proto, peer, port)) = pieces(a, v6) {
                    let _ = writeln!(out, "pass quick {af}{proto} from {me} to {peer}{port} keep state");
                }
            }
        }
        let _ = writeln!(out, "block drop quick {af} from any to {me}");
        if fw.outbound != Outbound::Any {
            let _ = writeln!(out, "block drop quick {af} from {me} to any");
        }
    }
}

/// The rules of a jail with `network`: its firewall's, and the limits
/// `shaped` gives it.
pub fn rules(fw: Option<&Firewall>, network: &Network, shaped: Option<&Shaped>) -> String {
    let mut out = String::new();
    let (v4, v6): (Vec<IpNet>, Vec<IpNet>) = network.addresses().into_iter().partition(|a| a.addr().is_ipv4());
    if let Some(fw) = fw {
        translation(&mut out, fw, &v4, shaped);
    }
    if let Some(s) = shaped {
        shaping(&mut out, s, &v4, &v6);
    }
    let Some(fw) = fw else { return out };
    match network {
        Network::Vnet(v) => match &v.link {
            Link::Bridge { host_end, .. } => bound(&mut out, fw, host_end, &v4, &v6, v.dhcp, v.slaac),
            // Refused by validation: the host's pf never sees its packets.
            Link::Interface => {}
        },
        _ => by_address(&mut out, fw, &v4, &v6),
    }
    out
}

/// The rules of `spec`'s anchor, if it has a firewall or bandwidth limits
/// (given `pipes`, those of its start).
pub fn of(spec: &JailSpec, pipes: Option<Pipes>) -> Option<String> {
    let nat = spec.firewall.as_ref().is_some_and(|f| f.nat.is_some());
    let shaped = spec.shaping().zip(pipes).map(|((_, on), pipes)| Shaped { on, pipes, nat });
    if spec.firewall.is_none() && shaped.is_none() {
        return None;
    }
    Some(rules(spec.firewall.as_ref(), &spec.network, shaped.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::golden_text;

    #[test]
    fn golden_rules_parse_with_pfs_grammar() {
        let spec = crate::plan::testing::spec(
            "release = \"14.3-RELEASE\"\n[network]\nmode = \"vnet\"\nbridge = \"bridge0\"\nuplink = \"em0\"\nip4 = [\"192.0.2.20/24\"]\nip6 = [\"2001:db8::20/64\"]\n[firewall]\ninbound = [\"tcp/22 from 203.0.113.0/24\", \"icmp\", \"icmp6\", \"udp/60000-61000\"]\noutbound = [\"tcp/443\", \"udp/53 to 192.0.2.53\"]\nnat = true\nnat_interface = \"em0\"\n[[expose]]\nhost_port = 8080\nport = 80\nhost_address = \"198.51.100.7\"\n[[expose]]\nproto = \"udp\"\nhost_port = 53\nhost_address = \"198.51.100.7\"\n",
        );
        let text = of(&spec, None).expect("a firewall");
        golden_text("pf-rules.txt", &text);
        let parsed = crate::kernel::pf::parse(&text).expect("pfctl's grammar takes it");
        assert_eq!(parsed.len(), text.lines().count());
        assert!(!text.contains("inet6 proto icmp "), "icmp is IPv4's");
        assert!(!text.contains("from { 2001:db8::20, fe80::/10 } to 192.0.2.53"), "no rule mixes families");
        assert!(text.contains(
            "pass in quick on e0a_web inet6 proto tcp from { 2001:db8::20, fe80::/10 } to any port 443 keep state"
        ));
    }

    #[test]
    fn a_bridged_jail_with_slaac_or_dhcp_is_filtered_by_its_epair() {
        let spec = crate::plan::testing::spec(
            "release = \"14.3-RELEASE\"\n[network]\nmode = \"vnet\"\nbridge = \"bridge0\"\nslaac = true\ndhcp = true\n[params]\ndevfs_ruleset = 13\n[firewall]\ninbound = [\"tcp/443\"]\n",
        );
        let text = of(&spec, None).expect("a firewall");
        assert!(text.contains("pass in quick on e0a_web inet proto udp from any to any port 67 keep state"), "{text}");
        assert!(text.contains("pass in quick on e0a_web inet from any to any keep state"), "{text}");
        assert!(text.contains("pass in quick on e0a_web inet6 from any to any keep state"), "{text}");
        assert!(text.ends_with("block drop in quick on e0a_web all\n"), "{text}");
        crate::kernel::pf::parse(&text).expect("pfctl's grammar takes it");
    }

    #[test]
    fn an_alias_jail_with_open_outbound_passes_nothing_of_its_own() {
        let spec = crate::plan::testing::spec(
            "release = \"14.3-RELEASE\"\n[network]\ninterface = \"lo1\"\nip4 = [\"10.0.0.5/32\"]\n[firewall]\nnat = true\nnat_interface = \"em0\"\n",
        );
        let text = of(&spec, None).expect("a firewall");
        assert_eq!(
            text,
            "nat on em0 inet from 10.0.0.5 to any -> (em0:0)\npass quick on lo0 inet from 10.0.0.5 to 10.0.0.5 keep state\nblock drop quick inet from any to 10.0.0.5\n"
        );
        crate::kernel::pf::parse(&text).expect("pfctl's grammar takes it");
    }
}
