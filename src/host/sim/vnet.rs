//! The own network stack of a VNET jail on the simulated machine: the
//! interfaces moved into it, their addresses, and its default routes, as
//! brig sets them up through sockets made inside the jail
//! (docs/freebsd/vnet-config.md). An interface's place (host or jail) is
//! its `Link`'s; what it has inside the jail is kept here.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;
use nix::errno::Errno;

use super::config::SimConfig;
use super::jail::Refusal;
use super::state::{SimJail, SimVnet, State, VnetIf};
use crate::host::{Interface, JailSys, Jid, ParamValue, VnetSetup, VnetView};
use crate::kernel::net::IN6_IFF_DUPLICATED;

fn no(errno: Errno, msg: impl Into<String>) -> Refusal {
    (errno, msg.into())
}

/// A new vnet has lo0, down and without addresses (vnet_loif_init makes
/// it; rc.d/netif configures it).
fn born() -> SimVnet {
    SimVnet { interfaces: [("lo0".to_string(), VnetIf::default())].into(), ..SimVnet::default() }
}

/// Whether a jail was made with `vnet=new`.
pub fn has_own_stack(j: &SimJail) -> bool {
    matches!(j.params.get("vnet").map(|p| &p.value), Some(ParamValue::JailSys(JailSys::New)))
}

/// EINVAL for a jail that is not alive (jail_attach(2) finds only live
/// prisons: prison_find), EINVAL too for one that shares the host's
/// stack (brig's own check before it makes a socket there, which would
/// be the host's).
fn check(st: &State, jid: Jid) -> Result<(), Refusal> {
    match st.jails.get(&jid).filter(|j| j.alive()) {
        None => Err(no(Errno::EINVAL, format!("jail {jid} does not exist"))),
        Some(j) if !has_own_stack(j) => Err(no(Errno::EINVAL, format!("jail {jid} shares the host's network stack"))),
        Some(_) => Ok(()),
    }
}

/// The stack of jail `jid`, made at its first use.
fn stack(st: &mut State, jid: Jid) -> Result<&mut SimVnet, Refusal> {
    check(st, jid)?;
    Ok(st.vnets.get_or_insert_with(jid, born))
}

/// An interface moved into jail `jid` (if_vmove_loan), plain.
pub fn enter(st: &mut State, jid: Jid, name: &str) {
    st.vnets.get_or_insert_with(jid, born).interfaces.insert(name.to_string(), VnetIf::default());
}

/// An interface that left jail `jid` (destroyed from the host through its
/// epair peer).
pub fn leave(st: &mut State, jid: Jid, name: &str) {
    if let Some(v) = st.vnets.get_mut(&jid) {
        v.interfaces.remove(name);
    }
}

/// Adds `addr` to `iface` as SIOCAIFADDR(_IN6) does: an address it has is
/// replaced (in_aifaddr_ioctl, in6_update_ifa). A new IPv6 address on an
/// up interface other than a loopback starts tentative, and DAD runs
/// (in6_update_ifa_internal, in6if_do_dad).
fn add_addr(v: &mut SimVnet, cfg: &SimConfig, iface: &str, addr: IpNet) -> Result<(), Refusal> {
    let i =
        v.interfaces.get_mut(iface).ok_or_else(|| no(Errno::ENXIO, format!("interface {iface} is not in the jail")))?;
    i.addrs.retain(|a| a.addr() != addr.addr());
    i.addrs.push(addr);
    if let (IpAddr::V6(a), true, false) = (addr.addr(), i.up, iface.starts_with("lo")) {
        if cfg.dad_polls > 0 {
            v.tentative.insert(a, cfg.dad_polls);
        }
    }
    Ok(())
}

/// `Host::vnet_await_dad`: the wait runs in one call, so the looks a
/// tentative address needs all happen in it; one another node has comes
/// out DUPLICATED.
pub fn await_dad(
    st: &mut State,
    cfg: &SimConfig,
    jid: Jid,
    iface: &str,
    addrs: &[Ipv6Addr],
) -> Result<Vec<u32>, Refusal> {
    let v = stack(st, jid)?;
    let on =
        v.interfaces.get(iface).ok_or_else(|| no(Errno::ENXIO, format!("interface {iface} is not in the jail")))?;
    let mut out = Vec::new();
    for a in addrs {
        if !on.addrs.iter().any(|x| x.addr() == IpAddr::V6(*a)) {
            return Err(no(Errno::EADDRNOTAVAIL, format!("{a} is not configured on {iface}")));
        }
        v.tentative.remove(a);
        out.push(if cfg.duplicate_addresses.contains(a) { IN6_IFF_DUPLICATED } else { 0 });
    }
    Ok(out)
}

/// Whether `gw` is on a link of the stack: in a prefix of an interface
/// that is up, or link-local on `iface` (the interface route rib_action
/// needs for RTF_GATEWAY, else ENETUNREACH).
fn reachable(v: &SimVnet, gw: IpAddr, iface: &str) -> bool {
    if let IpAddr::V6(a) = gw {
        if a.is_unicast_link_local() {
            return v.interfaces.get(iface).is_some_and(|i| i.up);
        }
    }
    v.interfaces.values().filter(|i| i.up).any(|i| i.addrs.iter().any(|n| n.contains(&gw) && n.addr() != gw))
}

/// RTM_ADD of a default route: EEXIST when the family has one
/// (rib_add_route), ENETUNREACH when the gateway is on no link
/// (rt_getifa_fib). A kernel with ROUTE_MPATH adds a second default
/// route through another gateway as a second path instead
/// (add_route_byinfo, RTM_F_APPEND); brig never adds two, and the sim
/// refuses both.
fn add_default(v: &mut SimVnet, gw: IpAddr, iface: &str) -> Result<(), Refusal> {
    let exists = match gw {
        IpAddr::V4(_) => v.ip4_gateway.is_some(),
        IpAddr::V6(_) => v.ip6_gateway.is_some(),
    };
    if exists {
        return Err(no(
            Errno::EEXIST,
            format!("the jail has a default {} route already", if gw.is_ipv4() { "IPv4" } else { "IPv6" }),
        ));
    }
    if !reachable(v, gw, iface) {
        return Err(no(Errno::ENETUNREACH, format!("gateway {gw} is on none of the jail's links")));
    }
    match gw {
        IpAddr::V4(a) => v.ip4_gateway = Some(a),
        IpAddr::V6(a) => v.ip6_gateway = Some(a),
    }
    Ok(())
}

/// `Host::vnet_configure`, step by step as the FreeBSD backend does it.
pub fn configure(st: &mut State, cfg: &SimConfig, jid: Jid, setup: &VnetSetup) -> Result<(), Refusal> {
    let v = stack(st, jid)?;
    for a in ["127.0.0.1/8", "::1/128"] {
        add_addr(v, cfg, "lo0", a.parse().map_err(|_| no(Errno::EINVAL, "loopback address"))?)?;
    }
    if let Some(lo) = v.interfaces.get_mut("lo0") {
        lo.up = true;
    }
    let i = v
        .interfaces
        .get_mut(&setup.interface)
        .ok_or_else(|| no(Errno::ENXIO, format!("interface {} is not in the jail", setup.interface)))?;
    i.up = true;
    i.accept_rtadv |= setup.slaac;
    for a in &setup.addrs {
        add_addr(v, cfg, &setup.interface, *a)?;
    }
    if let Some(gw) = setup.ip4_gateway {
        add_default(v, IpAddr::V4(gw), &setup.interface)?;
    }
    if let Some(gw) = setup.ip6_gateway {
        add_default(v, IpAddr::V6(gw), &setup.interface)?;
    }
    Ok(())
}

/// `Host::vnet_view`.
pub fn view(st: &State, jid: Jid) -> Result<VnetView, Refusal> {
    check(st, jid)?;
    let v = st.vnets.get(&jid).cloned().unwrap_or_else(born);
    Ok(VnetView {
        interfaces: v
            .interfaces
            .iter()
            .map(|(name, i)| Interface { name: name.clone(), up: i.up, addrs: i.addrs.clone() })
            .collect(),
        ip4_gateway: v.ip4_gateway,
        ip6_gateway: v.ip6_gateway,
    })
}
