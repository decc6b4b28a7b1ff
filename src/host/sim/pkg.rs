//! pkg(8) with `--rootdir`, and `-j` on a running jail, on the simulated
//! machine, against a package
//! repository in pkg's own layout on local disk: `pkg_server` of
//! sim.toml stands for https://pkg.FreeBSD.org, so the repository of URL
//! `pkg+https://pkg.FreeBSD.org/ABI/base_release_N` is the directory
//! `ABI/base_release_N` there. It holds `packagesite.pkg` (a zstd tar of
//! `packagesite.yaml`, one compact manifest a line, with
//! `packagesite.yaml.sig` and `packagesite.yaml.pub`) and the packages
//! each line's `repopath` names (zstd tars of `+COMPACT_MANIFEST`,
//! `+MANIFEST`, then files by absolute path), each with its SHA-256 as
//! `sum`.
//!
//! As libpkg does: the signature is over the SHA-256 hex of
//! packagesite.yaml, and the SHA-256 of the `.pub` must be a trusted
//! fingerprint of the directory the repository configuration names, read
//! under the root first and then on the host (pkg_repo_load_fingerprints
//! since pkg 2.8), a revoked one refused first (pkg_repo_check_fingerprint).
//! The sim's signatures are ed25519 (`$PKGSIGN:eddsa$`, one of pkg's
//! signer types) with the key in hex; FreeBSD's repository signs with RSA.
//! Installed packages are recorded in `var/db/pkg/local.sim.json` of the
//! root, where pkg keeps its SQLite database.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Read;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::jail::Refusal;
use crate::host::{PkgAction, PkgBaseJob};
use crate::state::beneath::Root;

const SERVER_URL: &str = "pkg+https://pkg.FreeBSD.org/";
/// The largest catalogue or package the sim reads.
const MAX_ARCHIVE: u64 = 256 << 20;
const INSTALLED: &str = "var/db/pkg/local.sim.json";
const SIGNATURE_TAG: &[u8] = b"$PKGSIGN:eddsa$";

/// pkg's failure: EIO, its message on one line and its exit status
/// (EPKG_FATAL is 3), as the FreeBSD host reports a tool's last lines.
fn failed(status: i32, msg: impl Into<String>) -> Refusal {
    (Errno::EIO, format!("{} (exit status {status})", msg.into().lines().collect::<Vec<_>>().join(" ")))
}

/// One line of packagesite.yaml, the keys the sim uses.
#[derive(Debug, Clone, Deserialize)]
struct Manifest {
    name: String,
    version: String,
    abi: String,
    repopath: String,
    sum: String,
    #[serde(default)]
    deps: BTreeMap<String, serde_json::Value>,
}

/// One repository of a configuration: name, url, fingerprints, enabled.
struct Repository {
    name: String,
    url: Option<String>,
    fingerprints: Option<String>,
    /// None: not said (enabled, unless an earlier definition said no).
    enabled: Option<bool>,
}

/// The repositories the `.conf` files of `dir` define, in file order (UCL,
/// read as far as brig and FreeBSD's FreeBSD.conf write it).
fn repositories(dir: &Path) -> std::io::Result<Vec<Repository>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    entries.sort();
    let mut out: Vec<Repository> = Vec::new();
    for file in entries {
        let text = one_pair_a_line(&std::fs::read_to_string(&file).unwrap_or_default());
        for part in text.lines().map(str::trim) {
            if let Some(head) = part.strip_suffix('{') {
                let name = head.trim().trim_end_matches(':').trim().to_string();
                out.push(Repository { name, url: None, fingerprints: None, enabled: None });
                continue;
            }
            let (Some((k, v)), Some(repo)) = (part.split_once(':'), out.last_mut()) else { continue };
            let v = v.trim().trim_matches('"').to_string();
            match k.trim() {
                "url" => repo.url = Some(v),
                "fingerprints" => repo.fingerprints = Some(v),
                "enabled" => repo.enabled = Some(!matches!(v.to_lowercase().as_str(), "no" | "false" | "off")),
                _ => {}
            }
        }
    }
    Ok(out)
}

/// A configuration's text with its blocks and pairs one a line, whether
/// written over lines or on one (`FreeBSD: { enabled: no }`); what is in
/// quotes (`${ABI}`) is kept as it is.
fn one_pair_a_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                out.push(c);
            }
            '{' if !quoted => out.push_str("{\n"),
            '}' if !quoted => out.push_str("\n}\n"),
            ',' | '\n' if !quoted => {
                quoted = false;
                out.push('\n');
            }
            _ => out.push(c),
        }
    }
    out
}

/// The `url` and `fingerprints` of `repository` in the `.conf` files of
/// `repos`.
fn repository(repos: &Path, name: &str) -> Result<(String, String), Refusal> {
    let all = repositories(repos).map_err(|e| failed(3, format!("pkg: {}: {e}", repos.display())))?;
    all.into_iter()
        .filter(|r| r.name == name)
        .find_map(|r| Some((r.url?, r.fingerprints?)))
        .ok_or_else(|| failed(3, format!("pkg: Repository {name} cannot be found or has no fingerprints")))
}

/// One member of an archive: its name, contents (a file's), mode and
/// link target (a symbolic link's).
struct Member {
    name: String,
    data: Vec<u8>,
    mode: u32,
    link: Option<PathBuf>,
}

/// The members of a zstd tar, in order.
fn members(bytes: &[u8], what: &str) -> Result<Vec<Member>, Refusal> {
    let bad = |e: &dyn std::fmt::Display| failed(3, format!("pkg: {what}: {e}"));
    let decoder = ruzstd::decoding::StreamingDecoder::new(bytes).map_err(|e| bad(&e))?;
    let mut tar = tar::Archive::new(decoder.take(MAX_ARCHIVE));
    let mut out = Vec::new();
    for entry in tar.entries().map_err(|e| bad(&e))? {
        let mut entry = entry.map_err(|e| bad(&e))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mode = entry.header().mode().map_err(|e| bad(&e))?;
        let link = entry.link_name().map_err(|e| bad(&e))?.map(|l| l.into_owned());
        let mut data = Vec::new();
        if entry.header().entry_type().is_file() {
            entry.read_to_end(&mut data).map_err(|e| bad(&e))?;
        }
        out.push(Member { name, data, mode, link });
    }
    Ok(out)
}

fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    std::fs::File::open(path)?.take(MAX_ARCHIVE).read_to_end(&mut data)?;
    Ok(data)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fingerprints (SHA-256 hex) listed in `dir/kind/*`.
fn fingerprints(dir: &Path, kind: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir.join(kind))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|t| {
            t.lines()
                .find_map(|l| l.trim().strip_prefix("fingerprint:").map(|v| v.trim().trim_matches('"').to_lowercase()))
        })
        .collect()
}

/// packagesite.yaml of the repository, its signature checked.
fn catalogue(repo: &Path, (name, url): (&str, &str), keys: &[PathBuf]) -> Result<Vec<Manifest>, Refusal> {
    let site = repo.join("packagesite.pkg");
    let bytes = read_bounded(&site)
        .map_err(|_| failed(3, format!("pkg: {url}/packagesite.pkg: Not Found\nUnable to update repository {name}")))?;
    let files: BTreeMap<String, Vec<u8>> =
        members(&bytes, "packagesite.pkg")?.into_iter().map(|m| (m.name, m.data)).collect();
    let (Some(yaml), Some(sig), Some(public)) =
        (files.get("packagesite.yaml"), files.get("packagesite.yaml.sig"), files.get("packagesite.yaml.pub"))
    else {
        return Err(failed(3, "pkg: No signature found"));
    };
    let fingerprint = hex(&Sha256::digest(public));
    let (trusted, revoked): (BTreeSet<String>, BTreeSet<String>) = keys
        .iter()
        .map(|d| (fingerprints(d, "trusted"), fingerprints(d, "revoked")))
        .find(|(t, _)| !t.is_empty())
        .unwrap_or_default();
    if revoked.contains(&fingerprint) {
        return Err(failed(3, "pkg: At least one of the certificates has been revoked"));
    }
    if trusted.is_empty() {
        return Err(failed(3, "pkg: No trusted certificates"));
    }
    if !trusted.contains(&fingerprint) {
        return Err(failed(3, "pkg: No trusted public keys found"));
    }
    let verified = (|| {
        let key: [u8; 32] = (0..32)
            .map(|i| u8::from_str_radix(std::str::from_utf8(public.get(2 * i..2 * i + 2)?).ok()?, 16).ok())
            .collect::<Option<Vec<u8>>>()?
            .try_into()
            .ok()?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&key).ok()?;
        let sig: [u8; 64] = sig.strip_prefix(SIGNATURE_TAG)?.try_into().ok()?;
        let message = hex(&Sha256::digest(yaml));
        key.verify_strict(message.as_bytes(), &ed25519_dalek::Signature::from_bytes(&sig)).ok()
    })();
    if verified.is_none() {
        return Err(failed(3, "pkg: signature verification failure"));
    }
    String::from_utf8_lossy(yaml)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| failed(3, format!("pkg: packagesite.yaml: {e}"))))
        .collect()
}

/// The packages to install for `wanted`, with what they depend on.
fn resolve<'a>(all: &'a [Manifest], wanted: &[String]) -> Result<Vec<&'a Manifest>, Refusal> {
    let mut out: Vec<&Manifest> = Vec::new();
    let mut queue: VecDeque<String> = wanted.iter().cloned().collect();
    while let Some(name) = queue.pop_front() {
        if out.iter().any(|m| m.name == name) {
            continue;
        }
        let Some(m) = all.iter().find(|m| m.name == name) else {
            return Err(failed(
                1,
                format!("pkg: No packages available to install matching '{name}' have been found in the repositories"),
            ));
        };
        queue.extend(m.deps.keys().cloned());
        out.push(m);
    }
    Ok(out)
}

/// Whether a package's ABI fits the one pkg runs for (is_valid_abi):
/// equal, or `*` for its last part.
fn abi_fits(package: &str, wanted: &str) -> bool {
    package == wanted || package.strip_suffix('*').is_some_and(|p| wanted.starts_with(p))
}

/// Unpacks a package's files into the root, never through its links.
fn install(root: &Root, bytes: &[u8], name: &str) -> Result<(), Refusal> {
    let bad = |e: crate::state::beneath::BeneathError| failed(3, format!("pkg: {name}: {e}"));
    for m in members(bytes, name)? {
        if m.name.starts_with('+') {
            continue;
        }
        let rel = Path::new(m.name.trim_start_matches('/'));
        if m.name.ends_with('/') {
            root.create_dir(rel, m.mode).map_err(bad)?;
        } else if let Some(target) = m.link {
            root.remove_all(rel).map_err(bad)?;
            root.symlink(rel, &target).map_err(bad)?;
        } else {
            root.write_atomic(rel, &m.data, m.mode & 0o7777).map_err(bad)?;
        }
    }
    Ok(())
}

/// `pkg --rootdir ROOT --repo-conf-dir REPOS install|upgrade -y -r REPO`:
/// `machine` is the sim's directory (`/` of the machine), `root` the
/// local path of the job's root.
pub fn run(server: Option<&Path>, machine: &Path, root: &Path, job: &PkgBaseJob) -> Result<String, Refusal> {
    let repos = super::fs::local(machine, &job.repos);
    let (url, keys) = repository(&repos, &job.repository)?;
    let key_dirs = [root.join(keys.trim_start_matches('/')), machine.join(keys.trim_start_matches('/'))];
    install_from(server, (&job.repository, &url), &key_dirs, root, &job.abi, &job.action)
}

/// `pkg -j JID install -y PACKAGE...` for the jail whose root is `root`
/// (a local path): pkg attaches to the jail before it reads its
/// configuration (main.c), so the repositories are the jail's (its
/// /etc/pkg, then /usr/local/etc/pkg/repos, where a name defined again
/// changes what it says: pkg_config.c), the first enabled one with a url and
/// fingerprints is used, `${ABI}` in its url is the jail's ABI, and the
/// keys are read in the jail. pkg reads the ABI from the ELF note of the
/// jail's ABI_FILE (/usr/bin/uname; pkg_abi_from_file); the sim, whose
/// test userland is no FreeBSD ELF, from its /bin/freebsd-version.
/// Not modelled: pkg looks for packages in every enabled repository
/// (pkg_jobs_universe_select_candidate, by priority), the sim in the
/// first; of the url's variables only `${ABI}` is expanded.
pub fn run_in_jail(server: Option<&Path>, root: &Path, arch: &str, packages: &[String]) -> Result<String, Refusal> {
    let target = Root::open(root).map_err(|e| (e.errno.unwrap_or(Errno::EIO), e.to_string()))?;
    let abi = crate::release::userland(&target)
        .ok()
        .flatten()
        .and_then(|v| crate::model::ReleaseName::parse(&v.release).ok())
        .zip(crate::model::Arch::parse(arch).ok())
        .map(|(r, a)| crate::release::pkgbase::abi(&r, &a))
        .ok_or_else(|| failed(1, "pkg: Unable to determine the ABI"))?;
    let mut all: Vec<Repository> = Vec::new();
    for dir in ["etc/pkg", "usr/local/etc/pkg/repos"] {
        for r in repositories(&root.join(dir)).unwrap_or_default() {
            // A name defined again changes what it says and keeps the rest
            // (`FreeBSD: { enabled: no }` turns the stock one off).
            match all.iter_mut().find(|a| a.name == r.name) {
                Some(a) => {
                    a.url = r.url.or(a.url.take());
                    a.fingerprints = r.fingerprints.or(a.fingerprints.take());
                    a.enabled = r.enabled.or(a.enabled);
                }
                None => all.push(r),
            }
        }
    }
    let (name, url, keys) = all
        .into_iter()
        .filter(|r| r.enabled != Some(false))
        .find_map(|r| Some((r.name, r.url?, r.fingerprints?)))
        .ok_or_else(|| failed(3, "pkg: No active remote repositories configured"))?;
    let url = url.replace("${ABI}", &abi);
    let key_dirs = [root.join(keys.trim_start_matches('/'))];
    install_from(server, (&name, &url), &key_dirs, root, &abi, &PkgAction::Install(packages.to_vec()))
}

/// What both do once the repository is known: its catalogue checked
/// against the keys, the packages resolved and installed into `root`.
fn install_from(
    server: Option<&Path>,
    (name, url): (&str, &str),
    key_dirs: &[PathBuf],
    root: &Path,
    abi: &str,
    action: &PkgAction,
) -> Result<String, Refusal> {
    let Some(rel) = url.strip_prefix(SERVER_URL) else {
        return Err(failed(3, format!("pkg: {url}: the simulated host reaches only {SERVER_URL}")));
    };
    let repo = match server {
        Some(s) if s.join(rel).is_dir() => s.join(rel),
        _ => return Err(failed(3, format!("pkg: {url}/meta.conf: Not Found\nUnable to update repository {name}"))),
    };
    let all = catalogue(&repo, (name, url), key_dirs)?;
    let target = Root::open(root).map_err(|e| (e.errno.unwrap_or(Errno::EIO), e.to_string()))?;
    let record = root.join(INSTALLED);
    let mut installed: BTreeMap<String, String> =
        std::fs::read(&record).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let todo: Vec<&Manifest> = match action {
        PkgAction::Install(names) => resolve(&all, names)?,
        PkgAction::Upgrade => all.iter().filter(|m| installed.get(&m.name).is_some_and(|v| *v != m.version)).collect(),
    };
    if todo.is_empty() {
        return Ok("Your packages are up to date.".into());
    }
    let mut said = Vec::new();
    for m in todo {
        if !abi_fits(&m.abi, abi) {
            return Err(failed(3, format!("pkg: wrong architecture: {} instead of {abi}", m.abi)));
        }
        let bytes = read_bounded(&repo.join(&m.repopath))
            .map_err(|_| failed(3, format!("pkg: {url}/{}: Not Found", m.repopath)))?;
        if hex(&Sha256::digest(&bytes)) != m.sum {
            return Err(failed(3, format!("pkg: {}-{} failed checksum from repository", m.name, m.version)));
        }
        install(&target, &bytes, &m.name)?;
        installed.insert(m.name.clone(), m.version.clone());
        let text = serde_json::to_vec(&installed).map_err(|e| failed(3, e.to_string()))?;
        target.write_atomic(Path::new(INSTALLED), &text, 0o644).map_err(|e| failed(3, e.to_string()))?;
        said.push(format!("Installing {}-{}...", m.name, m.version));
    }
    Ok(said.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repository_defined_again_on_one_line_is_turned_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("FreeBSD.conf"),
            "FreeBSD: {\n  url: \"pkg+https://pkg.FreeBSD.org/${ABI}/quarterly\",\n  fingerprints: \"/usr/share/keys/pkg\"\n}\n",
        )
        .expect("write");
        let local = dir.path().join("local");
        std::fs::create_dir(&local).expect("mkdir");
        std::fs::write(local.join("FreeBSD.conf"), "FreeBSD: { enabled: no }\n").expect("write");
        let first = repositories(dir.path()).expect("read");
        assert_eq!((first[0].name.as_str(), first[0].enabled), ("FreeBSD", None));
        assert_eq!(first[0].url.as_deref(), Some("pkg+https://pkg.FreeBSD.org/${ABI}/quarterly"));
        let again = repositories(&local).expect("read");
        assert_eq!((again[0].name.as_str(), again[0].enabled, again[0].url.as_deref()), ("FreeBSD", Some(false), None));
    }
}
