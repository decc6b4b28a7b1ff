//! `brig gc`: orphans of each kind planted on the sim are listed with
//! why, then removed, and nothing else is touched.

use brig::host::Host;

use crate::common::Sim;
use crate::run::{defined, ROOT};

/// (kind, jail) of each orphan `gc` lists.
fn listed(sim: &Sim, args: &[&str]) -> Vec<(String, String)> {
    let out = sim.brig(args).ok().json();
    out["orphans"]
        .as_array()
        .expect("orphans")
        .iter()
        .map(|o| (o["kind"].as_str().unwrap_or_default().into(), o["jail"].as_str().unwrap_or_default().into()))
        .collect()
}

#[test]
fn gc_lists_each_kind_of_orphan_and_removes_exactly_those() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    // A jail that died: its start record, alias and rules stay behind.
    let limits = sim.file("/usr/local/etc/brig/jails/box.toml");
    let text = std::fs::read_to_string(&limits).expect("definition");
    std::fs::write(&limits, format!("{text}\n[limits]\nmaxproc = 100\n")).expect("write");
    sim.brig(&["start", "box"]).ok();
    let jid = sim.host().jail_find("box").expect("get").expect("running").jid;
    sim.host().jail_remove(jid).expect("remove");
    // A dataset whose definition was removed by hand, with its lock file.
    sim.brig(&["create", "old", "--type", "empty"]).ok();
    std::fs::remove_file(sim.file("/usr/local/etc/brig/jails/old.toml")).expect("rm");
    // A defined, stopped jail with a rule left; a rule of a jail brig
    // does not know; a dataset brig did not mark.
    sim.brig(&["create", "idle", "--type", "empty"]).ok();
    let mut h = sim.host();
    h.rctl_add("jail:idle:maxproc:deny=10").expect("rule");
    h.rctl_add("jail:foreign:maxproc:deny=10").expect("rule");
    h.zfs_create("zroot/brig/jails/mine", &[]).expect("dataset");
    drop(h);
    // An interrupted create of a killed brig; a supervisor record and a
    // lock of jails that are gone.
    let plant = |path: &str, text: &str| {
        let p = sim.file(path);
        std::fs::create_dir_all(p.parent().expect("dir")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    plant("/var/db/brig/journal/cut.json", "{\"action\":\"create\",\"pid\":999999}");
    plant("/var/db/brig/supervise/gone.json", "{}");
    plant("/var/db/brig/locks/jail.gone.lock", "");

    let want: Vec<(String, String)> = [
        ("journal", "cut"),
        ("start-record", "box"),
        ("rctl-rule", "idle"),
        ("dataset", "old"),
        ("watch", "gone"),
        ("lock", "gone"),
        ("lock", "old"),
    ]
    .map(|(k, j)| (k.to_string(), j.to_string()))
    .into();
    let dry = listed(&sim, &["gc", "--dry-run", "--json"]);
    assert_eq!(dry, want);
    let table = sim.brig(&["gc", "--dry-run"]);
    assert!(table.ok().stdout.contains("no definition names it"), "{}", table.stdout);
    assert!(sim.file("/var/db/brig/started/box.json").exists(), "a dry run removed something");

    // Without --datasets, a dataset stays; then it goes too.
    let done = sim.brig(&["gc", "--json"]).ok().json();
    let orphans = done["orphans"].as_array().expect("orphans");
    let tried = |o: &serde_json::Value| if o["kind"] == "dataset" { serde_json::Value::Null } else { true.into() };
    assert!(orphans.iter().all(|o| o["removed"] == tried(o)), "{done}");
    assert_eq!(listed(&sim, &["gc", "--dry-run", "--json"]), vec![("dataset".to_string(), "old".to_string())]);
    let done = sim.brig(&["gc", "--datasets", "--json"]).ok().json();
    assert_eq!(done["orphans"][0]["removed"], true, "{done}");
    assert_eq!(listed(&sim, &["gc", "--dry-run", "--json"]), Vec::new());
    crate::run::assert_down(&sim);
    let h = sim.host();
    assert_eq!(h.rctl_rules("jail:").expect("rules"), vec!["jail:foreign:maxproc:deny=10"]);
    let datasets: Vec<String> =
        h.zfs_list("zroot/brig/jails", &[]).expect("list").into_iter().map(|d| d.name).collect();
    assert!(datasets.contains(&"zroot/brig/jails/mine".to_string()), "{datasets:?}");
    assert!(datasets.contains(&"zroot/brig/jails/idle".to_string()), "{datasets:?}");
    assert!(!datasets.iter().any(|d| d.contains("/old")), "{datasets:?}");
    assert!(sim.file(ROOT).exists(), "box's root went");
    drop(h);
    let events = sim.brig(&["events", "--json"]).ok().json()["events"].clone();
    assert!(events.as_array().expect("events").iter().any(|e| e["command"] == "gc"), "{events}");
}
