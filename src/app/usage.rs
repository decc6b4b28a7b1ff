//! Accounting for billing: `brig supervise` samples every running jail's
//! racct usage each minute (`sample`); `brig usage` integrates the
//! samples over a time (`usage`).

use std::collections::BTreeMap;

use super::{Error, NotFound};
use crate::host::{Errno, Host};
use crate::model::JailName;
use crate::plan::usage::{integrate, Sample, Totals};
use crate::state::usage;

/// How often the supervisor samples.
pub const EVERY_SECONDS: u64 = 60;
/// A gap between samples counts for at most this long: the supervisor
/// or the jail was not running meanwhile.
const MAX_GAP: u64 = 2 * EVERY_SECONDS + 30;

/// One sample of a running jail from rctl_get_racct(2); false while racct
/// is off (ENOSYS): there is nothing to sample.
pub fn sample(host: &dyn Host, name: &JailName, unix: u64) -> Result<bool, Error> {
    let u: BTreeMap<String, u64> = match host.rctl_usage(&format!("jail:{name}")) {
        Ok(u) => u,
        Err(e) if e.errno == Errno::ENOSYS => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let get = |k: &str| u.get(k).copied().unwrap_or(0);
    let s = Sample {
        unix,
        started: super::health::started_at(host, name).unwrap_or(0),
        cputime: get("cputime"),
        memoryuse: get("memoryuse"),
        io_rate: get("readbps").saturating_add(get("writebps")),
    };
    usage::append(host, name, &s).map_err(|e| Error::Usage(format!("{}: {e}", usage::USAGE_DIR)))?;
    Ok(true)
}

/// What `name` used from `since` (Unix time) on, from its samples.
pub fn usage(host: &dyn Host, name: &JailName, since: u64) -> Result<Totals, Error> {
    let samples = usage::read(host, name).map_err(|e| Error::Usage(e.to_string()))?;
    if samples.is_empty() {
        return Err(NotFound::Samples(name.clone()).into());
    }
    Ok(integrate(&samples, since, MAX_GAP))
}
