//! The simulated kernel refuses jail requests the way kern_jail.c does.

use std::net::Ipv4Addr;

use brig::host::{Errno, GetFlags, Host, JailKey, JailParam, JailSys, ParamValue, SetFlags};

use crate::common::Sim;

fn mkdir(sim: &Sim, p: &str) -> String {
    std::fs::create_dir_all(sim.file(p)).expect("mkdir");
    p.to_string()
}

fn jail(name: &str, path: &str) -> Vec<JailParam> {
    vec![JailParam::str("name", name), JailParam::str("path", path), JailParam::bool("persist", true)]
}

fn errno(r: brig::host::HostResult<impl std::fmt::Debug>) -> Errno {
    r.expect_err("the sim must refuse this").errno
}

#[test]
fn a_jail_that_neither_persists_nor_attaches_is_einval() {
    let sim = Sim::new();
    let mut h = sim.host();
    let root = mkdir(&sim, "/jails/a");
    let e = h
        .jail_set(&[JailParam::str("name", "a"), JailParam::str("path", &root)], SetFlags::CREATE)
        .expect_err("refused");
    assert_eq!(e.errno, Errno::EINVAL);
    assert_eq!(e.detail, "new jail must persist or attach");
    let e = h
        .jail_set(
            &[JailParam::str("name", "a"), JailParam::str("path", &root), JailParam::bool("persist", false)],
            SetFlags::CREATE,
        )
        .expect_err("nopersist is not persist");
    assert_eq!(e.errno, Errno::EINVAL);
    assert!(h.jail_set(&jail("a", &root), SetFlags::CREATE).is_ok());
}

#[test]
fn an_unknown_parameter_is_einval_naming_it() {
    let sim = Sim::new();
    let mut h = sim.host();
    let root = mkdir(&sim, "/jails/a");
    let mut p = jail("a", &root);
    p.push(JailParam::int("allow.teleport", 1));
    let e = h.jail_set(&p, SetFlags::CREATE).expect_err("unknown");
    assert_eq!((e.errno, e.detail.as_str()), (Errno::EINVAL, "unknown parameter: allow.teleport"));
    // Read-only parameters are not settable either.
    let mut p = jail("a", &root);
    p.push(JailParam::int("children.cur", 1));
    assert_eq!(errno(h.jail_set(&p, SetFlags::CREATE)), Errno::EINVAL);
}

#[test]
fn path_and_other_create_only_parameters_cannot_change() {
    let sim = Sim::new();
    let mut h = sim.host();
    let root = mkdir(&sim, "/jails/a");
    let other = mkdir(&sim, "/jails/b");
    h.jail_set(&jail("a", &root), SetFlags::CREATE).expect("created");
    let upd = |p: JailParam| vec![JailParam::str("name", "a"), p];
    let e = h.jail_set(&upd(JailParam::str("path", &other)), SetFlags::UPDATE).expect_err("path");
    assert_eq!((e.errno, e.detail.as_str()), (Errno::EINVAL, "path cannot be changed after creation"));
    assert_eq!(errno(h.jail_set(&upd(JailParam::str("osrelease", "13.0-RELEASE")), SetFlags::UPDATE)), Errno::EINVAL);
    assert_eq!(
        errno(h.jail_set(&upd(JailParam::new("vnet", ParamValue::JailSys(JailSys::New))), SetFlags::UPDATE)),
        Errno::EINVAL
    );
    // Every create-only parameter of the table, not a hand-kept list.
    assert_eq!(errno(h.jail_set(&upd(JailParam::int("osreldate", 1_300_000)), SetFlags::UPDATE)), Errno::EINVAL);
    let e =
        h.jail_set(&upd(JailParam::new("ip4", ParamValue::JailSys(JailSys::New))), SetFlags::UPDATE).expect_err("ip4");
    assert_eq!(e.detail, "ip4 cannot be changed after creation");
    // Writable parameters can.
    h.jail_set(&upd(JailParam::str("host.hostname", "a.example.org")), SetFlags::UPDATE).expect("hostname changes");
    let got = h.jail_get(&JailKey::Name("a".into()), &["host.hostname"], GetFlags::ALIVE).expect("get");
    assert_eq!(got[0].value, ParamValue::Str("a.example.org".into()));
}

#[test]
fn duplicate_and_all_digit_names_are_refused() {
    let sim = Sim::new();
    let mut h = sim.host();
    let root = mkdir(&sim, "/jails/a");
    h.jail_set(&jail("web", &root), SetFlags::CREATE).expect("first");
    let e = h.jail_set(&jail("web", &root), SetFlags::CREATE).expect_err("second");
    assert_eq!((e.errno, e.detail.as_str()), (Errno::EEXIST, "jail \"web\" already exists"));
    // An all-digit name must be the jid: refused when a different jid is
    // given, or with a leading zero...
    let mut numeric = jail("1234", &root);
    numeric.push(JailParam::int("jid", 5));
    let e = h.jail_set(&numeric, SetFlags::CREATE).expect_err("numeric");
    assert_eq!((e.errno, e.detail.as_str()), (Errno::EINVAL, "name cannot be numeric (unless it is the jid)"));
    let e = h.jail_set(&jail("0123", &root), SetFlags::CREATE).expect_err("leading zero");
    assert_eq!(e.errno, Errno::EINVAL);
    let e = h.jail_set(&jail("web.77", &root), SetFlags::UPDATE).expect_err("numeric child");
    assert_eq!(e.errno, Errno::EINVAL);
    // ...and without a jid the kernel takes the jid from it; a second
    // create of the same number finds that jail.
    assert_eq!(h.jail_set(&jail("1234", &root), SetFlags::CREATE).expect("jid from name"), 1234);
    assert_eq!(errno(h.jail_set(&jail("1234", &root), SetFlags::CREATE)), Errno::EEXIST);
}

#[test]
fn path_must_be_an_existing_directory() {
    let sim = Sim::new();
    let mut h = sim.host();
    assert_eq!(errno(h.jail_set(&jail("a", "/no/such/dir"), SetFlags::CREATE)), Errno::ENOENT);
    std::fs::write(sim.file("/file"), "x").expect("write");
    assert_eq!(errno(h.jail_set(&jail("a", "/file"), SetFlags::CREATE)), Errno::ENOTDIR);
}

#[test]
fn value_ranges_and_types_are_checked() {
    let sim = Sim::new();
    let mut h = sim.host();
    let root = mkdir(&sim, "/j");
    let with = |p: JailParam| {
        let mut v = jail("a", &root);
        v.push(p);
        v
    };
    assert_eq!(errno(h.jail_set(&with(JailParam::int("enforce_statfs", 3)), SetFlags::CREATE)), Errno::EINVAL);
    assert_eq!(errno(h.jail_set(&with(JailParam::int("devfs_ruleset", 70000)), SetFlags::CREATE)), Errno::EINVAL);
    // A string where the kernel expects an int has the wrong size.
    assert_eq!(errno(h.jail_set(&with(JailParam::str("securelevel", "2")), SetFlags::CREATE)), Errno::EINVAL);
    let long = "h".repeat(256);
    assert_eq!(errno(h.jail_set(&with(JailParam::str("host.hostname", &long)), SetFlags::CREATE)), Errno::ENAMETOOLONG);
    assert_eq!(
        errno(h.jail_set(&with(JailParam::new("host", ParamValue::JailSys(JailSys::Disable))), SetFlags::CREATE)),
        Errno::EINVAL
    );
}

#[test]
fn shared_addresses_clash_only_when_a_jail_has_several() {
    let sim = Sim::new();
    let mut h = sim.host();
    let root = mkdir(&sim, "/j");
    let ip = |name: &str, addrs: Vec<Ipv4Addr>| {
        let mut v = jail(name, &root);
        v.push(JailParam::new("ip4.addr", ParamValue::Ip4(addrs)));
        v
    };
    let a = Ipv4Addr::new(192, 0, 2, 10);
    let b = Ipv4Addr::new(192, 0, 2, 11);
    h.jail_set(&ip("one", vec![a]), SetFlags::CREATE).expect("one");
    h.jail_set(&ip("two", vec![a]), SetFlags::CREATE).expect("same single address is allowed");
    let e = h.jail_set(&ip("three", vec![a, b]), SetFlags::CREATE).expect_err("clash");
    assert_eq!((e.errno, e.detail.as_str()), (Errno::EADDRINUSE, "IPv4 addresses clash"));
    assert_eq!(errno(h.jail_set(&ip("four", vec![b, b]), SetFlags::CREATE)), Errno::EINVAL);
    assert_eq!(errno(h.jail_set(&ip("five", vec![Ipv4Addr::UNSPECIFIED]), SetFlags::CREATE)), Errno::EINVAL);
}

#[test]
fn the_first_address_stays_primary_and_the_rest_are_sorted() {
    let sim = Sim::new();
    let mut h = sim.host();
    let root = mkdir(&sim, "/j");
    let addrs = |v: &[u8]| v.iter().map(|x| Ipv4Addr::new(192, 0, 2, *x)).collect::<Vec<_>>();
    let mut p = jail("a", &root);
    p.push(JailParam::new("ip4.addr", ParamValue::Ip4(addrs(&[30, 20, 10, 25]))));
    h.jail_set(&p, SetFlags::CREATE).expect("created");
    let got = h.jail_get(&JailKey::Name("a".into()), &["ip4.addr"], GetFlags::ALIVE).expect("get");
    assert_eq!(got[0].value, ParamValue::Ip4(addrs(&[30, 10, 20, 25])));
    let upd = vec![JailParam::str("name", "a"), JailParam::new("ip4.addr", ParamValue::Ip4(addrs(&[25, 30, 10])))];
    h.jail_set(&upd, SetFlags::UPDATE).expect("updated");
    let got = h.jail_get(&JailKey::Name("a".into()), &["ip4.addr"], GetFlags::ALIVE).expect("get");
    assert_eq!(got[0].value, ParamValue::Ip4(addrs(&[25, 10, 30])));
}

#[test]
fn the_host_may_nest_jails_and_children_cur_counts_every_descendant() {
    // kern_jail_set checks the nesting limit along the *caller's* chain
    // (`for (tpr = mypr; ...)`): from the host only prison0's, so a
    // parent's children.max does not stop the host. children.cur counts
    // grandchildren too (sysctl_security_jail_children.sh).
    let sim = Sim::new();
    let mut h = sim.host();
    let root = mkdir(&sim, "/j");
    h.jail_set(&jail("parent", &root), SetFlags::CREATE).expect("parent");
    h.jail_set(&jail("parent.child", &root), SetFlags::CREATE).expect("children.max 0 binds the jail, not the host");
    h.jail_set(&jail("parent.child.grand", &root), SetFlags::CREATE).expect("grandchild");
    let cur = |h: &brig::host::sim::SimHost, n: &str| h.jail_find(n).expect("get").expect("running").children_cur;
    assert_eq!((cur(&h, "parent"), cur(&h, "parent.child")), (2, 1));
    assert_eq!(h.sysctl_get("security.jail.children.cur").expect("sysctl").as_int(), Some(3));
    assert_eq!(errno(h.jail_set(&jail("nobody.child", &root), SetFlags::CREATE)), Errno::ENOENT);
    // children.max must stay below the parent's.
    let e = h
        .jail_set(&[JailParam::str("name", "parent.child"), JailParam::int("children.max", 1)], SetFlags::UPDATE)
        .expect_err("parent allows 0");
    assert_eq!(e.errno, Errno::EPERM);
    // A child cannot be looser than its parent.
    let mut loose = jail("parent.x", &root);
    loose.push(JailParam::bool("allow.raw_sockets", true));
    assert_eq!(errno(h.jail_set(&loose, SetFlags::CREATE)), Errno::EPERM);
    // Removing the parent takes the descendants with it.
    let parent = h.jail_find("parent").expect("get").expect("running");
    h.jail_remove(parent.jid).expect("remove");
    assert!(h.jail_list().expect("list").iter().all(|j| j.dying), "all three are dying");
    assert_eq!(h.jail_find("parent.child").expect("get"), None);
}

#[test]
fn a_jailed_caller_is_held_to_its_own_limit_and_its_parents_ruleset() {
    let sim = Sim::new();
    sim.configure(|t| t + "\n[sysctl]\n\"security.jail.jailed\" = 1\n\"security.jail.children.max\" = 1\n");
    let mut h = sim.host();
    let root = mkdir(&sim, "/j");
    let mut p = jail("a", &root);
    p.push(JailParam::int("devfs_ruleset", 4));
    // The caller's parent (prison0 as the sim sees it) has ruleset 0.
    assert_eq!(errno(h.jail_set(&p, SetFlags::CREATE)), Errno::EPERM);
    h.jail_set(&jail("a", &root), SetFlags::CREATE).expect("within the caller's limit");
    let e = h.jail_set(&jail("b", &root), SetFlags::CREATE).expect_err("limit reached");
    assert_eq!((e.errno, e.detail.as_str()), (Errno::EPERM, "prison limit exceeded"));
}

#[test]
fn the_host_may_set_any_ruleset_and_limits_reach_the_descendants() {
    let sim = Sim::new();
    let mut h = sim.host();
    let root = mkdir(&sim, "/j");
    let mut p = jail("a", &root);
    p.push(JailParam::int("children.max", 5));
    h.jail_set(&p, SetFlags::CREATE).expect("parent");
    let mut c = jail("a.b", &root);
    c.push(JailParam::int("devfs_ruleset", 7));
    c.push(JailParam::int("children.max", 4));
    h.jail_set(&c, SetFlags::CREATE).expect("the host is not held to the parent's ruleset");
    h.jail_set(&jail("a.b.c", &root), SetFlags::CREATE).expect("grandchild");
    // Raising the parent's limits raises its descendants', lowering
    // children.max lowers theirs by depth, the ruleset is overwritten.
    let upd = vec![
        JailParam::str("name", "a"),
        JailParam::int("securelevel", 3),
        JailParam::int("enforce_statfs", 2),
        JailParam::int("children.max", 2),
        JailParam::int("devfs_ruleset", 4),
    ];
    h.jail_set(&upd, SetFlags::UPDATE).expect("update");
    let b = h.jail_find("a.b").expect("get").expect("running");
    assert_eq!((b.securelevel, b.enforce_statfs, b.children_max, b.devfs_ruleset), (3, 2, 1, 4));
    let c = h.jail_find("a.b.c").expect("get").expect("running");
    assert_eq!((c.securelevel, c.children_max, c.devfs_ruleset), (3, 0, 4));
    // A new name may not move a jail under another parent.
    h.jail_set(&jail("z", &root), SetFlags::CREATE).expect("z");
    let e = h
        .jail_set(&[JailParam::int("jid", b.jid), JailParam::str("name", "z.b")], SetFlags::UPDATE)
        .expect_err("other parent");
    assert_eq!((e.errno, e.detail.as_str()), (Errno::EINVAL, "cannot change jail's parent"));
}

#[test]
fn a_removed_jail_stays_dying_until_its_last_reference_goes() {
    let sim = Sim::new();
    sim.configure(|t| t.replace("dying_polls = 2", "dying_polls = 3"));
    let mut h = sim.host();
    let root = mkdir(&sim, "/j");
    let jid = h.jail_set(&jail("a", &root), SetFlags::CREATE).expect("created");
    h.jail_remove(jid).expect("removed");
    h.jail_remove(jid).expect("removing a dying jail is no error");
    // Gone for lookups without JAIL_DYING, and the name is free again.
    assert_eq!(h.jail_find("a").expect("get"), None);
    let e = h.jail_get(&JailKey::Jid(jid), &["name"], GetFlags::ALIVE).expect_err("dying");
    assert_eq!((e.errno, e.detail.as_str()), (Errno::ENOENT, "jail 1 is dying"));
    let listed = h.jail_list().expect("list");
    assert_eq!((listed.len(), listed[0].dying), (1, true), "listed with JAIL_DYING");
    // Attaching to it (a command inside) is EINVAL.
    let cmd = brig::host::Command::new("/bin/sh");
    assert_eq!(errno(h.spawn(&cmd, brig::host::Place::Jail(jid))), Errno::EINVAL);
    let again = h.jail_set(&jail("a", &root), SetFlags::CREATE).expect("a new jail takes the name");
    assert_ne!(again, jid, "automatic jids skip the dying jail's");
    for _ in 0..3 {
        h.jail_get(&JailKey::Jid(jid), &["dying"], GetFlags::DYING).expect("still there");
    }
    assert_eq!(errno(h.jail_get(&JailKey::Jid(jid), &["jid"], GetFlags::DYING)), Errno::ENOENT);
    assert_eq!(errno(h.jail_remove(jid)), Errno::EINVAL, "freed: unknown");
}

#[test]
fn the_mounts_of_a_dying_jail_are_busy() {
    let sim = Sim::new();
    let mut h = sim.host();
    let root = mkdir(&sim, "/j");
    mkdir(&sim, "/j/dev");
    h.mount(&brig::host::MountRequest {
        fstype: "devfs".into(),
        source: "devfs".into(),
        target: "/j/dev".into(),
        readonly: false,
        options: vec![],
    })
    .expect("mounted");
    let jid = h.jail_set(&jail("a", &root), SetFlags::CREATE).expect("created");
    h.jail_remove(jid).expect("removed");
    let dev = crate::common::mounted_at(&h, "/j/dev");
    let e = h.unmount(&dev, false).expect_err("busy");
    assert_eq!((e.errno, e.detail.as_str()), (Errno::EBUSY, "/j/dev is busy: jail a (jid 1) is still dying"));
    while h.jail_get(&JailKey::Jid(jid), &["jid"], GetFlags::DYING).is_ok() {}
    h.unmount(&dev, false).expect("free once it is gone");
}

#[test]
fn numeric_names_are_jids_only_in_normal_form() {
    let sim = Sim::new();
    let mut h = sim.host();
    let root = mkdir(&sim, "/j");
    // A plain create takes the jid from an all-digit name (strtoul).
    assert_eq!(h.jail_set(&jail("7", &root), SetFlags::CREATE).expect("jid 7"), 7);
    let e = h.jail_set(&jail("0123", &root), SetFlags::CREATE).expect_err("leading zero");
    assert_eq!((e.errno, e.detail.as_str()), (Errno::EINVAL, "name cannot be numeric (unless it is the jid)"));
    assert_eq!(errno(h.jail_set(&jail("007", &root), SetFlags::CREATE)), Errno::EEXIST, "jid 7 is taken");
    // jail_get never reads a name as a number.
    assert_eq!(errno(h.jail_get(&JailKey::Name("07".into()), &["jid"], GetFlags::ALIVE)), Errno::ENOENT);
}

#[test]
fn create_or_update_without_persist_is_refused_even_for_a_live_jail() {
    let sim = Sim::new();
    let mut h = sim.host();
    let root = mkdir(&sim, "/j");
    h.jail_set(&jail("a", &root), SetFlags::CREATE).expect("created");
    let both = SetFlags { create: true, update: true, attach: false };
    let e = h.jail_set(&[JailParam::str("name", "a")], both).expect_err("no persist");
    assert_eq!((e.errno, e.detail.as_str()), (Errno::EINVAL, "new jail must persist or attach"));
    h.jail_set(&[JailParam::str("name", "a")], SetFlags::UPDATE).expect("a plain update needs none");
}

#[test]
fn list_walks_every_jail_in_jid_order_and_survives_reopening() {
    let sim = Sim::new();
    let root = mkdir(&sim, "/j");
    {
        let mut h = sim.host();
        for n in ["c", "a", "b"] {
            h.jail_set(&jail(n, &root), SetFlags::CREATE).expect("create");
        }
    }
    let h = sim.host();
    let names: Vec<(i32, String)> = h.jail_list().expect("list").into_iter().map(|j| (j.jid, j.name)).collect();
    assert_eq!(names, vec![(1, "c".into()), (2, "a".into()), (3, "b".into())]);
    let a = h.jail_find("a").expect("get").expect("found");
    assert_eq!((a.path.as_str(), a.persist, a.securelevel, a.enforce_statfs), ("/j", true, -1, 2));
    assert_eq!(h.jail_find("zz").expect("get"), None);
    assert_eq!(errno(h.jail_get(&JailKey::Jid(99), &["name"], GetFlags::ALIVE)), Errno::ENOENT);
    assert_eq!(errno(h.jail_get(&JailKey::Jid(1), &["bogus"], GetFlags::ALIVE)), Errno::EINVAL);
}

#[test]
fn removing_an_unknown_jail_is_einval_and_nopersist_kills_an_idle_jail() {
    let sim = Sim::new();
    let mut h = sim.host();
    assert_eq!(errno(h.jail_remove(42)), Errno::EINVAL);
    let root = mkdir(&sim, "/j");
    h.jail_set(&jail("a", &root), SetFlags::CREATE).expect("create");
    h.jail_set(&[JailParam::str("name", "a"), JailParam::bool("persist", false)], SetFlags::UPDATE).expect("update");
    assert_eq!(h.jail_find("a").expect("get"), None, "no process keeps it alive");
}

#[test]
fn a_jailed_brig_without_children_max_cannot_create() {
    let sim = Sim::new();
    sim.configure(|t| t + "\n[sysctl]\n\"security.jail.jailed\" = 1\n\"security.jail.children.max\" = 0\n");
    let mut h = sim.host();
    let root = mkdir(&sim, "/j");
    assert_eq!(errno(h.jail_set(&jail("a", &root), SetFlags::CREATE)), Errno::EPERM);
}

#[test]
fn module_parameters_exist_only_while_their_module_is_loaded() {
    let sim = Sim::new();
    let root = mkdir(&sim, "/j");
    {
        let mut h = sim.host();
        let mut p = jail("a", &root);
        p.push(JailParam::bool("allow.vmm", false));
        let e = h.jail_set(&p, SetFlags::CREATE).expect_err("vmm.ko not loaded");
        assert_eq!((e.errno, e.detail.as_str()), (Errno::EINVAL, "unknown parameter: allow.novmm"));
        assert_eq!(errno(h.sysctl_get("security.jail.param.allow.vmm")), Errno::ENOENT);
        assert!(h.sysctl_get("security.jail.param.allow.mount.nullfs").is_ok());
        assert!(h.sysctl_get("security.jail.param.persist").is_ok());
    }
    sim.configure(|t| t.replace("modules = [", "modules = [\"vmm\", "));
    let mut h = sim.host();
    let mut p = jail("a", &root);
    p.push(JailParam::bool("allow.vmm", false));
    h.jail_set(&p, SetFlags::CREATE).expect("known once loaded");
}

#[test]
fn parameter_nodes_have_no_value_of_their_own() {
    // SYSCTL_JAIL_PARAM_SYS_NODE: `host`, `ip4`, ... and `allow.mount` are
    // nodes whose value lives in an empty-named child; reading the node is
    // EISDIR (sysctl_root), as brig's parameter probe must not do.
    use brig::kernel::sysctl::{CTLTYPE, CTLTYPE_INT};
    let sim = Sim::new();
    let h = sim.host();
    for node in ["allow.mount", "host", "ip4", "sysvshm", "allow"] {
        assert_eq!(errno(h.sysctl_get(&format!("security.jail.param.{node}"))), Errno::EISDIR, "{node}");
    }
    let mount = h.sysctl_type("security.jail.param.allow.mount").expect("exists");
    assert!(mount.is_node());
    assert_eq!(mount.value_type().map(|t| (t.kind & CTLTYPE, t.fmt.as_str())), Some((CTLTYPE_INT, "B")));
    let host = h.sysctl_type("security.jail.param.host").expect("exists");
    assert_eq!(host.value_type().map(|t| t.fmt.as_str()), Some("E,jailsys"));
    assert_eq!(h.sysctl_type("security.jail.param.allow").expect("a group").value_type(), None);
    assert!(!h.sysctl_type("security.jail.param.vnet").expect("a leaf").is_node());
    assert_eq!(errno(h.sysctl_type("security.jail.param.nopersist")), Errno::ENOENT);
    assert_eq!(h.sysctl_get("security.jail.param.host.hostname").expect("a string").to_string(), "256");
}

#[test]
fn a_simulated_release_knows_the_parameters_of_its_release() {
    let sim = Sim::new();
    assert_eq!(errno(sim.host().sysctl_type("security.jail.param.meta")), Errno::ENOENT, "14.3 has no meta");
    sim.configure(|t| t.replace("osrelease = \"14.3-RELEASE\"", "osrelease = \"15.0-RELEASE\""));
    assert!(sim.host().sysctl_type("security.jail.param.meta").is_ok());
}
