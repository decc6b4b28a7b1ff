//! Addresses a jail uses on the host's interfaces.

use super::{settle, StepError};
use crate::host::Host;

/// How an alias is taken back.
pub(super) struct Undo {
    interface: String,
    addr: ipnet::IpNet,
}

pub(super) fn undo(host: &mut dyn Host, u: Undo) -> Result<(), StepError> {
    Ok(host.addr_remove(&u.interface, u.addr)?)
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
    Ok(Undo { interface: interface.to_string(), addr })
}

pub(super) fn remove_alias(host: &mut dyn Host, interface: &str, addr: ipnet::IpNet) -> Result<(), StepError> {
    Ok(host.addr_remove(interface, addr)?)
}

pub(super) fn await_dad(host: &dyn Host, aliases: &[(String, std::net::Ipv6Addr)]) -> Result<(), StepError> {
    Ok(settle::await_dad(host, aliases)?)
}
