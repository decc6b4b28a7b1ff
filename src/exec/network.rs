//! A jail's network on the host: the addresses it uses on the host's
//! interfaces, and a VNET jail's bridge, epair and own stack.

use std::path::Path;

use super::files::io;
use super::{running_jid, settle, StepError};
use crate::host::{Errno, Host, HostError, VnetSetup};
use crate::model::network::Mac;
use crate::model::JailName;
use crate::plan::dummynet::Pipes;
use crate::plan::run::Started;
use crate::state::layout::EPAIR_INTENT;

/// How a network step is taken back.
pub(super) enum Undo {
    Alias {
        interface: String,
        addr: ipnet::IpNet,
    },
    /// A bridge this step made, with the uplink it gave it.
    Bridge {
        bridge: String,
        uplink: Option<String>,
    },
    /// An epair, by its host end.
    Epair {
        host_end: String,
    },
    Member {
        bridge: String,
        member: String,
    },
    /// An anchor's rules before this step.
    Anchor {
        anchor: String,
        rules: String,
    },
    /// A dummynet pipe brig took (`old` None), or its bandwidth before.
    Pipe {
        pipe: u16,
        old: Option<u32>,
    },
}

pub(super) fn undo(host: &mut dyn Host, u: Undo) -> Result<(), StepError> {
    match u {
        Undo::Alias { interface, addr } => Ok(host.addr_remove(&interface, addr)?),
        // Another jail's epair may have joined the bridge meanwhile (a
        // boot wave starts jails side by side): then it stays.
        Undo::Bridge { bridge, uplink } => {
            let members = host.bridge_members(&bridge)?;
            if members.iter().all(|m| Some(m) == uplink.as_ref()) {
                host.if_destroy(&bridge)?;
            }
            Ok(())
        }
        Undo::Epair { host_end } => gone_is_fine(host.if_destroy(&host_end)),
        Undo::Member { bridge, member } => Ok(host.bridge_remove(&bridge, &member)?),
        Undo::Anchor { anchor, rules } => Ok(host.pf_load(&anchor, &rules)?),
        Undo::Pipe { pipe, old: None } => Ok(host.dn_pipe_delete(pipe)?),
        Undo::Pipe { pipe, old: Some(bandwidth) } => Ok(host.dn_pipe_config(pipe, bandwidth)?),
    }
}

/// ENXIO: the interface is gone already (its jail died and an earlier
/// stop, or the other end's destruction, took it).
fn gone_is_fine(r: Result<(), HostError>) -> Result<(), StepError> {
    match r {
        Err(e) if e.errno == Errno::ENXIO => Ok(()),
        other => Ok(other?),
    }
}

pub(super) fn add_alias(host: &mut dyn Host, interface: &str, addr: ipnet::IpNet) -> Result<Undo, StepError> {
    // SIOCAIFADDR would quietly replace an address that is already
    // configured (in_aifaddr_ioctl), and brig would later remove what
    // was never its own.
    if let Some(owner) = host.interfaces()?.iter().find(|i| i.addrs.iter().any(|a| a.addr() == addr.addr())) {
        return Err(StepError::Refused(format!(
            "{} is already configured on {}, and brig adds and removes only addresses it adds itself; choose another address, or leave out `interface` to use one the host has",
            addr.addr(),
            owner.name
        )));
    }
    host.addr_add(interface, addr)?;
    Ok(Undo::Alias { interface: interface.to_string(), addr })
}

pub(super) fn remove_alias(host: &mut dyn Host, interface: &str, addr: ipnet::IpNet) -> Result<(), StepError> {
    Ok(host.addr_remove(interface, addr)?)
}

pub(super) fn await_dad(host: &dyn Host, aliases: &[(String, std::net::Ipv6Addr)]) -> Result<(), StepError> {
    Ok(settle::await_dad(host, aliases)?)
}

/// Makes sure `bridge` exists, has `uplink` among its members and is up,
/// making what is missing: the same state whether this step ran
/// before, was killed half-way, or the administrator made the bridge.
/// An interface of that name that is no bridge is refused. The undo
/// takes back what this step made: the bridge, or the uplink's joining
/// an existing one.
pub(super) fn ensure_bridge(
    host: &mut dyn Host,
    bridge: &str,
    uplink: Option<&str>,
) -> Result<Option<Undo>, StepError> {
    // Asked by name, not by listing every interface: a boot wave of a
    // thousand jails would list them a thousand times.
    if let Some(u) = uplink {
        match host.if_mtu(u) {
            Err(e) if e.errno == Errno::ENXIO => {
                return Err(StepError::Refused(format!(
                    "uplink {u} is not an interface of this host; name one `ifconfig -l` lists"
                )))
            }
            other => other.map(|_| ())?,
        }
    }
    let members = match host.bridge_members(bridge) {
        Ok(m) => Some(m),
        Err(e) if e.errno == Errno::EINVAL || e.errno == Errno::ENOTTY => {
            return Err(StepError::Refused(format!(
                "{bridge} is an interface of this host that is not a bridge; name a bridge in [network] bridge"
            )))
        }
        // The bridge cloner takes only its own names (if_clone.c,
        // ifc_name2unit): another name is for rc.conf to make.
        Err(e) if e.errno == Errno::ENXIO && !is_bridge_name(bridge) => {
            return Err(StepError::Refused(format!(
                "{bridge} does not exist, and brig makes only bridges named bridgeN; make {bridge} in rc.conf (cloned_interfaces and ifconfig_bridgeN_name), or name a bridgeN"
            )))
        }
        Err(e) if e.errno == Errno::ENXIO => match host.if_create(bridge) {
            Ok(_) => None,
            // Another brig made it meanwhile.
            Err(e) if e.errno == Errno::EEXIST => Some(host.bridge_members(bridge)?),
            Err(e) => return Err(e.into()),
        },
        Err(e) => return Err(e.into()),
    };
    let made = members.is_none();
    let mut undo = made.then(|| Undo::Bridge { bridge: bridge.to_string(), uplink: uplink.map(str::to_string) });
    let missing = uplink.filter(|u| !members.iter().flatten().any(|m| m == u));
    let rest = match missing {
        Some(u) => join_uplink(host, bridge, u),
        None => Ok(()),
    };
    if let (Ok(()), Some(u), false) = (&rest, missing, made) {
        undo = Some(Undo::Member { bridge: bridge.to_string(), member: u.to_string() });
    }
    match rest.and_then(|()| Ok(host.if_up(bridge)?)) {
        Ok(()) => Ok(undo),
        Err(e) => {
            // Not finished, so exec does not undo it: this step does.
            if let Some(u) = undo {
                let _ = self::undo(host, u);
            }
            Err(e)
        }
    }
}

/// `bridge` followed by a unit in normal form.
fn is_bridge_name(name: &str) -> bool {
    name.strip_prefix("bridge")
        .is_some_and(|u| !u.is_empty() && u.bytes().all(|b| b.is_ascii_digit()) && (u == "0" || !u.starts_with('0')))
}

/// BRDGADD of the uplink, with what an EINVAL can mean
/// (bridge_ioctl_add): on FreeBSD 15 a member with addresses
/// (net.link.bridge.member_ifaddrs=0); on any, one that is no Ethernet,
/// or whose MTU is not the members'.
fn join_uplink(host: &mut dyn Host, bridge: &str, u: &str) -> Result<(), StepError> {
    match host.bridge_add(bridge, u) {
        Err(e) if e.errno == Errno::EINVAL => {
            let has_addrs = host.interfaces()?.iter().any(|i| i.name == u && !i.addrs.is_empty());
            Err(StepError::Refused(if has_addrs {
                format!("{bridge} refused uplink {u} (EINVAL): FreeBSD 15 takes no bridge member with addresses, and {u} has some; move {u}'s addresses to {bridge} in rc.conf and make {bridge} there, or leave out uplink")
            } else {
                format!("{bridge} refused uplink {u} (EINVAL): a bridge member must be an Ethernet interface with the MTU of the bridge's other members")
            }))
        }
        other => Ok(other?),
    }
}

/// The unit of `epairNa`, the kernel's name for a new epair's first end.
fn unnamed_epair(name: &str) -> Option<u32> {
    let unit = name.strip_prefix("epair")?.strip_suffix('a')?;
    if unit.is_empty() || !unit.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    unit.parse().ok()
}

/// Epairs a brig killed between creating and naming them left behind:
/// while brig makes an epair it holds the interfaces lock and keeps in
/// EPAIR_INTENT the unnamed epairs the host had before; one still there
/// that is new since, with both ends on the host, is that brig's.
pub(super) fn sweep_locked(host: &mut dyn Host) -> Result<(), StepError> {
    let _lock = lock_interfaces(host)?;
    sweep(host)
}

/// The lock held while an epair is made and named.
fn lock_interfaces(host: &dyn Host) -> Result<crate::state::lock::Held, StepError> {
    crate::state::lock::interfaces(host).map_err(|e| StepError::Refused(e.to_string()))
}

/// `sweep_locked`, for a caller holding the lock.
fn sweep(host: &mut dyn Host) -> Result<(), StepError> {
    let path = Path::new(EPAIR_INTENT);
    let before: Vec<String> = match host.read_file(path, 1 << 20) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(io(host, path)(e.into())),
    };
    let names: Vec<String> = host.interfaces()?.into_iter().map(|i| i.name).collect();
    for (a, unit) in names.iter().filter_map(|n| Some((n, unnamed_epair(n)?))) {
        let b = format!("epair{unit}b");
        if !before.iter().any(|x| x == a) && names.contains(&b) {
            gone_is_fine(host.if_destroy(a))?;
        }
    }
    host.remove_file(path).map_err(io(host, path))
}

/// The unnamed epairs among the host's interfaces `names`, written to
/// EPAIR_INTENT.
fn note_intent(host: &mut dyn Host, names: &[String]) -> Result<(), StepError> {
    let path = Path::new(EPAIR_INTENT);
    let unnamed: Vec<&String> = names.iter().filter(|n| unnamed_epair(n).is_some()).collect();
    let text = serde_json::to_vec(&unnamed).unwrap_or_default();
    if let Some(dir) = path.parent() {
        host.make_dirs(dir, 0o700).map_err(io(host, dir))?;
    }
    host.write_file(path, &text, 0o600).map_err(io(host, path))
}

/// Makes an epair named `host_end`/`jail_end`. The kernel names a new
/// epair itself (epairNa, epairNb) and the names change with two more
/// calls; a brig killed in between would leave an epair no record names,
/// so the making runs under the interfaces lock with an intent note that
/// the next maker (or recovery) sweeps from.
pub(super) fn create_epair(
    host: &mut dyn Host,
    host_end: &str,
    jail_end: &str,
    mac: Option<Mac>,
    mtu: Option<u32>,
) -> Result<Undo, StepError> {
    let _lock = lock_interfaces(host)?;
    sweep(host)?;
    let names: Vec<String> = host.interfaces()?.into_iter().map(|i| i.name).collect();
    if let Some(taken) = [host_end, jail_end].into_iter().find(|n| names.iter().any(|i| i == n)) {
        return Err(StepError::Refused(format!(
            "interface {taken} exists already, and brig makes it new for each start; if no jail uses it, remove it with `ifconfig {taken} destroy`"
        )));
    }
    note_intent(host, &names)?;
    let a = host.if_create("epair")?;
    let named = name_epair(host, &a, host_end, jail_end, mac, mtu);
    if let Err(e) = named {
        // Not finished, so exec does not undo it: this step does,
        // under whichever name its host end has by now.
        let _ = host.if_destroy(host_end).or_else(|_| host.if_destroy(&a));
        let _ = host.remove_file(Path::new(EPAIR_INTENT));
        return Err(e);
    }
    host.remove_file(Path::new(EPAIR_INTENT)).map_err(io(host, Path::new(EPAIR_INTENT)))?;
    Ok(Undo::Epair { host_end: host_end.to_string() })
}

fn name_epair(
    host: &mut dyn Host,
    a: &str,
    host_end: &str,
    jail_end: &str,
    mac: Option<Mac>,
    mtu: Option<u32>,
) -> Result<(), StepError> {
    let b = a.strip_suffix('a').map(|stem| format!("{stem}b")).unwrap_or_default();
    host.if_rename(a, host_end)?;
    host.if_rename(&b, jail_end)?;
    if let Some(m) = mac {
        host.if_set_lladdr(jail_end, m.0)?;
    }
    if let Some(m) = mtu {
        host.if_set_mtu(host_end, m)?;
        host.if_set_mtu(jail_end, m)?;
    }
    Ok(())
}

pub(super) fn join_bridge(
    host: &mut dyn Host,
    bridge: &str,
    member: &str,
    peer: &str,
    wanted: Option<u32>,
) -> Result<Undo, StepError> {
    // A bridge's members share its MTU (bridge_ioctl_add: FreeBSD 14
    // refuses another, 15 changes the member's, and the jail's end would
    // keep the old one). The first member sets it.
    if !host.bridge_members(bridge)?.is_empty() {
        let (has, shared) = (host.if_mtu(member)?, host.if_mtu(bridge)?);
        if has != shared {
            if let Some(w) = wanted {
                return Err(StepError::Refused(format!(
                    "mtu {w} is not {bridge}'s MTU, {shared}, which all its members share; set mtu = {shared}, or leave mtu out"
                )));
            }
            host.if_set_mtu(member, shared)?;
            host.if_set_mtu(peer, shared)?;
        }
    }
    host.bridge_add(bridge, member)?;
    Ok(Undo::Member { bridge: bridge.to_string(), member: member.to_string() })
}

pub(super) fn if_up(host: &mut dyn Host, interface: &str) -> Result<(), StepError> {
    Ok(host.if_up(interface)?)
}

/// Hands `interface` to the jail's stack; one the host does not have is
/// most likely still in a jail that is going away.
pub(super) fn move_to_jail(host: &mut dyn Host, interface: &str, jail: &JailName) -> Result<(), StepError> {
    let jid = running_jid(host, jail)?;
    let ifs = host.interfaces()?;
    let Some(found) = ifs.iter().find(|i| i.name == interface) else {
        return Err(StepError::Refused(format!(
            "{interface} is not in the host's network stack: another jail has it, or one that is going away still does (the kernel gives it back once that jail is freed, up to a minute with connections in TIME_WAIT); try again shortly"
        )));
    };
    // Moving it takes its addresses with it (if_vmove purges them): the
    // host's own, which it would lose.
    let link_local = |a: &ipnet::IpNet| matches!(a.addr(), std::net::IpAddr::V6(v) if v.is_unicast_link_local());
    if let Some(a) = found.addrs.iter().find(|a| !link_local(a)) {
        return Err(StepError::Refused(format!(
            "{interface} has the host's address {}, which handing it to jail {jail} would take from the host; hand over an interface the host does not use",
            a.addr()
        )));
    }
    Ok(host.if_to_jail(interface, jid)?)
}

pub(super) fn await_vnet_dad(
    host: &mut dyn Host,
    jail: &JailName,
    interface: &str,
    addrs: &[std::net::Ipv6Addr],
) -> Result<(), StepError> {
    let jid = running_jid(host, jail)?;
    Ok(settle::await_vnet_dad(host, jid, interface, addrs)?)
}

pub(super) fn configure_vnet(host: &mut dyn Host, jail: &JailName, setup: &VnetSetup) -> Result<(), StepError> {
    let jid = running_jid(host, jail)?;
    Ok(host.vnet_configure(jid, setup)?)
}

pub(super) fn destroy_interface(host: &mut dyn Host, name: &str) -> Result<(), StepError> {
    gone_is_fine(host.if_destroy(name))
}

pub(super) fn load_anchor(host: &mut dyn Host, anchor: &str, rules: &str, old: &str) -> Result<Undo, StepError> {
    host.pf_load(anchor, rules).map_err(pf_refused)?;
    Ok(Undo::Anchor { anchor: anchor.to_string(), rules: old.to_string() })
}

/// pf not there at all is the administrator's to fix, and says how.
fn pf_refused(e: HostError) -> StepError {
    if e.errno == Errno::ENOENT || e.errno == Errno::ENODEV {
        return StepError::Refused(format!(
            "pf is not running ({e}): a jail with [firewall], [[expose]] or bandwidth limits needs it; add pf_enable=\"YES\" to /etc/rc.conf, the lines `brig doctor` shows to /etc/pf.conf, and run `service pf start`"
        ));
    }
    e.into()
}

/// Takes dummynet pipe `pipe` (`old` None), which must be free: brig
/// chose it from what it saw before, and another brig, or the
/// administrator, may have taken it since; or changes its bandwidth.
pub(super) fn configure_pipe(
    host: &mut dyn Host,
    pipe: u16,
    bandwidth: u32,
    old: Option<u32>,
) -> Result<Undo, StepError> {
    let _lock = match old {
        None => {
            let lock = crate::state::lock::pipes(host).map_err(|e| StepError::Refused(e.to_string()))?;
            if host.dn_pipes().map_err(dummynet_refused)?.iter().any(|(p, _)| *p == pipe) {
                return Err(StepError::Refused(format!(
                    "dummynet pipe {pipe} was taken while brig started the jail (brig takes pipes {} to {} that no one has); start it again",
                    crate::plan::dummynet::FIRST,
                    crate::plan::dummynet::LAST
                )));
            }
            Some(lock)
        }
        Some(_) => None,
    };
    host.dn_pipe_config(pipe, bandwidth).map_err(dummynet_refused)?;
    Ok(Undo::Pipe { pipe, old })
}

/// Without dummynet.ko there are no pipes; loading it is the
/// administrator's call (on some releases it brings ipfw, whose default
/// is to block everything).
fn dummynet_refused(e: HostError) -> StepError {
    if e.errno == Errno::ENOPROTOOPT {
        return StepError::Refused(format!(
            "dummynet(4) is not loaded ({e}): bandwidth_in and bandwidth_out need it; {}",
            crate::kernel::dummynet::LOAD_IT
        ));
    }
    e.into()
}

/// The pipes each jail's start record names. Two records can name the
/// same pipe: brigs choose pipes side by side, and only the one that
/// makes a pipe (under the pipes lock) keeps it; the other's start fails,
/// or its record is left by a brig killed before it got there.
pub fn recorded_pipes(host: &dyn Host) -> std::io::Result<Vec<(JailName, Pipes)>> {
    let dir = std::path::Path::new(crate::state::layout::STARTED_DIR);
    let files = match host.list_dir(dir) {
        Ok(names) => names,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for file in files {
        let Some(name) = file.strip_suffix(".json").and_then(|n| JailName::parse(n).ok()) else { continue };
        let Ok(text) = host.read_file(&dir.join(&file), crate::state::bounded::CONFIG_LIMIT) else { continue };
        let record: Option<Started> = serde_json::from_slice(&text).ok();
        if let Some(s) = record.and_then(|r| r.firewall).and_then(|f| f.shaping) {
            out.push((name, s.pipes));
        }
    }
    Ok(out)
}

/// Deletes jail `jail`'s pipe `pipe`, unless another jail's record names
/// it too: then it is that jail's, made while this one's start was
/// killed before it got to make its own. A pipe already gone (deleted by
/// hand, or dummynet unloaded) is what a stop wants.
pub(super) fn delete_pipe(host: &mut dyn Host, pipe: u16, jail: &JailName) -> Result<(), StepError> {
    let _lock = crate::state::lock::pipes(host).map_err(|e| StepError::Refused(e.to_string()))?;
    let records = recorded_pipes(host).map_err(|e| {
        StepError::Refused(format!("the start records could not be read ({e}); dummynet pipe {pipe} stays"))
    })?;
    if records.iter().any(|(n, p)| n != jail && p.both().contains(&pipe)) {
        return Ok(());
    }
    match host.dn_pipe_delete(pipe) {
        Err(e) if e.errno == Errno::EINVAL || e.errno == Errno::ENOPROTOOPT => Ok(()),
        other => Ok(other?),
    }
}

pub(super) fn flush_anchor(host: &mut dyn Host, anchor: &str) -> Result<(), StepError> {
    Ok(host.pf_load(anchor, "")?)
}

pub(super) fn kill_states(host: &mut dyn Host, addrs: &[std::net::IpAddr]) -> Result<(), StepError> {
    for a in addrs {
        host.pf_kill_states(*a)?;
    }
    Ok(())
}
