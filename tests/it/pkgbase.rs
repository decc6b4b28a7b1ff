//! `brig release fetch --pkgbase` and `release update` of a pkgbase
//! release, against the sim's pkg and a package repository in pkg's own
//! layout that the test builds and signs.

use std::path::Path;

use brig::host::Host;

use crate::common::Sim;
use crate::pkgrepo::{key, packages, publish, ABI};

const RELEASE: &str = "15.0-RELEASE";

/// Makes the sim's host trust `key` as pkgbase-15's signer.
fn trust(sim: &Sim, key: &ed25519_dalek::SigningKey) {
    crate::pkgrepo::trust(sim.path(), key);
}

/// An initialised sim running FreeBSD 15.0 whose pkg server is `server`.
fn host15(server: &Path) -> Sim {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let server = server.display().to_string();
    sim.configure(|t| {
        format!(
            "pkg_server = {server:?}\n{}",
            t.replace("osrelease = \"14.3-RELEASE\"", "osrelease = \"15.0-RELEASE\"")
        )
    });
    sim
}

fn releases(sim: &Sim) -> Vec<String> {
    sim.host().zfs_list("zroot/brig/releases", &[]).expect("list").into_iter().map(|d| d.name).skip(1).collect()
}

#[test]
fn a_pkgbase_release_is_installed_from_signed_packages_and_jails_clone_it() {
    let server = tempfile::tempdir().expect("tempdir");
    publish(server.path(), &packages("15.0"), &key(1), false);
    let sim = host15(server.path());
    trust(&sim, &key(1));
    let r = sim.brig(&["release", "fetch", RELEASE, "--pkgbase"]);
    r.ok();
    assert!(
        r.stdout
            .contains("fetched 15.0-RELEASE (amd64) from pkg+https://pkg.FreeBSD.org/FreeBSD:15:amd64/base_release_0"),
        "{}",
        r.stdout
    );
    let root = sim.file("/usr/local/brig/releases/15.0-RELEASE");
    assert_eq!(std::fs::read_to_string(root.join("bin/sh")).expect("sh"), "sh of 15.0-RELEASE\n");
    assert!(root.join("lib/libc.so.7").exists(), "a dependency installed too");
    // The host's key went into the root, where pkg looks under --rootdir.
    assert!(root.join("usr/share/keys/pkgbase-15/trusted/test-15").exists());
    let conf = std::fs::read_to_string(sim.file("/usr/local/brig/cache/pkgbase/15.0-RELEASE/repos/FreeBSD-base.conf"))
        .expect("repo conf");
    assert!(conf.contains("fingerprints: \"/usr/share/keys/pkgbase-15\""), "{conf}");
    let j = sim.brig(&["release", "list", "--json"]).json();
    assert_eq!(j["releases"][0]["kind"], "pkgbase");
    assert_eq!(j["releases"][0]["userland"], "15.0-RELEASE");
    sim.brig(&["create", "web", "--release", RELEASE]).ok();
    let listed = sim.brig(&["list"]);
    assert!(listed.stdout.contains("15.0-RELEASE"), "{}", listed.stdout);

    // A patch level: pkg upgrade on a clone, a new snapshot.
    publish(server.path(), &packages("15.0p1"), &key(1), false);
    let u = sim.brig(&["release", "update", RELEASE]);
    u.ok();
    assert!(u.stdout.contains("updated 15.0-RELEASE from 15.0-RELEASE to 15.0-RELEASE-p1"), "{}", u.stdout);
    assert_eq!(std::fs::read_to_string(root.join("bin/sh")).expect("sh"), "sh of 15.0-RELEASE-p1\n");
    assert!(releases(&sim).contains(&"zroot/brig/releases/15.0-RELEASE@p1".to_string()));
    let up = sim.brig(&["upgrade", "web"]);
    up.ok();
    assert!(up.stdout.contains("15.0-RELEASE -> 15.0-RELEASE-p1"), "{}", up.stdout);
}

#[test]
fn pkg_refusals_leave_no_release() {
    let server = tempfile::tempdir().expect("tempdir");
    let case = |setup: &dyn Fn(&Sim, &Path), want: &str| {
        let sim = host15(server.path());
        setup(&sim, server.path());
        let r = sim.brig(&["release", "fetch", RELEASE, "--pkgbase"]);
        r.fails(1);
        assert!(r.stderr.contains(want), "{want}: {}", r.stderr);
        assert_eq!(releases(&sim), Vec::<String>::new(), "{want}");
    };
    // The host has no pkgbase keys: nothing is downloaded to trust.
    case(&|_, s| publish(s, &packages("15.0"), &key(1), false), "this host has no pkgbase keys for 15.0-RELEASE");
    // Signed by a key the host does not trust.
    case(
        &|sim, s| {
            publish(s, &packages("15.0"), &key(2), false);
            trust(sim, &key(1));
        },
        "pkg: No trusted public keys found (exit status 3)",
    );
    // A catalogue changed after it was signed.
    case(
        &|sim, s| {
            publish(s, &packages("15.0"), &key(1), true);
            trust(sim, &key(1));
        },
        "signature verification failure",
    );
    // A package of another ABI.
    case(
        &|sim, s| {
            let mut p = packages("15.0");
            p[2].abi = "FreeBSD:14:amd64";
            publish(s, &p, &key(1), false);
            trust(sim, &key(1));
        },
        "wrong architecture: FreeBSD:14:amd64 instead of FreeBSD:15:amd64",
    );
    // The set is not in the repository.
    case(
        &|sim, s| {
            publish(s, &packages("15.0")[1..], &key(1), false);
            trust(sim, &key(1));
        },
        "No packages available to install matching 'FreeBSD-set-minimal-jail' have been found in the repositories",
    );
    // The repository goes away half-way: a package is gone.
    case(
        &|sim, s| {
            publish(s, &packages("15.0"), &key(1), false);
            std::fs::remove_file(s.join(ABI).join("base_release_0/All/FreeBSD-libc-15.0.pkg")).expect("rm");
            trust(sim, &key(1));
        },
        "All/FreeBSD-libc-15.0.pkg: Not Found",
    );
}

#[test]
fn a_pkgbase_release_newer_than_the_kernel_is_refused() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let r = sim.brig(&["release", "fetch", RELEASE, "--pkgbase"]);
    r.fails(1);
    assert!(r.stderr.contains("release 15.0-RELEASE is newer than this host's kernel (14.3-RELEASE)"), "{}", r.stderr);
    assert_eq!(releases(&sim), Vec::<String>::new());
}

#[test]
fn pkgbase_options_are_checked_first() {
    let server = tempfile::tempdir().expect("tempdir");
    let sim = host15(server.path());
    let r = sim.brig(&["release", "fetch", RELEASE, "--pkgbase", "--components", "base,lib32"]);
    r.fails(2);
    assert!(r.stderr.contains("--from, --components and --sha256 are for distribution sets"), "{}", r.stderr);
    let r = sim.brig(&["release", "fetch", RELEASE, "--set", "everything"]);
    r.fails(2);
    assert!(
        r.stderr.contains("--set: 'everything' is not one of minimal-jail, base-jail, minimal, base"),
        "{}",
        r.stderr
    );
}
