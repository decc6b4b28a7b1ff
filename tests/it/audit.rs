//! `brig audit` through the CLI: none for a default jail, findings by
//! severity for a permissive one, exit 1 on a high one (a CI gate).

use brig::host::{Host, SysctlValue};

use crate::common::Sim;

#[test]
fn audit_reports_what_root_can_do_beyond_the_defaults() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim.brig(&["create", "plain", "--type", "empty"]).ok();
    let j = sim.brig(&["audit", "plain", "--json"]).json();
    assert_eq!(j["version"], 1);
    assert_eq!(j["jails"][0]["findings"], serde_json::json!([]));
    assert_eq!(j["high"], 0);
    assert_eq!(j["jails"][0]["advice"].as_array().expect("advice").len(), 2, "no memory and no process limit");
    assert!(sim.brig(&["audit", "plain"]).ok().stdout.starts_with("plain: nothing beyond the secure defaults\n"));

    sim.brig(&[
        "create",
        "loose",
        "--type",
        "empty",
        "--param",
        "allow.raw_sockets=true",
        "--param",
        "allow.mount=true",
        "--param",
        "allow.mount.tmpfs=true",
        "--param",
        "enforce_statfs=1",
        "--param",
        "children.max=2",
    ])
    .ok();
    let r = sim.brig(&["audit", "--all", "--json"]);
    r.fails(1);
    let j = r.json();
    assert_eq!(j["high"], 1);
    let loose = &j["jails"][0];
    assert_eq!(loose["name"], "loose");
    let subjects: Vec<&str> =
        loose["findings"].as_array().expect("findings").iter().map(|f| f["subject"].as_str().expect("s")).collect();
    assert_eq!(
        subjects,
        vec![
            "allow.raw_sockets = true",
            "allow.mount = true",
            "allow.mount.tmpfs = true",
            "enforce_statfs = 1",
            "children.max = 2"
        ]
    );
    assert_eq!(loose["findings"][0]["severity"], "high");
    let text = sim.brig(&["audit", "loose"]);
    text.fails(1);
    assert!(text.stdout.contains("  high    allow.raw_sockets = true: root can open raw sockets"), "{}", text.stdout);

    sim.host().sysctl_set("security.jail.allow_raw_sockets", &SysctlValue::Int(1)).expect("sysctl");
    let j = sim.brig(&["audit", "plain", "--json"]).json();
    assert_eq!(j["host"][0]["subject"], "security.jail.allow_raw_sockets = 1");
    sim.brig(&["audit", "nosuch"]).fails(3);
}
