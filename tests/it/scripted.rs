//! Changes made by a script or configuration management rather than a
//! person: `edit --from/--template/--set`, definitions as JSON, `limits
//! set --json`; each says whether it changed anything, a dry run writes
//! nothing, a second run is `changed: false`, and an invalid definition
//! exits 2 as `validate` does.

use crate::common::Sim;
use crate::run::defined;

const DEF: &str = "/usr/local/etc/brig/jails/box.toml";

fn definition(sim: &Sim) -> String {
    std::fs::read_to_string(sim.file(DEF)).expect("definition")
}

fn write(sim: &Sim, name: &str, text: &str) -> String {
    let f = sim.path().join(name);
    std::fs::write(&f, text).expect("write");
    f.display().to_string()
}

#[test]
fn edit_from_json_replaces_the_definition_once_and_a_dry_run_writes_nothing() {
    let sim = defined(&[]);
    let json = write(
        &sim,
        "box.json",
        r#"{"type": "empty", "network": {"interface": "em0", "ip4": ["192.0.2.21/24"]}, "limits": {"maxproc": 50}}"#,
    );
    let before = definition(&sim);
    let dry = sim.brig(&["edit", "box", "--from", &json, "--dry-run", "--json"]).ok().json();
    assert_eq!((dry["changed"].as_bool(), dry["dry_run"].as_bool()), (Some(true), Some(true)), "{dry}");
    assert_eq!(dry["before"].as_str(), Some(before.as_str()));
    assert_eq!(definition(&sim), before, "a dry run wrote the definition");

    let done = sim.brig(&["edit", "box", "--from", &json, "--json"]).ok().json();
    assert_eq!((done["changed"].as_bool(), done["effect"].as_str()), (Some(true), Some("not-running")), "{done}");
    // The definition is kept as TOML, and is what the dry run showed.
    assert_eq!(definition(&sim), dry["after"].as_str().unwrap_or_default());
    assert!(definition(&sim).contains("[limits]\nmaxproc = 50\n"), "{}", definition(&sim));

    let again = sim.brig(&["edit", "box", "--from", &json, "--json"]).ok().json();
    assert_eq!((again["changed"].as_bool(), again["effect"].as_str()), (Some(false), Some("unchanged")), "{again}");

    // A person gets the diff and a sentence.
    let toml = write(&sim, "box.toml", &definition(&sim).replace("maxproc = 50", "maxproc = 60"));
    let r = sim.brig(&["edit", "box", "--from", &toml, "--dry-run"]);
    assert!(r.ok().stdout.contains("-maxproc = 50\n+maxproc = 60\n"), "{}", r.stdout);
    assert!(r.stdout.contains("would update box; the change applies when it next starts"), "{}", r.stdout);
}

#[test]
fn edit_set_changes_one_key_and_keeps_the_rest_as_written() {
    let sim = defined(&[]);
    let text = format!("# the web box\n{}", definition(&sim));
    std::fs::write(sim.file(DEF), &text).expect("definition");
    let r = sim.brig(&["edit", "box", "--set", "limits.memoryuse=1G", "--json"]).ok().json();
    assert_eq!(r["changed"].as_bool(), Some(true), "{r}");
    assert_eq!(definition(&sim), format!("{text}\n[limits]\nmemoryuse = \"1G\"\n"));
    let r = sim.brig(&["edit", "box", "--set", "limits.memoryuse=1G", "--json"]).ok().json();
    assert_eq!(r["changed"].as_bool(), Some(false), "{r}");
}

#[test]
fn an_edit_that_does_not_validate_names_what_is_wrong_and_changes_nothing() {
    let sim = defined(&[]);
    let before = definition(&sim);
    let null = write(&sim, "null.json", r#"{"type": "empty", "hostname": null}"#);
    let r = sim.brig(&["edit", "box", "--from", &null]);
    assert_eq!(
        r.fails(2).stderr,
        format!("brig: {null}: hostname: is null, which TOML cannot hold: leave the key out instead\n")
    );
    let bad = write(&sim, "bad.json", r#"{"type": "empty", "network": {"ip4": ["192.0.2.300/24"]}}"#);
    let r = sim.brig(&["edit", "box", "--from", &bad, "--json"]);
    // Told by its key: the lines of the TOML made of it are not the file's.
    assert!(r.fails(2).stderr.starts_with(&format!("brig: {bad}: network.ip4: '192.0.2.300/24' ")), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let r = sim.brig(&["edit", "box", "--set", "limits.memoryuse=lots"]);
    assert!(r.fails(2).stderr.contains("memoryuse"), "{}", r.stderr);
    assert_eq!(definition(&sim), before);
    assert!(!sim.file(DEF).with_extension("toml.rej").exists(), "a scripted edit leaves no .rej");

    let r = sim.brig(&["edit", "box", "--json"]);
    assert!(r.fails(2).stderr.contains("--dry-run and --json need --from FILE"), "{}", r.stderr);
    let r = sim.brig(&["edit", "nope", "--set", "boot=true"]);
    assert!(r.fails(3).stderr.contains("jail nope is not defined"), "{}", r.stderr);
}

#[test]
fn create_takes_a_json_definition() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let json = write(&sim, "web.json", r#"{"type": "empty", "boot": true, "limits": {"maxproc": 20}}"#);
    sim.brig(&["create", "web", "--from", &json]).ok();
    let info = sim.brig(&["info", "web", "--json"]).ok().json();
    assert_eq!(info["definition"]["boot"].as_bool(), Some(true), "{info}");
    let same = sim.brig(&["edit", "web", "--from", &json, "--json"]).ok().json();
    assert_eq!(same["changed"].as_bool(), Some(false), "the definition create wrote is the file's: {same}");
}

#[test]
fn create_dry_run_checks_everything_and_makes_nothing() {
    let sim = defined(&[]);
    let before = sim.brig(&["debug", "sim-show", "--json"]).ok().json();
    let json =
        write(&sim, "web.json", r#"{"type": "empty", "network": {"interface": "em0", "ip4": ["192.0.2.30/24"]}}"#);
    let dry = sim.brig(&["create", "web", "--from", &json, "--dry-run", "--json"]).ok().json();
    assert_eq!((dry["changed"].as_bool(), dry["dry_run"].as_bool()), (Some(true), Some(true)), "{dry}");
    assert!(dry["definition"].as_str().is_some_and(|d| d.contains("ip4 = [\"192.0.2.30/24\"]")), "{dry}");
    let ops = dry["operations"].as_array().expect("operations");
    assert!(ops.iter().any(|o| o == "zfs create -o brig:jail=web zroot/brig/jails/web"), "{dry}");
    let r = sim.brig(&["create", "web", "--from", &json, "--dry-run"]);
    assert!(r.ok().stdout.ends_with("would create jail web\n"), "{}", r.stdout);
    assert_eq!(sim.brig(&["debug", "sim-show", "--json"]).ok().json(), before, "a dry run made something");
    assert!(!sim.file("/usr/local/etc/brig/jails/web.toml").exists(), "a dry run wrote the definition");
    // What a real create would refuse, a dry run refuses.
    let taken =
        write(&sim, "taken.json", r#"{"type": "empty", "network": {"interface": "em0", "ip4": ["192.0.2.20/24"]}}"#);
    let r = sim.brig(&["create", "web", "--from", &taken, "--dry-run", "--json"]);
    assert!(r.fails(1).stderr.contains("192.0.2.20 is used by jail box"), "{}", r.stderr);
    let r = sim.brig(&["create", "box", "--type", "empty", "--dry-run"]);
    assert!(r.fails(1).stderr.contains("box"), "{}", r.stderr);
    let made = sim.brig(&["create", "web", "--from", &json, "--json"]).ok().json();
    assert_eq!((made["changed"].as_bool(), made["dry_run"].as_bool()), (Some(true), Some(false)), "{made}");
    assert_eq!(made["operations"], dry["operations"], "the dry run said what create did");
}

#[test]
fn limits_set_says_whether_it_changed_anything() {
    let sim = defined(&[]);
    let set = |args: &[&str]| {
        let mut all = vec!["limits", "box"];
        all.extend_from_slice(args);
        sim.brig(&all).ok().json()
    };
    let r = set(&["set", "maxproc=50", "--dry-run", "--json"]);
    assert_eq!((r["changed"].as_bool(), r["effect"].as_str()), (Some(true), Some("pending")), "{r}");
    assert!(!definition(&sim).contains("maxproc"), "a dry run wrote the definition");
    let r = set(&["--json", "set", "maxproc=50"]);
    assert_eq!((r["changed"].as_bool(), r["effect"].as_str()), (Some(true), Some("stopped")), "{r}");
    let r = set(&["set", "maxproc=50", "--json"]);
    assert_eq!((r["changed"].as_bool(), r["effect"].as_str()), (Some(false), Some("unchanged")), "{r}");
    let r = set(&["unset", "maxproc", "--json"]);
    assert_eq!(r["changed"].as_bool(), Some(true), "{r}");
    assert!(!definition(&sim).contains("maxproc"));
}

#[test]
fn dry_runs_take_no_lock_recover_nothing_and_log_nothing() {
    let sim = defined(&[]);
    // A start a killed brig left half-done: a command that locks the jail
    // would take it back; a dry run must leave it for one that does.
    let entry = sim.file("/var/db/brig/journal/box.json");
    std::fs::write(&entry, "{\"action\":\"start\",\"pid\":999999}").expect("entry");
    let events = || sim.brig(&["events", "--json"]).ok().json()["events"].as_array().map_or(0, Vec::len);
    let logged = events();
    let json = write(&sim, "web.json", r#"{"type": "empty"}"#);
    for args in [
        &["edit", "box", "--set", "limits.maxproc=9", "--dry-run", "--json"][..],
        &["limits", "box", "set", "maxproc=9", "--dry-run", "--json"],
        &["create", "web", "--from", &json, "--dry-run", "--json"],
    ] {
        let r = sim.brig(args);
        assert_eq!(r.ok().json()["changed"].as_bool(), Some(true), "{args:?}: {}", r.stdout);
        assert!(r.stderr.is_empty(), "{args:?}: {}", r.stderr);
        assert!(entry.exists(), "{args:?} recovered the journal entry");
    }
    assert_eq!(events(), logged, "a dry run was logged");
    // Held by another brig, the jail's lock does not stop a dry run.
    let lock = std::fs::File::create(sim.file("/var/db/brig/locks/jail.box.lock")).expect("lock file");
    let _held =
        nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock).map_err(|(_, e)| e).expect("flock");
    sim.brig(&["--no-wait", "edit", "box", "--set", "boot=true", "--dry-run"]).ok();
    sim.brig(&["--no-wait", "limits", "box", "set", "maxproc=9", "--dry-run"]).ok();
    sim.brig(&["--no-wait", "edit", "box", "--set", "boot=true"]).fails(1);
}

#[test]
fn limits_set_to_what_the_definition_has_puts_back_a_rule_the_running_jail_lost() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    sim.brig(&["limits", "box", "set", "maxproc=100"]).ok();
    sim.brig(&["start", "box"]).ok();
    let unchanged = sim.brig(&["limits", "box", "set", "maxproc=100", "--json"]).ok().json();
    assert_eq!(unchanged["changed"].as_bool(), Some(false), "{unchanged}");
    {
        use brig::host::Host;
        sim.host().rctl_remove("jail:box").expect("remove the rule by hand");
    }
    let dry = sim.brig(&["limits", "box", "set", "maxproc=100", "--dry-run", "--json"]).ok().json();
    assert_eq!((dry["changed"].as_bool(), dry["effect"].as_str()), (Some(true), Some("pending")), "{dry}");
    let put = sim.brig(&["limits", "box", "set", "maxproc=100", "--json"]).ok().json();
    assert_eq!((put["changed"].as_bool(), put["effect"].as_str()), (Some(true), Some("live")), "{put}");
    let rules = {
        use brig::host::Host;
        sim.host().rctl_rules("jail:box").expect("rules")
    };
    assert_eq!(rules, ["jail:box:maxproc:deny=100"]);
    sim.brig(&["stop", "box"]).ok();
}

#[test]
fn no_new_jail_takes_a_word_of_brigs_commands() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    for word in ["list", "set", "create"] {
        let r = sim.brig(&["create", word, "--type", "empty"]);
        assert_eq!(
            r.fails(2).stderr,
            format!("brig: invalid jail name '{word}': it is a word of brig's commands (brig snapshot list, brig limits NAME set), which could not name it\n")
        );
    }
    sim.brig(&["create", "lister", "--type", "empty"]).ok();
}

#[test]
fn an_edit_that_cannot_look_at_the_jail_leaves_the_definition_as_it_was() {
    let sim = defined(&[]);
    let before = definition(&sim);
    // The look at the running jail for its effect (the second jail_get,
    // after the one that checks addresses) fails: nothing is written.
    let r = sim.brig_env(&["edit", "box", "--set", "limits.maxproc=9", "--json"], &[("BRIG_SIM_FAIL", "jail_get:2")]);
    assert!(r.fails(1).stderr.contains("injected by BRIG_SIM_FAIL"), "{}", r.stderr);
    assert_eq!(definition(&sim), before);
    sim.brig(&["edit", "box", "--set", "limits.maxproc=9"]).ok();
    assert_ne!(definition(&sim), before);
}
