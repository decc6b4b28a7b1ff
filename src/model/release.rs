//! FreeBSD release names (`14.3-RELEASE`, `15.1-RC1`) and machine
//! architectures (`amd64`). A release name becomes a dataset component, a
//! directory name and part of a URL, so only the forms FreeBSD publishes
//! are accepted.

use serde::{Deserialize, Serialize};

use super::ModelError;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReleaseName(String);

fn number(s: &str) -> bool {
    !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit())
}

impl ReleaseName {
    /// `MAJOR.MINOR-RELEASE`, or `-RCn`, `-BETAn`, `-ALPHAn`.
    pub fn parse(s: &str) -> Result<ReleaseName, ModelError> {
        let bad = || ModelError::Release {
            name: s.to_string(),
            why: "expected MAJOR.MINOR-RELEASE, -RCn, -BETAn or -ALPHAn, such as 14.3-RELEASE or 15.1-RC1".into(),
        };
        let (version, kind) = s.split_once('-').ok_or_else(bad)?;
        let (major, minor) = version.split_once('.').ok_or_else(bad)?;
        if !number(major) || !number(minor) {
            return Err(bad());
        }
        let ok = kind == "RELEASE"
            || ["RC", "BETA", "ALPHA"]
                .iter()
                .any(|p| kind.strip_prefix(p).is_some_and(|n| number(n) && !n.starts_with('0')));
        if !ok {
            return Err(bad());
        }
        Ok(ReleaseName(s.to_string()))
    }
}

validated_string!(ReleaseName);

/// The machine architectures FreeBSD publishes releases for.
pub const ARCHES: &[&str] = &["amd64", "arm64", "i386", "armv7", "powerpc64", "powerpc64le", "riscv64"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Arch(String);

impl Arch {
    pub fn parse(s: &str) -> Result<Arch, ModelError> {
        if ARCHES.contains(&s) {
            Ok(Arch(s.to_string()))
        } else {
            Err(ModelError::Arch { name: s.to_string(), known: ARCHES.join(", ") })
        }
    }
}

validated_string!(Arch);

/// What the archives of one release may unpack to, together: an archive
/// that expands without end is refused, not followed until the disk is
/// full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub bytes: u64,
    pub entries: u64,
}

/// A verified distribution archive to unpack, with the number of entries
/// MANIFEST says it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    pub path: std::path::PathBuf,
    pub entries: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_forms() {
        for ok in ["14.3-RELEASE", "15.0-RELEASE", "15.1-RC1", "15.0-BETA3", "16.0-ALPHA12"] {
            assert!(ReleaseName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "14.3",
            "14-RELEASE",
            "14.3-release",
            "14.3-RC",
            "14.3-RC0",
            "14.3-STABLE",
            "../14.3-RELEASE",
            "14.3-RELEASE/x",
            "1234.3-RELEASE",
            "a.b-RELEASE",
        ] {
            assert!(ReleaseName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            ReleaseName::parse("14.3").expect_err("bad").to_string(),
            "invalid release '14.3': expected MAJOR.MINOR-RELEASE, -RCn, -BETAn or -ALPHAn, such as 14.3-RELEASE or 15.1-RC1"
        );
    }

    #[test]
    fn arches() {
        assert!(Arch::parse("amd64").is_ok());
        assert!(Arch::parse("x86_64").is_err());
    }
}
