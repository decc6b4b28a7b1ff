//! Interface aliases on the simulated machine (SIOCAIFADDR/SIOCDIFADDR),
//! and the duplicate address detection a new IPv6 address goes through
//! (SIOCGIFAFLAG_IN6).

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;
use nix::errno::Errno;

use super::config::SimConfig;
use super::jail::Refusal;
use super::state::State;
use crate::kernel::net::{IN6_IFF_DUPLICATED, IN6_IFF_TENTATIVE};

fn no(errno: Errno, msg: impl Into<String>) -> Refusal {
    (errno, msg.into())
}

/// Loopback interfaces run no duplicate address detection (in6if_do_dad).
fn loopback(iface: &str) -> bool {
    iface.starts_with("lo")
}

/// SIOCAIFADDR / SIOCAIFADDR_IN6. An address the interface already has
/// is replaced, not refused: in_aifaddr_ioctl (in.c) deletes the old one
/// and adds it anew, in6_update_ifa (in6.c) updates it in place; and
/// nothing stops the same address on another interface. So adding never
/// tells brig the address was someone else's: brig must look first.
pub fn add(st: &mut State, cfg: &SimConfig, iface: &str, addr: IpNet) -> Result<(), Refusal> {
    if !st.interfaces.contains_key(iface) {
        return Err(no(Errno::ENXIO, format!("interface {iface} does not exist")));
    }
    let ip = addr.addr();
    if ip.is_unspecified() || ip.is_multicast() || matches!(ip, std::net::IpAddr::V4(v) if v.is_broadcast()) {
        return Err(no(Errno::EINVAL, format!("{ip} cannot be an interface address")));
    }
    if let Some(addrs) = st.interfaces.get_mut(iface) {
        addrs.retain(|a| a.addr() != ip);
        addrs.push(addr);
    }
    // in6_update_ifa: a new IPv6 address starts tentative and DAD runs.
    if let IpAddr::V6(a) = ip {
        if !loopback(iface) && cfg.dad_polls > 0 {
            st.tentative.insert(a.to_string(), cfg.dad_polls);
        }
    }
    Ok(())
}

pub fn remove(st: &mut State, iface: &str, addr: IpNet) -> Result<(), Refusal> {
    let Some(addrs) = st.interfaces.get_mut(iface) else {
        return Err(no(Errno::ENXIO, format!("interface {iface} does not exist")));
    };
    let Some(i) = addrs.iter().position(|a| a.addr() == addr.addr()) else {
        return Err(no(Errno::EADDRNOTAVAIL, format!("{} is not configured on {iface}", addr.addr())));
    };
    addrs.remove(i);
    st.tentative.remove(&addr.addr().to_string());
    Ok(())
}

/// SIOCGIFAFLAG_IN6: TENTATIVE while DAD runs (each read is a tick of it,
/// `dad_polls` in all), then DUPLICATED for an address another node has
/// (`duplicate_addresses` in sim.toml), else no flag.
pub fn flags6(st: &mut State, cfg: &SimConfig, iface: &str, addr: Ipv6Addr) -> Result<u32, Refusal> {
    let Some(addrs) = st.interfaces.get(iface) else {
        return Err(no(Errno::ENXIO, format!("interface {iface} does not exist")));
    };
    if !addrs.iter().any(|a| a.addr() == IpAddr::V6(addr)) {
        return Err(no(Errno::EADDRNOTAVAIL, format!("{addr} is not configured on {iface}")));
    }
    let key = addr.to_string();
    if let Some(left) = st.tentative.get_mut(&key) {
        *left -= 1;
        if *left == 0 {
            st.tentative.remove(&key);
        }
        return Ok(IN6_IFF_TENTATIVE);
    }
    Ok(if !loopback(iface) && cfg.duplicate_addresses.contains(&addr) { IN6_IFF_DUPLICATED } else { 0 })
}
