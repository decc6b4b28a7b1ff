//! Releases as base packages (pkgbase): the repository configuration
//! brig writes for pkg(8) and the names it gives pkg. Pure: nothing here
//! touches the host.
//!
//! The repository is FreeBSD's own `FreeBSD-base`, as 15.0's
//! /etc/pkg/FreeBSD.conf defines it, with two differences: the ABI and
//! the minor version are written out (the root being filled has no
//! /usr/bin/uname yet for pkg to read them from), and it is enabled.
//! The keys are the host's: `fingerprints` names the host's
//! /usr/share/keys/pkgbase-MAJOR, which brig also copies into the root,
//! because pkg before 2.8 reads that directory under `--rootdir`.

use crate::model::version::number_of;
use crate::model::{Arch, ReleaseName};

/// The name of the repository brig configures.
pub const REPOSITORY: &str = "FreeBSD-base";

/// The sets brig installs a release from (`FreeBSD-set-NAME`).
pub const SETS: &[&str] = &["minimal-jail", "base-jail", "minimal", "base"];

/// The set a pkgbase release gets without `--set`: the smallest that
/// boots as a jail.
pub const DEFAULT_SET: &str = "minimal-jail";

/// The first major version without distribution sets: FreeBSD 15 still
/// publishes base.txz, 16 is planned not to.
pub const PKGBASE_ONLY_FROM: u32 = 16;

/// Whether a release is fetched as packages when neither `--pkgbase` nor
/// `--components` is asked for.
pub fn by_default(release: &ReleaseName) -> bool {
    number_of(release.as_str()).0 >= PKGBASE_ONLY_FROM
}

/// The package a set is installed with.
pub fn set_package(set: &str) -> String {
    format!("FreeBSD-set-{set}")
}

/// pkg's ABI string: `FreeBSD:15:amd64`; pkg names arm64 `aarch64`.
pub fn abi(release: &ReleaseName, arch: &Arch) -> String {
    let arch = match arch.as_str() {
        "arm64" => "aarch64",
        a => a,
    };
    format!("FreeBSD:{}:{arch}", number_of(release.as_str()).0)
}

/// The OSVERSION pkg is told with the ABI (`__FreeBSD_version` of the
/// release's x.y.0: 1501000 for 15.1), so that it does not guess a minor
/// version of 0.
pub fn osversion(release: &ReleaseName) -> u32 {
    let (major, minor) = number_of(release.as_str());
    major * 100_000 + minor * 1000
}

/// The host's directory of pkgbase keys for a release.
pub fn keys_dir(release: &ReleaseName) -> String {
    format!("/usr/share/keys/pkgbase-{}", number_of(release.as_str()).0)
}

/// The repository's URL: FreeBSD.conf's, with `${ABI}` and
/// `${VERSION_MINOR}` filled in.
pub fn url(release: &ReleaseName, arch: &Arch) -> String {
    format!("pkg+https://pkg.FreeBSD.org/{}/base_release_{}", abi(release, arch), number_of(release.as_str()).1)
}

/// The repository configuration (UCL) brig writes for pkg's
/// `--repo-conf-dir`, which then reads no other.
pub fn repo_conf(release: &ReleaseName, arch: &Arch) -> String {
    format!(
        "# Written by brig for {release}: pkg's base repository, with the keys of this host.\n\
         {REPOSITORY}: {{\n  url: \"{}\",\n  mirror_type: \"srv\",\n  signature_type: \"fingerprints\",\n  fingerprints: \"{}\",\n  enabled: yes\n}}\n",
        url(release, arch),
        keys_dir(release)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> ReleaseName {
        ReleaseName::parse(s).expect("valid")
    }

    #[test]
    fn the_repository_is_freebsds_with_the_release_written_out() {
        let amd64 = Arch::parse("amd64").expect("valid");
        assert_eq!(abi(&r("15.0-RELEASE"), &amd64), "FreeBSD:15:amd64");
        assert_eq!(abi(&r("15.1-RELEASE"), &Arch::parse("arm64").expect("valid")), "FreeBSD:15:aarch64");
        assert_eq!(osversion(&r("15.1-RELEASE")), 1_501_000);
        assert_eq!(keys_dir(&r("15.0-RELEASE")), "/usr/share/keys/pkgbase-15");
        assert_eq!(
            repo_conf(&r("15.0-RELEASE"), &amd64),
            "# Written by brig for 15.0-RELEASE: pkg's base repository, with the keys of this host.\n\
             FreeBSD-base: {\n  url: \"pkg+https://pkg.FreeBSD.org/FreeBSD:15:amd64/base_release_0\",\n  mirror_type: \"srv\",\n  signature_type: \"fingerprints\",\n  fingerprints: \"/usr/share/keys/pkgbase-15\",\n  enabled: yes\n}\n"
        );
        assert_eq!(set_package(DEFAULT_SET), "FreeBSD-set-minimal-jail");
        assert!(by_default(&r("16.0-RELEASE")));
        assert!(!by_default(&r("15.0-RELEASE")));
    }
}
