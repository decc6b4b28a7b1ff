//! Builds brig's test userland (the program in this directory) with
//! `rustc`, lays it out in a jail root, and packs it into a tiny
//! FreeBSD-release-shaped mirror (base.txz and MANIFEST) that `brig
//! release fetch 14.3-RELEASE --from DIR` accepts. Shared by the
//! integration tests, the conformance suite, the benchmarks and
//! `cargo run --example make-release -- DIR` (the README tour): built when
//! needed, never committed as a binary.
//!
//! The userland is linked statically (`-C target-feature=+crt-static`):
//! on the simulated host a jail's commands are real Linux processes
//! chrooted into the jail root, which has no C library. That needs only
//! what building brig needs (rustc and a C linker with the C library's
//! static archive, which Debian's libc6-dev, the linker's own dependency,
//! ships).

use std::io::Write;
use std::path::{Path, PathBuf};

/// The userland's source directory.
const SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/userland");

/// The program's file name in a jail root's /bin.
pub const PROGRAM: &str = "brig-userland";

/// The names the program answers to, each a symlink in /bin.
const NAMES: &[&str] = &[
    "sh", "[", "cat", "echo", "env", "false", "hostname", "id", "kill", "login", "ls", "mkdir", "nologin", "ps", "rm",
    "sleep", "test", "touch", "true",
];

/// Where FreeBSD keeps some of them, linked there too in the test release
/// (`brig console` runs /usr/bin/login, nobody's shell is
/// /usr/sbin/nologin).
const FREEBSD_PLACES: &[&str] = &[
    "usr/bin/env",
    "usr/bin/false",
    "usr/bin/id",
    "usr/bin/login",
    "usr/bin/touch",
    "usr/bin/true",
    "usr/sbin/nologin",
];

/// Builds the userland into `cache` (once per version of its source) and
/// returns the program's path.
pub fn build(cache: &Path) -> Result<PathBuf, String> {
    use sha2::Digest;
    let mut sources: Vec<PathBuf> = std::fs::read_dir(SOURCE)
        .map_err(|e| format!("{SOURCE}: {e}"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    sources.sort();
    let mut hash = sha2::Sha256::new();
    for s in &sources {
        hash.update(s.file_name().unwrap_or_default().as_encoded_bytes());
        hash.update(std::fs::read(s).map_err(|e| format!("{}: {e}", s.display()))?);
    }
    let hex: String = hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    let out = cache.join(format!("{PROGRAM}-{hex}"));
    // One build at a time in a process; other processes building at the
    // same time each write their own temporary file.
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if out.is_file() {
        return Ok(out);
    }
    std::fs::create_dir_all(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    // Built beside its final name and renamed, so test processes that
    // build at the same time never see half a program.
    let tmp = cache.join(format!(".{PROGRAM}-{hex}.{}", std::process::id()));
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let made = std::process::Command::new(&rustc)
        .args(["--edition", "2021", "--crate-name", "brig_userland", "-C", "opt-level=1", "-C", "panic=abort"])
        .args(["-C", "strip=symbols", "-C", "target-feature=+crt-static", "-o"])
        .arg(&tmp)
        .arg(Path::new(SOURCE).join("userland.rs"))
        .output()
        .map_err(|e| format!("{}: {e}; the test userland is built with rustc", rustc.to_string_lossy()))?;
    if !made.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "rustc could not build the test userland statically ({}); it needs the C library's static archive (libc.a, in Debian's libc6-dev):\n{}",
            made.status,
            String::from_utf8_lossy(&made.stderr)
        ));
    }
    if has_interpreter(&tmp)? {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "rustc linked the test userland dynamically although asked for +crt-static, so it cannot run in an empty jail root; use a target whose C library links statically ({})",
            tmp.display()
        ));
    }
    std::fs::rename(&tmp, &out).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(out)
}

/// Whether an ELF executable names a dynamic loader (a PT_INTERP program
/// header), which an empty jail root does not have.
fn has_interpreter(path: &Path) -> Result<bool, String> {
    let elf = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let at = |off: usize, len: usize| -> Option<u64> {
        let b = elf.get(off..off + len)?;
        Some(b.iter().rev().fold(0, |n, &x| (n << 8) | u64::from(x)))
    };
    let (Some(phoff), Some(size), Some(count)) = (at(0x20, 8), at(0x36, 2), at(0x38, 2)) else {
        return Err(format!("{}: not a 64-bit ELF file", path.display()));
    };
    Ok((0..count).any(|i| at((phoff + i * size) as usize, 4) == Some(3)))
}

/// Puts the program (a copy of `program`) into `root`'s /bin and links
/// it there under every name it answers to: a minimal root, without the
/// release's /usr.
pub fn install(program: &Path, root: &Path) -> std::io::Result<()> {
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin)?;
    std::fs::copy(program, bin.join(PROGRAM))?;
    std::fs::set_permissions(bin.join(PROGRAM), std::os::unix::fs::PermissionsExt::from_mode(0o555))?;
    for n in NAMES {
        std::os::unix::fs::symlink(PROGRAM, bin.join(n))?;
    }
    Ok(())
}

/// One entry of base.txz.
enum Kind {
    Dir,
    File(Vec<u8>),
    Symlink(String),
}

/// jail(8)'s default exec.start is `/bin/sh /etc/rc` and exec.stop
/// `/bin/sh /etc/rc.shutdown jail`; each leaves one line in
/// /var/log/rc.log so a test can see that it really ran inside the jail.
const RC: &str = "#!/bin/sh
# brig's test release: /etc/rc (exec.start) only records that it ran.
echo \"brig test release: rc started\" >>/var/log/rc.log
exit 0
";
const RC_SHUTDOWN: &str = "#!/bin/sh
# brig's test release: /etc/rc.shutdown (exec.stop) only records that it ran.
echo \"brig test release: rc.shutdown ran ($*)\" >>/var/log/rc.log
exit 0
";
/// FreeBSD's layout: root's primary group is wheel (gid 0), and no
/// password ever matches (`*`); `brig console` runs `login -f root`.
const PASSWD: &str = "root:*:0:0:Charlie &:/root:/bin/sh
nobody:*:65534:65534:Unprivileged user:/nonexistent:/usr/sbin/nologin
";
const GROUP: &str = "wheel:*:0:root\nnobody:*:65534:\n";
const COPYRIGHT: &str = "This is not FreeBSD. It is brig's test release, built by
`cargo run --example make-release`: a few configuration files and brig's
test userland (bin/brig-userland), built from tests/userland in brig's
repository.
";

/// The test release's entries: (path relative to the root, mode, kind).
fn entries(program: &[u8]) -> Vec<(String, u32, Kind)> {
    let mut e: Vec<(String, u32, Kind)> = Vec::new();
    // FreeBSD's modes: /root is private, /tmp world-writable and sticky,
    // /dev only a mount point for devfs.
    for (d, mode) in [
        ("", 0o755),
        ("bin", 0o755),
        ("dev", 0o555),
        ("etc", 0o755),
        ("root", 0o750),
        ("tmp", 0o1777),
        ("usr", 0o755),
        ("usr/bin", 0o755),
        ("usr/sbin", 0o755),
        ("var", 0o755),
        ("var/log", 0o755),
    ] {
        e.push((d.to_string(), mode, Kind::Dir));
    }
    e.push((format!("bin/{PROGRAM}"), 0o555, Kind::File(program.to_vec())));
    for n in NAMES {
        e.push((format!("bin/{n}"), 0o777, Kind::Symlink(PROGRAM.to_string())));
    }
    for path in FREEBSD_PLACES {
        e.push((path.to_string(), 0o777, Kind::Symlink(format!("../../bin/{PROGRAM}"))));
    }
    for (path, mode, text) in [
        ("etc/rc", 0o644, RC),
        ("etc/rc.shutdown", 0o644, RC_SHUTDOWN),
        ("etc/passwd", 0o644, PASSWD),
        ("etc/group", 0o644, GROUP),
        ("COPYRIGHT", 0o444, COPYRIGHT),
        // Read by brig (list, upgrade), never run: the line newvers.sh writes.
        ("bin/freebsd-version", 0o555, "#!/bin/sh\nUSERLAND_VERSION=\"14.3-RELEASE\"\necho $USERLAND_VERSION\n"),
    ] {
        e.push((path.to_string(), mode, Kind::File(text.as_bytes().to_vec())));
    }
    e
}

/// 14.3-RELEASE's date: every entry has it, so the same program gives the
/// same base.txz.
const MTIME: u64 = 1_749_513_600;

/// base.txz of the test release: a ustar archive of `./`-relative entries
/// (as FreeBSD's own sets), owned by root:wheel whoever builds it, sorted
/// by name, xz-compressed; and how many entries it has.
fn base_txz(program: &[u8]) -> Result<(Vec<u8>, usize), String> {
    let mut entries = entries(program);
    let name = |p: &str, dir: bool| {
        if p.is_empty() {
            "./".to_string()
        } else {
            format!("./{p}{}", if dir { "/" } else { "" })
        }
    };
    entries.sort_by_key(|(p, _, k)| name(p, matches!(k, Kind::Dir)));
    let count = entries.len();
    let mut tar = tar::Builder::new(Vec::new());
    let io = |e: std::io::Error| format!("writing base.txz: {e}");
    for (path, mode, kind) in entries {
        let mut h = tar::Header::new_ustar();
        let n = name(&path, matches!(kind, Kind::Dir));
        // Written as is: the tar crate would drop the leading "./".
        h.as_ustar_mut().ok_or("not a ustar header")?.name[..n.len()].copy_from_slice(n.as_bytes());
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_username("root").map_err(io)?;
        h.set_groupname("wheel").map_err(io)?;
        h.set_mtime(MTIME);
        let body = match kind {
            Kind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                Vec::new()
            }
            Kind::File(data) => {
                h.set_entry_type(tar::EntryType::Regular);
                data
            }
            Kind::Symlink(target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_link_name_literal(target).map_err(io)?;
                Vec::new()
            }
        };
        h.set_size(body.len() as u64);
        h.set_cksum();
        tar.append(&h, body.as_slice()).map_err(io)?;
    }
    let tar = tar.into_inner().map_err(io)?;
    let mut xz = lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).map_err(io)?;
    xz.write_all(&tar).map_err(io)?;
    Ok((xz.finish().map_err(io)?, count))
}

/// Writes base.txz and then MANIFEST into `out` (each renamed into place,
/// so an interrupted run never leaves a MANIFEST naming a missing or
/// different archive); returns base.txz's SHA-256.
pub fn release(program: &Path, out: &Path) -> Result<String, String> {
    use sha2::Digest;
    let bytes = std::fs::read(program).map_err(|e| format!("{}: {e}", program.display()))?;
    let (txz, files) = base_txz(&bytes)?;
    let hash: String = sha2::Sha256::digest(&txz).iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let manifest = format!("base.txz\t{hash}\t{files}\tbase\t\"Base system (MANDATORY)\"\ton\n");
    for (name, data) in [("base.txz", txz.as_slice()), ("MANIFEST", manifest.as_bytes())] {
        let tmp = out.join(format!("{name}.tmp"));
        std::fs::write(&tmp, data).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, out.join(name)).map_err(|e| format!("{}: {e}", out.join(name).display()))?;
    }
    Ok(hash)
}
