//! The journal: before a command changes a jail it writes what it is
//! about to do to `/var/db/brig/journal/NAME.json` (atomically, fsynced),
//! and removes the entry when it is done, whether it succeeded or failed
//! and undid its steps. An entry that is still there means a brig was
//! killed half-way; the next command that takes that jail's lock (and so
//! knows no other brig is at work on it) finishes the job or takes it
//! back, then says so (see `app::guard`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::host::Host;
use crate::model::JailName;

/// What was being done to a jail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Start,
    Stop,
    Destroy,
    Apply,
    /// An apply that makes a jail's datasets from its definition.
    Provision,
    /// A migration that stopped the jail here.
    Migrate,
    /// An upgrade of the jail's userland.
    Upgrade,
    /// A run of its `[[provision]]` steps.
    Build,
    /// `brig commit` making an image of its root.
    Commit,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Destroy => "destroy",
            Action::Apply => "apply",
            Action::Provision => "apply making its datasets",
            Action::Migrate => "migration",
            Action::Upgrade => "upgrade",
            Action::Build => "provisioning",
            Action::Commit => "commit",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub action: Action,
    /// The process that wrote it, for the message.
    pub pid: u32,
    /// An upgrade's: the snapshot it took first, and whether it stopped
    /// the jail (to start it again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<UpgradeEntry>,
    /// A provision run's: whether the jail ran before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildEntry>,
}

/// What recovering a provision run needs that the machine does not show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildEntry {
    pub was_running: bool,
    /// The root may be between two layers (a restore or a step under
    /// way): recovery takes it back to its latest layer.
    #[serde(default)]
    pub busy: bool,
}

/// What recovering an upgrade needs that the machine does not show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeEntry {
    pub snapshot: String,
    pub restart: bool,
    /// The upgrade itself is complete; only the start may be left.
    #[serde(default)]
    pub done: bool,
}

#[derive(Debug, Error)]
#[error("journal {}: {source}", path.display())]
pub struct JournalError {
    path: PathBuf,
    source: std::io::Error,
}

/// The entry of jail `name`, a path of the managed machine.
pub fn path(name: &JailName) -> PathBuf {
    Path::new(crate::state::layout::JOURNAL_DIR).join(format!("{name}.json"))
}

/// Records that `action` on `name` begins; `Open::finish` removes it.
pub fn begin(host: &dyn Host, name: &JailName, action: Action) -> Result<Open, JournalError> {
    write(host, name, &Entry { action, pid: std::process::id(), upgrade: None, build: None })
}

/// Records that an upgrade of `name` begins, or (`done`) how far it got.
pub fn begin_upgrade(host: &dyn Host, name: &JailName, upgrade: UpgradeEntry) -> Result<Open, JournalError> {
    let path = path(name);
    let entry = Entry { action: Action::Upgrade, pid: std::process::id(), upgrade: Some(upgrade), build: None };
    write_entry(host, &path, &entry)?;
    Ok(Open { path, nested: false })
}

/// Records that a provision run of `name` begins.
pub fn begin_build(host: &dyn Host, name: &JailName, build: BuildEntry) -> Result<Open, JournalError> {
    write(host, name, &Entry { action: Action::Build, pid: std::process::id(), upgrade: None, build: Some(build) })
}

/// A step under an entry this process already wrote (a start or stop
/// inside an upgrade or a migration) leaves that entry as it is: a kill
/// during the step is recovered as the whole command, which knows what
/// to redo.
fn write(host: &dyn Host, name: &JailName, entry: &Entry) -> Result<Open, JournalError> {
    let path = path(name);
    if let Ok(Some(outer)) = unfinished(host, name) {
        if outer.pid == entry.pid {
            return Ok(Open { path, nested: true });
        }
    }
    write_entry(host, &path, entry)?;
    Ok(Open { path, nested: false })
}

fn write_entry(host: &dyn Host, path: &Path, entry: &Entry) -> Result<(), JournalError> {
    let err = |source| JournalError { path: host.local_path(path), source };
    if let Some(dir) = path.parent() {
        host.make_dirs(dir, 0o700).map_err(err)?;
    }
    let text = serde_json::to_vec(entry).map_err(|e| err(e.into()))?;
    host.write_file(path, &text, 0o600).map_err(err)
}

/// Runs `f`, the changes of `action` to `name`, with a journal entry that
/// only a killed process leaves behind: success and a failure (whose
/// steps exec has undone) both end it.
pub fn around<T, E: From<JournalError>>(
    host: &mut dyn Host,
    name: &JailName,
    action: Action,
    f: impl FnOnce(&mut dyn Host) -> Result<T, E>,
) -> Result<T, E> {
    let open = begin(host, name, action)?;
    let out = f(host);
    open.finish(host)?;
    out
}

/// An entry being written for a command in progress.
#[derive(Debug)]
#[must_use = "an entry that is never finished makes the next command recover"]
pub struct Open {
    path: PathBuf,
    /// Under an entry of the same process, which its command finishes.
    nested: bool,
}

impl Open {
    /// Records how far an upgrade got, in place of what the entry said.
    pub fn record(&self, host: &dyn Host, upgrade: UpgradeEntry) -> Result<(), JournalError> {
        let entry = Entry { action: Action::Upgrade, pid: std::process::id(), upgrade: Some(upgrade), build: None };
        write_entry(host, &self.path, &entry)
    }

    /// Records how far a provision run got, in place of what the entry
    /// said; nothing under another command's entry.
    pub fn record_build(&self, host: &dyn Host, build: BuildEntry) -> Result<(), JournalError> {
        if self.nested {
            return Ok(());
        }
        let entry = Entry { action: Action::Build, pid: std::process::id(), upgrade: None, build: Some(build) };
        write_entry(host, &self.path, &entry)
    }

    /// The command ended (done, or failed and undone): the entry goes.
    pub fn finish(self, host: &dyn Host) -> Result<(), JournalError> {
        if self.nested {
            return Ok(());
        }
        host.remove_file(&self.path).map_err(|source| JournalError { path: host.local_path(&self.path), source })
    }
}

/// The unfinished entry of a jail, if a brig was killed working on it.
/// An entry whose contents make no sense counts as an interrupted apply,
/// which recovery finishes from the definition; one that cannot be read
/// at all (EACCES, EIO, not a regular file) is an error, never "nothing
/// to recover".
pub fn unfinished(host: &dyn Host, name: &JailName) -> Result<Option<Entry>, JournalError> {
    let path = path(name);
    match host.read_file(&path, crate::state::bounded::CONFIG_LIMIT) {
        Ok(text) => Ok(Some(serde_json::from_slice(&text).unwrap_or(Entry {
            action: Action::Apply,
            pid: 0,
            upgrade: None,
            build: None,
        }))),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(JournalError { path: host.local_path(&path), source: e.into() }),
    }
}

/// Removes an entry once it has been recovered.
pub fn clear(host: &dyn Host, name: &JailName) -> Result<(), JournalError> {
    Open { path: path(name), nested: false }.finish(host)
}
