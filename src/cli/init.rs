use std::process::ExitCode;

use clap::Args;

use super::CliError;
use crate::app::observe;
use crate::config::host::{check_mountpoint, DEFAULT_DATASET, DEFAULT_MOUNTPOINT};
use crate::config::HostConfig;
use crate::host::Host;
use crate::model::DatasetName;
use crate::{exec, plan};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Root dataset for releases and jails [default: zroot/brig, or the configured one].
    #[arg(long, value_name = "POOL/brig")]
    pub dataset: Option<String>,
    /// Where the root dataset is mounted [default: /usr/local/brig, or the configured one].
    #[arg(long, value_name = "PATH")]
    pub mountpoint: Option<String>,
    /// Replace an existing configuration that differs, and move the root dataset if needed.
    #[arg(long)]
    pub force: bool,
    /// Print the steps without doing them.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(host: &mut dyn Host, args: &InitArgs) -> Result<ExitCode, CliError> {
    let _lock = if args.dry_run { None } else { Some(crate::state::lock::host(host)?) };
    if !args.dry_run {
        // What a killed init left half-written of brig.toml.
        let dir = host.local_path(
            std::path::Path::new(crate::state::layout::CONFIG_PATH).parent().unwrap_or(std::path::Path::new("/")),
        );
        crate::state::atomic::remove_leftovers(&dir, |e| crate::state::atomic::temp_of(e) == Some("brig.toml"))
            .map_err(|e| crate::config::ConfigError::io(&dir, e))?;
    }
    let existing = HostConfig::load(host);
    // A broken config can only be replaced deliberately.
    let existing = match existing {
        Ok(c) => c,
        Err(_) if args.force => None,
        Err(e) => return Err(e.into()),
    };
    let dataset = match (&args.dataset, &existing) {
        (Some(d), _) => DatasetName::parse(d)?,
        (None, Some(c)) => c.dataset.clone(),
        (None, None) => DatasetName::parse(DEFAULT_DATASET)?,
    };
    let mountpoint = match (&args.mountpoint, &existing) {
        (Some(m), _) => check_mountpoint(m)?,
        (None, Some(c)) => c.mountpoint.clone(),
        (None, None) => check_mountpoint(DEFAULT_MOUNTPOINT)?,
    };
    let want = match &existing {
        // Keep the rest of an existing config (mirror, defaults).
        Some(c) => HostConfig { dataset, mountpoint, ..c.clone() },
        None => HostConfig::new(dataset, mountpoint),
    };
    let seen = observe::init(host, &want)?;
    let ops = plan::init(&want, existing.as_ref(), &seen, args.force)?;
    if ops.is_empty() {
        println!(
            "brig is already initialised: dataset {} at {}; nothing to do",
            want.dataset,
            want.mountpoint.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        for op in &ops {
            println!("{op}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    exec::run(host, &ops)?;
    println!(
        "initialised brig: dataset {} mounted at {}, configuration in {}",
        want.dataset,
        want.mountpoint.display(),
        crate::state::layout::CONFIG_PATH
    );
    Ok(ExitCode::SUCCESS)
}
