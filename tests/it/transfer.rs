//! Export and import through the CLI between two sims: the same jail on
//! the other side, and an archive that was cut short or altered anywhere
//! refused with nothing made.

use crate::common::Sim;

const WEB: &str = "/usr/local/brig/jails/web/root";

/// A sim with jail `web` (an address, a delegated dataset, a file in its
/// root), and its export.
fn exported() -> (Sim, tempfile::TempDir, std::path::PathBuf) {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim.brig(&[
        "create",
        "web",
        "--type",
        "empty",
        "--ip4",
        "192.0.2.9/24",
        "--interface",
        "em0",
        "--set",
        "zfs.delegate=[\"data\"]",
    ])
    .ok();
    std::fs::create_dir_all(sim.file(&format!("{WEB}/etc"))).expect("mkdir");
    std::fs::write(sim.file(&format!("{WEB}/etc/motd")), "hello from web\n").expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("web.brig");
    let out = sim.brig(&["export", "web", archive.to_str().expect("utf-8")]);
    out.ok();
    assert!(out.stdout.contains("exported jail web"), "{}", out.stdout);
    (sim, dir, archive)
}

/// An initialised second sim.
fn other() -> Sim {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim
}

fn datasets(sim: &Sim) -> Vec<String> {
    use brig::host::Host;
    sim.host()
        .zfs_list("zroot/brig/jails", &[])
        .expect("list")
        .into_iter()
        .map(|d| d.name)
        .filter(|n| n.starts_with("zroot/brig/jails/") && !n.contains('@'))
        .collect()
}

#[test]
fn an_imported_jail_is_the_exported_one() {
    let (src, _dir, archive) = exported();
    let dst = other();
    let out = dst.brig(&["import", archive.to_str().expect("utf-8")]);
    out.ok();
    assert!(out.stdout.contains("imported jail web"), "{}", out.stdout);
    let def = |s: &Sim| std::fs::read_to_string(s.file("/usr/local/etc/brig/jails/web.toml")).expect("definition");
    assert_eq!(def(&dst), def(&src));
    assert_eq!(std::fs::read_to_string(dst.file(&format!("{WEB}/etc/motd"))).expect("motd"), "hello from web\n");
    assert_eq!(datasets(&dst), datasets(&src));
    use brig::host::Host;
    assert_eq!(dst.host().zfs_get("zroot/brig/jails/web/data", &["jailed"]).expect("get")["jailed"], "on");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&archive).expect("archive").permissions());
    assert_eq!(mode & 0o777, 0o600, "the jail's files are the owner's alone");

    // Again: the name is taken; under another name and address it is not.
    let again = dst.brig(&["import", archive.to_str().expect("utf-8")]);
    assert!(again.stderr.contains("jail web already exists"), "{}", again.stderr);
    let clash = dst.brig(&["import", archive.to_str().expect("utf-8"), "--name", "web2"]);
    assert!(clash.stderr.contains("192.0.2.9"), "{}", clash.stderr);
    dst.brig(&["import", archive.to_str().expect("utf-8"), "--name", "web2", "--ip4", "192.0.2.10/24"]).ok();
    assert_eq!(datasets(&dst).len(), 6);
}

#[test]
fn an_altered_or_cut_archive_is_refused_and_nothing_is_made() {
    let (_src, dir, archive) = exported();
    let bytes = std::fs::read(&archive).expect("archive");
    let bad = dir.path().join("bad.brig");
    let dst = other();
    // The head, a part, the end; and cuts.
    let mut cases: Vec<Vec<u8>> = [20, 300, bytes.len() / 2, bytes.len() - 30, bytes.len() - 5]
        .iter()
        .map(|at| {
            let mut b = bytes.clone();
            b[*at] ^= 0x04;
            b
        })
        .collect();
    cases.extend([bytes[..bytes.len() / 2].to_vec(), bytes[..bytes.len() - 1].to_vec()]);
    for (i, case) in cases.iter().enumerate() {
        std::fs::write(&bad, case).expect("write");
        let out = dst.brig(&["import", bad.to_str().expect("utf-8")]);
        assert_eq!(out.code, Some(1), "case {i}: {}", out.stderr);
        assert!(out.stderr.contains("brig: "), "case {i}");
        assert!(datasets(&dst).is_empty(), "case {i}: nothing made: {:?}", datasets(&dst));
        assert!(!dst.file("/usr/local/etc/brig/jails/web.toml").exists(), "case {i}");
    }
    let newer = String::from_utf8_lossy(&bytes).replacen("brig-export 1", "brig-export 9", 1);
    std::fs::write(&bad, newer.as_bytes()).expect("write");
    let out = dst.brig(&["import", bad.to_str().expect("utf-8")]);
    assert!(out.stderr.contains("format 9, newer than this brig's 2"), "{}", out.stderr);
}

#[test]
fn a_failed_export_leaves_no_archive_and_one_inside_a_jail_is_refused() {
    let (src, dir, _) = exported();
    let target = dir.path().join("again.brig");
    let failed = src.brig_env(&["export", "web", target.to_str().expect("utf-8")], &[("BRIG_SIM_FAIL", "zfs_send:2")]);
    assert_eq!(failed.code, Some(1), "{}", failed.stderr);
    assert!(!target.exists(), "no archive after a failed send");
    assert!(std::fs::read_dir(dir.path()).expect("dir").all(|e| !e
        .expect("e")
        .file_name()
        .to_string_lossy()
        .contains("partial")));
    let inside = src.file(&format!("{WEB}/tmp.brig"));
    let refused = src.brig(&["export", "web", inside.to_str().expect("utf-8")]);
    assert!(refused.stderr.contains("inside a jail's directory"), "{}", refused.stderr);
    assert!(!inside.exists());
    let missing = src.brig(&["export", "nobody", target.to_str().expect("utf-8")]);
    assert_eq!(missing.code, Some(3), "{}", missing.stderr);
}

/// An archive of `web`, made once for the tests that only read it.
pub fn archive() -> &'static std::path::Path {
    static ARCHIVE: std::sync::OnceLock<(Sim, tempfile::TempDir, std::path::PathBuf)> = std::sync::OnceLock::new();
    &ARCHIVE.get_or_init(exported).2
}

#[test]
fn an_incremental_archive_brings_what_changed_to_the_jail_the_other_host_has() {
    let (src, dir, full) = exported();
    let dst = other();
    let path = |p: &std::path::Path| p.to_str().expect("utf-8").to_string();
    let inc = dir.path().join("inc.brig");
    let since = {
        let list = src.brig(&["snapshot", "list", "web", "--json"]).json();
        list["jails"][0]["snapshots"][0]["name"].as_str().expect("name").to_string()
    };
    std::fs::write(src.file(&format!("{WEB}/etc/motd")), "changed\n").expect("write");
    src.brig(&["snapshot", "web", "later"]).ok();
    src.brig(&["export", "web", &path(&inc), "--snapshot", "later", "--since", &since]).ok();
    assert!(std::fs::metadata(&inc).expect("inc").len() > 0);

    let without = dst.brig(&["import", &path(&inc)]);
    assert!(without.stderr.contains("this host has no jail web to add it to"), "{}", without.stderr);
    dst.brig(&["import", &path(&full)]).ok();
    dst.brig(&["import", &path(&inc)]).ok();
    assert_eq!(std::fs::read_to_string(dst.file(&format!("{WEB}/etc/motd"))).expect("motd"), "changed\n");
    // Again: each dataset is there already, and nothing changes.
    dst.brig(&["import", &path(&inc)]).ok();
    assert_eq!(std::fs::read_to_string(dst.file(&format!("{WEB}/etc/motd"))).expect("motd"), "changed\n");

    // An archive that does not continue from what this host has.
    src.brig(&["snapshot", "web", "third"]).ok();
    let skip = dir.path().join("skip.brig");
    src.brig(&["export", "web", &path(&skip), "--snapshot", "third", "--since", &since]).ok();
    let refused = dst.brig(&["import", &path(&skip)]);
    assert!(
        refused.stderr.contains("its latest snapshot here is later; export again with --since later"),
        "{}",
        refused.stderr
    );
}

/// A stand-in for ssh that runs the command after `--` against sim `to`:
/// `brig migrate` between two sims on this machine.
fn fake_ssh(dir: &std::path::Path, to: &Sim) -> std::path::PathBuf {
    let script = dir.join("ssh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nunset BRIG_SIM_FAIL\nwhile [ \"$1\" != \"--\" ]; do shift; done\nshift 2\nexec {} --host sim:{} \"$@\"\n",
            env!("CARGO_BIN_EXE_brig"),
            to.path().display()
        ),
    )
    .expect("write");
    std::os::unix::fs::PermissionsExt::set_mode(&mut std::fs::metadata(&script).expect("m").permissions(), 0o755);
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    script
}

#[test]
fn a_live_migration_moves_a_running_jail_and_says_how_long_it_was_down() {
    crate::common::needs_jail_processes!();
    let src = crate::run::defined(&[]);
    let box_root = "/usr/local/brig/jails/box/root";
    std::fs::write(src.file(&format!("{box_root}/etc/motd")), "moving\n").expect("write");
    src.brig(&["start", "box"]).ok();
    let dst = other();
    let dir = tempfile::tempdir().expect("tempdir");
    let ssh = fake_ssh(dir.path(), &dst);
    let env = [("BRIG_SSH", ssh.to_str().expect("utf-8"))];
    let out = src.brig_env(&["migrate", "box", "ssh://admin@other.example", "--live"], &env);
    out.ok();
    assert!(out.stdout.contains("moved jail box to admin@other.example: it was down for"), "{}", out.stdout);
    assert!(src.host_jails().is_empty(), "stopped here");
    assert_eq!(dst.host_jails(), vec!["box".to_string()], "running there");
    assert_eq!(std::fs::read_to_string(dst.file(&format!("{box_root}/etc/motd"))).expect("motd"), "moving\n");
    // Two snapshots went: the whole tree while it ran, then what changed.
    let snaps = dst.brig(&["snapshot", "list", "box", "--json"]).json();
    assert_eq!(snaps["jails"][0]["snapshots"].as_array().expect("list").len(), 2);
}

#[test]
fn a_failed_migration_starts_the_jail_here_again() {
    crate::common::needs_jail_processes!();
    let src = crate::run::defined(&[]);
    src.brig(&["start", "box"]).ok();
    let dir = tempfile::tempdir().expect("tempdir");
    // Without brig initialised there, nothing stops here.
    let bare = Sim::new();
    let ssh = fake_ssh(dir.path(), &bare);
    let out = src.brig_env(&["migrate", "box", "ssh://other"], &[("BRIG_SSH", ssh.to_str().expect("utf-8"))]);
    assert!(out.stderr.contains("brig snapshot list box: it ended with exit status 1"), "{}", out.stderr);
    assert_eq!(src.host_jails(), vec!["box".to_string()]);
    // There, another jail has its address: the import fails after the stop here.
    let dst = other();
    dst.brig(&["create", "squatter", "--type", "empty", "--ip4", "192.0.2.20/24", "--interface", "em0"]).ok();
    let ssh = fake_ssh(dir.path(), &dst);
    let out = src.brig_env(&["migrate", "box", "ssh://other"], &[("BRIG_SSH", ssh.to_str().expect("utf-8"))]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("other brig import --trust -: it ended with"), "{}", out.stderr);
    assert_eq!(src.host_jails(), vec!["box".to_string()], "running here again");
    assert!(!dst.file("/usr/local/etc/brig/jails/box.toml").exists(), "nothing there");
    let bad = src.brig(&["migrate", "box", "ssh://-oProxyCommand=x"]);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
}

#[test]
fn a_migration_killed_anywhere_ends_moved_when_run_again() {
    crate::common::needs_jail_processes!();
    let motd = "/usr/local/brig/jails/box/root/etc/motd";
    let setup = || {
        let src = crate::run::defined(&[]);
        std::fs::write(src.file(motd), "moving\n").expect("write");
        src.brig(&["start", "box"]).ok();
        (src, other())
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let args = ["migrate", "box", "ssh://other", "--live"];
    // The calls a migration makes here, counted on one that goes through.
    let (probe, probe_dst) = setup();
    let ssh = fake_ssh(dir.path(), &probe_dst);
    let env = [("BRIG_SSH", ssh.to_str().expect("utf-8"))];
    probe.brig(&["debug", "sim-stats", "--reset"]).ok();
    probe.brig_env(&args, &env).ok();
    let stats = probe.brig(&["debug", "sim-stats", "--json"]).json();
    let calls: Vec<String> = stats["ops"]
        .as_object()
        .expect("ops")
        .iter()
        .flat_map(|(op, n)| (1..=n.as_u64().expect("n")).map(move |i| format!("{op}:{i}")))
        .collect();
    assert!(calls.len() > 10, "{calls:?}");
    for call in &calls {
        let (src, dst) = setup();
        let ssh = fake_ssh(dir.path(), &dst);
        let ssh = ssh.to_str().expect("utf-8");
        let killed = src.brig_env(&args, &[("BRIG_SSH", ssh), ("BRIG_SIM_FAIL", &format!("{call}:abort"))]);
        if killed.code.is_some() {
            continue;
        }
        let again = src.brig_env(&args, &[("BRIG_SSH", ssh)]);
        assert_eq!(again.code, Some(0), "{call}: {}{}", again.stdout, again.stderr);
        assert!(src.host_jails().is_empty(), "{call}: stopped here");
        assert_eq!(
            dst.host_jails(),
            vec!["box".to_string()],
            "{call}: running there: {}{}",
            again.stdout,
            again.stderr
        );
        assert_eq!(std::fs::read_to_string(dst.file(motd)).expect("motd"), "moving\n", "{call}");
        assert!(!src.file("/var/db/brig/journal/box.json").exists(), "{call}");
    }
}

#[test]
fn an_archive_that_would_run_or_mount_on_this_host_needs_trust() {
    let src = Sim::new();
    src.brig(&["init"]).ok();
    std::fs::write(
        src.file("/usr/local/etc/brig/jails/hooked.toml"),
        "type = \"empty\"\n[exec]\nprestart = \"touch /tmp/owned\"\n[zfs]\ndelegate = [\"data\"]\n",
    )
    .expect("definition");
    src.brig(&["apply"]).ok();
    // A dataset the jail made below its delegated one travels too.
    use brig::host::Host;
    src.host().zfs_create("zroot/brig/jails/hooked/data/mine", &[]).expect("the jail's own dataset");
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("hooked.brig");
    src.brig(&["export", "hooked", archive.to_str().expect("utf-8")]).ok();
    let dst = other();
    let refused = dst.brig(&["import", archive.to_str().expect("utf-8")]);
    assert!(
        refused.stderr.contains("would have this host run or mount: exec.prestart = \"touch /tmp/owned\""),
        "{}",
        refused.stderr
    );
    assert!(datasets(&dst).is_empty());
    dst.brig(&["import", archive.to_str().expect("utf-8"), "--trust"]).ok();
    assert!(datasets(&dst).contains(&"zroot/brig/jails/hooked/data/mine".to_string()), "{:?}", datasets(&dst));
}

#[test]
fn an_incremental_import_keeps_this_hosts_definition() {
    let (src, dir, full) = exported();
    let dst = other();
    let path = |p: &std::path::Path| p.to_str().expect("utf-8").to_string();
    dst.brig(&["import", &path(&full), "--ip4", "192.0.2.99/24"]).ok();
    let since = src.brig(&["snapshot", "list", "web", "--json"]).json()["jails"][0]["snapshots"][0]["name"]
        .as_str()
        .expect("name")
        .to_string();
    let inc = dir.path().join("inc2.brig");
    src.brig(&["export", "web", &path(&inc), "--since", &since]).ok();
    dst.brig(&["import", &path(&inc)]).ok();
    let def = std::fs::read_to_string(dst.file("/usr/local/etc/brig/jails/web.toml")).expect("definition");
    assert!(def.contains("192.0.2.99/24") && !def.contains("192.0.2.9/24"), "{def}");
}

#[test]
fn a_signed_archive_imports_only_with_its_key() {
    let (src, dir, unsigned) = exported();
    let path = |p: &std::path::Path| p.to_str().expect("utf-8").to_string();
    let (key, other_key) = (dir.path().join("key"), dir.path().join("other"));
    for k in [&key, &other_key] {
        src.brig(&["keygen", &path(k)]).ok();
    }
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).expect("key").permissions());
    assert_eq!(mode & 0o777, 0o600);
    let signed = dir.path().join("signed.brig");
    src.brig(&["export", "web", &path(&signed), "--sign", &path(&key)]).ok();
    let dst = other();
    let pubkey = |k: &std::path::Path| format!("{}.pub", path(k));
    let wrong = dst.brig(&["import", &path(&signed), "--verify", &pubkey(&other_key)]);
    assert!(wrong.stderr.contains("signature is not made by the key --verify names"), "{}", wrong.stderr);
    assert!(datasets(&dst).is_empty(), "taken back");
    let bare = dst.brig(&["import", &path(&unsigned), "--verify", &pubkey(&key)]);
    assert!(bare.stderr.contains("the archive is not signed"), "{}", bare.stderr);
    assert!(datasets(&dst).is_empty(), "taken back");
    dst.brig(&["import", &path(&signed), "--verify", &pubkey(&key)]).ok();
    assert_eq!(datasets(&dst).len(), 3);
    let bad_key = dst.brig(&["import", &path(&signed), "--verify", &path(&signed)]);
    assert_eq!(bad_key.code, Some(2), "{}", bad_key.stderr);
}

#[test]
fn a_multi_jail_jail_conf_converts_with_a_report_of_what_did_not_map() {
    let sim = other();
    let conf = "path = \"/usr/jails/$name\";\nmount.devfs;\nexec.start = \"/bin/sh /etc/rc\";\nexec.stop = \"/bin/sh /etc/rc.shutdown jail\";\nweb {\n host.hostname = web.example.org;\n ip4.addr = \"em0|192.0.2.30/24\";\n exec.consolelog = /var/log/web.log;\n depend = db;\n}\ndb {\n ip4.addr = \"em0|192.0.2.31/24\";\n allow.sysvipc;\n}\nghost { path = /nowhere; }\n12345 { path = /usr/jails/web; }\n";
    std::fs::write(sim.file("/etc/jail.conf"), conf).expect("jail.conf");
    for j in ["web", "db"] {
        std::fs::create_dir_all(sim.file(&format!("/usr/jails/{j}/etc"))).expect("mkdir");
        std::fs::write(sim.file(&format!("/usr/jails/{j}/etc/motd")), format!("{j}\n")).expect("write");
    }
    let dry =
        sim.brig(&["import", "--from", "jailconf", "/etc/jail.conf", "--only", "web", "--dry-run"]).ok().stdout.clone();
    assert!(dry.contains("would convert jail web") && dry.contains("not mapped: exec.consolelog"), "{dry}");
    assert!(dry.contains("not mapped: mount.devfs: brig mounts devfs"), "{dry}");
    assert!(!sim.file("/usr/local/etc/brig/jails/web.toml").exists(), "a dry run writes nothing");

    let out = sim.brig(&["import", "--from", "jailconf", "/etc/jail.conf"]);
    assert_eq!(out.code, Some(1), "ghost has no root: {}", out.stderr);
    assert!(out.stderr.contains("jail ghost: its path \"/nowhere\" is not a directory"), "{}", out.stderr);
    assert!(out.stderr.contains("jail 12345: invalid jail name '12345'"), "{}", out.stderr);
    assert!(out.stdout.contains("converted jail web") && out.stdout.contains("converted jail db"), "{}", out.stdout);
    assert_eq!(std::fs::read_to_string(sim.file("/usr/local/brig/jails/web/root/etc/motd")).expect("copied"), "web\n");
    assert!(sim.file("/usr/jails/web/etc/motd").exists(), "the original stays");
    let def = std::fs::read_to_string(sim.file("/usr/local/etc/brig/jails/web.toml")).expect("definition");
    assert!(def.contains("depends = [\"db\"]") && def.contains("192.0.2.30/24"), "{def}");
    sim.brig(&["validate"]).ok();
}

/// A root with a file, for a converted jail to copy.
fn foreign_root(sim: &Sim, path: &str) {
    std::fs::create_dir_all(sim.file(&format!("{path}/etc"))).expect("mkdir");
    std::fs::write(sim.file(&format!("{path}/etc/motd")), "foreign\n").expect("write");
}

#[test]
fn a_bastille_an_ezjail_and_an_iocage_jail_convert_saying_what_did_not_map() {
    let sim = other();
    // Bastille: jail.conf and the fstab it names.
    let b = "/usr/local/bastille/jails/bweb";
    foreign_root(&sim, &format!("{b}/root"));
    std::fs::write(
        sim.file(&format!("{b}/jail.conf")),
        format!("bweb {{\n  devfs_ruleset = 4;\n  enforce_statfs = 2;\n  exec.clean;\n  exec.consolelog = /var/log/bastille/bweb_console.log;\n  exec.start = '/bin/sh /etc/rc';\n  exec.stop = '/bin/sh /etc/rc.shutdown';\n  host.hostname = bweb;\n  mount.devfs;\n  mount.fstab = {b}/fstab;\n  path = {b}/root;\n  securelevel = 2;\n  interface = em0;\n  ip4.addr = 192.0.2.40;\n  ip6 = disable;\n}}\n"),
    )
    .expect("jail.conf");
    std::fs::write(
        sim.file(&format!("{b}/fstab")),
        format!("/usr/local/bastille/releases/14.1-RELEASE {b}/root/.bastille nullfs ro 0 0\n"),
    )
    .expect("fstab");
    std::fs::write(sim.file(&format!("{b}/rctl.conf")), "jail:bweb:memoryuse:deny=1G\n").expect("rctl.conf");
    // ezjail: an rc file.
    foreign_root(&sim, "/usr/jails/ez");
    std::fs::create_dir_all(sim.file("/usr/local/etc/ezjail")).expect("mkdir");
    std::fs::write(
        sim.file("/usr/local/etc/ezjail/ez"),
        "export jail_ez_hostname=\"ez\"\nexport jail_ez_ip=\"em0|192.0.2.41\"\nexport jail_ez_rootdir=\"/usr/jails/ez\"\nexport jail_ez_exec_start=\"/bin/sh /etc/rc\"\nexport jail_ez_devfs_enable=\"YES\"\nexport jail_ez_image=\"/usr/jails/ez.img\"\n",
    )
    .expect("ezjail");
    // iocage: config.json, the root beside it.
    let i = "/iocage/jails/ioc";
    foreign_root(&sim, &format!("{i}/root"));
    std::fs::write(
        sim.file(&format!("{i}/config.json")),
        "{\"host_hostuuid\": \"ioc\", \"host_hostname\": \"ioc.example.org\", \"ip4_addr\": \"em0|192.0.2.42/24\", \"boot\": 1, \"allow_raw_sockets\": 0, \"release\": \"14.1-RELEASE-p5\", \"basejail\": 0, \"notes\": \"none\"}\n",
    )
    .expect("config.json");

    for (from, file, jail, not_mapped) in [
        ("bastille", format!("{b}/jail.conf"), "bweb", "exec.consolelog: brig keeps no console log yet"),
        ("ezjail", "/usr/local/etc/ezjail/ez".to_string(), "ez", "image = \"/usr/jails/ez.img\": ezjail's own setting"),
        ("iocage", format!("{i}/config.json"), "ioc", "release = \"14.1-RELEASE-p5\": iocage's own setting"),
    ] {
        let out = sim.brig(&["import", "--from", from, &file]);
        out.ok();
        assert!(out.stdout.contains(&format!("converted jail {jail}")), "{from}: {}", out.stdout);
        assert!(out.stdout.contains(not_mapped), "{from}: {}", out.stdout);
        let copied = sim.file(&format!("/usr/local/brig/jails/{jail}/root/etc/motd"));
        assert_eq!(std::fs::read_to_string(copied).expect("copied"), "foreign\n", "{from}");
    }
    let listed =
        sim.brig(&["import", "--from", "bastille", &format!("{b}/jail.conf"), "--dry-run"]).ok().stdout.clone();
    assert!(listed.contains("not mapped: rctl.conf: Bastille's rctl rules"), "{listed}");
    let bweb = std::fs::read_to_string(sim.file("/usr/local/etc/brig/jails/bweb.toml")).expect("definition");
    assert!(bweb.contains("target = \"/.bastille\"") && bweb.contains("readonly = true"), "{bweb}");
    let ioc = std::fs::read_to_string(sim.file("/usr/local/etc/brig/jails/ioc.toml")).expect("definition");
    assert!(ioc.contains("boot = true") && ioc.contains("\"allow.raw_sockets\" = false"), "{ioc}");
    sim.brig(&["validate"]).ok();
}
