//! `brig release update`, `brig upgrade` and the versions `list` shows,
//! against the sim and its freebsd-update server (a directory of patch
//! levels).

use std::path::Path;

use brig::host::Host;

use crate::common::Sim;
use crate::release::{mirror, Entry};

const RELEASE: &str = "14.3-RELEASE";
const RELEASES: &str = "zroot/brig/releases/14.3-RELEASE";

fn version_script(v: &str) -> Vec<u8> {
    format!("#!/bin/sh\nUSERLAND_VERSION=\"{v}\"\necho $USERLAND_VERSION\n").into_bytes()
}

/// A small 14.3-RELEASE-p2 with an /etc to merge.
fn base(version: &[u8]) -> Vec<Entry<'_>> {
    use tar::EntryType::*;
    vec![
        ("bin/", Directory, b"", 0o755),
        ("bin/sh", Regular, b"sh p2\n", 0o555),
        ("bin/freebsd-version", Regular, version, 0o555),
        ("etc/", Directory, b"", 0o755),
        ("etc/rc.conf", Regular, b"# rc.conf\nsendmail_enable=\"NONE\"\n", 0o644),
        ("etc/motd", Regular, b"FreeBSD 14.3-RELEASE-p2\n", 0o644),
        ("etc/hosts", Regular, b"# hosts\n::1 localhost\n127.0.0.1 localhost\n", 0o644),
        ("usr/", Directory, b"", 0o755),
        ("usr/share/", Directory, b"", 0o755),
        ("usr/share/misc", Regular, b"misc p2\n", 0o644),
    ]
}

/// The update server's patch level 5: a new sh, motd, hosts' first
/// line and the version.
fn update_server() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    let p5 = d.path().join(RELEASE).join("p5");
    let put = |rel: &str, body: &[u8]| {
        let f = p5.join(rel);
        std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
        std::fs::write(&f, body).expect("write");
    };
    put("bin/sh", b"sh p5\n");
    put("bin/freebsd-version", &version_script("14.3-RELEASE-p5"));
    put("etc/motd", b"FreeBSD 14.3-RELEASE-p5\n");
    put("etc/hosts", b"# hosts, p5\n::1 localhost\n127.0.0.1 localhost\n");
    d
}

/// An initialised sim with 14.3-RELEASE-p2 fetched and the update
/// server answering.
fn fetched(server: &Path) -> Sim {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let script = version_script("14.3-RELEASE-p2");
    let m = mirror(&base(&script), None);
    sim.brig(&["release", "fetch", RELEASE, "--from", &m.path().display().to_string()]).ok();
    let server = server.display().to_string();
    sim.configure(|t| format!("update_server = {server:?}\n{t}"));
    sim
}

/// The directories every `upgradable()` shares, kept for the whole test
/// run: a mirror of the p2 release and the update server.
fn shared() -> &'static (tempfile::TempDir, tempfile::TempDir) {
    static DIRS: std::sync::OnceLock<(tempfile::TempDir, tempfile::TempDir)> = std::sync::OnceLock::new();
    DIRS.get_or_init(|| (mirror(&base(&version_script("14.3-RELEASE-p2")), None), update_server()))
}

/// An initialised sim with the shared p2 release fetched and the shared
/// update server answering.
fn shared_release() -> Sim {
    let (m, server) = shared();
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim.brig(&["release", "fetch", RELEASE, "--from", &m.path().display().to_string()]).ok();
    let server = server.path().display().to_string();
    sim.configure(|t| format!("update_server = {server:?}\n{t}"));
    sim
}

/// A thin jail `box` of 14.3-RELEASE-p2 with changes of its own (a
/// bootable root, an /etc file to merge), and the release updated to p5.
pub fn upgradable() -> Sim {
    let sim = outdated_release();
    sim.brig(&["release", "update", RELEASE]).ok();
    sim
}

/// `upgradable()`, upgraded.
pub fn upgraded() -> Sim {
    let sim = upgradable();
    sim.brig(&["upgrade", "box"]).ok();
    sim
}

/// `upgradable()` before the release update.
pub fn outdated_release() -> Sim {
    let sim = shared_release();
    sim.brig(&["create", "box", "--release", RELEASE, "--ip4", "192.0.2.20/24", "--interface", "em0"]).ok();
    // The test userland's sh in place of the release's: a change of kind.
    std::fs::remove_file(root_file(&sim, "box", "bin/sh")).expect("rm");
    crate::common::bootable_root(&sim, crate::run::ROOT, "sleep 300 &\n");
    std::fs::write(root_file(&sim, "box", "etc/hosts"), "# hosts\n::1 localhost\n127.0.0.1 localhost box\n")
        .expect("write");
    sim
}

/// A thick jail `box` of 14.3-RELEASE-p2 with a file of its own, the
/// release updated to p5.
pub fn upgradable_thick() -> Sim {
    let sim = shared_release();
    sim.brig(&["create", "box", "--release", RELEASE, "--type", "thick"]).ok();
    std::fs::write(root_file(&sim, "box", "etc/app.conf"), "mine\n").expect("write");
    sim.brig(&["release", "update", RELEASE]).ok();
    sim
}

/// `upgradable()`, running.
pub fn upgradable_running() -> Sim {
    let sim = upgradable();
    sim.brig(&["start", "box"]).ok();
    sim
}

fn root_file(sim: &Sim, jail: &str, rel: &str) -> std::path::PathBuf {
    sim.file(&format!("/usr/local/brig/jails/{jail}/root/{rel}"))
}

fn origin(sim: &Sim, jail: &str) -> String {
    let ds = format!("zroot/brig/jails/{jail}/root");
    sim.host().zfs_get(&ds, &["origin"]).expect("get").remove("origin").unwrap_or_default()
}

#[test]
fn release_update_makes_a_patch_snapshot_and_a_second_run_changes_nothing() {
    let server = update_server();
    let sim = fetched(server.path());
    let r = sim.brig(&["release", "update", RELEASE]);
    r.ok();
    assert!(r.stdout.contains("updated 14.3-RELEASE from 14.3-RELEASE-p2 to 14.3-RELEASE-p5"), "{}", r.stdout);
    let snaps: Vec<String> =
        sim.host().zfs_list(RELEASES, &[]).expect("list").into_iter().map(|d| d.name).skip(1).collect();
    assert_eq!(snaps, [format!("{RELEASES}@base"), format!("{RELEASES}@p5")]);
    let files = sim.file("/usr/local/brig/releases/14.3-RELEASE");
    assert_eq!(std::fs::read(files.join("bin/sh")).expect("sh"), b"sh p5\n");
    // Read-only again, the clone gone.
    let h = sim.host();
    assert_eq!(h.zfs_get(RELEASES, &["readonly"]).expect("get")["readonly"], "on");
    assert!(h.zfs_get("zroot/brig/releases/updating-14.3-RELEASE", &["type"]).is_err());
    drop(h);
    let again = sim.brig(&["release", "update", RELEASE]);
    again.ok();
    assert!(again.stdout.contains("release 14.3-RELEASE is up to date (14.3-RELEASE-p5)"), "{}", again.stdout);
}

#[test]
fn a_failed_update_leaves_the_release_as_it_was() {
    let server = update_server();
    let sim = fetched(server.path());
    sim.configure(|t| t.lines().filter(|l| !l.starts_with("update_server")).collect::<Vec<_>>().join("\n"));
    let r = sim.brig(&["release", "update", RELEASE]);
    r.fails(1);
    assert!(r.stderr.contains("freebsd-update failed for release 14.3-RELEASE"), "{}", r.stderr);
    assert!(r.stderr.contains("No mirrors remaining, giving up."), "{}", r.stderr);
    let names: Vec<String> =
        sim.host().zfs_list("zroot/brig/releases", &[]).expect("list").into_iter().map(|d| d.name).collect();
    assert_eq!(names, ["zroot/brig/releases", RELEASES, &format!("{RELEASES}@base")]);
}

#[test]
fn a_thin_jail_upgraded_stays_thin_keeps_its_changes_and_merges_etc() {
    let server = update_server();
    let sim = fetched(server.path());
    sim.brig(&["create", "web", "--release", RELEASE]).ok();
    // The jail's own changes: a new file, a changed /etc file the
    // release also changes (merged), one it does not (kept), a removal.
    std::fs::create_dir_all(root_file(&sim, "web", "usr/local/etc")).expect("mkdir");
    std::fs::write(root_file(&sim, "web", "usr/local/etc/app.conf"), "port=80\n").expect("write");
    std::fs::write(root_file(&sim, "web", "etc/hosts"), "# hosts\n::1 localhost\n127.0.0.1 localhost web\n")
        .expect("write");
    std::fs::remove_file(root_file(&sim, "web", "usr/share/misc")).expect("rm");
    sim.brig(&["release", "update", RELEASE]).ok();

    let listed = sim.brig(&["list", "--outdated"]);
    listed.ok();
    assert!(listed.stdout.contains("web"), "{}", listed.stdout);
    assert!(listed.stdout.contains("14.3-RELEASE-p2 (p5 available)"), "{}", listed.stdout);
    let info = sim.brig(&["info", "web"]);
    assert!(info.ok().stdout.contains("14.3-RELEASE-p2 (p5 available: brig upgrade web)"), "{}", info.stdout);

    let r = sim.brig(&["upgrade", "web"]);
    r.ok();
    assert!(r.stdout.contains("upgraded jail web: 14.3-RELEASE-p2 -> 14.3-RELEASE-p5"), "{}", r.stdout);
    assert!(r.stdout.contains("merged: etc/hosts"), "{}", r.stdout);
    assert_eq!(origin(&sim, "web"), format!("{RELEASES}@p5"));
    let read = |rel: &str| std::fs::read_to_string(root_file(&sim, "web", rel)).unwrap_or_default();
    assert_eq!(read("bin/sh"), "sh p5\n");
    assert_eq!(read("usr/local/etc/app.conf"), "port=80\n");
    assert_eq!(read("etc/hosts"), "# hosts, p5\n::1 localhost\n127.0.0.1 localhost web\n");
    assert!(!root_file(&sim, "web", "usr/share/misc").exists());
    // brig wrote rc.conf's hostname at create: carried too.
    assert!(read("etc/rc.conf").contains("hostname="), "{}", read("etc/rc.conf"));
    let outdated = sim.brig(&["list", "--outdated"]);
    outdated.ok();
    assert!(!outdated.stdout.contains("web"), "{}", outdated.stdout);
    let again = sim.brig(&["upgrade", "web"]);
    again.ok();
    assert!(again.stdout.contains("jail web is up to date (14.3-RELEASE-p5)"), "{}", again.stdout);

    let back = sim.brig(&["upgrade", "--rollback", "web"]);
    back.ok();
    assert!(back.stdout.contains("rolled back jail web: it is on 14.3-RELEASE-p2 again"), "{}", back.stdout);
    assert_eq!(origin(&sim, "web"), format!("{RELEASES}@base"));
    assert_eq!(read("bin/sh"), "sh p2\n");
    assert_eq!(read("usr/local/etc/app.conf"), "port=80\n");
}

#[test]
fn an_etc_conflict_leaves_the_jail_as_it_was_and_fails() {
    let server = update_server();
    let sim = fetched(server.path());
    sim.brig(&["create", "web", "--release", RELEASE]).ok();
    std::fs::write(root_file(&sim, "web", "etc/motd"), "Welcome to web\n").expect("write");
    sim.brig(&["release", "update", RELEASE]).ok();
    let r = sim.brig(&["upgrade", "web"]);
    r.fails(1);
    assert!(r.stderr.contains("jail web was left as it was: its changes to etc/motd clash"), "{}", r.stderr);
    assert_eq!(origin(&sim, "web"), format!("{RELEASES}@base"));
    let names: Vec<String> =
        sim.host().zfs_list("zroot/brig/jails/web", &[]).expect("list").into_iter().map(|d| d.name).collect();
    assert!(!names.iter().any(|n| n.contains("root.next")), "{names:?}");
}

#[test]
fn twenty_jails_upgrade_four_at_a_time_stay_thin_and_one_conflict_fails_alone() {
    let server = update_server();
    let sim = fetched(server.path());
    let names: Vec<String> = (1..=20).map(|n| format!("j{n:02}")).collect();
    for n in &names {
        sim.brig(&["create", n, "--release", RELEASE]).ok();
        std::fs::write(root_file(&sim, n, "etc/app.conf"), format!("name={n}\n")).expect("write");
    }
    std::fs::write(root_file(&sim, "j07", "etc/motd"), "j07's own motd\n").expect("write");
    sim.brig(&["release", "update", RELEASE]).ok();
    let outdated = |sim: &Sim| -> Vec<String> {
        let j = sim.brig(&["list", "--outdated", "--json"]).json();
        let jails = j["jails"].as_array().cloned().unwrap_or_default();
        jails.iter().map(|r| r["name"].as_str().unwrap_or_default().to_string()).collect()
    };
    assert_eq!(outdated(&sim), names);

    let r = sim.brig(&["upgrade", "--all", "--jobs", "4"]);
    r.fails(1);
    assert!(r.stdout.contains("19 upgraded, 0 unchanged, 1 failed and left as they were"), "{}", r.stdout);
    assert!(
        r.stderr.contains("brig: jail j07: jail j07 was left as it was: its changes to etc/motd clash"),
        "{}",
        r.stderr
    );
    assert_eq!(outdated(&sim), ["j07"]);
    let h = sim.host();
    for n in names.iter().filter(|n| *n != "j07") {
        let root = format!("zroot/brig/jails/{n}/root");
        let p = h.zfs_get(&root, &["origin", "used", "referenced"]).expect("get");
        assert_eq!(p["origin"], format!("{RELEASES}@p5"), "{n}");
        // Thin: its own changes only (app.conf, rc.conf's hostname and the
        // files create copied in), not the release.
        let (used, referenced): (u64, u64) = (p["used"].parse().expect("used"), p["referenced"].parse().expect("ref"));
        assert!(used * 2 < referenced, "{n}: used {used} of {referenced}");
        assert_eq!(std::fs::read_to_string(root_file(&sim, n, "etc/app.conf")).expect("read"), format!("name={n}\n"));
    }
    assert_eq!(
        h.zfs_get("zroot/brig/jails/j07/root", &["origin"]).expect("get")["origin"],
        format!("{RELEASES}@base"),
        "j07 as it was"
    );
}

#[test]
fn a_release_newer_than_the_kernel_is_refused_before_anything() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let r = sim.brig(&["release", "fetch", "15.0-RELEASE", "--from", "/nonexistent"]);
    r.fails(1);
    assert!(r.stderr.contains("release 15.0-RELEASE is newer than this host's kernel (14.3-RELEASE)"), "{}", r.stderr);
}

/// A pkg(8) for BRIG_PKG that logs its arguments and exits with the
/// status in the file `status` beside it (0 when there is none).
pub fn fake_pkg() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    let script = d.path().join("pkg");
    let log = d.path().join("log");
    let status = d.path().join("status");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" >> {log:?}\necho pkg said no >&2\n[ -f {status:?} ] && exit \"$(cat {status:?})\"\nexit 0\n"
        ),
    )
    .expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    d
}

#[test]
fn brig_pkg_runs_the_hosts_pkg_on_a_running_jail_and_gives_its_status() {
    crate::common::needs_jail_processes!();
    let pkg = fake_pkg();
    let program = pkg.path().join("pkg").display().to_string();
    let env = [("BRIG_PKG", program.as_str())];
    let sim = upgradable();
    let r = sim.brig_env(&["pkg", "box", "--", "install", "-y", "nginx"], &env);
    r.fails(1);
    assert!(r.stderr.contains("jail box is not running; start it first"), "{}", r.stderr);
    sim.brig(&["start", "box"]).ok();
    let jid = sim.host().jail_find("box").expect("get").expect("running").jid;
    sim.brig_env(&["pkg", "box", "--", "install", "-y", "nginx"], &env).ok();
    std::fs::write(pkg.path().join("status"), "3").expect("write");
    sim.brig_env(&["pkg", "box", "--", "info"], &env).fails(3);
    let log = std::fs::read_to_string(pkg.path().join("log")).expect("log");
    assert_eq!(log, format!("-j {jid} install -y nginx\n-j {jid} info\n"));
}

#[test]
fn packages_upgrade_after_the_base_and_a_failure_takes_the_base_back_too() {
    crate::common::needs_jail_processes!();
    let pkg = fake_pkg();
    let program = pkg.path().join("pkg").display().to_string();
    let env = [("BRIG_PKG", program.as_str())];
    let sim = upgradable_running();
    let r = sim.brig_env(&["upgrade", "box", "--restart", "--packages"], &env);
    r.ok();
    assert!(r.stdout.contains("its packages upgraded"), "{}", r.stdout);
    assert!(std::fs::read_to_string(pkg.path().join("log")).expect("log").contains("upgrade -y"));
    sim.brig(&["upgrade", "--rollback", "box", "--restart"]).ok();

    let snapshots = |sim: &Sim| -> Vec<String> {
        sim.host().zfs_list("zroot/brig/jails/box", &[]).expect("list").into_iter().map(|d| d.name).collect()
    };
    let before = snapshots(&sim);
    std::fs::write(pkg.path().join("status"), "1").expect("write");
    let r = sim.brig_env(&["upgrade", "box", "--restart", "--packages"], &env);
    r.fails(1);
    assert!(
        r.stderr.contains("pkg upgrade failed for the packages of jail box: pkg said no (exit status 1)"),
        "{}",
        r.stderr
    );
    assert_eq!(origin(&sim, "box"), format!("{RELEASES}@base"), "the base taken back");
    assert!(sim.host().jail_find("box").expect("get").is_some(), "running again");
    assert_eq!(snapshots(&sim), before, "no snapshot of the failed upgrade left");
}

#[test]
fn hard_links_and_fifos_of_a_jail_survive_an_upgrade_and_sockets_are_left_to_their_programs() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let server = update_server();
    let sim = fetched(server.path());
    sim.brig(&["create", "web", "--release", RELEASE]).ok();
    let bin = root_file(&sim, "web", "usr/local/bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    std::fs::write(bin.join("tool"), "tool\n").expect("write");
    std::fs::hard_link(bin.join("tool"), bin.join("tool-alias")).expect("link");
    // A second name in a directory of the release: found by the walk.
    std::fs::hard_link(bin.join("tool"), root_file(&sim, "web", "etc/tool.lnk")).expect("link");
    let run = root_file(&sim, "web", "var/run");
    std::fs::create_dir_all(&run).expect("mkdir");
    nix::unistd::mkfifo(&run.join("fifo"), nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    drop(std::os::unix::net::UnixListener::bind(run.join("sock")).expect("bind"));
    sim.brig(&["release", "update", RELEASE]).ok();
    sim.brig(&["upgrade", "web"]).ok();
    let ino = |p: &Path| std::fs::symlink_metadata(p).expect("stat").ino();
    assert_eq!(ino(&bin.join("tool")), ino(&bin.join("tool-alias")), "one file, two names");
    assert_eq!(ino(&bin.join("tool")), ino(&root_file(&sim, "web", "etc/tool.lnk")));
    assert_eq!(std::fs::read_to_string(bin.join("tool-alias")).expect("read"), "tool\n");
    assert!(std::fs::symlink_metadata(run.join("fifo")).expect("fifo").file_type().is_fifo());
    assert!(!run.join("sock").exists(), "a socket is its program's to make again");
    assert_eq!(origin(&sim, "web"), format!("{RELEASES}@p5"));
}

#[test]
fn a_snapshot_after_the_newest_level_is_refused_before_anything() {
    let server = update_server();
    let sim = fetched(server.path());
    sim.host().zfs_snapshot(&[&format!("{RELEASES}@hourly")]).expect("snapshot");
    let r = sim.brig(&["release", "update", RELEASE]);
    r.fails(1);
    assert!(
        r.stderr.contains(&format!("release 14.3-RELEASE has {RELEASES}@hourly taken after its newest level")),
        "{}",
        r.stderr
    );
    assert!(sim.host().zfs_get("zroot/brig/releases/updating-14.3-RELEASE", &["type"]).is_err(), "nothing made");
}

#[test]
fn an_interrupted_update_holds_the_release_until_update_finishes_it() {
    let sim = outdated_release();
    // Killed once the clone was promoted, before it took the name.
    let r = sim.brig_env(&["release", "update", RELEASE], &[("BRIG_SIM_FAIL", "zfs_rename:1:abort")]);
    assert_eq!(r.code, None, "{}", r.stderr);
    let blocked = sim.brig(&["create", "other", "--release", RELEASE]);
    blocked.fails(1);
    assert!(
        blocked.stderr.contains("an update of release 14.3-RELEASE did not finish (zroot/brig/releases/updating-14.3-RELEASE is left); run `brig release update 14.3-RELEASE`"),
        "{}",
        blocked.stderr
    );
    let again = sim.brig(&["release", "update", RELEASE]);
    again.ok();
    assert!(
        again.stderr.contains("an update of 14.3-RELEASE that was killed half-way was finished"),
        "{}",
        again.stderr
    );
    assert!(again.stdout.contains("release 14.3-RELEASE is up to date (14.3-RELEASE-p5)"), "{}", again.stdout);
    sim.brig(&["create", "other", "--release", RELEASE]).ok();
    assert_eq!(origin(&sim, "box"), format!("{RELEASES}@base"), "the jail's origin followed the promotion");
    assert_eq!(origin(&sim, "other"), format!("{RELEASES}@p5"));
}

#[test]
fn upgrade_all_leaves_empty_jails_alone_and_refuses_one_named() {
    let server = update_server();
    let sim = fetched(server.path());
    sim.brig(&["create", "web", "--release", RELEASE]).ok();
    sim.brig(&["create", "bare", "--type", "empty"]).ok();
    sim.brig(&["release", "update", RELEASE]).ok();
    let r = sim.brig(&["upgrade", "--all"]);
    r.ok();
    assert!(r.stdout.contains("upgraded jail web"), "{}", r.stdout);
    assert!(!r.stdout.contains("bare") && !r.stderr.contains("bare"), "{}{}", r.stdout, r.stderr);
    let named = sim.brig(&["upgrade", "bare"]);
    named.fails(1);
    assert!(
        named.stderr.contains("jail bare is not cloned from or copied from a release brig fetched"),
        "{}",
        named.stderr
    );
}

#[test]
fn a_thick_jail_is_updated_in_place_rolled_back_on_failure_and_on_request() {
    let server = update_server();
    let sim = fetched(server.path());
    sim.brig(&["create", "fat", "--release", RELEASE, "--type", "thick"]).ok();
    std::fs::write(root_file(&sim, "fat", "etc/app.conf"), "mine\n").expect("write");
    sim.brig(&["release", "update", RELEASE]).ok();
    let read = |rel: &str| std::fs::read_to_string(root_file(&sim, "fat", rel)).unwrap_or_default();

    // The server gone: freebsd-update fails, the root is as it was.
    let config = sim.path().join("sim.toml");
    let with_server = std::fs::read_to_string(&config).expect("sim.toml");
    sim.configure(|t| t.lines().filter(|l| !l.starts_with("update_server")).collect::<Vec<_>>().join("\n"));
    let r = sim.brig(&["upgrade", "fat"]);
    r.fails(1);
    assert!(
        r.stderr.contains("freebsd-update failed for jail fat: Looking up update.FreeBSD.org mirrors"),
        "{}",
        r.stderr
    );
    assert_eq!(read("bin/sh"), "sh p2\n");
    let snaps = |sim: &Sim| -> Vec<String> {
        sim.host().zfs_list("zroot/brig/jails/fat", &[]).expect("list").into_iter().map(|d| d.name).collect()
    };
    assert!(!snaps(&sim).iter().any(|n| n.contains("@upgrade-")), "{:?}", snaps(&sim));

    std::fs::write(&config, with_server).expect("sim.toml");
    let r = sim.brig(&["upgrade", "fat"]);
    r.ok();
    assert!(r.stdout.contains("upgraded jail fat: 14.3-RELEASE-p2 -> 14.3-RELEASE-p5"), "{}", r.stdout);
    assert_eq!(read("bin/sh"), "sh p5\n");
    assert_eq!(read("etc/app.conf"), "mine\n");

    let back = sim.brig(&["upgrade", "--rollback", "fat"]);
    back.ok();
    assert!(back.stdout.contains("rolled back jail fat: it is on 14.3-RELEASE-p2 again"), "{}", back.stdout);
    assert_eq!(read("bin/sh"), "sh p2\n");
    assert_eq!(read("etc/app.conf"), "mine\n");
}
