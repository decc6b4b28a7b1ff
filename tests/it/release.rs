//! `brig release fetch|list|destroy` against the sim, from a mirror
//! directory and from an HTTP server on 127.0.0.1 that the test runs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use brig::host::Host;
use sha2::{Digest, Sha256};

use crate::common::Sim;

const RELEASE: &str = "14.3-RELEASE";
const RELEASE_DIR: &str = "/usr/local/brig/releases/14.3-RELEASE";

/// One archive entry: path, kind, contents or link target, mode.
pub type Entry<'a> = (&'a str, tar::EntryType, &'a [u8], u32);

/// A tiny base system: files, a directory, a symlink, a hard link and a
/// setuid binary.
pub fn base_entries() -> Vec<Entry<'static>> {
    use tar::EntryType::*;
    vec![
        ("bin/", Directory, b"", 0o755),
        ("bin/sh", Regular, b"#!/bin/sh shell\n", 0o555),
        ("bin/rsh", Link, b"bin/sh", 0o555),
        ("usr/bin/su", Regular, b"su binary", 0o4555),
        ("etc/rc", Regular, b"# rc\n", 0o644),
        ("sys", Symlink, b"usr/src/sys", 0o777),
        ("COPYRIGHT", Regular, b"BSD\n", 0o444),
    ]
}

/// An xz-compressed tar, built without the tar crate's path checks so that
/// hostile entries can be written too.
fn txz(entries: &[Entry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, data, mode) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_mode(*mode);
        h.set_uid(0);
        h.set_gid(0);
        let link = matches!(kind, tar::EntryType::Link | tar::EntryType::Symlink);
        h.set_size(if link { 0 } else { data.len() as u64 });
        h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        if link {
            h.as_old_mut().linkname[..data.len()].copy_from_slice(data);
        }
        h.set_cksum();
        let body: &[u8] = if link { b"" } else { data };
        b.append(&h, body).expect("append");
    }
    let tar = b.into_inner().expect("tar");
    let mut w = lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).expect("xz");
    w.write_all(&tar).expect("compress");
    w.finish().expect("finish")
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// A mirror directory with MANIFEST and base.txz; `manifest_hash`
/// overrides the hash MANIFEST claims.
pub fn mirror(entries: &[Entry], manifest_hash: Option<&str>) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    let base = txz(entries);
    let hash = manifest_hash.map_or_else(|| sha256_hex(&base), str::to_string);
    std::fs::write(d.path().join("base.txz"), &base).expect("write");
    // The count is what `tar tvf` lists: one line per entry.
    let count = entries.len();
    std::fs::write(
        d.path().join("MANIFEST"),
        format!("base.txz\t{hash}\t{count}\tbase\t\"Base system (MANDATORY)\"\ton\n"),
    )
    .expect("write");
    d
}

/// A small HTTP/1.1 file server on 127.0.0.1 with Range support and a way
/// to cut one response short.
struct Server {
    port: u16,
    /// (file, bytes): the next response for that file stops after so many
    /// body bytes.
    cut: Arc<Mutex<Option<(String, usize)>>>,
    /// Every request line and its Range header, in order.
    log: Arc<Mutex<Vec<String>>>,
    /// Send bodies slowly, 16 bytes every 200 ms.
    drip: Arc<Mutex<bool>>,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let cut: Arc<Mutex<Option<(String, usize)>>> = Arc::default();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let drip: Arc<Mutex<bool>> = Arc::default();
        let (dir, c, l, d) = (dir.to_path_buf(), Arc::clone(&cut), Arc::clone(&log), Arc::clone(&drip));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                // Range: bytes=A- or bytes=A-B
                let mut range: Option<(u64, Option<u64>)> = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                        let (a, b) = v.trim().split_once('-').unwrap_or((v.trim(), ""));
                        range = a.parse().ok().map(|a| (a, b.parse().ok()));
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_string();
                l.lock().expect("log").push(format!("{path} range={range:?}"));
                let mut out = stream;
                let Ok(data) = std::fs::read(dir.join(&path)) else {
                    let _ = out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    continue;
                };
                let start = range.map_or(0, |r| r.0 as usize);
                if range.is_some() && start >= data.len() {
                    let _ = out.write_all(
                        b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    continue;
                }
                let end = range.and_then(|r| r.1).map_or(data.len(), |e| (e as usize + 1).min(data.len()));
                let body = &data[start..end];
                let head = match range {
                    Some(_) => format!(
                        "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\nConnection: close\r\n\r\n",
                        body.len(),
                        end - 1,
                        data.len()
                    ),
                    None => format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()),
                };
                let _ = out.write_all(head.as_bytes());
                let limit = {
                    let mut cut = c.lock().expect("cut");
                    match cut.take() {
                        Some((f, n)) if f == path => n,
                        other => {
                            *cut = other;
                            body.len()
                        }
                    }
                };
                let body = &body[..limit.min(body.len())];
                if *d.lock().expect("drip") {
                    for piece in body.chunks(16) {
                        std::thread::sleep(std::time::Duration::from_millis(200));
                        if out.write_all(piece).is_err() {
                            break;
                        }
                    }
                } else {
                    let _ = out.write_all(body);
                }
            }
        });
        Server { port, cut, log, drip }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

fn initialised() -> Sim {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim
}

fn release_datasets(sim: &Sim) -> Vec<String> {
    let h = sim.host();
    h.zfs_list("zroot/brig/releases", &[]).expect("list").into_iter().map(|d| d.name).skip(1).collect()
}

fn cache_files(sim: &Sim) -> Vec<String> {
    crate::common::tree(&sim.file("/usr/local/brig/cache"))
        .into_iter()
        .filter(|p| p.ends_with(".txz") || p.contains(".part"))
        .collect()
}

#[test]
fn fetch_from_a_directory_unpacks_seals_and_snapshots() {
    let sim = initialised();
    let m = mirror(&base_entries(), None);
    let r = sim.brig(&["release", "fetch", RELEASE, "--from", &m.path().display().to_string()]);
    r.ok();
    assert!(r.stdout.contains("fetched 14.3-RELEASE (amd64)"), "{}", r.stdout);
    let root = sim.file(RELEASE_DIR);
    assert_eq!(std::fs::read(root.join("bin/sh")).expect("sh"), b"#!/bin/sh shell\n");
    assert_eq!(std::fs::metadata(root.join("usr/bin/su")).expect("su").mode() & 0o7777, 0o4555);
    assert_eq!(std::fs::read_link(root.join("sys")).expect("symlink"), Path::new("usr/src/sys"));
    let ino = |p: &str| std::fs::metadata(root.join(p)).expect(p).ino();
    assert_eq!(ino("bin/sh"), ino("bin/rsh"), "hard link kept");
    assert_eq!(
        release_datasets(&sim),
        vec!["zroot/brig/releases/14.3-RELEASE", "zroot/brig/releases/14.3-RELEASE@base"]
    );
    let props = sim
        .host()
        .zfs_get("zroot/brig/releases/14.3-RELEASE", &["readonly", "brig:release", "brig:arch", "brig:source"])
        .expect("props");
    assert_eq!(props["readonly"], "on");
    assert_eq!(props["brig:release"], RELEASE);
    assert_eq!(props["brig:arch"], "amd64");
    assert_eq!(props["brig:source"], m.path().display().to_string());
    let j = sim.brig(&["release", "list", "--json"]).json();
    assert_eq!(j["version"], 1);
    assert_eq!(j["releases"][0]["name"], RELEASE);
    assert_eq!(j["releases"][0]["clones"].as_array().map(Vec::len), Some(0));
    let table = sim.brig(&["release", "list"]);
    let row = table.stdout.lines().nth(1).unwrap_or_default().split_whitespace().collect::<Vec<_>>();
    let shown = (row[0], row[1], row[2], row[7], row[8]);
    assert_eq!(shown, ("14.3-RELEASE", "amd64", "dist", "@base", "0"), "{}", table.stdout);
    let again = sim.brig(&["release", "fetch", RELEASE, "--from", &m.path().display().to_string()]);
    assert!(again.ok().stdout.contains("already fetched"));
}

#[test]
fn fetch_over_http_with_a_warning_for_plain_http() {
    let sim = initialised();
    let m = mirror(&base_entries(), None);
    let server = Server::start(m.path());
    let r = sim.brig(&["release", "fetch", RELEASE, "--from", &server.url()]);
    r.ok();
    assert!(r.stderr.contains("warning") && r.stderr.contains("plain http"), "{}", r.stderr);
    assert!(sim.file(RELEASE_DIR).join("COPYRIGHT").is_file());
    assert_eq!(cache_files(&sim), vec!["amd64/14.3-RELEASE/base.txz"]);
}

#[test]
fn the_default_source_is_the_configured_mirror() {
    let sim = initialised();
    let m = tempfile::tempdir().expect("tempdir");
    let releases = m.path().join("amd64").join(RELEASE);
    std::fs::create_dir_all(&releases).expect("mkdir");
    let src = mirror(&base_entries(), None);
    for f in ["MANIFEST", "base.txz"] {
        std::fs::copy(src.path().join(f), releases.join(f)).expect("copy");
    }
    let cfg = sim.file("/usr/local/etc/brig/brig.toml");
    let text = std::fs::read_to_string(&cfg).expect("cfg").replace(
        "mirror = \"https://download.freebsd.org/releases\"",
        &format!("mirror = \"file://{}\"", m.path().display()),
    );
    std::fs::write(&cfg, text).expect("write");
    sim.brig(&["release", "fetch", RELEASE]).ok();
}

#[test]
fn a_tampered_archive_fails_naming_both_hashes_and_leaves_nothing() {
    let sim = initialised();
    let wrong = "ab".repeat(32);
    let m = mirror(&base_entries(), Some(&wrong));
    let server = Server::start(m.path());
    let r = sim.brig(&["release", "fetch", RELEASE, "--from", &server.url()]);
    r.fails(1);
    let real = sha256_hex(&std::fs::read(m.path().join("base.txz")).expect("read"));
    assert!(r.stderr.contains(&format!("base.txz: SHA-256 is {real} but MANIFEST says {wrong}")), "{}", r.stderr);
    assert_eq!(release_datasets(&sim), Vec::<String>::new());
    assert_eq!(cache_files(&sim), Vec::<String>::new(), "the bad download is deleted");
    // --sha256 is checked too.
    let good = mirror(&base_entries(), None);
    let r = sim.brig(&["release", "fetch", RELEASE, "--from", &good.path().display().to_string(), "--sha256", &wrong]);
    r.fails(1);
    assert!(r.stderr.contains("but --sha256 says"), "{}", r.stderr);
    assert_eq!(release_datasets(&sim), Vec::<String>::new());
}

#[test]
fn a_truncated_download_fails_and_the_next_run_resumes() {
    let sim = initialised();
    let m = mirror(&base_entries(), None);
    let server = Server::start(m.path());
    *server.cut.lock().expect("cut") = Some(("base.txz".into(), 100));
    let r = sim.brig(&["release", "fetch", RELEASE, "--from", &server.url()]);
    r.fails(1);
    assert!(
        r.stderr.contains("cut short at 100 of") && r.stderr.contains("run the command again to resume"),
        "{}",
        r.stderr
    );
    assert_eq!(release_datasets(&sim), Vec::<String>::new());
    assert_eq!(cache_files(&sim), vec!["amd64/14.3-RELEASE/base.txz.part"]);
    sim.brig(&["release", "fetch", RELEASE, "--from", &server.url()]).ok();
    assert!(
        server.log.lock().expect("log").iter().any(|l| l.starts_with("base.txz range=Some((100,")),
        "the second run resumed with a Range request: {:?}",
        server.log.lock().expect("log")
    );
    assert!(sim.file(RELEASE_DIR).join("bin/sh").is_file());
}

/// `release fetch` from `url` in the background, once `bytes` of base.txz
/// have arrived.
fn fetching(sim: &Sim, url: &str, bytes: u64) -> std::process::Child {
    let host = format!("sim:{}", sim.path().display());
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_brig"))
        .args(["--host", &host, "release", "fetch", RELEASE, "--from", url])
        .env_remove("BRIG_SIM_FAIL")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("brig starts");
    let part = sim.file("/usr/local/brig/cache/amd64/14.3-RELEASE/base.txz.part");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0) < bytes {
        assert!(std::time::Instant::now() < deadline, "the download never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}

#[test]
fn ctrl_c_during_a_download_stops_cleanly_and_the_next_run_resumes() {
    let sim = initialised();
    let m = mirror(&base_entries(), None);
    let server = Server::start(m.path());
    *server.drip.lock().expect("drip") = true;
    let child = fetching(&sim, &server.url(), 1);
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let out = child.wait_with_output().expect("brig ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted; no release was left half-made"), "{stderr}");
    assert_eq!(release_datasets(&sim), Vec::<String>::new());
    *server.drip.lock().expect("drip") = false;
    sim.brig(&["release", "fetch", RELEASE, "--from", &server.url()]).ok();
    assert!(server.log.lock().expect("log").iter().filter(|l| l.starts_with("base.txz")).count() >= 2);
}

#[test]
fn archives_with_escaping_paths_are_rejected_with_nothing_left() {
    use tar::EntryType::Regular;
    for (bad, why) in [("../escape", "'..' would leave the tree"), ("/etc/evil", "absolute paths are not allowed")] {
        let sim = initialised();
        let mut entries = base_entries();
        entries.push((bad, Regular, b"x", 0o644));
        let m = mirror(&entries, None);
        let r = sim.brig(&["release", "fetch", RELEASE, "--from", &m.path().display().to_string()]);
        r.fails(1);
        assert!(r.stderr.contains(why) && r.stderr.contains(bad), "{}", r.stderr);
        assert_eq!(release_datasets(&sim), Vec::<String>::new(), "{bad}");
        assert!(!sim.file("/usr/local/brig/releases/escape").exists());
        assert!(!sim.file("/etc/evil").exists());
    }
}

#[test]
fn an_archive_writing_through_its_own_symlink_is_rejected() {
    use tar::EntryType::{Regular, Symlink};
    let sim = initialised();
    let mut entries = base_entries();
    entries.push(("evil", Symlink, b"/etc", 0o777));
    entries.push(("evil/passwd", Regular, b"root::0:0::/:/bin/sh\n", 0o644));
    let m = mirror(&entries, None);
    let r = sim.brig(&["release", "fetch", RELEASE, "--from", &m.path().display().to_string()]);
    r.fails(1);
    assert!(r.stderr.contains("evil/passwd: a component is a symbolic link"), "{}", r.stderr);
    assert!(!sim.file("/etc/passwd").exists());
    assert_eq!(release_datasets(&sim), Vec::<String>::new());
}

/// Every host call of a fetch, failed in turn: exit 1 and no release or
/// scratch dataset left; then a clean run succeeds.
#[test]
fn a_failure_at_any_step_of_fetch_leaves_no_half_release() {
    let m = mirror(&base_entries(), None);
    let from = m.path().display().to_string();
    let faults = crate::common::every_call(&initialised(), &["release", "fetch", RELEASE, "--from", &from]);
    assert!(faults.iter().any(|f| f.starts_with("zfs_rename:")), "{faults:?}");
    for fault in faults {
        let sim = initialised();
        let r = sim.brig_env(&["release", "fetch", RELEASE, "--from", &from], &[("BRIG_SIM_FAIL", &fault)]);
        if fault == "sysctl_get:1" {
            // Reading hw.machine is optional: brig falls back to amd64.
            r.ok();
            continue;
        }
        r.fails(1);
        assert!(r.stderr.contains("injected by BRIG_SIM_FAIL"), "{fault}: {}", r.stderr);
        assert_eq!(release_datasets(&sim), Vec::<String>::new(), "{fault} left datasets");
        sim.brig(&["release", "fetch", RELEASE, "--from", &from]).ok();
    }
}

#[test]
fn a_killed_fetch_leaves_no_listed_release_and_the_next_run_starts_clean() {
    let sim = initialised();
    let m = mirror(&base_entries(), None);
    let from = m.path().display().to_string();
    let r = sim.brig_env(&["release", "fetch", RELEASE, "--from", &from], &[("BRIG_SIM_FAIL", "zfs_snapshot:1:abort")]);
    assert_eq!(r.code, None, "killed");
    assert_eq!(release_datasets(&sim), vec!["zroot/brig/releases/incoming-14.3-RELEASE"]);
    let j = sim.brig(&["release", "list", "--json"]).json();
    assert_eq!(j["releases"].as_array().map(Vec::len), Some(0), "a half release is never listed");
    sim.brig(&["release", "fetch", RELEASE, "--from", &from]).ok();
    assert_eq!(
        release_datasets(&sim),
        vec!["zroot/brig/releases/14.3-RELEASE", "zroot/brig/releases/14.3-RELEASE@base"]
    );
}

#[test]
fn destroy_refuses_while_a_jail_is_cloned_from_the_release() {
    let sim = initialised();
    let m = mirror(&base_entries(), None);
    sim.brig(&["release", "fetch", RELEASE, "--from", &m.path().display().to_string()]).ok();
    {
        let mut h = sim.host();
        h.zfs_create("zroot/brig/jails/web", &[]).expect("jail dataset");
        h.zfs_clone("zroot/brig/releases/14.3-RELEASE@base", "zroot/brig/jails/web/root", &[]).expect("clone");
    }
    let j = sim.brig(&["release", "list", "--json"]).json();
    assert_eq!(j["releases"][0]["clones"][0], "zroot/brig/jails/web/root");
    let r = sim.brig(&["release", "destroy", RELEASE]);
    r.fails(1);
    assert_eq!(r.stderr.trim(), "brig: release 14.3-RELEASE is the origin of a jail: web; destroy it first");
    sim.host().zfs_destroy("zroot/brig/jails/web", true).expect("remove the jail");
    sim.brig(&["release", "destroy", RELEASE]).ok();
    assert_eq!(release_datasets(&sim), Vec::<String>::new());
    sim.brig(&["release", "destroy", RELEASE]).fails(3);
}

#[test]
fn destroy_keeps_a_held_release_and_says_how_to_find_the_hold() {
    let sim = initialised();
    let m = mirror(&base_entries(), None);
    sim.brig(&["release", "fetch", RELEASE, "--from", &m.path().display().to_string()]).ok();
    sim.host().zfs_hold("zroot/brig/releases/14.3-RELEASE@base", "backup").expect("hold");
    let r = sim.brig(&["release", "destroy", RELEASE]);
    r.fails(1);
    assert_eq!(
        r.stderr.trim(),
        "brig: release 14.3-RELEASE is held or in use and was kept: `zfs holds -r zroot/brig/releases/14.3-RELEASE` lists holds (`zfs release TAG SNAPSHOT` drops one) and `fstat -f /usr/local/brig/releases/14.3-RELEASE` the processes using it; then run this again"
    );
    assert_eq!(
        release_datasets(&sim),
        vec!["zroot/brig/releases/14.3-RELEASE", "zroot/brig/releases/14.3-RELEASE@base"]
    );
    sim.brig(&["release", "list"]).ok();
}

#[test]
fn bad_requests_are_refused_before_anything_happens() {
    let sim = Sim::new();
    let r = sim.brig(&["release", "list"]);
    r.fails(1);
    assert!(r.stderr.contains("brig is not initialised; run `brig init` first"), "{}", r.stderr);
    sim.brig(&["init"]).ok();
    let r = sim.brig(&["release", "fetch", "14.3"]);
    r.fails(2);
    assert!(r.stderr.contains("invalid release '14.3'"), "{}", r.stderr);
    sim.brig(&["release", "fetch", RELEASE, "--arch", "x86_64"]).fails(2);
    sim.brig(&["release", "fetch", RELEASE, "--components", "lib32"]).fails(2);
    sim.brig(&["release", "fetch", RELEASE, "--components", "base,../x"]).fails(2);
    sim.brig(&["release", "fetch", RELEASE, "--sha256", "xyz"]).fails(2);
    sim.brig(&["release", "fetch", RELEASE, "--from", "/no/such/mirror"]).fails(2);
    let empty = tempfile::tempdir().expect("tempdir");
    let r = sim.brig(&["release", "fetch", RELEASE, "--from", &empty.path().display().to_string()]);
    r.fails(1);
    assert!(r.stderr.contains("MANIFEST does not exist"), "{}", r.stderr);
    let m = mirror(&base_entries(), None);
    let r = sim.brig(&[
        "release",
        "fetch",
        RELEASE,
        "--from",
        &m.path().display().to_string(),
        "--components",
        "base,lib32",
    ]);
    r.fails(1);
    assert!(r.stderr.contains("MANIFEST lists no lib32.txz"), "{}", r.stderr);
    let server = Server::start(empty.path());
    let r = sim.brig(&["release", "fetch", RELEASE, "--from", &server.url()]);
    r.fails(1);
    assert!(r.stderr.contains("HTTP 404"), "{}", r.stderr);
    let r = sim.brig(&["release", "fetch", RELEASE, "--from", "http://127.0.0.1:1/"]);
    r.fails(1);
    assert!(r.stderr.contains("cannot download http://127.0.0.1:1/MANIFEST"), "{}", r.stderr);
    assert_eq!(release_datasets(&sim), Vec::<String>::new());
}

#[test]
fn a_stalled_mirror_holds_up_no_other_command_and_ends_at_a_signal() {
    // MANIFEST comes; base.txz promises 100 bytes, sends 3 and goes quiet
    // with the connection open. The fetch used to hang, ignore SIGTERM and
    // hold the host lock every create waits for.
    let sim = initialised();
    let m = mirror(&base_entries(), None);
    let manifest = std::fs::read(m.path().join("MANIFEST")).expect("MANIFEST");
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", l.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut s in l.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            if req.starts_with("GET /MANIFEST") {
                let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", manifest.len());
                let _ = s.write_all(&manifest);
            } else {
                let _ = s.write_all(
                    b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99/100\r\nContent-Length: 100\r\n\r\nabc",
                );
                held.push(s);
            }
        }
    });
    let child = fetching(&sim, &url, 3);
    let r = sim.brig(&["--no-wait", "create", "other", "--type", "empty"]);
    r.ok();
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    let sent = std::time::Instant::now();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let out = child.wait_with_output().expect("brig ends");
    assert!(sent.elapsed() < std::time::Duration::from_secs(5), "took {:?}", sent.elapsed());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(release_datasets(&sim), Vec::<String>::new());
}

#[test]
fn an_archive_that_does_not_match_its_manifest_count_is_refused() {
    let sim = initialised();
    let m = mirror(&base_entries(), None);
    let text = std::fs::read_to_string(m.path().join("MANIFEST")).expect("MANIFEST");
    std::fs::write(m.path().join("MANIFEST"), text.replace("\t7\t", "\t9\t")).expect("write");
    let r = sim.brig(&["release", "fetch", RELEASE, "--from", &m.path().display().to_string()]);
    r.fails(1);
    assert!(r.stderr.contains("unpacked to 7 entries, but MANIFEST says it holds 9"), "{}", r.stderr);
    assert_eq!(release_datasets(&sim), Vec::<String>::new());
    // And a release larger than [fetch] allows is refused with the key to raise.
    std::fs::write(m.path().join("MANIFEST"), &text).expect("write");
    let cfg = sim.file("/usr/local/etc/brig/brig.toml");
    let text = std::fs::read_to_string(&cfg).expect("brig.toml");
    std::fs::write(&cfg, format!("{text}\n[fetch]\nmax_unpacked = 10\n")).expect("write");
    let r = sim.brig(&["release", "fetch", RELEASE, "--from", &m.path().display().to_string()]);
    r.fails(1);
    assert!(r.stderr.contains("unpacks to more than 10 bytes"), "{}", r.stderr);
    assert_eq!(release_datasets(&sim), Vec::<String>::new());
}
