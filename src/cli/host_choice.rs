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
        HostChoice::Sim(dir) => {
            sim_dir(&dir)?;
            Ok(Box::new(SimHost::open(&dir)?))
        }
        HostChoice::FreeBsd => open_freebsd(),
    }
}

/// `DIR` of `--host sim:DIR` is a directory, or a new one whose parent
/// exists: brig makes that one directory, never a whole tree.
fn sim_dir(dir: &std::path::Path) -> Result<(), CliError> {
    let shown = dir.display();
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(CliError::Usage(format!(
            "--host sim:{shown}: {shown} is not a directory; name a directory to keep the simulated host in"
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            if parent.is_dir() {
                return Ok(());
            }
            Err(CliError::Usage(format!(
                "--host sim:{shown}: neither {shown} nor {} exists; brig makes only the last directory, so create {} first",
                parent.display(),
                parent.display()
            )))
        }
        Err(e) => Err(CliError::Usage(format!("--host sim:{shown}: {e}"))),
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
