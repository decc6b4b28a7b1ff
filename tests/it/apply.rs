//! `brig plan` and `brig apply` against the sim: live changes to a running
//! jail, restarts only when asked, datasets for hand-written definitions,
//! idempotence, and a failure at any host call undone.

use brig::host::{GetFlags, Host, JailKey};

use crate::common::Sim;
use crate::run::{assert_down, defined, ROOT};

const DEF: &str = "/usr/local/etc/brig/jails/box.toml";

/// The definition of `box` after the edit the tests apply: a new hostname
/// and securelevel, a second address and a tmpfs on /tmp.
const EDITED: &str = "type = \"empty\"\nhostname = \"box.example.org\"\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.20/24\", \"192.0.2.21/24\"]\n[params]\nsecurelevel = 3\n[[mount]]\nfstype = \"tmpfs\"\ntarget = \"/tmp\"\n";

fn running() -> Sim {
    let sim = defined(&[]);
    sim.brig(&["start", "box"]).ok();
    sim
}

fn write_definition(sim: &Sim, text: &str) {
    std::fs::write(sim.file(DEF), text).expect("definition");
}

/// What apply may change, as the kernel and the host report it.
fn fingerprint(sim: &Sim) -> String {
    let h = sim.host();
    let live = h.jail_find("box").expect("get").map(|j| {
        h.jail_get(&JailKey::Jid(j.jid), &["host.hostname", "securelevel", "ip4.addr"], GetFlags::ALIVE)
            .expect("params")
    });
    let mounts: Vec<_> = h.mounts().expect("mounts").into_iter().filter(|m| m.target.starts_with(ROOT)).collect();
    let addrs: Vec<String> =
        h.interfaces().expect("ifs").into_iter().flat_map(|i| i.addrs).map(|a| a.to_string()).collect();
    format!("{live:?}\n{mounts:?}\n{addrs:?}")
}

fn stats(sim: &Sim) -> serde_json::Value {
    sim.brig(&["debug", "sim-stats", "--json"]).json()
}

#[test]
fn apply_changes_a_running_jail_live_and_twice_does_nothing() {
    crate::common::needs_jail_processes!();
    let sim = running();
    assert!(sim.brig(&["plan"]).ok().stdout.contains("nothing to do: 1 jail matches its definition"));
    write_definition(&sim, EDITED);

    sim.brig(&["debug", "sim-stats", "--reset"]).ok();
    let plan = sim.brig(&["plan", "box"]);
    assert_eq!(
        plan.ok().stdout,
        "box (running):\n  write /var/db/brig/started/box.json (mode 600)\n  ifconfig em0 inet 192.0.2.21/24 alias\n  jail_set update box host.hostname=box.example.org ip4.addr=192.0.2.20,192.0.2.21 securelevel=3\n  write /var/db/brig/started/box.json (mode 600)\n  mount -t tmpfs tmpfs /tmp in zroot/brig/jails/box/root\n5 changes to 1 jail\n"
    );
    let s = stats(&sim);
    assert_eq!(s["spawned"], 0, "plan reads state without a process");
    assert_eq!(s["ops"]["zfs_list"], 1, "{s}");
    let j = sim.brig(&["plan", "--json"]).json();
    assert_eq!(j["version"], 1);
    assert_eq!(j["changes"], 5);
    assert_eq!(j["jails"][0]["name"], "box");
    assert_eq!(j["jails"][0]["state"], "running");
    assert_eq!(j["jails"][0]["in_sync"], false);
    assert_eq!(j["jails"][0]["operations"].as_array().expect("ops").len(), 5);

    let before = processes_of(&sim);
    let r = sim.brig(&["apply"]);
    assert!(r.ok().stdout.ends_with("applied 5 changes\n"), "{}", r.stdout);
    assert_eq!(processes_of(&sim), before, "a live change does not restart the jail");
    let h = sim.host();
    let j = h.jail_find("box").expect("get").expect("running");
    assert_eq!((j.hostname.as_str(), j.securelevel, j.ip4.len()), ("box.example.org", 3, 2));
    assert!(h.mounts().expect("mounts").iter().any(|m| m.fstype == "tmpfs" && m.target.ends_with("root/tmp")));
    drop(h);

    sim.brig(&["debug", "sim-stats", "--reset"]).ok();
    assert!(sim.brig(&["apply"]).ok().stdout.contains("nothing to do: 1 jail matches its definition"));
    let s = stats(&sim);
    for op in ["jail_set", "mount", "unmount", "addr_add", "addr_remove", "zfs_create", "zfs_clone"] {
        assert!(s["ops"].get(op).is_none(), "the second apply called {op}: {s}");
    }

    // Back to the original definition: the alias and the mount go again.
    write_definition(&sim, "type = \"empty\"\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.20/24\"]\n");
    sim.brig(&["apply", "box"]).ok();
    assert!(sim.brig(&["plan"]).ok().stdout.starts_with("nothing to do"));
    let fp = fingerprint(&sim);
    assert!(!fp.contains("192.0.2.21") && !fp.contains("tmpfs"), "{fp}");
    sim.brig(&["stop", "box"]).ok();
    assert_down(&sim);
}

fn processes_of(sim: &Sim) -> Vec<i32> {
    crate::common::pids_rooted(|r| r == sim.file(ROOT))
}

#[test]
fn a_change_the_kernel_takes_only_at_creation_needs_a_restart() {
    crate::common::needs_jail_processes!();
    let sim = running();
    write_definition(&sim, "type = \"empty\"\nhostname = \"new\"\n[network]\ninherit = true\n");
    let plan = sim.brig(&["plan"]);
    assert!(
        plan.ok()
            .stdout
            .contains("  needs a restart: ip4 new -> inherit (the kernel sets it only when a jail is created)"),
        "{}",
        plan.stdout
    );
    let before = fingerprint(&sim);
    sim.brig(&["debug", "sim-stats", "--reset"]).ok();
    let r = sim.brig(&["apply"]);
    r.fails(1);
    assert_eq!(
        r.stderr,
        "brig: this jail must restart for changes the running jail cannot take: box (ip4, ip6); nothing was changed there; run `brig apply --restart box`\n"
    );
    assert_eq!(fingerprint(&sim), before, "nothing half-applied");
    assert!(stats(&sim)["ops"].get("jail_set").is_none());

    let r = sim.brig(&["apply", "--restart"]);
    r.ok();
    assert!(r.stdout.contains("stopped jail box") && r.stdout.contains("started jail box"), "{}", r.stdout);
    let h = sim.host();
    let j = h.jail_find("box").expect("get").expect("running");
    assert_eq!(j.hostname, "new");
    let mode = h.jail_get(&JailKey::Jid(j.jid), &["ip4"], GetFlags::ALIVE).expect("get");
    assert_eq!(mode[0].value.to_string(), "inherit");
    drop(h);
    assert!(!fingerprint(&sim).contains("192.0.2.20"), "the old alias went with the restart");
    assert!(sim.brig(&["apply"]).ok().stdout.starts_with("nothing to do"));
}

#[test]
fn apply_makes_the_datasets_of_a_hand_written_definition() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    std::fs::write(
        sim.file("/usr/local/etc/brig/jails/hand.toml"),
        "type = \"empty\"\nhostname = \"hand.example.org\"\n",
    )
    .expect("write");
    let plan = sim.brig(&["plan"]);
    assert_eq!(
        plan.ok().stdout,
        "hand (stopped):\n  zfs create -o brig:jail=hand zroot/brig/jails/hand\n  zfs create zroot/brig/jails/hand/root\n  set hostname=\"hand.example.org\" in etc/rc.conf of zroot/brig/jails/hand/root\n  copy /etc/resolv.conf to /etc/resolv.conf in zroot/brig/jails/hand/root\n  copy /etc/localtime to /etc/localtime in zroot/brig/jails/hand/root\n5 changes to 1 jail\n"
    );
    sim.brig(&["apply"]).ok();
    let rc = std::fs::read_to_string(sim.file("/usr/local/brig/jails/hand/root/etc/rc.conf")).expect("rc.conf");
    assert_eq!(rc, "hostname=\"hand.example.org\"\n");
    assert!(sim.brig(&["apply"]).ok().stdout.starts_with("nothing to do"));
    assert_eq!(sim.brig(&["list", "--json"]).json()["jails"][0]["state"], "stopped");

    std::fs::write(sim.file("/usr/local/etc/brig/jails/thin.toml"), "release = \"14.3-RELEASE\"\n").expect("write");
    let r = sim.brig(&["apply", "thin"]);
    r.fails(1);
    assert_eq!(
        r.stderr,
        "brig: jail thin has no root dataset and release 14.3-RELEASE is not fetched; run `brig release fetch 14.3-RELEASE` first\n"
    );
}

#[test]
fn an_invalid_definition_stops_plan_and_apply_before_anything_changes() {
    crate::common::needs_jail_processes!();
    let sim = running();
    write_definition(&sim, "type = \"empty\"\nhostnme = \"typo\"\n");
    let r = sim.brig(&["apply"]);
    r.fails(2);
    assert!(r.stderr.contains("box.toml:2:1"), "{}", r.stderr);
    sim.brig(&["plan", "nosuch"]).fails(3);
}

/// Every host call of an apply, failed in turn: exit 1, the jail as it
/// was before, and the next apply finishes the job.
#[test]
fn a_failure_at_any_step_of_apply_is_undone() {
    crate::common::needs_jail_processes!();
    let probe = running();
    write_definition(&probe, EDITED);
    let faults = crate::common::every_call(&probe, &["apply"]);
    let done = fingerprint(&probe);
    assert!(faults.iter().any(|f| f == "jail_set:1") && faults.iter().any(|f| f == "mount:1"), "{faults:?}");
    for fault in faults {
        let sim = running();
        write_definition(&sim, EDITED);
        let before = fingerprint(&sim);
        let r = sim.brig_env(&["apply"], &[("BRIG_SIM_FAIL", &fault)]);
        r.fails(1);
        assert!(r.stderr.contains("injected by BRIG_SIM_FAIL"), "{fault}: {}", r.stderr);
        assert_eq!(fingerprint(&sim), before, "{fault}: not undone");
        sim.brig(&["apply"]).ok();
        assert_eq!(fingerprint(&sim), done, "{fault}: the re-run did not converge");
    }
}

#[test]
fn edit_of_a_running_jail_says_whether_apply_can_change_it_live() {
    crate::common::needs_jail_processes!();
    let sim = running();
    let edit = |text: &str| {
        let f = sim.path().join("new.toml");
        std::fs::write(&f, text).expect("write");
        sim.brig_env(&["edit", "box"], &[("EDITOR", &format!("cp {}", f.display()))])
    };
    let r = edit(EDITED);
    assert!(
        r.ok()
            .stdout
            .contains("updated box; `brig apply box` changes the running jail live (`brig plan box` shows how)"),
        "{}",
        r.stdout
    );
    let r = edit("type = \"empty\"\n[network]\ninherit = true\n");
    assert!(
        r.ok()
            .stdout
            .contains("updated box; it is running and needs a restart for ip4, ip6: `brig apply --restart box`"),
        "{}",
        r.stdout
    );
    let r = edit("type = \"empty\"\n[network]\ninherit = true\n[exec]\nstop = \"/bin/sh -c true\"\n");
    r.ok();
    let r = edit(
        &std::fs::read_to_string(sim.file(DEF))
            .expect("def")
            .replace("inherit = true", "interface = \"em0\"\nip4 = [\"192.0.2.20/24\"]"),
    );
    assert!(r.ok().stdout.contains("the running jail already matches it"), "{}", r.stdout);
}

#[test]
fn plan_detailed_exitcode_and_apply_json_say_what_changes() {
    let sim = crate::common::Sim::new();
    sim.brig(&["init"]).ok();
    sim.brig(&["create", "box", "--type", "empty"]).ok();
    sim.brig(&["plan", "--detailed-exitcode"]).ok();
    {
        use brig::host::Host;
        sim.host().zfs_destroy("zroot/brig/jails/box/root", false).expect("destroy");
    }
    let pending = sim.brig(&["plan", "--detailed-exitcode"]);
    assert!(pending.fails(2).stdout.contains("zfs create zroot/brig/jails/box/root"), "{}", pending.stdout);
    // Without the option a pending change is no failure.
    sim.brig(&["plan"]).ok();
    // apply --json says what changed, and nothing but JSON is on stdout.
    let applied = sim.brig(&["apply", "--json"]).ok().json();
    assert_eq!((applied["changed"].as_bool(), applied["jails"][0]["name"].as_str()), (Some(true), Some("box")));
    let ops = applied["jails"][0]["operations"].as_array().expect("operations");
    assert!(ops.iter().any(|o| o == "zfs create zroot/brig/jails/box/root"), "{applied}");
    let again = sim.brig(&["apply", "--json"]).ok().json();
    assert_eq!((again["changed"].as_bool(), again["jails"].as_array().map(Vec::len)), (Some(false), Some(0)));
    // The event log has the steps either way.
    let events = sim.brig(&["events", "--json"]).ok().json()["events"].clone();
    let apply =
        events.as_array().expect("events").iter().find(|e| e["command"] == "apply").cloned().unwrap_or_default();
    assert!(apply["changes"].as_array().is_some_and(|c| !c.is_empty()), "{apply}");
    sim.brig(&["plan", "--detailed-exitcode", "--json"]).ok();
    // An error is 1, never 2, even one that exits 2 otherwise.
    std::fs::write(sim.file("/usr/local/etc/brig/jails/bad.toml"), "relase = 1\n").expect("write");
    sim.brig(&["plan", "bad"]).fails(2);
    let broken = sim.brig(&["plan", "bad", "--detailed-exitcode"]);
    assert!(broken.fails(1).stderr.contains("unknown field `relase`"), "{}", broken.stderr);
}
