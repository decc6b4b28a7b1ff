//! `brig doctor` end to end against the sim.

use crate::common::Sim;

#[test]
fn doctor_fails_before_init_and_passes_after() {
    let sim = Sim::new();
    let r = sim.brig(&["doctor"]);
    r.fails(1);
    assert!(r.stdout.contains("fail") && r.stdout.contains("run `brig init`"), "{}", r.stdout);
    sim.brig(&["init"]).ok();
    let r = sim.brig(&["doctor", "--json"]);
    r.ok();
    let j = r.json();
    assert_eq!(j["version"], 1);
    assert_eq!(j["ok"], true);
    let checks = j["checks"].as_array().expect("checks");
    let status = |name: &str| checks.iter().find(|c| c["name"] == name).map(|c| c["status"].clone());
    assert_eq!(status("initialised"), Some("pass".into()));
    assert_eq!(status("dataset"), Some("pass".into()));
    assert_eq!(status("racct"), Some("pass".into()));
}

#[test]
fn doctor_gives_the_loader_line_when_racct_is_off() {
    let sim = Sim::new();
    sim.configure(|t| t.replace("racct = true", "racct = false"));
    sim.brig(&["init"]).ok();
    let r = sim.brig(&["doctor"]);
    r.ok();
    assert!(r.stdout.contains("warn racct: add kern.racct.enable=1 to /boot/loader.conf and reboot"), "{}", r.stdout);
}

#[test]
fn doctor_notices_an_unmounted_dataset() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    {
        use brig::host::Host;
        let mut h = sim.host();
        h.zfs_set("zroot/brig", &[("canmount".into(), "off".into())]).expect("unmount");
    }
    let j = sim.brig(&["doctor", "--json"]).json();
    assert_eq!(j["ok"], false);
    let checks = j["checks"].as_array().expect("checks");
    let ds = checks.iter().find(|c| c["name"] == "dataset").expect("dataset check");
    assert_eq!(ds["status"], "fail");
    assert_eq!(ds["fix"], "run `zfs mount zroot/brig`");
}

#[test]
fn doctor_fails_inside_a_full_jail() {
    let sim = Sim::new();
    sim.configure(|t| t + "\n[sysctl]\n\"security.jail.jailed\" = 1\n\"security.jail.children.max\" = 0\n");
    sim.brig(&["init"]).ok();
    let j = sim.brig(&["doctor", "--json"]).json();
    let checks = j["checks"].as_array().expect("checks");
    assert_eq!(checks.iter().find(|c| c["name"] == "nesting").map(|c| c["status"].clone()), Some("fail".into()));
}
