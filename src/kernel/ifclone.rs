//! The requests of the interface ioctls VNET jails need, as bytes laid out
//! as on FreeBSD/amd64: cloning and destroying interfaces (epair, bridge),
//! renaming, moving one into a jail's vnet, bringing it up, and a bridge's
//! members. From net/if.h, net/if_bridgevar.h and sys/sockio.h (the layouts
//! and numbers, with what the kernel does with each, are in
//! docs/freebsd/network-interfaces.md); tested byte for byte everywhere.
//!
//! Requests that carry a pointer (`ifr_data`, `ifd_data`, `ifbic_buf`) take
//! it as a number: the caller keeps the buffer alive across the ioctl.

use super::ioccom::{iow, iowr};
use super::net::{ifname, BadIfName, IFNAMSIZ, IFREQ};

/// `struct ifdrv`: name, `unsigned long ifd_cmd`, `size_t ifd_len`,
/// `void *ifd_data`.
pub const IFDRV: usize = IFNAMSIZ + 3 * 8;
/// `struct ifbreq`: the member's name and its bridge port fields.
pub const IFBREQ: usize = 80;
/// `struct ifbifconf`: `uint32_t ifbic_len`, then (8-aligned) the buffer.
pub const IFBIFCONF: usize = 16;

/// `_IOW('i', 16, struct ifreq)`.
pub const SIOCSIFFLAGS: u64 = iow(b'i', 16, IFREQ);
/// `_IOWR('i', 17, struct ifreq)`.
pub const SIOCGIFFLAGS: u64 = iowr(b'i', 17, IFREQ);
/// `_IOW('i', 40, struct ifreq)`: `ifr_data` points at the new name.
pub const SIOCSIFNAME: u64 = iow(b'i', 40, IFREQ);
/// `_IOWR('i', 90, struct ifreq)`: into the vnet of jail `ifr_jid`.
pub const SIOCSIFVNET: u64 = iowr(b'i', 90, IFREQ);
/// `_IOW('i', 121, struct ifreq)`.
pub const SIOCIFDESTROY: u64 = iow(b'i', 121, IFREQ);
/// `_IOWR('i', 124, struct ifreq)`: the kernel writes the name it gave.
pub const SIOCIFCREATE2: u64 = iowr(b'i', 124, IFREQ);
/// `_IOW('i', 123, struct ifdrv)`: a driver's set command.
pub const SIOCSDRVSPEC: u64 = iow(b'i', 123, IFDRV);
/// `_IOWR('i', 123, struct ifdrv)`: a driver's get command.
pub const SIOCGDRVSPEC: u64 = iowr(b'i', 123, IFDRV);

/// if_bridgevar.h: add a member (`struct ifbreq`, set).
pub const BRDGADD: u64 = 0;
/// if_bridgevar.h: delete a member (`struct ifbreq`, set).
pub const BRDGDEL: u64 = 1;
/// if_bridgevar.h: the members (`struct ifbifconf`, get).
pub const BRDGGIFS: u64 = 6;

/// net/if.h: the interface is up.
pub const IFF_UP: u32 = 0x1;

/// A `struct ifreq` naming `iface`, the union zero: SIOCIFCREATE2 (a
/// cloner, such as `epair` or `bridge3`), SIOCIFDESTROY, SIOCGIFFLAGS.
pub fn ifreq(iface: &str) -> Result<[u8; IFREQ], BadIfName> {
    let mut r = [0u8; IFREQ];
    r[..IFNAMSIZ].copy_from_slice(&ifname(iface)?);
    Ok(r)
}

/// A NUL-padded IFNAMSIZ name field at the start of `field`.
fn name_in(field: &[u8]) -> String {
    let field = &field[..IFNAMSIZ.min(field.len())];
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// The name the kernel wrote back into `ifr_name`.
pub fn ifreq_name(r: &[u8; IFREQ]) -> String {
    name_in(r)
}

/// SIOCSIFVNET: `ifr_jid` at the union's start.
pub fn ifreq_jid(iface: &str, jid: i32) -> Result<[u8; IFREQ], BadIfName> {
    let mut r = ifreq(iface)?;
    r[16..20].copy_from_slice(&jid.to_ne_bytes());
    Ok(r)
}

/// SIOCSIFNAME: `ifr_data` is the address of the new name (an IFNAMSIZ
/// buffer from `ifname`).
pub fn ifreq_data(iface: &str, data: u64) -> Result<[u8; IFREQ], BadIfName> {
    let mut r = ifreq(iface)?;
    r[16..24].copy_from_slice(&data.to_ne_bytes());
    Ok(r)
}

/// The flags of a SIOCGIFFLAGS reply: `ifr_flags` (low 16 bits) and
/// `ifr_flagshigh`.
pub fn ifreq_flags(r: &[u8; IFREQ]) -> u32 {
    u32::from(u16::from_ne_bytes([r[16], r[17]])) | (u32::from(u16::from_ne_bytes([r[18], r[19]])) << 16)
}

/// A SIOCSIFFLAGS request setting `flags`.
pub fn ifreq_with_flags(iface: &str, flags: u32) -> Result<[u8; IFREQ], BadIfName> {
    let mut r = ifreq(iface)?;
    r[16..18].copy_from_slice(&((flags & 0xffff) as u16).to_ne_bytes());
    r[18..20].copy_from_slice(&((flags >> 16) as u16).to_ne_bytes());
    Ok(r)
}

/// A `struct ifdrv` for bridge `bridge`'s command `cmd`, its argument
/// `len` bytes at address `data`.
pub fn ifdrv(bridge: &str, cmd: u64, len: usize, data: u64) -> Result<[u8; IFDRV], BadIfName> {
    let mut r = [0u8; IFDRV];
    r[..IFNAMSIZ].copy_from_slice(&ifname(bridge)?);
    r[16..24].copy_from_slice(&cmd.to_ne_bytes());
    r[24..32].copy_from_slice(&(len as u64).to_ne_bytes());
    r[32..40].copy_from_slice(&data.to_ne_bytes());
    Ok(r)
}

/// A `struct ifbreq` naming member `member`, every other field zero (on
/// FreeBSD 15 some of the padding became fields: zero is their default).
pub fn ifbreq(member: &str) -> Result<[u8; IFBREQ], BadIfName> {
    let mut r = [0u8; IFBREQ];
    r[..IFNAMSIZ].copy_from_slice(&ifname(member)?);
    Ok(r)
}

/// A `struct ifbifconf` for BRDGGIFS: a buffer of `len` bytes at `buf`
/// (length 0 asks how many bytes the members need).
pub fn ifbifconf(len: u32, buf: u64) -> [u8; IFBIFCONF] {
    let mut r = [0u8; IFBIFCONF];
    r[..4].copy_from_slice(&len.to_ne_bytes());
    r[8..16].copy_from_slice(&buf.to_ne_bytes());
    r
}

/// `ifbic_len` of a BRDGGIFS reply: the bytes filled (or needed).
pub fn ifbifconf_len(r: &[u8; IFBIFCONF]) -> u32 {
    u32::from_ne_bytes([r[0], r[1], r[2], r[3]])
}

/// The member names in a BRDGGIFS buffer of `struct ifbreq`s.
pub fn members(buf: &[u8]) -> Vec<String> {
    buf.chunks_exact(IFBREQ).map(name_in).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_are_those_of_the_headers() {
        assert_eq!(SIOCSIFFLAGS, 0x8020_6910);
        assert_eq!(SIOCGIFFLAGS, 0xc020_6911);
        assert_eq!(SIOCSIFNAME, 0x8020_6928);
        assert_eq!(SIOCSIFVNET, 0xc020_695a);
        assert_eq!(SIOCIFDESTROY, 0x8020_6979);
        assert_eq!(SIOCIFCREATE2, 0xc020_697c);
        assert_eq!(SIOCSDRVSPEC, 0x8028_697b);
        assert_eq!(SIOCGDRVSPEC, 0xc028_697b);
    }

    #[test]
    fn requests_are_laid_out_as_the_structs() {
        let r = ifreq_jid("epair0b", 7).expect("name");
        assert_eq!(&r[..8], b"epair0b\0");
        assert_eq!(&r[16..20], &7i32.to_ne_bytes());
        assert!(r[20..].iter().all(|b| *b == 0));
        let r = ifreq_data("epair0a", 0x1122_3344_5566_7788).expect("name");
        assert_eq!(&r[16..24], &0x1122_3344_5566_7788u64.to_ne_bytes());
        let r = ifreq_with_flags("bridge0", 0x0001_8843).expect("name");
        assert_eq!(ifreq_flags(&r), 0x0001_8843);
        assert_eq!(&r[16..18], &0x8843u16.to_ne_bytes());
        assert_eq!(&r[18..20], &1u16.to_ne_bytes());
        let mut back = ifreq("epair").expect("cloner");
        back[..8].copy_from_slice(b"epair3a\0");
        assert_eq!(ifreq_name(&back), "epair3a");
        let d = ifdrv("bridge0", BRDGADD, IFBREQ, 0xdead_beef).expect("name");
        assert_eq!(&d[..8], b"bridge0\0");
        assert_eq!(&d[16..24], &0u64.to_ne_bytes());
        assert_eq!(&d[24..32], &80u64.to_ne_bytes());
        assert_eq!(&d[32..40], &0xdead_beefu64.to_ne_bytes());
        let b = ifbreq("epair0a").expect("name");
        assert_eq!(&b[..8], b"epair0a\0");
        assert!(b[16..].iter().all(|x| *x == 0));
        let c = ifbifconf(160, 0x1000);
        assert_eq!((ifbifconf_len(&c), &c[4..8], &c[8..16]), (160, &[0u8; 4][..], &0x1000u64.to_ne_bytes()[..]));
        let mut two = vec![0u8; 2 * IFBREQ];
        two[..4].copy_from_slice(b"em0\0");
        two[IFBREQ..IFBREQ + 8].copy_from_slice(b"epair0a\0");
        assert_eq!(members(&two), ["em0", "epair0a"]);
        assert!(ifreq("an-interface-name-too-long").is_err());
    }
}
