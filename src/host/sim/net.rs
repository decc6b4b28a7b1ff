//! Interface aliases on the simulated machine (SIOCAIFADDR/SIOCDIFADDR).

use ipnet::IpNet;
use nix::errno::Errno;

use super::jail::Refusal;
use super::state::State;

fn no(errno: Errno, msg: impl Into<String>) -> Refusal {
    (errno, msg.into())
}

pub fn add(st: &mut State, iface: &str, addr: IpNet) -> Result<(), Refusal> {
    if !st.interfaces.contains_key(iface) {
        return Err(no(Errno::ENXIO, format!("interface {iface} does not exist")));
    }
    let ip = addr.addr();
    if ip.is_unspecified() || ip.is_multicast() || matches!(ip, std::net::IpAddr::V4(v) if v.is_broadcast()) {
        return Err(no(Errno::EINVAL, format!("{ip} cannot be an interface address")));
    }
    if let Some((other, _)) = st.interfaces.iter().find(|(_, addrs)| addrs.iter().any(|a| a.addr() == ip)) {
        return Err(no(Errno::EEXIST, format!("{ip} is already configured on {other}")));
    }
    if let Some(addrs) = st.interfaces.get_mut(iface) {
        addrs.push(addr);
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
    Ok(())
}
