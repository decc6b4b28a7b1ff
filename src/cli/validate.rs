use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::output::print_json;
use super::CliError;
use crate::config::host::{DEFAULT_DATASET, DEFAULT_MOUNTPOINT, JAILS_DIR};
use crate::config::{jail, HostConfig};
use crate::host::Host;
use crate::model::jail::{JailSpec, Network};
use crate::model::{DatasetName, JailName};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Jail names (their files in /usr/local/etc/brig/jails) or paths of
    /// definition files on this machine [default: every defined jail].
    pub targets: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Checked {
    name: String,
    file: String,
    valid: bool,
    error: Option<String>,
}

#[derive(Serialize)]
struct ValidateJson {
    definitions: Vec<Checked>,
}

/// Where a target's file is: a path if it looks like one, else the jail's
/// definition on the managed machine.
fn locate(host: &dyn Host, target: &str) -> Result<(JailName, PathBuf), String> {
    if target.contains('/') || target.ends_with(".toml") {
        let path = PathBuf::from(target);
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let name =
            JailName::parse(&stem).map_err(|e| format!("{target}: the file name must be the jail's name: {e}"))?;
        return Ok((name, path));
    }
    let name = JailName::parse(target).map_err(|e| e.to_string())?;
    let path = host.local_path(&Path::new(JAILS_DIR).join(format!("{name}.toml")));
    Ok((name, path))
}

/// Checks across definitions: dependencies that name no defined jail, and
/// one address given to two jails.
fn cross_checks(specs: &[(PathBuf, JailSpec)]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, (_, s)) in specs.iter().enumerate() {
        for d in &s.depends {
            if !specs.iter().any(|(_, o)| &o.name == d) {
                out.push((i, format!("jail {} depends on {d}, which is not defined", s.name)));
            }
        }
        let Network::Addresses { ip4, ip6, .. } = &s.network else { continue };
        let mine: Vec<String> =
            ip4.iter().map(|a| a.addr().to_string()).chain(ip6.iter().map(|a| a.addr().to_string())).collect();
        for (o, other) in specs.iter().map(|(_, o)| o).enumerate().filter(|(j, _)| *j < i) {
            let Network::Addresses { ip4: o4, ip6: o6, .. } = &other.network else { continue };
            if let Some(a) = o4
                .iter()
                .map(|a| a.addr().to_string())
                .chain(o6.iter().map(|a| a.addr().to_string()))
                .find(|a| mine.contains(a))
            {
                out.push((i, format!("jail {} uses address {a}, which jail {} already has", s.name, specs[o].1.name)));
            }
        }
    }
    out
}

/// Exit 2 when any definition is invalid.
pub fn run(host: &dyn Host, args: &ValidateArgs) -> Result<ExitCode, CliError> {
    let cfg = match HostConfig::load(host)? {
        Some(c) => c,
        None => HostConfig::new(DatasetName::parse(DEFAULT_DATASET)?, DEFAULT_MOUNTPOINT.into()),
    };
    let whole_set = args.targets.is_empty();
    let targets = if whole_set {
        jail::definition_files(host)?.iter().map(|p| p.display().to_string()).collect()
    } else {
        args.targets.clone()
    };
    let mut results: Vec<Checked> = Vec::new();
    let mut valid: Vec<(PathBuf, JailSpec)> = Vec::new();
    let mut index_of: Vec<usize> = Vec::new();
    for t in &targets {
        match locate(host, t) {
            Err(e) => results.push(Checked { name: t.clone(), file: t.clone(), valid: false, error: Some(e) }),
            Ok((name, path)) => {
                let file = path.display().to_string();
                match jail::load(&path, &name, &cfg) {
                    Ok(spec) => {
                        index_of.push(results.len());
                        results.push(Checked { name: name.to_string(), file, valid: true, error: None });
                        valid.push((path, spec));
                    }
                    Err(e) => {
                        results.push(Checked { name: name.to_string(), file, valid: false, error: Some(e.to_string()) })
                    }
                }
            }
        }
    }
    // Cross-definition checks only mean something over the whole set.
    if whole_set {
        for (i, msg) in cross_checks(&valid) {
            let r = &mut results[index_of[i]];
            r.valid = false;
            r.error = Some(format!("{}: {msg}", r.file));
        }
    }
    let ok = results.iter().all(|r| r.valid);
    if args.json {
        print_json(&ValidateJson { definitions: results })?;
    } else {
        for r in &results {
            match &r.error {
                None => println!("ok    {}  {}", r.name, r.file),
                Some(e) => eprintln!("brig: {e}"),
            }
        }
        if results.is_empty() {
            println!("no jails are defined");
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
