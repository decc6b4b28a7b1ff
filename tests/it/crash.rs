//! brig killed at every host call of create, start, stop, destroy and
//! apply (BRIG_SIM_FAIL=OP:N:abort: SIGKILL, no undo), then the same
//! command run again: it succeeds, says what it recovered, and the
//! machine is exactly as after an uninterrupted run.

use brig::host::Host;

use crate::common::Sim;
use crate::limits::limited;
use crate::run::ROOT;

const DEF: &str = "/usr/local/etc/brig/jails/box.toml";

/// What a command may change, without what differs between runs anyway
/// (jids, creation times, process ids).
pub fn state(sim: &Sim) -> String {
    let h = sim.host();
    let jails: Vec<String> = h
        .jail_list()
        .expect("jails")
        .into_iter()
        .map(|j| format!("{} {} {:?} {} {}", j.name, j.path, j.ip4, j.hostname, j.securelevel))
        .collect();
    let datasets: Vec<String> = h
        .zfs_list("zroot/brig", &["origin", "quota", "jailed", "mountpoint", "readonly"])
        .expect("datasets")
        .into_iter()
        .map(|d| format!("{} {:?}", d.name, d.props))
        .collect();
    let mounts: Vec<String> = h
        .mounts()
        .expect("mounts")
        .into_iter()
        .map(|m| format!("{} {} {}", m.fstype, m.source, m.target.display()))
        .collect();
    let ifs = h.interfaces().expect("ifs");
    let mut addrs: Vec<String> =
        ifs.iter().map(|i| format!("{} {} {:?}", i.name, if i.up { "up" } else { "down" }, i.addrs)).collect();
    // Bridges with their members; a running VNET jail's own stack.
    for b in ifs.iter().filter(|i| i.name.starts_with("bridge")) {
        let mut members = h.bridge_members(&b.name).expect("members");
        members.sort();
        addrs.push(format!("{} members {members:?}", b.name));
    }
    addrs.push(format!("pf brig/box {:?}", h.pf_rules("brig/box")));
    addrs.push(format!("dummynet {:?}", h.dn_pipes()));
    if let Some(j) = h.jail_find("box").expect("get") {
        if let Ok(v) = h.vnet_view(j.jid) {
            addrs.push(format!("inside {v:?}"));
        }
    }
    let rules = h.rctl_rules("jail:").expect("rules");
    let files: Vec<String> = ["/usr/local/etc/brig/jails", "/var/db/brig/started", "/var/db/brig/journal"]
        .iter()
        .flat_map(|d| crate::common::tree(&sim.file(d)).into_iter().map(move |f| format!("{d}/{f}")))
        .map(|f| format!("{f}: {}", std::fs::read_to_string(sim.file(&f)).unwrap_or_default()))
        .collect();
    // The jail's root, every file with its contents, so that a root that
    // exists but was left half-made shows.
    let root = sim.file(ROOT);
    let root_files: Vec<String> = crate::common::tree(&root)
        .into_iter()
        .map(|f| {
            let p = root.join(&f);
            let data = match std::fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_symlink() => format!("-> {:?}", std::fs::read_link(&p).unwrap_or_default()),
                Ok(m) if m.is_file() => format!("{:?}", std::fs::read(&p).unwrap_or_default().len()),
                _ => String::new(),
            };
            format!("{f} {data}")
        })
        .collect();
    let processes = crate::common::processes_in(sim, ROOT);
    format!(
        "{jails:#?}\n{datasets:#?}\n{mounts:#?}\n{addrs:#?}\n{rules:#?}\n{files:#?}\n{root_files:#?}\nprocesses {processes}"
    )
}

/// Kills `args` at each of its host calls in a fresh `setup()`, runs it
/// again, and compares with an uninterrupted run.
fn killed_at_every_call(setup: fn() -> Sim, args: &[&str]) {
    killed_at_each_of(setup, args, 4);
}

/// The same, for a command known to make at least `least` host calls.
fn killed_at_each_of(setup: fn() -> Sim, args: &[&str], least: usize) {
    let probe = setup();
    let calls = crate::common::every_call(&probe, args);
    let want = state(&probe);
    assert!(calls.len() >= least, "{calls:?}");
    let mut killed = 0;
    for call in &calls {
        let sim = setup();
        let r = sim.brig_env(args, &[("BRIG_SIM_FAIL", &format!("{call}:abort"))]);
        if r.code.is_none() {
            killed += 1;
            assert!(r.stderr.contains("simulated crash"), "{call}: {}", r.stderr);
            let left = sim.file("/var/db/brig/journal/box.json").exists();
            let again = sim.brig(args);
            again.ok();
            // Killed before anything changed, there is nothing to recover.
            assert_eq!(again.stderr.contains("brig: jail box: an interrupted"), left, "{call}: {}", again.stderr);
        } else {
            // A later poll of jail_kill the probe made may not come.
            assert!(call.starts_with("jail_kill:"), "{call}: not killed: {:?} {}", r.code, r.stderr);
        }
        assert_eq!(state(&sim), want, "{} killed at {call}, then run again", args.join(" "));
    }
    assert!(killed * 2 > calls.len(), "most calls were killed at ({killed} of {})", calls.len());
}

fn created() -> Sim {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim
}

fn running() -> Sim {
    let sim = limited();
    sim.brig(&["start", "box"]).ok();
    sim
}

fn edited() -> Sim {
    let sim = running();
    std::fs::write(
        sim.file(DEF),
        "type = \"empty\"\nhostname = \"box.example.org\"\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.20/24\", \"192.0.2.21/24\"]\n[limits]\nmaxproc = 50\n[[mount]]\nfstype = \"tmpfs\"\ntarget = \"/tmp\"\n",
    )
    .expect("definition");
    sim
}

#[test]
fn create_killed_anywhere_is_taken_back_and_made_again() {
    killed_at_every_call(
        created,
        &["create", "box", "--type", "empty", "--ip4", "192.0.2.20/24", "--interface", "em0"],
    );
}

#[test]
fn start_killed_anywhere_is_taken_back_and_started_again() {
    crate::common::needs_jail_processes!();
    killed_at_every_call(limited, &["start", "box"]);
}

#[test]
fn vnet_start_killed_anywhere_is_taken_back_and_started_again() {
    crate::common::needs_jail_processes!();
    // Killed between making the epair and naming its ends, a re-run would
    // find an epair no record names.
    killed_at_every_call(|| crate::vnet::defined(&[]), &["start", "box"]);
}

/// The VNET `box` with a firewall and NAT in its pf anchor.
fn firewalled() -> crate::common::Sim {
    crate::vnet::defined(&[
        "--set",
        "firewall.inbound=[\"tcp/22\"]",
        "--set",
        "firewall.nat=true",
        "--set",
        "firewall.nat_interface=em0",
    ])
}

#[test]
fn firewalled_start_and_stop_killed_anywhere_converge() {
    crate::common::needs_jail_processes!();
    killed_at_every_call(firewalled, &["start", "box"]);
    let running = || {
        let sim = firewalled();
        sim.brig(&["start", "box"]).ok();
        sim
    };
    killed_at_every_call(running, &["stop", "box"]);
}

#[test]
fn a_live_firewall_change_killed_anywhere_converges() {
    crate::common::needs_jail_processes!();
    let changed = || {
        let sim = firewalled();
        sim.brig(&["start", "box"]).ok();
        let text = std::fs::read_to_string(sim.file(DEF)).expect("definition");
        std::fs::write(sim.file(DEF), text.replace("\"tcp/22\"", "\"tcp/2222\"")).expect("write");
        sim
    };
    killed_at_every_call(changed, &["apply"]);
}

/// `box` on em0 with an inbound bandwidth limit.
fn shaped() -> Sim {
    crate::bandwidth::limited("bandwidth_in = \"100M\"\n", true)
}

fn shaped_running() -> Sim {
    let sim = shaped();
    sim.brig(&["start", "box"]).ok();
    sim
}

#[test]
fn a_limited_start_stop_and_bandwidth_change_killed_anywhere_converge() {
    crate::common::needs_jail_processes!();
    killed_at_every_call(shaped, &["start", "box"]);
    killed_at_every_call(shaped_running, &["stop", "box"]);
    let changed = || {
        let sim = shaped_running();
        let text = std::fs::read_to_string(sim.file(DEF)).expect("definition");
        std::fs::write(sim.file(DEF), format!("{text}bandwidth_out = \"2M\"\n")).expect("write");
        sim
    };
    killed_at_every_call(changed, &["apply"]);
}

/// The running `box` with two snapshots and a file changed since.
fn snapshotted() -> Sim {
    let sim = limited();
    std::fs::write(sim.file(&format!("{ROOT}/etc/motd")), "one\n").expect("write");
    sim.brig(&["snapshot", "box", "one"]).ok();
    std::fs::write(sim.file(&format!("{ROOT}/etc/motd")), "two\n").expect("write");
    sim.brig(&["snapshot", "box", "two"]).ok();
    std::fs::write(sim.file(&format!("{ROOT}/etc/motd")), "three\n").expect("write");
    sim.brig(&["start", "box"]).ok();
    sim
}

#[test]
fn snapshot_destroy_and_rollback_killed_anywhere_converge() {
    crate::common::needs_jail_processes!();
    // One listing, then one call for all datasets at once.
    killed_at_each_of(snapshotted, &["snapshot", "box", "three"], 2);
    killed_at_each_of(snapshotted, &["snapshot", "destroy", "box", "two"], 2);
    killed_at_every_call(snapshotted, &["rollback", "box", "one", "--force", "--restart"]);
    // Not due (every week), two automatic snapshots past keep.
    let pruned = || {
        let sim = limited();
        let text = std::fs::read_to_string(sim.file(DEF)).expect("definition");
        std::fs::write(sim.file(DEF), format!("{text}\n[snapshots]\nkeep = 1\nevery = \"1w\"\n")).expect("write");
        for s in ["auto-a", "auto-b", "auto-c"] {
            sim.brig(&["snapshot", "box", s]).ok();
        }
        sim
    };
    killed_at_each_of(pruned, &["snapshot", "prune"], 2);
    // From a snapshot it names: a snapshot taken for it would be named
    // after the time, and differ from run to run.
    killed_at_every_call(snapshotted, &["clone", "box", "copy", "--snapshot", "one", "--ip4", "192.0.2.21/24"]);
}

#[test]
fn import_killed_anywhere_is_taken_back_and_made_again() {
    let archive = crate::transfer::archive().to_str().expect("utf-8").to_string();
    let fresh = || {
        let sim = Sim::new();
        sim.brig(&["init"]).ok();
        sim
    };
    // The harness runs the same arguments on each fresh sim.
    let args = ["import", archive.as_str(), "--name", "box"];
    killed_at_every_call(fresh, &args);
}

#[test]
fn vnet_stop_killed_anywhere_is_finished() {
    crate::common::needs_jail_processes!();
    let running_vnet = || {
        let sim = crate::vnet::defined(&[]);
        sim.brig(&["start", "box"]).ok();
        sim
    };
    killed_at_every_call(running_vnet, &["stop", "box"]);
}

#[test]
fn stop_killed_anywhere_is_finished() {
    crate::common::needs_jail_processes!();
    killed_at_every_call(running, &["stop", "box"]);
}

#[test]
fn destroy_killed_anywhere_is_finished() {
    crate::common::needs_jail_processes!();
    killed_at_every_call(running, &["destroy", "--force", "box"]);
}

#[test]
fn apply_killed_anywhere_is_finished() {
    crate::common::needs_jail_processes!();
    killed_at_every_call(edited, &["apply"]);
}

/// A thin jail defined by hand: apply makes its datasets and files.
fn handwritten() -> Sim {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim.brig(&["release", "fetch", "14.3-RELEASE", "--from", mirror()]).ok();
    std::fs::write(
        sim.file(DEF),
        "release = \"14.3-RELEASE\"\nhostname = \"box.example.org\"\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.20/24\"]\n",
    )
    .expect("definition");
    sim
}

#[test]
fn apply_making_a_jail_killed_anywhere_makes_it_whole() {
    // Killed after the root was cloned, a re-run used to find the root
    // there, call the apply finished, and leave it without its rc.conf.
    killed_at_every_call(handwritten, &["apply"]);
}

#[test]
fn boot_stop_killed_anywhere_is_finished() {
    crate::common::needs_jail_processes!();
    // Killed after jail_remove, a re-run used to skip the jail that was no
    // longer running and leave its mounts, alias and rules.
    killed_at_every_call(running, &["boot", "stop"]);
}

#[test]
fn limits_killed_anywhere_converge() {
    crate::common::needs_jail_processes!();
    // Killed after the definition was rewritten, the rules in the kernel
    // used to stay as they were.
    killed_at_every_call(running, &["limits", "box", "set", "maxproc=77", "memoryuse=2G"]);
}

/// `box` gone from under brig (its start record, alias and rules left),
/// and the dataset of a jail whose definition was removed by hand.
fn orphaned() -> Sim {
    let sim = running();
    let jid = sim.host().jail_find("box").expect("get").expect("running").jid;
    sim.host().jail_remove(jid).expect("remove");
    sim.brig(&["create", "old", "--type", "empty"]).ok();
    std::fs::remove_file(sim.file("/usr/local/etc/brig/jails/old.toml")).expect("rm");
    sim
}

#[test]
fn gc_killed_anywhere_converges() {
    crate::common::needs_jail_processes!();
    killed_at_every_call(orphaned, &["gc", "--datasets"]);
}

/// `box` with restart = "always", its processes gone: the supervisor
/// restarts it.
fn died() -> Sim {
    let sim = crate::health::watched("restart = \"always\"\nrestart_delay = 0");
    crate::health::kill_processes(&sim);
    sim
}

#[test]
fn a_supervisor_restart_killed_anywhere_converges() {
    crate::common::needs_jail_processes!();
    // Killed after its stop, a supervisor used to find the jail stopped
    // by hand (no start record) and leave it down.
    killed_at_every_call(died, &["supervise", "--once", "--jobs", "1"]);
}

/// One release mirror for every run of the test, at a path that does not
/// change between them (the command line must be the same each time).
fn mirror() -> &'static str {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let m = crate::release::mirror(&crate::release::base_entries(), None);
        let keep = tempfile::tempdir().expect("tempdir");
        for f in ["base.txz", "MANIFEST"] {
            std::fs::copy(m.path().join(f), keep.path().join(f)).expect("copy");
        }
        keep
    });
    dir.path().to_str().expect("utf-8 path")
}

#[test]
fn release_fetch_killed_anywhere_is_fetched_by_the_next_run() {
    killed_at_every_call(created, &["release", "fetch", "14.3-RELEASE", "--from", mirror()]);
}

#[test]
fn temporary_files_a_killed_brig_left_are_swept_by_the_next_that_locks_the_jail() {
    let sim = limited();
    let target = sim.path().join("precious");
    std::fs::write(&target, "keep").expect("write");
    let left = [
        "/usr/local/etc/brig/jails/.box.toml.tmp.4242",
        "/usr/local/etc/brig/jails/.box.edit.toml",
        "/var/db/brig/journal/.box.json.tmp.17",
        "/var/db/brig/started/.box.json.tmp.99",
    ];
    for f in left {
        std::fs::create_dir_all(sim.file(f).parent().expect("dir")).expect("mkdir");
        std::fs::write(sim.file(f), "half").expect("write");
    }
    // A symlink in a temporary file's place goes as a name only.
    std::os::unix::fs::symlink(&target, sim.file("/usr/local/etc/brig/jails/.box.toml.tmp.7")).expect("symlink");
    // Not brig's pattern, or another jail's: kept.
    let kept = ["/usr/local/etc/brig/jails/.box.toml.tmp.notapid", "/usr/local/etc/brig/jails/.boxer.toml.tmp.5"];
    for f in kept {
        std::fs::write(sim.file(f), "other").expect("write");
    }
    sim.brig(&["stop", "box"]).ok();
    for f in left.iter().chain(&["/usr/local/etc/brig/jails/.box.toml.tmp.7"]) {
        assert!(std::fs::symlink_metadata(sim.file(f)).is_err(), "{f} is left");
    }
    for f in kept {
        assert!(sim.file(f).exists(), "{f} was removed");
    }
    assert_eq!(std::fs::read_to_string(&target).expect("target"), "keep");
}

#[test]
fn release_update_killed_anywhere_is_taken_back_and_done_by_the_next_run() {
    killed_at_each_of(crate::upgrade::outdated_release, &["release", "update", "14.3-RELEASE"], 6);
}

#[test]
fn upgrade_killed_anywhere_is_taken_back_or_finished_never_half() {
    killed_at_every_call(crate::upgrade::upgradable, &["upgrade", "box"]);
}

#[test]
fn a_thick_upgrade_killed_anywhere_is_rolled_back_or_finished() {
    killed_at_every_call(crate::upgrade::upgradable_thick, &["upgrade", "box"]);
}

#[test]
fn upgrade_rollback_killed_anywhere_is_finished_by_the_next_command() {
    // Killed after the roots were switched back, the next command finishes
    // the rollback, and running it again finds no upgrade to undo.
    let args = ["upgrade", "--rollback", "box"];
    let probe = crate::upgrade::upgraded();
    let calls = crate::common::every_call(&probe, &args);
    let want = state(&probe);
    assert!(calls.len() >= 4, "{calls:?}");
    for call in &calls {
        let sim = crate::upgrade::upgraded();
        let r = sim.brig_env(&args, &[("BRIG_SIM_FAIL", &format!("{call}:abort"))]);
        assert!(r.code.is_none(), "{call}: not killed: {}", r.stderr);
        let again = sim.brig(&args);
        if again.code != Some(0) {
            assert!(again.stderr.contains("interrupted upgrade"), "{call}: {}", again.stderr);
            assert!(again.stderr.contains("has no upgrade to undo"), "{call}: {}", again.stderr);
        }
        assert_eq!(state(&sim), want, "upgrade --rollback killed at {call}, then run again");
    }
}

#[test]
fn upgrade_of_a_running_jail_killed_anywhere_ends_with_it_running() {
    crate::common::needs_jail_processes!();
    killed_at_every_call(crate::upgrade::upgradable_running, &["upgrade", "box", "--restart"]);
}

/// `box` with the six provision steps after two that give it an /etc/rc
/// and rc.shutdown keeping no log: a run killed while the jail ran starts
/// it once more, and how often it started is not what must converge.
fn six_quiet_steps() -> Sim {
    let sim = crate::provision::released();
    let quiet = "\n[[provision]]\ncopy = { from = \"files/quiet\", to = \"/etc/rc\" }\n\n[[provision]]\ncopy = { from = \"files/quiet\", to = \"/etc/rc.shutdown\" }\n\n[[provision]]";
    crate::provision::define(&sim, "box", &crate::provision::SIX.replacen("\n[[provision]]", quiet, 1));
    std::fs::write(sim.file("/usr/local/etc/brig/jails/box/files/quiet"), "exit 0\n").expect("write");
    sim
}

#[test]
fn provision_killed_anywhere_converges() {
    crate::common::needs_jail_processes!();
    killed_at_every_call(six_quiet_steps, &["provision", "box"]);
}

/// `box` provisioned, then its fourth step changed: the next run starts
/// from a cached layer in the root's place.
fn reprovisioned() -> Sim {
    let sim = six_quiet_steps();
    sim.brig(&["provision", "box"]).ok();
    let text = std::fs::read_to_string(sim.file(DEF)).expect("read").replace("echo four", "echo FOUR");
    std::fs::write(sim.file(DEF), text).expect("write");
    sim
}

#[test]
fn a_reprovision_from_a_cached_layer_killed_anywhere_converges() {
    crate::common::needs_jail_processes!();
    killed_at_every_call(reprovisioned, &["provision", "box"]);
}

/// A thin jail `box` of the test release, stopped.
fn thin_box() -> Sim {
    let sim = crate::provision::released();
    sim.brig(&["create", "box", "--release", crate::provision::RELEASE]).ok();
    sim
}

#[test]
fn commit_killed_anywhere_converges() {
    killed_at_each_of(thin_box, &["commit", "box", "img"], 3);
}

#[test]
fn brig_run_killed_anywhere_leaves_nothing_after_the_next_run() {
    crate::common::needs_jail_processes!();
    let args = ["run", "--release", crate::provision::RELEASE, "--rm", "--name", "box", "--", "/bin/true"];
    killed_at_every_call(crate::provision::released, &args);
}

/// An image's archive, made once: `web`, committed from a thin jail.
fn image_archive() -> &'static str {
    static FILE: std::sync::OnceLock<(tempfile::TempDir, String)> = std::sync::OnceLock::new();
    &FILE
        .get_or_init(|| {
            let sim = thin_box();
            sim.brig(&["commit", "box", "web"]).ok();
            let dir = tempfile::tempdir().expect("tempdir");
            let file = dir.path().join("web.brig").display().to_string();
            sim.brig(&["export", "--image", "web", &file]).ok();
            (dir, file)
        })
        .1
}

#[test]
fn image_import_killed_anywhere_leaves_nothing_or_the_image() {
    killed_at_each_of(crate::provision::released, &["import", "--image", image_archive()], 2);
}

#[test]
fn a_scripted_edit_killed_anywhere_leaves_one_definition_or_the_other() {
    killed_at_each_of(limited, &["edit", "box", "--set", "limits.maxproc=60"], 2);
}
