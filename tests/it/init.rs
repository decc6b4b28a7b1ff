//! `brig init` end to end against the sim.

use std::os::unix::fs::PermissionsExt;

use brig::host::Host;

use crate::common::{tree, Sim};

fn datasets(sim: &Sim) -> Vec<String> {
    let h = sim.host();
    h.zfs_list("zroot", &[]).expect("list").into_iter().map(|d| d.name).collect()
}

#[test]
fn init_creates_the_dataset_tree_and_the_config() {
    let sim = Sim::new();
    let r = sim.brig(&["init"]);
    r.ok();
    assert!(r.stdout.contains("initialised brig: dataset zroot/brig mounted at /usr/local/brig"), "{}", r.stdout);
    assert_eq!(datasets(&sim), vec!["zroot", "zroot/brig", "zroot/brig/jails", "zroot/brig/releases"]);
    let h = sim.host();
    assert_eq!(h.zfs_get("zroot/brig", &["mountpoint"]).expect("get")["mountpoint"], "/usr/local/brig");
    let mode = |p: &str| std::fs::metadata(sim.file(p)).expect(p).permissions().mode() & 0o777;
    assert_eq!(mode("/usr/local/brig/jails"), 0o700);
    assert_eq!(mode("/usr/local/etc/brig/jails"), 0o700);
    let cfg = std::fs::read_to_string(sim.file("/usr/local/etc/brig/brig.toml")).expect("config");
    assert!(cfg.contains("dataset = \"zroot/brig\""));
}

#[test]
fn rerunning_init_is_a_noop() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let before = tree(sim.path());
    let cfg = std::fs::read(sim.file("/usr/local/etc/brig/brig.toml")).expect("config");
    sim.brig(&["debug", "sim-stats", "--reset"]).ok();
    let r = sim.brig(&["init"]);
    r.ok();
    assert!(r.stdout.contains("nothing to do"), "{}", r.stdout);
    let stats = sim.brig(&["debug", "sim-stats", "--json"]).json();
    for op in ["zfs_create", "zfs_set", "zfs_destroy"] {
        assert!(stats["ops"][op].is_null(), "a no-op init called {op}");
    }
    assert_eq!(std::fs::read(sim.file("/usr/local/etc/brig/brig.toml")).expect("config"), cfg);
    let after: Vec<String> = tree(sim.path()).into_iter().filter(|p| !p.starts_with(".sim")).collect();
    let before: Vec<String> = before.into_iter().filter(|p| !p.starts_with(".sim")).collect();
    assert_eq!(before, after);
}

#[test]
fn a_widened_jails_directory_is_tightened_again() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let p = sim.file("/usr/local/brig/jails");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    sim.brig(&["init"]).ok();
    assert_eq!(std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777, 0o700);
}

#[test]
fn a_different_config_is_not_replaced_without_force() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let r = sim.brig(&["init", "--mountpoint", "/srv/brig"]);
    r.fails(1);
    assert!(r.stderr.contains("already initialised differently") && r.stderr.contains("--force"), "{}", r.stderr);
    assert!(sim.file("/usr/local/brig/jails").is_dir(), "nothing moved");
    sim.brig(&["init", "--mountpoint", "/srv/brig", "--force"]).ok();
    assert!(sim.file("/srv/brig/jails").is_dir());
    assert!(!sim.file("/usr/local/brig/jails").exists());
    let cfg = std::fs::read_to_string(sim.file("/usr/local/etc/brig/brig.toml")).expect("config");
    assert!(cfg.contains("mountpoint = \"/srv/brig\""));
    sim.brig(&["init"]).ok().stdout.contains("nothing to do");
}

#[test]
fn bad_input_is_refused_before_anything_happens() {
    let sim = Sim::new();
    let r = sim.brig(&["init", "--dataset", "zroot/../etc"]);
    r.fails(2);
    assert_eq!(r.stderr.trim(), "brig: invalid dataset name 'zroot/../etc': '.' and '..' are not dataset names");
    let r = sim.brig(&["init", "--mountpoint", "relative/path"]);
    r.fails(2);
    assert_eq!(r.stderr.trim(), "brig: invalid path 'relative/path': it must be absolute");
    let r = sim.brig(&["init", "--dataset", "tank/brig"]);
    r.fails(1);
    assert!(r.stderr.contains("ZFS pool 'tank' does not exist"), "{}", r.stderr);
    let r = sim.brig(&["init", "--dataset", "zroot/missing/brig"]);
    r.fails(1);
    assert!(r.stderr.contains("dataset 'zroot/missing' does not exist"), "{}", r.stderr);
    for (mountpoint, why) in [
        ("/etc", "/etc is a system directory, and a dataset mounted there would hide it"),
        ("/usr/local", "/usr/local is a system directory, and a dataset mounted there would hide it"),
        ("/home", "/home is a system directory, and a dataset mounted there would hide it"),
        ("/boot/brig", "it is inside /boot, which belongs to the system"),
        ("/usr/local/etc", "it would cover or sit in /usr/local/etc/brig, where brig keeps its own files"),
        ("/var/db/brig/x", "it would cover or sit in /var/db/brig, where brig keeps its own files"),
    ] {
        let r = sim.brig(&["init", "--mountpoint", mountpoint, "--force"]);
        r.fails(2);
        assert_eq!(r.stderr.trim(), format!("brig: invalid path '{mountpoint}': {why}"));
    }
    // A directory with files in it would be hidden by the mount.
    std::fs::create_dir_all(sim.file("/srv/www")).expect("mkdir");
    std::fs::write(sim.file("/srv/www/index.html"), "mine").expect("write");
    let r = sim.brig(&["init", "--mountpoint", "/srv/www", "--force"]);
    r.fails(1);
    assert!(r.stderr.contains("/srv/www is not empty, and the root dataset mounted there would hide"), "{}", r.stderr);
    assert_eq!(datasets(&sim), vec!["zroot"]);
    assert!(!sim.file("/usr/local/etc/brig/brig.toml").exists());
    assert_eq!(std::fs::read_to_string(sim.file("/srv/www/index.html")).expect("kept"), "mine");
}

#[test]
fn a_broken_config_names_file_line_and_column() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let p = sim.file("/usr/local/etc/brig/brig.toml");
    let text = std::fs::read_to_string(&p).expect("config").replace("securelevel = 2", "securelevel = \"high\"");
    std::fs::write(&p, text).expect("write");
    let r = sim.brig(&["init"]);
    r.fails(2);
    assert!(
        r.stderr.contains("brig.toml:") && r.stderr.contains("parameter securelevel takes an integer"),
        "{}",
        r.stderr
    );
    sim.brig(&["init", "--force"]).ok();
}

/// Every host call a fresh init makes, failed in turn (the list comes
/// from the sim's own counts, so a new call cannot escape the test): each
/// run exits 1, names the failed step, and leaves the machine as it was.
#[test]
fn a_failure_at_any_step_leaves_nothing_behind() {
    let faults = crate::common::every_call(&Sim::new(), &["init"]);
    assert!(faults.iter().any(|f| f.starts_with("zfs_create:")), "{faults:?}");
    for fault in faults {
        let sim = Sim::new();
        drop(sim.host());
        let before = datasets(&sim);
        let r = sim.brig_env(&["init"], &[("BRIG_SIM_FAIL", &fault)]);
        r.fails(1);
        assert!(r.stderr.contains("injected by BRIG_SIM_FAIL"), "{fault}: {}", r.stderr);
        assert_eq!(datasets(&sim), before, "{fault} left datasets behind");
        assert!(!sim.file("/usr/local/etc/brig/brig.toml").exists(), "{fault} left a config");
        assert!(!sim.file("/usr/local/brig").exists(), "{fault} left a mountpoint");
        sim.brig(&["init"]).ok();
    }
}

#[test]
fn a_killed_init_converges_on_the_next_run() {
    let sim = Sim::new();
    let r = sim.brig_env(&["init"], &[("BRIG_SIM_FAIL", "zfs_create:2:abort")]);
    assert_eq!(r.code, None, "killed by a signal");
    assert_eq!(datasets(&sim), vec!["zroot", "zroot/brig"]);
    sim.brig(&["init"]).ok();
    assert_eq!(datasets(&sim), vec!["zroot", "zroot/brig", "zroot/brig/jails", "zroot/brig/releases"]);
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let sim = Sim::new();
    let r = sim.brig(&["init", "--dry-run"]);
    r.ok();
    assert!(r.stdout.starts_with("zfs create -o mountpoint=/usr/local/brig zroot/brig\n"), "{}", r.stdout);
    assert_eq!(datasets(&sim), vec!["zroot"]);
}
