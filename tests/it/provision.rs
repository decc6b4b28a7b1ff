//! `brig provision` against the sim: steps really run in the chrooted
//! jail (the test userland's sh), layers cached and shared, a changed
//! step re-running only itself and what follows it.

use std::path::Path;

use brig::host::Host;

use crate::common::Sim;

pub const RELEASE: &str = "14.3-RELEASE";

/// The test release (the test userland, a bootable /etc/rc), built once.
fn mirror() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().expect("tempdir");
        crate::userland::release(crate::common::userland(), d.path()).unwrap_or_else(|e| panic!("{e}"));
        d
    })
    .path()
}

/// An initialised sim with the test release fetched.
pub fn released() -> Sim {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim.brig(&["release", "fetch", RELEASE, "--from", &mirror().display().to_string()]).ok();
    sim
}

/// Six steps: a copy, a render, rc.conf, and three commands that leave
/// their mark in /steps.log (the last one only once, by `creates`).
pub const SIX: &str = r#"release = "14.3-RELEASE"

[vars]
port = 8080

[[provision]]
copy = { from = "files/motd", to = "/etc/motd.brig", mode = "0640" }

[[provision]]
render = { template = "files/site.conf.in", to = "/usr/local/etc/site.conf" }

[[provision]]
sysrc = { web_enable = true }

[[provision]]
run = "echo four >> /steps.log"

[[provision]]
run = "echo five >> /steps.log"

[[provision]]
run = "echo six >> /steps.log; mkdir /srv"
creates = "/srv"
"#;

/// Jail `name` defined by `text`, with the files its steps copy.
pub fn define(sim: &Sim, name: &str, text: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join(format!("{name}.toml"));
    std::fs::write(&file, text).expect("write");
    sim.brig(&["create", name, "--from", &file.display().to_string()]).ok();
    let files = sim.file(&format!("/usr/local/etc/brig/jails/{name}/files"));
    std::fs::create_dir_all(&files).expect("mkdir");
    std::fs::write(files.join("motd"), "welcome\n").expect("write");
    std::fs::write(files.join("site.conf.in"), "listen {{ port }};\n").expect("write");
}

/// Rewrites jail `name`'s definition.
fn redefine(sim: &Sim, name: &str, text: &str) {
    std::fs::write(sim.file(&format!("/usr/local/etc/brig/jails/{name}.toml")), text).expect("write");
}

fn root_file(sim: &Sim, name: &str, rel: &str) -> String {
    std::fs::read_to_string(sim.file(&format!("/usr/local/brig/jails/{name}/root/{rel}"))).unwrap_or_default()
}

/// (steps, cached, ran) of `brig provision NAME --json`.
fn provision(sim: &Sim, name: &str) -> (u64, u64, u64) {
    let j = sim.brig(&["provision", name, "--json"]).ok().json();
    let n = |k: &str| j[k].as_u64().unwrap_or_else(|| panic!("{k} in {j}"));
    (n("steps"), n("cached"), n("ran"))
}

/// `box` of the test release, defined with the six steps.
pub fn six_steps() -> Sim {
    let sim = released();
    define(&sim, "box", SIX);
    sim
}

#[test]
fn six_steps_run_once_a_changed_fourth_reruns_from_there_and_a_second_jail_runs_none() {
    crate::common::needs_jail_processes!();
    let sim = six_steps();
    let r = sim.brig(&["provision", "box"]);
    r.ok();
    assert!(r.stdout.contains("box: step 4/6 "), "{}", r.stdout);
    assert!(r.stdout.contains("box.toml:16: run echo four >> /steps.log: ok"), "{}", r.stdout);
    assert_eq!(root_file(&sim, "box", "steps.log"), "four\nfive\nsix\n");
    assert_eq!(root_file(&sim, "box", "etc/motd.brig"), "welcome\n");
    assert_eq!(root_file(&sim, "box", "usr/local/etc/site.conf"), "listen 8080;\n");
    assert!(root_file(&sim, "box", "etc/rc.conf").contains("web_enable=\"YES\""));
    assert_eq!(sim.host().jail_find("box").expect("get"), None, "left running");
    // Nothing changed: nothing runs.
    assert_eq!(provision(&sim, "box"), (6, 6, 0));

    let changed = SIX.replace("echo four", "echo FOUR");
    redefine(&sim, "box", &changed);
    assert_eq!(provision(&sim, "box"), (6, 3, 3));
    // From the layer after step 3: the first run's lines are gone.
    assert_eq!(root_file(&sim, "box", "steps.log"), "FOUR\nfive\nsix\n");

    define(&sim, "other", &changed);
    assert_eq!(provision(&sim, "other"), (6, 6, 0));
    assert_eq!(root_file(&sim, "other", "steps.log"), "FOUR\nfive\nsix\n");
    // Its own hostname, not the jail's the layer was made in.
    let rc = root_file(&sim, "other", "etc/rc.conf");
    assert!(rc.contains("hostname=\"other\"") && rc.contains("web_enable"), "{rc}");
    // A step whose file differs by jail runs again from there.
    let files = sim.file("/usr/local/etc/brig/jails/third/files");
    define(&sim, "third", &changed);
    std::fs::write(files.join("site.conf.in"), "server_name {{ jail.hostname }};\n").expect("write");
    assert_eq!(provision(&sim, "third"), (6, 1, 5));
    assert_eq!(root_file(&sim, "third", "usr/local/etc/site.conf"), "server_name third;\n");
    // --no-cache runs everything again.
    assert_eq!(provision_no_cache(&sim, "other"), (6, 0, 6));
    // Both jails are independent of each other: either can go.
    sim.brig(&["destroy", "box"]).ok();
    assert_eq!(root_file(&sim, "other", "steps.log"), "FOUR\nfive\nsix\n");
}

fn provision_no_cache(sim: &Sim, name: &str) -> (u64, u64, u64) {
    let j = sim.brig(&["provision", name, "--no-cache", "--json"]).ok().json();
    (j["steps"].as_u64().unwrap_or(0), j["cached"].as_u64().unwrap_or(0), j["ran"].as_u64().unwrap_or(0))
}

#[test]
fn a_failed_step_names_its_line_and_keeps_the_last_good_layer() {
    crate::common::needs_jail_processes!();
    let sim = six_steps();
    sim.brig(&["provision", "box"]).ok();
    redefine(&sim, "box", &SIX.replace("echo five >> /steps.log", "echo broken >> /steps.log; exit 3"));
    let r = sim.brig(&["provision", "box"]);
    r.fails(1);
    assert!(r.stderr.contains("box.toml:19: step 5/6 of jail box (run echo broken"), "{}", r.stderr);
    assert!(r.stderr.contains("exited with status 3"), "{}", r.stderr);
    assert_eq!(root_file(&sim, "box", "steps.log"), "four\n");
    assert_eq!(sim.host().jail_find("box").expect("get"), None, "left running");
    // Fixed, it goes on from the layer after step 4.
    redefine(&sim, "box", SIX);
    assert_eq!(provision(&sim, "box"), (6, 6, 0));
    assert_eq!(root_file(&sim, "box", "steps.log"), "four\nfive\nsix\n");
}

#[test]
fn a_missing_file_is_named_before_anything_runs() {
    let sim = six_steps();
    std::fs::remove_file(sim.file("/usr/local/etc/brig/jails/box/files/motd")).expect("rm");
    let r = sim.brig(&["provision", "box"]);
    r.fails(1);
    assert!(r.stderr.contains("box.toml:7: the step's file"), "{}", r.stderr);
    assert!(r.stderr.contains("jails/box/files/motd"), "{}", r.stderr);
    let snaps: Vec<String> =
        sim.host().zfs_list("zroot/brig/jails/box/root", &[]).expect("list").into_iter().map(|d| d.name).collect();
    assert_eq!(snaps, ["zroot/brig/jails/box/root"]);
}

#[test]
fn plan_shows_which_steps_would_run_and_validate_names_a_missing_file() {
    let sim = six_steps();
    let r = sim.brig(&["plan", "box"]);
    r.ok();
    assert!(r.stdout.contains("provision step 4/6 "), "{}", r.stdout);
    assert!(r.stdout.contains("box.toml:16: run echo four >> /steps.log: would run"), "{}", r.stdout);
    assert!(r.stdout.contains("`brig provision box` runs 6 of its 6 steps"), "{}", r.stdout);
    let j = sim.brig(&["plan", "box", "--json"]).ok().json();
    assert_eq!(j["jails"][0]["provision"]["steps"].as_array().map(Vec::len), Some(6));
    sim.brig(&["validate", "box"]).ok();
    std::fs::remove_file(sim.file("/usr/local/etc/brig/jails/box/files/motd")).expect("rm");
    let r = sim.brig(&["validate", "box"]);
    r.fails(2);
    assert!(
        r.stdout.contains("box.toml:7: the step's file") || r.stderr.contains("box.toml:7: the step's file"),
        "{} {}",
        r.stdout,
        r.stderr
    );
}

#[test]
fn provision_on_create_runs_at_the_first_start_only() {
    crate::common::needs_jail_processes!();
    let sim = released();
    define(&sim, "box", &SIX.replace("[vars]", "provision_on_create = true\n\n[vars]"));
    let r = sim.brig(&["start", "box"]);
    r.ok();
    assert!(r.stdout.contains("box: step 6/6 "), "{}", r.stdout);
    assert!(sim.host().jail_find("box").expect("get").is_some(), "not running");
    assert_eq!(root_file(&sim, "box", "steps.log"), "four\nfive\nsix\n");
    sim.brig(&["stop", "box"]).ok();
    let again = sim.brig(&["start", "box"]);
    assert!(!again.ok().stdout.contains("step"), "{}", again.stdout);
    assert_eq!(root_file(&sim, "box", "steps.log"), "four\nfive\nsix\n");
}

fn image_users(sim: &Sim) -> serde_json::Value {
    sim.brig(&["image", "list", "--json"]).ok().json()
}

#[test]
fn a_committed_jail_is_an_image_that_create_clones_thin_and_destroy_refuses_while_used() {
    let sim = released();
    sim.brig(&["create", "box", "--release", RELEASE]).ok();
    std::fs::write(sim.file("/usr/local/brig/jails/box/root/etc/app.conf"), "mine\n").expect("write");
    sim.brig(&["snapshot", "box", "mine"]).ok();
    let r = sim.brig(&["commit", "box", "web"]);
    r.fails(1);
    assert!(r.stderr.contains("jail box's root has snapshots (mine)"), "{}", r.stderr);
    sim.brig(&["snapshot", "destroy", "box", "mine"]).ok();
    let r = sim.brig(&["commit", "box", "web"]);
    assert!(r.ok().stdout.contains("committed jail box as image web"), "{}", r.stdout);
    sim.brig(&["commit", "box", "web"]).fails(1);

    sim.brig(&["create", "app", "--image", "web"]).ok();
    assert_eq!(root_file(&sim, "app", "etc/app.conf"), "mine\n");
    let def = std::fs::read_to_string(sim.file("/usr/local/etc/brig/jails/app.toml")).expect("definition");
    assert!(def.contains("release = \"14.3-RELEASE\"") && def.contains("image = \"web\""), "{def}");
    let origin = |j: &str| {
        sim.host().zfs_get(&format!("zroot/brig/jails/{j}/root"), &["origin"]).expect("get")["origin"].clone()
    };
    assert_eq!(origin("app"), "zroot/brig/images/web@base");
    assert_eq!(origin("box"), "zroot/brig/images/web@base");
    let l = image_users(&sim);
    assert_eq!(l["images"][0]["name"], "web");
    assert_eq!(l["images"][0]["release"], RELEASE);
    assert_eq!(l["images"][0]["used_by"], serde_json::json!(["jail app", "jail box"]));

    let r = sim.brig(&["image", "destroy", "web"]);
    r.fails(1);
    assert!(r.stderr.contains("image web is in use by jail app, jail box"), "{}", r.stderr);
    sim.brig(&["create", "bad", "--image", "nope"]).fails(1);
    sim.brig(&["destroy", "app"]).ok();
    sim.brig(&["destroy", "box"]).ok();
    sim.brig(&["image", "destroy", "web"]).ok();
    assert_eq!(image_users(&sim)["images"], serde_json::json!([]));
}

#[test]
fn cached_layers_are_listed_with_their_users_and_pruned_once_unused() {
    crate::common::needs_jail_processes!();
    let sim = six_steps();
    sim.brig(&["provision", "box"]).ok();
    define(&sim, "other", SIX);
    sim.brig(&["provision", "other"]).ok();
    let l = image_users(&sim);
    assert_eq!(l["layers"].as_array().map(Vec::len), Some(1), "{l}");
    assert_eq!(l["layers"][0]["base"], RELEASE);
    assert_eq!(l["layers"][0]["used_by"], serde_json::json!(["jail box", "jail other"]));
    assert!(sim.brig(&["image", "prune"]).ok().stdout.contains("destroyed 0 unused cached layers"));
    sim.brig(&["destroy", "box"]).ok();
    sim.brig(&["destroy", "other"]).ok();
    let r = sim.brig(&["image", "prune", "--dry-run"]);
    assert!(r.ok().stdout.contains("would destroy 1 unused cached layer"), "{}", r.stdout);
    sim.brig(&["image", "prune"]).ok();
    assert_eq!(image_users(&sim)["layers"], serde_json::json!([]));
    // The release has nothing cloned from it left.
    sim.brig(&["release", "destroy", RELEASE]).ok();
}

/// Nothing of `brig run` is left: no jail, definition, dataset or record.
#[track_caller]
fn nothing_left(sim: &Sim) {
    assert_eq!(sim.host().jail_list().expect("jails"), Vec::new());
    assert_eq!(crate::common::tree(&sim.file("/usr/local/etc/brig/jails")), Vec::<String>::new());
    assert_eq!(crate::common::tree(&sim.file("/var/db/brig/runs")), Vec::<String>::new());
    let left: Vec<String> =
        sim.host().zfs_list("zroot/brig/jails", &[]).expect("list").into_iter().map(|d| d.name).collect();
    assert_eq!(left, ["zroot/brig/jails"]);
}

#[test]
fn brig_run_gives_the_commands_status_and_output_and_leaves_nothing() {
    crate::common::needs_jail_processes!();
    let sim = released();
    let r = sim.brig(&["run", "--release", RELEASE, "--rm", "--", "/bin/sh", "-c", "echo inside; exit 7"]);
    assert_eq!(r.code, Some(7), "{}", r.stderr);
    assert_eq!(r.stdout, "inside\n");
    nothing_left(&sim);
    // Without --rm the jail stays, stopped.
    let r = sim.brig(&["run", "--release", RELEASE, "--name", "kept", "--", "/bin/sh", "-c", "echo hi > /left"]);
    r.ok();
    assert!(r.stderr.contains("jail kept is kept, stopped"), "{}", r.stderr);
    assert_eq!(root_file(&sim, "kept", "left"), "hi\n");
    assert_eq!(sim.host().jail_find("kept").expect("get"), None);
    sim.brig(&["run", "--release", RELEASE, "--name", "kept", "--", "/bin/true"]).fails(1);
    sim.brig(&["destroy", "kept"]).ok();
    sim.brig(&["run", "--release", "13.0-RELEASE", "--rm", "--", "/bin/true"]).fails(1);
    sim.brig(&["run", "--rm", "--", "/bin/true"]).fails(2);
    nothing_left(&sim);
}

#[test]
fn a_killed_brig_run_is_cleaned_up_by_the_next() {
    crate::common::needs_jail_processes!();
    let sim = released();
    let r = sim.brig_env(
        &["run", "--release", RELEASE, "--rm", "--name", "box", "--", "/bin/true"],
        &[("BRIG_SIM_FAIL", "spawn:1:abort")],
    );
    assert_eq!(r.code, None, "{}", r.stderr);
    assert!(sim.host().jail_find("box").expect("get").is_some(), "the kill left the jail running");
    let r = sim.brig(&["run", "--release", RELEASE, "--rm", "--", "/bin/true"]);
    r.ok();
    assert!(r.stderr.contains("jail box, left by `brig run`"), "{}", r.stderr);
    nothing_left(&sim);
}

#[test]
fn a_snapshot_of_the_users_after_the_last_layer_is_never_destroyed() {
    crate::common::needs_jail_processes!();
    let sim = six_steps();
    sim.brig(&["create", "solo", "--release", RELEASE, "--type", "thick"]).ok();
    // A thick jail keeps its layers: a snapshot of the user's after them.
    let text = SIX.replace("release = \"14.3-RELEASE\"", "release = \"14.3-RELEASE\"\ntype = \"thick\"");
    redefine(&sim, "solo", &text);
    let files = sim.file("/usr/local/etc/brig/jails/solo/files");
    std::fs::create_dir_all(&files).expect("mkdir");
    std::fs::write(files.join("motd"), "welcome\n").expect("write");
    std::fs::write(files.join("site.conf.in"), "x\n").expect("write");
    sim.brig(&["provision", "solo"]).ok();
    sim.brig(&["snapshot", "solo", "mine"]).ok();
    redefine(&sim, "solo", &text.replace("echo four", "echo FOUR"));
    let r = sim.brig(&["provision", "solo"]);
    r.fails(1);
    assert!(r.stderr.contains("jail solo's root has snapshots of its own (mine)"), "{}", r.stderr);
    sim.brig(&["snapshot", "destroy", "solo", "mine"]).ok();
    let j = sim.brig(&["provision", "solo", "--json"]).ok().json();
    assert_eq!((j["cached"].as_u64(), j["ran"].as_u64(), j["published"].is_null()), (Some(3), Some(3), true));
}

#[test]
fn the_shipped_templates_bring_their_files_and_plan_their_steps() {
    let sim = released();
    sim.brig(&["create", "web", "--template", "nginx", "--release", RELEASE, "--set", "vars.port=8080"]).ok();
    let conf = std::fs::read_to_string(sim.file("/usr/local/etc/brig/jails/web/files/nginx.conf.in")).expect("file");
    assert!(conf.contains("listen {{ port }};"), "{conf}");
    let r = sim.brig(&["plan", "web"]);
    assert!(r.ok().stdout.contains("provision step 1/5 "), "{}", r.stdout);
    assert!(r.stdout.contains("pkg nginx: would run"), "{}", r.stdout);
    sim.brig(&["validate", "web"]).ok();
    sim.brig(&["create", "db", "--template", "postgresql", "--release", RELEASE]).ok();
    let init = sim.file("/usr/local/etc/brig/jails/db/files/pginit");
    assert!(std::fs::read_to_string(&init).expect("pginit").contains("oneinitdb"));
    sim.brig(&["create", "dns", "--template", "unbound", "--release", RELEASE]).ok();
    // A file of another content where a template's goes is not replaced.
    std::fs::create_dir_all(sim.file("/usr/local/etc/brig/jails/web2/files")).expect("mkdir");
    std::fs::write(sim.file("/usr/local/etc/brig/jails/web2/files/index.html"), "mine\n").expect("write");
    let r = sim.brig(&["create", "web2", "--template", "nginx", "--release", RELEASE]);
    r.fails(1);
    assert!(r.stderr.contains("index.html exists with other contents"), "{}", r.stderr);
    assert!(!sim.file("/usr/local/etc/brig/jails/web2.toml").exists());
    assert!(!sim.file("/usr/local/etc/brig/jails/web2/files/nginx.conf.in").exists());
    let list = sim.brig(&["template", "list"]);
    for t in ["nginx", "postgresql", "tenant", "unbound"] {
        assert!(list.ok().stdout.contains(t), "{}", list.stdout);
    }
}

/// The jail's own repository configuration, as FreeBSD.conf has it, and
/// the key it names, for the sim's pkg server at `server`.
fn jail_repository(sim: &Sim, server: &std::path::Path) {
    let key = crate::pkgrepo::key(9);
    let pkgs = [crate::pkgrepo::package("nginx", "FreeBSD:14:amd64", "/usr/local/sbin/nginx", b"nginx\n")];
    crate::pkgrepo::publish_at(&server.join("FreeBSD:14:amd64/quarterly"), &pkgs, &key, false);
    sim.configure(|t| format!("pkg_server = {:?}\n{t}", server.display().to_string()));
    let files = sim.file("/usr/local/etc/brig/jails/box/files");
    std::fs::create_dir_all(&files).expect("mkdir");
    std::fs::write(
        files.join("FreeBSD.conf"),
        "FreeBSD: {\n  url: \"pkg+https://pkg.FreeBSD.org/${ABI}/quarterly\",\n  signature_type: \"fingerprints\",\n  fingerprints: \"/usr/share/keys/pkg\",\n  enabled: yes\n}\n",
    )
    .expect("write");
    // trust() lays a machine's pkgbase keys out; the step copies the one.
    crate::pkgrepo::trust(&files.join("trusted"), &key);
}

#[test]
fn a_pkg_step_installs_from_the_jails_own_repository_and_its_failure_is_the_steps() {
    crate::common::needs_jail_processes!();
    let server = tempfile::tempdir().expect("tempdir");
    let sim = released();
    let text = "release = \"14.3-RELEASE\"\n\n[[provision]]\ncopy = { from = \"files/FreeBSD.conf\", to = \"/etc/pkg/FreeBSD.conf\" }\n\n[[provision]]\ncopy = { from = \"files/trusted/usr/share/keys/pkgbase-15/trusted/test-15\", to = \"/usr/share/keys/pkg/trusted/test\" }\n\n[[provision]]\npkg = [\"nginx\"]\n";
    define(&sim, "box", text);
    jail_repository(&sim, server.path());
    let j = sim.brig(&["provision", "box", "--json"]).ok().json();
    assert_eq!(j["ran"], 3, "{j}");
    assert_eq!(root_file(&sim, "box", "usr/local/sbin/nginx"), "nginx\n");
    // A package the repository does not have: pkg's words, at the step.
    redefine(&sim, "box", &text.replace("[\"nginx\"]", "[\"nginx\", \"apache24\"]"));
    let r = sim.brig(&["provision", "box"]);
    r.fails(1);
    assert!(r.stderr.contains("box.toml:10: step 3/3 of jail box (pkg nginx apache24) failed: pkg: No packages available to install matching 'apache24'"), "{}", r.stderr);
}

#[test]
fn a_mount_step_serves_the_steps_after_it_and_is_gone_afterwards() {
    crate::common::needs_jail_processes!();
    let sim = released();
    std::fs::create_dir_all(sim.file("/srv/cache")).expect("mkdir");
    // The sim records mounts without showing them to the jail's
    // processes: the step after sees the mount point, the host the mount.
    let text = "release = \"14.3-RELEASE\"\n\n[[provision]]\nmount = { source = \"/srv/cache\", target = \"/mnt/cache\", readonly = true }\n\n[[provision]]\nrun = \"test -d /mnt/cache && echo seen > /copied\"\n";
    define(&sim, "box", text);
    sim.brig(&["debug", "sim-stats", "--reset"]).ok();
    sim.brig(&["provision", "box"]).ok();
    assert_eq!(root_file(&sim, "box", "copied"), "seen\n");
    let ops = sim.brig(&["debug", "sim-stats", "--json"]).ok().json()["ops"].clone();
    assert_eq!((ops["mount"].as_u64(), ops["unmount"].as_u64().map(|n| n >= 1)), (Some(2), Some(true)), "{ops}");
    let mounts = sim.host().mounts().expect("mounts");
    assert!(mounts.iter().all(|m| !m.target.ends_with("mnt/cache")), "{mounts:?}");
    assert_eq!(sim.host().jail_find("box").expect("get"), None);
}

#[test]
fn brig_run_never_removes_what_it_did_not_make() {
    let sim = released();
    sim.host().zfs_create("zroot/brig/jails/orphan", &[]).expect("create");
    let r = sim.brig(&["run", "--release", RELEASE, "--rm", "--name", "orphan", "--", "/bin/true"]);
    r.fails(1);
    assert!(sim.host().zfs_get("zroot/brig/jails/orphan", &["origin"]).is_ok(), "the orphan went: {}", r.stderr);
    // A record that does not read names nothing brig removes.
    sim.brig(&["create", "box", "--release", RELEASE]).ok();
    std::fs::create_dir_all(sim.file("/var/db/brig/runs")).expect("mkdir");
    std::fs::write(sim.file("/var/db/brig/runs/box.json"), "garbage").expect("write");
    let r = sim.brig(&["run", "--release", RELEASE, "--rm", "--", "/bin/true"]);
    assert!(r.stderr.contains("box.json does not read; jail box is left as it is"), "{}", r.stderr);
    assert!(sim.file("/usr/local/etc/brig/jails/box.toml").exists());
    // A destroyed jail's record goes with it; a new jail of the name is safe.
    std::fs::write(sim.file("/var/db/brig/runs/box.json"), "{\"pid\": 999999999, \"rm\": true}").expect("write");
    sim.brig(&["destroy", "box"]).ok();
    assert!(!sim.file("/var/db/brig/runs/box.json").exists());
}

#[test]
fn create_from_a_file_brings_the_directory_beside_it_and_plan_names_a_missing_file_alone() {
    let sim = released();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("box.toml"), SIX).expect("write");
    std::fs::create_dir_all(dir.path().join("box/files")).expect("mkdir");
    std::fs::write(dir.path().join("box/files/motd"), "welcome\n").expect("write");
    std::fs::write(dir.path().join("box/files/site.conf.in"), "x\n").expect("write");
    sim.brig(&["validate", &dir.path().join("box.toml").display().to_string()]).ok();
    sim.brig(&["create", "box", "--from", &dir.path().join("box.toml").display().to_string()]).ok();
    let copied = std::fs::read_to_string(sim.file("/usr/local/etc/brig/jails/box/files/motd")).expect("copied");
    assert_eq!(copied, "welcome\n");
    define(&sim, "other", SIX);
    std::fs::remove_file(sim.file("/usr/local/etc/brig/jails/other/files/motd")).expect("rm");
    let r = sim.brig(&["plan"]);
    r.fails(1);
    assert!(r.stdout.contains("box (stopped):"), "{}", r.stdout);
    assert!(r.stderr.contains("other.toml:7: the step's file"), "{}", r.stderr);
}

#[test]
fn plan_of_provision_steps_is_golden() {
    let sim = six_steps();
    let dir = sim.path().display().to_string();
    let shown = |s: &str| keyless(&s.replace(&dir, "{SIM}"));
    crate::common::golden("plan-provision.txt", &shown(&sim.brig(&["plan", "box"]).ok().stdout));
    // A changed fourth step after a run: a fresh clone of the cached
    // layer after the third takes the root's place.
    crate::common::needs_jail_processes!();
    sim.brig(&["provision", "box"]).ok();
    redefine(&sim, "box", &SIX.replace("echo four", "echo FOUR"));
    crate::common::golden("plan-reprovision.txt", &shown(&sim.brig(&["plan", "box"]).ok().stdout));
}

/// `s` with each layer name (`l-` and 24 hex digits, which hash the
/// steps) written `l-KEY`.
fn keyless(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("l-") {
        let key = rest.get(i + 2..i + 26).filter(|k| k.bytes().all(|b| b.is_ascii_hexdigit()));
        out.push_str(&rest[..i + 2]);
        rest = &rest[i + 2..];
        if key.is_some() {
            out.push_str("KEY");
            rest = &rest[24..];
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn an_image_travels_as_an_archive_and_clones_on_the_other_host() {
    let a = released();
    a.brig(&["create", "box", "--release", RELEASE]).ok();
    std::fs::write(a.file("/usr/local/brig/jails/box/root/etc/app.conf"), "mine\n").expect("write");
    a.brig(&["commit", "box", "web"]).ok();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("web.brig").display().to_string();
    let r = a.brig(&["export", "--image", "web", &file]);
    assert!(r.ok().stdout.contains("exported image web"), "{}", r.stdout);
    let jail_file = dir.path().join("box.brig").display().to_string();
    a.brig(&["export", "box", &jail_file]).ok();

    let b = released();
    let r = b.brig(&["import", &file]);
    r.fails(1);
    assert!(r.stderr.contains("holds image web, not a jail"), "{}", r.stderr);
    let r = b.brig(&["import", "--image", &jail_file]);
    r.fails(1);
    assert!(r.stderr.contains("holds a jail (box), not an image"), "{}", r.stderr);
    // A damaged archive leaves nothing.
    let bytes = std::fs::read(&file).expect("read");
    let cut = dir.path().join("cut.brig");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).expect("write");
    b.brig(&["import", "--image", &cut.display().to_string()]).fails(1);
    assert_eq!(image_users(&b)["images"], serde_json::json!([]));
    let images: Vec<String> = b
        .host()
        .zfs_list("zroot/brig", &[])
        .expect("list")
        .into_iter()
        .map(|d| d.name)
        .filter(|n| n.contains("images/"))
        .collect();
    assert_eq!(images, Vec::<String>::new());

    let r = b.brig(&["import", "--image", &file, "--name", "site"]);
    assert!(r.ok().stdout.contains("imported image site (of 14.3-RELEASE)"), "{}", r.stdout);
    b.brig(&["import", "--image", &file, "--name", "site"]).fails(1);
    b.brig(&["create", "app", "--image", "site"]).ok();
    assert_eq!(root_file(&b, "app", "etc/app.conf"), "mine\n");
    assert_eq!(image_users(&b)["images"][0]["used_by"], serde_json::json!(["jail app"]));
}

#[test]
fn boot_start_provisions_a_jail_marked_for_it_before_its_dependents() {
    crate::common::needs_jail_processes!();
    let sim = released();
    define(&sim, "box", &SIX.replace("[vars]", "boot = true\nprovision_on_create = true\n\n[vars]"));
    sim.brig(&["create", "app", "--release", RELEASE, "--boot", "--depends", "box"]).ok();
    let r = sim.brig(&["boot", "start"]);
    r.ok();
    assert!(r.stdout.contains("box: step 6/6 "), "{}", r.stdout);
    assert_eq!(root_file(&sim, "box", "steps.log"), "four\nfive\nsix\n");
    sim.brig(&["boot", "stop"]).ok();
    assert!(!sim.brig(&["boot", "start"]).ok().stdout.contains("step "));
}

#[test]
fn a_jail_without_steps_is_not_provisioned_and_its_root_stays() {
    let sim = released();
    sim.brig(&["create", "box", "--release", RELEASE]).ok();
    std::fs::write(sim.file("/usr/local/brig/jails/box/root/etc/app.conf"), "mine\n").expect("write");
    let r = sim.brig(&["provision", "box"]);
    r.fails(1);
    assert!(r.stderr.contains("jail box has no [[provision]] steps"), "{}", r.stderr);
    assert_eq!(root_file(&sim, "box", "etc/app.conf"), "mine\n");
}

#[test]
fn service_and_user_steps_run_the_jails_own_tools() {
    crate::common::needs_jail_processes!();
    let sim = released();
    // Stand-ins for service(8) and pw(8), which the test userland lacks.
    let text = "release = \"14.3-RELEASE\"\n\n[[provision]]\ncopy = { from = \"files/tool\", to = \"/usr/sbin/service\", mode = \"0555\" }\n\n[[provision]]\ncopy = { from = \"files/tool\", to = \"/usr/sbin/pw\", mode = \"0555\" }\n\n[[provision]]\nservice = { name = \"nginx\", action = \"onestart\" }\n\n[[provision]]\nuser = { name = \"web\", uid = 1001, groups = [\"www\"] }\n\n[[provision]]\nuser = { name = \"root\" }\n";
    define(&sim, "box", text);
    std::fs::write(sim.file("/usr/local/etc/brig/jails/box/files/tool"), "#!/bin/sh\necho \"$0 $@\" >> /tools.log\n")
        .expect("write");
    let j = sim.brig(&["provision", "box", "--json"]).ok().json();
    assert_eq!((j["ran"].as_u64(), j["skipped"].as_u64()), (Some(5), Some(1)), "{j}");
    assert_eq!(
        root_file(&sim, "box", "tools.log"),
        "/usr/sbin/service nginx onestart\n/usr/sbin/pw useradd web -m -u 1001 -G www\n"
    );
}
