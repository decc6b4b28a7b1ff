//! `--host`: which machine brig acts on. On FreeBSD the real kernel is the
//! default; anywhere else a host must be named, and the only one there is
//! the simulated FreeBSD host.

use std::path::PathBuf;

use super::CliError;
use crate::host::sim::SimHost;
use crate::host::Host;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostChoice {
    FreeBsd,
    Sim(PathBuf),
}

impl HostChoice {
    /// Parses `sim:DIR` or `freebsd`.
    pub fn parse(s: &str) -> Result<HostChoice, CliError> {
        match s.split_once(':') {
            Some(("sim", dir)) if !dir.is_empty() => Ok(HostChoice::Sim(PathBuf::from(dir))),
            _ if s == "freebsd" => Ok(HostChoice::FreeBsd),
            _ => Err(CliError::Usage(format!(
                "--host takes sim:DIR (a simulated FreeBSD host kept in DIR) or freebsd, not '{s}'"
            ))),
        }
    }
}

/// The sentence for a non-FreeBSD machine without `--host`.
pub fn not_freebsd() -> CliError {
    CliError::Usage(format!(
        "brig manages FreeBSD jails and this machine runs {}; pass --host sim:DIR (or set BRIG_HOST=sim:DIR) to run it against a simulated FreeBSD host kept in DIR",
        std::env::consts::OS
    ))
}

/// Opens the chosen host; `None` means the platform default.
pub fn open(choice: Option<HostChoice>) -> Result<Box<dyn Host>, CliError> {
    let choice = match choice {
        Some(c) => c,
        None if cfg!(target_os = "freebsd") => HostChoice::FreeBsd,
        None => return Err(not_freebsd()),
    };
    match choice {
        HostChoice::Sim(dir) => Ok(Box::new(SimHost::open(&dir)?)),
        HostChoice::FreeBsd => open_freebsd(),
    }
}

#[cfg(target_os = "freebsd")]
fn open_freebsd() -> Result<Box<dyn Host>, CliError> {
    Ok(Box::new(crate::host::freebsd::FreeBsdHost::new()))
}

#[cfg(not(target_os = "freebsd"))]
fn open_freebsd() -> Result<Box<dyn Host>, CliError> {
    Err(not_freebsd())
}
