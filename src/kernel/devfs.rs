//! devfs rulesets as devfs(8) reads them: DEVFSIO_RGETNEXT on a devfs
//! directory with a `struct devfs_rule` (sys/fs/devfs/devfs.h, laid out
//! the same on every architecture: 236 bytes, no padding).
//!
//! Why brig reads them: devfs_ruleset_use (devfs_rule.c) creates an
//! *empty* ruleset when a mount asks for one that is not loaded, so a jail
//! whose /dev is mounted with `ruleset=N` for a missing N sees every device
//! of the host, raw disks included, and nothing says so.

use super::ioccom::iowr;

/// `sizeof(struct devfs_rule)`.
pub const DEVFS_RULE: usize = 236;
/// `dr_magic` of every rule passed to the kernel (ERPCMISMATCH otherwise).
pub const DEVFS_MAGIC: u32 = 0xdb0a_087a;
/// `_IOWR('D', 4, struct devfs_rule)`: the first rule of ruleset N
/// numbered above R, for `dr_id = mkrid(N, R)`; ENOENT when there is none,
/// which is also the answer for a ruleset that is not loaded.
pub const DEVFSIO_RGETNEXT: u64 = iowr(b'D', 4, DEVFS_RULE);

/// `mkrid(rsn, rn)`: a ruleset number in the high 16 bits, a rule number
/// in the low ones.
pub fn mkrid(ruleset: u16, rule: u16) -> u32 {
    u32::from(rule) | (u32::from(ruleset) << 16)
}

/// The request that asks for the first rule of `ruleset` after `rule`:
/// only `dr_magic` (offset 0) and `dr_id` (offset 4) are read.
pub fn rgetnext(ruleset: u16, after: u16) -> [u8; DEVFS_RULE] {
    let mut r = [0u8; DEVFS_RULE];
    r[..4].copy_from_slice(&DEVFS_MAGIC.to_ne_bytes());
    r[4..8].copy_from_slice(&mkrid(ruleset, after).to_ne_bytes());
    r
}

/// The (ruleset, rule) numbers of the rule the kernel wrote back.
pub fn rule_id(rule: &[u8; DEVFS_RULE]) -> (u16, u16) {
    let id = u32::from_ne_bytes([rule[4], rule[5], rule[6], rule[7]]);
    ((id >> 16) as u16, (id & 0xffff) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_number_is_the_headers() {
        assert_eq!(DEVFSIO_RGETNEXT, 0xc0ec_4404);
    }

    #[test]
    fn a_request_carries_the_magic_and_the_rule_id() {
        let r = rgetnext(4, 0);
        assert_eq!(r[..4], 0xdb0a_087a_u32.to_ne_bytes());
        assert_eq!(r[4..8], 0x0004_0000_u32.to_ne_bytes());
        assert!(r[8..].iter().all(|&b| b == 0));
        assert_eq!(rule_id(&rgetnext(5, 300)), (5, 300));
        assert_eq!(mkrid(4, 100), 0x0004_0064);
    }
}
