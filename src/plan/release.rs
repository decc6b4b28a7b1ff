//! `brig release fetch`: unpack into a scratch dataset, seal it, and only
//! then give it the release's name. A run that dies half-way leaves only
//! the scratch dataset, which the next run destroys first; `releases/R`
//! exists only once it is complete, read-only and snapshotted.

use crate::model::release::{Archive, Budget};

use super::Op;
use crate::config::HostConfig;
use crate::model::{Arch, DatasetName, ReleaseName};

pub use crate::model::version::BASE_SNAPSHOT;

/// `<root>/releases/R`
pub fn dataset(cfg: &HostConfig, release: &ReleaseName) -> DatasetName {
    cfg.releases().child(release.as_str())
}

/// Where release `r`'s files are (the mountpoint its dataset inherits).
pub fn files(cfg: &HostConfig, release: &ReleaseName) -> std::path::PathBuf {
    cfg.mountpoint.join("releases").join(release.as_str())
}

/// Where a release is unpacked before it is complete.
pub fn scratch(cfg: &HostConfig, release: &ReleaseName) -> DatasetName {
    cfg.releases().child(&format!("incoming-{release}"))
}

/// The clone a `release update` runs the update on; once it succeeded it
/// is promoted and takes the release's name (a run that dies before that
/// leaves only this, which the next run takes back).
pub fn updating(cfg: &HostConfig, release: &ReleaseName) -> DatasetName {
    cfg.releases().child(&format!("updating-{release}"))
}

/// The release's old head while the promoted clone takes its name: a
/// clone of the promoted one's snapshot, with nothing of its own.
pub fn retired(cfg: &HostConfig, release: &ReleaseName) -> DatasetName {
    cfg.releases().child(&format!("retired-{release}"))
}

pub struct FetchPlan<'a> {
    pub cfg: &'a HostConfig,
    pub release: &'a ReleaseName,
    pub arch: &'a Arch,
    /// Where it came from, recorded as `brig:source`.
    pub source: String,
    /// Verified archives, base first.
    pub archives: Vec<Archive>,
    /// What they may unpack to.
    pub budget: Budget,
    /// A scratch dataset from an interrupted run exists.
    pub stale_scratch: bool,
}

pub fn fetch(p: &FetchPlan) -> Vec<Op> {
    let scratch = scratch(p.cfg, p.release);
    let fill = vec![Op::Extract { dataset: scratch, archives: p.archives.clone(), budget: p.budget }];
    sealed(p.cfg, p.release, p.stale_scratch, release_props(p.release, p.arch, &p.source), fill)
}

/// The user properties every release gets.
fn release_props(release: &ReleaseName, arch: &Arch, source: &str) -> Vec<(String, String)> {
    vec![
        ("brig:release".into(), release.to_string()),
        ("brig:arch".into(), arch.to_string()),
        ("brig:source".into(), source.to_string()),
    ]
}

/// The steps every fetch takes around filling the release: a stale
/// scratch dataset destroyed, a new one made with `props`, `fill`, then
/// sealed read-only, snapshotted and given the release's name.
fn sealed(
    cfg: &HostConfig,
    release: &ReleaseName,
    stale_scratch: bool,
    props: Vec<(String, String)>,
    fill: Vec<Op>,
) -> Vec<Op> {
    let scratch = scratch(cfg, release);
    let mut ops = Vec::new();
    if stale_scratch {
        ops.push(Op::DestroyDataset { name: scratch.clone(), recursive: true });
    }
    ops.push(Op::CreateDataset { name: scratch.clone(), props });
    ops.extend(fill);
    ops.push(Op::SetProps { name: scratch.clone(), props: vec![("readonly".into(), "on".into())] });
    ops.push(Op::Snapshot { dataset: scratch.clone(), snapshot: BASE_SNAPSHOT.into() });
    ops.push(Op::Rename { from: scratch, to: dataset(cfg, release) });
    ops
}

/// A release made of base packages.
pub struct PkgbasePlan<'a> {
    pub cfg: &'a HostConfig,
    pub release: &'a ReleaseName,
    pub arch: &'a Arch,
    pub set: &'a str,
    /// pkg's run, but for the root (the scratch dataset's).
    pub job: crate::host::PkgBaseJob,
    /// The host's key files (trusted/ and revoked/ of its pkgbase keys),
    /// copied into the root where pkg before 2.8 looks for them.
    pub keys: Vec<std::path::PathBuf>,
    pub stale_scratch: bool,
}

/// `brig release fetch --pkgbase`: as `fetch`, but the scratch dataset is
/// filled by pkg(8) from the host's keys and brig's repository
/// configuration instead of by unpacking archives.
pub fn fetch_pkgbase(p: &PkgbasePlan) -> Vec<Op> {
    let scratch = scratch(p.cfg, p.release);
    let mut props = release_props(p.release, p.arch, &crate::release::pkgbase::url(p.release, p.arch));
    props.push((KIND_PROP.into(), "pkgbase".into()));
    props.push(("brig:set".into(), p.set.to_string()));
    let mut fill: Vec<Op> =
        p.keys.iter().map(|k| Op::CopyIntoJail { dataset: scratch.clone(), from: k.clone(), to: k.clone() }).collect();
    fill.push(Op::InstallPackages { dataset: scratch, job: p.job.clone(), release: p.release.to_string() });
    sealed(p.cfg, p.release, p.stale_scratch, props, fill)
}

/// The user property naming how a release was fetched: `pkgbase`, or
/// none for distribution sets.
pub const KIND_PROP: &str = "brig:kind";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_fetch_plan() {
        let cfg = crate::plan::testing::cfg();
        let release = ReleaseName::parse("14.3-RELEASE").expect("valid");
        let arch = Arch::parse("amd64").expect("valid");
        let plan = FetchPlan {
            cfg: &cfg,
            release: &release,
            arch: &arch,
            source: "https://download.freebsd.org/releases/amd64/14.3-RELEASE/".into(),
            archives: ["/cache/base.txz", "/cache/lib32.txz"]
                .iter()
                .map(|p| Archive { path: p.into(), entries: Some(10) })
                .collect(),
            budget: Budget { bytes: 1 << 30, entries: 1000 },
            stale_scratch: true,
        };
        crate::plan::testing::golden("fetch.txt", &fetch(&plan));
        let fresh = FetchPlan { stale_scratch: false, ..plan };
        assert!(fetch(&fresh)[0].to_string().starts_with("zfs create"));
    }
}
