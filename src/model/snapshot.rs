//! The name of a jail's snapshot: the part after `@` of each of its
//! datasets' snapshots, checked before it reaches ZFS.

use super::{quoted, ModelError};

/// Longest snapshot name brig gives: room left for the dataset part
/// within ZFS's 255 characters.
pub const MAX_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SnapshotName(String);

validated_string!(SnapshotName);

impl SnapshotName {
    /// Letters, digits and `-_.:` (a subset of zfs_namecheck.c's
    /// valid_char, without the space), starting with a letter or digit.
    pub fn parse(s: &str) -> Result<SnapshotName, ModelError> {
        let bad = |why: &str| ModelError::Snapshot { name: s.to_string(), why: why.to_string() };
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        if s.len() > MAX_LEN {
            return Err(bad(&format!("it must be at most {MAX_LEN} characters")));
        }
        if let Some(c) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || "-_.:".contains(*c))) {
            return Err(bad(&format!(
                "{} is not allowed; use letters, digits, '-', '_', '.' and ':'",
                quoted(&c.to_string())
            )));
        }
        if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(bad("it must start with a letter or digit"));
        }
        Ok(SnapshotName(s.to_string()))
    }

    /// The name of a snapshot taken at Unix time `secs`:
    /// `2026-12-06T10:40:00Z`, which sorts as time does.
    pub fn at(secs: u64) -> SnapshotName {
        let (y, m, d, hh, mm, ss) = super::time::utc(secs);
        SnapshotName(format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_zfs_takes_and_nothing_else() {
        for ok in ["before-upgrade", "2026-12-06T10:40:00Z", "v1.2_3"] {
            assert_eq!(SnapshotName::parse(ok).expect(ok).as_str(), ok);
        }
        for bad in ["", "-x", ".x", "a b", "a@b", "a/b", "a%b", &"x".repeat(65)] {
            assert!(SnapshotName::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(SnapshotName::at(1_763_900_000).as_str(), "2025-11-23T12:13:20Z");
        SnapshotName::parse(SnapshotName::at(0).as_str()).expect("the default name is valid");
    }
}
