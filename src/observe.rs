//! Reading the machine into plain values for the planners. Reads only;
//! a handful of calls per command, never a process per jail.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::config::host::{CONFIG_PATH, JAILS_DIR};
use crate::config::HostConfig;
use crate::host::{Errno, Host, HostResult};
use crate::plan::InitObserved;

/// `Some(props)` if the dataset exists, `None` if ZFS says ENOENT.
fn dataset(
    host: &dyn Host,
    name: &str,
    props: &[&str],
) -> HostResult<Option<std::collections::BTreeMap<String, String>>> {
    match host.zfs_get(name, props) {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.errno == Errno::ENOENT => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether a dataset or snapshot exists (ENOENT: no; other errors are
/// errors).
pub fn dataset_exists(host: &dyn Host, name: &str) -> HostResult<bool> {
    Ok(dataset(host, name, &["type"])?.is_some())
}

/// What `brig init` must know to plan.
pub fn init(host: &dyn Host, want: &HostConfig) -> HostResult<InitObserved> {
    let pool_exists = dataset(host, want.dataset.pool(), &["type"])?.is_some();
    let parent_exists = match want.dataset.parent() {
        Some(p) if pool_exists => dataset(host, p.as_str(), &["type"])?.is_some(),
        _ => pool_exists,
    };
    let root = if pool_exists {
        dataset(host, want.dataset.as_str(), &["mountpoint"])?
            .map(|p| PathBuf::from(p.get("mountpoint").cloned().unwrap_or_default()))
    } else {
        None
    };
    let exists = |name: &crate::model::DatasetName| -> HostResult<bool> {
        Ok(root.is_some() && dataset(host, name.as_str(), &["type"])?.is_some())
    };
    let releases = exists(&want.releases())?;
    let jails = exists(&want.jails())?;
    let local = |p: &Path| host.local_path(p);
    let jails_mode = std::fs::symlink_metadata(local(&want.jails_dir()))
        .ok()
        .filter(|m| m.is_dir())
        .map(|m| m.permissions().mode() & 0o7777);
    let config_path = Path::new(CONFIG_PATH);
    Ok(InitObserved {
        pool_exists,
        parent_exists,
        root,
        releases,
        jails,
        jails_mode,
        config: std::fs::read_to_string(local(config_path)).ok(),
        config_dir: local(config_path.parent().unwrap_or(Path::new("/"))).is_dir(),
        jails_config_dir: local(Path::new(JAILS_DIR)).is_dir(),
    })
}
