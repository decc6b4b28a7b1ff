//! Where brig keeps its own state on the managed machine, all in one
//! place: configuration under /usr/local/etc/brig (hier(7)'s place for
//! a port's configuration), records under /var/db/brig (its place for
//! state that survives a reboot). Each path is one on the managed machine;
//! `Host::local_path` turns it into one brig can open (the simulated host
//! keeps the machine in a directory).

use std::path::PathBuf;

use crate::model::JailName;

/// The host config.
pub const CONFIG_PATH: &str = "/usr/local/etc/brig/brig.toml";
/// Jail definitions, one `NAME.toml` each.
pub const JAILS_DIR: &str = "/usr/local/etc/brig/jails";
/// The administrator's own templates.
pub const TEMPLATES_DIR: &str = "/usr/local/etc/brig/templates";
/// Lock files (0700, files 0600).
pub const LOCK_DIR: &str = "/var/db/brig/locks";
/// The journal of unfinished commands (0700, entries 0600).
pub const JOURNAL_DIR: &str = "/var/db/brig/journal";
/// The unnamed epairs the host had when brig began making one (see
/// `exec::sweep_unnamed_epairs`); there only while it does. In /var/run,
/// which rc.d/cleanvar empties at boot: after a reboot the list would
/// name epairs of another boot.
pub const EPAIR_INTENT: &str = "/var/run/brig-epair-intent.json";
/// What brig set up for each started jail, kept until it stops.
pub const STARTED_DIR: &str = "/var/db/brig/started";
/// Records of `brig run` jails in use, removed with their jails.
pub const RUNS_DIR: &str = "/var/db/brig/runs";

/// The definition of jail `name`.
pub fn definition_path(name: &JailName) -> PathBuf {
    PathBuf::from(JAILS_DIR).join(format!("{name}.toml"))
}

/// The directory of a definition's own files, beside it (`jails/NAME/`):
/// what its `copy` and `render` steps' relative paths start from.
pub fn files_dir(name: &JailName) -> PathBuf {
    PathBuf::from(JAILS_DIR).join(name.as_str())
}
