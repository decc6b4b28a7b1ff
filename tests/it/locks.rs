//! Two brigs on one jail are serialised; on different jails they are not;
//! --no-wait fails at once instead of waiting.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use brig::host::Host;

use crate::common::Sim;
use crate::run::{defined, ROOT};

#[test]
fn brigs_on_one_jail_take_turns_and_on_others_do_not_wait() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    // A start that takes a while: exec.start runs in the foreground.
    std::fs::write(sim.file(&format!("{ROOT}/etc/rc")), "sleep 3\n").expect("rc");
    sim.brig(&["create", "other", "--type", "empty"]).ok();
    crate::common::userland_root(&sim, "/usr/local/brig/jails/other/root");
    for f in ["rc", "rc.shutdown"] {
        std::fs::write(sim.file(&format!("/usr/local/brig/jails/other/root/etc/{f}")), "exit 0\n").expect("rc");
    }

    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_brig"))
        .args(["--host", &format!("sim:{}", sim.path().display()), "start", "box"])
        .env_remove("BRIG_HOST")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("brig runs");
    // The jail exists once jail_set is done; exec.start is still running.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.host().jail_find("box").expect("get").is_none() {
        assert!(Instant::now() < deadline, "the first start never created the jail");
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = sim.brig(&["--no-wait", "stop", "box"]);
    r.fails(1);
    assert_eq!(
        r.stderr,
        "brig: jail box is busy: another brig is working on it; wait for it, or run again without --no-wait to wait\n"
    );
    let other = sim.brig(&["start", "other"]);
    other.ok();
    assert!(!other.stderr.contains("waiting"), "another jail does not wait: {}", other.stderr);

    let r = sim.brig(&["stop", "box"]);
    r.ok();
    assert!(r.stderr.contains("brig: waiting for another brig working on jail box"), "{}", r.stderr);
    assert!(first.wait().expect("first brig").success(), "the first start finished before the stop ran");
    assert!(r.stdout.contains("stopped jail box"), "{}", r.stdout);

    let dir = sim.file("/var/db/brig/locks");
    assert_eq!(std::fs::metadata(&dir).expect("lock dir").permissions().mode() & 0o777, 0o700);
    let lock = std::fs::metadata(dir.join("jail.box.lock")).expect("lock file");
    assert_eq!(lock.permissions().mode() & 0o777, 0o600, "locks are not world-writable");
    sim.brig(&["stop", "other"]).ok();
}

#[test]
fn read_only_commands_never_wait() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim.brig(&["create", "a", "--type", "empty"]).ok();
    let held =
        brig::state::lock::jails(&sim.host(), [&brig::model::JailName::parse("a").expect("name")]).expect("lock");
    for args in [
        vec!["--no-wait", "list"],
        vec!["--no-wait", "plan"],
        vec!["--no-wait", "info", "a"],
        vec!["--no-wait", "start", "a", "--dry-run"],
    ] {
        sim.brig(&args).ok();
    }
    sim.brig(&["--no-wait", "destroy", "a"]).fails(1);
    drop(held);
    sim.brig(&["--no-wait", "destroy", "a"]).ok();
}

#[test]
fn brigs_files_are_private_and_stay_so() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    sim.brig(&["start", "box"]).ok();
    sim.brig(&["stop", "box"]).ok();
    let mode = |p: &str| std::fs::metadata(sim.file(p)).expect(p).permissions().mode() & 0o777;
    assert_eq!(mode("/usr/local/brig/jails"), 0o700, "jail roots are not browsable");
    assert_eq!(mode("/usr/local/etc/brig/jails/box.toml"), 0o600);
    for dir in ["/var/db/brig/journal", "/var/db/brig/locks", "/var/db/brig/started"] {
        assert_eq!(mode(dir), 0o700, "{dir}");
    }
    assert_eq!(mode("/var/db/brig/locks/jail.box.lock"), 0o600);
    // Loosened by hand, tightened by the next init.
    std::fs::set_permissions(sim.file("/usr/local/brig/jails"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    sim.brig(&["init"]).ok();
    assert_eq!(mode("/usr/local/brig/jails"), 0o700);
}

#[test]
fn two_jails_created_at_once_never_share_an_address() {
    // Both creates checked, then both wrote, 20 times out of 20, before
    // the check and the write were held under one lock.
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    for round in 0..8 {
        let spawn = |name: String| {
            std::process::Command::new(env!("CARGO_BIN_EXE_brig"))
                .args(["--host", &format!("sim:{}", sim.path().display())])
                .args([
                    "create",
                    &name,
                    "--type",
                    "empty",
                    "--interface",
                    "em0",
                    "--ip4",
                    &format!("192.0.2.{}/24", 100 + round),
                ])
                .env_remove("BRIG_HOST")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("brig runs")
        };
        let (a, b) = (spawn(format!("a{round}")), spawn(format!("b{round}")));
        let (a, b) = (a.wait_with_output().expect("a"), b.wait_with_output().expect("b"));
        assert_eq!(
            u8::from(a.status.success()) + u8::from(b.status.success()),
            1,
            "round {round}: exactly one create wins"
        );
        let loser = if a.status.success() { b } else { a };
        let said = String::from_utf8_lossy(&loser.stderr);
        assert!(said.contains(&format!("192.0.2.{} is used by jail", 100 + round)), "{said}");
    }
    sim.brig(&["validate"]).ok();
}

#[test]
fn edit_and_create_refuse_an_address_a_running_jail_or_the_host_has() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    sim.brig(&["start", "box"]).ok();
    let r = sim.brig(&["create", "other", "--type", "empty", "--interface", "em0", "--ip4", "192.0.2.20/24"]);
    r.fails(1);
    assert!(
        r.stderr.contains("jail other: 192.0.2.20 is used by jail box (running); choose another address"),
        "{}",
        r.stderr
    );
    sim.brig(&["create", "other", "--type", "empty"]).ok();
    let def = sim.file("/usr/local/etc/brig/jails/other.toml");
    let before = std::fs::read_to_string(&def).expect("def");
    // edit takes the same checks as create: the running jail's address,
    // then the host's own.
    for (addr, owner) in [("192.0.2.20", "is used by jail box (running)"), ("192.0.2.1", "is em0's own address")] {
        let script = format!("printf '[network]\\ninterface = \"em0\"\\nip4 = [\"{addr}/24\"]\\n' >>");
        let r = sim.brig_env(&["edit", "other"], &[("EDITOR", &script)]);
        r.fails(1);
        assert!(r.stderr.contains(&format!("jail other: {addr} {owner}")), "{}", r.stderr);
        assert_eq!(std::fs::read_to_string(&def).expect("def"), before, "unchanged");
    }
    // And a stop of the stopped jail never touches the running one's alias.
    sim.brig(&["stop", "other"]).ok();
    let h = sim.host();
    assert!(h.interfaces().expect("ifs").iter().any(|i| i.addrs.iter().any(|a| a.addr().to_string() == "192.0.2.20")));
    drop(h);
    sim.brig(&["stop", "box"]).ok();
}

#[test]
fn racing_brigs_on_overlapping_jails_leave_a_machine_that_matches_its_definitions() {
    // apply used to read every definition before it took the locks: raced
    // with `limits set` it left the old rules, raced with `destroy --force`
    // it made the destroyed jail's datasets again.
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let host = format!("sim:{}", sim.path().display());
    let commands = |seed: u64| -> Vec<Vec<String>> {
        let mut x = seed;
        let mut next = move |n: u64| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) % n
        };
        (0..12)
            .map(|_| {
                let jail = ["a", "b", "c"][next(3) as usize].to_string();
                let args: Vec<&str> = match next(8) {
                    0 | 1 => vec!["create", &jail, "--type", "empty"],
                    2 => vec!["destroy", "--force", &jail],
                    3 => vec!["apply"],
                    4 => vec!["limits", &jail, "set", if next(2) == 0 { "maxproc=10" } else { "maxproc=20" }],
                    5 => vec!["start", &jail],
                    6 => vec!["stop", &jail],
                    _ => vec!["edit", &jail],
                };
                args.into_iter().map(String::from).collect()
            })
            .collect()
    };
    for round in 0..3u64 {
        let workers: Vec<_> = (0..4u64)
            .map(|w| {
                let (host, cmds) = (host.clone(), commands(round * 10 + w + 1));
                std::thread::spawn(move || {
                    for args in cmds {
                        // Outcomes vary with the interleaving; only the end
                        // state is checked.
                        let _ = std::process::Command::new(env!("CARGO_BIN_EXE_brig"))
                            .args(["--host", &host])
                            .args(&args)
                            .env_remove("BRIG_HOST")
                            .env("EDITOR", "sed -i s/maxproc/maxproc/")
                            .output()
                            .expect("brig runs");
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("worker");
        }
        let r = sim.brig(&["plan"]);
        r.ok();
        assert!(r.stdout.contains("nothing to do"), "round {round}: {}", r.stdout);
        let h = sim.host();
        for d in h.zfs_list("zroot/brig/jails", &["name"]).expect("datasets") {
            let Some(jail) = d.name.strip_prefix("zroot/brig/jails/") else { continue };
            let jail = jail.split('/').next().unwrap_or_default();
            assert!(
                sim.file(&format!("/usr/local/etc/brig/jails/{jail}.toml")).exists(),
                "round {round}: dataset {} has no definition",
                d.name
            );
        }
    }
}
