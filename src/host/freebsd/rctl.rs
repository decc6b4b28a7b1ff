//! rctl(8)'s system calls: rctl_add_rule(2), rctl_remove_rule(2),
//! rctl_get_rules(2) and rctl_get_racct(2).
//!
//! They live in libc.so.7 but the libc crate does not declare them, and the
//! `rctl` crate turns ENOSYS/EPERM into its own kernel-state enum; brig needs
//! the errno itself (ENOSYS while kern.racct.enable=0, EOPNOTSUPP for an
//! action a resource does not support, ESRCH when a filter matched nothing),
//! so these are declared here. Prototypes: sys/rctl.h.

use std::collections::BTreeMap;
use std::ffi::CString;

use libc::{c_char, c_int, size_t};
use nix::errno::Errno;

use super::c_string;
use crate::host::{HostError, HostResult};
use crate::kernel::rctl as rctl_text;

extern "C" {
    fn rctl_get_racct(inbufp: *const c_char, inbuflen: size_t, outbufp: *mut c_char, outbuflen: size_t) -> c_int;
    fn rctl_get_rules(inbufp: *const c_char, inbuflen: size_t, outbufp: *mut c_char, outbuflen: size_t) -> c_int;
    fn rctl_add_rule(inbufp: *const c_char, inbuflen: size_t, outbufp: *mut c_char, outbuflen: size_t) -> c_int;
    fn rctl_remove_rule(inbufp: *const c_char, inbuflen: size_t, outbufp: *mut c_char, outbuflen: size_t) -> c_int;
}

type RctlFn = unsafe extern "C" fn(*const c_char, size_t, *mut c_char, size_t) -> c_int;

/// First output buffer size; rctl(8) starts at 4 KiB as well and doubles
/// on ERANGE.
const OUTBUF_START: usize = 4096;
/// The kernel refuses output buffers above RCTL_MAX_OUTBUFLEN (16 MiB).
const OUTBUF_MAX: usize = 16 * 1024 * 1024;

/// One rctl system call with `input` (passed with its NUL, as rctl(8)
/// does). With `want_output`, the kernel's answer; ERANGE means the buffer
/// was too small and it is retried twice as large.
fn call(op: &'static str, f: RctlFn, input: &CString, want_output: bool) -> HostResult<String> {
    let inlen = input.as_bytes_with_nul().len();
    let mut size = if want_output { OUTBUF_START } else { 0 };
    loop {
        let mut out = vec![0u8; size];
        let outptr = if want_output { out.as_mut_ptr().cast::<c_char>() } else { std::ptr::null_mut() };
        // SAFETY: `input` is NUL-terminated and `inlen` long; `outptr` is
        // NULL with length 0, or points to `size` writable bytes that the
        // kernel fills with a NUL-terminated string.
        let rc = unsafe { f(input.as_ptr(), inlen, outptr, size) };
        if rc == 0 {
            let end = out.iter().position(|&b| b == 0).unwrap_or(out.len());
            return Ok(String::from_utf8_lossy(&out[..end]).into_owned());
        }
        let errno = Errno::last();
        if errno == Errno::ERANGE && want_output && size < OUTBUF_MAX {
            size *= 2;
            continue;
        }
        let input = input.to_string_lossy();
        let detail = match errno {
            Errno::ENOSYS => {
                format!("{input}: RACCT/RCTL is disabled; set kern.racct.enable=1 in /boot/loader.conf and reboot")
            }
            Errno::ESRCH => format!("{input}: no matching rule"),
            Errno::EOPNOTSUPP => format!("{input}: this action is not supported for this resource"),
            _ => input.into_owned(),
        };
        return Err(HostError::new(op, errno, detail));
    }
}

fn input(op: &'static str, rule: &str) -> HostResult<CString> {
    c_string(op, "rctl rule", &rctl_text::kernel_rule(rule))
}

/// rctl_add_rule(2).
pub(super) fn add(rule: &str) -> HostResult<()> {
    call("rctl_add_rule", rctl_add_rule, &input("rctl_add_rule", rule)?, false).map(drop)
}

/// rctl_remove_rule(2): ESRCH when nothing matched.
pub(super) fn remove(filter: &str) -> HostResult<()> {
    call("rctl_remove_rule", rctl_remove_rule, &input("rctl_remove_rule", filter)?, false).map(drop)
}

/// rctl_get_rules(2): the kernel answers with comma-separated rules.
pub(super) fn rules(filter: &str) -> HostResult<Vec<String>> {
    let out = call("rctl_get_rules", rctl_get_rules, &input("rctl_get_rules", filter)?, true)?;
    Ok(rctl_text::split_rules(&out))
}

/// rctl_get_racct(2): `resource=amount,...` for one subject.
pub(super) fn usage(subject: &str) -> HostResult<BTreeMap<String, u64>> {
    const OP: &str = "rctl_get_racct";
    let out = call(OP, rctl_get_racct, &c_string(OP, "rctl subject", subject)?, true)?;
    rctl_text::parse_usage(&out).map_err(|e| HostError::new(OP, Errno::EIO, format!("{subject}: {e}")))
}
