//! `init`: brig.toml and the dataset tree brig keeps releases and jails in.

use std::path::{Path, PathBuf};

use super::Error;
use crate::config::host::{check_mountpoint, DEFAULT_DATASET, DEFAULT_MOUNTPOINT};
use crate::config::{ConfigError, HostConfig};
use crate::host::Host;
use crate::model::DatasetName;
use crate::plan::Op;
use crate::state::atomic::{remove_leftovers, temp_of};
use crate::state::layout::CONFIG_PATH;

/// Where brig keeps things; None keeps the configured value (or the
/// default on a new host).
#[derive(Debug, Clone, Default)]
pub struct InitRequest {
    pub dataset: Option<String>,
    pub mountpoint: Option<String>,
    /// Replace a configuration that differs (or does not read), moving the
    /// root dataset if needed.
    pub force: bool,
    pub dry_run: bool,
}

/// What init did.
#[derive(Debug)]
pub enum Initialised {
    /// Everything was already in place.
    Already {
        dataset: DatasetName,
        mountpoint: PathBuf,
    },
    /// A dry run: the steps init would take.
    Would(Vec<Op>),
    Done {
        dataset: DatasetName,
        mountpoint: PathBuf,
    },
}

pub fn init(host: &mut dyn Host, req: &InitRequest) -> Result<Initialised, Error> {
    let _lock = if req.dry_run { None } else { Some(crate::state::lock::host(host)?) };
    if !req.dry_run {
        // What a killed init left half-written of brig.toml.
        let dir = Path::new(CONFIG_PATH).parent().unwrap_or(Path::new("/"));
        remove_leftovers(host, dir, |e| temp_of(e) == Some("brig.toml"))
            .map_err(|e| ConfigError::io(host.local_path(dir), e))?;
    }
    // A broken config can only be replaced deliberately.
    let existing = match HostConfig::load(host) {
        Ok(c) => c,
        Err(_) if req.force => None,
        Err(e) => return Err(e.into()),
    };
    let dataset = match (&req.dataset, &existing) {
        (Some(d), _) => DatasetName::parse(d)?,
        (None, Some(c)) => c.dataset.clone(),
        (None, None) => DatasetName::parse(DEFAULT_DATASET)?,
    };
    let mountpoint = match (&req.mountpoint, &existing) {
        (Some(m), _) => check_mountpoint(m)?,
        (None, Some(c)) => c.mountpoint.clone(),
        (None, None) => check_mountpoint(DEFAULT_MOUNTPOINT)?,
    };
    let want = match &existing {
        // Keep the rest of an existing config (mirror, defaults).
        Some(c) => HostConfig { dataset, mountpoint, ..c.clone() },
        None => HostConfig::new(dataset, mountpoint),
    };
    let seen = super::observe::init(host, &want)?;
    let ops = crate::plan::init(&want, existing.as_ref(), &seen, req.force)?;
    if ops.is_empty() {
        return Ok(Initialised::Already { dataset: want.dataset, mountpoint: want.mountpoint });
    }
    if req.dry_run {
        return Ok(Initialised::Would(ops));
    }
    crate::exec::run(host, &ops)?;
    Ok(Initialised::Done { dataset: want.dataset, mountpoint: want.mountpoint })
}
