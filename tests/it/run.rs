//! `brig start`, `brig stop`, `brig restart` against the sim, with
//! the test userland as the jails' shell so /etc/rc really runs.

use std::path::Path;

use brig::host::{GetFlags, Host, JailKey, ParamValue};

use crate::common::Sim;

pub const ROOT: &str = "/usr/local/brig/jails/box/root";

/// `box`: an empty jail holding the test userland, an /etc/rc that leaves a daemon
/// running, and an /etc/rc.shutdown; with an address on em0.
pub fn defined(extra: &[&str]) -> Sim {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let mut args = vec!["create", "box", "--type", "empty", "--ip4", "192.0.2.20/24", "--interface", "em0"];
    args.extend_from_slice(extra);
    sim.brig(&args).ok();
    crate::common::bootable_root(&sim, ROOT, "sleep 300 &\n");
    sim
}

fn processes_in(sim: &Sim) -> usize {
    crate::common::processes_in(sim, ROOT)
}

/// Nothing of a started jail is left: no jail, no mount in its root, no
/// alias, no process.
#[track_caller]
pub fn assert_down(sim: &Sim) {
    let h = sim.host();
    assert_eq!(h.jail_find("box").expect("get"), None, "jail left");
    let mounts = h.mounts().expect("mounts");
    assert!(mounts.iter().all(|m| !m.target.starts_with(ROOT) || m.fstype == "zfs"), "mounts left: {mounts:?}");
    let ifs = h.interfaces().expect("ifs");
    assert!(ifs.iter().all(|i| i.addrs.iter().all(|a| a.addr().to_string() != "192.0.2.20")), "alias left");
    drop(h);
    assert!(!sim.file("/var/db/brig/started/box.json").exists(), "start record left");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while processes_in(sim) > 0 {
        assert!(std::time::Instant::now() < deadline, "processes left in the jail");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn start_and_stop_follow_jail8() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    let r = sim.brig(&["start", "box"]);
    r.ok();
    assert!(r.stdout.contains("started jail box (jid 1)"), "{}", r.stdout);
    {
        let h = sim.host();
        let j = h.jail_find("box").expect("get").expect("running");
        assert_eq!(j.path, ROOT);
        assert_eq!((j.securelevel, j.enforce_statfs, j.devfs_ruleset, j.children_max), (2, 2, 4, 0));
        assert_eq!(j.ip4, vec!["192.0.2.20".parse::<std::net::Ipv4Addr>().expect("ip")]);
        let allow = h
            .jail_get(&JailKey::Jid(j.jid), &["allow.set_hostname", "allow.raw_sockets"], GetFlags::ALIVE)
            .expect("get");
        assert!(allow.iter().all(|p| p.value == ParamValue::Bool(false)), "{allow:?}");
        let devfs = h.mounts().expect("mounts").into_iter().find(|m| m.fstype == "devfs").expect("devfs mounted");
        assert_eq!(devfs.target, Path::new(ROOT).join("dev"));
        assert!(h
            .interfaces()
            .expect("ifs")
            .iter()
            .any(|i| i.name == "em0" && i.addrs.iter().any(|a| a.addr().to_string() == "192.0.2.20")));
    }
    assert_eq!(processes_in(&sim), 1, "/etc/rc left its daemon running");
    let again = sim.brig(&["start", "box"]);
    assert!(again.ok().stdout.contains("jail box is already running"));
    let j = sim.brig(&["list", "--json"]).json();
    assert_eq!(j["jails"][0]["state"], "running");

    sim.brig(&["stop", "box"]).ok().stdout.contains("stopped jail box");
    assert_down(&sim);
    assert!(sim.brig(&["stop", "box"]).ok().stdout.contains("jail box is not running"));
    sim.brig(&["restart", "box"]).ok();
    assert!(sim.host().jail_find("box").expect("get").is_some());
    sim.brig(&["stop", "--all"]).ok();
    assert_down(&sim);
}

#[test]
fn a_failing_exec_start_leaves_nothing_running() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    std::fs::write(sim.file(&format!("{ROOT}/etc/rc")), "echo rc is broken >&2\nexit 4\n").expect("rc");
    let r = sim.brig(&["start", "box"]);
    r.fails(1);
    assert!(
        r.stderr.contains("exec.start in box: /bin/sh /etc/rc failed: exited with status 4: rc is broken"),
        "{}",
        r.stderr
    );
    assert_down(&sim);
}

#[test]
fn a_planted_mount_point_symlink_is_refused() {
    let sim = defined(&[]);
    let def = sim.file("/usr/local/etc/brig/jails/box.toml");
    let mut text = std::fs::read_to_string(&def).expect("definition");
    text.push_str("\n[[mount]]\nsource = \"/srv\"\ntarget = \"/mnt\"\n");
    std::fs::write(&def, text).expect("write");
    std::fs::create_dir_all(sim.file("/srv")).expect("mkdir");
    std::os::unix::fs::symlink("/", sim.file(&format!("{ROOT}/mnt"))).expect("plant");
    let r = sim.brig(&["start", "box"]);
    r.fails(1);
    assert!(r.stderr.contains("mnt") && r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert_down(&sim);
}

#[test]
fn dependencies_start_first_and_must_be_running() {
    crate::common::needs_jail_processes!();
    let sim = defined(&["--priority", "5"]);
    crate::common::userland_root(&sim, "/usr/local/brig/jails/app/root");
    sim.brig(&["create", "app", "--type", "empty", "--depends", "box"]).ok();
    for f in ["rc", "rc.shutdown"] {
        std::fs::write(sim.file(&format!("/usr/local/brig/jails/app/root/etc/{f}")), "exit 0\n").expect("rc");
    }
    std::fs::write(sim.file("/usr/local/brig/jails/app/root/etc/rc.shutdown"), "exit 0\n").expect("rc.shutdown");
    let r = sim.brig(&["start", "app"]);
    r.fails(1);
    assert!(r.stderr.contains("jail app depends on box, which is not running"), "{}", r.stderr);
    let r = sim.brig(&["start", "--all"]);
    r.ok();
    let order: Vec<&str> = r.stdout.lines().collect();
    assert!(order[0].contains("box") && order[1].contains("app"), "{order:?}");
    sim.brig(&["stop", "--all"]).ok();
    assert_down(&sim);
}

/// Every host call of a start, failed in turn: either the start fails
/// with nothing left up, or (for calls it can do without, such as reading
/// the jid back at the end) it completes; and the next start succeeds.
#[test]
fn a_failure_at_any_step_of_start_leaves_nothing_up() {
    crate::common::needs_jail_processes!();
    let probe = defined(&[]);
    let faults = crate::common::every_call(&probe, &["start", "box"]);
    probe.brig(&["stop", "box"]).ok();
    assert!(faults.iter().any(|f| f.starts_with("jail_set:")), "{faults:?}");
    let mut failed = 0;
    for fault in faults {
        let sim = defined(&[]);
        let r = sim.brig_env(&["start", "box"], &[("BRIG_SIM_FAIL", &fault)]);
        if r.code == Some(0) {
            assert!(sim.host().jail_find("box").expect("get").is_some(), "{fault}: exit 0 but not running");
            sim.brig(&["stop", "box"]).ok();
            continue;
        }
        failed += 1;
        r.fails(1);
        assert!(r.stderr.contains("injected by BRIG_SIM_FAIL"), "{fault}: {}", r.stderr);
        assert_down(&sim);
        sim.brig(&["start", "box"]).ok();
        sim.brig(&["stop", "box"]).ok();
    }
    assert!(failed >= 8, "most calls of a start are essential ({failed})");
}

/// Every host call of a stop, failed in turn: exit 1, and the next stop
/// finishes the job.
#[test]
fn a_failed_stop_is_finished_by_the_next() {
    crate::common::needs_jail_processes!();
    let probe = defined(&[]);
    probe.brig(&["start", "box"]).ok();
    let faults = crate::common::every_call(&probe, &["stop", "box"]);
    probe.brig(&["stop", "box"]).ok();
    assert!(faults.iter().any(|f| f.starts_with("unmount:")), "{faults:?}");
    for fault in faults {
        let sim = defined(&[]);
        sim.brig(&["start", "box"]).ok();
        let r = sim.brig_env(&["stop", "box"], &[("BRIG_SIM_FAIL", &fault)]);
        // Waiting for SIGTERM'd processes polls jail_kill as long as they
        // live, so a later poll the probe made may not happen this time.
        let poll = fault.strip_prefix("jail_kill:").is_some_and(|n| n != "1");
        if poll && r.code == Some(0) {
            assert_down(&sim);
            continue;
        }
        r.fails(1);
        assert!(r.stderr.contains("injected by BRIG_SIM_FAIL"), "{fault}: {}", r.stderr);
        sim.brig(&["stop", "box"]).ok();
        assert_down(&sim);
    }
}

#[test]
fn stop_asks_processes_to_end_before_removing_the_jail() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    // A daemon that leaves a mark when it gets SIGTERM.
    std::fs::write(
        sim.file(&format!("{ROOT}/etc/rc")),
        "(trap 'echo bye > /termed; exit 0' TERM; while :; do sleep 1; done) >/dev/null 2>&1 &\n",
    )
    .expect("rc");
    sim.brig(&["start", "box"]).ok();
    sim.brig(&["stop", "box"]).ok();
    assert_down(&sim);
    assert_eq!(std::fs::read_to_string(sim.file(&format!("{ROOT}/termed"))).expect("the daemon saw SIGTERM"), "bye\n");
}

/// `--dry-run` prints the golden order of a start and a stop across
/// dependent jails, and changes nothing.
#[test]
fn dry_runs_show_start_and_stop_order_across_dependencies() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    sim.brig(&["create", "app", "--type", "empty", "--depends", "box", "--param", "securelevel=3"]).ok();
    sim.brig(&["debug", "sim-stats", "--reset"]).ok();
    let r = sim.brig(&["start", "--all", "--dry-run"]);
    // allow.vmm is left out: the sim's vmm module is not loaded.
    crate::common::golden("dry-run-start.txt", &r.ok().stdout);
    let s = sim.brig(&["debug", "sim-stats", "--json"]).json();
    assert_eq!(s["spawned"], 0);
    for op in ["jail_set", "mount", "addr_add"] {
        assert!(s["ops"].get(op).is_none(), "a dry run called {op}");
    }
    assert!(!sim.file("/var/db/brig/started/box.json").exists());

    crate::common::userland_root(&sim, "/usr/local/brig/jails/app/root");
    for f in ["rc", "rc.shutdown"] {
        std::fs::write(sim.file(&format!("/usr/local/brig/jails/app/root/etc/{f}")), "exit 0\n").expect("rc");
    }
    sim.brig(&["start", "--all"]).ok();
    let r = sim.brig(&["stop", "--all", "--dry-run"]);
    crate::common::golden("dry-run-stop.txt", &r.ok().stdout);
    assert_eq!(sim.brig(&["list", "--json"]).json()["jails"][1]["state"], "running");
    sim.brig(&["stop", "--all"]).ok();
    assert_down(&sim);
}

/// Every host call of `destroy --force` of a running jail, failed in turn:
/// exit 1, and the next destroy leaves no jail, mount, alias, record,
/// dataset or definition.
#[test]
fn a_failed_forced_destroy_is_finished_by_the_next() {
    crate::common::needs_jail_processes!();
    let probe = defined(&[]);
    probe.brig(&["start", "box"]).ok();
    let faults = crate::common::every_call(&probe, &["destroy", "--force", "box"]);
    for op in ["jail_remove:1", "unmount:1", "addr_remove:1", "zfs_destroy:1"] {
        assert!(faults.iter().any(|f| f == op), "{op} not in {faults:?}");
    }
    for fault in faults {
        let sim = defined(&[]);
        sim.brig(&["start", "box"]).ok();
        let r = sim.brig_env(&["destroy", "--force", "box"], &[("BRIG_SIM_FAIL", &fault)]);
        r.fails(1);
        assert!(r.stderr.contains("injected by BRIG_SIM_FAIL"), "{fault}: {}", r.stderr);
        sim.brig(&["destroy", "--force", "box"]).ok();
        assert_down(&sim);
        let left = sim.host().zfs_list("zroot/brig/jails", &[]).expect("list");
        assert_eq!(left.len(), 1, "{fault}: datasets left: {left:?}");
        assert!(!sim.file("/usr/local/etc/brig/jails/box.toml").exists(), "{fault}: definition left");
    }
}

#[test]
fn a_start_waits_for_duplicate_address_detection_of_its_ipv6_aliases() {
    crate::common::needs_jail_processes!();
    let sim = defined(&["--ip6", "2001:db8::20/64"]);
    sim.brig(&["start", "box"]).ok();
    // Each SIOCGIFAFLAG_IN6 read is a tick of the sim's DAD: had the start
    // not waited, the address would still be tentative now.
    let flags = sim.host().addr6_flags("em0", "2001:db8::20".parse().expect("ip")).expect("flags");
    assert_eq!(flags & brig::kernel::net::IN6_IFF_TENTATIVE, 0, "exec.start ran before DAD was over");
    sim.brig(&["stop", "box"]).ok();
}

#[test]
fn a_duplicated_ipv6_address_fails_the_start_and_leaves_nothing() {
    let sim = defined(&["--ip6", "2001:db8::20/64"]);
    sim.configure(|t| format!("duplicate_addresses = [\"2001:db8::20\"]\n{t}"));
    let r = sim.brig(&["start", "box"]);
    r.fails(1);
    assert!(
        r.stderr.contains("2001:db8::20 on em0: another node on the network already has it (duplicate address detection); choose another address"),
        "{}",
        r.stderr
    );
    assert_down(&sim);
    let ifs = sim.host().interfaces().expect("ifs");
    assert!(ifs.iter().all(|i| i.addrs.iter().all(|a| a.addr().to_string() != "2001:db8::20")), "alias left");
}

#[test]
fn a_parameter_the_kernel_lacks_is_refused_naming_the_release() {
    crate::common::needs_jail_processes!();
    let sim = defined(&["--param", "meta=owner=alice"]);
    let r = sim.brig(&["start", "box"]);
    r.fails(1);
    assert_eq!(
        r.stderr.trim(),
        "brig: jail box: parameter meta = owner=alice is not known to this kernel: FreeBSD 15.0 added it and this host runs 14.3-RELEASE; upgrade the host, or remove the parameter"
    );
    assert_down(&sim);
    sim.configure(|t| t.replace("osrelease = \"14.3-RELEASE\"", "osrelease = \"15.0-RELEASE\""));
    sim.brig(&["start", "box"]).ok();
    sim.brig(&["stop", "box"]).ok();
}

#[test]
fn a_devfs_ruleset_that_is_not_loaded_stops_the_start() {
    // devfs_ruleset_use creates a missing ruleset empty: the jail's /dev
    // would show every device. The sim does the same, so brig must look
    // before it mounts.
    let sim = defined(&["--param", "devfs_ruleset=10"]);
    let r = sim.brig(&["start", "box"]);
    r.fails(1);
    assert!(
        r.stderr.contains(
            "devfs ruleset 10 is not loaded, and a /dev mounted with it would show the jail every device of the host"
        ),
        "{}",
        r.stderr
    );
    assert_down(&sim);
    assert_eq!(sim.host().devfs_rules(10).expect("rules"), 0, "nothing mounted it, so nothing created it");
    // The stock ruleset 4 is loaded at boot, unless rc.conf says otherwise.
    assert_eq!(sim.host().devfs_rules(4).expect("rules"), 5);
    let fresh = crate::common::Sim::new();
    fresh.configure(|t| {
        t.replace("devfs_rulesets = [\n    1,\n    2,\n    3,\n    4,\n    5,\n]", "devfs_rulesets = [1, 2, 3]")
    });
    // Rulesets load at boot: reboot the simulated machine.
    std::fs::remove_file(fresh.path().join(".sim/state.json")).expect("reboot");
    assert_eq!(fresh.host().devfs_rules(4).expect("rules"), 0);
}

/// The host's addresses, as (interface, address) pairs.
fn host_addresses(sim: &Sim) -> Vec<String> {
    let ifs = sim.host().interfaces().expect("interfaces");
    ifs.into_iter().flat_map(|i| i.addrs.into_iter().map(move |a| format!("{} {a}", i.name))).collect()
}

#[test]
fn an_address_the_host_already_has_is_never_taken_nor_removed() {
    // SIOCAIFADDR replaces an address an interface already has, so adding
    // the host's own address "succeeds"; a stop would then remove it and
    // cut the host off. brig looks first, and removes only what it added.
    let sim = defined(&[]);
    let before = host_addresses(&sim);
    std::fs::write(
        sim.file("/usr/local/etc/brig/jails/box.toml"),
        "type = \"empty\"\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.1/24\"]\n",
    )
    .expect("definition");
    let r = sim.brig(&["start", "box"]);
    r.fails(1);
    assert!(r.stderr.contains("jail box: 192.0.2.1 is em0's own address; choose another address"), "{}", r.stderr);
    assert_eq!(host_addresses(&sim), before, "the host's address is untouched");
    sim.brig(&["stop", "box"]).ok();
    sim.brig(&["destroy", "box"]).ok();
    assert_eq!(host_addresses(&sim), before, "and still there after stop and destroy");
}

#[test]
fn a_definition_edited_while_running_does_not_steer_what_stop_removes() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    sim.brig(&["start", "box"]).ok();
    // Edited by hand to the host's own address: stop takes down what the
    // start added, 192.0.2.20, not what the definition says now.
    std::fs::write(
        sim.file("/usr/local/etc/brig/jails/box.toml"),
        "type = \"empty\"\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.1/24\"]\n",
    )
    .expect("definition");
    sim.brig(&["stop", "box"]).ok();
    let after = host_addresses(&sim);
    assert!(after.contains(&"em0 192.0.2.1/24".to_string()), "{after:?}");
    assert!(!after.iter().any(|a| a.contains("192.0.2.20")), "{after:?}");
}

#[test]
fn a_start_after_a_stop_that_failed_half_way_finishes_that_stop_first() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    sim.brig(&["start", "box"]).ok();
    // The stop fails at its first unmount: the jail is gone, its alias and
    // record are left, and the journal entry is closed (exec undid what it
    // could).
    sim.brig_env(&["stop", "box"], &[("BRIG_SIM_FAIL", "unmount:1")]).fails(1);
    assert!(host_addresses(&sim).contains(&"em0 192.0.2.20/24".to_string()));
    let r = sim.brig(&["start", "box"]);
    r.ok();
    sim.brig(&["stop", "box"]).ok();
    assert_down(&sim);
}

#[test]
fn a_tenants_fifo_or_giant_passwd_never_blocks_nor_bloats_brig() {
    crate::common::needs_jail_processes!();
    // The jail's root is the tenant's: /etc/passwd made a FIFO used to
    // block `exec --user` forever, a sparse 8 GiB one to be read whole.
    let sim = defined(&[]);
    sim.brig(&["start", "box"]).ok();
    let passwd = sim.file(&format!("{ROOT}/etc/passwd"));
    std::fs::remove_file(&passwd).expect("rm");
    nix::unistd::mkfifo(&passwd, nix::sys::stat::Mode::from_bits_truncate(0o644)).expect("fifo");
    let r = sim.brig(&["exec", "box", "--user", "root", "--", "/bin/sh", "-c", "true"]);
    assert_ne!(r.code, Some(0), "{}", r.stderr);
    std::fs::remove_file(&passwd).expect("rm");
    std::fs::File::create(&passwd).expect("create").set_len(8 << 30).expect("sparse");
    let r = sim.brig(&["exec", "box", "--user", "root", "--", "/bin/sh", "-c", "true"]);
    assert_ne!(r.code, Some(0), "{}", r.stderr);
    sim.brig(&["stop", "box"]).ok();
}

#[test]
fn sim_show_shows_what_brig_did_to_the_machine() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    sim.brig(&["start", "box"]).ok();
    let m = sim.brig(&["debug", "sim-show", "--json"]).json();
    let jail = m["jails"].as_array().expect("jails").iter().find(|j| j["name"] == "box").expect("box").clone();
    assert_eq!(jail["params"]["path"], ROOT);
    assert_eq!(jail["params"]["securelevel"], "2");
    assert!(m["datasets"].as_array().expect("datasets").iter().any(|d| d["name"] == "zroot/brig/jails/box/root"));
    assert!(m["mounts"].as_array().expect("mounts").iter().any(|x| x["target"] == format!("{ROOT}/dev")));
    assert!(m["interfaces"]["em0"].as_array().expect("em0").iter().any(|a| a == "192.0.2.20/24"));
    let text = sim.brig(&["debug", "sim-show"]);
    assert!(
        text.ok().stdout.lines().any(|l| l.contains("box") && l.contains("alive") && l.contains(ROOT)),
        "{}",
        text.stdout
    );
    sim.brig(&["stop", "box"]).ok();
}
