//! One step of a plan. Every step can be undone, so a failed plan leaves
//! the machine as it found it.

use std::fmt;
use std::path::PathBuf;

use crate::model::DatasetName;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `zfs create -o PROP=VALUE NAME` (mounted). Undo: destroy it.
    CreateDataset { name: DatasetName, props: Vec<(String, String)> },
    /// `zfs set PROP=VALUE NAME`. Undo: set the old values back.
    SetProps { name: DatasetName, props: Vec<(String, String)> },
    /// Set a directory's mode (a path of the managed machine). Undo: the
    /// old mode.
    Chmod { path: PathBuf, mode: u32 },
    /// Create a directory and its missing parents. Undo: remove the ones
    /// this step created.
    MakeDir { path: PathBuf, mode: u32 },
    /// Replace a file atomically. Undo: the old contents, or no file.
    WriteFile { path: PathBuf, contents: String, mode: u32 },
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let props = |p: &[(String, String)]| p.iter().map(|(k, v)| format!(" -o {k}={v}")).collect::<String>();
        match self {
            Op::CreateDataset { name, props: p } => write!(f, "zfs create{} {name}", props(p)),
            Op::SetProps { name, props: p } => {
                let kv: Vec<String> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "zfs set {} {name}", kv.join(" "))
            }
            Op::Chmod { path, mode } => write!(f, "chmod {mode:o} {}", path.display()),
            Op::MakeDir { path, mode } => write!(f, "mkdir -p -m {mode:o} {}", path.display()),
            Op::WriteFile { path, mode, .. } => write!(f, "write {} (mode {mode:o})", path.display()),
        }
    }
}
