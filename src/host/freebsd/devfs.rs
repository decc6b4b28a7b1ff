//! The rules of a devfs ruleset, walked as `devfs rule -s N show` walks
//! them: DEVFSIO_RGETNEXT on /dev until ENOENT. The request bytes come from
//! `kernel::devfs`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use libc::c_ulong;
use nix::errno::Errno;

use crate::host::{HostError, HostResult};
use crate::kernel::devfs;

const OP: &str = "devfs_rules";

/// How many rules ruleset `ruleset` has; 0 when it is not loaded (or was
/// created empty by a mount that asked for it).
pub(super) fn rules(ruleset: u16) -> HostResult<u32> {
    if ruleset == 0 {
        return Err(HostError::new(OP, Errno::EINVAL, "ruleset 0 stands for the mount's own ruleset"));
    }
    // SAFETY: a NUL-terminated literal path; a non-negative result is a
    // new descriptor owned by nothing else.
    let fd = unsafe { libc::open(c"/dev".as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(HostError::new(OP, Errno::last(), "opening /dev to read the devfs rulesets"));
    }
    // SAFETY: `fd` was just opened and is ours alone.
    let dev = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut count = 0;
    let mut after = 0u16;
    loop {
        let mut req = devfs::rgetnext(ruleset, after);
        // SAFETY: `req` is DEVFS_RULE bytes, the size the request encodes;
        // the kernel copies them in and the next rule back out.
        let rc = unsafe { libc::ioctl(dev.as_raw_fd(), devfs::DEVFSIO_RGETNEXT as c_ulong, req.as_mut_ptr()) };
        if rc < 0 {
            return match Errno::last() {
                Errno::ENOENT => Ok(count),
                e => Err(HostError::new(OP, e, format!("reading devfs ruleset {ruleset}"))),
            };
        }
        let (set, rule) = devfs::rule_id(&req);
        if set != ruleset || rule <= after {
            return Err(HostError::new(
                OP,
                Errno::EIO,
                format!("devfs answered rule {set}.{rule} for ruleset {ruleset}"),
            ));
        }
        count += 1;
        if rule == u16::MAX {
            return Ok(count);
        }
        after = rule;
    }
}
