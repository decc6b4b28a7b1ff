//! `[health]`, `brig health` and `brig supervise` against the sim: the
//! check runs inside the jail (the test userland's `test`), the
//! supervisor's counters live on disk, and a jail stopped by hand is
//! never restarted.

use std::time::{Duration, Instant};

use brig::host::Host;

use crate::common::Sim;
use crate::run::{defined, ROOT};

const DEFINITION: &str = "/usr/local/etc/brig/jails/box.toml";

/// `box` with `health` appended to its definition, started, healthy.
pub fn watched(health: &str) -> Sim {
    let sim = defined(&[]);
    let path = sim.file(DEFINITION);
    let mut text = std::fs::read_to_string(&path).expect("definition");
    text.push_str(&format!("\n[health]\n{health}\n"));
    std::fs::write(&path, text).expect("write");
    sim.brig(&["start", "box"]).ok();
    healthy(&sim, true);
    sim
}

fn healthy(sim: &Sim, yes: bool) {
    let flag = sim.file(&format!("{ROOT}/healthy"));
    if yes {
        std::fs::write(flag, "").expect("flag");
    } else {
        std::fs::remove_file(flag).expect("flag");
    }
}

/// Every process of running `box` killed: the jail (persist) stays,
/// doing nothing, as one whose service died.
pub fn kill_processes(sim: &Sim) {
    let jid = jid(sim).expect("running");
    sim.host().jail_kill(jid, Some(nix::sys::signal::Signal::SIGKILL)).expect("kill");
    let deadline = Instant::now() + Duration::from_secs(5);
    while sim.host().jail_kill(jid, None).expect("alive?") {
        assert!(Instant::now() < deadline, "processes left");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn jid(sim: &Sim) -> Option<i32> {
    sim.host().jail_find("box").expect("get").map(|j| j.jid)
}

/// The supervisor's events for box: command and detail.
fn supervised(sim: &Sim) -> Vec<(String, String)> {
    let all = sim.brig(&["events", "--jail", "box", "--json"]).ok().json()["events"].clone();
    all.as_array()
        .expect("records")
        .iter()
        .filter(|r| r["args"].as_array().is_some_and(|a| a.last().and_then(|a| a.as_str()) == Some("supervise")))
        .map(|r| (r["command"].as_str().unwrap_or_default().into(), r["detail"].as_str().unwrap_or_default().into()))
        .collect()
}

const CHECKED: &str =
    "check = \"exec:test -f /healthy\"\ninterval = 1\nretries = 3\nrestart = \"on-failure\"\nrestart_delay = 0";

#[test]
fn a_jail_failing_its_check_three_times_is_restarted_and_the_restart_is_logged() {
    crate::common::needs_jail_processes!();
    let sim = watched(CHECKED);
    let h = sim.brig(&["health", "--json"]).ok().json();
    assert_eq!((h["jails"][0]["name"].as_str(), h["jails"][0]["status"].as_str()), (Some("box"), Some("healthy")));
    let table = sim.brig(&["health"]);
    assert!(table.ok().stdout.contains("exec:test -f /healthy"), "{}", table.stdout);
    sim.brig(&["supervise", "--once"]).ok();
    healthy(&sim, false);
    let h = sim.brig(&["health", "box", "--json"]).fails(1).json();
    assert_eq!(h["jails"][0]["status"], "unhealthy");
    assert!(h["jails"][0]["output"].as_str().is_some_and(|o| o.contains("status 1")), "{h}");
    let first = jid(&sim);
    // Each round a new supervisor: what the last one counted is on disk.
    for _ in 0..2 {
        sim.brig(&["supervise", "--once"]).ok();
        assert_eq!(jid(&sim), first, "restarted before the third failure");
    }
    let r = sim.brig(&["supervise", "--once"]);
    assert!(r.ok().stdout.contains("supervise restart: its check failed 3 times in a row"), "{}", r.stdout);
    assert_ne!(jid(&sim), first, "not restarted");
    assert!(jid(&sim).is_some(), "not running after the restart");
    let events = supervised(&sim);
    assert!(
        events.contains(&("supervise health".into(), "healthy -> unhealthy: exited with status 1".into())),
        "{events:?}"
    );
    assert!(
        events.iter().any(|(c, d)| c == "supervise restart" && d.starts_with("its check failed 3 times")),
        "{events:?}"
    );
    healthy(&sim, true);
    let h = sim.brig(&["health", "--json"]).ok().json();
    assert_eq!((h["jails"][0]["status"].as_str(), h["jails"][0]["restarts"].as_u64()), (Some("healthy"), Some(1)));
}

#[test]
fn a_jail_stopped_by_hand_is_left_alone_and_one_whose_processes_died_is_restarted() {
    crate::common::needs_jail_processes!();
    let sim = watched("restart = \"always\"\nrestart_delay = 0");
    let first = jid(&sim).expect("running");
    kill_processes(&sim);
    sim.brig(&["supervise", "--once"]).ok();
    let second = jid(&sim).expect("restarted");
    assert_ne!(second, first);
    assert!(supervised(&sim).iter().any(|(c, d)| c == "supervise restart" && d == "it stopped on its own"));
    // Stopped by hand: no start record, nothing to restart.
    sim.brig(&["stop", "box"]).ok();
    sim.brig(&["supervise", "--once"]).ok();
    assert_eq!(jid(&sim), None, "a jail stopped by hand was started again");
    let h = sim.brig(&["health", "--json"]).ok().json();
    assert_eq!((h["jails"][0]["status"].as_str(), h["jails"][0]["check"].as_str()), (Some("stopped"), Some("none")));
}

#[test]
fn one_supervisor_runs_at_a_time_and_stops_on_sigterm() {
    crate::common::needs_jail_processes!();
    let sim = watched(CHECKED);
    let mut child = crate::common::Background::start(&sim, &["supervise"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sim.file("/var/db/brig/supervise/box.json").exists() {
        assert!(Instant::now() < deadline, "the supervisor did not look at box");
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = sim.brig(&["supervise", "--once"]);
    assert_ne!(second.code, Some(0));
    assert!(second.stderr.contains("another brig supervise is running"), "{}", second.stderr);
    assert!(child.terminate(), "the supervisor did not stop on SIGTERM");
}

#[test]
fn health_definitions_are_checked_with_their_line() {
    let sim = crate::run::defined(&[]);
    let path = sim.file(DEFINITION);
    let text = std::fs::read_to_string(&path).expect("definition");
    for (health, says) in [
        ("interval = 10\nrestart = \"on-failure\"", "box.toml:8:12: [health] needs check"),
        ("check = \"tcp:99999\"", "is not a port"),
        ("check = \"tcp:80\"\ninterval = \"5x\"", "health.interval must be 1 to 86400 seconds"),
        ("check = \"tcp:80\"\ninterval = 5\ntimeout = 10", "longer than health.interval"),
        ("check = \"tcp:80\"\nrestart = \"sometimes\"", "is not one of \"no\", \"on-failure\", \"always\""),
        ("check = \"tcp:80\"\nretry = 3", "unknown field `retry`"),
    ] {
        std::fs::write(&path, format!("{text}\n[health]\n{health}\n")).expect("write");
        let r = sim.brig(&["validate", "box"]);
        assert_ne!(r.code, Some(0), "{health}");
        assert!(r.stderr.contains(says) && r.stderr.contains("box.toml:"), "{health}: {}", r.stderr);
    }
    // `brig health` of every jail names a definition that does not read.
    std::fs::write(&path, format!("{text}\n[health]\ncheck = \"tcp:8o\"\n")).expect("write");
    let r = sim.brig(&["health"]);
    assert!(r.fails(2).stderr.contains("box.toml:") && r.stderr.contains("is not a port"), "{}", r.stderr);
    std::fs::write(&path, text).expect("write");
    let r = sim.brig(&["health", "box"]);
    assert!(r.fails(1).stderr.contains("jail box has no [health] check"), "{}", r.stderr);
}

#[test]
fn a_restart_that_could_not_start_the_jail_is_owed_until_brig_stop_forgives_it() {
    crate::common::needs_jail_processes!();
    let sim = watched("restart = \"always\"\nrestart_delay = 0");
    let failing = [("BRIG_SIM_FAIL", "jail_set:1")];
    kill_processes(&sim);
    sim.brig_env(&["supervise", "--once"], &failing).ok();
    assert_eq!(jid(&sim), None);
    let failed = sim.brig(&["events", "--jail", "box", "--json"]).ok().json()["events"].clone();
    let last = failed.as_array().and_then(|a| a.last()).cloned().unwrap_or_default();
    assert_eq!((last["command"].as_str(), last["ok"].as_bool()), (Some("supervise restart"), Some(false)), "{last}");
    // No start record now, but the supervisor owes the jail a start.
    sim.brig(&["supervise", "--once"]).ok();
    assert!(jid(&sim).is_some(), "the owed start was not made");
    assert!(supervised(&sim).iter().any(|(_, d)| d == "its last restart did not start it"));
    // Owed again, then stopped by hand: left alone.
    kill_processes(&sim);
    sim.brig_env(&["supervise", "--once"], &failing).ok();
    assert!(sim.file("/var/db/brig/supervise/box.owed").exists(), "no start owed");
    sim.brig(&["stop", "box"]).ok();
    assert!(!sim.file("/var/db/brig/supervise/box.owed").exists(), "brig stop did not forgive");
    sim.brig(&["supervise", "--once"]).ok();
    assert_eq!(jid(&sim), None, "a jail stopped by hand was started");
}

/// One HTTP/1.0 request to the server at `addr`: the status and body.
fn http(addr: &str, method: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match std::net::TcpStream::connect(addr) {
            Ok(s) => break s,
            Err(e) => {
                assert!(Instant::now() < deadline, "{addr}: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    // A server that hangs fails the test rather than hanging it.
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    stream.set_write_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(stream, "{method} {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("request");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
    (status, body.to_string())
}

#[test]
fn metrics_serve_answers_scrapes_at_metrics_only() {
    crate::common::needs_jail_processes!();
    let sim = watched(CHECKED);
    sim.brig(&["supervise", "--once"]).ok();
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = crate::common::Background::start(&sim, &["metrics", "serve", "--listen", &addr]);
    let (status, body) = http(&addr, "GET", "/metrics");
    assert_eq!(status, 200, "{body}");
    let samples = crate::limits::parse_prometheus(&body);
    let box_only = vec![("jail".to_string(), "box".to_string())];
    assert!(samples.contains(&("brig_jail_restarts_total".into(), box_only, 0.0)), "{samples:?}");
    let healthy = vec![("jail".to_string(), "box".to_string()), ("status".to_string(), "healthy".to_string())];
    assert!(samples.contains(&("brig_jail_healthy".into(), healthy, 1.0)), "{samples:?}");
    assert!(samples.iter().any(|(m, _, _)| m == "brig_jail_up"), "{samples:?}");
    assert_eq!(http(&addr, "GET", "/").0, 404);
    assert_eq!(http(&addr, "POST", "/metrics").0, 405);
    assert!(server.terminate(), "metrics serve did not stop on SIGTERM");
}

#[test]
fn the_supervisor_samples_running_jails_and_usage_integrates_the_samples() {
    crate::common::needs_jail_processes!();
    let sim = watched(CHECKED);
    let missing = sim.brig(&["usage", "box"]);
    assert!(missing.stderr.contains("jail box has no usage samples"), "{}", missing.stderr);
    sim.brig(&["supervise", "--once"]).ok();
    sim.brig(&["supervise", "--once"]).ok();
    let u = sim.brig(&["usage", "box", "--json"]).ok().json();
    assert_eq!((u["jail"].as_str(), u["samples"].as_u64()), (Some("box"), Some(2)), "{u}");
    // Samples written as the supervisor writes them, the older half
    // rotated to box.samples.old: the totals are exact.
    use brig::plan::usage::Sample;
    let now = brig::app::now();
    let s = |ago: u64, cputime, memoryuse, io_rate| {
        let started = if ago > 3600 { 1 } else { 2 };
        Sample { unix: now - ago, started, cputime, memoryuse, io_rate }.encode()
    };
    let dir = sim.file("/var/db/brig/usage");
    let old = [s(7200, 100, 1 << 30, 10), s(7140, 160, 1 << 30, 10)].concat();
    std::fs::write(dir.join("box.samples.old"), old).expect("old");
    std::fs::write(dir.join("box.samples"), [s(120, 5, 2 << 30, 0), s(60, 65, 2 << 30, 0)].concat()).expect("new");
    let u = sim.brig(&["usage", "box", "--json"]).ok().json();
    // 60 s of the first counter, the restarted counter's 5 s and 60 more;
    // the hour between counts as 150 s.
    assert_eq!(
        (u["cpu_seconds"].as_u64(), u["io_bytes"].as_u64(), u["covered_seconds"].as_u64()),
        (Some(125), Some(600 + 1500), Some(60 + 150 + 60)),
        "{u}"
    );
    let recent = sim.brig(&["usage", "box", "--since", "1h", "--json"]).ok().json();
    assert_eq!((recent["samples"].as_u64(), recent["cpu_seconds"].as_u64()), (Some(2), Some(60)), "{recent}");
    let text = sim.brig(&["usage", "box"]);
    assert!(text.ok().stdout.contains("cpu: 125 s\n"), "{}", text.stdout);
    sim.brig(&["usage", "box", "--since", "soon"]).fails(2);
}

#[test]
fn a_jail_brig_did_not_start_is_never_checked() {
    let sim = defined(&[]);
    let path = sim.file(DEFINITION);
    let text = std::fs::read_to_string(&path).expect("definition");
    std::fs::write(&path, format!("{text}\n[health]\ncheck = \"exec:true\"\n")).expect("write");
    {
        use brig::host::{JailParam, SetFlags};
        let params = [JailParam::str("name", "box"), JailParam::str("path", "/"), JailParam::bool("persist", true)];
        sim.host().jail_set(&params, SetFlags::CREATE).expect("a foreign jail");
    }
    sim.brig(&["debug", "sim-stats", "--reset"]).ok();
    let h = sim.brig(&["health", "--json"]).ok().json();
    assert_eq!(h["jails"][0]["status"], "stopped", "{h}");
    assert!(h["jails"][0]["output"].as_str().is_some_and(|o| o.contains("brig leaves it alone")), "{h}");
    // Not even with a start record of the name (brig's own jail died,
    // another took its name): the jail runs from another root.
    let record = sim.file("/var/db/brig/started/box.json");
    std::fs::create_dir_all(record.parent().expect("dir")).expect("mkdir");
    std::fs::write(&record, "{}").expect("record");
    sim.brig(&["supervise", "--once"]).ok();
    let stats = sim.brig(&["debug", "sim-stats", "--json"]).ok().json();
    assert_eq!(stats["ops"]["spawn"].as_u64().unwrap_or(0), 0, "{stats}");
}
