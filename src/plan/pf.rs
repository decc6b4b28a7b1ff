//! A jail's `[firewall]` and `[[expose]]` as the pf rules of its own
//! anchor, `brig/NAME`: brig never edits pf.conf; the administrator
//! references the anchors once (`nat-anchor "brig/*"`, `rdr-anchor
//! "brig/*"`, `anchor "brig/*"`) and brig replaces one jail's anchor
//! whole, in one transaction. Rules are written per address family so
//! each one is unambiguous; `quick` makes the first match final, so the
//! passes come before the blocks they make exceptions to.

use std::fmt::Write;

use ipnet::IpNet;

use crate::model::firewall::{Allow, Firewall, Outbound, Proto};
use crate::model::jail::JailSpec;
use crate::model::JailName;

/// The anchor of jail `name`.
pub fn anchor(name: &JailName) -> String {
    format!("brig/{name}")
}

fn list(addrs: &[IpNet]) -> String {
    match addrs {
        [one] => one.addr().to_string(),
        _ => format!("{{ {} }}", addrs.iter().map(|a| a.addr().to_string()).collect::<Vec<_>>().join(", ")),
    }
}

fn family(v6: bool) -> &'static str {
    if v6 {
        "inet6"
    } else {
        "inet"
    }
}

/// `proto tcp ... port 22` pieces of an allow rule for one family, or
/// None when the rule does not apply to it (icmp on IPv6, a peer of the
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
    let peer = a.peer.map_or_else(
        || "any".to_string(),
        |p| if p.prefix_len() == p.max_prefix_len() { p.addr().to_string() } else { p.to_string() },
    );
    let port = match a.ports {
        Some((x, y)) if x == y => format!(" port {x}"),
        Some((x, y)) => format!(" port {x}:{y}"),
        None => String::new(),
    };
    Some((proto, peer, port))
}

/// The rules of `fw` for a jail with addresses `addrs`.
pub fn rules(fw: &Firewall, addrs: &[IpNet]) -> String {
    let mut out = String::new();
    let (v4, v6): (Vec<IpNet>, Vec<IpNet>) = addrs.iter().partition(|a| a.addr().is_ipv4());
    // Translation first, as pf.conf orders it.
    if let Some(i) = &fw.nat {
        let _ = writeln!(out, "nat on {i} inet from {} to any -> ({i})", list(&v4));
    }
    for e in &fw.expose {
        let to = e.host_address.map_or_else(|| "self".to_string(), |h| h.to_string());
        let af = family(e.address.is_ipv6());
        let p = e.proto.as_str();
        let _ =
            writeln!(out, "rdr {af} proto {p} from any to {to} port {} -> {} port {}", e.host_port, e.address, e.port);
    }
    for (jail, v6) in [(&v4, false), (&v6, true)] {
        if jail.is_empty() {
            continue;
        }
        let af = family(v6);
        let me = list(jail);
        // IPv6 does not work without ICMPv6: neighbour discovery to the
        // jail's own address, path MTU (RFC 4890).
        if v6 {
            let _ = writeln!(out, "pass quick inet6 proto icmp6 from any to {me} keep state");
            let _ = writeln!(out, "pass quick inet6 proto icmp6 from {me} to any keep state");
        }
        for e in fw.expose.iter().filter(|e| e.address.is_ipv6() == v6) {
            let _ = writeln!(
                out,
                "pass in quick {af} proto {} from any to {} port {} keep state",
                e.proto.as_str(),
                e.address,
                e.port
            );
        }
        for a in fw.inbound.iter().filter(|a| !(v6 && a.proto == Proto::Icmp6)) {
            if let Some((proto, peer, port)) = pieces(a, v6) {
                let _ = writeln!(out, "pass quick {af}{proto} from {peer} to {me}{port} keep state");
            }
        }
        match &fw.outbound {
            Outbound::Any => {
                let _ = writeln!(out, "pass quick {af} from {me} to any keep state");
            }
            Outbound::None => {}
            Outbound::Only(allowed) => {
                for a in allowed {
                    if let Some((proto, peer, port)) = pieces(a, v6) {
                        let _ = writeln!(out, "pass quick {af}{proto} from {me} to {peer}{port} keep state");
                    }
                }
            }
        }
        let _ = writeln!(out, "block drop quick {af} from any to {me}");
        if fw.outbound != Outbound::Any {
            let _ = writeln!(out, "block drop quick {af} from {me} to any");
        }
    }
    out
}

/// The rules of `spec`'s anchor, if it has a firewall.
pub fn of(spec: &JailSpec) -> Option<String> {
    spec.firewall.as_ref().map(|fw| rules(fw, &spec.network.addresses()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::golden_text;

    #[test]
    fn golden_rules_parse_with_pfs_grammar() {
        let spec = crate::plan::testing::spec(
            "release = \"14.3-RELEASE\"\n[network]\nmode = \"vnet\"\nbridge = \"bridge0\"\nuplink = \"em0\"\nip4 = [\"192.0.2.20/24\"]\nip6 = [\"2001:db8::20/64\"]\n[firewall]\ninbound = [\"tcp/22 from 203.0.113.0/24\", \"icmp\", \"icmp6\", \"udp/60000-61000\"]\noutbound = [\"tcp/443\", \"udp/53 to 192.0.2.53\"]\nnat = true\n[[expose]]\nhost_port = 8080\nport = 80\nhost_address = \"198.51.100.7\"\n[[expose]]\nproto = \"udp\"\nhost_port = 53\n",
        );
        let text = of(&spec).expect("a firewall");
        golden_text("pf-rules.txt", &text);
        let parsed = crate::kernel::pf::parse(&text).expect("pfctl's grammar takes it");
        assert_eq!(parsed.len(), text.lines().count());
        assert!(!text.contains("inet6 proto icmp "), "icmp is IPv4's");
        assert!(!text.contains("inet6 proto udp from { 2001:db8::20 } to 192.0.2.53"), "no rule mixes families");
    }

    #[test]
    fn open_outbound_adds_no_block_of_it() {
        let spec = crate::plan::testing::spec(
            "release = \"14.3-RELEASE\"\n[network]\ninterface = \"lo1\"\nip4 = [\"10.0.0.5/32\"]\n[firewall]\nnat = true\nnat_interface = \"em0\"\n",
        );
        let text = of(&spec).expect("a firewall");
        assert_eq!(
            text,
            "nat on em0 inet from 10.0.0.5 to any -> (em0)\npass quick inet from 10.0.0.5 to any keep state\nblock drop quick inet from any to 10.0.0.5\n"
        );
    }
}
