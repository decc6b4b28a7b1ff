//! freebsd-update(8) run against a root other than `/` (`-b`), as
//! usr.sbin/freebsd-update/freebsd-update.sh does it. The simulated
//! update server is a directory (`update_server` of sim.toml) holding,
//! for each release, one directory per patch level (`14.3-RELEASE/p5/`)
//! with the files that level installs, `/bin/freebsd-version` among
//! them as on the real server.

use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::jail::Refusal;
use crate::model::version::Version;
use crate::state::beneath::Root;

/// brig's convention for a tool that exits non-zero: EIO, with the
/// tool's last lines joined into one (a tool has no errno of its own), as
/// the FreeBSD host reports them.
fn failed(msg: impl Into<String>) -> Refusal {
    (Errno::EIO, msg.into().lines().collect::<Vec<_>>().join(" "))
}

/// The patch levels the server has for `release`, ascending.
fn levels(server: &Path, release: &str) -> Vec<(u32, PathBuf)> {
    let mut out: Vec<(u32, PathBuf)> = std::fs::read_dir(server.join(release))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = name.strip_prefix('p')?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// `freebsd-update -b ROOT --currently-running V fetch install`:
/// - fetch_pick_server: without a server, "No mirrors remaining, giving
///   up." and exit 1;
/// - fetch_metadata: a release the server does not know fails the same
///   way freebsd-update does ("The update metadata is correctly signed,
///   but failed an integrity check"), exit 1;
/// - no level newer than `running`: "No updates needed", exit 0, and
///   `install` after a `fetch` in the same run is then a no-op;
/// - otherwise every newer level's files are installed in order, but
///   only where the root has the file: fetch_filter_unmodified_notpresent
///   drops updates to files that are not installed (a component such as
///   lib32 left out). Never through a symbolic link of the root:
///   install_from_index writes with install(1) into the base directory.
///   (Not modelled: freebsd-update also skips files modified locally,
///   and installs files new in a patch level.)
pub fn run(server: Option<&Path>, root: &Path, running: &Version) -> Result<String, Refusal> {
    let Some(server) = server else {
        return Err(failed("Looking up update.FreeBSD.org mirrors... none found.\nNo mirrors remaining, giving up."));
    };
    if !server.join(&running.release).is_dir() {
        return Err(failed(format!(
            "Fetching metadata index... failed.\nThe update metadata is correctly signed, but failed an integrity check ({} is not known to the update server).",
            running.release
        )));
    }
    let newer: Vec<(u32, PathBuf)> =
        levels(server, &running.release).into_iter().filter(|(n, _)| *n > running.patch).collect();
    let Some((last, _)) = newer.last() else {
        return Ok(format!("No updates needed to update system to {running}."));
    };
    let last = *last;
    let target = Root::open(root).map_err(|e| (e.errno.unwrap_or(Errno::EIO), e.to_string()))?;
    for (_, dir) in &newer {
        install(&target, dir).map_err(|e| (e.errno.unwrap_or(Errno::EIO), format!("install: {e}")))?;
    }
    Ok(format!("Installing updates... done.\n{}-p{last}", running.release))
}

/// Copies a patch level's files into the root, each replaced whole.
fn install(target: &Root, level: &Path) -> Result<(), crate::state::beneath::BeneathError> {
    use std::os::unix::fs::MetadataExt;
    let io = crate::state::beneath::BeneathError::from_io;
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = level.join(&rel);
        for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
            let entry = entry.map_err(|e| io(&dir, e))?;
            let from = entry.path();
            let to = rel.join(entry.file_name());
            let m = std::fs::symlink_metadata(&from).map_err(|e| io(&from, e))?;
            if m.is_dir() {
                stack.push(to);
            } else if m.is_file() && target.entry(&to)?.is_some() {
                let bytes = std::fs::read(&from).map_err(|e| io(&from, e))?;
                target.write_atomic(&to, &bytes, m.mode() & 0o7777)?;
            }
        }
    }
    Ok(())
}
