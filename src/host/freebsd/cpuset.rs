//! cpuset_setaffinity(2) / cpuset_getaffinity(2) of a jail
//! (`CPU_LEVEL_WHICH`, `CPU_WHICH_JAIL`). The mask is built by
//! `host::cpuset` at the kernel's own set size, read from
//! `kern.sched.cpusetsize`, rather than the libc crate's `cpuset_t`, whose
//! size depends on which FreeBSD version the crate was built for.

use nix::errno::Errno;

use crate::host::cpuset;
use crate::host::{HostError, HostResult, Jid};

fn set_size() -> HostResult<usize> {
    let v = super::sysctl::get("kern.sched.cpusetsize")?;
    v.as_int()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n > 0 && *n <= 4096)
        .ok_or_else(|| HostError::new("cpuset", Errno::EINVAL, format!("kern.sched.cpusetsize is {v}")))
}

pub(super) fn set(jid: Jid, cpus: &[u32]) -> HostResult<()> {
    let size = set_size()?;
    let mask = cpuset::encode(cpus, size).map_err(|(e, why)| HostError::new("cpuset_setaffinity", e, why))?;
    // SAFETY: `mask` is `size` readable bytes, the size the kernel's
    // cpuset_t has; the kernel only reads it.
    let rc = unsafe {
        libc::cpuset_setaffinity(
            libc::CPU_LEVEL_WHICH,
            libc::CPU_WHICH_JAIL,
            libc::id_t::from(jid.unsigned_abs()),
            size,
            mask.as_ptr().cast(),
        )
    };
    if rc != 0 {
        return Err(HostError::new("cpuset_setaffinity", Errno::last(), format!("jail {jid}")));
    }
    Ok(())
}

pub(super) fn get(jid: Jid) -> HostResult<Vec<u32>> {
    let size = set_size()?;
    let mut mask = vec![0u8; size];
    // SAFETY: `mask` is `size` writable bytes, the kernel's cpuset_t size.
    let rc = unsafe {
        libc::cpuset_getaffinity(
            libc::CPU_LEVEL_WHICH,
            libc::CPU_WHICH_JAIL,
            libc::id_t::from(jid.unsigned_abs()),
            size,
            mask.as_mut_ptr().cast(),
        )
    };
    if rc != 0 {
        return Err(HostError::new("cpuset_getaffinity", Errno::last(), format!("jail {jid}")));
    }
    Ok(cpuset::decode(&mask))
}
