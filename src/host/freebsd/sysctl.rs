//! sysctl(3): reads through the `sysctl` crate; writes use the crate for the
//! name and type and sysctlbyname(3) for the write itself, because the
//! crate's setter panics on a type mismatch and covers only a few integer
//! widths. Integers and strings only, which is all brig uses.

use ::sysctl::{Ctl, CtlType, CtlValue, Sysctl, SysctlError};
use nix::errno::Errno;

use super::{c_string, io_errno};
use crate::host::{HostError, HostResult, SysctlValue};
use crate::kernel::sysctl::SysctlType;

fn sysctl_err(op: &'static str, name: &str, e: SysctlError) -> HostError {
    let errno = match &e {
        SysctlError::NotFound(_) => Errno::ENOENT,
        SysctlError::IoError(io) => io_errno(io),
        SysctlError::NoReadAccess | SysctlError::NoWriteAccess => Errno::EPERM,
        SysctlError::ParseError
        | SysctlError::Utf8Error(_)
        | SysctlError::InvalidCStr(_)
        | SysctlError::InvalidCString(_) => Errno::EINVAL,
        _ => Errno::EOPNOTSUPP,
    };
    HostError::new(op, errno, format!("{name}: {e}"))
}

fn not_scalar(op: &'static str, name: &str) -> HostError {
    HostError::new(op, Errno::EINVAL, format!("{name} is not an integer or string sysctl"))
}

pub(super) fn get(name: &str) -> HostResult<SysctlValue> {
    const OP: &str = "sysctl";
    let ctl = Ctl::new(name).map_err(|e| sysctl_err(OP, name, e))?;
    // A node has no value of its own; the kernel answers EISDIR, where
    // the crate would say "no read access".
    if ctl.value_type().map_err(|e| sysctl_err(OP, name, e))? == CtlType::Node {
        return Err(HostError::new(OP, Errno::EISDIR, format!("{name} is a node, not a value")));
    }
    let value = ctl.value().map_err(|e| sysctl_err(OP, name, e))?;
    Ok(match value {
        CtlValue::Int(i) | CtlValue::S32(i) => SysctlValue::Int(i.into()),
        CtlValue::Uint(u) | CtlValue::U32(u) => SysctlValue::Int(u.into()),
        CtlValue::Long(i) | CtlValue::S64(i) => SysctlValue::Int(i),
        CtlValue::Ulong(u) | CtlValue::U64(u) => match i64::try_from(u) {
            Ok(i) => SysctlValue::Int(i),
            Err(_) => SysctlValue::Str(u.to_string()),
        },
        CtlValue::U8(u) => SysctlValue::Int(u.into()),
        CtlValue::U16(u) => SysctlValue::Int(u.into()),
        CtlValue::S8(i) => SysctlValue::Int(i.into()),
        CtlValue::S16(i) => SysctlValue::Int(i.into()),
        CtlValue::String(s) => SysctlValue::Str(s),
        CtlValue::Temperature(t) => SysctlValue::Str(format!("{:.1}C", t.celsius())),
        CtlValue::None | CtlValue::Node(_) | CtlValue::Struct(_) => return Err(not_scalar(OP, name)),
    })
}

/// oidfmt of a name found by name2oid, never reading its value; for a
/// node, also the type of its empty-named child, found as libjail's
/// jailparam_type finds it: the OID one above or below the node's own
/// number under it, named `NAME.`.
pub(super) fn kind(name: &str) -> HostResult<SysctlType> {
    const OP: &str = "sysctl_type";
    let ctl = Ctl::new(name).map_err(|e| sysctl_err(OP, name, e))?;
    let info = ctl.info().map_err(|e| sysctl_err(OP, name, e))?;
    let mut t = SysctlType::leaf(info.flags, &info.fmt);
    if t.is_node() {
        t.value = value_child(&ctl, name)?.map(Box::new);
    }
    Ok(t)
}

fn value_child(node: &Ctl, name: &str) -> HostResult<Option<SysctlType>> {
    const OP: &str = "sysctl_type";
    let Some(oid) = node.oid() else { return Ok(None) };
    let Some(&last) = oid.last() else { return Ok(None) };
    let want = format!("{name}.");
    for delta in [-1, 1] {
        let mut child = oid.clone();
        child.push(last.wrapping_add(delta));
        let child = Ctl::Oid(child);
        match child.name() {
            Ok(n) if n == want => {
                let info = child.info().map_err(|e| sysctl_err(OP, &want, e))?;
                return Ok(Some(SysctlType::leaf(info.flags, &info.fmt)));
            }
            Ok(_) => {}
            Err(e) => {
                let e = sysctl_err(OP, name, e);
                if e.errno != Errno::ENOENT {
                    return Err(e);
                }
            }
        }
    }
    Ok(None)
}

/// The integer a value stands for, in the range of the sysctl's C type.
fn int_in<T: TryFrom<i64>>(op: &'static str, name: &str, value: &SysctlValue) -> HostResult<T> {
    let i = value
        .as_int()
        .ok_or_else(|| HostError::new(op, Errno::EINVAL, format!("{name}: {value} is not an integer")))?;
    T::try_from(i).map_err(|_| HostError::new(op, Errno::EINVAL, format!("{name}: {i} is out of range")))
}

pub(super) fn set(name: &str, value: &SysctlValue) -> HostResult<()> {
    const OP: &str = "sysctl";
    let ctl = Ctl::new(name).map_err(|e| sysctl_err(OP, name, e))?;
    let ty = ctl.value_type().map_err(|e| sysctl_err(OP, name, e))?;
    // The new value as the kernel reads it: native-endian integers of the
    // sysctl's width, strings without their NUL (as sysctl(8) passes them).
    let bytes: Vec<u8> = match ty {
        CtlType::String => value.to_string().into_bytes(),
        CtlType::Int | CtlType::S32 => int_in::<i32>(OP, name, value)?.to_ne_bytes().to_vec(),
        CtlType::Uint | CtlType::U32 => int_in::<u32>(OP, name, value)?.to_ne_bytes().to_vec(),
        CtlType::Long | CtlType::S64 => int_in::<i64>(OP, name, value)?.to_ne_bytes().to_vec(),
        CtlType::Ulong | CtlType::U64 => int_in::<u64>(OP, name, value)?.to_ne_bytes().to_vec(),
        CtlType::U8 => int_in::<u8>(OP, name, value)?.to_ne_bytes().to_vec(),
        CtlType::S8 => int_in::<i8>(OP, name, value)?.to_ne_bytes().to_vec(),
        CtlType::U16 => int_in::<u16>(OP, name, value)?.to_ne_bytes().to_vec(),
        CtlType::S16 => int_in::<i16>(OP, name, value)?.to_ne_bytes().to_vec(),
        _ => return Err(not_scalar(OP, name)),
    };
    let cname = c_string(OP, "sysctl name", name)?;
    // SAFETY: `cname` is NUL-terminated; no old value is requested (NULL,
    // NULL) and the new value is `bytes.len()` readable bytes.
    let rc = unsafe {
        libc::sysctlbyname(
            cname.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            bytes.as_ptr().cast(),
            bytes.len(),
        )
    };
    if rc != 0 {
        let errno = Errno::last();
        let detail = match errno {
            Errno::EPERM => format!("{name} is read-only or a boot-time tunable (set it in /boot/loader.conf)"),
            _ => format!("setting {name} to {value}"),
        };
        return Err(HostError::new(OP, errno, detail));
    }
    Ok(())
}
