//! `brig boot start|stop|plan`: waves by dependency then priority,
//! parallel within a wave, readiness before dependents, failures isolated.

use crate::common::Sim;

/// Jails with test userland roots, defined by `defs` (name, extra definition
/// text, /etc/rc), made with `brig apply`. Each writes its name to
/// `log` on the host when it starts (exec.prestart).
fn jails(defs: &[(&str, &str, &str)]) -> (Sim, std::path::PathBuf) {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let log = sim.path().join("started.log");
    for (name, extra, _) in defs {
        let text = format!("type = \"empty\"\n{extra}\n[exec]\nprestart = \"echo {name} >> {}\"\n", log.display());
        std::fs::write(sim.file(&format!("/usr/local/etc/brig/jails/{name}.toml")), text).expect("definition");
    }
    sim.brig(&["apply"]).ok();
    for (name, _, rc) in defs {
        let root = format!("/usr/local/brig/jails/{name}/root");
        crate::common::bootable_root(&sim, &root, rc);
    }
    (sim, log)
}

fn running(sim: &Sim) -> Vec<String> {
    let j = sim.brig(&["list", "--json"]).json();
    let mut v: Vec<String> = j["jails"]
        .as_array()
        .expect("jails")
        .iter()
        .filter(|j| j["state"] == "running")
        .map(|j| j["name"].as_str().expect("name").to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn boot_starts_in_waves_waits_for_readiness_and_stops_in_reverse() {
    crate::common::needs_jail_processes!();
    let (sim, log) = jails(&[
        ("db", "boot = true\npriority = 10", "exit 0\n"),
        // Ready a second after it starts: web must wait for it.
        (
            "app",
            "boot = true\ndepends = [\"db\"]\nready = \"exec:test -f /ready\"\nready_timeout = 10",
            "(sleep 1; touch /ready) >/dev/null 2>&1 &\n",
        ),
        ("web", "boot = true\ndepends = [\"app\"]", "exit 0\n"),
        ("dns", "boot = true\npriority = 10", "exit 0\n"),
        ("lab", "", "exit 0\n"),
    ]);
    let plan = sim.brig(&["boot", "plan"]);
    assert_eq!(plan.ok().stdout, "wave 1: db dns\nwave 2: app\nwave 3: web\n");
    let j = sim.brig(&["boot", "plan", "--json"]).json();
    assert_eq!(j["waves"][2]["jails"][0], "web");

    let r = sim.brig(&["boot", "start", "--jobs", "2"]);
    r.ok();
    assert!(r.stdout.contains("boot: 4 jails started in 3 waves"), "{}", r.stdout);
    assert_eq!(running(&sim), vec!["app", "db", "dns", "web"], "lab is not a boot jail");
    let order: Vec<String> = std::fs::read_to_string(&log).expect("log").lines().map(str::to_string).collect();
    assert_eq!(order.len(), 4);
    assert_eq!(order[2..], ["app", "web"], "{order:?}");
    assert!(sim.file("/usr/local/brig/jails/app/root/ready").exists(), "web started after app was ready");

    sim.brig(&["start", "lab"]).ok();
    sim.brig(&["boot", "stop", "--jobs", "3"]).ok();
    assert_eq!(running(&sim), Vec::<String>::new(), "shutdown stops every jail brig manages");
}

#[test]
fn a_failed_jail_skips_its_dependents_and_not_the_others() {
    crate::common::needs_jail_processes!();
    let (sim, _) = jails(&[
        ("db", "boot = true", "echo db is broken >&2\nexit 1\n"),
        ("app", "boot = true\ndepends = [\"db\"]", "exit 0\n"),
        ("mail", "boot = true", "exit 0\n"),
    ]);
    let r = sim.brig(&["boot", "start"]);
    r.fails(1);
    assert!(
        r.stderr
            .contains("brig: jail db: exec.start in db: /bin/sh /etc/rc failed: exited with status 1: db is broken"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("brig: jail app skipped: it depends on db, which did not start"), "{}", r.stderr);
    assert!(
        r.stdout.contains("boot: 1 jails started in 2 waves") && r.stdout.contains("1 failed, 1 skipped"),
        "{}",
        r.stdout
    );
    assert_eq!(running(&sim), vec!["mail"]);
    sim.brig(&["boot", "stop"]).ok();
}

#[test]
fn cycles_and_unknown_dependencies_skip_only_the_jails_they_block() {
    crate::common::needs_jail_processes!();
    let (sim, _) =
        jails(&[("a", "boot = true", "exit 0\n"), ("b", "boot = true", "exit 0\n"), ("c", "boot = true", "exit 0\n")]);
    for (name, dep) in [("a", "b"), ("b", "a")] {
        let text = format!("type = \"empty\"\nboot = true\ndepends = [\"{dep}\"]\n");
        std::fs::write(sim.file(&format!("/usr/local/etc/brig/jails/{name}.toml")), text).expect("write");
    }
    let cycle = "the dependencies of a, b form a cycle; remove one of them from `depends`";
    let r = sim.brig(&["validate"]);
    r.fails(2);
    assert!(
        r.stderr.contains(&format!("a.toml: {cycle}")) && r.stderr.contains(&format!("b.toml: {cycle}")),
        "{}",
        r.stderr
    );
    let r = sim.brig(&["boot", "plan"]);
    r.fails(1);
    assert!(r.stdout.contains("wave 1: c"), "{}", r.stdout);
    assert!(r.stderr.contains(&format!("brig: jail a cannot start: {cycle}")), "{}", r.stderr);
    let r = sim.brig(&["boot", "start"]);
    r.fails(1);
    assert!(r.stderr.contains(&format!("brig: jail b skipped: {cycle}")), "{}", r.stderr);
    assert_eq!(running(&sim), vec!["c"]);
    sim.brig(&["boot", "stop"]).ok();

    // A destroyed dependency: destroy refuses while c depends on it; with
    // --force it goes, and boot start still starts every other jail.
    std::fs::write(sim.file("/usr/local/etc/brig/jails/a.toml"), "type = \"empty\"\nboot = true\n").expect("write");
    std::fs::write(sim.file("/usr/local/etc/brig/jails/b.toml"), "type = \"empty\"\nboot = true\ndepends = [\"a\"]\n")
        .expect("write");
    let r = sim.brig(&["destroy", "a"]);
    r.fails(1);
    assert!(r.stderr.contains("jail a is in the depends of b; remove it there first"), "{}", r.stderr);
    assert!(sim.file("/usr/local/etc/brig/jails/a.toml").exists());
    sim.brig(&["destroy", "a", "--force"]).ok();
    let r = sim.brig(&["boot", "start"]);
    r.fails(1);
    assert!(r.stderr.contains("brig: jail b skipped: it depends on a, which is not defined"), "{}", r.stderr);
    assert_eq!(running(&sim), vec!["c"]);
    sim.brig(&["boot", "stop"]).ok();
}

#[test]
fn a_readiness_probe_that_hangs_is_killed_at_its_timeout() {
    crate::common::needs_jail_processes!();
    // The probe never returns: boot used to wait for it forever.
    let (sim, _) = jails(&[
        ("db", "boot = true\nready = \"exec:sleep 300\"\nready_timeout = 2", "exit 0\n"),
        ("app", "boot = true\ndepends = [\"db\"]", "exit 0\n"),
    ]);
    let began = std::time::Instant::now();
    let r = sim.brig(&["boot", "start"]);
    r.fails(1);
    assert!(began.elapsed() < std::time::Duration::from_secs(30), "{:?}", began.elapsed());
    assert!(
        r.stderr
            .contains("brig: jail db: started, but not ready after 2 s: `sleep 300` was still running and was killed"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("brig: jail app skipped: it depends on db, which did not start"), "{}", r.stderr);
    assert_eq!(crate::common::processes_in(&sim, "/usr/local/brig/jails/db/root"), 0, "the probe is gone");
    sim.brig(&["boot", "stop"]).ok();
}
