//! ZFS dataset names as brig accepts them from users (`brig init
//! --dataset`): a pool and components of letters, digits, `-`, `_`, `.`
//! and `:`, no snapshot part. Stricter than zfs_namecheck (no spaces, no
//! `%`), so every name brig builds by appending components stays valid.

use serde::{Deserialize, Serialize};

use super::ModelError;

/// ZFS_MAX_DATASET_NAME_LEN less room for `/releases/...` and
/// `/jails/NAME/root` below it.
pub const MAX_ROOT_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DatasetName(String);

impl DatasetName {
    pub fn parse(s: &str) -> Result<DatasetName, ModelError> {
        let bad = |why: &str| ModelError::Dataset { name: s.to_string(), why: why.to_string() };
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        if s.len() > MAX_ROOT_LEN {
            return Err(bad(&format!("it must be at most {MAX_ROOT_LEN} characters")));
        }
        if s.contains('@') {
            return Err(bad("a snapshot cannot hold jails; name a filesystem"));
        }
        for (i, comp) in s.split('/').enumerate() {
            if comp.is_empty() {
                return Err(bad("components must not be empty (no leading, trailing or double '/')"));
            }
            if comp == "." || comp == ".." {
                return Err(bad("'.' and '..' are not dataset names"));
            }
            if let Some(c) = comp.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))) {
                return Err(bad(&format!(
                    "'{}' is not allowed; use letters, digits, '-', '_', '.' and ':'",
                    c.escape_default()
                )));
            }
            if i == 0 && !comp.starts_with(|c: char| c.is_ascii_alphabetic()) {
                return Err(bad("the pool name must start with a letter"));
            }
        }
        Ok(DatasetName(s.to_string()))
    }

    pub fn pool(&self) -> &str {
        self.0.split('/').next().unwrap_or(&self.0)
    }

    /// `self/child`; `child` must be a valid component (brig only appends
    /// fixed words and validated jail or release names).
    pub fn child(&self, child: &str) -> DatasetName {
        DatasetName(format!("{}/{child}", self.0))
    }

    pub fn parent(&self) -> Option<DatasetName> {
        self.0.rfind('/').map(|i| DatasetName(self.0[..i].to_string()))
    }
}

validated_string!(DatasetName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_pool_and_nested_names() {
        for ok in ["zroot/brig", "tank", "tank/a/b-c_d.e:f"] {
            assert!(DatasetName::parse(ok).is_ok(), "{ok}");
        }
        let d = DatasetName::parse("zroot/brig").expect("valid");
        assert_eq!(d.pool(), "zroot");
        assert_eq!(d.child("jails").as_str(), "zroot/brig/jails");
        assert_eq!(d.parent().map(String::from), Some("zroot".into()));
    }

    #[test]
    fn refuses_malformed_names() {
        for bad in
            ["", "/zroot", "zroot/", "zroot//x", "zroot/x@snap", "zroot/../x", "zroot/a b", "1pool/x", "zroot/x%y"]
        {
            assert!(DatasetName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(DatasetName::parse(&format!("zroot/{}", "x".repeat(130))).is_err());
    }
}
