//! Commands over many jails: one broken definition never blocks the
//! others, never hangs brig nor makes it read without bound, and a running
//! jail whose definition broke can still be stopped.

use crate::common::Sim;
use crate::run::{assert_down, defined, ROOT};

const JAILS: &str = "/usr/local/etc/brig/jails";

/// Beside box: a definition that is not TOML, a FIFO, a symlink out of
/// the directory, a dangling symlink and a sparse 2 GiB file.
fn with_broken_neighbours() -> Sim {
    let sim = defined(&[]);
    let dir = sim.file(JAILS);
    std::fs::write(dir.join("bad.toml"), "release = \"14.3-RELEASE\"\ntype = [\n").expect("bad");
    nix::unistd::mkfifo(&dir.join("fifo.toml"), nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("fifo");
    std::os::unix::fs::symlink("/etc/passwd", dir.join("link.toml")).expect("symlink");
    std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("dangling.toml")).expect("dangling");
    std::fs::File::create(dir.join("big.toml")).expect("big").set_len(2 << 30).expect("sparse");
    sim
}

/// Each broken neighbour is named in `stderr`, with what is wrong.
#[track_caller]
fn names_each_broken_one(stderr: &str) {
    for (file, why) in [
        ("bad.toml:2:9", "unclosed array, expected `]`"),
        ("fifo.toml", "is a FIFO, not a regular file"),
        ("link.toml", "is a symbolic link, not a regular file"),
        ("dangling.toml", "is a symbolic link, not a regular file"),
        ("big.toml", "is 2147483648 bytes, more than the 1048576 bytes brig reads"),
    ] {
        let line = stderr.lines().find(|l| l.contains(file)).unwrap_or_else(|| panic!("{file} not named:\n{stderr}"));
        assert!(line.contains(why), "{file}: {line}");
    }
}

#[test]
fn broken_definitions_are_named_and_the_others_handled() {
    crate::common::needs_jail_processes!();
    let sim = with_broken_neighbours();
    let r = sim.brig(&["list"]);
    r.fails(1);
    assert!(r.stdout.lines().any(|l| l.starts_with("box") && l.contains("stopped")), "{}", r.stdout);
    names_each_broken_one(&r.stderr);
    let r = sim.brig(&["validate"]);
    r.fails(2);
    names_each_broken_one(&r.stderr);
    assert!(r.stdout.contains("ok    box"), "{}", r.stdout);

    let r = sim.brig(&["start", "--all"]);
    r.fails(1);
    assert!(r.stdout.contains("started jail box"), "{}", r.stdout);
    names_each_broken_one(&r.stderr);
    assert!(r.stderr.contains("5 of 6 jails did not start: "), "{}", r.stderr);
    let r = sim.brig(&["plan"]);
    r.fails(1);
    names_each_broken_one(&r.stderr);
    sim.brig(&["apply"]).fails(1);
    let r = sim.brig(&["stop", "--all"]);
    r.fails(1);
    assert!(r.stdout.contains("stopped jail box"), "{}", r.stdout);
    assert_down(&sim);

    let r = sim.brig(&["boot", "start"]);
    r.fails(1);
    names_each_broken_one(&r.stderr);
    // The broken files are still what they were.
    assert_eq!(std::fs::metadata(sim.file(&format!("{JAILS}/big.toml"))).expect("big").len(), 2 << 30);
    assert!(std::fs::symlink_metadata(sim.file(&format!("{JAILS}/link.toml"))).expect("link").file_type().is_symlink());
}

#[test]
fn a_running_jail_whose_definition_broke_still_stops_as_it_was_started() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    sim.brig(&["start", "box"]).ok();
    let def = sim.file(&format!("{JAILS}/box.toml"));
    std::fs::write(&def, "this is [not toml\n").expect("break it");
    let r = sim.brig(&["stop", "box"]);
    r.ok();
    assert!(r.stderr.contains("jail box: its definition does not read; stopping it as it was started"), "{}", r.stderr);
    assert_down(&sim);

    // boot stop and stop --all do the same, and still exit 1 for the file.
    std::fs::write(&def, "type = \"empty\"\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.20/24\"]\n").expect("fix");
    sim.brig(&["start", "box"]).ok();
    std::fs::remove_file(&def).expect("rm");
    std::os::unix::fs::symlink("/etc/passwd", &def).expect("a symlink now");
    let r = sim.brig(&["boot", "stop"]);
    r.fails(1);
    assert!(r.stderr.contains("box.toml: is a symbolic link"), "{}", r.stderr);
    assert_down(&sim);
    // The jail's files were never touched through the symlink.
    assert!(sim.file(ROOT).join("etc/rc").exists());
}

#[test]
fn start_goes_on_after_a_failure_and_skips_what_depends_on_it() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    // `web` depends on `db`, whose exec.start fails; `box` is independent.
    for (name, top, tail) in
        [("db", "", "\n[exec]\nstart = \"/bin/sh -c 'exit 3'\"\n"), ("web", "depends = [\"db\"]\n", "")]
    {
        let root = format!("/usr/local/brig/jails/{name}/root");
        sim.brig(&["create", name, "--type", "empty"]).ok();
        crate::common::userland_root(&sim, &root);
        std::fs::write(sim.file(&format!("{root}/etc/rc")), "exit 0\n").expect("rc");
        let def = sim.file(&format!("{JAILS}/{name}.toml"));
        let text = std::fs::read_to_string(&def).expect("def");
        std::fs::write(&def, format!("{top}{text}{tail}")).expect("write");
    }
    let r = sim.brig(&["start", "--all"]);
    r.fails(1);
    assert!(r.stdout.contains("started jail box"), "{}", r.stdout);
    assert!(r.stderr.contains("jail web skipped: it depends on db, which did not start"), "{}", r.stderr);
    assert!(r.stderr.contains("2 of 3 jails did not start: db, web"), "{}", r.stderr);
    assert_eq!(sim.host_jails(), vec!["box"]);
    // A name given twice is taken once.
    let r = sim.brig(&["restart", "box", "box"]);
    r.ok();
    assert_eq!(r.stdout.matches("stopped jail box").count(), 1, "{}", r.stdout);
    assert_eq!(sim.host_jails(), vec!["box"]);
    sim.brig(&["stop", "box", "web", "box"]).ok();
    assert_down(&sim);
}

/// Jails caught in a dependency cycle (and one waiting behind it) are
/// named and left out; the others start and stop as usual.
#[test]
fn a_dependency_cycle_blocks_only_its_jails() {
    let sim = defined(&[]);
    let dir = sim.file(JAILS);
    for (name, dep) in [("a", "b"), ("b", "a"), ("c", "a")] {
        std::fs::write(dir.join(format!("{name}.toml")), format!("type = \"empty\"\ndepends = [\"{dep}\"]\n"))
            .expect("definition");
    }
    let r = sim.brig(&["start", "--all"]);
    r.fails(1);
    assert!(r.stdout.contains("started jail box"), "{}", r.stdout);
    let cycle = "the dependencies of a, b form a cycle; remove one of them from `depends`";
    assert_eq!(r.stderr.matches(cycle).count(), 3, "{}", r.stderr);
    assert!(r.stderr.contains("3 of 4 jails did not start: a, b, c"), "{}", r.stderr);
    let r = sim.brig(&["stop", "--all"]);
    r.ok();
    assert!(r.stdout.contains("stopped jail box"), "{}", r.stdout);
    assert_down(&sim);
    sim.brig(&["plan"]).ok();
}
