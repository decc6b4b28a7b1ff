//! rctl, sysctl, mounts, aliases and spawning on the simulated host.

use std::path::Path;

use brig::host::{Command, Errno, Host, JailParam, MountRequest, Place, SetFlags, SysctlValue};

use crate::common::Sim;

fn errno(r: brig::host::HostResult<impl std::fmt::Debug>) -> Errno {
    r.expect_err("the sim must refuse this").errno
}

#[test]
fn rctl_is_enosys_while_racct_is_off() {
    let sim = Sim::new();
    sim.configure(|t| t.replace("racct = true", "racct = false"));
    let mut h = sim.host();
    let e = h.rctl_add("jail:web:memoryuse:deny=1073741824").expect_err("racct off");
    assert_eq!(e.errno, Errno::ENOSYS);
    assert_eq!(errno(h.rctl_rules(":")), Errno::ENOSYS);
    assert_eq!(errno(h.rctl_usage("jail:web")), Errno::ENOSYS);
    assert_eq!(h.sysctl_get("kern.racct.enable").expect("sysctl"), SysctlValue::Int(0));
    // A loader tunable cannot be switched on at run time.
    assert_eq!(errno(h.sysctl_set("kern.racct.enable", &SysctlValue::Int(1))), Errno::EPERM);
}

#[test]
fn rctl_rules_are_checked_kept_and_removed() {
    let sim = Sim::new();
    let mut h = sim.host();
    h.rctl_add("jail:web:memoryuse:deny=1073741824").expect("add");
    h.rctl_add("jail:web:memoryuse:deny=2147483648").expect("deny replaces the amount");
    h.rctl_add("jail:web:readbps:throttle=1048576").expect("throttle");
    assert_eq!(errno(h.rctl_add("jail:web:readbps:deny=1")), Errno::EOPNOTSUPP);
    assert_eq!(errno(h.rctl_add("jail:web:memoryuse:deny=1G")), Errno::EINVAL);
    assert_eq!(
        h.rctl_rules("jail:web").expect("rules"),
        vec!["jail:web:memoryuse:deny=2147483648", "jail:web:readbps:throttle=1048576"]
    );
    h.rctl_remove("jail:web:readbps").expect("remove");
    assert_eq!(errno(h.rctl_remove("jail:db")), Errno::ESRCH);
    let usage = h.rctl_usage("jail:web").expect("usage");
    assert_eq!(usage.get("memoryuse"), Some(&0));
    assert_eq!(errno(h.rctl_usage("jail:")), Errno::EINVAL);
    // kern_rctl.c: a jail nobody has is an empty racct, not an error.
    assert!(h.rctl_usage("jail:nosuch").expect("zeros").values().all(|v| *v == 0));
    assert_eq!(errno(h.rctl_usage(&format!("jail:{}", "x".repeat(256)))), Errno::ENAMETOOLONG);
}

#[test]
fn sysctls_have_freebsd_defaults_and_writability() {
    let sim = Sim::new();
    let mut h = sim.host();
    assert_eq!(h.sysctl_get("kern.osrelease").expect("get"), SysctlValue::Str("14.3-RELEASE".into()));
    assert_eq!(errno(h.sysctl_get("kern.nonsense")), Errno::ENOENT);
    assert_eq!(errno(h.sysctl_set("security.jail.jailed", &SysctlValue::Int(1))), Errno::EPERM);
    assert_eq!(errno(h.sysctl_set("security.jail.enforce_statfs", &SysctlValue::Str("x".into()))), Errno::EINVAL);
    h.sysctl_set("security.jail.allow_raw_sockets", &SysctlValue::Int(1)).expect("writable");
    drop(h);
    assert_eq!(sim.host().sysctl_get("security.jail.allow_raw_sockets").expect("kept"), SysctlValue::Int(1));
}

fn devfs(target: &str) -> MountRequest {
    MountRequest {
        fstype: "devfs".into(),
        source: "devfs".into(),
        target: target.into(),
        readonly: false,
        options: vec![("ruleset".into(), Some("4".into()))],
    }
}

#[test]
fn mounts_need_a_directory_and_unmount_in_order() {
    let sim = Sim::new();
    let mut h = sim.host();
    assert_eq!(errno(h.mount(&devfs("/j/dev"))), Errno::ENOENT);
    std::fs::create_dir_all(sim.file("/j/dev/fd")).expect("mkdir");
    h.mount(&devfs("/j/dev")).expect("devfs");
    let fd = MountRequest {
        fstype: "fdescfs".into(),
        source: "fdescfs".into(),
        target: "/j/dev/fd".into(),
        readonly: false,
        options: vec![],
    };
    h.mount(&fd).expect("fdescfs");
    let (dev, fd) = (crate::common::mounted_at(&h, "/j/dev"), crate::common::mounted_at(&h, "/j/dev/fd"));
    assert_eq!(errno(h.unmount(&dev, false)), Errno::EBUSY);
    h.unmount(&fd, false).expect("inner first");
    h.unmount(&dev, false).expect("then outer");
    // By ID (MNT_BYFSID), a mount that is gone is ENOENT (vfs_getvfs).
    assert_eq!(errno(h.unmount(&dev, false)), Errno::ENOENT);
    let bogus = MountRequest { fstype: "ext4".into(), ..devfs("/j/dev") };
    assert_eq!(errno(h.mount(&bogus)), Errno::ENODEV);
    let bad_opt = MountRequest { options: vec![("ruleset".into(), Some("four".into()))], ..devfs("/j/dev") };
    assert_eq!(errno(h.mount(&bad_opt)), Errno::EINVAL);
}

#[test]
fn a_mount_target_symlink_is_followed_inside_the_sim_like_namei() {
    let sim = Sim::new();
    let mut h = sim.host();
    std::fs::create_dir_all(sim.file("/jail/root")).expect("mkdir");
    std::fs::create_dir_all(sim.file("/etc")).expect("mkdir");
    std::os::unix::fs::symlink("/etc", sim.file("/jail/root/mnt")).expect("symlink");
    h.mount(&devfs("/jail/root/mnt")).expect("mounted");
    let m = h.mounts().expect("mounts");
    assert!(m.iter().any(|m| m.target == Path::new("/etc")), "the kernel follows the planted link: {m:?}");
}

#[test]
fn aliases_are_added_once_and_removed_once() {
    let sim = Sim::new();
    let mut h = sim.host();
    let a = "192.0.2.10/24".parse().expect("addr");
    assert_eq!(errno(h.addr_add("em9", a)), Errno::ENXIO);
    h.addr_add("em0", a).expect("add");
    // The kernel replaces an address an interface has (in_aifaddr_ioctl)
    // and allows it on another: adding never says whose it was.
    let narrower = "192.0.2.10/32".parse().expect("addr");
    h.addr_add("em0", narrower).expect("replaced");
    h.addr_add("lo0", a).expect("also on lo0");
    let ifs = h.interfaces().expect("ifs");
    assert_eq!(
        ifs.iter().find(|i| i.name == "em0").expect("em0").addrs.iter().filter(|x| x.addr() == a.addr()).count(),
        1
    );
    assert!(ifs.iter().any(|i| i.name == "em0" && i.addrs.contains(&narrower)));
    h.addr_remove("lo0", a).expect("remove");
    h.addr_remove("em0", a).expect("remove");
    assert_eq!(errno(h.addr_remove("em0", a)), Errno::EADDRNOTAVAIL);
    assert_eq!(errno(h.addr_add("em0", "0.0.0.0/8".parse().expect("addr"))), Errno::EINVAL);
}

/// A sim with jail `j` (root /j holding the test userland) created directly.
fn userland_jail() -> (Sim, brig::host::sim::SimHost, i32) {
    let sim = Sim::new();
    crate::common::userland_root(&sim, "/j");
    let mut h = sim.host();
    let jid = h
        .jail_set(
            &[JailParam::str("name", "j"), JailParam::str("path", "/j"), JailParam::bool("persist", true)],
            SetFlags::CREATE,
        )
        .expect("jail");
    (sim, h, jid)
}

#[test]
fn commands_really_run_inside_the_jail_root() {
    crate::common::needs_jail_processes!();
    let (_sim, mut h, jid) = userland_jail();
    let sh = |script: &str| Command::new("/bin/sh").args(["-c", script]);
    assert_eq!(h.spawn(&sh("exit 3"), Place::Jail(jid)).expect("spawn").status, 3);
    // The jail's root is "/": its own passwd is there, the host's files are not.
    let out = h.spawn(&sh("cat /etc/passwd; if test -e /.sim; then echo escaped; fi"), Place::Jail(jid));
    let out = out.expect("spawn");
    assert_eq!(out.status, 0);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("root:*:0:0"), "{:?}", out);
    let mut as_nobody = sh("id -u");
    as_nobody.user = Some("nobody".into());
    assert_eq!(h.spawn(&as_nobody, Place::Jail(jid)).expect("spawn").stdout, b"65534\n");
    let mut stranger = sh("true");
    stranger.user = Some("mallory".into());
    assert_eq!(errno(h.spawn(&stranger, Place::Jail(jid))), Errno::ENOENT);
    assert_eq!(errno(h.spawn(&Command::new("/bin/zsh"), Place::Jail(jid))), Errno::ENOENT);
    assert_eq!(errno(h.spawn(&sh("true"), Place::Jail(jid + 1))), Errno::EINVAL);
    let host_side = h.spawn(&Command::new("sh").args(["-c", "exit 7"]), Place::Host).expect("host");
    assert_eq!(host_side.status, 7);
}

#[test]
fn jail_remove_kills_the_jails_processes_and_nopersist_waits_for_them() {
    crate::common::needs_jail_processes!();
    let (sim, mut h, jid) = userland_jail();
    // Scripts redirect to /dev/null: devfs provides it. As root its nodes
    // are made in the directory; without root only the jail's processes
    // see them (in a mount namespace of their own).
    std::fs::create_dir_all(sim.file("/j/dev")).expect("mkdir");
    h.mount(&devfs("/j/dev")).expect("devfs");
    if nix::unistd::geteuid().is_root() {
        assert!(sim.file("/j/dev/null").exists());
    }
    let null = Command::new("/bin/sh").args(["-c", "test -c /dev/null && echo gone > /dev/null"]);
    assert_eq!(h.spawn(&null, Place::Jail(jid)).expect("spawn").status, 0, "the jail sees /dev/null");
    // A daemon left behind by the command, as /etc/rc leaves them. (Its
    // output is inherited: a captured pipe would stay open for it.)
    let mut daemon = Command::new("/bin/sh").args(["-c", "sleep 300 &"]);
    daemon.stdio = brig::host::Stdio::Inherit;
    assert_eq!(h.spawn(&daemon, Place::Jail(jid)).expect("spawn").status, 0);
    let running = || crate::common::processes_in(&sim, "/j");
    assert_eq!(running(), 1, "the daemon runs inside the jail");
    // Without persist the jail lives on while it has a process...
    h.jail_set(&[JailParam::str("name", "j"), JailParam::bool("persist", false)], SetFlags::UPDATE).expect("nopersist");
    assert!(h.jail_find("j").expect("get").is_some());
    // ...and jail_remove kills it.
    h.jail_remove(jid).expect("remove");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while running() > 0 {
        assert!(std::time::Instant::now() < deadline, "the daemon survived jail_remove");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The jail itself lingers, dying, and holds its devfs until it goes.
    let dev = crate::common::mounted_at(&h, "/j/dev");
    assert_eq!(errno(h.unmount(&dev, false)), Errno::EBUSY);
    while h.jail_get(&brig::host::JailKey::Jid(jid), &["jid"], brig::host::GetFlags::DYING).is_ok() {}
    h.unmount(&dev, false).expect("unmount");
    assert!(!sim.file("/j/dev/null").exists(), "devfs nodes go with the mount");
}

#[test]
fn a_jails_cpuset_takes_only_cpus_the_machine_has() {
    let sim = Sim::new();
    let mut h = sim.host();
    std::fs::create_dir_all(sim.file("/j")).expect("mkdir");
    let jid = h
        .jail_set(
            &[JailParam::str("name", "a"), JailParam::str("path", "/j"), JailParam::bool("persist", true)],
            SetFlags::CREATE,
        )
        .expect("jail");
    assert_eq!(h.cpuset_get(jid).expect("get"), vec![0, 1, 2, 3], "every CPU of hw.ncpu=4 at first");
    h.cpuset_set(jid, &[3, 1]).expect("set");
    assert_eq!(h.cpuset_get(jid).expect("get"), vec![1, 3]);
    assert_eq!(errno(h.cpuset_set(jid, &[])), Errno::EDEADLK);
    assert_eq!(errno(h.cpuset_set(jid, &[4])), Errno::EINVAL);
    assert_eq!(errno(h.cpuset_set(jid + 1, &[0])), Errno::ESRCH);
    assert_eq!(h.cpuset_get(jid).expect("get"), vec![1, 3], "refusals change nothing");
}
