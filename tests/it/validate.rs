//! `brig validate`: definitions checked with file:line:col errors.

use crate::common::Sim;

fn define(sim: &Sim, name: &str, text: &str) -> String {
    let p = sim.file(&format!("/usr/local/etc/brig/jails/{name}.toml"));
    std::fs::write(&p, text).expect("write definition");
    p.display().to_string()
}

const WEB: &str = "release = \"14.3-RELEASE\"\nhostname = \"web.example.org\"\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.10/24\"]\n";

#[test]
fn valid_definitions_pass() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim.brig(&["validate"]).ok().stdout.contains("no jails are defined");
    let file = define(&sim, "web", WEB);
    define(&sim, "db", "release = \"14.3-RELEASE\"\n[network]\nip4 = [\"192.0.2.11/24\"]\n");
    let r = sim.brig(&["validate"]);
    r.ok();
    assert!(r.stdout.contains(&format!("ok    web  {file}")), "{}", r.stdout);
    let j = sim.brig(&["validate", "web", "--json"]).json();
    assert_eq!(j["version"], 1);
    assert_eq!(j["definitions"][0]["name"], "web");
    assert_eq!(j["definitions"][0]["valid"], true);
    // A file anywhere on this machine can be checked too, before it is installed.
    let outside = tempfile::tempdir().expect("tempdir");
    let path = outside.path().join("app.toml");
    std::fs::write(&path, WEB).expect("write");
    sim.brig(&["validate", &path.display().to_string()]).ok();
}

#[test]
fn each_bad_definition_is_one_clear_error() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let cases: &[(&str, &str)] = &[
        ("release = \"14.3-RELEASE\"\n[network]\nip5 = []\n", "web.toml:3:1: unknown field `ip5`"),
        (
            "release = \"14.3-RELEASE\"\n[network]\nip4 = [\"192.0.2.300\"]\n",
            "web.toml:3:8: '192.0.2.300' is not an IPv4 address",
        ),
        (
            "release = \"14.3-RELEASE\"\n[params]\n\"allow.teleport\" = true\n",
            "web.toml:3:1: parameter allow.teleport is not a jail parameter",
        ),
        (
            "release = \"14.3-RELEASE\"\n[params]\nsecurelevel = \"high\"\n",
            "web.toml:3:1: parameter securelevel takes an integer",
        ),
        ("release = \"14.3-RELEASE\"\n[params]\npath = \"/\"\n", "web.toml:3:1: parameter path is set by brig"),
        ("", "web.toml:1:1: release is required for a thin jail"),
        ("release = \"14.3\"\n", "web.toml:1:11: invalid release '14.3'"),
        (
            "release = \"14.3-RELEASE\"\n[[mount]]\nsource = \"/data\"\ntarget = \"/../../etc\"\n",
            "web.toml:4:10: target '/../../etc' must be an absolute path",
        ),
        ("release = \"14.3-RELEASE\"\nboot = yes\n", "web.toml:2:8:"),
    ];
    for (text, want) in cases {
        define(&sim, "web", text);
        let r = sim.brig(&["validate", "web"]);
        r.fails(2);
        assert!(r.stderr.contains(want), "{text:?}: wanted {want:?} in {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
}

#[test]
fn files_that_are_not_definitions_are_refused() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let p = sim.file("/usr/local/etc/brig/jails/bin.toml");
    std::fs::write(&p, [0xff, 0xfe, 0x00]).expect("write");
    let r = sim.brig(&["validate", "bin"]);
    r.fails(2);
    assert!(r.stderr.contains("bin.toml:1:1: not UTF-8 text"), "{}", r.stderr);
    std::fs::remove_file(&p).expect("rm");
    std::fs::create_dir(&p).expect("a directory where a file should be");
    let r = sim.brig(&["validate", "bin"]);
    r.fails(2);
    assert!(r.stderr.contains("bin.toml: is a directory, not a regular file"), "{}", r.stderr);
    let r = sim.brig(&["validate", "nope"]);
    r.fails(2);
    assert!(r.stderr.contains("nope.toml: No such file or directory"), "{}", r.stderr);
    let r = sim.brig(&["validate", "some/dir/1234.toml"]);
    r.fails(2);
    assert!(r.stderr.contains("the file name must be the jail's name"), "{}", r.stderr);
    sim.brig(&["validate", "123"]).fails(2);
}

#[test]
fn the_whole_set_is_checked_for_unknown_dependencies_and_shared_addresses() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    define(&sim, "web", WEB);
    define(&sim, "app", "release = \"14.3-RELEASE\"\ndepends = [\"db\"]\n[network]\nip4 = [\"192.0.2.10/24\"]\n");
    let r = sim.brig(&["validate"]);
    r.fails(2);
    assert!(r.stderr.contains("jail app depends on db, which is not defined"), "{}", r.stderr);
    assert!(r.stderr.contains("jail web uses address 192.0.2.10, which jail app already has"), "{}", r.stderr);
}
