//! The README tour's path, end to end, with the real test release that
//! `cargo run --example make-release` builds (brig's test userland and rc
//! scripts that leave a mark): fetch, create, start, exec, stop, destroy.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use crate::common::Sim;
use crate::userland::PROGRAM;

const ROOT: &str = "/usr/local/brig/jails/web/root";

/// Builds the test release into `dir`, as the README's
/// `cargo run --example make-release -- DIR` does.
fn make_release(dir: &Path) {
    crate::userland::release(crate::common::userland(), dir).unwrap_or_else(|e| panic!("{e}"));
}

/// The README's first command, run as it says against a scratch sim and
/// release (brig itself instead of `cargo install`): a plain user on Linux
/// gets a jail from the test release, started and entered with `brig exec`.
/// The next command the README shows is `cargo test`, then the Ansible
/// collection's tests.
#[test]
fn the_readmes_first_command_creates_starts_and_enters_a_jail() {
    crate::common::needs_jail_processes!();
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README");
    let block = readme.split("```sh\n").nth(1).and_then(|b| b.split("```").next()).expect("a sh block");
    let commands: Vec<&str> = block.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert_eq!(commands.get(1), Some(&"cargo test && ansible/tests/run"), "{block}");
    let mirror = tempfile::tempdir().expect("tempdir");
    let sim = Sim::new();
    let mirror_path = mirror.path().display().to_string();
    let mut last = None;
    for step in commands[0].split(" && ") {
        let words: Vec<String> =
            step.split_whitespace().map(|w| w.replace("/tmp/brig-release", &mirror_path)).collect();
        match words.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["cargo", "install", "--path", "."] => {}
            ["cargo", "run", "--example", "make-release", "--", dir] => make_release(Path::new(dir)),
            ["export", host] => assert_eq!(*host, "BRIG_HOST=sim:/tmp/brig-first", "the sim the steps then use"),
            ["brig", args @ ..] => last = Some(sim.brig(args).ok().stdout.clone()),
            other => panic!("the README's first command has a step this test does not know: {other:?}"),
        }
    }
    assert!(commands[0].ends_with("brig exec hello -- cat /etc/rc.conf"), "{}", commands[0]);
    assert_eq!(last.as_deref(), Some("hostname=\"hello\"\n"), "what the jail's own rc.conf says");
    let log = sim.file("/usr/local/brig/jails/hello/root/var/log/rc.log");
    assert_eq!(std::fs::read_to_string(log).expect("rc.log"), "brig test release: rc started\n", "it really started");
    sim.brig(&["stop", "hello"]).ok();
}

/// The rc scripts' log inside the jail, or "" when there is none yet.
fn rc_log(sim: &Sim) -> String {
    std::fs::read_to_string(sim.file(&format!("{ROOT}/var/log/rc.log"))).unwrap_or_default()
}

#[test]
fn the_fixture_release_goes_through_the_readme_tour() {
    crate::common::needs_jail_processes!();
    let mirror = tempfile::tempdir().expect("tempdir");
    make_release(mirror.path());
    let manifest = std::fs::read_to_string(mirror.path().join("MANIFEST")).expect("MANIFEST");
    assert!(manifest.starts_with("base.txz\t"), "{manifest}");

    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let from = mirror.path().display().to_string();
    let r = sim.brig(&["release", "fetch", "14.3-RELEASE", "--from", &from]);
    assert!(r.ok().stdout.contains("fetched 14.3-RELEASE"), "{}", r.stdout);
    let rel = sim.file("/usr/local/brig/releases/14.3-RELEASE");
    let meta = |p: &str| std::fs::symlink_metadata(rel.join(p)).expect(p);
    assert_eq!(meta(&format!("bin/{PROGRAM}")).mode() & 0o7777, 0o555);
    assert_eq!(meta("tmp").mode() & 0o7777, 0o1777);
    // Only root can give files away; a plain user's release is its own.
    if nix::unistd::geteuid().is_root() {
        assert_eq!((meta("etc/rc").uid(), meta("etc/rc").gid()), (0, 0));
    }
    assert!(meta("bin/sh").file_type().is_symlink());

    let r = sim.brig(&["create", "web", "--release", "14.3-RELEASE"]);
    assert!(r.ok().stdout.contains("created jail web (thin of 14.3-RELEASE)"), "{}", r.stdout);
    assert_eq!(rc_log(&sim), "", "nothing ran yet");

    // The release's own /etc/rc runs, chrooted into the jail root.
    sim.brig(&["start", "web"]).ok();
    assert_eq!(rc_log(&sim), "brig test release: rc started\n");

    let r = sim.brig(&["exec", "web", "--", "/bin/sh", "-c", "exit 3"]);
    r.fails(3);
    let r = sim.brig(&["exec", "web", "--", "cat", "/etc/rc.conf"]);
    assert_eq!(r.ok().stdout, "hostname=\"web\"\n");
    // --user looks the user up in the release's /etc/passwd.
    let r = sim.brig(&["exec", "web", "--user", "nobody", "--", "id", "-u"]);
    assert_eq!(r.ok().stdout, "65534\n");
    // The jail's processes see its root as theirs: the release's
    // COPYRIGHT, not the host's.
    let r = sim.brig(&["exec", "web", "--", "cat", "/COPYRIGHT"]);
    assert!(r.ok().stdout.starts_with("This is not FreeBSD."), "{}", r.stdout);

    sim.brig(&["stop", "web"]).ok();
    assert_eq!(rc_log(&sim), "brig test release: rc started\nbrig test release: rc.shutdown ran (jail)\n");
    assert_eq!(crate::common::processes_in(&sim, ROOT), 0, "processes left in the jail");

    sim.brig(&["destroy", "web"]).ok();
    assert!(!sim.file(ROOT).exists(), "the jail root is gone");
    let j = sim.brig(&["release", "list", "--json"]).json();
    assert_eq!(j["releases"][0]["name"], "14.3-RELEASE", "the release stays");
    assert!(std::fs::metadata(rel.join("bin").join(PROGRAM)).expect(PROGRAM).permissions().mode() & 0o111 != 0);
}

/// `brig console` logs in as root with the release's own login(1) and
/// gives a shell inside the jail, on a terminal: a pseudo-terminal stands
/// in.
#[test]
fn console_gives_a_root_shell_in_the_jail() {
    crate::common::needs_jail_processes!();
    use std::io::{Read, Write};
    use std::os::fd::{FromRawFd, OwnedFd};

    let mirror = tempfile::tempdir().expect("tempdir");
    make_release(mirror.path());
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim.brig(&["release", "fetch", "14.3-RELEASE", "--from", &mirror.path().display().to_string()]).ok();
    sim.brig(&["create", "web", "--release", "14.3-RELEASE"]).ok();
    sim.brig(&["start", "web"]).ok();

    let (mut master, slave) = {
        let (mut m, mut s) = (-1, -1);
        // SAFETY: openpty writes two new descriptors, which we then own.
        let rc =
            unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut()) };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both are open descriptors nothing else owns.
        unsafe { (std::fs::File::from(OwnedFd::from_raw_fd(m)), std::fs::File::from(OwnedFd::from_raw_fd(s))) }
    };
    let mut keyboard = master.try_clone().expect("dup");
    let host = format!("sim:{}", sim.path().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_brig"))
        .args(["--host", &host, "console", "web"])
        .env_remove("BRIG_HOST")
        .env_remove("BRIG_SIM_FAIL")
        .stdin(slave.try_clone().expect("dup"))
        .stdout(slave.try_clone().expect("dup"))
        .stderr(slave)
        .spawn()
        .expect("brig console runs");
    // Everything the terminal shows, read as it comes so the shell never
    // blocks writing; it ends once every copy of the slave side is closed.
    let screen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let screen = std::sync::Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = master.read(&mut buf) {
                screen.lock().expect("screen").push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let shown = || screen.lock().expect("screen").clone();
    // login(1) flushes what was typed ahead, so wait for root's prompt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut typed = false;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if !typed && shown().contains("# ") {
            keyboard.write_all(b"echo \"$(id -u) $USER $HOME\" > /tmp/console-mark; exit\n").expect("type");
            typed = true;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("brig console did not end; the terminal showed:\n{}", shown());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    drop(child);
    drop(keyboard);
    // Stopping kills anything left holding the terminal, so the reader ends.
    sim.brig(&["stop", "web"]).ok();
    reader.join().expect("reader");
    assert!(status.success(), "brig console: {status}; the terminal showed:\n{}", shown());
    let mark = std::fs::read_to_string(sim.file(&format!("{ROOT}/tmp/console-mark")));
    assert_eq!(mark.expect("the shell ran inside the jail"), "0 root /root\n", "{}", shown());
}
