//! brig's conformance scenarios: every Host operation, written once and
//! run against any host. `cargo test` runs them against the simulated
//! host; on FreeBSD, as root,
//!
//!     BRIG_CONFORMANCE_DATASET=tank/brig-test cargo test --test conformance
//!
//! runs the same scenarios against the real kernel, inside that dataset
//! and with jails named `bc...` only, cleaning up after each scenario even
//! when it fails. Where the sim and the kernel disagree, a scenario fails
//! on one of them: that is what this suite is for.

mod cli;
/// A signed package repository for the simulated pkg.
#[path = "../pkgrepo.rs"]
mod pkgrepo;
mod target;
/// Builds brig's test userland and test release for the sim's jails.
#[path = "../userland/make.rs"]
mod userland;

use std::net::Ipv6Addr;
use std::path::Path;

use brig::host::{
    Command, Errno, GetFlags, JailKey, JailParam, MountRequest, ParamValue, Place, SetFlags, SysctlValue,
};
use brig::kernel::sysctl::CTLTYPE_INT;

use target::{errno, Target};

/// A persistent jail named `name` rooted at `path`.
fn jail(name: &str, path: &str) -> Vec<JailParam> {
    vec![
        JailParam::str("name", name),
        JailParam::str("path", path),
        JailParam::bool("persist", true),
        JailParam::str("host.hostname", format!("{name}.example.org")),
    ]
}

#[test]
fn jails_are_created_read_updated_and_removed() {
    let mut t = Target::new("life");
    let name = t.jail("a");
    let jid = t.host.jail_set(&jail(&name, &t.shell_root.clone()), SetFlags::CREATE).expect("created");
    assert!(jid > 0);
    let by_name = t.host.jail_find(&name).expect("get").expect("found by name");
    assert_eq!((by_name.jid, by_name.hostname.as_str()), (jid, format!("{name}.example.org").as_str()));
    let listed = t.host.jail_list().expect("list");
    assert!(listed.iter().any(|j| j.jid == jid && !j.dying), "the lastjid walk finds it");
    // A second create of the same name is EEXIST; a create without
    // persist or attach EINVAL.
    assert_eq!(errno(t.host.jail_set(&jail(&name, "/"), SetFlags::CREATE)), Errno::EEXIST);
    let transient = vec![JailParam::str("name", t.jail("b")), JailParam::str("path", "/")];
    assert_eq!(errno(t.host.jail_set(&transient, SetFlags::CREATE)), Errno::EINVAL);
    // Live change, and a create-only parameter refused.
    let upd = vec![JailParam::int("jid", jid), JailParam::str("host.hostname", "changed.example.org")];
    t.host.jail_set(&upd, SetFlags::UPDATE).expect("updated");
    let got = t.host.jail_get(&JailKey::Jid(jid), &["host.hostname"], GetFlags::ALIVE).expect("get");
    assert_eq!(got[0].value, ParamValue::Str("changed.example.org".into()));
    let path = vec![JailParam::int("jid", jid), JailParam::str("path", "/tmp")];
    assert_eq!(errno(t.host.jail_set(&path, SetFlags::UPDATE)), Errno::EINVAL);
    // Removed: dying until its last reference goes, then gone.
    t.host.jail_remove(jid).expect("removed");
    assert_eq!(t.host.jail_find(&name).expect("get"), None, "a dying jail is not found without JAIL_DYING");
    assert!(t.await_gone(jid), "the jail never left the kernel");
    assert_eq!(errno(t.host.jail_remove(jid)), Errno::EINVAL);
    assert_eq!(errno(t.host.jail_get(&JailKey::Jid(jid), &["name"], GetFlags::DYING)), Errno::ENOENT);
}

#[test]
fn parameter_nodes_and_types_are_the_kernels() {
    let t = Target::new("params");
    for node in ["allow.mount", "host", "ip4", "ip6", "sysvshm"] {
        let name = format!("security.jail.param.{node}");
        let ty = t.host.sysctl_type(&name).expect(node);
        assert!(ty.is_node(), "{node} is a node");
        assert_eq!(ty.value_type().map(|v| v.kind & brig::kernel::sysctl::CTLTYPE), Some(CTLTYPE_INT), "{node}");
        assert_eq!(errno(t.host.sysctl_get(&name)), Errno::EISDIR, "{node} has no value of its own");
    }
    assert_eq!(t.host.sysctl_type("security.jail.param.allow").expect("a group").value_type(), None);
    assert_eq!(errno(t.host.sysctl_type("security.jail.param.nosuchparam")), Errno::ENOENT);
    // Every parameter of brig's table this kernel has is of the type
    // brig encodes.
    for def in brig::kernel::params::PARAMS {
        if let Ok(ty) = t.host.sysctl_type(&format!("security.jail.param.{}", def.name)) {
            let value = ty.value_type().unwrap_or_else(|| panic!("{} is a node without a value", def.name));
            assert!(brig::kernel::sysctl::agrees(def.ty, value), "{}: the kernel says {:?}", def.name, value);
        }
    }
}

#[test]
fn commands_run_in_a_jail_with_their_exit_status_and_user() {
    let mut t = Target::new("exec");
    let name = t.jail("a");
    let jid = t.host.jail_set(&jail(&name, &t.shell_root.clone()), SetFlags::CREATE).expect("created");
    let sh = |script: &str| Command::new("/bin/sh").args(["-c", script]);
    let first = t.host.spawn(&sh("exit 7"), Place::Jail(jid));
    if first.as_ref().is_err_and(|e| target::skip_if_refused(&e.to_string())) {
        return;
    }
    assert_eq!(first.expect("ran").status, 7);
    let mut as_nobody = sh("id -u");
    as_nobody.user = Some("nobody".into());
    let out = t.host.spawn(&as_nobody, Place::Jail(jid)).expect("ran");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "65534");
    let mut stranger = sh("true");
    stranger.user = Some("nosuchuser".into());
    assert_eq!(errno(t.host.spawn(&stranger, Place::Jail(jid))), Errno::ENOENT);
    // A command with an output limit (a health check): only the end of
    // its output is kept.
    let mut chatty = sh("cat /bin/sh /bin/sh; echo end");
    chatty.output_limit = Some(1000);
    let out = t.host.spawn(&chatty, Place::Jail(jid)).expect("ran");
    assert!(out.stdout.len() == 1000 && out.stdout.ends_with(b"end\n"), "{} bytes", out.stdout.len());
    assert_eq!(out.status, 0);
    // Signalling: a process to find, then none.
    let mut daemon = sh("sleep 300 &");
    daemon.stdio = brig::host::Stdio::Inherit;
    t.host.spawn(&daemon, Place::Jail(jid)).expect("daemon");
    assert!(t.host.jail_kill(jid, None).expect("asked"), "the daemon runs");
    t.host.jail_kill(jid, Some(nix::sys::signal::Signal::SIGKILL)).expect("killed");
    t.host.jail_remove(jid).expect("removed");
    assert!(t.await_gone(jid));
    // jail_attach to a jail that is gone is EINVAL, never ENOENT.
    assert_eq!(errno(t.host.spawn(&sh("true"), Place::Jail(jid))), Errno::EINVAL);
}

#[test]
fn devfs_is_mounted_with_a_loaded_ruleset_and_unmounted() {
    let mut t = Target::new("devfs");
    assert!(t.host.devfs_rules(4).expect("ruleset 4") > 0, "devfsrules_jail (4) is loaded on a stock host");
    assert_eq!(t.host.devfs_rules(64999).expect("an unused ruleset"), 0);
    assert_eq!(errno(t.host.devfs_rules(0)), Errno::EINVAL);
    let dev = t.dir("dev");
    let req = MountRequest {
        fstype: "devfs".into(),
        source: "devfs".into(),
        target: dev.clone(),
        readonly: false,
        options: vec![("ruleset".into(), Some("4".into()))],
    };
    t.host.mount(&req).expect("mounted");
    assert!(t.host.mounts().expect("mounts").iter().any(|m| m.target == dev && m.fstype == "devfs"));
    let mounted = t.mounted_at(&dev);
    t.host.unmount(&mounted, false).expect("unmounted");
    assert_eq!(errno(t.host.unmount(&mounted, false)), Errno::ENOENT, "no filesystem has that ID now");
}

#[test]
fn nullfs_and_tmpfs_mounts_and_a_busy_one() {
    let mut t = Target::new("mount");
    let (src, dst, tmp) = (t.dir("src"), t.dir("dst"), t.dir("tmp"));
    let m = |fstype: &str, source: &str, target: &Path, readonly: bool| MountRequest {
        fstype: fstype.into(),
        source: source.into(),
        target: target.to_path_buf(),
        readonly,
        options: Vec::new(),
    };
    t.host.mount(&m("nullfs", &src.display().to_string(), &dst, true)).expect("nullfs");
    t.host.mount(&m("tmpfs", "tmpfs", &tmp, false)).expect("tmpfs");
    let mounts = t.host.mounts().expect("mounts");
    assert!(mounts.iter().any(|e| e.target == dst && e.fstype == "nullfs" && e.readonly));
    assert!(mounts.iter().any(|e| e.target == tmp && e.fstype == "tmpfs"));
    // A process with its working directory there keeps it busy.
    let mut resident =
        std::process::Command::new("sleep").arg("300").current_dir(t.host.local_path(&tmp)).spawn().expect("sleep");
    let (tmpfs, nullfs) = (t.mounted_at(&tmp), t.mounted_at(&dst));
    assert_eq!(errno(t.host.unmount(&tmpfs, false)), Errno::EBUSY);
    resident.kill().expect("kill");
    resident.wait().expect("reaped");
    t.host.unmount(&tmpfs, false).expect("free now");
    t.host.unmount(&nullfs, false).expect("nullfs");
    assert_eq!(errno(t.host.mount(&m("nosuchfs", "x", &dst, false))), Errno::ENODEV);
}

#[test]
fn an_unmount_by_id_takes_its_own_mount_wherever_its_path_now_leads() {
    // A jail's root swaps a parent of its mount for a symlink to where
    // another mount lives; unmount(2) by path would follow it (namei with
    // FOLLOW in kern_unmount) and take the other one.
    let mut t = Target::new("byfsid");
    let (mine, theirs) = (t.dir("jail/mnt/data"), t.dir("other/data"));
    let tmpfs = |target: &Path| MountRequest {
        fstype: "tmpfs".into(),
        source: "tmpfs".into(),
        target: target.to_path_buf(),
        readonly: false,
        options: Vec::new(),
    };
    t.host.mount(&tmpfs(&mine)).expect("mine");
    t.host.mount(&tmpfs(&theirs)).expect("theirs");
    let (m, o) = (t.mounted_at(&mine), t.mounted_at(&theirs));
    assert_ne!(m.fsid, o.fsid, "every mount has an ID of its own");
    let parent = t.host.local_path(&t.mountpoint().join("jail/mnt"));
    std::fs::rename(&parent, parent.with_file_name("mnt.old")).expect("moved away");
    std::os::unix::fs::symlink(t.host.local_path(&t.mountpoint().join("other")), &parent).expect("planted");
    t.host.unmount(&m, false).expect("its own mount, found by ID");
    let left = t.host.mounts().expect("mounts");
    assert!(left.iter().any(|e| e.fsid == o.fsid && e.target == theirs), "the other mount is untouched");
    assert!(!left.iter().any(|e| e.fsid == m.fsid));
    t.host.unmount(&o, false).expect("theirs");
}

#[test]
fn rctl_rules_are_added_read_and_removed() {
    let t = &mut Target::new("rctl");
    let subject = format!("jail:{}", t.jail("a"));
    match t.host.rctl_rules(&subject) {
        Err(e) if e.errno == Errno::ENOSYS => {
            eprintln!("skipped: kern.racct.enable=0 on this host");
            return;
        }
        r => assert_eq!(r.expect("rules"), Vec::<String>::new()),
    }
    t.host.rctl_add(&format!("{subject}:maxproc:deny=10")).expect("added");
    assert_eq!(t.host.rctl_rules(&subject).expect("rules"), vec![format!("{subject}:maxproc:deny=10")]);
    // A jail nobody has uses nothing: zeros, not an error.
    assert!(t.host.rctl_usage(&subject).expect("usage").values().all(|v| *v == 0));
    t.host.rctl_remove(&subject).expect("removed");
    assert_eq!(errno(t.host.rctl_remove(&subject)), Errno::ESRCH);
    assert_eq!(errno(t.host.rctl_add(&format!("{subject}:nosuchresource:deny=1"))), Errno::EINVAL);
}

#[test]
fn a_jails_cpuset_is_set_and_read() {
    let mut t = Target::new("cpuset");
    let jid = t.host.jail_set(&jail(&t.jail("a"), "/"), SetFlags::CREATE).expect("created");
    let all = t.host.cpuset_get(jid).expect("cpuset");
    assert!(!all.is_empty());
    t.host.cpuset_set(jid, &all[..1]).expect("pinned");
    assert_eq!(t.host.cpuset_get(jid).expect("cpuset"), all[..1].to_vec());
    let ncpu = t.host.sysctl_get("hw.ncpu").expect("hw.ncpu").as_int().expect("a number");
    assert_eq!(errno(t.host.cpuset_set(jid, &[u32::try_from(ncpu).expect("ncpu") + 64])), Errno::EINVAL);
    t.host.jail_remove(jid).expect("removed");
    assert!(t.await_gone(jid));
    assert_eq!(errno(t.host.cpuset_get(jid)), Errno::ESRCH);
}

#[test]
fn aliases_are_added_and_removed_on_an_interface() {
    let mut t = Target::new("alias");
    let (v4, v6): (ipnet::IpNet, ipnet::IpNet) =
        ("127.0.3.1/32".parse().expect("v4"), "fd12:3456:789a:b::1/128".parse().expect("v6"));
    let iface = t.interface.clone();
    for a in [v4, v6] {
        t.host.addr_add(&iface, a).expect("added");
        t.aliases.push(a);
    }
    let on = |t: &Target| {
        t.host.interfaces().expect("interfaces").into_iter().find(|i| i.name == iface).expect("the interface").addrs
    };
    assert!(on(&t).iter().any(|a| a.addr() == v4.addr()) && on(&t).iter().any(|a| a.addr() == v6.addr()));
    // Loopback runs no duplicate address detection.
    let flags = t.host.addr6_flags(&iface, "fd12:3456:789a:b::1".parse::<Ipv6Addr>().expect("v6")).expect("flags");
    assert_eq!(flags & brig::kernel::net::IN6_IFF_TENTATIVE, 0);
    for a in std::mem::take(&mut t.aliases) {
        t.host.addr_remove(&iface, a).expect("removed");
    }
    assert_eq!(errno(t.host.addr_remove(&iface, v4)), Errno::EADDRNOTAVAIL);
    assert_eq!(errno(t.host.addr_add("nosuchif0", v4)), Errno::ENXIO);
}

#[test]
fn datasets_are_created_cloned_renamed_attached_and_destroyed() {
    let mut t = Target::new("zfs");
    let d = t.dataset.clone();
    let rel = format!("{d}/rel");
    t.host.zfs_create(&rel, &[("compression".into(), "lz4".into())]).expect("created");
    std::fs::write(t.host.local_path(&t.mountpoint().join("rel/COPYRIGHT")), "bsd").expect("write");
    t.host.zfs_snapshot(&[&format!("{rel}@base")]).expect("snapshot");
    assert_eq!(errno(t.host.zfs_snapshot(&[&format!("{rel}@base")])), Errno::EEXIST);
    t.host.zfs_clone(&format!("{rel}@base"), &format!("{d}/clone"), &[]).expect("clone");
    let clone_file = t.host.local_path(&t.mountpoint().join("clone/COPYRIGHT"));
    assert_eq!(std::fs::read_to_string(clone_file).expect("the clone has the files"), "bsd");
    assert_eq!(t.host.zfs_get(&format!("{d}/clone"), &["origin"]).expect("get")["origin"], format!("{rel}@base"));
    assert_eq!(errno(t.host.zfs_destroy(&format!("{rel}@base"), false)), Errno::EEXIST, "it has a clone");
    t.host.zfs_set(&format!("{d}/clone"), &[("quota".into(), "1G".into())]).expect("quota");
    assert_eq!(t.host.zfs_get(&format!("{d}/clone"), &["quota"]).expect("get")["quota"], "1073741824");
    t.host.zfs_rename(&format!("{d}/clone"), &format!("{d}/moved")).expect("renamed");
    let listed: Vec<String> = t.host.zfs_list(&d, &["origin"]).expect("list").into_iter().map(|x| x.name).collect();
    assert!(listed.contains(&format!("{d}/moved")) && listed.contains(&format!("{rel}@base")), "{listed:?}");
    assert_eq!(errno(t.host.zfs_create(&format!("{d}/a%b"), &[])), Errno::EINVAL);
    // Attached to a jail: the name goes into its zone; the jail's end
    // takes it out again.
    t.host.zfs_create(&format!("{d}/data"), &[("jailed".into(), "on".into())]).expect("jailed");
    let jid = t.host.jail_set(&jail(&t.jail("a"), "/"), SetFlags::CREATE).expect("jail");
    t.host.zfs_jail(&format!("{d}/data"), jid).expect("attached");
    assert_eq!(errno(t.host.zfs_jail(&format!("{d}/data"), jid)), Errno::EEXIST);
    t.host.zfs_unjail(&format!("{d}/data"), jid).expect("detached");
    assert_eq!(errno(t.host.zfs_unjail(&format!("{d}/data"), jid)), Errno::ENOENT);
    t.host.jail_remove(jid).expect("removed");
    assert!(t.await_gone(jid));
    t.host.zfs_destroy(&format!("{d}/moved"), true).expect("clone destroyed");
    t.host.zfs_destroy(&rel, true).expect("origin destroyed");
    assert_eq!(errno(t.host.zfs_get(&rel, &["type"])), Errno::ENOENT);
}

#[test]
fn sysctls_are_read_and_refused_as_the_kernel_does() {
    let mut t = Target::new("sysctl");
    assert!(matches!(t.host.sysctl_get("kern.osrelease").expect("osrelease"), SysctlValue::Str(_)));
    assert!(t.host.sysctl_get("hw.ncpu").expect("ncpu").as_int().is_some_and(|n| n > 0));
    assert_eq!(t.host.sysctl_get("security.jail.jailed").expect("jailed").as_int(), Some(0));
    assert_eq!(errno(t.host.sysctl_get("kern.nosuchsysctl")), Errno::ENOENT);
    assert_eq!(errno(t.host.sysctl_set("hw.ncpu", &SysctlValue::Int(1))), Errno::EPERM);
}

#[test]
fn brigs_files_are_written_read_listed_and_refused_on_a_read_only_dataset() {
    let mut t = Target::new("files");
    let top = t.mountpoint().join("state");
    let dir = top.join("deep");
    assert_eq!(t.host.make_dirs(&dir, 0o700).expect("made"), vec![top.clone(), dir.clone()]);
    assert!(t.host.is_dir(&dir));
    assert_eq!(t.host.file_mode(&dir).expect("mode"), 0o700, "the umask does not apply");
    assert_eq!(t.host.make_dir(&dir, 0o700).expect_err("exists").raw_os_error(), Some(libc::EEXIST));
    let f = dir.join("a.json");
    t.host.write_file(&f, b"{}", 0o600).expect("written");
    assert_eq!(t.host.read_file(&f, 1024).expect("read"), b"{}");
    assert_eq!(t.host.file_mode(&f).expect("mode"), 0o600);
    assert!(t.host.read_file(&f, 1).is_err(), "a bound is a bound");
    assert!(t.host.read_file(&dir, 1024).is_err(), "a directory is not read as a file");
    assert_eq!(t.host.list_dir(&dir).expect("list"), vec!["a.json".to_string()]);
    assert!(t.host.read_file(&dir.join("missing"), 10).expect_err("missing").is_not_found());
    t.host.set_dir_mode(&dir, 0o755).expect("chmod");
    assert_eq!(t.host.file_mode(&dir).expect("mode"), 0o755);
    t.host.remove_file(&f).expect("removed");
    t.host.remove_file(&f).expect("removing what is gone is no error");
    t.host.remove_dir(&dir).expect("rmdir");
    assert!(!t.host.exists(&dir));
    // A read-only dataset: reads work; every write is EROFS (vfs_lookup.c
    // for names made or removed, the filesystem for a chmod), but a name
    // that is missing or already there is ENOENT or EEXIST first.
    let ro = format!("{}/ro", t.dataset);
    t.host.zfs_create(&ro, &[]).expect("created");
    let ro_dir = t.mountpoint().join("ro");
    t.host.write_file(&ro_dir.join("x"), b"x", 0o644).expect("writable before");
    t.host.make_dir(&ro_dir.join("d"), 0o755).expect("writable before");
    t.host.zfs_set(&ro, &[("readonly".into(), "on".into())]).expect("readonly");
    let erofs = Some(libc::EROFS);
    assert_eq!(t.host.write_file(&ro_dir.join("y"), b"y", 0o644).expect_err("ro").raw_os_error(), erofs);
    assert_eq!(t.host.remove_file(&ro_dir.join("x")).expect_err("ro").raw_os_error(), erofs);
    assert_eq!(t.host.make_dir(&ro_dir.join("e"), 0o755).expect_err("ro").raw_os_error(), erofs);
    assert_eq!(t.host.set_dir_mode(&ro_dir.join("d"), 0o700).expect_err("ro").raw_os_error(), erofs);
    t.host.remove_file(&ro_dir.join("nothing")).expect("a missing name is ENOENT first, which is no error");
    assert_eq!(t.host.make_dir(&ro_dir.join("d"), 0o755).expect_err("exists").raw_os_error(), Some(libc::EEXIST));
    assert_eq!(t.host.read_file(&ro_dir.join("x"), 10).expect("reads work"), b"x");
    let root = t.host.open_root(&ro_dir).expect("opened");
    assert_eq!(root.write_atomic(Path::new("z"), b"z", 0o644).expect_err("ro").errno, Some(Errno::EROFS));
    assert_eq!(root.read_to_string(Path::new("x")).expect("read").as_deref(), Some("x"));
}

#[test]
fn epairs_and_bridges_are_made_joined_moved_and_destroyed() {
    let mut t = Target::new("if");
    let (a, b, br) = (t.jail("ea"), t.jail("eb"), t.jail("br"));
    let made = t.host.if_create("epair").expect("an epair");
    assert!(made.starts_with("epair") && made.ends_with('a'), "{made}");
    let other = format!("{}b", made.trim_end_matches('a'));
    // Named for the scenario at once, so that its cleanup finds them.
    t.host.if_rename(&made, &a).expect("renamed");
    t.host.if_rename(&other, &b).expect("the other end exists too");
    let bridge = t.host.if_create("bridge").expect("a bridge");
    assert!(bridge.starts_with("bridge"), "{bridge}");
    t.host.if_rename(&bridge, &br).expect("renamed");
    let names = |t: &Target| t.host.interfaces().expect("interfaces").into_iter().map(|i| i.name).collect::<Vec<_>>();
    let up = |t: &Target, n: &str| t.host.interfaces().expect("interfaces").iter().any(|i| i.name == n && i.up);
    assert!([&a, &b, &br].iter().all(|n| names(&t).contains(n)), "{:?}", names(&t));
    assert!(!up(&t, &a), "a new epair end is not up");
    assert_eq!(errno(t.host.if_create("epair01")), Errno::EINVAL, "a unit is in normal form");
    assert_eq!(errno(t.host.if_create("nosuchcloner")), Errno::EINVAL);
    assert_eq!(errno(t.host.if_rename(&a, &b)), Errno::EEXIST);
    assert_eq!(errno(t.host.if_rename(&a, "a-name-too-long-0")), Errno::ENAMETOOLONG);
    assert_eq!(errno(t.host.if_rename(&a, "")), Errno::EINVAL);
    assert_eq!(errno(t.host.if_destroy("bcnosuch0")), Errno::ENXIO);
    // A bridge takes a member once, and not itself.
    t.host.bridge_add(&br, &a).expect("joined");
    assert_eq!(errno(t.host.bridge_add(&br, &a)), Errno::EEXIST);
    assert_eq!(errno(t.host.bridge_add(&br, "bcnosuch0")), Errno::ENOENT);
    assert_eq!(errno(t.host.bridge_add(&br, &br)), Errno::EINVAL);
    assert_eq!(t.host.bridge_members(&br).expect("members"), vec![a.clone()]);
    t.host.if_up(&a).expect("up");
    assert!(up(&t, &a));
    t.host.bridge_remove(&br, &a).expect("left");
    assert_eq!(errno(t.host.bridge_remove(&br, &a)), Errno::ENOENT);
    assert!(t.host.bridge_members(&br).expect("members").is_empty());
    // Into a jail's own vnet: gone from the host until the jail is.
    let plain = t.host.jail_set(&jail(&t.jail("plain"), &t.shell_root.clone()), SetFlags::CREATE).expect("a jail");
    assert_eq!(errno(t.host.if_to_jail(&b, plain)), Errno::EEXIST, "a jail without vnet shares the host's");
    assert_eq!(errno(t.host.if_to_jail(&b, 0)), Errno::ENXIO);
    let mut params = jail(&t.jail("vnet"), &t.shell_root.clone());
    params.push(JailParam::new("vnet", ParamValue::JailSys(brig::host::JailSys::New)));
    let vnet = t.host.jail_set(&params, SetFlags::CREATE).expect("a vnet jail");
    t.host.if_to_jail(&b, vnet).expect("moved");
    assert!(!names(&t).contains(&b));
    assert_eq!(errno(t.host.if_destroy(&b)), Errno::ENXIO, "the host has it no more");
    t.host.jail_remove(vnet).expect("removed");
    assert!(t.await_gone(vnet), "the vnet jail never left the kernel");
    assert!(names(&t).contains(&b), "back when the jail's vnet went");
    // Either end of an epair takes both.
    t.host.if_destroy(&b).expect("destroyed");
    assert!(!names(&t).contains(&a) && !names(&t).contains(&b), "{:?}", names(&t));
    t.host.if_destroy(&br).expect("the bridge destroyed");
    t.host.jail_remove(plain).expect("removed");
}

#[test]
fn a_vnet_jails_own_stack_is_set_up_and_read_from_inside() {
    let mut t = Target::new("vn");
    let (a, b) = (t.jail("va"), t.jail("vb"));
    let made = t.host.if_create("epair").expect("an epair");
    let other = format!("{}b", made.trim_end_matches('a'));
    t.host.if_rename(&made, &a).expect("renamed");
    t.host.if_rename(&other, &b).expect("renamed");
    // Ethernet address and MTU, set on the host before the move.
    t.host.if_set_lladdr(&b, [0x02, 0, 0x5e, 0, 0x53, 1]).expect("lladdr");
    t.host.if_set_mtu(&b, 1400).expect("mtu");
    assert_eq!(t.host.if_mtu(&b).expect("mtu"), 1400);
    assert_eq!(t.host.if_mtu(&a).expect("mtu"), 1500, "an epair is born with ETHERMTU");
    assert_eq!(errno(t.host.if_mtu("vnnosuch0")), Errno::ENXIO);
    assert_eq!(errno(t.host.if_set_mtu(&b, 70)), Errno::EINVAL, "below IF_MINMTU");
    assert_eq!(errno(t.host.if_set_mtu("vnnosuch0", 1500)), Errno::ENXIO);
    assert_eq!(errno(t.host.if_set_lladdr("lo0", [2, 0, 0, 0, 0, 1])), Errno::EINVAL, "no Ethernet address");
    let br = t.jail("vbr");
    let bridge = t.host.if_create("bridge").expect("a bridge");
    t.host.if_rename(&bridge, &br).expect("renamed");
    t.host.bridge_add(&br, &a).expect("joined");
    assert_eq!(t.host.if_mtu(&br).expect("mtu"), 1500, "the first member gives the bridge its MTU");
    assert_eq!(errno(t.host.if_set_mtu(&a, 1400)), Errno::EOPNOTSUPP, "a bridge member keeps its MTU");
    // A jail sharing the host's stack is refused: its socket would be the host's.
    let plain = t.host.jail_set(&jail(&t.jail("vplain"), &t.shell_root.clone()), SetFlags::CREATE).expect("a jail");
    let setup = brig::host::VnetSetup {
        interface: b.clone(),
        addrs: vec!["192.0.2.66/24".parse().expect("a"), "2001:db8::66/64".parse().expect("a")],
        ip4_gateway: Some("192.0.2.1".parse().expect("a")),
        ip6_gateway: Some("fe80::1".parse().expect("a")),
        slaac: true,
    };
    assert_eq!(errno(t.host.vnet_configure(plain, &setup)), Errno::EINVAL);
    assert_eq!(errno(t.host.vnet_view(plain)), Errno::EINVAL);
    let mut params = jail(&t.jail("vnet"), &t.shell_root.clone());
    params.push(JailParam::new("vnet", ParamValue::JailSys(brig::host::JailSys::New)));
    let vnet = t.host.jail_set(&params, SetFlags::CREATE).expect("a vnet jail");
    // At birth: lo0, down, without addresses (vnet_loif_init; a module
    // such as pf may add its own interfaces).
    let born = t.host.vnet_view(vnet).expect("view");
    let lo = born.interfaces.iter().find(|i| i.name == "lo0").expect("lo0");
    assert!(!lo.up && lo.addrs.is_empty(), "{born:?}");
    assert_eq!((born.ip4_gateway, born.ip6_gateway), (None, None));
    assert_eq!(errno(t.host.vnet_configure(vnet, &setup)), Errno::ENXIO, "the interface is not in the jail yet");
    t.host.if_to_jail(&b, vnet).expect("moved");
    let unreachable = brig::host::VnetSetup { ip4_gateway: Some("198.51.100.1".parse().expect("a")), ..setup.clone() };
    assert_eq!(errno(t.host.vnet_configure(vnet, &unreachable)), Errno::ENETUNREACH);
    let fresh = brig::host::VnetSetup { ip4_gateway: None, ip6_gateway: None, ..setup.clone() };
    t.host.vnet_configure(vnet, &fresh).expect("addresses");
    t.host.vnet_configure(vnet, &brig::host::VnetSetup { addrs: Vec::new(), ..setup.clone() }).expect("routes");
    let seen = t.host.vnet_view(vnet).expect("view");
    let end = seen.interfaces.iter().find(|i| i.name == b).expect("the jail end");
    assert!(end.up);
    for want in &setup.addrs {
        assert!(end.addrs.iter().any(|a| a == want), "{want} on {end:?}");
    }
    let lo = seen.interfaces.iter().find(|i| i.name == "lo0").expect("lo0");
    assert!(lo.up && lo.addrs.iter().any(|a| a.to_string() == "127.0.0.1/8"), "{lo:?}");
    assert_eq!((seen.ip4_gateway, seen.ip6_gateway), (setup.ip4_gateway, setup.ip6_gateway));
    assert_eq!(errno(t.host.vnet_configure(vnet, &setup)), Errno::EEXIST, "a second default route");
    // Duplicate address detection inside the jail: over within seconds.
    let v6 = "2001:db8::66".parse().expect("a");
    let flags = t.host.vnet_await_dad(vnet, &b, &[v6], std::time::Duration::from_secs(5)).expect("dad");
    assert_eq!(flags, vec![0], "neither tentative nor duplicated any more");
    let absent = "2001:db8::67".parse().expect("a");
    assert_eq!(
        errno(t.host.vnet_await_dad(vnet, &b, &[absent], std::time::Duration::from_secs(1))),
        Errno::EADDRNOTAVAIL
    );
    t.host.jail_remove(vnet).expect("removed");
    assert!(t.await_gone(vnet), "the vnet jail never left the kernel");
    assert_eq!(errno(t.host.vnet_view(vnet)), Errno::EINVAL, "gone");
    t.host.if_destroy(&a).expect("both ends");
    t.host.if_destroy(&br).expect("the bridge destroyed");
    t.host.jail_remove(plain).expect("removed");
}

#[test]
fn a_pf_anchor_is_loaded_whole_or_not_at_all() {
    let mut t = Target::new("pf");
    let anchor = format!("brig/{}", t.jail("fw"));
    let rules = "nat on lo0 inet from 127.0.3.9 to any -> (lo0)\nrdr inet proto tcp from any to 127.0.3.9 port 8080 -> 127.0.3.9 port 80\npass quick inet proto tcp from any to 127.0.3.9 port 80 keep state\nblock drop quick inet from any to 127.0.3.9\n";
    match t.host.pf_load(&anchor, rules) {
        Err(e) if e.errno == Errno::ENODEV => {
            eprintln!("skipped: pf is not loaded on this host");
            return;
        }
        other => other.expect("loaded"),
    }
    let loaded = t.host.pf_rules(&anchor).expect("rules");
    assert_eq!(loaded.lines().filter(|l| !l.trim().is_empty()).count(), 4, "{loaded}");
    // A rule pf refuses: nothing of the new set is loaded.
    assert_eq!(errno(t.host.pf_load(&anchor, "pass quick from any to 127.0.3.300\n")), Errno::EINVAL);
    assert_eq!(t.host.pf_rules(&anchor).expect("rules"), loaded, "the old rules stay");
    t.host.pf_kill_states("127.0.3.9".parse().expect("a")).expect("states killed");
    t.host.pf_load(&anchor, "").expect("emptied");
    assert_eq!(errno(t.host.pf_rules(&anchor)), Errno::EINVAL, "an empty anchor goes");
}

#[test]
fn dummynet_pipes_are_made_changed_listed_and_deleted() {
    let mut t = Target::new("dn");
    // A number far from both the administrator's and brig's own.
    let pipe = 32000 + u16::from(t.prefix.len() as u8);
    match t.host.dn_pipe_config(pipe, 10_000_000) {
        Err(e) if e.errno == Errno::ENOPROTOOPT => {
            assert_eq!(errno(t.host.dn_pipes()), Errno::ENOPROTOOPT);
            eprintln!("skipped: dummynet is not loaded on this host");
            return;
        }
        other => other.expect("made"),
    }
    let find = |t: &Target| t.host.dn_pipes().expect("pipes").into_iter().find(|(p, _)| *p == pipe);
    assert_eq!(find(&t), Some((pipe, 10_000_000)));
    t.host.dn_pipe_config(pipe, 0).expect("changed in place");
    assert_eq!(find(&t), Some((pipe, 0)), "bw 0: no limit");
    assert_eq!(errno(t.host.dn_pipe_config(0, 1000)), Errno::EINVAL, "there is no pipe 0");
    assert_eq!(errno(t.host.dn_pipe_config(pipe, u32::MAX)), Errno::EINVAL, "dnctl's bandwidth is an int");
    t.host.dn_pipe_delete(pipe).expect("deleted");
    assert_eq!(find(&t), None);
    assert_eq!(errno(t.host.dn_pipe_delete(pipe)), Errno::EINVAL, "a pipe dummynet does not have");
}

#[test]
fn snapshots_of_a_tree_are_taken_rolled_back_and_destroyed_all_or_none() {
    let mut t = Target::new("snap");
    let d = t.dataset.clone();
    let (a, b) = (format!("{d}/a"), format!("{d}/a/b"));
    t.host.zfs_create(&a, &[]).expect("a");
    t.host.zfs_create(&b, &[]).expect("b");
    let file = |t: &Target, rel: &str| t.host.local_path(&t.mountpoint().join(rel));
    std::fs::write(file(&t, "a/f"), "one").expect("write");
    std::fs::write(file(&t, "a/b/g"), "one").expect("write");
    let (a1, b1) = (format!("{a}@one"), format!("{b}@one"));
    t.host.zfs_snapshot(&[&a1, &b1]).expect("both at once");
    // All or none: one that exists fails the call, and the other is not made.
    let a2 = format!("{a}@two");
    assert_eq!(errno(t.host.zfs_snapshot(&[&a2, &b1])), Errno::EEXIST);
    assert_eq!(errno(t.host.zfs_get(&a2, &["type"])), Errno::ENOENT, "nothing of a failed call");
    assert_eq!(errno(t.host.zfs_snapshot(&[&a2, &format!("{a}@three")])), Errno::EXDEV, "one a dataset");
    assert_eq!(errno(t.host.zfs_snapshot(&[&format!("{d}/nope@x")])), Errno::ENOENT);

    std::fs::write(file(&t, "a/f"), "two").expect("write");
    std::fs::write(file(&t, "a/new"), "new").expect("write");
    t.host.zfs_snapshot(&[&a2]).expect("a later one");
    assert_eq!(errno(t.host.zfs_rollback(&a1)), Errno::EEXIST, "a later snapshot is in the way");
    assert_eq!(errno(t.host.zfs_rollback(&format!("{a}@nope"))), Errno::ESRCH);
    t.host.zfs_destroy_snapshots(&[&a2, &format!("{a}@never")]).expect("a missing one is no error");
    t.host.zfs_rollback(&a1).expect("mounted, rolled back in place");
    assert_eq!(std::fs::read_to_string(file(&t, "a/f")).expect("f"), "one");
    assert!(!file(&t, "a/new").exists(), "what came after is gone");
    assert_eq!(std::fs::read_to_string(file(&t, "a/b/g")).expect("a child's files stay"), "one");

    // A snapshot with a clone holds back the whole call.
    t.host.zfs_clone(&b1, &format!("{d}/c"), &[]).expect("clone");
    assert_eq!(errno(t.host.zfs_destroy_snapshots(&[&a1, &b1])), Errno::EEXIST);
    assert_eq!(t.host.zfs_get(&a1, &["type"]).expect("still there")["type"], "snapshot");
    t.host.zfs_destroy(&format!("{d}/c"), false).expect("clone gone");
    t.host.zfs_destroy_snapshots(&[&a1, &b1]).expect("both");
    assert_eq!(errno(t.host.zfs_get(&b1, &["type"])), Errno::ENOENT);
    t.host.zfs_destroy(&a, true).expect("tree gone");
}

#[test]
fn streams_are_sent_and_received_whole_or_incrementally_and_refused_when_altered() {
    let mut t = Target::new("send");
    let d = t.dataset.clone();
    let (a, b) = (format!("{d}/a"), format!("{d}/b"));
    t.host.zfs_create(&a, &[]).expect("a");
    let file = |t: &Target, rel: &str| t.host.local_path(&t.mountpoint().join(rel));
    std::fs::write(file(&t, "a/f"), "one").expect("write");
    t.host.zfs_snapshot(&[&format!("{a}@one")]).expect("snap");
    let mut full = Vec::new();
    t.host.zfs_send(&format!("{a}@one"), None, &mut full).expect("sent");
    assert_eq!(errno(t.host.zfs_send(&format!("{a}@nope"), None, &mut Vec::new())), Errno::ENOENT);

    // Cut short or altered: refused, and nothing is made.
    let cut = &full[..full.len() / 2];
    assert_eq!(errno(t.host.zfs_receive(&format!("{b}@one"), &[], &mut &cut[..])), Errno::EINVAL);
    let mut flipped = full.clone();
    let at = flipped.len() - 40;
    flipped[at] ^= 0x20;
    assert!(t.host.zfs_receive(&format!("{b}@one"), &[], &mut &flipped[..]).is_err(), "an altered stream");
    assert_eq!(errno(t.host.zfs_get(&b, &["type"])), Errno::ENOENT, "nothing received");

    t.host.zfs_receive(&format!("{b}@one"), &[], &mut &full[..]).expect("received");
    assert_eq!(std::fs::read_to_string(file(&t, "b/f")).expect("b/f"), "one");
    assert_eq!(errno(t.host.zfs_receive(&format!("{b}@again"), &[], &mut &full[..])), Errno::EEXIST);

    std::fs::write(file(&t, "a/f"), "two").expect("write");
    t.host.zfs_snapshot(&[&format!("{a}@two")]).expect("snap");
    assert_eq!(errno(t.host.zfs_send(&format!("{a}@one"), Some(&format!("{a}@two")), &mut Vec::new())), Errno::EXDEV);
    let mut inc = Vec::new();
    t.host.zfs_send(&format!("{a}@two"), Some(&format!("{a}@one")), &mut inc).expect("incremental");
    assert_eq!(errno(t.host.zfs_receive(&format!("{d}/c@two"), &[], &mut &inc[..])), Errno::ENOENT, "no base");
    t.host.zfs_receive(&format!("{b}@two"), &[], &mut &inc[..]).expect("incremental received");
    assert_eq!(std::fs::read_to_string(file(&t, "b/f")).expect("b/f"), "two");
    // The source is no longer b's latest snapshot, and then b changed.
    assert_eq!(errno(t.host.zfs_receive(&format!("{b}@three"), &[], &mut &inc[..])), Errno::ENODEV);
    std::fs::write(file(&t, "a/f"), "three").expect("write");
    t.host.zfs_snapshot(&[&format!("{a}@three")]).expect("snap");
    let mut next = Vec::new();
    t.host.zfs_send(&format!("{a}@three"), Some(&format!("{a}@two")), &mut next).expect("incremental");
    std::fs::write(file(&t, "b/f"), "changed").expect("write");
    assert_eq!(errno(t.host.zfs_receive(&format!("{b}@three"), &[], &mut &next[..])), Errno::ETXTBSY);
    t.host.zfs_destroy(&a, true).expect("a gone");
    t.host.zfs_destroy(&b, true).expect("b gone");
}

#[test]
fn a_clone_is_diffed_against_its_origin_and_snapshot_files_are_read() {
    let mut t = Target::new("diff");
    let d = t.dataset.clone();
    let (a, c) = (format!("{d}/a"), format!("{d}/c"));
    t.host.zfs_create(&a, &[]).expect("a");
    let file = |t: &Target, rel: &str| t.host.local_path(&t.mountpoint().join(rel));
    std::fs::write(file(&t, "a/kept"), "kept").expect("write");
    std::fs::write(file(&t, "a/changed"), "one").expect("write");
    std::fs::write(file(&t, "a/gone"), "gone").expect("write");
    let one = format!("{a}@one");
    t.host.zfs_snapshot(&[&one]).expect("snap");
    t.host.zfs_clone(&one, &c, &[]).expect("clone");
    std::fs::write(file(&t, "c/changed"), "two").expect("write");
    std::fs::remove_file(file(&t, "c/gone")).expect("rm");
    std::fs::create_dir(file(&t, "c/new")).expect("mkdir");
    std::fs::write(file(&t, "c/new/file"), "new").expect("write");
    std::os::unix::fs::symlink("kept", file(&t, "c/link")).expect("symlink");
    let two = format!("{c}@two");
    t.host.zfs_snapshot(&[&two]).expect("snap");

    use brig::host::{Change, FileKind};
    let diff = t.host.zfs_diff(&one, &two).expect("a clone against its origin");
    let has = |change: Change, kind: FileKind, p: &str| {
        diff.iter().any(|e| e.change == change && e.kind == kind && e.path == Path::new(p))
    };
    assert!(has(Change::Modified, FileKind::File, "changed"), "{diff:?}");
    assert!(has(Change::Removed, FileKind::File, "gone"), "{diff:?}");
    assert!(has(Change::Added, FileKind::Dir, "new"), "{diff:?}");
    assert!(has(Change::Added, FileKind::File, "new/file"), "{diff:?}");
    assert!(has(Change::Added, FileKind::Symlink, "link"), "{diff:?}");
    assert!(!diff.iter().any(|e| e.path == Path::new("kept")), "{diff:?}");
    assert_eq!(errno(t.host.zfs_diff(&two, &one)), Errno::EXDEV, "not in its history");
    assert_eq!(errno(t.host.zfs_diff(&format!("{a}@nope"), &two)), Errno::ENOENT);

    let files = t.host.zfs_snapshot_files(&one).expect("its files");
    assert_eq!(std::fs::read_to_string(files.join("changed")).expect("read"), "one");
    assert_eq!(std::fs::read_to_string(files.join("gone")).expect("read"), "gone");
    assert_eq!(errno(t.host.zfs_snapshot_files(&format!("{a}@nope"))), Errno::ENOENT);

    // A clone's snapshot sends incrementally from its origin, and that
    // stream goes into no filesystem that exists (dmu_recv_begin_check).
    let mut stream = Vec::new();
    t.host.zfs_send(&two, Some(&one), &mut stream).expect("sent from the origin");
    assert_eq!(errno(t.host.zfs_receive(&format!("{a}@two"), &[], &mut &stream[..])), Errno::EINVAL);
    t.host.zfs_destroy(&c, true).expect("c gone");
    t.host.zfs_destroy(&a, true).expect("a gone");
}

#[test]
fn freebsd_update_brings_a_root_to_its_newest_patch_level() {
    let mut t = Target::new("update");
    let (root, before) = t.outdated_root();
    let workdir = t.dir("update-work");
    let host_conf = t.host.read_file(Path::new("/etc/freebsd-update.conf"), 1 << 20).expect("the host's");
    let config = workdir.join("freebsd-update.conf");
    let ours = brig::release::update::config_for_root(&String::from_utf8_lossy(&host_conf));
    std::fs::write(t.host.local_path(&config), ours).expect("write");
    assert_eq!(errno(t.host.freebsd_update(&root, &workdir, &workdir.join("none.conf"), &before)), Errno::EIO);
    let out = t.host.freebsd_update(&root, &workdir, &config, &before).expect("updated");
    let text = std::fs::read_to_string(t.host.local_path(&root.join("bin/freebsd-version"))).expect("read");
    let after = brig::model::version::Version::from_script(&text).expect("a version");
    assert_eq!(after.release, before.release);
    // Newer, or already the newest (on a terminal the tool's words go
    // there, not into `out`).
    assert!(after.patch >= before.patch, "{out}");
    // Run again: nothing newer, and nothing changes.
    t.host.freebsd_update(&root, &workdir, &config, &after).expect("run again");
    let text = std::fs::read_to_string(t.host.local_path(&root.join("bin/freebsd-version"))).expect("read");
    assert_eq!(brig::model::version::Version::from_script(&text), Some(after));
}

#[test]
fn pkg_installs_a_base_set_into_a_root_from_the_hosts_keys() {
    use brig::host::{PkgAction, PkgBaseJob};
    use brig::model::{Arch, ReleaseName};
    use brig::release::pkgbase;
    let mut t = Target::new("pkgbase");
    let kernel = t.pkgbase_host();
    let release = ReleaseName::parse(kernel.split_once("-p").map_or(kernel.as_str(), |(r, _)| r)).expect("a release");
    let arch = Arch::parse(&t.host.sysctl_get("hw.machine").expect("hw.machine").to_string()).expect("an arch");
    let repos = t.dir("repos");
    let conf = repos.join("FreeBSD-base.conf");
    std::fs::write(t.host.local_path(&conf), pkgbase::repo_conf(&release, &arch)).expect("write");
    let root = t.dir("root");
    let job = PkgBaseJob {
        root: root.clone(),
        repos,
        repository: pkgbase::REPOSITORY.into(),
        cache: t.dir("cache"),
        abi: pkgbase::abi(&release, &arch),
        osversion: pkgbase::osversion(&release),
        action: PkgAction::Install(vec![pkgbase::set_package(pkgbase::DEFAULT_SET)]),
    };
    let has_keys = t.host.is_dir(Path::new(&pkgbase::keys_dir(&release)).join("trusted").as_path());
    let outcome = t.host.pkg_base(&job);
    if !has_keys {
        // No pkgbase for this release here (FreeBSD 14): pkg fails.
        assert_eq!(errno(outcome), Errno::EIO);
        return;
    }
    outcome.expect("installed");
    let text = std::fs::read_to_string(t.host.local_path(&root.join("bin/freebsd-version"))).expect("read");
    let v = brig::model::version::Version::from_script(&text).expect("a version");
    assert_eq!(v.release, release.as_str());
    // Up to date right after: an upgrade changes nothing and succeeds.
    t.host.pkg_base(&PkgBaseJob { action: PkgAction::Upgrade, ..job }).expect("upgrade");
}

#[test]
fn a_promoted_clone_takes_over_its_origins_snapshots_and_their_clones_follow() {
    let mut t = Target::new("promote");
    let d = t.dataset.clone();
    let (a, b, c) = (format!("{d}/a"), format!("{d}/b"), format!("{d}/c"));
    t.host.zfs_create(&a, &[]).expect("a");
    t.host.zfs_snapshot(&[&format!("{a}@one")]).expect("one");
    t.host.zfs_snapshot(&[&format!("{a}@two")]).expect("two");
    t.host.zfs_snapshot(&[&format!("{a}@three")]).expect("three");
    t.host.zfs_clone(&format!("{a}@two"), &b, &[]).expect("b");
    t.host.zfs_clone(&format!("{a}@one"), &c, &[]).expect("c, a clone of an earlier snapshot");
    assert_eq!(errno(t.host.zfs_promote(&a)), Errno::EINVAL, "not a clone");
    t.host.zfs_promote(&b).expect("promoted");
    let origin = |t: &Target, n: &str| t.host.zfs_get(n, &["origin"]).expect("origin")["origin"].clone();
    assert_eq!(origin(&t, &b), "-");
    assert_eq!(origin(&t, &a), format!("{b}@two"), "a is now b's clone");
    assert_eq!(origin(&t, &c), format!("{b}@one"), "c follows its snapshot");
    let snaps = |t: &Target, n: &str| -> Vec<String> {
        t.host.zfs_list(n, &[]).expect("list").into_iter().map(|x| x.name).filter(|x| x.contains('@')).collect()
    };
    assert_eq!(snaps(&t, &b), [format!("{b}@one"), format!("{b}@two")]);
    assert_eq!(snaps(&t, &a), [format!("{a}@three")], "what came after the origin stays");
    // Promoting a back would hand it one and two, and it has a one of
    // its own now.
    t.host.zfs_snapshot(&[&format!("{a}@one")]).expect("a's own one");
    assert_eq!(errno(t.host.zfs_promote(&a)), Errno::EEXIST, "one clashes");
    assert_eq!(origin(&t, &a), format!("{b}@two"), "nothing moved");
    t.host.zfs_destroy(&c, false).expect("c");
    t.host.zfs_destroy(&a, true).expect("a");
    t.host.zfs_destroy(&b, true).expect("b");
}

#[test]
fn pkg_installs_into_a_running_jail_from_the_jails_own_repository() {
    use brig::model::{Arch, ReleaseName};
    use brig::release::pkgbase;
    let mut t = Target::new("pkgjail");
    let kernel = t.pkgbase_host();
    let release = ReleaseName::parse(kernel.split_once("-p").map_or(kernel.as_str(), |(r, _)| r)).expect("a release");
    let arch = Arch::parse(&t.host.sysctl_get("hw.machine").expect("hw.machine").to_string()).expect("an arch");
    // A jail root that says the host's release and has, in its own
    // /usr/local/etc/pkg/repos, the pkgbase repository with the host's keys.
    let root = t.dir("jroot");
    let local = |p: &str| t.host.local_path(&root.join(p));
    std::fs::create_dir_all(local("bin")).expect("mkdir");
    std::fs::write(local("bin/freebsd-version"), format!("USERLAND_VERSION=\"{kernel}\"\n")).expect("write");
    std::fs::create_dir_all(local("usr/local/etc/pkg/repos")).expect("mkdir");
    std::fs::write(local("usr/local/etc/pkg/repos/FreeBSD-base.conf"), pkgbase::repo_conf(&release, &arch))
        .expect("write");
    // On FreeBSD pkg reads the jail's ABI from its /usr/bin/uname (an ELF
    // note) and resolves names with its resolv.conf: the host's, copied.
    for f in ["usr/bin/uname", "etc/resolv.conf"] {
        let from = t.host.local_path(&Path::new("/").join(f));
        if from.exists() {
            std::fs::create_dir_all(local(f).parent().expect("a parent")).expect("mkdir");
            std::fs::copy(&from, local(f)).expect("copy");
        }
    }
    let keys = pkgbase::keys_dir(&release);
    let has_keys = t.host.is_dir(Path::new(&keys).join("trusted").as_path());
    if has_keys {
        let to = local(keys.trim_start_matches('/')).join("trusted");
        std::fs::create_dir_all(&to).expect("mkdir");
        let from = t.host.local_path(&Path::new(&keys).join("trusted"));
        for e in std::fs::read_dir(&from).expect("keys").flatten() {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
    let name = t.jail("pkg");
    let mut params = jail(&name, &root.display().to_string());
    params.push(JailParam::new("ip4", brig::host::ParamValue::JailSys(brig::host::JailSys::Inherit)));
    let jid = t.host.jail_set(&params, SetFlags::CREATE).expect("a jail");
    let outcome = t.host.pkg_install(jid, &["FreeBSD-libc".to_string()]);
    t.host.jail_remove(jid).expect("removed");
    if !has_keys {
        // No pkgbase for this release here (FreeBSD 14): pkg fails.
        assert_eq!(errno(outcome), Errno::EIO);
        return;
    }
    outcome.expect("installed");
    assert!(t.host.exists(&root.join("lib/libc.so.7")));
    // A jail that is not there: pkg's jail_attach fails.
    assert_eq!(errno(t.host.pkg_install(jid, &["FreeBSD-libc".to_string()])), Errno::EIO);
}
