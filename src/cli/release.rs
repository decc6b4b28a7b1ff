use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::output::{print_json, table};
use super::CliError;
use crate::config::HostConfig;
use crate::host::{Errno, Host};
use crate::model::release::{Archive, Budget};
use crate::model::{Arch, ReleaseName};
use crate::plan::release::{self as plan, FetchPlan, BASE_SNAPSHOT};
use crate::release::fetch::{self, Progress, Quiet, Source};
use crate::release::manifest;

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Download, verify and unpack a FreeBSD release, then snapshot it as @base.
    Fetch(FetchArgs),
    /// List fetched releases and how many jails each one is the origin of.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove a release that no jail is cloned from.
    Destroy {
        /// The release, such as 14.3-RELEASE.
        release: String,
    },
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The release, such as 14.3-RELEASE or 15.1-RC1.
    pub release: String,
    /// Machine architecture [default: the host's, hw.machine].
    #[arg(long)]
    pub arch: Option<String>,
    /// A mirror directory or URL holding MANIFEST and the .txz files [default: the mirror in brig.toml].
    #[arg(long, value_name = "URL|DIR")]
    pub from: Option<String>,
    /// Distribution sets to unpack, base first.
    #[arg(long, value_delimiter = ',', default_value = "base")]
    pub components: Vec<String>,
    /// Expected SHA-256 of base.txz, checked in addition to MANIFEST.
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
}

pub fn run(host: &mut dyn Host, cmd: &ReleaseCommand) -> Result<ExitCode, CliError> {
    let cfg = super::require_config(host)?;
    match cmd {
        // Takes its locks itself: the download must not hold up others.
        ReleaseCommand::Fetch(args) => fetch_release(host, &cfg, args),
        ReleaseCommand::List { json } => list(host, &cfg, *json),
        ReleaseCommand::Destroy { release } => {
            let _lock = crate::state::lock::host(host)?;
            destroy(host, &cfg, release)
        }
    }
}

/// A progress bar on a terminal, nothing elsewhere.
struct Bar(RefCell<Option<indicatif::ProgressBar>>);

impl Progress for Bar {
    fn start(&self, file: &str, total: Option<u64>, already: u64) {
        let bar = match total {
            Some(t) => indicatif::ProgressBar::new(t),
            None => indicatif::ProgressBar::new_spinner(),
        };
        let style =
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                .map(|s| s.progress_chars("=> "));
        if let Ok(s) = style {
            bar.set_style(s);
        }
        bar.set_message(file.to_string());
        bar.set_position(already);
        *self.0.borrow_mut() = Some(bar);
    }
    fn advance(&self, bytes: u64) {
        if let Some(b) = &*self.0.borrow() {
            b.inc(bytes);
        }
    }
    fn finish(&self) {
        if let Some(b) = self.0.borrow_mut().take() {
            b.finish_and_clear();
        }
    }
}

fn component_name(c: &str) -> Result<String, CliError> {
    if c.is_empty() || !c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(CliError::Usage(format!(
            "--components: '{c}' is not a distribution set name such as base or lib32"
        )));
    }
    Ok(format!("{c}.txz"))
}

fn fetch_release(host: &mut dyn Host, cfg: &HostConfig, args: &FetchArgs) -> Result<ExitCode, CliError> {
    let release = ReleaseName::parse(&args.release)?;
    let arch = match &args.arch {
        Some(a) => Arch::parse(a)?,
        None => Arch::parse(&host.sysctl_get("hw.machine").map(|v| v.to_string()).unwrap_or_else(|_| "amd64".into()))?,
    };
    if args.components.first().map(String::as_str) != Some("base") {
        return Err(CliError::Usage("--components must start with base; every release needs it".into()));
    }
    let files: Vec<String> = args.components.iter().map(|c| component_name(c)).collect::<Result<_, _>>()?;
    if let Some(h) = &args.sha256 {
        if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CliError::Usage(format!("--sha256 '{h}' is not 64 hexadecimal digits")));
        }
    }
    let target = plan::dataset(cfg, &release);
    let _downloading = crate::state::lock::release(host, release.as_str())?;
    if crate::app::observe::dataset_exists(host, target.as_str())? {
        println!("release {release} is already fetched ({target}@{BASE_SNAPSHOT}); nothing to do");
        return Ok(ExitCode::SUCCESS);
    }
    let source = match &args.from {
        Some(f) => Source::parse(f),
        None => Source::parse(&format!("{}/{arch}/{release}/", cfg.mirror.trim_end_matches('/'))),
    };
    if source.is_plain_http() {
        eprintln!("brig: warning: {} is plain http; the download is only as trustworthy as MANIFEST's checksums, which came the same way", source.describe());
    }
    if let Source::Dir(d) = &source {
        if !d.is_dir() {
            return Err(CliError::Usage(format!("--from {}: no such directory", d.display())));
        }
    }
    crate::release::interrupt::catch().map_err(|e| CliError::Failed(format!("cannot catch Ctrl-C: {e}")))?;
    let stop = crate::release::interrupt::flag();
    let cache = host.local_path(&cfg.mountpoint.join("cache").join(arch.as_str()).join(release.as_str()));
    let cached = matches!(source, Source::Url(_));
    let bar = Bar(RefCell::new(None));
    let progress: &dyn Progress = if std::io::stderr().is_terminal() { &bar } else { &Quiet };

    let manifest_path = fetch::obtain(&source, "MANIFEST", &cache, crate::state::bounded::CONFIG_LIMIT, &Quiet, stop)?;
    let text = crate::state::bounded::read(&manifest_path, crate::state::bounded::CONFIG_LIMIT)
        .map_err(|e| CliError::Failed(format!("{}: {e}", manifest_path.display())))
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
        let entry = entries.iter().find(|e| &e.file == file).ok_or_else(|| {
            CliError::Failed(format!(
                "{}MANIFEST lists no {file}; check --components and the release",
                source_prefix(&source)
            ))
        })?;
        let path = fetch::obtain(&source, file, &cache, cfg.fetch.max_download, progress, stop)?;
        fetch::verify(&path, file, &entry.sha256, "MANIFEST", cached)?;
        if let (Some(want), true) = (&args.sha256, file == "base.txz") {
            fetch::verify(&path, file, want, "--sha256", cached)?;
        }
        archives.push(Archive { path, entries: entry.entries });
    }
    // Unpacking into datasets: now the host's lock, as init and release
    // destroy take it.
    let _lock = crate::state::lock::host(host)?;
    if crate::app::observe::dataset_exists(host, target.as_str())? {
        println!("release {release} is already fetched ({target}@{BASE_SNAPSHOT}); nothing to do");
        return Ok(ExitCode::SUCCESS);
    }
    let stale_scratch = crate::app::observe::dataset_exists(host, plan::scratch(cfg, &release).as_str())?;
    let ops = plan::fetch(&FetchPlan {
        cfg,
        release: &release,
        arch: &arch,
        source: source.describe(),
        archives,
        budget: Budget { bytes: cfg.fetch.max_unpacked, entries: cfg.fetch.max_entries },
        stale_scratch,
    });
    crate::exec::run(host, &ops)?;
    println!("fetched {release} ({arch}) from {}: {target}@{BASE_SNAPSHOT}", source.describe());
    Ok(ExitCode::SUCCESS)
}

fn source_prefix(s: &Source) -> String {
    match s {
        Source::Dir(d) => format!("{}/", d.display()),
        Source::Url(u) => u.clone(),
    }
}

#[derive(Serialize)]
struct ReleaseJson {
    name: String,
    arch: String,
    /// Bytes used by the release dataset.
    used: u64,
    /// Seconds since the epoch.
    created: u64,
    snapshot: Option<String>,
    source: String,
    /// Datasets cloned from the snapshot (thin jails).
    clones: Vec<String>,
}

#[derive(Serialize)]
struct ListJson {
    releases: Vec<ReleaseJson>,
}

/// Every fetched release, from one `zfs list` of the releases dataset.
fn releases(host: &dyn Host, cfg: &HostConfig) -> Result<Vec<ReleaseJson>, CliError> {
    let root = cfg.releases();
    let all = host.zfs_list(root.as_str(), &["used", "creation", "brig:arch", "brig:source", "clones"])?;
    let prefix = format!("{root}/");
    let mut out = Vec::new();
    for d in &all {
        let Some(name) = d.name.strip_prefix(&prefix) else { continue };
        // Only complete releases: the scratch datasets of unfinished
        // fetches do not parse as release names.
        if name.contains(['/', '@']) || ReleaseName::parse(name).is_err() {
            continue;
        }
        let snap_name = format!("{}@{BASE_SNAPSHOT}", d.name);
        let snap = all.iter().find(|s| s.name == snap_name);
        let prop = |k: &str| d.props.get(k).cloned().unwrap_or_else(|| "-".into());
        out.push(ReleaseJson {
            name: name.to_string(),
            arch: prop("brig:arch"),
            used: prop("used").parse().unwrap_or(0),
            created: prop("creation").parse().unwrap_or(0),
            snapshot: snap.map(|s| s.name.clone()),
            source: prop("brig:source"),
            clones: snap
                .and_then(|s| s.props.get("clones"))
                .map(|c| c.split(',').filter(|x| !x.is_empty() && *x != "-").map(str::to_string).collect())
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

/// `YYYY-MM-DD HH:MM` UTC of a Unix time.
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (proleptic Gregorian), for dates without a time crate.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", rem / 3600, rem % 3600 / 60)
}

fn list(host: &dyn Host, cfg: &HostConfig, json: bool) -> Result<ExitCode, CliError> {
    let rels = releases(host, cfg)?;
    if json {
        print_json(&ListJson { releases: rels })?;
    } else {
        let rows = rels
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.arch.clone(),
                    super::output::size(r.used),
                    utc(r.created),
                    r.snapshot.as_deref().map_or("-".into(), |s| format!("@{}", s.rsplit('@').next().unwrap_or(s))),
                    r.clones.len().to_string(),
                ]
            })
            .collect();
        println!("{}", table(&["NAME", "ARCH", "SIZE", "CREATED", "SNAPSHOT", "JAILS"], rows));
    }
    Ok(ExitCode::SUCCESS)
}

fn destroy(host: &mut dyn Host, cfg: &HostConfig, name: &str) -> Result<ExitCode, CliError> {
    let release = ReleaseName::parse(name)?;
    let rels = releases(host, cfg)?;
    let Some(r) = rels.iter().find(|r| r.name == release.as_str()) else {
        return Err(CliError::NotFound(format!("release {release} is not fetched; `brig release list` shows what is")));
    };
    if !r.clones.is_empty() {
        let jails: Vec<String> = r
            .clones
            .iter()
            .map(|c| {
                // <root>/jails/NAME/root -> NAME
                let jails = format!("{}/", cfg.jails());
                c.strip_prefix(&jails).and_then(|rest| rest.split('/').next()).unwrap_or(c).to_string()
            })
            .collect();
        return Err(CliError::Failed(format!(
            "release {release} is the origin of {}: {}; destroy {} first",
            if jails.len() == 1 { "a jail" } else { "jails" },
            jails.join(", "),
            if jails.len() == 1 { "it" } else { "them" }
        )));
    }
    let dataset = plan::dataset(cfg, &release);
    match host.zfs_destroy(dataset.as_str(), true) {
        Ok(()) => {}
        // A user hold on @base (a backup tool's, an admin's) or a process
        // in the release's files: ZFS refuses, and so does brig, saying
        // how to find the holder.
        Err(e) if e.errno == Errno::EBUSY => {
            return Err(CliError::Failed(format!(
                "release {release} is held or in use and was kept: `zfs holds -r {dataset}` lists holds (`zfs release TAG SNAPSHOT` drops one) and `fstat -f {}` the processes using it; then run this again",
                cfg.mountpoint.join("releases").join(release.as_str()).display()
            )))
        }
        Err(e) => return Err(e.into()),
    }
    let cache = host.local_path(&cfg.mountpoint.join("cache").join(&r.arch).join(release.as_str()));
    remove_cache(&cache)?;
    println!("destroyed release {release}");
    Ok(ExitCode::SUCCESS)
}

fn remove_cache(dir: &Path) -> Result<(), CliError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CliError::Failed(format!("{}: {e}", dir.display()))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_sizes() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        assert_eq!(utc(1_763_900_000), "2025-11-23 12:13");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00");
    }
}
