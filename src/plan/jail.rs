//! Creating and destroying a jail's datasets and definition.

use std::path::PathBuf;

use super::release::{self as release_plan, BASE_SNAPSHOT};
use super::Op;
use crate::config::HostConfig;
use crate::kernel::{Interface, LiveJail, MountEntry};
use crate::model::jail::JailSpec;
use crate::model::jail::JailType;
use crate::model::snapshot::SnapshotName;
use crate::model::zfs::Delegated;
use crate::model::{DatasetName, JailName, ReleaseName};
use crate::state::layout::definition_path;

/// `<root>/jails/NAME`: the jail's own dataset; its root is `.../root`.
pub fn dataset(cfg: &HostConfig, name: &JailName) -> DatasetName {
    cfg.jails().child(name.as_str())
}

pub fn root_dataset(cfg: &HostConfig, name: &JailName) -> DatasetName {
    dataset(cfg, name).child("root")
}

/// The jail's root directory on the managed machine.
pub fn root_path(cfg: &HostConfig, name: &JailName) -> PathBuf {
    cfg.jails_dir().join(name.as_str()).join("root")
}

/// A running jail with a brig jail's name that brig did not start: brig
/// leaves it alone, and says how to take it down.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Foreign {
    #[error("a jail named {name} is running (jid {jid}) from {path}, not from brig's root {}; stop it with `jail -r {jid}` first; brig leaves it alone", root.display())]
    OtherRoot { name: JailName, jid: i32, path: String, root: PathBuf },
    #[error("a jail named {name} is running (jid {jid}) that brig did not start (it has no start record); stop it with `jail -r {jid}` first; brig leaves it alone")]
    NoRecord { name: JailName, jid: i32 },
}

/// The steps of `brig create`: datasets first, then the files inside the
/// root, the definition last, so that a failure undoes everything and a
/// jail is only defined once it exists.
pub fn create(cfg: &HostConfig, spec: &JailSpec, definition: &str, origin: &str) -> Vec<Op> {
    let mut ops = vec![jail_dataset(cfg, spec)];
    ops.extend(root(cfg, spec, origin));
    ops.extend(spec.zfs.delegate.iter().map(|d| delegated(cfg, spec, d)));
    ops.push(Op::WriteFile { path: definition_path(&spec.name), contents: definition.to_string(), mode: 0o600 });
    ops
}

/// The steps of `brig clone`: jail `spec` made from `source`'s snapshot
/// `snap`: its dataset, its root and each delegated dataset the source
/// has a clone of the source's (the others made empty), its hostname in
/// rc.conf, its definition last.
pub fn clone(cfg: &HostConfig, source: &JailName, spec: &JailSpec, snap: &SnapshotName, definition: &str) -> Vec<Op> {
    let mut ops = vec![jail_dataset(cfg, spec)];
    let root = root_dataset(cfg, &spec.name);
    let origin = |ds: &DatasetName| format!("{ds}@{snap}");
    ops.push(Op::Clone { origin: origin(&root_dataset(cfg, source)), name: root.clone(), props: root_props(spec) });
    ops.push(Op::SetRcConf { dataset: root, vars: vec![("hostname".into(), spec.hostname.clone())] });
    for d in &spec.zfs.delegate {
        let Op::CreateDataset { name, props } = delegated(cfg, spec, d) else { continue };
        ops.push(Op::Clone { origin: origin(&delegated_dataset(cfg, source, d)), name, props });
    }
    ops.push(Op::WriteFile { path: definition_path(&spec.name), contents: definition.to_string(), mode: 0o600 });
    ops
}

/// `<root>/jails/NAME`, tagged with the jail's name.
pub fn jail_dataset(cfg: &HostConfig, spec: &JailSpec) -> Op {
    Op::CreateDataset { name: dataset(cfg, &spec.name), props: vec![("brig:jail".into(), spec.name.to_string())] }
}

/// The jail's root dataset (a clone of release snapshot `origin`, a copy
/// or empty, with its quota and reservation) and the files brig writes
/// into it.
pub fn root(cfg: &HostConfig, spec: &JailSpec, origin: &str) -> Vec<Op> {
    let root = root_dataset(cfg, &spec.name);
    let props = root_props(spec);
    let mut ops = Vec::new();
    match (spec.jail_type, &spec.release) {
        (JailType::Thin, Some(_)) => {
            ops.push(Op::Clone { origin: origin.to_string(), name: root.clone(), props });
        }
        (JailType::Thick, Some(r)) => {
            ops.push(Op::CreateDataset { name: root.clone(), props });
            ops.push(Op::CopyTree { from: release_plan::dataset(cfg, r), to: root.clone() });
        }
        _ => ops.push(Op::CreateDataset { name: root.clone(), props }),
    }
    ops.extend(root_files(cfg, spec));
    ops
}

/// The files brig writes into every new root: the hostname in rc.conf,
/// the host's resolv.conf and localtime.
pub fn root_files(cfg: &HostConfig, spec: &JailSpec) -> Vec<Op> {
    let root = root_dataset(cfg, &spec.name);
    let mut ops = vec![Op::SetRcConf { dataset: root.clone(), vars: vec![("hostname".into(), spec.hostname.clone())] }];
    for f in ["/etc/resolv.conf", "/etc/localtime"] {
        ops.push(Op::CopyIntoJail { dataset: root.clone(), from: f.into(), to: f.into() });
    }
    ops
}

/// `quota` and `reservation` of the root dataset, as `zfs -o` takes them.
pub fn root_props(spec: &JailSpec) -> Vec<(String, String)> {
    let mut p = Vec::new();
    if let Some(q) = spec.zfs.quota {
        p.push(("quota".to_string(), q.to_string()));
    }
    if let Some(r) = spec.zfs.reservation {
        p.push(("reservation".to_string(), r.to_string()));
    }
    p
}

/// `<root>/jails/NAME/<d>`: jailed, so only the jail mounts it, at its
/// mountpoint inside the jail.
pub fn delegated_dataset(cfg: &HostConfig, name: &JailName, d: &Delegated) -> DatasetName {
    dataset(cfg, name).child(&d.name)
}

/// The step that creates a delegated dataset.
pub fn delegated(cfg: &HostConfig, spec: &JailSpec, d: &Delegated) -> Op {
    let mut props =
        vec![("jailed".to_string(), "on".to_string()), ("mountpoint".to_string(), d.mountpoint.display().to_string())];
    if let Some(q) = d.quota {
        props.push(("quota".to_string(), q.to_string()));
    }
    Op::CreateDataset { name: delegated_dataset(cfg, &spec.name, d), props }
}

/// The snapshot `brig release fetch` sealed release `r` with.
pub fn release_origin(cfg: &HostConfig, r: &ReleaseName) -> String {
    format!("{}@{BASE_SNAPSHOT}", release_plan::dataset(cfg, r))
}

/// The snapshot a new thin jail of release `r` is cloned from: the
/// newest patch level (`release update`) among the dataset and snapshot
/// names given, else the fetched one.
pub fn newest_origin<'a>(cfg: &HostConfig, r: &ReleaseName, names: impl IntoIterator<Item = &'a str>) -> String {
    let prefix = format!("{}@", release_plan::dataset(cfg, r));
    let levels = names.into_iter().filter_map(|n| n.strip_prefix(&prefix));
    match crate::model::version::newest_snapshot(levels) {
        Some(s) => format!("{prefix}{s}"),
        None => release_origin(cfg, r),
    }
}

/// What `brig destroy` found on the machine.
pub struct DestroySeen<'a> {
    pub running: Option<&'a LiveJail>,
    /// A dying jail of that name (see `run::StopSeen::dying`).
    pub dying: Option<&'a LiveJail>,
    pub mounts: &'a [MountEntry],
    pub interfaces: &'a [Interface],
    /// The record of its last start, if any.
    pub started: Option<&'a super::run::Started>,
    /// Every jail's rctl rules in the kernel.
    pub rules: &'a [crate::kernel::rctl_rules::Rule],
    pub dataset_exists: bool,
    pub definition_exists: bool,
}

/// The steps of `brig destroy`: a running jail is removed first (only
/// with --force, checked by the caller), then whatever is mounted in its
/// root (deepest first), its aliases, its datasets, and the definition
/// last, so an interrupted destroy is finished by running it again.
pub fn destroy(cfg: &HostConfig, name: &JailName, seen: &DestroySeen) -> Vec<Op> {
    let mut ops = Vec::new();
    if let Some(j) = seen.running {
        // Detached first: the kernel keeps an attached name in the jail's
        // zone until the prison is freed, and a dataset made later under
        // that name would be the jail's too.
        for d in seen.started.map(|s| s.datasets.as_slice()).unwrap_or_default() {
            if let Ok(dataset) = DatasetName::parse(d) {
                ops.push(Op::DetachDataset { dataset, jail: name.clone() });
            }
        }
        ops.push(Op::RemoveJail { name: name.clone(), jid: j.jid });
    } else if let Some(j) = seen.dying {
        ops.push(Op::AwaitGone { name: name.clone(), jid: j.jid });
    }
    ops.extend(super::run::remove_rules(name, seen.rules));
    ops.extend(super::run::unmount_all(cfg, name, seen.mounts));
    ops.extend(super::run::remove_aliases(seen.started, seen.interfaces));
    if seen.started.is_some() {
        ops.push(Op::RemoveFile { path: super::run::started_path(name) });
    }
    if seen.dataset_exists {
        ops.push(Op::DestroyDataset { name: dataset(cfg, name), recursive: true });
    }
    if seen.definition_exists {
        ops.push(Op::RemoveFile { path: definition_path(name) });
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{cfg, golden, lines, rule, spec};

    #[test]
    fn golden_thin_create() {
        let s = spec("release = \"14.3-RELEASE\"\nhostname = \"web.example.org\"\n");
        golden("create-thin.txt", &create(&cfg(), &s, "", "zroot/brig/releases/14.3-RELEASE@base"));
    }

    #[test]
    fn thick_copies_and_empty_creates() {
        let thick = lines(&create(&cfg(), &spec("release = \"14.3-RELEASE\"\ntype = \"thick\"\n"), "", ""));
        assert_eq!(thick[1], "zfs create zroot/brig/jails/web/root");
        assert_eq!(thick[2], "copy the files of zroot/brig/releases/14.3-RELEASE into zroot/brig/jails/web/root");
        let empty = lines(&create(&cfg(), &spec("type = \"empty\"\n"), "", ""));
        assert_eq!(empty[1], "zfs create zroot/brig/jails/web/root");
        assert!(!empty.iter().any(|l| l.contains("clone") || l.contains("copy the files")));
    }

    #[test]
    fn golden_forced_destroy_of_a_running_jail() {
        let s = spec("release = \"14.3-RELEASE\"\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.10/24\"]\n");
        let live = LiveJail::from_params(&[
            crate::kernel::JailParam::int("jid", 7),
            crate::kernel::JailParam::str("name", "web"),
        ]);
        let m = |t: &str, fs: &str| crate::plan::testing::mount(t, fs, fs, false);
        let mounts = vec![
            m("/usr/local/brig/jails/web/root", "zfs"),
            m("/usr/local/brig/jails/web/root/dev", "devfs"),
            m("/usr/local/brig/jails/web/root/dev/fd", "fdescfs"),
            m("/usr/local/brig/jails/webby/root/dev", "devfs"),
        ];
        let ifs = vec![Interface { name: "em0".into(), up: true, addrs: vec!["192.0.2.10/24".parse().expect("addr")] }];
        let started = super::super::run::Started {
            aliases: vec![super::super::run::Alias {
                interface: "em0".into(),
                addr: "192.0.2.10/24".parse().expect("a"),
            }],
            datasets: vec!["zroot/brig/jails/web/data".into()],
            stop: None,
            vnet: None,
            firewall: None,
        };
        let seen = DestroySeen {
            running: Some(&live),
            dying: None,
            mounts: &mounts,
            interfaces: &ifs,
            started: Some(&started),
            rules: &[rule("jail:web:maxproc:deny=10"), rule("jail:webby:maxproc:deny=10")],
            dataset_exists: true,
            definition_exists: true,
        };
        golden("destroy-running.txt", &destroy(&cfg(), &s.name, &seen));
    }
}
