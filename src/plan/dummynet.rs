//! The dummynet(4) pipes of a jail's bandwidth limits: two a jail, one a
//! direction, numbered from a range of their own so that brig never
//! takes, changes or deletes a pipe the administrator made (with
//! dnctl(8) or ipfw(8), which share the numbers).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The pipe numbers brig takes: the upper half of what dummynet takes
/// (1 to 65535, `config_link` in ip_dummynet.c; dnctl lists up to 65534).
pub const FIRST: u16 = 32768;
pub const LAST: u16 = 65534;

/// A jail's two pipes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipes {
    /// What reaches the jail (`bandwidth_in`).
    pub down: u16,
    /// What the jail sends (`bandwidth_out`).
    pub up: u16,
}

impl Pipes {
    /// The first two free numbers of brig's range, given those `taken`
    /// (the host's pipes, and those other jails' records hold).
    pub fn first_free(taken: &BTreeSet<u16>) -> Option<Pipes> {
        let mut free = (FIRST..=LAST).filter(|n| !taken.contains(n));
        Some(Pipes { down: free.next()?, up: free.next()? })
    }

    pub fn both(self) -> [u16; 2] {
        [self.down, self.up]
    }

    /// The pf tag of the jail's NATed packets, so its limits still find
    /// them once pf has rewritten their source (filter rules see the
    /// translated packet).
    pub fn tag(self) -> String {
        format!("brig_dn{}", self.up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_are_the_first_free_pair_of_brigs_range() {
        assert_eq!(Pipes::first_free(&BTreeSet::new()), Some(Pipes { down: 32768, up: 32769 }));
        let taken: BTreeSet<u16> = [1, 32768, 32770].into();
        assert_eq!(Pipes::first_free(&taken), Some(Pipes { down: 32769, up: 32771 }));
        let full: BTreeSet<u16> = (FIRST..LAST).collect();
        assert_eq!(Pipes::first_free(&full), None);
    }
}
