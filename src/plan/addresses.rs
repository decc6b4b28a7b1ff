//! Who has an address on this machine, so that a jail is never given one
//! that is already somebody's: a running jail's (its jail_get addresses),
//! another definition's, or the host's own (an interface address that is
//! no running jail's: em0's address, 127.0.0.1 on lo0, a gateway). brig
//! would otherwise take it over with SIOCAIFADDR and later remove it.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use crate::kernel::{Interface, LiveJail};
use crate::model::jail::JailSpec;
use crate::model::JailName;

/// Who has an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Host { interface: String },
    Jail { name: String, running: bool },
}

/// An address a jail asked for that is somebody else's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub addr: IpAddr,
    pub owner: Owner,
}

impl fmt::Display for Taken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.owner {
            Owner::Host { interface } => write!(f, "{} is {interface}'s own address", self.addr),
            Owner::Jail { name, running: true } => write!(f, "{} is used by jail {name} (running)", self.addr),
            Owner::Jail { name, running: false } => write!(f, "{} is used by jail {name} (defined)", self.addr),
        }
    }
}

/// The addresses of a definition.
pub fn of(spec: &JailSpec) -> Vec<IpAddr> {
    spec.network.addresses().iter().map(|a| a.addr()).collect()
}

/// Every address of the machine with its owner; a running jail comes
/// before a definition, which comes before an interface.
#[derive(Default)]
pub struct AddressBook {
    owners: HashMap<IpAddr, Owner>,
}

impl AddressBook {
    pub fn new(interfaces: &[Interface], live: &[LiveJail], defined: &[JailSpec]) -> AddressBook {
        let mut owners = HashMap::new();
        for j in live.iter().filter(|j| !j.dying) {
            let addrs = j.ip4.iter().map(|a| IpAddr::V4(*a)).chain(j.ip6.iter().map(|a| IpAddr::V6(*a)));
            for a in addrs {
                owners.entry(a).or_insert_with(|| Owner::Jail { name: j.name.clone(), running: true });
            }
        }
        for s in defined {
            for a in of(s) {
                owners.entry(a).or_insert_with(|| Owner::Jail { name: s.name.to_string(), running: false });
            }
        }
        for i in interfaces {
            for a in &i.addrs {
                owners.entry(a.addr()).or_insert_with(|| Owner::Host { interface: i.name.clone() });
            }
        }
        AddressBook { owners }
    }

    /// Records that `spec` now runs with its addresses: a batch reads the
    /// machine once and keeps the book up to date as its jails start.
    pub fn started(&mut self, spec: &JailSpec) {
        for a in of(spec) {
            self.owners.insert(a, Owner::Jail { name: spec.name.to_string(), running: true });
        }
    }

    /// The addresses of `addrs` that belong to someone other than jail
    /// `name`; `own` are addresses that are its own wherever they are
    /// seen (the aliases its start record lists).
    pub fn taken(&self, name: &JailName, addrs: &[IpAddr], own: &[IpAddr]) -> Vec<Taken> {
        addrs
            .iter()
            .filter(|a| !own.contains(a))
            .filter_map(|a| {
                let owner = self.owners.get(a)?;
                let mine = matches!(owner, Owner::Jail { name: n, .. } if n == name.as_str());
                (!mine).then(|| Taken { addr: *a, owner: owner.clone() })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::empty as spec;

    #[test]
    fn each_address_is_named_by_its_owner() {
        let ifs = vec![
            Interface {
                name: "em0".into(),
                up: true,
                addrs: vec!["192.0.2.1/24".parse().expect("a"), "192.0.2.20/24".parse().expect("a")],
            },
            Interface { name: "lo0".into(), up: true, addrs: vec!["127.0.0.1/8".parse().expect("a")] },
        ];
        let web = LiveJail { name: "web".into(), ip4: vec!["192.0.2.20".parse().expect("a")], ..LiveJail::default() };
        let db = spec("db", "[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.30/24\"]\n");
        let book = AddressBook::new(&ifs, &[web], &[db]);
        let me = JailName::parse("new").expect("name");
        let ask: Vec<IpAddr> = ["192.0.2.1", "127.0.0.1", "192.0.2.20", "192.0.2.30", "192.0.2.40"]
            .iter()
            .map(|a| a.parse().expect("a"))
            .collect();
        let said: Vec<String> = book.taken(&me, &ask, &[]).iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "192.0.2.1 is em0's own address",
                "127.0.0.1 is lo0's own address",
                "192.0.2.20 is used by jail web (running)",
                "192.0.2.30 is used by jail db (defined)",
            ]
        );
        // A jail's own addresses are not taken from it.
        let web = JailName::parse("web").expect("name");
        assert!(book.taken(&web, &ask[2..3], &[]).is_empty());
        assert!(book.taken(&me, &ask[..1], &ask[..1]).is_empty());
    }

    #[test]
    fn a_batch_book_learns_the_jails_it_starts() {
        let mut book = AddressBook::default();
        let first = spec("one", "[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.50/24\"]\n");
        let second = spec("two", "[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.50/24\"]\n");
        let addr: IpAddr = "192.0.2.50".parse().expect("a");
        assert!(book.taken(&second.name, &[addr], &[]).is_empty(), "nobody has it yet");
        book.started(&first);
        let said: Vec<String> = book.taken(&second.name, &[addr], &[]).iter().map(ToString::to_string).collect();
        assert_eq!(said, ["192.0.2.50 is used by jail one (running)"]);
        assert!(book.taken(&first.name, &[addr], &[]).is_empty(), "its own");
    }
}
