//! `export` and `import`: one jail as one archive (state::archive), its
//! definition and a `zfs send` stream of each of its datasets, every part
//! checked on import; an import that fails, however it fails, leaves
//! nothing of the jail behind.

use std::io::{BufRead, Write};

use super::guard::guard;
use super::{Error, Event, Refused, Report};
use crate::config::{edit, jail, ConfigError};
use crate::host::Host;
use crate::model::jail::{validate, JailType};
use crate::model::snapshot::SnapshotName;
use crate::model::JailName;
use crate::plan::jail as jail_plan;
use crate::plan::snapshot::Tree;
use crate::state::archive::{ArchiveError, Manifest, Reader, Writer, FORMAT};
use crate::state::journal::{self, Action};
use crate::state::layout::definition_path;

/// What an export wrote.
#[derive(Debug)]
pub struct Exported {
    pub manifest: Manifest,
}

/// Which snapshots an export sends.
#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    /// The snapshot to send; default: one taken now.
    pub snapshot: Option<SnapshotName>,
    /// An earlier snapshot the other side has: the streams carry only
    /// what changed since.
    pub since: Option<SnapshotName>,
    /// The key that signs the archive.
    pub sign: Option<ed25519_dalek::SigningKey>,
}

/// What an export sends, fixed while the jail is locked: its definition
/// and the snapshots of its tree.
pub struct Prepared {
    manifest: Manifest,
    text: String,
    jail_ds: String,
}

impl Prepared {
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

/// Fixes what jail `name`'s export sends (`req.snapshot`, or a snapshot
/// taken now, so a running jail is exported as of one instant; `since`
/// checked); the caller holds the jail's lock.
pub fn prepare(
    host: &mut dyn Host,
    cfg: &crate::config::HostConfig,
    name: &JailName,
    req: &ExportRequest,
) -> Result<Prepared, Error> {
    let spec = super::select::defined(host, cfg, name)?;
    let text = crate::config::read_machine_text(host, &definition_path(name))?;
    let jail_ds = jail_plan::dataset(cfg, name).to_string();
    let tree = Tree::read(&host.zfs_list(&jail_ds, crate::plan::snapshot::PROPS)?);
    let since = req.since.clone().map(|s| super::snapshot::whole(name, &tree, s)).transpose()?;
    let snap = match req.snapshot.clone() {
        Some(s) => super::snapshot::whole(name, &tree, s)?,
        None => super::snapshot::take_locked(host, cfg, name, &tree, None)?,
    };
    // Its datasets below the one holding them, which has no files.
    let datasets: Vec<String> =
        tree.filesystems.iter().filter_map(|f| f.strip_prefix(&format!("{jail_ds}/")).map(str::to_string)).collect();
    let manifest = Manifest {
        format: FORMAT,
        brig: env!("CARGO_PKG_VERSION").into(),
        jail: name.to_string(),
        release: spec.release.as_ref().map(ToString::to_string),
        snapshot: snap.to_string(),
        since: since.as_ref().map(ToString::to_string),
        created: super::now(),
        datasets,
        definition_bytes: 0,
        definition_sha256: String::new(),
        image: None,
    };
    Ok(Prepared { manifest, text, jail_ds })
}

/// Writes a prepared export to `out`: no lock needed, the snapshots stay
/// (a snapshot destroyed meanwhile fails the send, and so the export).
pub fn send(
    host: &mut dyn Host,
    p: &Prepared,
    key: Option<&ed25519_dalek::SigningKey>,
    out: &mut dyn Write,
) -> Result<Manifest, Error> {
    let write = |e: std::io::Error| Error::from(ArchiveError::Write(e));
    let (snap, jail_ds) = (&p.manifest.snapshot, &p.jail_ds);
    let mut w = Writer::begin(out, &p.manifest, p.text.as_bytes()).map_err(write)?;
    for d in &p.manifest.datasets {
        let mut part = w.part(d).map_err(write)?;
        let from = p.manifest.since.as_ref().map(|s| format!("{jail_ds}/{d}@{s}"));
        host.zfs_send(&format!("{jail_ds}/{d}@{snap}"), from.as_deref(), &mut part)?;
        part.close().map_err(write)?;
    }
    w.finish(key).map_err(write)?.flush().map_err(write)?;
    Ok(p.manifest.clone())
}

/// Writes jail `name` to `out` as an archive: its definition and a
/// stream of each dataset, whole or since `req.since`, of one snapshot of
/// its tree. The jail is locked only while that is fixed. Any failure is
/// an error: a failed send, a failed write.
pub fn export(
    host: &mut dyn Host,
    name: &JailName,
    req: &ExportRequest,
    out: &mut dyn Write,
    report: &dyn Report,
) -> Result<Exported, Error> {
    let cfg = super::config(host)?;
    let prepared = {
        let _lock = guard(host, &cfg, &[name], report)?;
        prepare(host, &cfg, name, req)?
    };
    Ok(Exported { manifest: send(host, &prepared, req.sign.as_ref(), out)? })
}

/// What to import as, as the user said it.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// Another name than the archive's.
    pub name: Option<String>,
    /// Other addresses than its definition's.
    pub ip4: Vec<String>,
    pub ip6: Vec<String>,
    /// Take host hooks and host mounts of the archive's definition.
    pub trust: bool,
    /// The key the archive must be signed with.
    pub verify: Option<ed25519_dalek::VerifyingKey>,
}

/// What an import made.
#[derive(Debug)]
pub struct Imported {
    pub name: JailName,
    pub manifest: Manifest,
}

/// The archive's definition with the addresses given instead of its own.
fn addresses(text: &str, shown: &std::path::Path, req: &ImportRequest) -> Result<String, Error> {
    let mut doc = edit::document(text, shown)?;
    let not_a_table = |source| Error::from(Refused::NotATable { file: shown.to_path_buf(), source });
    for (key, given) in [("ip4", &req.ip4), ("ip6", &req.ip6)] {
        if !given.is_empty() {
            edit::set(&mut doc, &["network"], key, edit::strings(given)).map_err(not_a_table)?;
        }
    }
    Ok(doc.to_string())
}

/// The definition with `type = "thick"`.
fn thick(text: &str, shown: &std::path::Path) -> Result<String, Error> {
    let mut doc = edit::document(text, shown)?;
    doc["type"] = toml_edit::value("thick");
    Ok(doc.to_string())
}

/// What a definition makes this host do, beyond the jail itself: hooks
/// run on the host, host directories mounted into the jail. From an
/// archive, only when the user says it is trusted.
fn host_effects(spec: &crate::model::jail::JailSpec) -> Vec<String> {
    let e = &spec.exec;
    let mut out: Vec<String> = [
        ("exec.prestart", &e.prestart),
        ("exec.poststart", &e.poststart),
        ("exec.prestop", &e.prestop),
        ("exec.poststop", &e.poststop),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|c| format!("{k} = {c:?}")))
    .collect();
    out.extend(
        spec.mounts.iter().filter(|m| m.fstype == "nullfs").map(|m| format!("a mount of host directory {}", m.source)),
    );
    out
}

/// Refuses an archive whose datasets are not the jail's: its root (which
/// a whole archive must have), its delegated datasets, and datasets a
/// jail made below those.
fn refuse_odd_datasets(spec: &crate::model::jail::JailSpec, manifest: &Manifest, whole: bool) -> Result<(), Error> {
    let ours = |d: &str| {
        d == "root" || spec.zfs.delegate.iter().any(|x| d == x.name || d.starts_with(&format!("{}/", x.name)))
    };
    if let Some(odd) = manifest.datasets.iter().find(|d| !ours(d)) {
        return Err(ArchiveError::Damaged(format!("it holds dataset {odd}, which its definition does not name")).into());
    }
    if whole && !manifest.datasets.iter().any(|d| d == "root") {
        return Err(ArchiveError::Damaged("it holds no root dataset".into()).into());
    }
    Ok(())
}

/// Reads an archive from `input` and makes its jail: the manifest and
/// the definition are checked, and the name, the addresses, the release
/// and the format refused, before anything is made; each dataset is
/// received and its part's sum checked; the definition is written last.
/// A failure takes back what was made (and a kill is taken back by the
/// next command, from the journal).
pub fn import(
    host: &mut dyn Host,
    input: &mut dyn BufRead,
    req: &ImportRequest,
    report: &dyn Report,
) -> Result<Imported, Error> {
    let cfg = super::config(host)?;
    let (mut reader, manifest, text) = Reader::open(input)?;
    if let Some(image) = &manifest.image {
        return Err(Refused::ImageArchive(image.clone()).into());
    }
    let name = JailName::new_jail(req.name.as_deref().unwrap_or(&manifest.jail))?;
    let snap = SnapshotName::parse(&manifest.snapshot)?;
    let _lock = guard(host, &cfg, &[&name], report)?;
    // Dataset names from the archive, checked before any reaches ZFS.
    let jail_ds = jail_plan::dataset(&cfg, &name);
    for d in &manifest.datasets {
        crate::model::DatasetName::parse(&format!("{jail_ds}/{d}"))
            .map_err(|_| ArchiveError::Damaged(format!("it names dataset {d:?}, which is not a dataset name")))?;
    }
    if let Some(since) = &manifest.since {
        // This host's definition stays: it may have been given other
        // addresses, and the archive's would be another's to trust.
        let spec = super::select::defined(host, &cfg, &name).map_err(|_| Refused::IncrementalWithoutJail {
            jail: name.clone(),
            since: SnapshotName::parse(since).unwrap_or_else(|_| snap.clone()),
        })?;
        refuse_odd_datasets(&spec, &manifest, false)?;
        let since = SnapshotName::parse(since)?;
        add_to(host, &cfg, &spec, &since, &snap, &mut reader, req.verify.as_ref())?;
        return Ok(Imported { name, manifest });
    }
    if let Some(j) = host.jail_find(name.as_str())? {
        return Err(Refused::Unmanaged { jail: name, jid: j.jid }.into());
    }
    let text = String::from_utf8(text).map_err(|_| ArchiveError::Damaged("its definition is not text".into()))?;
    let shown = std::path::PathBuf::from(format!("{} (in the archive)", manifest.jail));
    let defaults = cfg.default_params().map_err(|(_, why)| Refused::Defaults(why))?;
    let read = |text: &str| -> Result<crate::model::jail::JailSpec, Error> {
        let raw = jail::parse(&shown, text)?;
        Ok(validate(&name, &raw, &defaults, cfg.defaults.jail_type)
            .map_err(|(offset, msg)| ConfigError::at(&shown, text, offset, msg))?)
    };
    let text = addresses(&text, &shown, req)?;
    let mut spec = read(&text)?;
    // A thin jail's root arrives whole, not as a clone of this host's
    // release: it is thick here (whether `type` was written or defaulted).
    let mut text = text;
    let thickened = spec.jail_type == JailType::Thin;
    if thickened {
        text = thick(&text, &shown)?;
        spec = read(&text)?;
    }
    if !req.trust {
        let effects = host_effects(&spec);
        if !effects.is_empty() {
            return Err(Refused::UntrustedDefinition { jail: name, what: effects }.into());
        }
    }
    refuse_odd_datasets(&spec, &manifest, true)?;
    if host.exists(&definition_path(&name)) {
        return Err(Refused::Exists { path: host.local_path(&definition_path(&name)), jail: name }.into());
    }
    if super::observe::dataset_exists(host, jail_ds.as_str())? {
        return Err(Refused::OrphanDataset { jail: name, dataset: jail_ds.to_string() }.into());
    }
    if let (Some(r), JailType::Thick) = (&spec.release, spec.jail_type) {
        let base = jail_plan::release_origin(&cfg, r);
        if !super::observe::dataset_exists(host, &base)? {
            return Err(Refused::ReleaseMissing(r.clone()).into());
        }
    }
    for dep in &spec.depends {
        if !host.exists(&definition_path(dep)) {
            return Err(Refused::DependencyUndefined { jail: name, dep: dep.clone() }.into());
        }
    }
    let _addresses = crate::state::lock::addresses(host)?;
    super::create::check_addresses(host, &cfg, &spec)?;
    if thickened {
        report.event(&Event::ImportedThick { jail: &name });
    }
    journal::around(host, &name, Action::Create, |h| {
        let made = receive_all(h, &cfg, &spec, &snap, &mut reader, &text, req.verify.as_ref());
        if made.is_err() {
            // Whatever was received goes again; the error is the news.
            let _ = super::lifecycle::remove(h, &cfg, &spec.name, true);
        }
        made
    })?;
    Ok(Imported { name, manifest })
}

/// Receives an incremental archive into jail `spec.name`, which has the
/// archive's datasets, each at snapshot `since` (or at `snap` already: an
/// earlier run of the same import that was killed got that far), and is
/// stopped; this host's definition stays. A failure takes each dataset
/// this run advanced back to `since`.
fn add_to(
    host: &mut dyn Host,
    cfg: &crate::config::HostConfig,
    spec: &crate::model::jail::JailSpec,
    since: &SnapshotName,
    snap: &SnapshotName,
    reader: &mut Reader<&mut dyn BufRead>,
    verify: Option<&ed25519_dalek::VerifyingKey>,
) -> Result<(), Error> {
    let name = &spec.name;
    let jail_ds = jail_plan::dataset(cfg, name);
    if !host.exists(&definition_path(name)) || !super::observe::dataset_exists(host, jail_ds.as_str())? {
        return Err(Refused::IncrementalWithoutJail { jail: name.clone(), since: since.clone() }.into());
    }
    if let Some(j) = host.jail_find(name.as_str())? {
        return Err(Refused::ImportRunning { jail: name.clone(), jid: j.jid }.into());
    }
    let tree = Tree::read(&host.zfs_list(jail_ds.as_str(), crate::plan::snapshot::PROPS)?);
    let mut advanced: Vec<String> = Vec::new();
    let outcome = (|| -> Result<(), Error> {
        while let Some(mut part) = reader.part()? {
            let ds = format!("{jail_ds}/{}", part.name);
            match tree.latest(&format!("{jail_ds}/{}", part.name)).map(str::to_string) {
                Some(l) if l == since.as_str() => {
                    // Taken back on a failure, even of this receive: it
                    // can fail after the kernel took the stream.
                    advanced.push(ds.clone());
                    host.zfs_receive(&format!("{ds}@{snap}"), &[], &mut part)?;
                }
                // Received by an earlier run of this import.
                Some(l) if l == snap.as_str() => {
                    std::io::copy(&mut part, &mut std::io::sink()).map_err(ArchiveError::Io)?;
                }
                other => {
                    return Err(Refused::NotContinuing {
                        jail: name.clone(),
                        dataset: part.name.clone(),
                        latest: other.unwrap_or_else(|| "none".into()),
                        since: since.clone(),
                    }
                    .into())
                }
            }
            part.finish()?;
        }
        if let Some(k) = verify {
            reader.verify(k)?;
        }
        mark(host, jail_ds.as_str(), snap)
    })();
    if outcome.is_err() {
        for ds in &advanced {
            let _ = host.zfs_destroy_snapshots(&[&format!("{ds}@{snap}")]);
            let _ = host.zfs_rollback(&format!("{ds}@{since}"));
        }
    }
    outcome
}

/// The snapshot on the dataset holding the jail, which has no stream of
/// its own: brig knows a jail's snapshots by it (plan::snapshot).
fn mark(host: &mut dyn Host, jail_ds: &str, snap: &SnapshotName) -> Result<(), Error> {
    let name = format!("{jail_ds}@{snap}");
    if !super::observe::dataset_exists(host, &name)? {
        host.zfs_snapshot(&[&name])?;
    }
    Ok(())
}

/// The jail's dataset, each part received into its dataset (with the
/// properties its definition gives it) and checked, the end checked, and
/// the definition.
fn receive_all(
    host: &mut dyn Host,
    cfg: &crate::config::HostConfig,
    spec: &crate::model::jail::JailSpec,
    snap: &SnapshotName,
    reader: &mut Reader<&mut dyn BufRead>,
    text: &str,
    verify: Option<&ed25519_dalek::VerifyingKey>,
) -> Result<(), Error> {
    let jail_ds = jail_plan::dataset(cfg, &spec.name);
    host.zfs_create(jail_ds.as_str(), &[("brig:jail".into(), spec.name.to_string())])?;
    while let Some(mut part) = reader.part()? {
        let props = match spec.zfs.delegate.iter().find(|d| d.name == part.name) {
            Some(d) => match jail_plan::delegated(cfg, spec, d) {
                crate::plan::Op::CreateDataset { props, .. } => props,
                _ => Vec::new(),
            },
            None => jail_plan::root_props(spec),
        };
        host.zfs_receive(&format!("{jail_ds}/{}@{snap}", part.name), &props, &mut part)?;
        part.finish()?;
    }
    if let Some(k) = verify {
        reader.verify(k)?;
    }
    mark(host, jail_ds.as_str(), snap)?;
    host.write_file(&definition_path(&spec.name), text.as_bytes(), 0o600)
        .map_err(|e| ConfigError::io(host.local_path(&definition_path(&spec.name)), e))?;
    Ok(())
}
