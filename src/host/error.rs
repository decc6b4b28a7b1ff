//! The error every `Host` method returns: which call failed, the errno the
//! kernel (or ZFS, or the sim standing in for them) gave, and the text that
//! came with it (the jail_set(2) `errmsg`, zfs(8)'s stderr, or what brig was
//! doing).

use nix::errno::Errno;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{op}: {}", self.describe())]
pub struct HostError {
    /// The operation, named like the system call or command (`jail_set`,
    /// `zfs_clone`, `rctl_add_rule`, `nmount`).
    pub op: &'static str,
    pub errno: Errno,
    /// The kernel's own message, or the object the call was about.
    pub detail: String,
}

pub type HostResult<T> = Result<T, HostError>;

impl HostError {
    pub fn new(op: &'static str, errno: Errno, detail: impl Into<String>) -> HostError {
        HostError { op, errno, detail: detail.into() }
    }

    /// The errno of the last failed libc call.
    pub fn last(op: &'static str, detail: impl Into<String>) -> HostError {
        HostError::new(op, Errno::last(), detail)
    }

    fn describe(&self) -> String {
        let name = errno_name(self.errno);
        if self.detail.is_empty() {
            format!("{} ({name})", self.errno.desc())
        } else {
            format!("{} ({name})", self.detail)
        }
    }
}

/// The symbolic name of an errno (`EINVAL`), the same on every platform, so
/// messages and tests do not depend on Linux or FreeBSD numbering.
pub fn errno_name(e: Errno) -> String {
    format!("{e:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_op_detail_and_errno() {
        let e = HostError::new("jail_set", Errno::EINVAL, "new jail must persist or attach");
        assert_eq!(e.to_string(), "jail_set: new jail must persist or attach (EINVAL)");
    }

    #[test]
    fn message_without_detail_uses_errno_text() {
        let e = HostError::new("zfs_destroy", Errno::ENOENT, "");
        assert_eq!(e.to_string(), "zfs_destroy: No such file or directory (ENOENT)");
    }
}
