//! `brig init`: the host config and the dataset tree
//! `<root>`, `<root>/releases`, `<root>/jails`.

use std::path::{Path, PathBuf};

use thiserror::Error;

use super::Op;
use crate::config::HostConfig;
use crate::state::layout::{CONFIG_PATH, JAILS_DIR};

/// What `brig init` needs to know about the machine.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InitObserved {
    pub pool_exists: bool,
    /// The parent of the root dataset exists (or the root is the pool).
    pub parent_exists: bool,
    /// Mountpoint of the root dataset, if it exists.
    pub root: Option<PathBuf>,
    pub releases: bool,
    pub jails: bool,
    /// Mode of the jails directory, if it exists.
    pub jails_mode: Option<u32>,
    /// The config file as it is now, if any.
    pub config: Option<String>,
    pub config_dir: bool,
    pub jails_config_dir: bool,
    /// The wanted mountpoint is a directory with something in it.
    pub mountpoint_occupied: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InitPlanError {
    #[error("ZFS pool '{0}' does not exist; create it or pass --dataset POOL/brig with an existing pool")]
    NoPool(String),
    #[error("dataset '{0}' does not exist; create it first or choose a --dataset directly below an existing one")]
    NoParent(String),
    #[error("brig is already initialised differently in {path} (dataset {dataset}, mountpoint {mountpoint}); pass --force to replace that configuration")]
    Different { path: String, dataset: String, mountpoint: String },
    #[error("dataset {dataset} already exists, mounted at {current}; pass --mountpoint {current} to use it as it is, or --force to move it to {wanted}")]
    Mountpoint { dataset: String, current: String, wanted: String },
    #[error("{0} is not empty, and the root dataset mounted there would hide what it holds; choose an empty or new directory with --mountpoint")]
    Occupied(String),
}

/// The steps that make the machine match `want`. Empty when it already
/// does. `existing` is the parsed current config, if there is one.
pub fn init(
    want: &HostConfig,
    existing: Option<&HostConfig>,
    seen: &InitObserved,
    force: bool,
) -> Result<Vec<Op>, InitPlanError> {
    if let Some(cur) = existing {
        if cur != want && !force {
            return Err(InitPlanError::Different {
                path: CONFIG_PATH.to_string(),
                dataset: cur.dataset.to_string(),
                mountpoint: cur.mountpoint.display().to_string(),
            });
        }
    }
    if !seen.pool_exists {
        return Err(InitPlanError::NoPool(want.dataset.pool().to_string()));
    }
    // Mounting over files would hide them (even --force never does that).
    if seen.mountpoint_occupied && seen.root.as_ref() != Some(&want.mountpoint) {
        return Err(InitPlanError::Occupied(want.mountpoint.display().to_string()));
    }
    let mut ops = Vec::new();
    match &seen.root {
        None => {
            if !seen.parent_exists {
                let parent = want.dataset.parent().map(|p| p.to_string()).unwrap_or_default();
                return Err(InitPlanError::NoParent(parent));
            }
            ops.push(Op::CreateDataset {
                name: want.dataset.clone(),
                props: vec![("mountpoint".into(), want.mountpoint.display().to_string())],
            });
        }
        Some(mp) if mp != &want.mountpoint => {
            if !force {
                return Err(InitPlanError::Mountpoint {
                    dataset: want.dataset.to_string(),
                    current: mp.display().to_string(),
                    wanted: want.mountpoint.display().to_string(),
                });
            }
            ops.push(Op::SetProps {
                name: want.dataset.clone(),
                props: vec![("mountpoint".into(), want.mountpoint.display().to_string())],
            });
        }
        Some(_) => {}
    }
    if !seen.releases {
        ops.push(Op::CreateDataset { name: want.releases(), props: Vec::new() });
    }
    if !seen.jails {
        ops.push(Op::CreateDataset { name: want.jails(), props: Vec::new() });
    }
    if seen.jails_mode != Some(0o700) || !seen.jails {
        ops.push(Op::Chmod { path: want.jails_dir(), mode: 0o700 });
    }
    let config_dir = Path::new(CONFIG_PATH).parent().unwrap_or(Path::new("/")).to_path_buf();
    if !seen.config_dir {
        ops.push(Op::MakeDir { path: config_dir, mode: 0o755 });
    }
    if !seen.jails_config_dir {
        ops.push(Op::MakeDir { path: PathBuf::from(JAILS_DIR), mode: 0o700 });
    }
    let text = want.render();
    let same_config = existing == Some(want);
    if !same_config || seen.config.is_none() {
        ops.push(Op::WriteFile { path: PathBuf::from(CONFIG_PATH), contents: text, mode: 0o644 });
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{cfg as want, lines};

    fn fresh() -> InitObserved {
        InitObserved { pool_exists: true, parent_exists: true, ..InitObserved::default() }
    }

    #[test]
    fn fresh_host_golden_plan() {
        let ops = init(&want(), None, &fresh(), false).expect("plans");
        assert_eq!(
            lines(&ops),
            vec![
                "zfs create -o mountpoint=/usr/local/brig zroot/brig",
                "zfs create zroot/brig/releases",
                "zfs create zroot/brig/jails",
                "chmod 700 /usr/local/brig/jails",
                "mkdir -p -m 755 /usr/local/etc/brig",
                "mkdir -p -m 700 /usr/local/etc/brig/jails",
                "write /usr/local/etc/brig/brig.toml (mode 644)",
            ]
        );
    }

    #[test]
    fn initialised_host_plans_nothing() {
        let w = want();
        let seen = InitObserved {
            root: Some(w.mountpoint.clone()),
            releases: true,
            jails: true,
            jails_mode: Some(0o700),
            config: Some(w.render()),
            config_dir: true,
            jails_config_dir: true,
            ..fresh()
        };
        assert_eq!(init(&w, Some(&w), &seen, false), Ok(vec![]));
        // A widened jails directory is put back.
        let loose = InitObserved { jails_mode: Some(0o755), ..seen };
        assert_eq!(lines(&init(&w, Some(&w), &loose, false).expect("plans")), vec!["chmod 700 /usr/local/brig/jails"]);
    }

    #[test]
    fn different_config_needs_force() {
        let mut other = want();
        other.mountpoint = PathBuf::from("/brig");
        let e = init(&want(), Some(&other), &fresh(), false).expect_err("differs");
        assert!(e.to_string().contains("pass --force"), "{e}");
        assert!(init(&want(), Some(&other), &fresh(), true).is_ok());
    }

    #[test]
    fn missing_pool_or_parent_is_refused() {
        let no_pool = InitObserved { pool_exists: false, ..fresh() };
        assert_eq!(init(&want(), None, &no_pool, false), Err(InitPlanError::NoPool("zroot".into())));
        let no_parent = InitObserved { parent_exists: false, ..fresh() };
        assert!(matches!(init(&want(), None, &no_parent, false), Err(InitPlanError::NoParent(p)) if p == "zroot"));
    }

    #[test]
    fn existing_root_elsewhere_needs_force_to_move() {
        let seen = InitObserved { root: Some(PathBuf::from("/old")), ..fresh() };
        let e = init(&want(), None, &seen, false).expect_err("mounted elsewhere");
        assert!(e.to_string().contains("--mountpoint /old"), "{e}");
        let ops = init(&want(), None, &seen, true).expect("forced");
        assert_eq!(lines(&ops)[0], "zfs set mountpoint=/usr/local/brig zroot/brig");
    }
}
