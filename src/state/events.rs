//! The event log: one JSON line for every command that changes
//! something, appended to `/var/log/brig/events.jsonl` (mode 0600, each
//! line synced), so a host's operator can answer "who changed what, when,
//! and did it work". Read back by `brig events`, line by line: a line
//! that does not read (a write cut by a crash) is passed over.

use std::io::{BufRead, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::host::Host;

/// Where the log lives, a path of the managed machine.
pub const EVENTS_PATH: &str = "/var/log/brig/events.jsonl";
/// The longest line a reader takes.
const MAX_LINE: u64 = 1 << 20;

/// One command, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Record {
    /// UTC, `2026-12-06T17:30:00Z`.
    pub time: String,
    /// Unix time, for filtering.
    pub unix: u64,
    pub uid: u32,
    /// The login name of `uid`, and the user sudo(8) ran brig for.
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sudo_user: Option<String>,
    /// The subcommand (`create`, `limits`, `release update`).
    pub command: String,
    /// The whole command line after `brig`.
    pub args: Vec<String>,
    /// The jails it named.
    pub jails: Vec<String>,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
    /// Why, for what brig did on its own (a supervisor's restart, a
    /// recovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The steps of the plan it carried out, `JAIL: STEP` (at most 1000).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

impl Record {
    /// What this process did now, as its user: `command` with the
    /// command line `args`, on `jails`, ended with `error` or not.
    pub fn now(
        command: &str,
        args: Vec<String>,
        jails: Vec<String>,
        error: Option<String>,
        took: std::time::Duration,
    ) -> Record {
        let uid = nix::unistd::getuid();
        let user = nix::unistd::User::from_uid(uid).ok().flatten().map_or_else(|| uid.to_string(), |u| u.name);
        let unix = crate::app::now();
        Record {
            time: crate::model::snapshot::SnapshotName::at(unix).to_string(),
            unix,
            uid: uid.as_raw(),
            user,
            sudo_user: std::env::var("SUDO_USER").ok().filter(|u| !u.is_empty()),
            command: command.to_string(),
            args,
            jails,
            ok: error.is_none(),
            error,
            duration_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            detail: None,
            changes: Vec::new(),
        }
    }
}

/// Appends `record` as one line, synced; the directory made 0700 and the
/// file 0600 when missing, never through a symbolic link.
pub fn append(host: &dyn Host, record: &Record) -> std::io::Result<()> {
    let path = Path::new(EVENTS_PATH);
    if let Some(dir) = path.parent() {
        host.make_dirs(dir, 0o700)?;
    }
    let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut f = super::open_for_append(&host.local_path(path))?;
    // One write: lines of brigs running at once do not interleave
    // (O_APPEND writes of a regular file are atomic as to position).
    f.write_all(&line)?;
    f.sync_data()
}

/// Which records `read` returns.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub jail: Option<String>,
    /// Unix time: records from then on.
    pub since: Option<u64>,
}

/// The records that pass `filter`, oldest first; none when there is no
/// log yet.
pub fn read(host: &dyn Host, filter: &Filter) -> std::io::Result<Vec<Record>> {
    let path = host.local_path(Path::new(EVENTS_PATH));
    let file = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    let mut reader = std::io::BufReader::new(file);
    let mut line = Vec::new();
    loop {
        line.clear();
        // A line longer than any brig writes is skipped, not held.
        let n = (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(out);
        }
        let Ok(r) = serde_json::from_slice::<Record>(&line) else { continue };
        let jail_ok = filter.jail.as_ref().is_none_or(|j| r.jails.contains(j));
        let time_ok = filter.since.is_none_or(|s| r.unix >= s);
        if jail_ok && time_ok {
            out.push(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_one_line_of_json() {
        let r = Record {
            time: "2026-12-06T17:30:00Z".into(),
            unix: 1,
            uid: 0,
            user: "root".into(),
            sudo_user: Some("alice".into()),
            command: "limits".into(),
            args: vec!["limits".into(), "web".into(), "set".into(), "memoryuse=4G".into()],
            jails: vec!["web".into()],
            ok: true,
            error: None,
            duration_ms: 12,
            detail: None,
            changes: vec!["web: rctl -a jail:web:maxproc:deny=100".into()],
        };
        let text = serde_json::to_string(&r).expect("json");
        assert!(!text.contains('\n'));
        assert_eq!(serde_json::from_str::<Record>(&text).expect("reads"), r);
    }
}
