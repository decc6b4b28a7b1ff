//! `brig release fetch --pkgbase` and `release update` of a pkgbase
//! release, against the sim's pkg and a package repository in pkg's own
//! layout that the test builds and signs.

use std::path::Path;

use brig::host::Host;
use sha2::{Digest, Sha256};

use crate::common::Sim;

const RELEASE: &str = "15.0-RELEASE";
const ABI: &str = "FreeBSD:15:amd64";

/// A package: name, version, what it depends on, files by absolute path.
struct Pkg {
    name: &'static str,
    version: &'static str,
    abi: &'static str,
    deps: &'static [&'static str],
    files: Vec<(&'static str, Vec<u8>)>,
}

fn zstd_tar(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data, mode) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(*mode);
        h.set_size(data.len() as u64);
        h.set_entry_type(tar::EntryType::Regular);
        h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_cksum();
        b.append(&h, *data).expect("append");
    }
    let tar = b.into_inner().expect("tar");
    ruzstd::encoding::compress_to_vec(&tar[..], ruzstd::encoding::CompressionLevel::Fastest)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn runtime(version: &str) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("/bin/freebsd-version", format!("#!/bin/sh\nUSERLAND_VERSION=\"{version}\"\n").into_bytes()),
        ("/bin/sh", format!("sh of {version}\n").into_bytes()),
        ("/etc/rc.conf", b"# rc.conf\n".to_vec()),
    ]
}

/// The set, FreeBSD-runtime of `runtime_version` (its userland
/// 15.0-RELEASE, or -pN for 15.0pN) and FreeBSD-libc.
fn packages(runtime_version: &'static str) -> Vec<Pkg> {
    let userland = match runtime_version.split_once('p') {
        Some((_, n)) => format!("15.0-RELEASE-p{n}"),
        None => "15.0-RELEASE".to_string(),
    };
    vec![
        Pkg { name: "FreeBSD-set-minimal-jail", version: "15.0", abi: ABI, deps: &["FreeBSD-runtime"], files: vec![] },
        Pkg { name: "FreeBSD-runtime", version: runtime_version, abi: ABI, deps: &["FreeBSD-libc"], files: runtime(&userland) },
        Pkg { name: "FreeBSD-libc", version: "15.0", abi: ABI, deps: &[], files: vec![("/lib/libc.so.7", b"libc".to_vec())] },
    ]
}

/// The repository `pkg+https://pkg.FreeBSD.org/FreeBSD:15:amd64/base_release_0`
/// under `server`, signed with `key`; `tamper` changes the catalogue after
/// it was signed.
fn publish(server: &Path, pkgs: &[Pkg], key: &ed25519_dalek::SigningKey, tamper: bool) {
    let repo = server.join(ABI).join("base_release_0");
    let _ = std::fs::remove_dir_all(&repo);
    std::fs::create_dir_all(repo.join("All")).expect("mkdir");
    let mut yaml = String::new();
    for p in pkgs {
        let manifest = format!("{{\"name\":\"{}\",\"version\":\"{}\"}}", p.name, p.version);
        let mut entries: Vec<(&str, &[u8], u32)> = vec![("+COMPACT_MANIFEST", manifest.as_bytes(), 0o644)];
        entries.push(("+MANIFEST", manifest.as_bytes(), 0o644));
        entries.extend(p.files.iter().map(|(path, data)| (*path, data.as_slice(), 0o555)));
        let file = zstd_tar(&entries);
        let repopath = format!("All/{}-{}.pkg", p.name, p.version);
        std::fs::write(repo.join(&repopath), &file).expect("write package");
        let deps: Vec<String> =
            p.deps.iter().map(|d| format!("\"{d}\":{{\"origin\":\"base\",\"version\":\"15.0\"}}")).collect();
        yaml.push_str(&format!(
            "{{\"name\":\"{}\",\"origin\":\"base\",\"version\":\"{}\",\"abi\":\"{}\",\"path\":\"{repopath}\",\"repopath\":\"{repopath}\",\"sum\":\"{}\",\"deps\":{{{}}}}}\n",
            p.name,
            p.version,
            p.abi,
            hex(&Sha256::digest(&file)),
            deps.join(",")
        ));
    }
    use ed25519_dalek::Signer;
    let signature = key.sign(hex(&Sha256::digest(yaml.as_bytes())).as_bytes());
    let mut sig = b"$PKGSIGN:eddsa$".to_vec();
    sig.extend_from_slice(&signature.to_bytes());
    let public = hex(key.verifying_key().as_bytes());
    if tamper {
        yaml.push('\n');
    }
    let site = zstd_tar(&[
        ("packagesite.yaml", yaml.as_bytes(), 0o644),
        ("packagesite.yaml.sig", &sig, 0o644),
        ("packagesite.yaml.pub", public.as_bytes(), 0o644),
    ]);
    std::fs::write(repo.join("packagesite.pkg"), site).expect("write catalogue");
}

fn key(seed: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
}

/// Makes the sim's host trust `key` as pkgbase-15's signer.
fn trust(sim: &Sim, key: &ed25519_dalek::SigningKey) {
    let dir = sim.file("/usr/share/keys/pkgbase-15/trusted");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let fingerprint = hex(&Sha256::digest(hex(key.verifying_key().as_bytes()).as_bytes()));
    std::fs::write(dir.join("test-15"), format!("function: \"sha256\"\nfingerprint: \"{fingerprint}\"\n")).expect("write");
}

/// An initialised sim running FreeBSD 15.0 whose pkg server is `server`.
fn host15(server: &Path) -> Sim {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let server = server.display().to_string();
    sim.configure(|t| format!("pkg_server = {server:?}\n{}", t.replace("osrelease = \"14.3-RELEASE\"", "osrelease = \"15.0-RELEASE\"")));
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
    assert!(r.stdout.contains("fetched 15.0-RELEASE (amd64) from pkg+https://pkg.FreeBSD.org/FreeBSD:15:amd64/base_release_0"), "{}", r.stdout);
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
    assert_eq!(j["releases"][0]["version"], "15.0-RELEASE");
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
fn pkgbase_options_are_checked_first() {
    let server = tempfile::tempdir().expect("tempdir");
    let sim = host15(server.path());
    let r = sim.brig(&["release", "fetch", RELEASE, "--pkgbase", "--components", "base,lib32"]);
    r.fails(2);
    assert!(r.stderr.contains("--from, --components and --sha256 are for distribution sets"), "{}", r.stderr);
    let r = sim.brig(&["release", "fetch", RELEASE, "--set", "everything"]);
    r.fails(2);
    assert!(r.stderr.contains("--set: 'everything' is not one of minimal-jail, base-jail, minimal, base"), "{}", r.stderr);
}
