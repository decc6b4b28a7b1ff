//! Dataset names as zfs_namecheck.c checks them, and how they relate.

use nix::errno::Errno;

use super::{no, MAX_NAME};
use crate::host::sim::jail::Refusal;

/// The characters zfs_namecheck.c allows. `%` is for the kernel's own
/// temporary names (`%recv`): entity_namecheck refuses it in any name a
/// caller gives, so create, clone, rename and snapshot are EINVAL.
pub(super) fn valid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | ' ')
}

/// dataset_namecheck / snapshot_namecheck: EINVAL for any malformed name,
/// as the ioctl entry check reports it.
pub fn check_name(name: &str) -> Result<(), Refusal> {
    let bad = |why: &str| no(Errno::EINVAL, format!("invalid dataset name '{name}': {why}"));
    if name.len() >= MAX_NAME {
        return Err(bad("name is too long"));
    }
    let (fs_part, snap) = match name.split_once('@') {
        Some((f, s)) => (f, Some(s)),
        None => (name, None),
    };
    if fs_part.is_empty() || fs_part.starts_with('/') || fs_part.ends_with('/') {
        return Err(bad("leading or trailing slash, or empty name"));
    }
    for comp in fs_part.split('/') {
        if comp.is_empty() {
            return Err(bad("empty component"));
        }
        if comp == "." || comp == ".." {
            return Err(bad("'.' or '..' component"));
        }
        if let Some(c) = comp.chars().find(|c| !valid_char(*c)) {
            return Err(bad(&format!("invalid character '{c}'")));
        }
    }
    if let Some(s) = snap {
        if s.is_empty() || s.contains('@') || s.contains('/') {
            return Err(bad("malformed snapshot name"));
        }
        if let Some(c) = s.chars().find(|c| !valid_char(*c)) {
            return Err(bad(&format!("invalid character '{c}'")));
        }
    }
    Ok(())
}

pub(super) fn parent_name(name: &str) -> Option<&str> {
    name.rfind('/').map(|i| &name[..i])
}

pub(super) fn pool_of(name: &str) -> &str {
    name.split(['/', '@']).next().unwrap_or(name)
}

pub(super) fn is_descendant(name: &str, of: &str) -> bool {
    name.len() > of.len() && name.starts_with(of) && matches!(name.as_bytes()[of.len()], b'/' | b'@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_zfs_namecheck() {
        for good in ["zroot", "zroot/brig/jails/web-1", "zroot/a_b.c:d", "zroot/r@base"] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in
            ["", "/zroot", "zroot/", "zroot//a", "zroot/a@b@c", "zroot/a@b/c", "zroot/a$", "zroot/..", "zroot/a@%"]
        {
            assert_eq!(check_name(bad).map_err(|e| e.0), Err(Errno::EINVAL), "{bad}");
        }
        assert_eq!(check_name(&format!("zroot/{}", "x".repeat(250))).map_err(|e| e.0), Err(Errno::EINVAL));
    }
}
