//! The simulated ZFS refuses what dsl_destroy.c and dmu_objset.c refuse.

use brig::host::{DatasetKind, Errno, Host};

use crate::common::Sim;

fn errno(r: brig::host::HostResult<impl std::fmt::Debug>) -> Errno {
    r.expect_err("the sim must refuse this").errno
}

fn no_props() -> Vec<(String, String)> {
    Vec::new()
}

#[test]
fn a_snapshot_with_a_clone_cannot_be_destroyed() {
    let sim = Sim::new();
    let mut h = sim.host();
    h.zfs_create("zroot/rel", &no_props()).expect("create");
    std::fs::write(sim.file("/zroot/rel/COPYRIGHT"), "bsd").expect("write");
    h.zfs_snapshot("zroot/rel@base").expect("snapshot");
    h.zfs_clone("zroot/rel@base", "zroot/jail", &no_props()).expect("clone");
    assert_eq!(std::fs::read_to_string(sim.file("/zroot/jail/COPYRIGHT")).expect("clone has the files"), "bsd");
    let e = h.zfs_destroy("zroot/rel@base", false).expect_err("has a clone");
    assert_eq!(e.errno, Errno::EEXIST);
    assert!(e.detail.contains("dependent clones"), "{}", e.detail);
    // Recursion does not help while the clone lives outside the tree.
    assert_eq!(errno(h.zfs_destroy("zroot/rel", true)), Errno::EEXIST);
    assert_eq!(h.zfs_get("zroot/jail", &["origin"]).expect("get")["origin"], "zroot/rel@base");
    h.zfs_destroy("zroot/jail", false).expect("clone goes");
    h.zfs_destroy("zroot/rel@base", false).expect("now the snapshot can go");
}

#[test]
fn destroy_needs_recursion_for_children_and_snapshots() {
    let sim = Sim::new();
    let mut h = sim.host();
    h.zfs_create("zroot/a", &no_props()).expect("a");
    h.zfs_create("zroot/a/b", &no_props()).expect("b");
    assert_eq!(errno(h.zfs_destroy("zroot/a", false)), Errno::EEXIST);
    h.zfs_snapshot("zroot/a/b@s").expect("snap");
    assert_eq!(errno(h.zfs_destroy("zroot/a/b", false)), Errno::EBUSY);
    h.zfs_destroy("zroot/a", true).expect("recursive");
    assert!(!sim.file("/zroot/a").exists(), "mountpoint removed");
    assert_eq!(errno(h.zfs_get("zroot/a", &["type"])), Errno::ENOENT);
    assert_eq!(errno(h.zfs_destroy("zroot/a", true)), Errno::ENOENT);
}

#[test]
fn create_checks_names_parents_and_properties() {
    let sim = Sim::new();
    let mut h = sim.host();
    assert_eq!(errno(h.zfs_create("zroot/no/parent", &no_props())), Errno::ENOENT);
    assert_eq!(errno(h.zfs_create("tank/x", &no_props())), Errno::ENOENT);
    assert_eq!(errno(h.zfs_create("zroot/bad name$", &no_props())), Errno::EINVAL);
    assert_eq!(errno(h.zfs_create("zroot/x@snap", &no_props())), Errno::EINVAL);
    let p = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    assert_eq!(errno(h.zfs_create("zroot/x", &p("colour", "blue"))), Errno::EINVAL);
    assert_eq!(errno(h.zfs_create("zroot/x", &p("readonly", "maybe"))), Errno::EINVAL);
    assert_eq!(errno(h.zfs_create("zroot/x", &p("used", "1"))), Errno::EINVAL);
    h.zfs_create("zroot/x", &p("brig:release", "14.3-RELEASE")).expect("user property");
    assert_eq!(errno(h.zfs_create("zroot/x", &no_props())), Errno::EEXIST);
    let got = h.zfs_get("zroot/x", &["brig:release", "brig:unset", "mountpoint", "mounted"]).expect("get");
    assert_eq!(got.get("brig:release").map(String::as_str), Some("14.3-RELEASE"));
    assert_eq!(got.get("brig:unset"), None);
    assert_eq!(got["mountpoint"], "/zroot/x");
    assert_eq!(got["mounted"], "yes");
    assert_eq!(errno(h.zfs_get("zroot/x", &["bogus"])), Errno::EINVAL);
}

#[test]
fn mountpoints_inherit_and_move_with_set_and_rename() {
    let sim = Sim::new();
    let mut h = sim.host();
    h.zfs_create("zroot/brig", &[("mountpoint".into(), "/usr/local/brig".into())]).expect("root");
    h.zfs_create("zroot/brig/jails", &no_props()).expect("jails");
    std::fs::write(sim.file("/usr/local/brig/jails/f"), "x").expect("write");
    assert_eq!(h.zfs_get("zroot/brig/jails", &["mountpoint"]).expect("get")["mountpoint"], "/usr/local/brig/jails");
    h.zfs_set("zroot/brig", &[("mountpoint".into(), "/srv/brig".into())]).expect("set");
    assert_eq!(std::fs::read_to_string(sim.file("/srv/brig/jails/f")).expect("moved"), "x");
    assert!(!sim.file("/usr/local/brig/jails/f").exists());
    h.zfs_rename("zroot/brig/jails", "zroot/brig/cells").expect("rename");
    assert_eq!(std::fs::read_to_string(sim.file("/srv/brig/cells/f")).expect("renamed"), "x");
    assert_eq!(errno(h.zfs_rename("zroot/brig/cells", "tank/cells")), Errno::EXDEV);
    assert_eq!(errno(h.zfs_rename("zroot/nope", "zroot/x")), Errno::ENOENT);
    h.zfs_create("zroot/other", &no_props()).expect("other");
    assert_eq!(errno(h.zfs_rename("zroot/other", "zroot/brig")), Errno::EEXIST);
}

#[test]
fn jailed_datasets_are_not_mounted_by_the_host() {
    let sim = Sim::new();
    let mut h = sim.host();
    h.zfs_create("zroot/data", &[("jailed".into(), "on".into())]).expect("create");
    assert_eq!(h.zfs_get("zroot/data", &["mounted"]).expect("get")["mounted"], "no");
    std::fs::create_dir_all(sim.file("/mnt")).expect("mkdir");
    let req = brig::host::MountRequest {
        fstype: "zfs".into(),
        source: "zroot/data".into(),
        target: "/mnt".into(),
        readonly: false,
        options: vec![],
    };
    assert_eq!(errno(h.mount(&req)), Errno::EPERM);
}

#[test]
fn list_returns_the_tree_with_snapshots_in_one_call() {
    let sim = Sim::new();
    let mut h = sim.host();
    h.zfs_create("zroot/r", &no_props()).expect("r");
    h.zfs_create("zroot/r/a", &no_props()).expect("a");
    h.zfs_snapshot("zroot/r/a@base").expect("snap");
    h.zfs_clone("zroot/r/a@base", "zroot/c", &no_props()).expect("clone");
    let l = h.zfs_list("zroot/r", &["origin", "clones"]).expect("list");
    let names: Vec<(&str, DatasetKind)> = l.iter().map(|d| (d.name.as_str(), d.kind)).collect();
    assert_eq!(
        names,
        vec![
            ("zroot/r", DatasetKind::Filesystem),
            ("zroot/r/a", DatasetKind::Filesystem),
            ("zroot/r/a@base", DatasetKind::Snapshot)
        ]
    );
    assert_eq!(l[2].props["clones"], "zroot/c");
    assert_eq!(l[0].props["origin"], "-");
    assert_eq!(errno(h.zfs_list("zroot/none", &[])), Errno::ENOENT);
}

#[test]
fn quota_below_used_space_is_refused() {
    let sim = Sim::new();
    let mut h = sim.host();
    h.zfs_create("zroot/q", &no_props()).expect("create");
    std::fs::write(sim.file("/zroot/q/big"), vec![0u8; 8192]).expect("write");
    assert_eq!(errno(h.zfs_set("zroot/q", &[("quota".into(), "1K".into())])), Errno::ENOSPC);
    h.zfs_set("zroot/q", &[("quota".into(), "1G".into())]).expect("fits");
    assert_eq!(h.zfs_get("zroot/q", &["quota"]).expect("get")["quota"], (1u64 << 30).to_string());
}
