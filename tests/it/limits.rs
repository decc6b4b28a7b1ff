//! rctl limits and CPUs against the sim: applied at start, removed at
//! stop, changed live, refused while racct is off, and undone when any
//! step of a start with limits fails.

use brig::host::Host;

use crate::common::Sim;
use crate::run::{assert_down, defined};

const DEF: &str = "/usr/local/etc/brig/jails/box.toml";
const LIMITS: &str =
    "\n[limits]\nmemoryuse = \"1G\"\nmaxproc = 100\nreadbps = { amount = \"10M\", action = \"log\" }\ncpus = \"1-2\"\n";

/// `box` (see run.rs) with limits.
pub fn limited() -> Sim {
    let sim = defined(&[]);
    let mut text = std::fs::read_to_string(sim.file(DEF)).expect("definition");
    text.push_str(LIMITS);
    std::fs::write(sim.file(DEF), text).expect("definition");
    sim
}

fn rules(sim: &Sim) -> Vec<String> {
    let mut r = sim.host().rctl_rules("jail:box:").expect("rules");
    r.sort();
    r
}

fn cpus(sim: &Sim) -> Vec<u32> {
    let h = sim.host();
    let j = h.jail_find("box").expect("get").expect("running");
    h.cpuset_get(j.jid).expect("cpuset")
}

#[test]
fn limits_are_set_after_creation_and_removed_at_stop() {
    crate::common::needs_jail_processes!();
    let sim = limited();
    sim.brig(&["start", "box"]).ok();
    assert_eq!(
        rules(&sim),
        vec!["jail:box:maxproc:deny=100", "jail:box:memoryuse:deny=1073741824", "jail:box:readbps:log=10485760"]
    );
    assert_eq!(cpus(&sim), vec![1, 2]);
    let j = sim.brig(&["limits", "box", "--json"]).json();
    assert_eq!(j["version"], 1);
    assert_eq!(j["running"], true);
    assert_eq!(j["cpus"], "1-2");
    assert_eq!(j["limits"][0]["resource"], "memoryuse");
    assert_eq!(j["limits"][0]["rule"], "jail:box:memoryuse:deny=1073741824");
    assert_eq!(j["limits"][0]["active"], true);
    assert_eq!(j["limits"][1]["usage"], 1, "/etc/rc left one daemon running");
    let table = sim.brig(&["limits", "box"]);
    let lines: Vec<&str> = table.ok().stdout.lines().collect();
    // Bytes as people read them in the table; JSON keeps them exact.
    assert_eq!(lines[0], "RESOURCE    AMOUNT   ACTION   ACTIVE   USAGE", "{}", table.stdout);
    assert!(lines[1].starts_with("memoryuse   1G       deny     yes      "), "{}", table.stdout);
    assert_eq!(lines.last(), Some(&"cpus: 1-2"));
    let stats = sim.brig(&["stats", "--json"]).json();
    assert_eq!(stats["jails"][0]["name"], "box");
    assert_eq!(stats["jails"][0]["usage"]["maxproc"], 1);
    let text = sim.brig(&["stats", "--prometheus"]).ok().stdout.clone();
    let samples = parse_prometheus(&text);
    let label = |k: &str, v: &str| (k.to_string(), v.to_string());
    let maxproc = vec![label("jail", "box"), label("jid", "1"), label("resource", "maxproc")];
    assert!(samples.contains(&("brig_jail_resource".into(), maxproc, 1.0)), "{samples:?}");
    let up = vec![label("jail", "box"), label("jid", "1")];
    assert!(samples.contains(&("brig_jail_up".into(), up, 1.0)), "{samples:?}");

    sim.brig(&["stop", "box"]).ok();
    assert_eq!(rules(&sim), Vec::<String>::new(), "jail_remove leaves rules; stop must not");
    assert_down(&sim);
}

#[test]
fn limits_change_live_without_a_restart() {
    crate::common::needs_jail_processes!();
    let sim = limited();
    sim.brig(&["start", "box"]).ok();
    let jid = sim.host().jail_find("box").expect("get").expect("running").jid;
    let r = sim.brig(&["limits", "box", "set", "maxproc=50", "pcpu=20", "cpus=0"]);
    assert!(r.ok().stdout.ends_with("updated the limits of box, live\n"), "{}", r.stdout);
    assert_eq!(
        rules(&sim),
        vec![
            "jail:box:maxproc:deny=50",
            "jail:box:memoryuse:deny=1073741824",
            "jail:box:pcpu:deny=20",
            "jail:box:readbps:log=10485760"
        ]
    );
    assert_eq!(cpus(&sim), vec![0]);
    assert_eq!(sim.host().jail_find("box").expect("get").expect("running").jid, jid, "not restarted");
    let def = std::fs::read_to_string(sim.file(DEF)).expect("definition");
    assert!(def.contains("maxproc = 50") && def.contains("pcpu = 20"), "{def}");

    sim.brig(&["limits", "box", "unset", "readbps", "cpus"]).ok();
    assert!(!rules(&sim).iter().any(|r| r.contains("readbps")));
    assert_eq!(cpus(&sim), vec![0, 1, 2, 3], "back to every CPU of the machine");
    assert!(sim.brig(&["apply"]).ok().stdout.starts_with("nothing to do"), "apply agrees with limits set");

    // Through the definition and apply, too.
    let def = std::fs::read_to_string(sim.file(DEF)).expect("definition").replace("maxproc = 50", "maxproc = 70");
    std::fs::write(sim.file(DEF), def).expect("write");
    let plan = sim.brig(&["plan"]);
    assert!(
        plan.ok().stdout.contains("  rctl -r jail:box:maxproc:deny=50\n  rctl -a jail:box:maxproc:deny=70\n"),
        "{}",
        plan.stdout
    );
    sim.brig(&["apply"]).ok();
    assert!(rules(&sim).contains(&"jail:box:maxproc:deny=70".to_string()));
}

#[test]
fn bad_limits_are_refused_with_the_definition_unchanged() {
    let sim = limited();
    let before = std::fs::read_to_string(sim.file(DEF)).expect("definition");
    let r = sim.brig(&["limits", "box", "set", "readbps={ amount = 1, action = \"deny\" }"]);
    r.fails(2);
    assert!(
        r.stderr.contains("box.toml:")
            && r.stderr.contains("readbps cannot be denied; readbps allows throttle, log, devctl"),
        "{}",
        r.stderr
    );
    let r = sim.brig(&["limits", "box", "set", "maxproc=-1"]);
    r.fails(2);
    assert!(r.stderr.contains("limits.maxproc: cannot be negative"), "{}", r.stderr);
    sim.brig(&["limits", "box", "set", "cpus=9"]).ok();
    // A limit it does not have is unset already; a name brig does not know is refused.
    let r = sim.brig(&["limits", "box", "unset", "nthr", "--json"]).ok().json();
    assert_eq!(r["changed"].as_bool(), Some(false), "{r}");
    let r = sim.brig(&["limits", "box", "unset", "nthreads"]);
    assert!(r.fails(1).stderr.contains("nthreads is no limit brig knows"), "{}", r.stderr);
    // A CPU the machine lacks is only found by the kernel: the start
    // fails and is undone.
    let r = sim.brig(&["start", "box"]);
    r.fails(1);
    assert!(r.stderr.contains("cpuset -l 9 -j box failed: cpuset_set: CPU 9 does not exist"), "{}", r.stderr);
    assert_down(&sim);
    assert_eq!(rules(&sim), Vec::<String>::new());
    sim.brig(&["limits", "box", "unset", "cpus"]).ok();
    let after = std::fs::read_to_string(sim.file(DEF)).expect("definition");
    assert_eq!(after, before.replace("cpus = \"1-2\"\n", ""));
}

#[test]
fn without_racct_a_jail_with_limits_needs_no_limits() {
    crate::common::needs_jail_processes!();
    let sim = limited();
    sim.configure(|t| t.replace("racct = true", "racct = false"));
    let r = sim.brig(&["start", "box"]);
    r.fails(1);
    assert_eq!(
        r.stderr,
        "brig: jail box has limits but kern.racct.enable is 0 on this host; add kern.racct.enable=1 to /boot/loader.conf and reboot, or pass --no-limits to start it without them\n"
    );
    assert_down(&sim);
    let r = sim.brig(&["start", "--no-limits", "box"]);
    r.ok();
    assert!(r.stderr.contains("warning: kern.racct.enable is 0"), "{}", r.stderr);
    assert_eq!(cpus(&sim), vec![1, 2], "CPUs need no racct");
    let plan = sim.brig(&["plan"]);
    assert!(
        plan.ok().stdout.contains("note: the limits of box are not applied: kern.racct.enable is 0"),
        "{}",
        plan.stdout
    );
    sim.brig(&["stats"]).fails(1);
    sim.brig(&["stop", "box"]).ok();
    // A jail without limits starts as ever.
    std::fs::write(sim.file(DEF), "type = \"empty\"\n").expect("write");
    sim.brig(&["start", "box"]).ok();
    sim.brig(&["stop", "box"]).ok();
}

/// Every host call of a start with limits, failed in turn: nothing is
/// left, no rule either, and the next start succeeds.
#[test]
fn a_failure_at_any_step_of_a_start_with_limits_leaves_no_rule() {
    crate::common::needs_jail_processes!();
    let probe = limited();
    let faults = crate::common::every_call(&probe, &["start", "box"]);
    probe.brig(&["stop", "box"]).ok();
    for op in ["rctl_add:3", "cpuset_set:1", "cpuset_get:1"] {
        assert!(faults.iter().any(|f| f == op), "{op} not in {faults:?}");
    }
    for fault in faults.iter().filter(|f| f.starts_with("rctl_") || f.starts_with("cpuset_") || f.starts_with("spawn"))
    {
        let sim = limited();
        let r = sim.brig_env(&["start", "box"], &[("BRIG_SIM_FAIL", fault)]);
        r.fails(1);
        assert!(r.stderr.contains("injected by BRIG_SIM_FAIL"), "{fault}: {}", r.stderr);
        assert_down(&sim);
        assert_eq!(rules(&sim), Vec::<String>::new(), "{fault}: rules left");
        sim.brig(&["start", "box"]).ok();
        sim.brig(&["stop", "box"]).ok();
    }
}

/// A stop whose rule removal fails is finished by the next stop: rules are
/// removed even from a jail that is no longer running.
#[test]
fn a_failed_rule_removal_is_finished_by_the_next_stop() {
    crate::common::needs_jail_processes!();
    let probe = limited();
    probe.brig(&["start", "box"]).ok();
    let faults = crate::common::every_call(&probe, &["stop", "box"]);
    let removals: Vec<&String> = faults.iter().filter(|f| f.starts_with("rctl_remove:")).collect();
    assert_eq!(removals.len(), 3, "{faults:?}");
    for fault in removals {
        let sim = limited();
        sim.brig(&["start", "box"]).ok();
        sim.brig_env(&["stop", "box"], &[("BRIG_SIM_FAIL", fault)]).fails(1);
        assert!(!rules(&sim).is_empty(), "{fault}: the failed removal was undone");
        let r = sim.brig(&["stop", "box"]);
        r.ok();
        assert_eq!(rules(&sim), Vec::<String>::new(), "{fault}");
        assert_down(&sim);
    }
}

#[test]
fn edits_keep_every_key_whatever_its_toml_form() {
    // limits set on limits written inline kept only the new one before.
    let sim = defined(&[]);
    let mut text = std::fs::read_to_string(sim.file(DEF)).expect("definition");
    text = format!("limits = {{ maxproc = 10, memoryuse = \"1G\" }} # mine\n{text}");
    std::fs::write(sim.file(DEF), &text).expect("definition");
    sim.brig(&["limits", "box", "set", "nthr=50"]).ok();
    let after: toml::Table = toml::from_str(&std::fs::read_to_string(sim.file(DEF)).expect("def")).expect("TOML");
    let limits = after["limits"].as_table().expect("limits");
    assert_eq!(limits.get("maxproc").and_then(|v| v.as_integer()), Some(10));
    assert_eq!(limits.get("memoryuse").and_then(|v| v.as_str()), Some("1G"));
    assert_eq!(limits.get("nthr").and_then(|v| v.as_integer()), Some(50));
    assert!(std::fs::read_to_string(sim.file(DEF)).expect("def").contains("# mine"));
    sim.brig(&["limits", "box", "unset", "maxproc"]).ok();
    let after: toml::Table = toml::from_str(&std::fs::read_to_string(sim.file(DEF)).expect("def")).expect("TOML");
    assert_eq!(after["limits"].as_table().map(|t| t.len()), Some(2));

    // create --from with an inline network and --interface kept only the
    // interface before.
    let from = sim.path().join("web.toml");
    std::fs::write(
        &from,
        "type = \"empty\"\nnetwork = { ip4 = [\"192.0.2.30/24\"] }\nparams.\"allow.raw_sockets\" = true\n",
    )
    .expect("write");
    let from = from.display().to_string();
    sim.brig(&["create", "web", "--from", &from, "--interface", "em0", "--param", "allow.chflags=false"]).ok();
    let def: toml::Table =
        toml::from_str(&std::fs::read_to_string(sim.file("/usr/local/etc/brig/jails/web.toml")).expect("def"))
            .expect("TOML");
    assert_eq!(def["network"]["ip4"][0].as_str(), Some("192.0.2.30/24"));
    assert_eq!(def["network"]["interface"].as_str(), Some("em0"));
    assert_eq!(def["params"]["allow.raw_sockets"].as_bool(), Some(true));
    assert_eq!(def["params"]["allow.chflags"].as_bool(), Some(false));
}

/// A sample: metric, labels sorted by name, value.
pub type PromSample = (String, Vec<(String, String)>, f64);

/// `text` read by a Prometheus text-format parser (the prometheus-parse
/// crate): every sample, as (metric, labels sorted, value), with its
/// family's type as the parser saw it (counters and gauges only).
#[track_caller]
pub fn parse_prometheus(text: &str) -> Vec<PromSample> {
    use prometheus_parse::{Scrape, Value};
    assert!(text.ends_with('\n'));
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("the text format parses");
    scrape
        .samples
        .into_iter()
        .map(|s| {
            let value = match s.value {
                Value::Counter(v) | Value::Gauge(v) => v,
                other => panic!("{}: neither counter nor gauge: {other:?}", s.metric),
            };
            let mut labels: Vec<(String, String)> = s.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            labels.sort();
            (s.metric, labels, value)
        })
        .collect()
}
