//! Host choice, version, help, completions and the sim's op counters.

use crate::common::{brig, Sim};

#[test]
fn without_host_on_linux_every_command_exits_2_with_one_sentence() {
    if cfg!(target_os = "freebsd") {
        return;
    }
    for args in [vec!["doctor"], vec!["init"], vec!["doctor", "--json"]] {
        let r = brig(&args, &[]);
        r.fails(2);
        assert_eq!(
            r.stderr.trim(),
            format!(
                "brig: brig manages FreeBSD jails and this machine runs {}; pass --host sim:DIR (or set BRIG_HOST=sim:DIR) to run it against a simulated FreeBSD host kept in DIR",
                std::env::consts::OS
            )
        );
        assert_eq!(r.stderr.trim().lines().count(), 1);
    }
}

#[test]
fn a_malformed_host_is_a_usage_error() {
    let r = brig(&["--host", "vm:/tmp", "doctor"], &[]);
    r.fails(2);
    assert!(r.stderr.contains("--host takes sim:DIR"), "{}", r.stderr);
    brig(&["--host", "sim:", "doctor"], &[]).fails(2);
}

#[test]
fn a_sim_dir_that_cannot_be_one_is_named_and_no_tree_is_grown() {
    let t = tempfile::tempdir().expect("tempdir");
    let file = t.path().join("file");
    std::fs::write(&file, "x").expect("write");
    let r = brig(&["--host", &format!("sim:{}", file.display()), "list"], &[]);
    r.fails(2);
    assert_eq!(
        r.stderr.trim(),
        format!(
            "brig: --host sim:{0}: {0} is not a directory; name a directory to keep the simulated host in",
            file.display()
        )
    );
    let deep = t.path().join("a/b/c");
    let r = brig(&["--host", &format!("sim:{}", deep.display()), "init"], &[]);
    r.fails(2);
    assert!(r.stderr.contains("brig makes only the last directory"), "{}", r.stderr);
    assert!(!t.path().join("a").exists(), "no tree was made");
    // One new directory under an existing one is fine.
    let one = t.path().join("sim");
    brig(&["--host", &format!("sim:{}", one.display()), "init"], &[]).ok();
}

#[test]
fn brig_host_env_selects_the_sim() {
    let sim = Sim::new();
    let host = format!("sim:{}", sim.path().display());
    brig(&["init"], &[("BRIG_HOST", &host)]).ok();
    assert!(sim.file("/usr/local/etc/brig/brig.toml").is_file());
}

#[test]
fn version_help_and_completions_need_no_host() {
    let v = brig(&["--version"], &[]);
    v.ok();
    assert_eq!(v.stdout.trim(), format!("brig {}", env!("CARGO_PKG_VERSION")));
    let h = brig(&["--help"], &[]);
    h.ok();
    for cmd in ["init", "doctor", "completions", "debug"] {
        assert!(h.stdout.contains(cmd), "--help lists {cmd}");
    }
    for sub in ["init", "doctor", "completions", "debug"] {
        brig(&[sub, "--help"], &[]).ok();
    }
    for shell in ["bash", "zsh", "fish"] {
        let c = brig(&["completions", shell], &[]);
        c.ok();
        assert!(c.stdout.contains("doctor"), "{shell} completion mentions subcommands");
    }
    brig(&["completions", "tcsh"], &[]).fails(2);
}

#[test]
fn sim_stats_count_calls_across_invocations() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let s = sim.brig(&["debug", "sim-stats", "--json"]);
    s.ok();
    let j = s.json();
    assert_eq!(j["version"], 1);
    assert_eq!(j["ops"]["zfs_create"], 3);
    assert_eq!(j["spawned"], 0);
    sim.brig(&["debug", "sim-stats", "--reset"]).ok();
    let j = sim.brig(&["debug", "sim-stats", "--json"]).json();
    assert_eq!(j["total_ops"], 0);
    brig(&["debug", "sim-stats"], &[("BRIG_HOST", "freebsd")]).fails(2);
}

#[test]
fn a_bad_fault_spec_is_refused() {
    let sim = Sim::new();
    let r = sim.brig_env(&["doctor"], &[("BRIG_SIM_FAIL", "teleport:1")]);
    r.fails(1);
    assert!(r.stderr.contains("BRIG_SIM_FAIL item 'teleport:1' names an unknown op"), "{}", r.stderr);
}

#[test]
fn a_closed_stdout_ends_brig_quietly_not_in_a_panic() {
    let (read, write) = nix::unistd::pipe().expect("pipe");
    drop(read);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_brig"))
        .args(["completions", "bash"])
        .stdout(std::process::Stdio::from(write))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "ended by SIGPIPE like head(1)'s writers: {:?}", out.status);
}

#[test]
fn read_only_commands_work_on_a_read_only_sim() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim.brig(&["create", "web", "--type", "empty"]).ok();
    let ro = tempfile::tempdir().expect("tempdir");
    let bind = |args: &[&str]| std::process::Command::new("mount").args(args).status().is_ok_and(|s| s.success());
    let (src, dst) = (sim.path().display().to_string(), ro.path().display().to_string());
    if !(bind(&["--bind", &src, &dst]) && bind(&["-o", "remount,ro,bind", &dst])) {
        let _ = std::process::Command::new("umount").arg(&dst).status();
        eprintln!("skipped: this machine cannot make a read-only bind mount (needs CAP_SYS_ADMIN)");
        return;
    }
    let host = format!("sim:{dst}");
    let list = brig(&["--host", &host, "list"], &[]);
    let validate = brig(&["--host", &host, "validate"], &[]);
    let create = brig(&["--host", &host, "create", "db", "--type", "empty"], &[]);
    let _ = std::process::Command::new("umount").arg(&dst).status();
    list.ok();
    assert!(list.stdout.contains("web"), "{}", list.stdout);
    validate.ok();
    assert_ne!(create.code, Some(0));
    assert!(create.stderr.lines().count() == 1 && create.stderr.contains("Read-only file system"), "{}", create.stderr);
}
