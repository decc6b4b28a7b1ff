//! `brig create`, `brig list` and `brig destroy` against the sim.

use std::os::unix::fs::PermissionsExt;

use brig::host::{Host, JailParam, MountRequest, SetFlags};

use crate::common::Sim;
use crate::release::{base_entries, mirror, Entry};

const JAILS: &str = "zroot/brig/jails";

/// An initialised sim with 14.3-RELEASE fetched from `entries`.
fn with_release(entries: &[Entry]) -> Sim {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let m = mirror(entries, None);
    sim.brig(&["release", "fetch", "14.3-RELEASE", "--from", &m.path().display().to_string()]).ok();
    sim
}

fn jail_datasets(sim: &Sim) -> Vec<String> {
    sim.host().zfs_list(JAILS, &[]).expect("list").into_iter().map(|d| d.name).skip(1).collect()
}

fn definition(sim: &Sim, name: &str) -> std::path::PathBuf {
    sim.file(&format!("/usr/local/etc/brig/jails/{name}.toml"))
}

#[test]
fn a_thin_jail_is_a_clone_with_its_own_config_files() {
    let sim = with_release(&base_entries());
    let r = sim.brig(&[
        "create",
        "web",
        "--release",
        "14.3-RELEASE",
        "--ip4",
        "192.0.2.10/24",
        "--interface",
        "em0",
        "--hostname",
        "web.example.org",
        "--boot",
        "--param",
        "allow.raw_sockets=false",
    ]);
    r.ok();
    assert!(r.stdout.contains("created jail web (thin of 14.3-RELEASE)"), "{}", r.stdout);
    assert_eq!(jail_datasets(&sim), vec!["zroot/brig/jails/web", "zroot/brig/jails/web/root"]);
    let origin = sim.host().zfs_get("zroot/brig/jails/web/root", &["origin"]).expect("get");
    assert_eq!(origin["origin"], "zroot/brig/releases/14.3-RELEASE@base");
    let root = sim.file("/usr/local/brig/jails/web/root");
    assert_eq!(std::fs::read_to_string(root.join("etc/rc.conf")).expect("rc.conf"), "hostname=\"web.example.org\"\n");
    assert_eq!(
        std::fs::read(root.join("etc/resolv.conf")).expect("resolv"),
        std::fs::read(sim.file("/etc/resolv.conf")).expect("host")
    );
    assert!(root.join("etc/localtime").is_file());
    assert!(root.join("bin/sh").is_file(), "the release's files are there");
    let def = definition(&sim, "web");
    assert_eq!(std::fs::metadata(&def).expect("definition").permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&def).expect("definition");
    assert!(text.contains("release = \"14.3-RELEASE\"") && text.contains("ip4 = [\"192.0.2.10/24\"]"), "{text}");
    sim.brig(&["validate", "web"]).ok();

    let j = sim.brig(&["list", "--json"]).json();
    assert_eq!(j["version"], 1);
    let web = &j["jails"][0];
    assert_eq!(
        (web["name"].as_str(), web["state"].as_str(), web["type"].as_str()),
        (Some("web"), Some("stopped"), Some("thin"))
    );
    assert_eq!(web["ip"][0], "192.0.2.10");
    assert_eq!(web["boot"], true);
    let table = sim.brig(&["list"]);
    assert!(
        table.ok().stdout.lines().nth(1).is_some_and(|l| l.split_whitespace().collect::<Vec<_>>()
            == ["web", "stopped", "-", "192.0.2.10", "14.3-RELEASE", "thin", "yes"]),
        "{}",
        table.stdout
    );

    // The release now has a dependent.
    let r = sim.brig(&["release", "destroy", "14.3-RELEASE"]);
    r.fails(1);
    assert!(r.stderr.contains("origin of a jail: web"), "{}", r.stderr);
}

#[test]
fn thick_and_empty_jails_do_not_depend_on_the_release() {
    let sim = with_release(&base_entries());
    sim.brig(&["create", "fat", "--release", "14.3-RELEASE", "--type", "thick"]).ok();
    sim.brig(&["create", "bare", "--type", "empty"]).ok();
    let h = sim.host();
    assert_eq!(h.zfs_get("zroot/brig/jails/fat/root", &["origin"]).expect("get")["origin"], "-");
    assert_eq!(h.zfs_get("zroot/brig/jails/bare/root", &["origin"]).expect("get")["origin"], "-");
    drop(h);
    let fat = sim.file("/usr/local/brig/jails/fat/root");
    assert!(fat.join("bin/sh").is_file());
    assert_eq!(std::fs::read_link(fat.join("sys")).expect("symlink copied"), std::path::Path::new("usr/src/sys"));
    let bare = sim.file("/usr/local/brig/jails/bare/root");
    assert!(!bare.join("bin").exists());
    assert!(bare.join("etc/rc.conf").is_file());
    sim.brig(&["release", "destroy", "14.3-RELEASE"]).ok();
    assert!(fat.join("bin/sh").is_file(), "a thick jail keeps its files");
}

#[test]
fn a_release_with_a_planted_etc_symlink_cannot_steer_the_writes() {
    use tar::EntryType::Symlink;
    let mut entries: Vec<Entry> = base_entries().into_iter().filter(|e| !e.0.starts_with("etc")).collect();
    entries.push(("etc", Symlink, b"/etc", 0o777));
    let sim = with_release(&entries);
    let host_rc = sim.file("/etc/rc.conf");
    std::fs::write(&host_rc, "host config\n").expect("write");
    let r = sim.brig(&["create", "web", "--release", "14.3-RELEASE"]);
    r.fails(1);
    assert!(r.stderr.contains("etc/rc.conf: a component is a symbolic link"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&host_rc).expect("read"), "host config\n", "the host's file is untouched");
    assert_eq!(jail_datasets(&sim), Vec::<String>::new());
    assert!(!definition(&sim, "web").exists());
}

#[test]
fn bad_requests_are_refused_with_nothing_made() {
    let sim = with_release(&base_entries());
    let cases: &[(&[&str], i32, &str)] = &[
        (&["create", "123", "--release", "14.3-RELEASE"], 2, "invalid jail name '123'"),
        (&["create", "../x", "--release", "14.3-RELEASE"], 2, "invalid jail name '../x'"),
        (&["create", "web"], 2, "release is required for a thin jail"),
        (&["create", "web", "--release", "13.0-RELEASE"], 1, "release 13.0-RELEASE is not fetched"),
        (
            &["create", "web", "--release", "14.3-RELEASE", "--ip4", "192.0.2.300/24"],
            2,
            "'192.0.2.300/24' is not an IPv4 address",
        ),
        (
            &["create", "web", "--release", "14.3-RELEASE", "--param", "allow.teleport=true"],
            2,
            "parameter allow.teleport is not a jail parameter",
        ),
        (
            &["create", "web", "--release", "14.3-RELEASE", "--param", "securelevel"],
            2,
            "--param securelevel: expected NAME=VALUE",
        ),
        (
            &["create", "web", "--release", "14.3-RELEASE", "--type", "fat"],
            2,
            "--type fat: expected thin, thick or empty",
        ),
        (
            &["create", "web", "--release", "14.3-RELEASE", "--depends", "db"],
            1,
            "jail web depends on db, which is not defined",
        ),
        (&["create", "web", "--release", "14.3-RELEASE", "--hostname", "a_b"], 2, "hostname: 'a_b' is not valid"),
    ];
    for (args, code, want) in cases {
        let r = sim.brig(args);
        r.fails(*code);
        assert!(r.stderr.contains(want), "{args:?}: wanted {want:?}, got {}", r.stderr);
    }
    assert_eq!(jail_datasets(&sim), Vec::<String>::new());
    sim.brig(&["create", "web", "--release", "14.3-RELEASE", "--ip4", "192.0.2.10/24"]).ok();
    let r = sim.brig(&["create", "web", "--release", "14.3-RELEASE"]);
    r.fails(1);
    assert!(r.stderr.contains("jail web already exists"), "{}", r.stderr);
    let r = sim.brig(&["create", "app", "--release", "14.3-RELEASE", "--ip4", "192.0.2.10/24"]);
    r.fails(1);
    assert!(r.stderr.contains("jail app: 192.0.2.10 is used by jail web (defined)"), "{}", r.stderr);
}

#[test]
fn create_from_a_file_with_options_on_top() {
    let sim = with_release(&base_entries());
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("tmpl.toml");
    std::fs::write(&file, "# my web jail\nrelease = \"14.3-RELEASE\"\n[params]\nsecurelevel = 3\n").expect("write");
    sim.brig(&["create", "web", "--from", &file.display().to_string(), "--hostname", "www"]).ok();
    let text = std::fs::read_to_string(definition(&sim, "web")).expect("definition");
    assert!(text.starts_with("# my web jail\n"), "comments are kept: {text}");
    assert!(text.contains("hostname = \"www\"") && text.contains("securelevel = 3"), "{text}");
    std::fs::write(&file, "release = \"14.3-RELEASE\"\n[params]\nsecurelevel = \"3\"\n").expect("write");
    let r = sim.brig(&["create", "app", "--from", &file.display().to_string()]);
    r.fails(2);
    assert!(
        r.stderr.contains(&format!("{}:3:1: parameter securelevel takes an integer", file.display())),
        "{}",
        r.stderr
    );
}

/// Every host call of create, failed in turn: no dataset, no definition,
/// and the next run succeeds.
#[test]
fn a_failure_at_any_step_of_create_leaves_nothing_behind() {
    let args = ["create", "web", "--release", "14.3-RELEASE", "--ip4", "192.0.2.10/24"];
    let faults = crate::common::every_call(&with_release(&base_entries()), &args);
    assert!(faults.iter().any(|f| f.starts_with("zfs_clone:")), "{faults:?}");
    for fault in faults {
        let sim = with_release(&base_entries());
        let r = sim.brig_env(&args, &[("BRIG_SIM_FAIL", &fault)]);
        r.fails(1);
        assert!(r.stderr.contains("injected by BRIG_SIM_FAIL"), "{fault}: {}", r.stderr);
        assert_eq!(jail_datasets(&sim), Vec::<String>::new(), "{fault} left datasets");
        assert!(!definition(&sim, "web").exists(), "{fault} left a definition");
        sim.brig(&args).ok();
    }
}

#[test]
fn destroy_removes_the_jail_and_never_the_release() {
    let sim = with_release(&base_entries());
    sim.brig(&["create", "web", "--release", "14.3-RELEASE"]).ok();
    sim.brig(&["destroy", "web"]).ok();
    assert_eq!(jail_datasets(&sim), Vec::<String>::new());
    assert!(!definition(&sim, "web").exists());
    assert!(sim.file("/usr/local/brig/releases/14.3-RELEASE/bin/sh").is_file());
    let r = sim.brig(&["destroy", "web"]);
    r.fails(3);
    assert!(r.stderr.contains("jail web does not exist"), "{}", r.stderr);
}

#[test]
fn a_running_jail_is_only_destroyed_with_force() {
    let sim = with_release(&base_entries());
    sim.brig(&["create", "web", "--release", "14.3-RELEASE", "--ip4", "192.0.2.10/24", "--interface", "em0"]).ok();
    // Bring it up by hand, as `brig start` does: the record of what it
    // adds, the alias, devfs, the jail.
    let root = "/usr/local/brig/jails/web/root";
    std::fs::create_dir_all(sim.file("/var/db/brig/started")).expect("mkdir");
    std::fs::write(
        sim.file("/var/db/brig/started/web.json"),
        r#"{"aliases":[{"interface":"em0","addr":"192.0.2.10/24"}],"datasets":[]}"#,
    )
    .expect("record");
    {
        let mut h = sim.host();
        h.addr_add("em0", "192.0.2.10/24".parse().expect("addr")).expect("alias");
        std::fs::create_dir_all(sim.file(&format!("{root}/dev"))).expect("mkdir");
        let devfs = MountRequest {
            fstype: "devfs".into(),
            source: "devfs".into(),
            target: format!("{root}/dev").into(),
            readonly: false,
            options: vec![],
        };
        h.mount(&devfs).expect("devfs");
        h.jail_set(
            &[JailParam::str("name", "web"), JailParam::str("path", root), JailParam::bool("persist", true)],
            SetFlags::CREATE,
        )
        .expect("jail");
    }
    let j = sim.brig(&["list", "--json"]).json();
    assert_eq!(j["jails"][0]["state"], "running");
    let r = sim.brig(&["destroy", "web"]);
    r.fails(1);
    assert!(r.stderr.contains("jail web is running") && r.stderr.contains("--force"), "{}", r.stderr);
    sim.brig(&["destroy", "web", "--force"]).ok();
    let h = sim.host();
    assert_eq!(h.jail_find("web").expect("get"), None);
    assert!(h.mounts().expect("mounts").iter().all(|m| !m.target.starts_with(root)));
    assert!(h.interfaces().expect("ifs").iter().all(|i| i.addrs.iter().all(|a| a.addr().to_string() != "192.0.2.10")));
    drop(h);
    assert_eq!(jail_datasets(&sim), Vec::<String>::new());
}

/// Every host call of destroy, failed in turn: the command fails, and
/// running it again finishes the job.
#[test]
fn a_failed_destroy_is_finished_by_running_it_again() {
    let probe = with_release(&base_entries());
    probe.brig(&["create", "web", "--release", "14.3-RELEASE"]).ok();
    let faults = crate::common::every_call(&probe, &["destroy", "web"]);
    assert!(faults.iter().any(|f| f.starts_with("zfs_destroy:")), "{faults:?}");
    for fault in faults {
        let sim = with_release(&base_entries());
        sim.brig(&["create", "web", "--release", "14.3-RELEASE"]).ok();
        let r = sim.brig_env(&["destroy", "web"], &[("BRIG_SIM_FAIL", &fault)]);
        r.fails(1);
        assert!(r.stderr.contains("injected by BRIG_SIM_FAIL"), "{fault}: {}", r.stderr);
        sim.brig(&["destroy", "web"]).ok();
        assert_eq!(jail_datasets(&sim), Vec::<String>::new(), "{fault}");
        assert!(!definition(&sim, "web").exists(), "{fault}");
    }
}

/// A process outside the jail with its working directory in the jail's
/// root keeps the filesystem busy: zfs destroy -r destroys what it can
/// and stops (zfs_destroy_005_neg); destroy fails saying so, keeps the
/// definition, and the next destroy, once the process has gone, finishes.
#[test]
fn a_busy_jail_dataset_fails_the_destroy_and_the_next_one_finishes() {
    let sim = with_release(&base_entries());
    sim.brig(&["create", "web", "--release", "14.3-RELEASE"]).ok();
    sim.host().zfs_snapshot(&["zroot/brig/jails/web/root@before"]).expect("a snapshot of the jail");
    let mut shell = std::process::Command::new("sleep")
        .arg("300")
        .current_dir(sim.file("/usr/local/brig/jails/web/root/etc"))
        .spawn()
        .expect("sleep");
    let r = sim.brig(&["destroy", "web"]);
    r.fails(1);
    assert!(r.stderr.contains("pool or dataset is busy"), "{}", r.stderr);
    assert!(definition(&sim, "web").exists(), "the definition goes last");
    assert_eq!(jail_datasets(&sim), vec!["zroot/brig/jails/web", "zroot/brig/jails/web/root"], "the snapshot went");
    shell.kill().expect("kill");
    shell.wait().expect("reaped");
    sim.brig(&["destroy", "web"]).ok();
    assert_eq!(jail_datasets(&sim), Vec::<String>::new());
    assert!(!definition(&sim, "web").exists());
}

#[test]
fn list_marks_running_jails_brig_does_not_manage() {
    let sim = with_release(&base_entries());
    std::fs::create_dir_all(sim.file("/other")).expect("mkdir");
    sim.host()
        .jail_set(
            &[JailParam::str("name", "stranger"), JailParam::str("path", "/other"), JailParam::bool("persist", true)],
            SetFlags::CREATE,
        )
        .expect("jail");
    let r = sim.brig(&["list"]);
    r.ok();
    assert!(r.stdout.contains("stranger*") && r.stdout.contains("not managed by brig"), "{}", r.stdout);
    let j = sim.brig(&["list", "--json"]).json();
    assert_eq!(j["jails"][0]["managed"], false);
    // Listing spawns nothing and reads the kernel in one sweep.
    sim.brig(&["debug", "sim-stats", "--reset"]).ok();
    sim.brig(&["list"]).ok();
    let stats = sim.brig(&["debug", "sim-stats", "--json"]).json();
    assert_eq!(stats["spawned"], 0);
    assert_eq!(stats["ops"]["jail_get"], 2, "one lastjid walk: a jail, then ENOENT");
}

/// An empty jail whose root holds the test userland, started by brig so
/// commands can be run in it.
fn running_userland_jail() -> Sim {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim.brig(&["create", "box", "--type", "empty"]).ok();
    let root = "/usr/local/brig/jails/box/root";
    crate::common::userland_root(&sim, root);
    for f in ["rc", "rc.shutdown"] {
        std::fs::write(sim.file(&format!("{root}/etc/{f}")), "exit 0\n").expect("rc");
    }
    sim.brig(&["start", "box"]).ok();
    sim
}

#[test]
fn a_jail_of_a_brig_name_that_brig_did_not_start_is_left_alone() {
    // Made by jail(8) or another tool, from brig's root or another one:
    // brig used to exec in it, stop it, or kill it with destroy --force.
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim.brig(&["create", "box", "--type", "empty"]).ok();
    let root = "/usr/local/brig/jails/box/root";
    crate::common::userland_root(&sim, root);
    for path in [root, "/tmp"] {
        let jid = sim
            .host()
            .jail_set(
                &[JailParam::str("name", "box"), JailParam::str("path", path), JailParam::bool("persist", true)],
                SetFlags::CREATE,
            )
            .expect("jail");
        for args in [
            &["exec", "box", "--", "/bin/sh", "-c", "true"][..],
            &["stop", "box"],
            &["start", "box"],
            &["destroy", "--force", "box"],
        ] {
            let r = sim.brig(args);
            r.fails(1);
            assert!(
                r.stderr.contains(&format!("stop it with `jail -r {jid}` first; brig leaves it alone")),
                "{args:?}: {}",
                r.stderr
            );
        }
        let r = sim.brig(&["plan"]);
        assert!(r.ok().stdout.contains("brig leaves it alone"), "{}", r.stdout);
        assert!(sim.host().jail_find("box").expect("get").is_some(), "still running");
        assert!(sim.file("/usr/local/etc/brig/jails/box.toml").exists(), "still defined");
        sim.host().jail_remove(jid).expect("the tool removes its own jail");
        while sim.host().jail_get(&brig::host::JailKey::Jid(jid), &["jid"], brig::host::GetFlags::DYING).is_ok() {}
    }
}

#[test]
fn exec_runs_inside_the_jail_and_returns_the_commands_status() {
    crate::common::needs_jail_processes!();
    let sim = running_userland_jail();
    sim.brig(&["exec", "box", "--", "/bin/sh", "-c", "exit 3"]).fails(3);
    let r = sim.brig(&["exec", "box", "--", "/bin/sh", "-c", "cat /etc/rc.conf"]);
    r.ok();
    assert_eq!(r.stdout, "hostname=\"box\"\n", "the jail's own files");
    let r = sim.brig(&["exec", "box", "--user", "nobody", "--", "id", "-u"]);
    assert_eq!(r.ok().stdout, "65534\n");
    let r = sim.brig(&["exec", "box", "--user", "mallory", "--", "id"]);
    r.fails(1);
    assert!(r.stderr.contains("user mallory does not exist in jail"), "{}", r.stderr);
    let r = sim.brig(&["exec", "box", "--", "/bin/zsh"]);
    r.fails(1);
    assert!(r.stderr.contains("/bin/zsh: cannot run it in jail"), "{}", r.stderr);
    sim.brig(&["exec", "box"]).fails(2);
    let r = sim.brig(&["exec", "nobox", "--", "true"]);
    r.fails(1);
    assert!(r.stderr.contains("jail nobox is not running; start it first"), "{}", r.stderr);
    let r = sim.brig(&["console", "box"]);
    r.fails(1);
    assert!(r.stderr.contains("/usr/bin/login -f root: cannot run it in jail"), "{}", r.stderr);
}

#[test]
fn info_shows_definition_live_parameters_datasets_and_mounts() {
    crate::common::needs_jail_processes!();
    let sim = running_userland_jail();
    let j = sim.brig(&["info", "box", "--json"]).json();
    assert_eq!(j["version"], 1);
    assert_eq!(j["state"], "running");
    assert_eq!(j["definition"]["type"], "empty");
    assert_eq!(j["definition"]["params"]["securelevel"], "2");
    assert_eq!(j["definition"]["params"]["allow.raw_sockets"], "false");
    assert_eq!(j["live"]["name"], "box");
    assert_eq!(j["live"]["path"], "/usr/local/brig/jails/box/root");
    let names: Vec<&str> =
        j["datasets"].as_array().expect("datasets").iter().filter_map(|d| d["name"].as_str()).collect();
    assert_eq!(names, vec!["zroot/brig/jails/box", "zroot/brig/jails/box/root"]);
    assert_eq!(j["mounts"][0]["target"], "/usr/local/brig/jails/box/root");
    let text = sim.brig(&["info", "box"]);
    assert!(text.ok().stdout.contains("running (jid 1)"), "{}", text.stdout);
    sim.brig(&["info", "nothing"]).fails(3);
}

#[test]
fn edit_validates_before_it_replaces_the_definition() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim.brig(&["create", "web", "--type", "empty", "--hostname", "old"]).ok();
    let def = definition(&sim, "web");
    // A non-interactive "editor": sed, editing in place.
    let run = |script: &str| sim.brig_env(&["edit", "web"], &[("EDITOR", &format!("sed -i {script}"))]);
    let r = run("s/old/new/");
    r.ok();
    assert!(r.stdout.contains("updated web; the change applies when it next starts"), "{}", r.stdout);
    assert!(std::fs::read_to_string(&def).expect("def").contains("hostname = \"new\""));
    assert_eq!(std::fs::metadata(&def).expect("def").permissions().mode() & 0o777, 0o600);
    let r = run("s/hostname/hostnme/");
    r.fails(1);
    assert!(r.stderr.contains("unknown field `hostnme`") && r.stderr.contains("web.toml.rej"), "{}", r.stderr);
    assert!(std::fs::read_to_string(&def).expect("def").contains("hostname = \"new\""), "unchanged");
    assert!(sim.file("/usr/local/etc/brig/jails/web.toml.rej").is_file());
    assert!(run("s/nothing-matches//").ok().stdout.contains("no changes to web"));
    let r = sim.brig_env(&["edit", "web"], &[("EDITOR", "false")]);
    r.fails(1);
    assert!(r.stderr.contains("exited with status 1; the definition of web is unchanged"), "{}", r.stderr);
    sim.brig(&["edit", "nope"]).fails(3);
    // An empty VISUAL is passed over (eval "" would run the copy itself).
    let r = sim.brig_env(&["edit", "web"], &[("VISUAL", ""), ("EDITOR", "sed -i s/new/newer/")]);
    r.ok();
    assert!(std::fs::read_to_string(&def).expect("def").contains("hostname = \"newer\""));
    // A symlinked definition is refused, never replaced by a plain file.
    let elsewhere = sim.path().join("elsewhere.toml");
    std::fs::rename(&def, &elsewhere).expect("move");
    std::os::unix::fs::symlink(&elsewhere, &def).expect("symlink");
    let r = run("s/newer/newest/");
    r.fails(2);
    assert!(r.stderr.contains("web.toml: is a symbolic link, not a regular file"), "{}", r.stderr);
    assert!(std::fs::symlink_metadata(&def).expect("def").file_type().is_symlink());
    assert!(std::fs::read_to_string(&elsewhere).expect("target").contains("hostname = \"newer\""));
}

#[test]
fn planted_file_symlinks_in_a_release_cannot_steer_the_writes() {
    use tar::EntryType::{Directory, Symlink};
    for (file, target) in [
        ("etc/rc.conf", "/etc/master.passwd"),
        ("etc/resolv.conf", "/etc/master.passwd"),
        ("etc/localtime", "../../../etc/master.passwd"),
    ] {
        let mut entries: Vec<Entry> = base_entries().into_iter().filter(|e| !e.0.starts_with("etc")).collect();
        entries.push(("etc/", Directory, b"", 0o755));
        entries.push((file, Symlink, target.as_bytes(), 0o777));
        let sim = with_release(&entries);
        std::fs::write(sim.file("/etc/localtime"), "UTC\n").expect("host localtime");
        let secret = sim.file("/etc/master.passwd");
        std::fs::write(&secret, "root:$6$secret\n").expect("write");
        let r = sim.brig(&["create", "web", "--release", "14.3-RELEASE"]);
        // Writing replaces the link itself, never its target: either way
        // the host's file is untouched.
        assert_eq!(std::fs::read_to_string(&secret).expect("read"), "root:$6$secret\n", "{file}: {}", r.stderr);
        if r.code == Some(0) {
            let placed = sim.file(&format!("/usr/local/brig/jails/web/root/{file}"));
            assert!(
                !std::fs::symlink_metadata(&placed).expect("placed").file_type().is_symlink(),
                "{file} is a file now"
            );
        } else {
            assert!(r.stderr.contains(file), "the error names {file}: {}", r.stderr);
            assert_eq!(jail_datasets(&sim), Vec::<String>::new());
        }
    }
}
