//! Snapshots through the CLI against the sim: a jail's whole tree at one
//! instant, rolled back (a running jail only with --restart, past later
//! snapshots only with --force), listed and destroyed; the refusals that
//! come before anything changes.

use brig::host::Host;

use crate::common::Sim;
use crate::run::{defined, ROOT};

fn file(sim: &Sim) -> std::path::PathBuf {
    sim.file(&format!("{ROOT}/etc/motd"))
}

#[test]
fn a_rollback_restores_the_jails_files_and_takes_the_later_snapshots_only_when_forced() {
    let sim = defined(&[]);
    std::fs::write(file(&sim), "before\n").expect("write");
    sim.brig(&["snapshot", "box", "clean"]).ok();
    std::fs::write(file(&sim), "after\n").expect("write");
    std::fs::write(sim.file(&format!("{ROOT}/etc/new")), "new\n").expect("write");
    sim.brig(&["snapshot", "box", "later"]).ok();

    let refused = sim.brig(&["rollback", "box", "clean"]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(refused.stderr.contains("destroys its later snapshots later; pass --force"), "{}", refused.stderr);
    assert_eq!(std::fs::read_to_string(file(&sim)).expect("motd"), "after\n", "nothing changed");

    let out = sim.brig(&["rollback", "box", "clean", "--force"]).ok().stdout.clone();
    assert!(out.contains("rolled jail box back to clean, destroying the later snapshots later"), "{out}");
    assert_eq!(std::fs::read_to_string(file(&sim)).expect("motd"), "before\n");
    assert!(!sim.file(&format!("{ROOT}/etc/new")).exists());
    let list = sim.brig(&["snapshot", "list", "box", "--json"]).json();
    let names: Vec<&str> = list["jails"][0]["snapshots"]
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["clean"]);
}

#[test]
fn a_running_jail_is_rolled_back_only_with_restart_and_runs_again_after() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    std::fs::write(file(&sim), "before\n").expect("write");
    sim.brig(&["start", "box"]).ok();
    sim.brig(&["snapshot", "box", "s1"]).ok();
    std::fs::write(file(&sim), "after\n").expect("write");
    let refused = sim.brig(&["rollback", "box", "s1"]);
    assert!(refused.stderr.contains("is running") && refused.stderr.contains("--restart"), "{}", refused.stderr);
    let jid = sim.host().jail_find("box").expect("find").expect("running").jid;
    let out = sim.brig(&["rollback", "box", "s1", "--restart"]).ok().stdout.clone();
    assert!(out.contains("and started it"), "{out}");
    assert_eq!(std::fs::read_to_string(file(&sim)).expect("motd"), "before\n");
    let again = sim.host().jail_find("box").expect("find").expect("running again");
    assert_ne!(again.jid, jid, "stopped and started");
}

#[test]
fn a_snapshot_covers_the_delegated_datasets_and_a_clone_keeps_it() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    std::fs::write(sim.file("/usr/local/etc/brig/jails/t1.toml"), "type = \"empty\"\n[zfs]\ndelegate = [\"data\"]\n")
        .expect("definition");
    sim.brig(&["apply"]).ok();
    sim.brig(&["snapshot", "t1", "s"]).ok();
    let names: Vec<String> =
        sim.host().zfs_list("zroot/brig/jails/t1", &[]).expect("list").into_iter().map(|d| d.name).collect();
    for ds in ["zroot/brig/jails/t1@s", "zroot/brig/jails/t1/root@s", "zroot/brig/jails/t1/data@s"] {
        assert!(names.iter().any(|n| n == ds), "{ds} in {names:?}");
    }
    sim.host().zfs_clone("zroot/brig/jails/t1/data@s", "zroot/copy", &[]).expect("a clone by hand");
    let refused = sim.brig(&["snapshot", "destroy", "t1", "s"]);
    assert!(refused.stderr.contains("needed by their clones zroot/copy"), "{}", refused.stderr);
    assert!(sim.brig(&["snapshot", "list"]).ok().stdout.contains("cloned to zroot/copy"));
    sim.host().zfs_destroy("zroot/copy", false).expect("clone gone");
    sim.brig(&["snapshot", "destroy", "t1", "s"]).ok();
    assert!(sim.host().zfs_list("zroot/brig/jails/t1", &[]).expect("list").iter().all(|d| !d.name.contains('@')));
}

#[test]
fn bad_names_and_missing_things_are_refused_with_a_sentence() {
    let sim = defined(&[]);
    sim.brig(&["snapshot", "box", "s"]).ok();
    for (args, why) in [
        (vec!["snapshot", "box", "s"], "already has a snapshot s; give another name"),
        (vec!["snapshot", "box", "a/b"], "invalid snapshot name 'a/b'"),
        (vec!["snapshot", "nobody"], "jail nobody does not exist"),
        (vec!["rollback", "box", "nope"], "jail box has no snapshot nope; it has s"),
        (vec!["snapshot", "destroy", "box", "nope"], "jail box has no snapshot nope"),
    ] {
        let out = sim.brig(&args);
        assert_ne!(out.code, Some(0), "{args:?}");
        assert!(out.stderr.contains(why), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn prune_keeps_the_newest_automatic_snapshots_and_never_the_users() {
    let sim = defined(&[]);
    let def = sim.file("/usr/local/etc/brig/jails/box.toml");
    let text = std::fs::read_to_string(&def).expect("definition");
    std::fs::write(&def, format!("{text}\n[snapshots]\nkeep = 2\nevery = \"1d\"\n")).expect("write");
    for s in ["mine", "auto-a", "auto-b", "auto-c"] {
        sim.brig(&["snapshot", "box", s]).ok();
    }
    sim.brig(&["create", "other", "--type", "empty"]).ok();
    let names = |sim: &Sim| -> Vec<String> {
        let list = sim.brig(&["snapshot", "list", "box", "--json"]).json();
        list["jails"][0]["snapshots"]
            .as_array()
            .expect("list")
            .iter()
            .map(|s| s["name"].as_str().expect("n").to_string())
            .collect()
    };
    let dry = sim.brig(&["snapshot", "prune", "--dry-run"]).ok().stdout.clone();
    assert_eq!(dry, "box: would destroy auto-a\n", "not due: auto-c is new; other has no [snapshots]");
    assert_eq!(names(&sim).len(), 4, "a dry run changes nothing");
    sim.brig(&["snapshot", "prune"]).ok();
    assert_eq!(names(&sim), ["mine", "auto-b", "auto-c"]);
    let refused = sim.brig(&["snapshot", "prune", "other"]);
    assert!(refused.stderr.contains("jail other has no [snapshots]"), "{}", refused.stderr);
    let bad = sim.brig(&["validate", "box"]);
    bad.ok();
    std::fs::write(&def, format!("{text}\n[snapshots]\nevery = \"sometimes\"\n")).expect("write");
    let invalid = sim.brig(&["validate", "box"]);
    assert!(invalid.stderr.contains("snapshots.every: 'sometimes' is not an interval"), "{}", invalid.stderr);
}

#[test]
fn a_clone_starts_alongside_its_source_with_its_own_address() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    let def = sim.file("/usr/local/etc/brig/jails/box.toml");
    let text = std::fs::read_to_string(&def).expect("definition");
    std::fs::write(
        &def,
        format!("# the web box\n{text}\n[[expose]]\nhost_port = 8080\nport = 80\nhost_address = \"192.0.2.1\"\n"),
    )
    .expect("write");
    std::fs::write(file(&sim), "from box\n").expect("write");
    sim.brig(&["start", "box"]).ok();
    let needs = sim.brig(&["clone", "box", "copy"]);
    assert!(needs.stderr.contains("its clone copy needs its own; give them with --ip4"), "{}", needs.stderr);
    let taken = sim.brig(&["clone", "box", "copy", "--ip4", "192.0.2.20/24"]);
    assert!(taken.stderr.contains("192.0.2.20"), "{}", taken.stderr);
    let out = sim.brig(&["clone", "box", "copy", "--ip4", "192.0.2.21/24"]);
    out.ok();
    assert!(out.stderr.contains("jail copy does not get 1 [[expose]]"), "{}", out.stderr);
    let copy = std::fs::read_to_string(sim.file("/usr/local/etc/brig/jails/copy.toml")).expect("its definition");
    assert!(
        copy.starts_with("# the web box\n") && copy.contains("192.0.2.21/24") && !copy.contains("192.0.2.20/24"),
        "{copy}"
    );
    assert!(!copy.contains("expose"), "{copy}");
    let copied = sim.file("/usr/local/brig/jails/copy/root/etc/motd");
    assert_eq!(std::fs::read_to_string(copied).expect("the source's files"), "from box\n");
    let origin = sim.host().zfs_get("zroot/brig/jails/copy/root", &["origin"]).expect("get")["origin"].clone();
    assert!(origin.starts_with("zroot/brig/jails/box/root@"), "{origin}");
    sim.brig(&["start", "copy"]).ok();
    let running = sim.host_jails();
    assert_eq!(running, vec!["box".to_string(), "copy".to_string()]);
    let rc = std::fs::read_to_string(sim.file("/usr/local/brig/jails/copy/root/etc/rc.conf")).expect("rc.conf");
    assert!(rc.contains("hostname=\"copy\""), "{rc}");

    // The source keeps the snapshot its clone needs.
    sim.brig(&["stop", "box"]).ok();
    let refused = sim.brig(&["destroy", "box"]);
    assert!(refused.stderr.contains("needed by their clones zroot/brig/jails/copy/root"), "{}", refused.stderr);
    assert!(sim.file("/usr/local/etc/brig/jails/box.toml").exists());
    sim.brig(&["destroy", "copy", "--force"]).ok();
    sim.brig(&["destroy", "box"]).ok();
}

#[test]
fn a_rollback_across_a_release_change_is_refused() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let def = sim.file("/usr/local/etc/brig/jails/rel.toml");
    std::fs::write(&def, "type = \"empty\"\nrelease = \"14.2-RELEASE\"\n").expect("definition");
    sim.brig(&["apply"]).ok();
    sim.brig(&["snapshot", "rel", "before"]).ok();
    let prop = sim.host().zfs_get("zroot/brig/jails/rel@before", &["brig:release"]).expect("get");
    assert_eq!(prop.get("brig:release").map(String::as_str), Some("14.2-RELEASE"));
    std::fs::write(&def, "type = \"empty\"\nrelease = \"14.3-RELEASE\"\n").expect("an upgrade");
    let refused = sim.brig(&["rollback", "rel", "before"]);
    assert!(
        refused.stderr.contains("was taken when it was on 14.2-RELEASE, and its definition now names 14.3-RELEASE"),
        "{}",
        refused.stderr
    );
    std::fs::write(&def, "type = \"empty\"\nrelease = \"14.2-RELEASE\"\n").expect("back");
    sim.brig(&["rollback", "rel", "before"]).ok();
}
