//! Hosting: delegated datasets with quotas, attached while the jail runs
//! and mountable only by it; nested jails removed with their parent.

use brig::host::{Errno, Host, JailParam, MountRequest, SetFlags};

use crate::common::Sim;

const T1: &str = "type = \"empty\"\n[zfs]\nquota = \"2G\"\ndelegate = [{ name = \"data\", quota = \"1G\" }]\n";

/// An initialised sim with tenant jails defined by `defs` and made by
/// `brig apply`, each root holding the test userland.
fn tenants(defs: &[(&str, &str)]) -> Sim {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    for (name, text) in defs {
        std::fs::write(sim.file(&format!("/usr/local/etc/brig/jails/{name}.toml")), text).expect("definition");
    }
    sim.brig(&["apply"]).ok();
    for (name, _) in defs {
        let root = format!("/usr/local/brig/jails/{name}/root");
        crate::common::userland_root(&sim, &root);
        for f in ["rc", "rc.shutdown"] {
            std::fs::write(sim.file(&format!("{root}/etc/{f}")), "exit 0\n").expect("rc");
        }
    }
    sim
}

fn prop(sim: &Sim, ds: &str, p: &str) -> String {
    sim.host().zfs_get(ds, &[p]).expect("get").remove(p).unwrap_or_default()
}

#[test]
fn a_tenants_datasets_have_quotas_and_only_the_jail_mounts_its_data() {
    crate::common::needs_jail_processes!();
    let sim = tenants(&[("t1", T1)]);
    assert_eq!(prop(&sim, "zroot/brig/jails/t1/root", "quota"), (2u64 << 30).to_string());
    assert_eq!(prop(&sim, "zroot/brig/jails/t1/data", "quota"), (1u64 << 30).to_string());
    assert_eq!(prop(&sim, "zroot/brig/jails/t1/data", "jailed"), "on");
    assert_eq!(prop(&sim, "zroot/brig/jails/t1/data", "mountpoint"), "/data");
    std::fs::create_dir_all(sim.file("/mnt")).expect("mkdir");
    let e = sim
        .host()
        .mount(&MountRequest {
            fstype: "zfs".into(),
            source: "zroot/brig/jails/t1/data".into(),
            target: "/mnt".into(),
            readonly: false,
            options: Vec::new(),
        })
        .expect_err("the host cannot mount a jailed dataset");
    assert_eq!(e.errno, Errno::EPERM);

    sim.brig(&["start", "t1"]).ok();
    let mut h = sim.host();
    let j = h.jail_find("t1").expect("get").expect("running");
    assert_eq!((j.enforce_statfs, j.securelevel), (1, 2), "delegation needs enforce_statfs 1");
    h.jail_zfs_mount(j.jid, "zroot/brig/jails/t1/data").expect("the jail's root mounts its dataset");
    assert!(h.mounts().expect("mounts").iter().any(|m| m.source == "zroot/brig/jails/t1/data"
        && m.target == std::path::Path::new("/usr/local/brig/jails/t1/root/data")));
    assert_eq!(
        h.jail_zfs_mount(j.jid, "zroot/brig/jails/t1/root").map_err(|e| e.errno),
        Err(Errno::EPERM),
        "its root dataset is not delegated"
    );
    drop(h);
    let audit = sim.brig(&["audit", "t1", "--json"]).json();
    let subjects: Vec<&str> =
        audit["jails"][0]["findings"].as_array().expect("f").iter().filter_map(|f| f["subject"].as_str()).collect();
    assert!(subjects.contains(&"allow.mount.zfs = true") && subjects.contains(&"enforce_statfs = 1"), "{subjects:?}");

    sim.brig(&["debug", "sim-stats", "--reset"]).ok();
    sim.brig(&["stop", "t1"]).ok();
    assert_eq!(sim.brig(&["debug", "sim-stats", "--json"]).json()["ops"]["zfs_unjail"], 1, "detached on stop");
    assert!(!sim.host().mounts().expect("mounts").iter().any(|m| m.source == "zroot/brig/jails/t1/data"), "unmounted");
    sim.brig(&["start", "t1"]).ok();
    sim.brig(&["stop", "t1"]).ok();
}

#[test]
fn a_jail_without_mount_permissions_cannot_mount_an_attached_dataset() {
    let sim = tenants(&[("t1", T1)]);
    let mut h = sim.host();
    let jid = h
        .jail_set(
            &[
                JailParam::str("name", "bare"),
                JailParam::str("path", "/usr/local/brig/jails/t1/root"),
                JailParam::bool("persist", true),
            ],
            SetFlags::CREATE,
        )
        .expect("jail");
    h.zfs_jail("zroot/brig/jails/t1/data", jid).expect("attach");
    assert_eq!(h.zfs_jail("zroot/brig/jails/t1/data", jid).map_err(|e| e.errno), Err(Errno::EEXIST));
    let e = h.jail_zfs_mount(jid, "zroot/brig/jails/t1/data").expect_err("no allow.mount");
    assert_eq!(
        (e.errno, e.detail.as_str()),
        (Errno::EPERM, "mounting ZFS in a jail needs allow.mount and allow.mount.zfs")
    );
    h.zfs_unjail("zroot/brig/jails/t1/data", jid).expect("detach");
    assert_eq!(h.zfs_unjail("zroot/brig/jails/t1/data", jid).map_err(|e| e.errno), Err(Errno::ENOENT));
}

#[test]
fn destroying_a_tenant_leaves_the_others_whole() {
    let sim = tenants(&[("t1", T1), ("t2", T1)]);
    sim.brig(&["destroy", "t1"]).ok();
    let left: Vec<String> =
        sim.host().zfs_list("zroot/brig/jails", &[]).expect("list").into_iter().map(|d| d.name).collect();
    assert_eq!(
        left,
        vec!["zroot/brig/jails", "zroot/brig/jails/t2", "zroot/brig/jails/t2/data", "zroot/brig/jails/t2/root"]
    );
}

#[test]
fn apply_delegates_resizes_and_detaches_on_a_running_jail() {
    crate::common::needs_jail_processes!();
    let sim = tenants(&[("t1", "type = \"empty\"\n[zfs]\ndelegate = [\"data\"]\n")]);
    sim.brig(&["start", "t1"]).ok();
    let def = "/usr/local/etc/brig/jails/t1.toml";
    std::fs::write(
        sim.file(def),
        "type = \"empty\"\n[zfs]\nquota = \"3G\"\ndelegate = [\"data\", { name = \"logs\", quota = \"100M\" }]\n",
    )
    .expect("write");
    let plan = sim.brig(&["plan", "t1"]);
    assert_eq!(
        plan.ok().stdout,
        "t1 (running):\n  zfs set quota=3221225472 zroot/brig/jails/t1/root\n  zfs create -o jailed=on -o mountpoint=/logs -o quota=104857600 zroot/brig/jails/t1/logs\n  write /var/db/brig/started/t1.json (mode 600)\n  zfs jail t1 zroot/brig/jails/t1/logs\n  write /var/db/brig/started/t1.json (mode 600)\n5 changes to 1 jail\n"
    );
    sim.brig(&["apply"]).ok();
    let jid = sim.host().jail_find("t1").expect("get").expect("running").jid;
    sim.host().jail_zfs_mount(jid, "zroot/brig/jails/t1/logs").expect("attached live");
    assert!(sim.brig(&["apply"]).ok().stdout.starts_with("nothing to do"));

    std::fs::write(sim.file(def), "type = \"empty\"\n[zfs]\ndelegate = [\"data\"]\n").expect("write");
    sim.brig(&["apply"]).ok();
    assert_eq!(prop(&sim, "zroot/brig/jails/t1/root", "quota"), "0", "quota = none");
    assert!(sim.host().zfs_get("zroot/brig/jails/t1/logs", &["type"]).is_ok(), "detached, never destroyed");
    assert!(sim.brig(&["apply"]).ok().stdout.starts_with("nothing to do"));
    sim.brig(&["stop", "t1"]).ok();
}

#[test]
fn delegation_and_its_parameters_must_agree() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let path = sim.file("/usr/local/etc/brig/jails/t1.toml");
    std::fs::write(&path, "type = \"empty\"\n[params]\nenforce_statfs = 2\n[zfs]\ndelegate = [\"data\"]\n")
        .expect("write");
    let r = sim.brig(&["validate", "t1"]);
    r.fails(2);
    assert!(r.stderr.contains("t1.toml:5:13: delegated datasets need enforce_statfs below 2"), "{}", r.stderr);
    std::fs::write(&path, "type = \"empty\"\n[zfs]\ndelegate = [\"root\"]\n").expect("write");
    assert!(sim.brig(&["validate", "t1"]).stderr.contains("'root' is a name brig keeps for the jail's own root"));
}

#[test]
fn a_nested_jail_is_listed_under_its_parent_and_goes_with_it() {
    crate::common::needs_jail_processes!();
    let sim = tenants(&[("host1", "type = \"empty\"\n[params]\n\"children.max\" = 2\n")]);
    sim.brig(&["start", "host1"]).ok();
    std::fs::create_dir_all(sim.file("/usr/local/brig/jails/host1/root/child")).expect("mkdir");
    sim.host()
        .jail_set(
            &[
                JailParam::str("name", "host1.child"),
                JailParam::str("path", "/usr/local/brig/jails/host1/root/child"),
                JailParam::bool("persist", true),
            ],
            SetFlags::CREATE,
        )
        .expect("the jail's root makes a child");
    let list = sim.brig(&["list", "--json"]).json();
    let child =
        list["jails"].as_array().expect("jails").iter().find(|j| j["name"] == "host1.child").expect("listed").clone();
    assert_eq!(child["parent"], "host1");
    assert_eq!(child["managed"], false);
    let text = sim.brig(&["list"]);
    assert!(text.ok().stdout.contains("host1.child"), "{}", text.stdout);
    sim.brig(&["stop", "host1"]).ok();
    assert_eq!(sim.host().jail_find("host1.child").expect("get"), None, "removed with its parent");
}

fn with_release() -> Sim {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let m = crate::release::mirror(&crate::release::base_entries(), None);
    sim.brig(&["release", "fetch", "14.3-RELEASE", "--from", &m.path().display().to_string()]).ok();
    sim
}

#[test]
fn the_tenant_template_makes_a_customer_jail_with_overrides() {
    let sim = with_release();
    let list = sim.brig(&["template", "list", "--json"]).json();
    let names: Vec<&str> =
        list["templates"].as_array().expect("list").iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["nginx", "postgresql", "tenant", "unbound"]);
    assert_eq!(list["templates"][2]["source"], "shipped");
    assert!(sim.brig(&["template", "show", "tenant"]).ok().stdout.contains("[zfs]"));

    sim.brig(&[
        "create",
        "c1",
        "--template",
        "tenant",
        "--release",
        "14.3-RELEASE",
        "--ip4",
        "192.0.2.31/24",
        "--interface",
        "em0",
        "--set",
        "limits.memoryuse=4G",
        "--set",
        "zfs.delegate=[{ name = \"data\", quota = \"10G\" }, \"logs\"]",
    ])
    .ok();
    let def = std::fs::read_to_string(sim.file("/usr/local/etc/brig/jails/c1.toml")).expect("definition");
    assert!(def.contains("memoryuse = \"4G\"") && !def.contains("description"), "{def}");
    assert_eq!(prop(&sim, "zroot/brig/jails/c1/data", "quota"), (10u64 << 30).to_string());
    assert_eq!(prop(&sim, "zroot/brig/jails/c1/logs", "jailed"), "on");
    assert_eq!(prop(&sim, "zroot/brig/jails/c1/root", "quota"), (20u64 << 30).to_string(), "the template's own");
    let audit = sim.brig(&["audit", "c1", "--json"]).json();
    assert_eq!(audit["high"], 0, "a tenant has no high finding: {audit}");
    assert_eq!(audit["jails"][0]["advice"], serde_json::json!([]), "it has memory and process limits");

    let r = sim.brig(&[
        "create",
        "c2",
        "--template",
        "tenant",
        "--release",
        "14.3-RELEASE",
        "--set",
        "limits.memoryuse=lots",
    ]);
    r.fails(2);
    assert!(
        r.stderr.contains("--template tenant:") && r.stderr.contains("limits.memoryuse: 'lots' is not an amount"),
        "{}",
        r.stderr
    );
    assert!(!sim.file("/usr/local/etc/brig/jails/c2.toml").exists());
    assert!(sim.host().zfs_get("zroot/brig/jails/c2", &["type"]).is_err(), "nothing made");
    let r = sim.brig(&["create", "c2", "--template", "tenant", "--set", "zfs"]);
    r.fails(2);
    assert_eq!(r.stderr, "brig: --set zfs: expected KEY=VALUE, such as limits.memoryuse=4G\n");
    sim.brig(&["create", "c2", "--template", "nosuch"]).fails(3);

    // A template of the administrator's own, next to the shipped ones.
    std::fs::create_dir_all(sim.file("/usr/local/etc/brig/templates")).expect("mkdir");
    std::fs::write(
        sim.file("/usr/local/etc/brig/templates/small.toml"),
        "type = \"empty\"\n[template]\ndescription = \"tiny\"\n[limits]\nmaxproc = 10\n",
    )
    .expect("write");
    let list = sim.brig(&["template", "list"]);
    assert!(list.ok().stdout.lines().any(|l| l.starts_with("small ") && l.contains(" /")), "{}", list.stdout);
    sim.brig(&["create", "c3", "--template", "small"]).ok();
    assert!(std::fs::read_to_string(sim.file("/usr/local/etc/brig/jails/c3.toml"))
        .expect("def")
        .contains("maxproc = 10"));
}

#[test]
fn a_dataset_detached_behind_brigs_back_does_not_block_the_stop() {
    crate::common::needs_jail_processes!();
    let sim = tenants(&[("t1", T1)]);
    sim.brig(&["start", "t1"]).ok();
    let jid = sim.host().jail_find("t1").expect("get").expect("running").jid;
    sim.host().zfs_unjail("zroot/brig/jails/t1/data", jid).expect("the admin detaches it by hand");
    sim.brig(&["stop", "t1"]).ok();
    assert_eq!(sim.host_jails(), Vec::<String>::new());
}

#[test]
fn a_tenant_redirecting_a_mount_point_cannot_make_stop_unmount_anothers() {
    crate::common::needs_jail_processes!();
    let mount = |target: &str| format!("type = \"empty\"\n[[mount]]\nfstype = \"tmpfs\"\ntarget = \"{target}\"\n");
    let sim = tenants(&[("box", &mount("/mnt/data")), ("other", &mount("/data"))]);
    sim.brig(&["start", "box", "other"]).ok();
    // Root in box swaps the parent of its mount for a symlink to other's
    // root: /mnt/data now leads to other's /data.
    let root = sim.file("/usr/local/brig/jails/box/root");
    std::fs::rename(root.join("mnt"), root.join("mnt.old")).expect("move");
    std::os::unix::fs::symlink("/usr/local/brig/jails/other/root", root.join("mnt")).expect("plant");
    sim.brig(&["stop", "box"]).ok();
    let mounts = sim.host().mounts().expect("mounts");
    let on = |t: &str| mounts.iter().any(|m| m.target == std::path::Path::new(t));
    assert!(on("/usr/local/brig/jails/other/root/data"), "other's mount is untouched: {mounts:?}");
    assert!(!on("/usr/local/brig/jails/box/root/mnt/data"), "box's own mount is gone");
    sim.brig(&["stop", "other"]).ok();
    let left = sim.host().mounts().expect("mounts");
    let other = std::path::Path::new("/usr/local/brig/jails/other/root");
    assert!(!left.iter().any(|m| m.target.starts_with(other) && m.target != other), "{left:?}");
}

#[test]
fn info_shows_which_datasets_are_jailed_and_where_they_are_attached() {
    crate::common::needs_jail_processes!();
    let sim = tenants(&[("t1", T1)]);
    let data = |sim: &Sim| {
        let j = sim.brig(&["info", "t1", "--json"]).json();
        let ds = j["datasets"]
            .as_array()
            .expect("datasets")
            .iter()
            .find(|d| d["name"] == "zroot/brig/jails/t1/data")
            .cloned();
        ds.expect("the delegated dataset")
    };
    let d = data(&sim);
    assert_eq!((d["jailed"].as_bool(), d["attached_to"].is_null()), (Some(true), true), "{d}");
    sim.brig(&["start", "t1"]).ok();
    assert_eq!(data(&sim)["attached_to"], "t1");
    let r = sim.brig(&["info", "t1"]);
    assert!(
        r.ok()
            .stdout
            .lines()
            .any(|l| l.starts_with("zroot/brig/jails/t1/data") && l.contains("on") && l.contains("jail t1")),
        "{}",
        r.stdout
    );
    sim.brig(&["stop", "t1"]).ok();
}
