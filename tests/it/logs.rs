//! Console logs: what brig runs for a jail goes to /var/log/brig/NAME.log;
//! `brig logs` shows its end and follows it across a rotation.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::run::{defined, ROOT};

const LOG: &str = "/var/log/brig/box.log";

#[test]
fn exec_output_goes_to_the_console_log_and_logs_shows_and_follows_it() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    std::fs::write(sim.file(&format!("{ROOT}/etc/rc")), "echo hello from rc\nsleep 300 &\n").expect("rc");
    let missing = sim.brig(&["logs", "box"]);
    assert!(missing.stderr.contains("jail box has no console log"), "{}", missing.stderr);
    assert_ne!(missing.code, Some(0));
    sim.brig(&["start", "box"]).ok();
    let shown = sim.brig(&["logs", "box"]);
    let text = &shown.ok().stdout;
    assert!(text.contains("exec.start: /bin/sh /etc/rc (exit 0)\nhello from rc\n"), "{text}");
    assert_eq!(sim.brig(&["logs", "box", "-n", "1"]).ok().stdout, "hello from rc\n");
    let mode = std::fs::metadata(sim.file(LOG)).expect("log").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let mut child = crate::common::Background::start(&sim, &["logs", "box", "-f", "-n", "0"]);
    let seen = Arc::new(Mutex::new(String::new()));
    let mut stdout = child.0.stdout.take().expect("stdout");
    let reader = {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buf) {
                seen.lock().expect("lock").push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let wait_for = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !seen.lock().expect("lock").contains(what) {
            assert!(Instant::now() < deadline, "logs -f did not show {what}: {}", seen.lock().expect("lock"));
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // Lines appended until the follower shows one: from then on it
    // follows the log.
    let mut log = std::fs::OpenOptions::new().append(true).open(sim.file(LOG)).expect("log");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.lock().expect("lock").contains("marker") {
        assert!(Instant::now() < deadline, "logs -f shows nothing appended");
        std::io::Write::write_all(&mut log, b"marker\n").expect("append");
        std::thread::sleep(Duration::from_millis(100));
    }
    sim.brig(&["stop", "box"]).ok();
    wait_for("exec.stop: /bin/sh /etc/rc.shutdown");
    assert!(!seen.lock().expect("lock").contains("hello from rc"), "-n 0 showed old lines");
    // newsyslog renames the log; the next start writes a new one.
    std::fs::rename(sim.file(LOG), sim.file("/var/log/brig/box.log.0")).expect("rotate");
    sim.brig(&["start", "box"]).ok();
    wait_for("hello from rc");
    assert!(child.terminate(), "logs -f did not end at SIGTERM");
    reader.join().expect("reader");
}
