//! The event log: every command that changes something leaves one line
//! in /var/log/brig/events.jsonl; `brig events` reads them back.

use std::os::unix::fs::PermissionsExt;

use crate::common::Sim;

#[test]
fn changes_are_logged_with_who_what_and_how_they_ended_and_reads_are_not() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim.brig(&["create", "box", "--type", "empty"]).ok();
    sim.brig(&["list"]).ok();
    sim.brig(&["limits", "box", "set", "maxproc=100"]).ok();
    sim.brig(&["destroy", "nope"]).fails(3);
    sim.brig_env(&["edit", "box"], &[("EDITOR", "true"), ("SUDO_USER", "alice")]).ok();
    let all = sim.brig(&["events", "--json"]).ok().json()["events"].clone();
    let commands: Vec<&str> = all.as_array().expect("records").iter().filter_map(|r| r["command"].as_str()).collect();
    assert_eq!(commands, ["init", "create", "limits", "destroy", "edit"]);
    let limits = &all[2];
    // The whole command line (the tests' --host sim:DIR first).
    let args: Vec<&str> = limits["args"].as_array().expect("args").iter().filter_map(|a| a.as_str()).collect();
    assert!(args.ends_with(&["limits", "box", "set", "maxproc=100"]), "{args:?}");
    assert_eq!((limits["ok"].as_bool(), limits["jails"].clone()), (Some(true), serde_json::json!(["box"])));
    assert_eq!(limits["uid"].as_u64(), Some(u64::from(nix::unistd::getuid().as_raw())));
    assert!(all[3]["error"].as_str().is_some_and(|e| e.contains("nope")), "{}", all[3]);
    assert_eq!(all[4]["sudo_user"], "alice");
    let box_only = sim.brig(&["events", "--jail", "box", "--json"]).ok().json()["events"].clone();
    assert_eq!(box_only.as_array().map(Vec::len), Some(3));
    assert_eq!(
        sim.brig(&["events", "--since", "1h", "--json"]).ok().json()["events"].clone().as_array().map(Vec::len),
        Some(5)
    );
    let table = sim.brig(&["events", "--jail", "box"]);
    assert!(table.ok().stdout.contains("limits box set maxproc=100"), "{}", table.stdout);
    sim.brig(&["events", "--since", "soon"]).fails(2);
    let log = sim.file("/var/log/brig/events.jsonl");
    assert_eq!(std::fs::metadata(&log).expect("log").permissions().mode() & 0o777, 0o600);
    // A line cut by a crash is passed over; the others still read.
    let mut text = std::fs::read_to_string(&log).expect("read");
    text.push_str("{\"time\": \"2026-");
    std::fs::write(&log, text).expect("write");
    assert_eq!(sim.brig(&["events", "--json"]).ok().json()["events"].clone().as_array().map(Vec::len), Some(5));
}

#[test]
fn the_steps_carried_out_and_recoveries_are_logged_too() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim.brig(&["create", "box", "--type", "empty"]).ok();
    // Its root dataset lost: apply makes it again, and says how.
    {
        use brig::host::Host;
        sim.host().zfs_destroy("zroot/brig/jails/box/root", false).expect("destroy");
    }
    sim.brig(&["apply"]).ok();
    // A start a killed brig left half-done: the next command takes it back.
    let entry = sim.file("/var/db/brig/journal/box.json");
    std::fs::write(&entry, "{\"action\":\"start\",\"pid\":999999}").expect("entry");
    sim.brig(&["stop", "box"]).ok();
    let all = sim.brig(&["events", "--json"]).ok().json()["events"].clone();
    let records = all.as_array().expect("records");
    let apply = records.iter().find(|r| r["command"] == "apply").expect("apply logged");
    let changes: Vec<&str> = apply["changes"].as_array().expect("changes").iter().filter_map(|c| c.as_str()).collect();
    assert!(changes.contains(&"box: zfs create zroot/brig/jails/box/root"), "{changes:?}");
    let recover = records.iter().find(|r| r["command"] == "recover").expect("recovery logged");
    assert_eq!(recover["jails"], serde_json::json!(["box"]));
    assert_eq!(recover["detail"], "an interrupted start (pid 999999) was taken back");
    // The stop that found it logs itself after.
    assert_eq!(records.last().map(|r| r["command"].clone()), Some(serde_json::json!("stop")));
}
