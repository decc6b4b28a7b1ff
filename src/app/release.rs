//! Releases: fetched (downloaded or read from a mirror directory,
//! verified against MANIFEST, unpacked and sealed with an @base
//! snapshot), listed and destroyed.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Error, Event, NotFound, Recovery, Refused, Report};
use crate::config::HostConfig;
use crate::host::{Errno, Host};
use crate::model::release::{Archive, Budget};
use crate::model::{Arch, ReleaseName};
use crate::plan::release::{self as plan, FetchPlan, BASE_SNAPSHOT, KIND_PROP};
use crate::release::fetch::{self, Progress, Quiet, Source};
use crate::release::manifest;
use crate::state::bounded::{self, CONFIG_LIMIT};

/// What to fetch, as the user said it.
#[derive(Debug, Clone, Default)]
pub struct FetchRequest {
    pub release: String,
    /// The host's (hw.machine) when None.
    pub arch: Option<String>,
    /// A mirror directory or URL; brig.toml's mirror when None.
    pub from: Option<String>,
    /// Distribution sets, base first.
    pub components: Vec<String>,
    /// The SHA-256 base.txz must have, besides MANIFEST's.
    pub sha256: Option<String>,
    /// Base packages (pkgbase) instead of distribution sets; the default
    /// for releases that have no distribution sets.
    pub pkgbase: bool,
    /// The pkgbase set to install (`FreeBSD-set-SET`).
    pub set: Option<String>,
}

/// A release installed from base packages: the host's pkgbase keys
/// copied into the new root, pkg run there with brig's repository
/// configuration, the result checked and sealed as `fetch` seals one.
fn fetch_pkgbase(
    host: &mut dyn Host,
    cfg: &HostConfig,
    release: &ReleaseName,
    arch: &Arch,
    set: Option<&str>,
) -> Result<Fetched, Error> {
    use crate::release::pkgbase;
    let set = set.unwrap_or(pkgbase::DEFAULT_SET);
    if !pkgbase::SETS.contains(&set) {
        return Err(Error::Usage(format!("--set: '{set}' is not one of {}", pkgbase::SETS.join(", "))));
    }
    let keys = PathBuf::from(pkgbase::keys_dir(release));
    let listed = |sub: &str| -> Vec<PathBuf> {
        let dir = keys.join(sub);
        host.list_dir(&dir).unwrap_or_default().into_iter().map(|n| dir.join(n)).collect()
    };
    let trusted = listed("trusted");
    if trusted.is_empty() {
        return Err(Refused::NoPkgbaseKeys { release: release.clone(), dir: keys }.into());
    }
    // Nothing is downloaded before pkg runs, so both locks at once.
    let _installing = crate::state::lock::release(host, release.as_str())?;
    let _lock = crate::state::lock::host(host)?;
    if super::observe::dataset_exists(host, plan::dataset(cfg, release).as_str())? {
        return Ok(Fetched::of(cfg, release, arch, None));
    }
    let job = pkg_job(host, cfg, release, arch, crate::host::PkgAction::Install(vec![pkgbase::set_package(set)]))?;
    let ops = plan::fetch_pkgbase(&plan::PkgbasePlan {
        cfg,
        release,
        arch,
        set,
        job,
        keys: trusted.into_iter().chain(listed("revoked")).collect(),
        stale_scratch: super::observe::dataset_exists(host, plan::scratch(cfg, release).as_str())?,
    });
    crate::exec::run(host, &ops)?;
    Ok(Fetched::of(cfg, release, arch, Some(pkgbase::url(release, arch))))
}

/// pkg's run for a release: brig's repository configuration for it
/// written (again) under the cache, and the cache for its packages. The
/// root is the caller's to fill in.
fn pkg_job(
    host: &dyn Host,
    cfg: &HostConfig,
    release: &ReleaseName,
    arch: &Arch,
    action: crate::host::PkgAction,
) -> Result<crate::host::PkgBaseJob, Error> {
    use crate::release::pkgbase;
    let dir = cfg.mountpoint.join("cache").join("pkgbase").join(release.as_str());
    let (repos, cache) = (dir.join("repos"), dir.join("packages"));
    for d in [&repos, &cache] {
        host.make_dirs(d, 0o755).map_err(|e| Refused::Io { path: host.local_path(d), source: e })?;
    }
    let conf = repos.join(format!("{}.conf", pkgbase::REPOSITORY));
    host.write_file(&conf, pkgbase::repo_conf(release, arch).as_bytes(), 0o644)
        .map_err(|e| Refused::Io { path: host.local_path(&conf), source: e })?;
    Ok(crate::host::PkgBaseJob {
        root: PathBuf::new(),
        repos,
        repository: pkgbase::REPOSITORY.into(),
        cache,
        abi: pkgbase::abi(release, arch),
        osversion: pkgbase::osversion(release),
        action,
    })
}

/// A fetched release.
#[derive(Debug)]
pub struct Fetched {
    pub release: ReleaseName,
    pub arch: Arch,
    /// The snapshot jails are cloned from.
    pub snapshot: String,
    /// Where it came from; None when it was already fetched.
    pub source: Option<String>,
}

impl Fetched {
    fn of(cfg: &HostConfig, release: &ReleaseName, arch: &Arch, source: Option<String>) -> Fetched {
        let snapshot = format!("{}@{BASE_SNAPSHOT}", plan::dataset(cfg, release));
        Fetched { release: release.clone(), arch: arch.clone(), snapshot, source }
    }
}

fn component_file(c: &str) -> Result<String, Error> {
    if c.is_empty() || !c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(Error::Usage(format!("--components: '{c}' is not a distribution set name such as base or lib32")));
    }
    Ok(format!("{c}.txz"))
}

/// A userland newer than the kernel it would run on is refused: jails
/// share the host's kernel.
pub fn refuse_newer_than_kernel(host: &dyn Host, release: &ReleaseName) -> Result<(), Error> {
    let kernel = host.sysctl_get("kern.osrelease")?.to_string();
    if crate::model::version::newer_than_kernel(release.as_str(), &kernel) {
        return Err(Refused::NewerThanKernel { release: release.clone(), kernel }.into());
    }
    Ok(())
}

fn source_prefix(s: &Source) -> String {
    match s {
        Source::Dir(d) => format!("{}/", d.display()),
        Source::Url(u) => u.clone(),
    }
}

/// Fetches a release. Ctrl-C or a kill leaves no half release; the
/// download holds only the release's own lock, the unpacking the host's.
pub fn fetch(
    host: &mut dyn Host,
    req: &FetchRequest,
    progress: &dyn Progress,
    report: &dyn Report,
) -> Result<Fetched, Error> {
    let cfg = super::config(host)?;
    let release = ReleaseName::parse(&req.release)?;
    let arch = match &req.arch {
        Some(a) => Arch::parse(a)?,
        None => Arch::parse(&host.sysctl_get("hw.machine").map(|v| v.to_string()).unwrap_or_else(|_| "amd64".into()))?,
    };
    refuse_newer_than_kernel(host, &release)?;
    refuse_interrupted(host, &cfg, &release)?;
    let for_dist_sets = req.from.is_some() || req.sha256.is_some() || req.components != ["base"];
    let by_default = crate::release::pkgbase::by_default(&release) && !for_dist_sets;
    if req.pkgbase || req.set.is_some() || by_default {
        if for_dist_sets {
            return Err(Error::Usage(
                "--from, --components and --sha256 are for distribution sets; a pkgbase release comes from pkg's FreeBSD-base repository".into(),
            ));
        }
        return fetch_pkgbase(host, &cfg, &release, &arch, req.set.as_deref());
    }
    if req.components.first().map(String::as_str) != Some("base") {
        return Err(Error::Usage("--components must start with base; every release needs it".into()));
    }
    let files: Vec<String> = req.components.iter().map(|c| component_file(c)).collect::<Result<_, _>>()?;
    if let Some(h) = &req.sha256 {
        if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Usage(format!("--sha256 '{h}' is not 64 hexadecimal digits")));
        }
    }
    let target = plan::dataset(&cfg, &release);
    let done = |source| Fetched::of(&cfg, &release, &arch, source);
    let _downloading = crate::state::lock::release(host, release.as_str())?;
    if super::observe::dataset_exists(host, target.as_str())? {
        return Ok(done(None));
    }
    let source = match &req.from {
        Some(f) => Source::parse(f),
        None => Source::parse(&format!("{}/{arch}/{release}/", cfg.mirror.trim_end_matches('/'))),
    };
    if source.is_plain_http() {
        report.event(&Event::PlainHttp { source: &source.describe() });
    }
    if let Source::Dir(d) = &source {
        if !d.is_dir() {
            return Err(Error::Usage(format!("--from {}: no such directory", d.display())));
        }
    }
    let stop = crate::release::interrupt::catch().map_err(Refused::Interrupt)?;
    let cache = host.local_path(&cfg.mountpoint.join("cache").join(arch.as_str()).join(release.as_str()));
    let cached = matches!(source, Source::Url(_));

    let manifest_path = fetch::obtain(&source, "MANIFEST", &cache, CONFIG_LIMIT, &Quiet, stop)?;
    let text = bounded::read(&manifest_path, CONFIG_LIMIT)
        .map_err(|e| Refused::Io { path: manifest_path.clone(), source: e.into() })
        .map(|b| String::from_utf8_lossy(&b).into_owned())?;
    let entries = match manifest::parse(&format!("{}MANIFEST", source_prefix(&source)), &text) {
        Ok(m) => m,
        Err(e) => {
            if cached {
                // A bad cached MANIFEST must not stick.
                let _ = std::fs::remove_file(&manifest_path);
            }
            return Err(e.into());
        }
    };
    let mut archives: Vec<Archive> = Vec::new();
    for file in &files {
        let entry = entries.iter().find(|e| &e.file == file).ok_or_else(|| Refused::NotInManifest {
            manifest: format!("{}MANIFEST", source_prefix(&source)),
            file: file.clone(),
        })?;
        let path = fetch::obtain(&source, file, &cache, cfg.fetch.max_download, progress, stop)?;
        fetch::verify(&path, file, &entry.sha256, "MANIFEST", cached)?;
        if let (Some(want), true) = (&req.sha256, file == "base.txz") {
            fetch::verify(&path, file, want, "--sha256", cached)?;
        }
        archives.push(Archive { path, entries: entry.entries });
    }
    // Unpacking into datasets: now the host's lock, as init and release
    // destroy take it.
    let _lock = crate::state::lock::host(host)?;
    if super::observe::dataset_exists(host, target.as_str())? {
        return Ok(done(None));
    }
    let stale_scratch = super::observe::dataset_exists(host, plan::scratch(&cfg, &release).as_str())?;
    let ops = plan::fetch(&FetchPlan {
        cfg: &cfg,
        release: &release,
        arch: &arch,
        source: source.describe(),
        archives,
        budget: Budget { bytes: cfg.fetch.max_unpacked, entries: cfg.fetch.max_entries },
        stale_scratch,
    });
    for notice in &crate::exec::run(host, &ops)? {
        report.event(&Event::Notice(notice));
    }
    Ok(done(Some(source.describe())))
}

/// What `release update` did.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Updated {
    pub release: String,
    pub from: String,
    pub to: String,
    /// The new snapshot; None when the release was up to date.
    pub snapshot: Option<String>,
}

/// Brings a release to its newest patch level as a new snapshot of it
/// (`@p5`): the update tool runs on a clone of its newest snapshot, which
/// is snapshotted when it succeeded and then promoted into the release's
/// place (`zfs promote` hands it the release's snapshots, which jails
/// keep as their origins), so the release never holds half an update and
/// the new level is exactly what the tool made, hard links and file
/// flags included. A run killed half-way is finished (once the new level
/// was snapshotted) or taken back by the next.
pub fn update(host: &mut dyn Host, name: &str, report: &dyn Report) -> Result<Updated, Error> {
    let cfg = super::config(host)?;
    let release = ReleaseName::parse(name)?;
    let _updating = crate::state::lock::release(host, release.as_str())?;
    let _lock = crate::state::lock::host(host)?;
    let scratch = plan::updating(&cfg, &release);
    if let Some(how) = recover_update(host, &cfg, &release)? {
        report.event(&Event::UpdateRecovered { release: &release, how });
    }
    let level = super::upgrade::level(host, &cfg, &release)?;
    refuse_stranded(host, &cfg, &release, &level.snapshot)?;
    let done = |to: &crate::model::version::Version, snapshot| Updated {
        release: release.to_string(),
        from: level.version.to_string(),
        to: to.to_string(),
        snapshot,
    };
    host.zfs_clone(&level.snapshot, scratch.as_str(), &[])?;
    let updated = (|| -> Result<Option<crate::model::version::Version>, Error> {
        let files = mountpoint(host, scratch.as_str())?;
        update_root(host, &cfg, &release, &files, &level.version, &format!("release {release}"))?;
        let got = super::upgrade::userland(host, &files);
        match got {
            Some(v) if v == level.version => Ok(None),
            Some(v) if v.release == level.version.release && v.patch > level.version.patch => Ok(Some(v)),
            other => Err(Refused::UpdateFailed {
                tool: "the update",
                what: format!("release {release}"),
                output: format!(
                    "it left /bin/freebsd-version saying {}, not a newer patch level of {}",
                    other.map_or_else(|| "nothing brig can read".into(), |v| v.to_string()),
                    level.version.release
                ),
            }
            .into()),
        }
    })();
    let newer = match updated {
        Ok(Some(v)) => v,
        Ok(None) => {
            host.zfs_destroy(scratch.as_str(), true)?;
            return Ok(done(&level.version, None));
        }
        Err(e) => {
            host.zfs_destroy(scratch.as_str(), true)?;
            return Err(e);
        }
    };
    // Sealed as the release is, then snapshotted: from here a kill is
    // finished by the next run, not taken back.
    let dataset = plan::dataset(&cfg, &release);
    let mut props: Vec<(String, String)> = host
        .zfs_get(dataset.as_str(), SEALED)?
        .into_iter()
        .filter(|(k, v)| k.starts_with("brig:") && !v.is_empty() && v != "-")
        .collect();
    props.push(("readonly".into(), "on".into()));
    host.zfs_set(scratch.as_str(), &props)?;
    host.zfs_snapshot(&[&format!("{scratch}@{}", newer.snapshot())])?;
    take_place(host, &cfg, &release)?;
    Ok(done(&newer, Some(format!("{dataset}@{}", newer.snapshot()))))
}

/// A snapshot of the release taken after its newest level (by a periodic
/// snapshot tool, by hand) would stay behind on the old head when the
/// updated clone is promoted, and keep it from being destroyed: refused
/// before anything is made.
fn refuse_stranded(host: &dyn Host, cfg: &HostConfig, release: &ReleaseName, level: &str) -> Result<(), Error> {
    let list = host.zfs_list(plan::dataset(cfg, release).as_str(), &["createtxg"])?;
    let txg = |name: &str| -> u64 {
        list.iter()
            .find(|d| d.name == name)
            .and_then(|d| d.props.get("createtxg"))
            .and_then(|t| t.parse().ok())
            .unwrap_or(0)
    };
    let newest = txg(level);
    let later: Vec<String> =
        list.iter().filter(|d| d.name.contains('@') && txg(&d.name) > newest).map(|d| d.name.clone()).collect();
    if !later.is_empty() {
        return Err(Refused::SnapshotsAfterLevel { release: release.clone(), level: level.to_string(), later }.into());
    }
    Ok(())
}

/// An update that did not finish leaves `updating-R` or `retired-R`;
/// until `release update` finishes it, the release is not used.
pub fn refuse_interrupted(host: &dyn Host, cfg: &HostConfig, release: &ReleaseName) -> Result<(), Error> {
    for d in [plan::updating(cfg, release), plan::retired(cfg, release)] {
        if super::observe::dataset_exists(host, d.as_str())? {
            return Err(Refused::UpdateInterrupted { release: release.clone(), dataset: d.to_string() }.into());
        }
    }
    Ok(())
}

/// The user properties a release carries, which its updated clone takes.
const SEALED: &[&str] = &["brig:release", "brig:arch", "brig:source", KIND_PROP, "brig:set"];

/// The updated clone takes the release's place: promoted (so it holds
/// every snapshot and the release becomes its clone), renamed, and the
/// old head, which holds nothing of its own, destroyed. Each step is
/// skipped when a killed run had done it.
fn take_place(host: &mut dyn Host, cfg: &HostConfig, release: &ReleaseName) -> Result<(), Error> {
    let (dataset, scratch, retired) =
        (plan::dataset(cfg, release), plan::updating(cfg, release), plan::retired(cfg, release));
    let exists = |host: &dyn Host, d: &crate::model::DatasetName| super::observe::dataset_exists(host, d.as_str());
    if exists(host, &scratch)? {
        let origin = host.zfs_get(scratch.as_str(), &["origin"])?.remove("origin").unwrap_or_default();
        if origin.starts_with(&format!("{dataset}@")) {
            host.zfs_promote(scratch.as_str())?;
        }
        if exists(host, &dataset)? {
            host.zfs_rename(dataset.as_str(), retired.as_str())?;
        }
        host.zfs_rename(scratch.as_str(), dataset.as_str())?;
    }
    if exists(host, &retired)? {
        // Snapshots of its own (taken while a killed update waited) keep
        // it; they are named, and left for their owner.
        let prefix = format!("{retired}@");
        let own: Vec<String> = host
            .zfs_list(retired.as_str(), &[])?
            .into_iter()
            .map(|d| d.name)
            .filter(|n| n.starts_with(&prefix))
            .collect();
        if !own.is_empty() {
            return Err(Refused::RetiredKept {
                release: release.clone(),
                dataset: retired.to_string(),
                snapshots: own,
            }
            .into());
        }
        host.zfs_destroy(retired.as_str(), false)?;
    }
    Ok(())
}

/// What a killed `release update` left: once the updated clone had its
/// new level's snapshot, the update is finished; before, the clone is
/// destroyed and the release is as it was.
fn recover_update(host: &mut dyn Host, cfg: &HostConfig, release: &ReleaseName) -> Result<Option<Recovery>, Error> {
    let (scratch, retired) = (plan::updating(cfg, release), plan::retired(cfg, release));
    if super::observe::dataset_exists(host, retired.as_str())? {
        take_place(host, cfg, release)?;
        return Ok(Some(Recovery::Finished));
    }
    if !super::observe::dataset_exists(host, scratch.as_str())? {
        return Ok(None);
    }
    // Sealed (read-only, the release's properties) and snapshotted at a
    // level above the release's only once the tool succeeded; a snapshot
    // some other tool took of the clone meanwhile does not count.
    let levels = |host: &dyn Host, d: &str| -> Result<Option<u32>, Error> {
        let prefix = format!("{d}@");
        let list = match host.zfs_list(d, &[]) {
            Ok(l) => l,
            Err(e) if e.errno == crate::host::Errno::ENOENT => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(list
            .iter()
            .filter_map(|x| x.name.strip_prefix(&prefix))
            .filter_map(crate::model::version::snapshot_rank)
            .max())
    };
    let props = host.zfs_get(scratch.as_str(), &["readonly", "brig:release"])?;
    let sealed = props.get("readonly").is_some_and(|v| v == "on")
        && props.get("brig:release").is_some_and(|v| v == release.as_str())
        && levels(host, scratch.as_str())? > levels(host, plan::dataset(cfg, release).as_str())?;
    if sealed {
        take_place(host, cfg, release)?;
        return Ok(Some(Recovery::Finished));
    }
    host.zfs_destroy(scratch.as_str(), true)?;
    Ok(Some(Recovery::TakenBack))
}

/// Brings the userland at `root` (a path of the machine: a clone of
/// release `release`, or a thick jail's root copied from it) to the
/// newest patch level of its branch, with the tool of the release's kind:
/// freebsd-update for distribution sets, `pkg upgrade` for base packages.
pub fn update_root(
    host: &mut dyn Host,
    cfg: &HostConfig,
    release: &ReleaseName,
    root: &Path,
    current: &crate::model::version::Version,
    what: &str,
) -> Result<(), Error> {
    let props = host.zfs_get(plan::dataset(cfg, release).as_str(), &[KIND_PROP, "brig:arch"])?;
    let failed = |tool: &'static str| {
        move |e: crate::host::HostError| Refused::UpdateFailed { tool, what: what.to_string(), output: e.detail }
    };
    if props.get(KIND_PROP).map(String::as_str) == Some("pkgbase") {
        let arch = Arch::parse(props.get("brig:arch").map_or("", String::as_str))?;
        let job = pkg_job(host, cfg, release, &arch, crate::host::PkgAction::Upgrade)?;
        host.pkg_base(&crate::host::PkgBaseJob { root: root.to_path_buf(), ..job }).map_err(failed("pkg"))?;
    } else {
        // freebsd-update installs the files of `uname -m`'s architecture.
        let arch = props.get("brig:arch").cloned().unwrap_or_default();
        let machine = host.sysctl_get("hw.machine")?.to_string();
        if arch != machine {
            return Err(Refused::ForeignArch { release: release.clone(), arch, machine }.into());
        }
        let workdir = super::upgrade::workdir(host, cfg, release.as_str())?;
        let config = update_config(host, &workdir)?;
        host.freebsd_update(root, &workdir, &config, current).map_err(failed("freebsd-update"))?;
    }
    Ok(())
}

/// freebsd-update's configuration for a root: the host's, with
/// `Components world` and `BackupKernel no`, written into `workdir`.
fn update_config(host: &dyn Host, workdir: &Path) -> Result<PathBuf, Error> {
    let host_conf = Path::new("/etc/freebsd-update.conf");
    let text = host
        .read_file(host_conf, CONFIG_LIMIT)
        .map_err(|e| Refused::Io { path: host.local_path(host_conf), source: e.into() })?;
    let config = workdir.join("freebsd-update.conf");
    let ours = crate::release::update::config_for_root(&String::from_utf8_lossy(&text));
    host.write_file(&config, ours.as_bytes(), 0o644)
        .map_err(|e| Refused::Io { path: host.local_path(&config), source: e })?;
    Ok(config)
}

/// Where a dataset is mounted (a path of the machine).
pub fn mountpoint(host: &dyn Host, dataset: &str) -> Result<PathBuf, Error> {
    let props = host.zfs_get(dataset, &["mountpoint"])?;
    Ok(PathBuf::from(props.get("mountpoint").cloned().unwrap_or_default()))
}

/// A fetched release.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Release {
    pub name: String,
    pub arch: String,
    /// `dist` (distribution sets) or `pkgbase` (base packages).
    pub kind: String,
    /// The userland version of its newest level (its /bin/freebsd-version);
    /// `userland` in JSON, as in `list`'s and `info`'s.
    #[serde(rename = "userland")]
    pub version: Option<String>,
    pub used: u64,
    pub created: u64,
    /// Its newest level's snapshot: the one new thin jails clone.
    pub snapshot: Option<String>,
    /// Every level it has, oldest first (`base`, `p3`, `p5`).
    pub levels: Vec<String>,
    pub source: String,
    /// The datasets cloned from any of its levels.
    pub clones: Vec<String>,
}

/// Every complete release, from one ZFS listing and one file each.
pub fn list(host: &dyn Host) -> Result<Vec<Release>, Error> {
    let cfg = super::config(host)?;
    releases(host, &cfg)
}

fn releases(host: &dyn Host, cfg: &HostConfig) -> Result<Vec<Release>, Error> {
    let root = cfg.releases();
    let all = host.zfs_list(root.as_str(), &["used", "creation", "brig:arch", "brig:source", KIND_PROP, "clones"])?;
    let prefix = format!("{root}/");
    let mut out = Vec::new();
    for d in &all {
        let Some(name) = d.name.strip_prefix(&prefix) else { continue };
        // Only complete releases: the scratch datasets of unfinished
        // fetches and updates do not parse as release names.
        let Some(release) = ReleaseName::parse(name).ok().filter(|_| !name.contains(['/', '@'])) else {
            continue;
        };
        let snaps = format!("{}@", d.name);
        let mut levels: Vec<(&str, &crate::host::DatasetInfo)> = all
            .iter()
            .filter_map(|s| s.name.strip_prefix(&snaps).map(|l| (l, s)))
            .filter(|(l, _)| crate::model::version::snapshot_rank(l).is_some())
            .collect();
        levels.sort_by_key(|(l, _)| crate::model::version::snapshot_rank(l));
        let prop = |k: &str| d.props.get(k).cloned().filter(|v| !v.is_empty()).unwrap_or_else(|| "-".into());
        let files = plan::files(cfg, &release);
        out.push(Release {
            name: name.to_string(),
            arch: prop("brig:arch"),
            kind: d.props.get(KIND_PROP).filter(|k| *k == "pkgbase").map_or("dist", |_| "pkgbase").to_string(),
            version: super::upgrade::userland(host, &files).map(|v| v.to_string()),
            used: prop("used").parse().unwrap_or(0),
            created: prop("creation").parse().unwrap_or(0),
            snapshot: levels.last().map(|(_, s)| s.name.clone()),
            levels: levels.iter().map(|(l, _)| l.to_string()).collect(),
            source: prop("brig:source"),
            clones: levels
                .iter()
                .filter_map(|(_, s)| s.props.get("clones"))
                .flat_map(|c| c.split(',').filter(|x| !x.is_empty() && *x != "-").map(str::to_string))
                .collect(),
        });
    }
    Ok(out)
}

/// Destroys a release no jail is cloned from, and its download cache.
pub fn destroy(host: &mut dyn Host, name: &str) -> Result<ReleaseName, Error> {
    let cfg = super::config(host)?;
    let _lock = crate::state::lock::host(host)?;
    let release = ReleaseName::parse(name)?;
    refuse_interrupted(host, &cfg, &release)?;
    let rels = releases(host, &cfg)?;
    let Some(r) = rels.iter().find(|r| r.name == release.as_str()) else {
        return Err(NotFound::Release(release).into());
    };
    if !r.clones.is_empty() {
        let jails_dir = format!("{}/", cfg.jails());
        // <root>/jails/NAME/root -> NAME
        let jails = r
            .clones
            .iter()
            .map(|c| c.strip_prefix(&jails_dir).and_then(|rest| rest.split('/').next()).unwrap_or(c).to_string())
            .collect();
        return Err(Refused::ReleaseInUse { release, jails }.into());
    }
    let dataset = plan::dataset(&cfg, &release);
    match host.zfs_destroy(dataset.as_str(), true) {
        Ok(()) => {}
        // A user hold on @base (a backup tool's, an admin's) or a process
        // in the release's files: ZFS refuses, and so does brig, saying
        // how to find the holder.
        Err(e) if e.errno == Errno::EBUSY => {
            let files = plan::files(&cfg, &release);
            return Err(Refused::ReleaseBusy { release, dataset: dataset.to_string(), files }.into());
        }
        Err(e) => return Err(e.into()),
    }
    let cache = host.local_path(&cfg.mountpoint.join("cache").join(&r.arch).join(release.as_str()));
    remove_cache(&cache)?;
    Ok(release)
}

fn remove_cache(dir: &Path) -> Result<(), Error> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Refused::Io { path: PathBuf::from(dir), source: e }.into())
        }
        _ => Ok(()),
    }
}
