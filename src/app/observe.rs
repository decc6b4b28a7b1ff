//! Reading the machine into plain values for the planners. Reads only;
//! a handful of calls per command, never a process per jail.

use crate::kernel::rctl_rules::Rule;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::config::HostConfig;
use crate::host::{
    DatasetInfo, Errno, GetFlags, Host, HostError, HostResult, Interface, JailKey, LiveJail, MountEntry, LIVE_PARAMS,
};
use crate::kernel::params::{self, KernelParams};
use crate::plan::InitObserved;
use crate::state::layout::{CONFIG_PATH, JAILS_DIR};

/// `Some(props)` if the dataset exists, `None` if ZFS says ENOENT.
fn dataset(host: &dyn Host, name: &str, props: &[&str]) -> HostResult<Option<BTreeMap<String, String>>> {
    match host.zfs_get(name, props) {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.errno == Errno::ENOENT => Ok(None),
        Err(e) => Err(e),
    }
}

/// `zfs_list` of `root` with `props`; nothing when it does not exist.
pub fn listing(host: &dyn Host, root: &str, props: &[&str]) -> HostResult<Vec<crate::host::DatasetInfo>> {
    match host.zfs_list(root, props) {
        Err(e) if e.errno == crate::host::Errno::ENOENT => Ok(Vec::new()),
        other => other,
    }
}

/// Makes `name` unless it exists: a dataset that only holds others
/// (images, the layer cache), so never mounted itself.
pub fn ensure_container(host: &mut dyn Host, name: &str) -> HostResult<()> {
    if !dataset_exists(host, name)? {
        host.zfs_create(name, &[("canmount".into(), "off".into())])?;
    }
    Ok(())
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
    let jails_dir = want.jails_dir();
    let jails_mode = if host.is_dir(&jails_dir) { host.file_mode(&jails_dir).ok() } else { None };
    let config_path = Path::new(CONFIG_PATH);
    Ok(InitObserved {
        pool_exists,
        parent_exists,
        root,
        releases,
        jails,
        jails_mode,
        config: crate::config::read_machine_text(host, config_path).ok(),
        config_dir: host.is_dir(config_path.parent().unwrap_or(Path::new("/"))),
        jails_config_dir: host.is_dir(Path::new(JAILS_DIR)),
        mountpoint_occupied: host.list_dir(&want.mountpoint).is_ok_and(|names| !names.is_empty()),
    })
}

/// The jail parameters among `names` that this kernel knows, found as
/// libjail's jailparam_type finds them: `security.jail.param.NAME` exists
/// (ENOENT: unknown, as when its module is not loaded; any other error is
/// a real failure), and is a leaf or a node with a value (`allow.mount`,
/// `host`, `ip4` and the other jailsys parameters keep their value in an
/// empty-named child; reading such a node is EISDIR). Its type must be
/// the one brig's table has, or brig would encode a value the kernel
/// misreads. One lookup per distinct name, however many jails use it,
/// and kern.osrelease when one is missing.
pub fn known_params<'a>(host: &dyn Host, names: impl IntoIterator<Item = &'a str>) -> HostResult<KernelParams> {
    let mut known = BTreeSet::new();
    let mut asked = BTreeSet::new();
    for name in names {
        if !asked.insert(name) {
            continue;
        }
        let sysctl = format!("security.jail.param.{name}");
        let kernel = match host.sysctl_type(&sysctl) {
            Ok(t) => t,
            Err(e) if e.errno == Errno::ENOENT => continue,
            Err(e) => return Err(e),
        };
        let Some(value) = kernel.value_type() else { continue };
        if let Some(l) = params::lookup(name).filter(|l| !l.negated) {
            if !crate::kernel::sysctl::agrees(l.def.ty, value) {
                let (_, want) = crate::kernel::sysctl::expected(l.def.ty);
                return Err(HostError::new(
                    "sysctl_type",
                    Errno::EINVAL,
                    format!(
                        "{sysctl} has the format {:?} on this kernel where brig expects {want:?}; brig cannot set {name} safely on it",
                        value.fmt
                    ),
                ));
            }
        }
        known.insert(name.to_string());
    }
    // The release only words why one is missing.
    let release =
        if known.len() < asked.len() { host.sysctl_get("kern.osrelease")?.to_string() } else { String::new() };
    Ok(KernelParams::new(known, release))
}

/// A jail of this name that is dying and no running one, if any:
/// jail_get(2) with JAIL_DYING prefers a running jail of the name.
pub fn dying(host: &dyn Host, name: &str) -> HostResult<Option<LiveJail>> {
    match host.jail_get(&JailKey::Name(name.to_string()), LIVE_PARAMS, GetFlags::DYING) {
        Ok(values) => Ok(Some(LiveJail::from_params(&values)).filter(|j| j.dying)),
        Err(e) if e.errno == Errno::ENOENT => Ok(None),
        Err(e) => Err(e),
    }
}

/// The rctl rules matching `filter`; None while racct is off (ENOSYS),
/// when the kernel keeps no rules at all.
pub fn rctl_rules(host: &dyn Host, filter: &str) -> HostResult<Option<Vec<Rule>>> {
    match host.rctl_rules(filter) {
        // Every rule the kernel lists parses (rctl_rule_to_sbuf writes
        // what rctl_string_to_rule reads).
        Ok(r) => Ok(Some(r.iter().filter_map(|t| Rule::parse(t).ok()).collect())),
        Err(e) if e.errno == Errno::ENOSYS => Ok(None),
        Err(e) => Err(e),
    }
}

/// Everything `brig plan` compares definitions with, read in a fixed
/// number of calls whatever the number of jails: one ZFS listing, one
/// getfsstat, one getifaddrs, one jail_get sweep.
pub struct Machine {
    /// Every dataset and snapshot under brig's root, with its origin.
    pub datasets: BTreeMap<String, DatasetInfo>,
    pub mounts: Vec<MountEntry>,
    pub interfaces: Vec<Interface>,
    /// Running (not dying) jails by name.
    pub jails: BTreeMap<String, LiveJail>,
}

pub fn machine(host: &dyn Host, cfg: &HostConfig) -> HostResult<Machine> {
    let datasets = host
        .zfs_list(cfg.dataset.as_str(), &["origin", "quota", "reservation"])?
        .into_iter()
        .map(|d| (d.name.clone(), d))
        .collect();
    Ok(Machine {
        datasets,
        mounts: host.mounts()?,
        interfaces: host.interfaces()?,
        jails: host.jail_list()?.into_iter().filter(|j| !j.dying).map(|j| (j.name.clone(), j)).collect(),
    })
}

/// The record of a jail's start, if there is one. A record that cannot be
/// read as one counts as empty, so the next stop still removes it.
pub fn started(host: &dyn Host, name: &crate::model::JailName) -> Option<crate::plan::run::Started> {
    let text = host.read_file(&crate::plan::run::started_path(name), crate::state::bounded::CONFIG_LIMIT).ok()?;
    Some(serde_json::from_slice(&text).unwrap_or_default())
}

/// Why a running jail of a brig name is not brig's own, if it is not: brig
/// starts a jail from its root under the jails dataset and records the
/// start first, so a jail without that record (made by jail(8), another
/// tool, or left from another system) or running from another root (jail
/// path compared as the kernel resolved it) is someone else's.
pub fn foreign(
    host: &dyn Host,
    cfg: &HostConfig,
    name: &crate::model::JailName,
    live: &LiveJail,
) -> Option<crate::plan::jail::Foreign> {
    use crate::plan::jail::Foreign;
    let root = crate::plan::jail::root_path(cfg, name);
    let canonical = std::fs::canonicalize(host.local_path(&root)).ok();
    let same_root =
        Path::new(&live.path) == root || canonical.as_deref() == Some(host.local_path(Path::new(&live.path)).as_path());
    if !same_root {
        return Some(Foreign::OtherRoot { name: name.clone(), jid: live.jid, path: live.path.clone(), root });
    }
    if started(host, name).is_none() {
        return Some(Foreign::NoRecord { name: name.clone(), jid: live.jid });
    }
    None
}
