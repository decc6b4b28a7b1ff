//! jail_set(2), jail_get(2) and jail_remove(2).
//!
//! The iovec buffers come from the pure encoder in `kernel::encode` (unit-tested
//! on Linux); this file only points iovecs at them, makes the system call and
//! reads back what the kernel wrote.

use std::ffi::c_void;

use libc::c_uint;
use nix::errno::Errno;

use super::buffer_text;
use crate::host::jexec::{self, KillFailure};
use crate::host::{GetFlags, HostError, HostResult, JailKey, JailParam, Jid, ParamValue, SetFlags};
use crate::kernel::encode::{self, IovPair};
use crate::kernel::params;

/// Size of the `errmsg` buffer handed to jail_set(2), jail_get(2) and
/// nmount(2); the kernel truncates its message to fit.
pub(super) const ERRMSG_LEN: usize = 1024;

/// The owned buffers of one iovec request (jail_set(2), jail_get(2),
/// nmount(2)): name/value pairs followed by an `errmsg` pair whose value is
/// a zeroed buffer the kernel fills in on failure.
pub(super) struct IovRequest {
    names: Vec<Vec<u8>>,
    values: Vec<Option<Vec<u8>>>,
}

impl IovRequest {
    pub(super) fn new(pairs: Vec<IovPair>) -> IovRequest {
        let mut names = Vec::with_capacity(pairs.len() + 1);
        let mut values = Vec::with_capacity(pairs.len() + 1);
        for p in pairs {
            names.push(p.name);
            values.push(p.value);
        }
        names.push(b"errmsg\0".to_vec());
        values.push(Some(vec![0; ERRMSG_LEN]));
        IovRequest { names, values }
    }

    /// The iovec array, two entries per pair. A `None` value is an iovec
    /// with a NULL base and length 0 (a boolean flag). The pointers refer to
    /// the heap buffers owned by `self`: they stay valid until `self` is
    /// dropped, and nothing here reallocates those buffers after this call.
    pub(super) fn iovecs(&mut self) -> Vec<libc::iovec> {
        let mut iov = Vec::with_capacity(self.names.len() * 2);
        for (name, value) in self.names.iter_mut().zip(self.values.iter_mut()) {
            // The kernel only reads names; the cast to *mut is what the C
            // prototype wants.
            iov.push(libc::iovec { iov_base: name.as_mut_ptr().cast::<c_void>(), iov_len: name.len() });
            iov.push(match value {
                Some(v) => libc::iovec { iov_base: v.as_mut_ptr().cast::<c_void>(), iov_len: v.len() },
                None => libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 },
            });
        }
        iov
    }

    /// The value buffer of pair `i` (the errmsg pair is the last one).
    pub(super) fn value(&self, i: usize) -> Option<&[u8]> {
        self.values.get(i).and_then(|v| v.as_deref())
    }

    /// The kernel's error message, or `fallback` when it wrote none.
    pub(super) fn errmsg_or(&self, fallback: impl FnOnce() -> String) -> String {
        let text = self.values.last().and_then(|v| v.as_deref()).map(buffer_text).unwrap_or_default();
        if text.is_empty() {
            fallback()
        } else {
            text
        }
    }
}

/// The iovec count as the system calls take it.
pub(super) fn iov_count(op: &'static str, iov: &[libc::iovec]) -> HostResult<c_uint> {
    c_uint::try_from(iov.len()).map_err(|_| HostError::new(op, Errno::E2BIG, "too many parameters"))
}

/// jail_set(2): returns the jid of the created or updated jail.
pub(super) fn set(params: &[JailParam], flags: SetFlags) -> HostResult<Jid> {
    let pairs = encode::encode_set(params).map_err(|e| HostError::new("jail_set", Errno::EINVAL, e.to_string()))?;
    let mut req = IovRequest::new(pairs);
    let mut iov = req.iovecs();
    let niov = iov_count("jail_set", &iov)?;
    // SAFETY: `iov` holds `niov` valid iovecs pointing into buffers owned by
    // `req`, which outlives the call; the kernel writes only into the errmsg
    // buffer, within its iov_len.
    let jid = unsafe { libc::jail_set(iov.as_mut_ptr(), niov, flags.bits()) };
    if jid < 0 {
        let errno = Errno::last();
        return Err(HostError::new("jail_set", errno, req.errmsg_or(|| describe_set(params, flags))));
    }
    Ok(jid)
}

/// jail_get(2) of `names`, decoded with the length the kernel wrote back
/// into each value iovec.
/// [`encode::encode_get`] avoids repeating the key's name (the kernel
/// keeps only the last option of a name) and says which buffer answers
/// each name.
pub(super) fn get(key: &JailKey, names: &[&str], flags: GetFlags) -> HostResult<Vec<JailParam>> {
    let encode::GetRequest { pairs, slots } =
        encode::encode_get(key, names).map_err(|e| HostError::new("jail_get", Errno::EINVAL, e.to_string()))?;
    let mut req = IovRequest::new(pairs);
    let mut iov = req.iovecs();
    let niov = iov_count("jail_get", &iov)?;
    // SAFETY: as for jail_set; the kernel writes each value into its buffer
    // (never more than the iov_len we gave) and, on success, copies the
    // iovec array back with the length it used in each value's iov_len.
    let rc = unsafe { libc::jail_get(iov.as_mut_ptr(), niov, flags.bits()) };
    if rc < 0 {
        let errno = Errno::last();
        return Err(HostError::new("jail_get", errno, req.errmsg_or(|| describe_key(key))));
    }
    names
        .iter()
        .zip(slots)
        .map(|(name, pair)| {
            let written = iov.get(2 * pair + 1).map_or(0, |v| v.iov_len);
            let buf = req.value(pair).unwrap_or(&[]);
            decode(name, &buf[..written.min(buf.len())])
        })
        .collect()
}

/// Signals every process of a jail the way `jexec JID kill -SIG -1` does:
/// a child attaches to the jail and calls kill(-1), which reaches every
/// process it can see there (the jail's and its children's) except
/// itself. Signal 0 only asks whether there is any.
pub(super) fn kill(jid: Jid, signal: Option<nix::sys::signal::Signal>) -> HostResult<bool> {
    let sig = signal.map_or(0, |s| s as libc::c_int);
    // SAFETY: the child calls only async-signal-safe system calls
    // (jail_attach, kill, _exit) and never returns into Rust code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(HostError::last("jail_kill", format!("fork to signal jail {jid}")));
    }
    if pid == 0 {
        // SAFETY: see above; _exit ends the child without unwinding. The
        // exit code carries the errno (jexec::kill_outcome).
        unsafe {
            if libc::jail_attach(jid) != 0 {
                libc::_exit(jexec::ATTACH_FAILED + *libc::__error());
            }
            let code = if libc::kill(-1, sig) == 0 {
                0
            } else if *libc::__error() == libc::ESRCH {
                3
            } else {
                jexec::KILL_FAILED + *libc::__error()
            };
            libc::_exit(code);
        }
    }
    let mut status = 0;
    // SAFETY: waiting for the child forked above.
    if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        return Err(HostError::last("jail_kill", format!("waiting to signal jail {jid}")));
    }
    if !libc::WIFEXITED(status) {
        return Err(HostError::new("jail_kill", Errno::EINTR, format!("the child signalling jail {jid} was killed")));
    }
    match jexec::kill_outcome(libc::WEXITSTATUS(status)) {
        Ok(any) => Ok(any),
        Err(KillFailure::Attach(e)) => {
            Err(HostError::new("jail_kill", Errno::from_raw(e), format!("cannot attach to jail {jid}")))
        }
        Err(KillFailure::Kill(e)) => {
            Err(HostError::new("jail_kill", Errno::from_raw(e), format!("cannot signal the processes of jail {jid}")))
        }
    }
}

/// jail_remove(2).
pub(super) fn remove(jid: Jid) -> HostResult<()> {
    // SAFETY: plain system call on an integer.
    if unsafe { libc::jail_remove(jid) } != 0 {
        let errno = Errno::last();
        return Err(HostError::new("jail_remove", errno, format!("removing jail {jid}")));
    }
    Ok(())
}

/// Decodes one value jail_get(2) returned. Parameters brig's table does not
/// know (the kernel knows more than brig) are read as an `int` when they
/// are four bytes and as a string otherwise.
fn decode(name: &str, bytes: &[u8]) -> HostResult<JailParam> {
    let value = match params::lookup(name) {
        Some(l) => encode::decode_value(l.def, bytes).map_err(|e| HostError::new("jail_get", e.errno, e.detail))?,
        None => match <[u8; 4]>::try_from(bytes) {
            Ok(b) => ParamValue::Int(i32::from_ne_bytes(b)),
            Err(_) => {
                let end = bytes.iter().position(|&b| b == 0).ok_or_else(|| {
                    HostError::new("jail_get", Errno::EINVAL, format!("{name}: value of unknown type"))
                })?;
                ParamValue::Str(String::from_utf8_lossy(&bytes[..end]).into_owned())
            }
        },
    };
    Ok(JailParam::new(name, value))
}

/// What a failed jail_set(2) was doing, when the kernel gave no message.
fn describe_set(params: &[JailParam], flags: SetFlags) -> String {
    let who = params
        .iter()
        .find(|p| p.name == "name")
        .or_else(|| params.iter().find(|p| p.name == "jid"))
        .map(|p| format!("jail {} {}", p.name, p.value))
        .unwrap_or_else(|| "a jail".to_string());
    let what = match (flags.create, flags.update) {
        (true, true) => "creating or updating",
        (true, false) => "creating",
        (false, true) => "updating",
        (false, false) => "setting",
    };
    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    format!("{what} {who} with {}", names.join(", "))
}

fn describe_key(key: &JailKey) -> String {
    match key {
        JailKey::Jid(j) => format!("jail {j}"),
        JailKey::Name(n) => format!("jail \"{n}\""),
        JailKey::After(j) => format!("the jail after jid {j}"),
    }
}
