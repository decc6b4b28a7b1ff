//! `brig debug sim-show`: the simulated machine's whole state as one
//! document, whatever form the store keeps it in, so that tests, scripts
//! and curious users can see what brig did to the machine.

use std::collections::BTreeMap;

use serde::Serialize;

use super::state::State;
use crate::host::MountEntry;

#[derive(Debug, Serialize)]
pub struct Machine {
    pub jails: Vec<Jail>,
    pub datasets: Vec<Dataset>,
    pub mounts: Vec<MountEntry>,
    /// Interface name to its addresses (the host's vnet).
    pub interfaces: BTreeMap<String, Vec<String>>,
    /// Cloned interfaces, and interfaces moved into a jail's vnet.
    pub links: Vec<Link>,
    /// rctl rules as `rctl` prints them.
    pub rctl: Vec<String>,
    /// Sysctls written at run time (the rest are sim.toml's).
    pub sysctls: BTreeMap<String, String>,
    /// devfs ruleset to its number of rules.
    pub devfs_rulesets: BTreeMap<u16, u32>,
}

#[derive(Debug, Serialize)]
pub struct Jail {
    pub jid: i32,
    pub name: String,
    pub parent: i32,
    pub dying: bool,
    /// Every parameter by name, as jls(8) -n shows values.
    pub params: BTreeMap<String, String>,
    pub cpus: Option<Vec<u32>>,
    /// Datasets attached with `zfs jail`.
    pub datasets: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Link {
    pub name: String,
    /// `epair` or `bridge`; none for a host interface handed to a jail.
    pub cloner: Option<String>,
    /// The other end of an epair.
    pub peer: Option<String>,
    /// The jail whose vnet it is in; none: the host's.
    pub jail: Option<i32>,
    /// The bridge it is a member of.
    pub bridge: Option<String>,
    pub up: bool,
}

#[derive(Debug, Serialize)]
pub struct Dataset {
    pub name: String,
    pub snapshot: bool,
    pub origin: Option<String>,
    /// Properties set locally.
    pub props: BTreeMap<String, String>,
    pub mounted: Option<String>,
    pub holds: Vec<String>,
}

pub fn machine(st: &State) -> Machine {
    Machine {
        jails: st
            .jails
            .values()
            .map(|j| Jail {
                jid: j.jid,
                name: j.name.clone(),
                parent: j.parent,
                dying: !j.alive(),
                params: j.params.iter().map(|(k, p)| (k.clone(), p.value.to_string())).collect(),
                cpus: j.cpus.clone(),
                datasets: j.zone.clone(),
            })
            .collect(),
        datasets: st
            .datasets
            .iter()
            .map(|(name, d)| Dataset {
                name: name.clone(),
                snapshot: d.snapshot,
                origin: d.origin.clone(),
                props: d.props.clone(),
                mounted: d.mounted.as_ref().map(|p| p.display().to_string()),
                holds: d.holds.clone(),
            })
            .collect(),
        mounts: st.mounts.values().cloned().collect(),
        interfaces: st
            .interfaces
            .iter()
            .map(|(i, a)| (i.clone(), a.iter().map(ToString::to_string).collect()))
            .collect(),
        links: st
            .links
            .values()
            .map(|l| Link {
                name: l.name.clone(),
                cloner: l.cloner.clone(),
                peer: l.peer.and_then(|p| st.links.get(&p)).map(|p| p.name.clone()),
                jail: l.jail,
                bridge: l.bridge.and_then(|b| st.links.get(&b)).map(|b| b.name.clone()),
                up: l.up,
            })
            .collect(),
        rctl: st.rules.iter().map(|r| super::fields_of(r).to_rule_string()).collect(),
        sysctls: st.sysctl.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        devfs_rulesets: st.devfs_rulesets.clone(),
    }
}
