//! FreeBSD userland versions and the patch-level snapshots of a release.
//!
//! A root's version is the `USERLAND_VERSION="14.3-RELEASE-p2"` line of
//! its `/bin/freebsd-version`, a shell script that newvers.sh fills in at
//! build time; brig reads that line and never runs the script, which in
//! a jail's root belongs to jail root.

use std::fmt;

use serde::Serialize;

/// `14.3-RELEASE-p2`: the release it was built as and its patch level
/// (0 for none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Version {
    /// `14.3-RELEASE`, `15.0-BETA2`, `16.0-CURRENT`.
    pub release: String,
    pub patch: u32,
}

/// The longest version string brig accepts (newvers.sh's are far shorter).
const MAX_LEN: usize = 64;

impl Version {
    /// `MAJOR.MINOR-BRANCH[-pN]`, as `uname -r` and freebsd-version print it.
    pub fn parse(s: &str) -> Option<Version> {
        if s.len() > MAX_LEN || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
            return None;
        }
        let (release, patch) = match s.rsplit_once("-p") {
            Some((r, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => (r, n.parse().ok()?),
            _ => (s, 0),
        };
        let (number, branch) = release.split_once('-')?;
        let (major, minor) = number.split_once('.')?;
        let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
        if !digits(major) || !digits(minor) || branch.is_empty() {
            return None;
        }
        Some(Version { release: release.to_string(), patch })
    }

    /// The version in a freebsd-version script's `USERLAND_VERSION=` line.
    pub fn from_script(text: &str) -> Option<Version> {
        let value = text.lines().find_map(|l| l.trim().strip_prefix("USERLAND_VERSION="))?;
        Version::parse(value.trim().trim_matches('"'))
    }

    /// The name of the release snapshot holding this patch level.
    pub fn snapshot(&self) -> String {
        format!("p{}", self.patch)
    }

    /// (major, minor): (14, 3) for 14.3-RELEASE.
    pub fn number(&self) -> (u32, u32) {
        number_of(&self.release)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            0 => f.write_str(&self.release),
            n => write!(f, "{}-p{n}", self.release),
        }
    }
}

/// (major, minor) of a release or version name: (15, 0) for
/// 15.0-RELEASE-p1; (0, 0) for what is not one.
pub fn number_of(name: &str) -> (u32, u32) {
    let number = name.split('-').next().unwrap_or_default();
    let (major, minor) = number.split_once('.').unwrap_or((number, ""));
    (major.parse().unwrap_or(0), minor.parse().unwrap_or(0))
}

/// Whether a userland of `release` is newer than a kernel that says
/// `osrelease` (kern.osrelease): its programs may need system calls the
/// kernel does not have.
pub fn newer_than_kernel(release: &str, osrelease: &str) -> bool {
    number_of(release) > number_of(osrelease)
}

/// The snapshot `brig release fetch` seals a release with.
pub const BASE_SNAPSHOT: &str = "base";

/// Where a release snapshot sorts among its release's: `base` (as
/// fetched) first, then `p1`, `p2`... by number; None for a snapshot
/// that is not a release level.
pub fn snapshot_rank(name: &str) -> Option<u32> {
    if name == BASE_SNAPSHOT {
        return Some(0);
    }
    let n = name.strip_prefix('p')?;
    if n.is_empty() || n.len() > 6 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse::<u32>().ok().map(|n| n + 1)
}

/// The newest release level among snapshot names.
pub fn newest_snapshot<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    names.into_iter().filter_map(|n| snapshot_rank(n).map(|r| (r, n))).max_by_key(|(r, _)| *r).map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_as_newvers_writes_them() {
        let v = Version::parse("14.3-RELEASE-p2").expect("valid");
        assert_eq!((v.release.as_str(), v.patch, v.number()), ("14.3-RELEASE", 2, (14, 3)));
        assert_eq!(v.to_string(), "14.3-RELEASE-p2");
        assert_eq!(v.snapshot(), "p2");
        let v = Version::parse("15.0-RELEASE").expect("valid");
        assert_eq!((v.release.as_str(), v.patch), ("15.0-RELEASE", 0));
        assert_eq!(v.to_string(), "15.0-RELEASE");
        assert_eq!(Version::parse("16.0-CURRENT").map(|v| v.patch), Some(0));
        assert_eq!(Version::parse("15.1-BETA2").map(|v| v.release), Some("15.1-BETA2".into()));
        for bad in ["", "14", "14.3", "RELEASE-p2", "14.3-", "14.3-RELEASE-p2; rm", "a.b-RELEASE"] {
            assert_eq!(Version::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_script_line_is_read_not_run() {
        let script = "#!/bin/sh\n# comment\nUSERLAND_VERSION=\"14.3-RELEASE-p5\"\n: ${ROOT:=}\n";
        assert_eq!(Version::from_script(script).map(|v| v.to_string()), Some("14.3-RELEASE-p5".into()));
        assert_eq!(Version::from_script("#!/bin/sh\necho hi\n"), None);
        assert_eq!(Version::from_script("USERLAND_VERSION=\"$(reboot)\"\n"), None);
    }

    #[test]
    fn a_userland_newer_than_the_kernel_is_told_apart() {
        assert!(newer_than_kernel("15.0-RELEASE", "14.3-RELEASE-p5"));
        assert!(newer_than_kernel("14.4-RELEASE", "14.3-RELEASE"));
        assert!(!newer_than_kernel("14.3-RELEASE", "14.3-RELEASE"));
        assert!(!newer_than_kernel("13.5-RELEASE", "14.3-RELEASE"));
        assert!(!newer_than_kernel("14.10-RELEASE", "15.0-CURRENT"));
        assert_eq!(number_of("14.10-RELEASE"), (14, 10));
    }

    #[test]
    fn release_snapshots_sort_by_patch_level() {
        assert_eq!(newest_snapshot(["base", "p10", "p2", "manual"]), Some("p10"));
        assert_eq!(newest_snapshot(["base"]), Some("base"));
        assert_eq!(newest_snapshot(["manual", "p", "p1x"]), None);
        assert!(snapshot_rank("base") < snapshot_rank("p0"));
    }
}
