//! The name of a jail's snapshot: the part after `@` of each of its
//! datasets' snapshots, checked before it reaches ZFS.

use serde::Serialize;
use toml::Spanned;

use super::raw::RawSnapshots;
use super::{quoted, ModelError};

/// What brig names the snapshots it takes by itself, and prunes: the
/// others are the user's.
pub const AUTO_PREFIX: &str = "auto-";

/// `[snapshots]`: an automatic snapshot every `every` seconds, the newest
/// `keep` of them kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Retention {
    pub keep: u32,
    pub every: u64,
}

pub const DEFAULT_KEEP: u32 = 7;
pub const DEFAULT_EVERY: u64 = 86_400;
/// The most automatic snapshots a jail keeps.
pub const MAX_KEEP: u32 = 1000;

/// `30m`, `1h`, `1d`, `2w`: seconds, at least a minute.
pub fn parse_interval(text: &str) -> Result<u64, String> {
    let bad = || format!("{} is not an interval; write a whole number with m, h, d or w, such as \"1d\"", quoted(text));
    let t = text.trim();
    let unit = match t.chars().last() {
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => 86_400,
        Some('w') => 7 * 86_400,
        _ => return Err(bad()),
    };
    let digits = &t[..t.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    match n.checked_mul(unit) {
        Some(0) | None => Err(bad()),
        Some(s) => Ok(s),
    }
}

/// Validates `[snapshots]`: a byte offset of the value and the sentence
/// when it is wrong.
pub fn validate(raw: Option<&RawSnapshots>) -> Result<Option<Retention>, (usize, String)> {
    let Some(raw) = raw else { return Ok(None) };
    let at = |s: &Spanned<String>, m: String| (s.span().start, m);
    let keep = match &raw.keep {
        Some(k) => u32::try_from(*k.get_ref())
            .ok()
            .filter(|v| (1..=MAX_KEEP).contains(v))
            .ok_or_else(|| (k.span().start, format!("snapshots.keep must be between 1 and {MAX_KEEP}")))?,
        None => DEFAULT_KEEP,
    };
    let every = match &raw.every {
        Some(e) => parse_interval(e.get_ref()).map_err(|m| at(e, format!("snapshots.every: {m}")))?,
        None => DEFAULT_EVERY,
    };
    Ok(Some(Retention { keep, every }))
}

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

    /// The name of an automatic snapshot taken at Unix time `secs`.
    pub fn auto_at(secs: u64) -> SnapshotName {
        SnapshotName(format!("{AUTO_PREFIX}{}", SnapshotName::at(secs)))
    }

    pub fn is_auto(&self) -> bool {
        self.0.starts_with(AUTO_PREFIX)
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
