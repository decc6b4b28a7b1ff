//! Cloned interfaces and bridges on the simulated machine, with the
//! kernel's names, units and errnos as docs/freebsd/network-interfaces.md
//! records them from if_clone.c, if_epair.c, if.c and if_bridge.c.
//!
//! `State::interfaces` holds the interfaces of the host's vnet by name;
//! `State::links` what more the sim knows of cloned interfaces and of
//! interfaces moved into a jail's vnet (which leave `interfaces`).

use nix::errno::Errno;

use super::config::SimConfig;
use super::jail::Refusal;
use super::state::{Link, State};
use crate::host::Jid;
use crate::kernel::net::IFNAMSIZ;

fn no(errno: Errno, msg: impl Into<String>) -> Refusal {
    (errno, msg.into())
}

/// IF_MAXUNIT, net/if.h.
const MAX_UNIT: u32 = 0x7fff;

/// The link of host interface `name`, if the sim keeps one.
fn host_link(st: &State, name: &str) -> Option<u64> {
    st.links.iter().find(|(_, l)| l.jail.is_none() && l.name == name).map(|(k, _)| *k)
}

/// The cloner and the unit a name asks for (ifc_name2unit): `epair`,
/// `bridge`, or one followed by a unit in normal form.
fn parse(name: &str) -> Result<(&'static str, Option<u32>), Refusal> {
    let (cloner, digits) = ["epair", "bridge"]
        .iter()
        .find_map(|c| name.strip_prefix(c).map(|rest| (*c, rest)))
        .ok_or_else(|| no(Errno::EINVAL, format!("{name}: no interface cloner of that name")))?;
    if digits.is_empty() {
        return Ok((cloner, None));
    }
    // epair_clone_match and ifc_simple_match take only digits; a leading
    // zero or a number past INT_MAX is no unit (ifc_name2unit).
    if !digits.bytes().all(|b| b.is_ascii_digit()) || (digits.len() > 1 && digits.starts_with('0')) {
        return Err(no(Errno::EINVAL, format!("{name}: no interface cloner of that name")));
    }
    let unit: u64 = digits.parse().map_err(|_| no(Errno::EINVAL, format!("{name}: unit out of range")))?;
    if unit > i32::MAX as u64 {
        return Err(no(Errno::EINVAL, format!("{name}: unit out of range")));
    }
    if unit > u64::from(MAX_UNIT) {
        return Err(no(Errno::ENOSPC, format!("{name}: unit past IF_MAXUNIT")));
    }
    Ok((cloner, Some(unit as u32)))
}

fn next_id(st: &State) -> u64 {
    st.links.keys().next_back().map_or(1, |k| k + 1)
}

/// The link of host interface `name`, made for an interface the host had
/// when it first needs one (joining a bridge, moving into a jail).
fn link_of(st: &mut State, name: &str) -> u64 {
    if let Some(id) = host_link(st, name) {
        return id;
    }
    let id = next_id(st);
    st.links.insert(id, Link { name: name.into(), up: true, ..Link::default() });
    id
}

/// Link `id` needs no record when it is a host interface outside any
/// bridge and any jail again.
fn forget_if_plain(st: &mut State, id: u64) {
    let plain =
        |l: &Link| l.cloner.is_none() && l.bridge.is_none() && l.jail.is_none() && l.mac.is_none() && l.mtu.is_none();
    if st.links.get(&id).is_some_and(plain) {
        st.links.remove(&id);
    }
}

/// Takes host interface `name` out of the host's vnet with its addresses
/// (if_detach_internal purges them), and their duplicate address
/// detection.
fn leave_host(st: &mut State, name: &str) {
    for a in st.interfaces.remove(name).unwrap_or_default() {
        st.tentative.remove(&a.addr().to_string());
    }
}

/// SIOCIFCREATE2 (if_clone_create): the name given back. Without a unit,
/// the lowest one whose plain name is free (ifc_alloc_unit); an epair then
/// needs both `epairNa` and `epairNb` free, or it is EEXIST without trying
/// the next unit (epair_handle_unit).
pub fn create(st: &mut State, name: &str) -> Result<String, Refusal> {
    if name.len() >= IFNAMSIZ {
        return Err(no(Errno::EINVAL, format!("{name}: not an interface name")));
    }
    let (cloner, asked) = parse(name)?;
    let reserved = |st: &State, u: u32| st.links.values().any(|l| l.cloner.as_deref() == Some(cloner) && l.unit == u);
    let unit = match asked {
        Some(u) if reserved(st, u) || st.interfaces.contains_key(&format!("{cloner}{u}")) => {
            return Err(no(Errno::EEXIST, format!("{cloner}{u} already exists")));
        }
        Some(u) => u,
        None => (0..=MAX_UNIT)
            .find(|u| !reserved(st, *u) && !st.interfaces.contains_key(&format!("{cloner}{u}")))
            .ok_or_else(|| no(Errno::ENOSPC, format!("no free {cloner} unit")))?,
    };
    let link = |name: String| Link { name, cloner: Some(cloner.into()), unit, ..Link::default() };
    if cloner == "bridge" {
        let name = format!("bridge{unit}");
        st.interfaces.insert(name.clone(), Vec::new());
        let id = next_id(st);
        st.links.insert(id, link(name.clone()));
        return Ok(name);
    }
    let (a, b) = (format!("epair{unit}a"), format!("epair{unit}b"));
    if a.len() >= IFNAMSIZ {
        return Err(no(Errno::ENOSPC, format!("{a}: the name does not fit IFNAMSIZ")));
    }
    if st.interfaces.contains_key(&a) || st.interfaces.contains_key(&b) {
        return Err(no(Errno::EEXIST, format!("{a} or {b} already exists")));
    }
    let (ia, ib) = (next_id(st), next_id(st) + 1);
    st.links.insert(ia, Link { peer: Some(ib), ..link(a.clone()) });
    st.links.insert(ib, Link { peer: Some(ia), ..link(b.clone()) });
    st.interfaces.insert(a.clone(), Vec::new());
    st.interfaces.insert(b, Vec::new());
    Ok(a)
}

/// Takes link `id` off the machine: out of the host's interfaces if it is
/// there, with its addresses, out of its bridge, its members freed.
fn drop_link(st: &mut State, id: u64) {
    let Some(l) = st.links.remove(&id) else { return };
    match l.jail {
        None => leave_host(st, &l.name),
        Some(jid) => super::vnet::leave(st, jid, &l.name),
    }
    let members: Vec<u64> = st.links.iter().filter(|(_, m)| m.bridge == Some(id)).map(|(k, _)| *k).collect();
    for m in members {
        if let Some(x) = st.links.get_mut(&m) {
            x.bridge = None;
        }
        forget_if_plain(st, m);
    }
}

/// SIOCIFDESTROY (if_clone_destroy): ENXIO for a name the host's vnet does
/// not have (an end moved into a jail included), EINVAL for an interface
/// no cloner made; an epair goes whole, wherever its other end is
/// (epair_clone_destroy); a bridge lets its members go first.
pub fn destroy(st: &mut State, name: &str) -> Result<(), Refusal> {
    if !st.interfaces.contains_key(name) {
        return Err(no(Errno::ENXIO, format!("interface {name} does not exist")));
    }
    let id = host_link(st, name)
        .filter(|id| st.links[id].cloner.is_some())
        .ok_or_else(|| no(Errno::EINVAL, format!("{name} was not made by an interface cloner")))?;
    if let Some(peer) = st.links[&id].peer {
        drop_link(st, peer);
    }
    drop_link(st, id);
    Ok(())
}

/// SIOCSIFNAME (if_rename): ENXIO, ENAMETOOLONG past IFNAMSIZ (copyinstr),
/// EINVAL for an empty name, EEXIST for a name the vnet has; the unit
/// stays the interface's.
pub fn rename(st: &mut State, name: &str, to: &str) -> Result<(), Refusal> {
    let Some(addrs) = st.interfaces.get(name).cloned() else {
        return Err(no(Errno::ENXIO, format!("interface {name} does not exist")));
    };
    if to.len() >= IFNAMSIZ {
        return Err(no(Errno::ENAMETOOLONG, format!("{to}: longer than an interface name may be")));
    }
    if to.is_empty() {
        return Err(no(Errno::EINVAL, "an empty interface name"));
    }
    if to == name {
        return Ok(());
    }
    if st.interfaces.contains_key(to) {
        return Err(no(Errno::EEXIST, format!("interface {to} already exists")));
    }
    if let Some(id) = host_link(st, name) {
        if let Some(l) = st.links.get_mut(&id) {
            l.name = to.to_string();
        }
    }
    st.interfaces.remove(name);
    st.interfaces.insert(to.to_string(), addrs);
    Ok(())
}

/// SIOCSIFVNET (if_vmove_loan): ENXIO for an interface the host does not
/// have or a jail that is not a live child (prison_find_child); EEXIST
/// for a jail that shares the host's vnet (no `vnet=new`) or whose vnet
/// has that name already (its own lo0). The interface leaves its bridge
/// (bridge_ifdetach) and its addresses (if_detach_internal).
pub fn to_jail(st: &mut State, name: &str, jid: Jid) -> Result<(), Refusal> {
    if !st.interfaces.contains_key(name) {
        return Err(no(Errno::ENXIO, format!("interface {name} does not exist")));
    }
    let Some(j) = st.jails.get(&jid).filter(|j| j.alive()) else {
        return Err(no(Errno::ENXIO, format!("jail {jid} not found")));
    };
    if !super::vnet::has_own_stack(j) {
        return Err(no(Errno::EEXIST, format!("jail {jid} shares the host's vnet")));
    }
    let taken = name == "lo0" || st.links.values().any(|l| l.jail == Some(jid) && l.name == name);
    if taken {
        return Err(no(Errno::EEXIST, format!("jail {jid} already has an interface {name}")));
    }
    let id = link_of(st, name);
    let members: Vec<u64> = st.links.iter().filter(|(_, m)| m.bridge == Some(id)).map(|(k, _)| *k).collect();
    for m in members {
        if let Some(l) = st.links.get_mut(&m) {
            l.bridge = None;
        }
    }
    leave_host(st, name);
    if let Some(l) = st.links.get_mut(&id) {
        l.jail = Some(jid);
        l.bridge = None;
    }
    super::vnet::enter(st, jid, name);
    Ok(())
}

/// vnet_if_return, when jail `jid`'s vnet is destroyed: what was moved in
/// goes back to the host under the name it has, without its addresses.
/// (The kernel does not check that the host still has the name free; the
/// sim, which keys interfaces by name, keeps the host's and drops the
/// returning one's record.)
pub fn return_from(st: &mut State, jid: Jid) {
    st.vnets.remove(&jid);
    let back: Vec<u64> = st.links.iter().filter(|(_, l)| l.jail == Some(jid)).map(|(k, _)| *k).collect();
    for id in back {
        let name = st.links[&id].name.clone();
        if st.interfaces.contains_key(&name) {
            st.links.remove(&id);
        } else if let Some(l) = st.links.get_mut(&id) {
            l.jail = None;
            forget_if_plain(st, id);
        }
        st.interfaces.get_or_insert_with(name, Vec::new);
    }
}

/// SIOCSIFFLAGS with IFF_UP: only ENXIO (the driver's answer is ignored).
pub fn up(st: &mut State, name: &str) -> Result<(), Refusal> {
    if !st.interfaces.contains_key(name) {
        return Err(no(Errno::ENXIO, format!("interface {name} does not exist")));
    }
    if let Some(id) = host_link(st, name) {
        if let Some(l) = st.links.get_mut(&id) {
            l.up = true;
        }
    }
    Ok(())
}

/// SIOCSIFLLADDR (if_setlladdr): ENXIO for an interface the host does
/// not have, EINVAL for one without an Ethernet address (a loopback).
pub fn set_lladdr(st: &mut State, name: &str, mac: [u8; 6]) -> Result<(), Refusal> {
    if !st.interfaces.contains_key(name) {
        return Err(no(Errno::ENXIO, format!("interface {name} does not exist")));
    }
    if name.starts_with("lo") {
        return Err(no(Errno::EINVAL, format!("{name} has no link-level address")));
    }
    let id = link_of(st, name);
    if let Some(l) = st.links.get_mut(&id) {
        l.mac = Some(mac);
    }
    Ok(())
}

/// SIOCSIFMTU (ifhwioctl): ENXIO, EINVAL outside IF_MINMTU..=IF_MAXMTU,
/// EOPNOTSUPP for a bridge member.
pub fn set_mtu(st: &mut State, name: &str, mtu: u32) -> Result<(), Refusal> {
    if !st.interfaces.contains_key(name) {
        return Err(no(Errno::ENXIO, format!("interface {name} does not exist")));
    }
    if !(72..=65535).contains(&mtu) {
        return Err(no(Errno::EINVAL, format!("mtu {mtu} is out of range")));
    }
    if host_link(st, name).is_some_and(|id| st.links[&id].bridge.is_some()) {
        return Err(no(Errno::EOPNOTSUPP, format!("{name} is a bridge member; its MTU cannot change")));
    }
    let id = link_of(st, name);
    if let Some(l) = st.links.get_mut(&id) {
        l.mtu = Some(mtu);
    }
    Ok(())
}

/// An interface's MTU as the driver made it: 1500 for Ethernet, an
/// epair and a bridge (ETHERMTU), 16384 for a loopback (LOMTU).
const DEFAULT_MTU: u32 = 1500;

/// SIOCGIFMTU: ENXIO for an interface the host does not have.
pub fn mtu(st: &State, name: &str) -> Result<u32, Refusal> {
    if !st.interfaces.contains_key(name) {
        return Err(no(Errno::ENXIO, format!("interface {name} does not exist")));
    }
    let default = if name.starts_with("lo") { 16384 } else { DEFAULT_MTU };
    Ok(host_link(st, name).and_then(|id| st.links[&id].mtu).unwrap_or(default))
}

/// Whether the host's `name` is IFF_UP: cloned ones from their link, the
/// host's own ones always.
pub fn is_up(st: &State, name: &str) -> bool {
    host_link(st, name).is_none_or(|id| st.links[&id].up)
}

/// The bridge link of host interface `bridge`: ENXIO when the host has no
/// such interface (SIOCSDRVSPEC's lookup), EINVAL when it is not a bridge
/// (the command then reaches another driver; assumed refused, unverified).
fn bridge_id(st: &State, bridge: &str) -> Result<u64, Refusal> {
    if !st.interfaces.contains_key(bridge) {
        return Err(no(Errno::ENXIO, format!("interface {bridge} does not exist")));
    }
    host_link(st, bridge)
        .filter(|id| st.links[id].cloner.as_deref() == Some("bridge"))
        .ok_or_else(|| no(Errno::EINVAL, format!("{bridge} is not a bridge")))
}

/// BRDGADD (bridge_ioctl_add): ENOENT for a member the vnet does not have,
/// EEXIST for one of this bridge, EBUSY for one of another, EINVAL for one
/// that is no Ethernet (a bridge, a loopback); on FreeBSD 15 also EINVAL
/// for a member with an address (net.link.bridge.member_ifaddrs=0); on 14
/// EINVAL for one whose MTU is not the bridge's.
pub fn bridge_add(st: &mut State, cfg: &SimConfig, bridge: &str, member: &str) -> Result<(), Refusal> {
    let b = bridge_id(st, bridge)?;
    let Some(addrs) = st.interfaces.get(member) else {
        return Err(no(Errno::ENOENT, format!("interface {member} does not exist")));
    };
    let has_addrs = !addrs.is_empty();
    let m = host_link(st, member);
    match m.and_then(|id| st.links[&id].bridge) {
        Some(x) if x == b => return Err(no(Errno::EEXIST, format!("{member} is a member of {bridge} already"))),
        Some(_) => return Err(no(Errno::EBUSY, format!("{member} is a member of another bridge"))),
        None => {}
    }
    let is_bridge = m.is_some_and(|id| st.links[&id].cloner.as_deref() == Some("bridge"));
    if is_bridge || member.starts_with("lo") {
        return Err(no(Errno::EINVAL, format!("{member} is not an Ethernet interface")));
    }
    let major: u32 = cfg.osrelease.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    if major >= 15 && has_addrs {
        return Err(no(Errno::EINVAL, format!("{member} has addresses, and a bridge member may not")));
    }
    // The first member gives the bridge its MTU; a later one must have
    // it (14: EINVAL), or is given it (15: SIOCSIFMTU on the member)
    // (bridge_ioctl_add).
    let (member_mtu, bridge_mtu) = (mtu(st, member)?, mtu(st, bridge)?);
    let first = !st.links.values().any(|l| l.bridge == Some(b));
    if !first && member_mtu != bridge_mtu && major < 15 {
        return Err(no(Errno::EINVAL, format!("invalid MTU: {member_mtu}({member}) != {bridge_mtu}")));
    }
    let id = link_of(st, member);
    let joined_mtu = if first { member_mtu } else { bridge_mtu };
    if let Some(l) = st.links.get_mut(&id) {
        l.bridge = Some(b);
        l.mtu = Some(joined_mtu).filter(|m| *m != DEFAULT_MTU);
    }
    if let Some(l) = st.links.get_mut(&b) {
        l.mtu = Some(joined_mtu).filter(|m| *m != DEFAULT_MTU);
    }
    Ok(())
}

/// BRDGDEL: ENOENT for a name that is not a member of this bridge.
pub fn bridge_remove(st: &mut State, bridge: &str, member: &str) -> Result<(), Refusal> {
    let b = bridge_id(st, bridge)?;
    let id = host_link(st, member)
        .filter(|id| st.links[id].bridge == Some(b))
        .ok_or_else(|| no(Errno::ENOENT, format!("{member} is not a member of {bridge}")))?;
    if let Some(l) = st.links.get_mut(&id) {
        l.bridge = None;
    }
    forget_if_plain(st, id);
    Ok(())
}

/// BRDGGIFS: the members. (The kernel lists them newest first; the sim in
/// the order it keeps them: compare them as a set.)
pub fn bridge_members(st: &State, bridge: &str) -> Result<Vec<String>, Refusal> {
    let b = bridge_id(st, bridge)?;
    Ok(st.links.iter().rev().filter(|(_, l)| l.bridge == Some(b)).map(|(_, l)| l.name.clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{JailSys, ParamValue};

    fn machine() -> (SimConfig, State) {
        let cfg = SimConfig::default();
        let st = State::boot(&cfg);
        (cfg, st)
    }

    #[test]
    fn units_are_the_lowest_free_and_stay_taken_until_destroyed() {
        let (_, mut st) = machine();
        assert_eq!(create(&mut st, "epair").expect("epair"), "epair0a");
        assert!(st.interfaces.contains_key("epair0b"), "both ends are made");
        rename(&mut st, "epair0a", "web0").expect("renamed");
        assert_eq!(create(&mut st, "epair").expect("epair"), "epair1a", "unit 0 is still taken");
        assert_eq!(create(&mut st, "epair0").map_err(|e| e.0), Err(Errno::EEXIST));
        assert_eq!(create(&mut st, "bridge7").expect("bridge"), "bridge7");
        assert_eq!(create(&mut st, "bridge").expect("bridge"), "bridge0");
        assert_eq!(create(&mut st, "bridge40000").map_err(|e| e.0), Err(Errno::ENOSPC));
        destroy(&mut st, "epair0b").expect("either end");
        assert!(!st.interfaces.contains_key("web0") && !st.interfaces.contains_key("epair0b"));
        assert_eq!(create(&mut st, "epair").expect("epair"), "epair0a", "unit 0 is free again");
        assert_eq!(destroy(&mut st, "em0").map_err(|e| e.0), Err(Errno::EINVAL), "not cloned");
    }

    #[test]
    fn bridges_take_ethernet_members_one_bridge_at_a_time() {
        let (cfg, mut st) = machine();
        create(&mut st, "bridge").expect("bridge0");
        create(&mut st, "bridge").expect("bridge1");
        create(&mut st, "epair").expect("epair0");
        bridge_add(&mut st, &cfg, "bridge0", "epair0a").expect("joined");
        assert_eq!(bridge_add(&mut st, &cfg, "bridge1", "epair0a").map_err(|e| e.0), Err(Errno::EBUSY));
        assert_eq!(bridge_add(&mut st, &cfg, "bridge0", "lo0").map_err(|e| e.0), Err(Errno::EINVAL));
        assert_eq!(bridge_add(&mut st, &cfg, "epair0b", "em0").map_err(|e| e.0), Err(Errno::EINVAL), "not a bridge");
        st.interfaces.insert("epair0b".into(), vec!["fe80::1/64".parse().expect("a")]);
        let fifteen = SimConfig { osrelease: "15.0-RELEASE".into(), ..SimConfig::default() };
        assert_eq!(bridge_add(&mut st, &fifteen, "bridge0", "epair0b").map_err(|e| e.0), Err(Errno::EINVAL));
        let fourteen = SimConfig { osrelease: "14.3-RELEASE".into(), ..SimConfig::default() };
        bridge_add(&mut st, &fourteen, "bridge0", "epair0b").expect("14 took members with addresses");
        bridge_add(&mut st, &cfg, "bridge1", "em0").expect("a host interface joins too");
        destroy(&mut st, "bridge0").expect("destroyed");
        bridge_add(&mut st, &cfg, "bridge1", "epair0a").expect("free again once its bridge went");
        assert_eq!(bridge_members(&st, "bridge1").expect("members").len(), 2);
    }

    #[test]
    fn a_host_interface_handed_to_a_jail_comes_back_plain() {
        let (_, mut st) = machine();
        let jail = |vnet: JailSys| super::super::state::SimJail {
            jid: 3,
            name: "web".into(),
            parent: 0,
            params: [("vnet".to_string(), crate::host::JailParam::new("vnet", ParamValue::JailSys(vnet)))].into(),
            cpus: None,
            dying: None,
            zone: Vec::new(),
        };
        st.jails.insert(3, jail(JailSys::Inherit));
        assert_eq!(to_jail(&mut st, "em0", 3).map_err(|e| e.0), Err(Errno::EEXIST));
        st.jails.insert(3, jail(JailSys::New));
        assert_eq!(to_jail(&mut st, "em0", 4).map_err(|e| e.0), Err(Errno::ENXIO));
        assert_eq!(to_jail(&mut st, "lo0", 3).map_err(|e| e.0), Err(Errno::EEXIST), "the jail has its own lo0");
        to_jail(&mut st, "em0", 3).expect("moved");
        assert!(!st.interfaces.contains_key("em0"));
        assert_eq!(to_jail(&mut st, "em0", 3).map_err(|e| e.0), Err(Errno::ENXIO), "the host has it no more");
        return_from(&mut st, 3);
        assert_eq!(st.interfaces.get("em0"), Some(&Vec::new()), "back, without its addresses");
        assert!(st.links.is_empty(), "a plain interface again");
    }
}
