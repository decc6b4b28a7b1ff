//! `brig release fetch|update|list|destroy`.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::output::{print_json, table, Changed};
use super::report::{reporter, Printer};
use super::CliError;
use crate::app::release::{self, FetchRequest, Release};
use crate::host::Host;
use crate::release::fetch::{Progress, Quiet};

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Download, verify and unpack a FreeBSD release (or install it from base packages), then snapshot it as @base.
    Fetch(FetchArgs),
    /// List fetched releases and how many jails each one is the origin of.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Bring a release to its newest patch level (freebsd-update) as a new snapshot, such as @p5.
    Update {
        /// The release, such as 14.3-RELEASE.
        release: String,
        /// Print JSON instead of text.
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
    /// Install base packages with pkg(8) instead of distribution sets (the default from FreeBSD 16, which has none).
    #[arg(long)]
    pub pkgbase: bool,
    /// The pkgbase set to install: minimal-jail (the default), base-jail, minimal or base.
    #[arg(long, value_name = "SET")]
    pub set: Option<String>,
}

pub fn run(host: &mut dyn Host, cmd: &ReleaseCommand) -> Result<ExitCode, CliError> {
    match cmd {
        ReleaseCommand::Fetch(args) => fetch(host, args),
        ReleaseCommand::List { json } => list(host, *json),
        ReleaseCommand::Update { release, json } => {
            let u = release::update(host, release, reporter(*json))?;
            if *json {
                print_json(&Changed { changed: u.snapshot.is_some(), outcome: &u })?;
            } else {
                match &u.snapshot {
                    Some(s) => println!("updated {} from {} to {}: {s}", u.release, u.from, u.to),
                    None => println!("release {} is up to date ({})", u.release, u.to),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ReleaseCommand::Destroy { release } => {
            let release = release::destroy(host, release)?;
            println!("destroyed release {release}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn fetch(host: &mut dyn Host, args: &FetchArgs) -> Result<ExitCode, CliError> {
    let req = FetchRequest {
        release: args.release.clone(),
        arch: args.arch.clone(),
        from: args.from.clone(),
        components: args.components.clone(),
        sha256: args.sha256.clone(),
        pkgbase: args.pkgbase,
        set: args.set.clone(),
    };
    let bar = Bar(RefCell::new(None));
    let progress: &dyn Progress = if std::io::stderr().is_terminal() { &bar } else { &Quiet };
    let f = release::fetch(host, &req, progress, &Printer)?;
    match f.source {
        None => println!("release {} is already fetched ({}); nothing to do", f.release, f.snapshot),
        Some(source) => println!("fetched {} ({}) from {source}: {}", f.release, f.arch, f.snapshot),
    }
    Ok(ExitCode::SUCCESS)
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

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct ListJson {
    releases: Vec<Release>,
}

/// `YYYY-MM-DD HH:MM` UTC of a Unix time.
pub fn utc(secs: u64) -> String {
    let (y, m, d, hh, mm, _) = crate::model::time::utc(secs);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}")
}

fn list(host: &dyn Host, json: bool) -> Result<ExitCode, CliError> {
    let rels = release::list(host)?;
    if json {
        print_json(&ListJson { releases: rels })?;
    } else {
        let rows = rels
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.arch.clone(),
                    r.kind.clone(),
                    r.version.clone().unwrap_or_else(|| "-".into()),
                    super::output::size(r.used),
                    utc(r.created),
                    r.levels.iter().map(|l| format!("@{l}")).collect::<Vec<_>>().join(" "),
                    r.clones.len().to_string(),
                ]
            })
            .collect();
        let head = ["NAME", "ARCH", "KIND", "VERSION", "SIZE", "CREATED", "SNAPSHOTS", "JAILS"];
        println!("{}", table(&head, rows));
    }
    Ok(ExitCode::SUCCESS)
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
