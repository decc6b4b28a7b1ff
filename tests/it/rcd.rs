//! rc.d/brig run for real (on Linux, with a stand-in rc.subr and brig
//! against a sim): enable, start the boot jails, status, stop.

use crate::common::Sim;

fn rc(sim: &Sim, conf: &str, command: &str) -> std::process::Output {
    let dir = sim.path().join("rc");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let script = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/rc.d/brig")).expect("rc.d/brig");
    let script = script.replace("/etc/rc.subr", &format!("{fixtures}/rc.subr"));
    std::fs::write(dir.join("brig"), script).expect("write");
    std::fs::write(dir.join("rc.conf"), format!("{conf}\nbrig_program=\"{}\"\n", env!("CARGO_BIN_EXE_brig")))
        .expect("write");
    std::process::Command::new("/bin/sh")
        .arg(dir.join("brig"))
        .arg(command)
        .env("RC_CONF", dir.join("rc.conf"))
        .env("BRIG_HOST", format!("sim:{}", sim.path().display()))
        .output()
        .expect("sh runs")
}

#[test]
fn rc_d_starts_the_boot_jails_and_stops_them() {
    crate::common::needs_jail_processes!();
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    for (name, boot) in [("db", true), ("web", true), ("lab", false)] {
        let text =
            format!("type = \"empty\"\nboot = {boot}\n{}", if name == "web" { "depends = [\"db\"]\n" } else { "" });
        std::fs::write(sim.file(&format!("/usr/local/etc/brig/jails/{name}.toml")), text).expect("definition");
    }
    sim.brig(&["apply"]).ok();
    for name in ["db", "web", "lab"] {
        let root = format!("/usr/local/brig/jails/{name}/root");
        crate::common::userland_root(&sim, &root);
        for f in ["rc", "rc.shutdown"] {
            std::fs::write(sim.file(&format!("{root}/etc/{f}")), "exit 0\n").expect("rc");
        }
    }
    let off = rc(&sim, "", "start");
    assert!(String::from_utf8_lossy(&off.stdout).contains("Set brig_enable to YES"));
    assert!(sim.host_jails().is_empty());

    let conf = "brig_enable=\"YES\"\nbrig_jobs=\"2\"";
    let out = rc(&sim, conf, "start");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("Starting jails:\n") && stdout.contains("boot: 2 jails started in 2 waves"), "{stdout}");
    assert_eq!(sim.host_jails(), vec!["db", "web"]);
    let status = rc(&sim, conf, "status");
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("web    running"),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let out = rc(&sim, conf, "stop");
    assert!(out.status.success());
    assert!(sim.host_jails().is_empty());
}

/// periodic/daily/450.brig-snapshots run for real: nothing unless
/// enabled, then `brig snapshot prune`, and periodic's 3 when it fails.
#[test]
fn the_periodic_script_prunes_the_snapshots_when_enabled() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    std::fs::write(sim.file("/usr/local/etc/brig/jails/db.toml"), "type = \"empty\"\n[snapshots]\nkeep = 2\n")
        .expect("definition");
    sim.brig(&["apply"]).ok();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/periodic/daily/450.brig-snapshots");
    let run = |enable: &str, brig: &str| {
        std::process::Command::new("/bin/sh")
            .arg(script)
            .env("daily_brig_snapshots_enable", enable)
            .env("brig_program", brig)
            .env("BRIG_HOST", format!("sim:{}", sim.path().display()))
            .output()
            .expect("sh runs")
    };
    let off = run("NO", env!("CARGO_BIN_EXE_brig"));
    assert_eq!((off.status.code(), off.stdout.is_empty()), (Some(0), true));
    let on = run("YES", env!("CARGO_BIN_EXE_brig"));
    let out = String::from_utf8_lossy(&on.stdout);
    assert_eq!(on.status.code(), Some(0), "{out}");
    assert!(out.contains("Snapshots of brig's jails:") && out.contains("db: took auto-"), "{out}");
    let failed = run("YES", "/bin/false");
    assert_eq!(failed.status.code(), Some(3));
}
