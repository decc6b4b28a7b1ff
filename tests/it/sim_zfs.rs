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
    h.zfs_snapshot(&["zroot/rel@base"]).expect("snapshot");
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
    h.zfs_snapshot(&["zroot/a/b@s"]).expect("snap");
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
    h.zfs_snapshot(&["zroot/r/a@base"]).expect("snap");
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

/// A process on the machine the sim runs on, with its working directory
/// in `dir` (a local path), as a shell left in a mountpoint would be.
fn resident(dir: &std::path::Path) -> std::process::Child {
    std::process::Command::new("sleep").arg("300").current_dir(dir).spawn().expect("sleep runs")
}

#[test]
fn a_busy_filesystem_is_neither_destroyed_nor_renamed() {
    // zfs_destroy_005_neg and zfs_rename_nounmount: a working directory in
    // a mounted filesystem makes its unmount, and so destroy and rename,
    // EBUSY; rename then changes nothing.
    let sim = Sim::new();
    let mut h = sim.host();
    h.zfs_create("zroot/a", &no_props()).expect("a");
    h.zfs_create("zroot/a/busy", &no_props()).expect("busy");
    h.zfs_create("zroot/a/idle", &no_props()).expect("idle");
    h.zfs_snapshot(&["zroot/a/idle@s"]).expect("snapshot");
    let mut child = resident(&sim.file("/zroot/a/busy"));
    let e = h.zfs_rename("zroot/a", "zroot/b").expect_err("busy");
    assert_eq!(e.errno, Errno::EBUSY, "{}", e.detail);
    assert!(e.detail.contains("pool or dataset is busy"), "{}", e.detail);
    assert!(h.zfs_get("zroot/a/busy", &["type"]).is_ok(), "nothing renamed");
    assert_eq!(h.zfs_get("zroot/a/busy", &["mounted"]).expect("get")["mounted"], "yes", "nothing unmounted");
    // Recursive destroy is best effort: what can go goes.
    assert_eq!(errno(h.zfs_destroy("zroot/a", true)), Errno::EBUSY);
    let left: Vec<String> = h.zfs_list("zroot/a", &[]).expect("list").into_iter().map(|d| d.name).collect();
    assert_eq!(left, vec!["zroot/a", "zroot/a/busy"], "the idle child and its snapshot went");
    child.kill().expect("kill");
    child.wait().expect("reaped");
    h.zfs_destroy("zroot/a", true).expect("a second destroy finishes the tree");
}

#[test]
fn a_held_snapshot_stays_until_released() {
    let sim = Sim::new();
    let mut h = sim.host();
    h.zfs_create("zroot/r", &no_props()).expect("r");
    h.zfs_snapshot(&["zroot/r@base"]).expect("snapshot");
    h.zfs_hold("zroot/r@base", "backup").expect("hold");
    assert_eq!(errno(h.zfs_hold("zroot/r@base", "backup")), Errno::EEXIST);
    assert_eq!(errno(h.zfs_hold("zroot/r", "backup")), Errno::EINVAL);
    let e = h.zfs_destroy("zroot/r@base", false).expect_err("held");
    assert_eq!(e.errno, Errno::EBUSY);
    assert!(e.detail.contains("'backup'"), "{}", e.detail);
    assert_eq!(errno(h.zfs_destroy("zroot/r", true)), Errno::EBUSY, "recursion does not help");
    assert!(h.zfs_get("zroot/r@base", &["type"]).is_ok());
}

#[test]
fn percent_is_refused_in_every_name() {
    let sim = Sim::new();
    let mut h = sim.host();
    assert_eq!(errno(h.zfs_create("zroot/a%b", &no_props())), Errno::EINVAL);
    h.zfs_create("zroot/a", &no_props()).expect("a");
    assert_eq!(errno(h.zfs_snapshot(&["zroot/a@s%t"])), Errno::EINVAL);
    assert_eq!(errno(h.zfs_rename("zroot/a", "zroot/%recv")), Errno::EINVAL);
}

#[test]
fn renames_may_not_nest_deeper_than_the_limit() {
    let sim = Sim::new();
    let mut h = sim.host();
    let mut name = "zroot".to_string();
    for i in 0..48 {
        name = format!("{name}/d{i}");
        h.zfs_create(&name, &no_props()).expect("nested");
    }
    h.zfs_create("zroot/x", &no_props()).expect("x");
    h.zfs_create("zroot/x/y", &no_props()).expect("y");
    let e = h.zfs_rename("zroot/x", &format!("{name}/x")).expect_err("too deep");
    assert_eq!(e.errno, Errno::ENAMETOOLONG);
    h.zfs_rename("zroot/x/y", "zroot/y").expect("shallower is fine");
}

#[test]
fn attachments_are_names_in_the_jails_zone() {
    // zone_dataset_attach keeps names per jail: one dataset may be in
    // several jails, destroying it detaches nothing, and only the prison's
    // end clears the zone. brig, not the kernel, protects tenant data.
    let sim = Sim::new();
    let mut h = sim.host();
    std::fs::create_dir_all(sim.file("/j")).expect("mkdir");
    let jail = |n: &str| {
        vec![
            brig::host::JailParam::str("name", n),
            brig::host::JailParam::str("path", "/j"),
            brig::host::JailParam::bool("persist", true),
        ]
    };
    let a = h.jail_set(&jail("a"), brig::host::SetFlags::CREATE).expect("a");
    let b = h.jail_set(&jail("b"), brig::host::SetFlags::CREATE).expect("b");
    let jailed = vec![("jailed".to_string(), "on".to_string())];
    h.zfs_create("zroot/data", &jailed).expect("data");
    h.zfs_jail("zroot/data", a).expect("a");
    h.zfs_jail("zroot/data", b).expect("and b");
    assert_eq!(errno(h.zfs_jail("zroot/data", a)), Errno::EEXIST);
    assert_eq!(errno(h.zfs_jail("zroot/data", 99)), Errno::ENOENT);
    h.zfs_destroy("zroot/data", false).expect("the kernel does not refuse");
    assert_eq!(errno(h.zfs_unjail("zroot/data", 99)), Errno::ENOENT);
    h.zfs_unjail("zroot/data", a).expect("the name is still attached");
    assert_eq!(errno(h.zfs_unjail("zroot/data", a)), Errno::ENOENT);
}

#[test]
fn the_host_may_not_rename_or_move_a_jailed_dataset() {
    let sim = Sim::new();
    let mut h = sim.host();
    let jailed = vec![("jailed".to_string(), "on".to_string())];
    h.zfs_create("zroot/t", &no_props()).expect("t");
    h.zfs_create("zroot/t/data", &jailed).expect("data");
    let e = h.zfs_rename("zroot/t/data", "zroot/t/other").expect_err("jailed");
    assert_eq!((e.errno, e.detail.contains("non-global zone")), (Errno::EPERM, true), "{}", e.detail);
    let mp = vec![("mountpoint".to_string(), "/srv".to_string())];
    assert_eq!(errno(h.zfs_set("zroot/t/data", &mp)), Errno::EPERM);
    h.zfs_set("zroot/t/data", &[("quota".to_string(), "1G".to_string())]).expect("a quota is the host's to set");
}
