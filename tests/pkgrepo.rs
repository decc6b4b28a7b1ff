//! A FreeBSD-base package repository in pkg's own layout, built and
//! signed by the tests for the simulated pkg (tests/it and
//! tests/conformance include this file).

use std::path::Path;

use sha2::{Digest, Sha256};

pub const ABI: &str = "FreeBSD:15:amd64";

/// A package: name, version, what it depends on, files by absolute path.
pub struct Pkg {
    pub name: &'static str,
    pub version: &'static str,
    pub abi: &'static str,
    pub deps: &'static [&'static str],
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
pub fn packages(runtime_version: &'static str) -> Vec<Pkg> {
    let userland = match runtime_version.split_once('p') {
        Some((_, n)) => format!("15.0-RELEASE-p{n}"),
        None => "15.0-RELEASE".to_string(),
    };
    vec![
        Pkg { name: "FreeBSD-set-minimal-jail", version: "15.0", abi: ABI, deps: &["FreeBSD-runtime"], files: vec![] },
        Pkg {
            name: "FreeBSD-runtime",
            version: runtime_version,
            abi: ABI,
            deps: &["FreeBSD-libc"],
            files: runtime(&userland),
        },
        Pkg {
            name: "FreeBSD-libc",
            version: "15.0",
            abi: ABI,
            deps: &[],
            files: vec![("/lib/libc.so.7", b"libc".to_vec())],
        },
    ]
}

/// A package of `abi` holding one file.
#[allow(dead_code)] // tests/conformance uses only the base set
pub fn package(name: &'static str, abi: &'static str, file: &'static str, data: &[u8]) -> Pkg {
    Pkg { name, version: "1.0", abi, deps: &[], files: vec![(file, data.to_vec())] }
}

/// The repository `pkg+https://pkg.FreeBSD.org/FreeBSD:15:amd64/base_release_0`
/// under `server`, signed with `key`; `tamper` changes the catalogue after
/// it was signed.
pub fn publish(server: &Path, pkgs: &[Pkg], key: &ed25519_dalek::SigningKey, tamper: bool) {
    publish_at(&server.join(ABI).join("base_release_0"), pkgs, key, tamper);
}

/// The same at `repo`, a directory of the server.
pub fn publish_at(repo: &Path, pkgs: &[Pkg], key: &ed25519_dalek::SigningKey, tamper: bool) {
    let _ = std::fs::remove_dir_all(repo);
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

pub fn key(seed: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
}

/// Makes the machine whose `/` is `machine` trust `key` as pkgbase-15's
/// signer.
pub fn trust(machine: &Path, key: &ed25519_dalek::SigningKey) {
    let dir = machine.join("usr/share/keys/pkgbase-15/trusted");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let fingerprint = hex(&Sha256::digest(hex(key.verifying_key().as_bytes()).as_bytes()));
    std::fs::write(dir.join("test-15"), format!("function: \"sha256\"\nfingerprint: \"{fingerprint}\"\n"))
        .expect("write");
}
