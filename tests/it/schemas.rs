//! The machine interface: `schemas/*.json` are what `brig schema` prints
//! (generated from the types that print each document, so they cannot
//! drift), and the real output of every `--json` command validates
//! against its schema.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::{brig, Sim};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

/// The names `brig schema` lists.
fn names() -> Vec<String> {
    let r = brig(&["schema"], &[]);
    r.ok().stdout.lines().skip(1).filter_map(|l| l.split_whitespace().next().map(String::from)).collect()
}

#[test]
fn the_schema_files_are_what_brig_schema_prints() {
    let names = names();
    assert!(names.len() >= 20, "{names:?}");
    let bless = std::env::var_os("BRIG_BLESS").is_some();
    for name in &names {
        let printed = brig(&["schema", name], &[]).ok().stdout.clone();
        let path = dir().join(format!("{name}.json"));
        if bless {
            std::fs::write(&path, &printed).expect("write the schema");
            continue;
        }
        let file = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; BRIG_BLESS=1 cargo test writes it", path.display()));
        assert!(
            file == printed,
            "{} differs from `brig schema {name}`: a change to its types changes the document; if it breaks a \
             reader (a key removed, renamed or of another type) raise JSON_VERSION, then BRIG_BLESS=1 cargo test",
            path.display()
        );
    }
    // No file for a document brig no longer prints.
    let files: BTreeSet<String> = std::fs::read_dir(dir())
        .expect("schemas/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().trim_end_matches(".json").to_string())
        .collect();
    assert_eq!(files, names.iter().cloned().collect(), "schemas/ and `brig schema` differ");
    let r = brig(&["schema", "nope"], &[]);
    assert!(r.fails(2).stderr.starts_with("brig: no schema nope: there are apply, audit,"), "{}", r.stderr);
}

/// The documents of commands that change things, which say whether they
/// did (`changed`), as configuration management needs.
const MUTATING: &[&str] =
    &["apply", "commit", "create", "edit", "gc", "limits-change", "provision", "release-update", "upgrade"];

/// Validates documents against the schema files, remembering which.
struct Checker {
    seen: BTreeSet<String>,
}

impl Checker {
    #[track_caller]
    fn check(&mut self, schema: &str, sim: &Sim, args: &[&str]) -> serde_json::Value {
        let r = sim.brig(args);
        // Some documents come with a failing exit (an unhealthy jail, a
        // finding): the document is what is checked.
        let doc: serde_json::Value = serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("brig {}: not JSON ({e}): {}{}", args.join(" "), r.stdout, r.stderr));
        let path = dir().join(format!("{schema}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let schema_doc: serde_json::Value = serde_json::from_str(&text).expect("a schema is JSON");
        let validator = jsonschema::validator_for(&schema_doc).expect("a valid schema");
        let errors: Vec<String> =
            validator.iter_errors(&doc).map(|e| format!("{} at {}", e, e.instance_path)).collect();
        assert!(errors.is_empty(), "brig {} does not match {schema}.json: {errors:?}\n{doc:#}", args.join(" "));
        if MUTATING.contains(&schema) {
            assert!(doc["changed"].is_boolean(), "brig {} says no changed: {doc:#}", args.join(" "));
        }
        self.seen.insert(schema.to_string());
        doc
    }
}

#[test]
fn every_json_document_matches_its_schema() {
    crate::common::needs_jail_processes!();
    let mut c = Checker { seen: BTreeSet::new() };
    // A thin jail `box` of an outdated release, with a snapshot and limits.
    let sim = crate::upgrade::outdated_release();
    c.check("release-update", &sim, &["release", "update", "14.3-RELEASE", "--json"]);
    c.check("release-list", &sim, &["release", "list", "--json"]);
    let edited = c.check("edit", &sim, &["edit", "box", "--set", "limits.maxproc=100", "--json"]);
    assert_eq!(edited["changed"], true);
    c.check("limits-change", &sim, &["limits", "box", "set", "openfiles=1000", "--json"]);
    c.check("create", &sim, &["create", "other", "--release", "14.3-RELEASE", "--dry-run", "--json"]);
    c.check("create", &sim, &["create", "empty", "--type", "empty", "--json"]);
    c.check("validate", &sim, &["validate", "--json"]);
    c.check("template-list", &sim, &["template", "list", "--json"]);
    c.check("boot-plan", &sim, &["boot", "plan", "--json"]);
    sim.brig(&["snapshot", "box", "first"]).ok();
    c.check("snapshot-list", &sim, &["snapshot", "list", "--json"]);
    sim.brig(&["start", "box"]).ok();
    // Usage samples, for `usage`.
    sim.brig(&["supervise", "--once"]).ok();
    sim.brig(&["supervise", "--once"]).ok();
    for (schema, args) in [
        ("list", &["list", "--json"][..]),
        ("info", &["info", "box", "--json"]),
        ("limits", &["limits", "box", "--json"]),
        ("stats", &["stats", "--json"]),
        ("plan", &["plan", "--json"]),
        ("apply", &["apply", "--json"]),
        ("audit", &["audit", "box", "--json"]),
        ("doctor", &["doctor", "--json"]),
        ("health", &["health", "--json"]),
        ("usage", &["usage", "box", "--json"]),
        ("gc", &["gc", "--dry-run", "--json"]),
        ("events", &["events", "--json"]),
    ] {
        c.check(schema, &sim, args);
    }
    sim.brig(&["stop", "box"]).ok();
    // Last: the upgraded root has the release's files, not a bootable one.
    c.check("upgrade", &sim, &["upgrade", "box", "--json"]);
    // A jail with provision steps (of a release with a userland), made an image.
    let built = crate::provision::six_steps();
    c.check("provision", &built, &["provision", "box", "--json"]);
    c.check("commit", &built, &["commit", "box", "web", "--json"]);
    c.check("image-list", &built, &["image", "list", "--json"]);
    let all: BTreeSet<String> = names().into_iter().collect();
    let unchecked: Vec<&String> = all.difference(&c.seen).collect();
    assert!(unchecked.is_empty(), "no real output checked against {unchecked:?}");
}
