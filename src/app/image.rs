//! `brig commit` and `brig image list|destroy|prune`: a stopped jail's
//! root made a read-only image that `brig create --image` clones as it
//! clones a release; and the layer cache of provisioning kept in bounds.

use serde::Serialize;

use super::guard::guard;
use super::{Error, Refused, Report};
use crate::config::HostConfig;
use crate::host::Host;
use crate::model::JailName;
use crate::plan::image::{self as plan, ImageRow, LayerRow, IMAGE_SNAPSHOT};
use crate::plan::jail::root_dataset;
use crate::plan::provision::{cache, is_layer};
use crate::state::archive::{ArchiveError, Manifest, Reader, Writer, IMAGE_FORMAT};
use crate::state::journal::{self, Action};

/// The image a commit made.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Committed {
    pub image: String,
    pub jail: String,
    pub release: Option<String>,
    pub dataset: String,
}

/// Makes stopped jail `name`'s root the image `image`: a snapshot
/// `@base`, cloned to `<root>/images/IMAGE` (read-only) and promoted, so
/// the image holds the root's history and the jail's root becomes its
/// clone. A root with snapshots of the user's is refused: promotion would
/// move them into the image.
pub fn commit(host: &mut dyn Host, name: &JailName, image: &JailName, report: &dyn Report) -> Result<Committed, Error> {
    let cfg = super::config(host)?;
    let _lock = guard(host, &cfg, &[name], report)?;
    let spec = super::select::defined(host, &cfg, name)?;
    if let Some(j) = host.jail_find(name.as_str())? {
        return Err(Refused::CommitRunning { jail: name.clone(), jid: j.jid }.into());
    }
    let target = plan::image(&cfg, image);
    if super::observe::dataset_exists(host, target.as_str())? {
        return Err(Refused::ImageExists(image.clone()).into());
    }
    let root = root_dataset(&cfg, name).to_string();
    let theirs: Vec<String> = super::observe::listing(host, &root, &[])?
        .into_iter()
        .filter_map(|d| d.name.split_once('@').map(|(_, s)| s.to_string()))
        .filter(|s| !is_layer(s))
        .collect();
    if !theirs.is_empty() {
        return Err(Refused::CommitSnapshots { jail: name.clone(), snapshots: theirs }.into());
    }
    let release = spec.release.as_ref().map(ToString::to_string);
    let mut props = vec![("readonly".to_string(), "on".to_string()), (plan::FROM_PROP.to_string(), name.to_string())];
    if let Some(r) = &release {
        props.push((plan::RELEASE_PROP.to_string(), r.clone()));
    }
    let images = plan::images(&cfg);
    let made = journal::around(host, name, Action::Commit, |h| -> Result<(), Error> {
        super::observe::ensure_container(h, images.as_str())?;
        let snap = format!("{root}@{IMAGE_SNAPSHOT}");
        h.zfs_snapshot(&[&snap])?;
        h.zfs_clone(&snap, target.as_str(), &props)?;
        h.zfs_promote(target.as_str())?;
        Ok(())
    });
    if let Err(e) = made {
        // What was made before the failure goes, as a kill's would.
        recover_commit(host, &cfg, name)?;
        return Err(e);
    }
    Ok(Committed { image: image.to_string(), jail: name.to_string(), release, dataset: target.to_string() })
}

/// Takes back a commit a killed brig left: an image clone not yet
/// promoted and the root's `@base` go; a promoted one is the image.
pub fn recover_commit(host: &mut dyn Host, cfg: &HostConfig, name: &JailName) -> Result<super::Recovery, Error> {
    let root = root_dataset(cfg, name).to_string();
    let snap = format!("{root}@{IMAGE_SNAPSHOT}");
    let images = plan::images(cfg);
    for d in super::observe::listing(host, images.as_str(), &["origin"])? {
        if d.props.get("origin") == Some(&snap) {
            host.zfs_destroy(&d.name, false)?;
        }
    }
    if super::observe::dataset_exists(host, &snap)? {
        host.zfs_destroy_snapshots(&[&snap])?;
        return Ok(super::Recovery::TakenBack);
    }
    Ok(super::Recovery::Finished)
}

/// The images and the cached layers, with what uses each.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Images {
    pub images: Vec<ImageRow>,
    pub layers: Vec<LayerRow>,
}

pub fn list(host: &dyn Host) -> Result<Images, Error> {
    let cfg = super::config(host)?;
    let images_root = plan::images(&cfg).to_string();
    let image_list = super::observe::listing(host, &images_root, &["clones", plan::RELEASE_PROP, plan::FROM_PROP])?;
    let users = plan::users(&image_list);
    let prefix = format!("{images_root}/");
    let images = image_list
        .iter()
        // Not one being received (`NAME.incoming`).
        .filter(|d| d.name.strip_prefix(&prefix).is_some_and(|n| !n.contains(['/', '@', '.'])))
        .map(|d| ImageRow {
            name: d.name[prefix.len()..].to_string(),
            release: d.props.get(plan::RELEASE_PROP).cloned().unwrap_or_default(),
            from: d.props.get(plan::FROM_PROP).cloned().unwrap_or_default(),
            used_by: users.get(&d.name).into_iter().flatten().map(|u| plan::user_name(&cfg, u)).collect(),
        })
        .collect();
    let (layer_list, users, counts) = layer_users(host, &cfg)?;
    let layers = layer_list
        .iter()
        .map(|l| {
            let mut parts = l.rsplit('/');
            let (layer, base) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
            LayerRow {
                base: base.to_string(),
                layer: layer.to_string(),
                snapshots: counts.get(l).copied().unwrap_or(0),
                used_by: users.get(l).into_iter().flatten().map(|u| plan::user_name(&cfg, u)).collect(),
            }
        })
        .collect();
    Ok(Images { images, layers })
}

type Users = std::collections::BTreeMap<String, std::collections::BTreeSet<String>>;

/// The cache's layer datasets (`BASE/LAYER`), the clones of each, and
/// how many layers (snapshots) each holds: one listing.
fn layer_users(host: &dyn Host, cfg: &HostConfig) -> Result<(Vec<String>, Users, Counts), Error> {
    let root = cache(cfg).to_string();
    let list = super::observe::listing(host, &root, &["clones"])?;
    let prefix = format!("{root}/");
    let layers = list
        .iter()
        .filter(|d| d.name.strip_prefix(&prefix).is_some_and(|n| !n.contains('@') && n.matches('/').count() == 1))
        .map(|d| d.name.clone())
        .collect();
    let mut counts = Counts::new();
    for d in &list {
        if let Some((fs, _)) = d.name.split_once('@') {
            *counts.entry(fs.to_string()).or_default() += 1;
        }
    }
    Ok((layers, plan::users(&list), counts))
}

/// Snapshot counts by dataset.
type Counts = std::collections::BTreeMap<String, usize>;

/// Destroys image `name`; refused while a jail (or layer) is cloned from
/// it, naming them.
pub fn destroy(host: &mut dyn Host, name: &JailName) -> Result<(), Error> {
    let cfg = super::config(host)?;
    let dataset = plan::image(&cfg, name);
    let list = super::observe::listing(host, dataset.as_str(), &["clones"])?;
    if list.is_empty() {
        return Err(Refused::NoImage(name.clone()).into());
    }
    let users: Vec<String> = plan::users(&list).into_values().flatten().map(|u| plan::user_name(&cfg, &u)).collect();
    if !users.is_empty() {
        return Err(Refused::ImageInUse { image: name.clone(), users }.into());
    }
    host.zfs_destroy(dataset.as_str(), true)?;
    Ok(())
}

/// Destroys the cached layers nothing uses (or says which, `dry_run`).
pub fn prune(host: &mut dyn Host, dry_run: bool) -> Result<Vec<String>, Error> {
    let cfg = super::config(host)?;
    let (layers, users, _) = layer_users(host, &cfg)?;
    let gone = plan::prunable(&layers, &users);
    if !dry_run {
        for l in &gone {
            host.zfs_destroy(l, true)?;
        }
    }
    Ok(gone)
}

/// The part of an image's archive that holds its stream.
const PART: &str = "image";

/// Writes image `name` to `out` as an archive (the export format of
/// jails, as `IMAGE_FORMAT`): one whole stream of its `@base`, so the
/// other host needs nothing it was made from.
pub fn export(
    host: &mut dyn Host,
    name: &JailName,
    key: Option<&ed25519_dalek::SigningKey>,
    out: &mut dyn std::io::Write,
) -> Result<Manifest, Error> {
    let cfg = super::config(host)?;
    let dataset = plan::image(&cfg, name);
    let snap = plan::origin(&cfg, name);
    if !super::observe::dataset_exists(host, &snap)? {
        return Err(Refused::NoImage(name.clone()).into());
    }
    let props = host.zfs_get(dataset.as_str(), &[plan::RELEASE_PROP])?;
    let manifest = Manifest {
        format: IMAGE_FORMAT,
        brig: env!("CARGO_PKG_VERSION").into(),
        jail: name.to_string(),
        release: props.get(plan::RELEASE_PROP).filter(|r| !r.is_empty() && *r != "-").cloned(),
        snapshot: IMAGE_SNAPSHOT.into(),
        since: None,
        created: super::now(),
        datasets: vec![PART.into()],
        definition_bytes: 0,
        definition_sha256: String::new(),
        image: Some(name.to_string()),
    };
    let write = |e: std::io::Error| Error::from(ArchiveError::Write(e));
    let mut w = Writer::begin(out, &manifest, b"").map_err(write)?;
    let mut part = w.part(PART).map_err(write)?;
    host.zfs_send(&snap, None, &mut part)?;
    part.close().map_err(write)?;
    w.finish(key).map_err(write)?.flush().map_err(write)?;
    Ok(manifest)
}

/// Where an image is received before it is whole: a name no image has
/// (image names hold no '.'), destroyed by the next import of the name.
fn incoming(cfg: &HostConfig, name: &JailName) -> crate::model::DatasetName {
    plan::images(cfg).child(&format!("{name}.incoming"))
}

/// Reads an image's archive into image `name` (default: its own name):
/// received whole under a scratch name, its end and signature checked,
/// then read-only and renamed into place; any failure leaves nothing.
pub fn import(
    host: &mut dyn Host,
    input: &mut dyn std::io::BufRead,
    name: Option<&str>,
    verify: Option<&ed25519_dalek::VerifyingKey>,
) -> Result<(JailName, Manifest), Error> {
    let cfg = super::config(host)?;
    let (mut reader, manifest, _) = Reader::open(input)?;
    let Some(own) = manifest.image.clone() else { return Err(Refused::JailArchive(manifest.jail.clone()).into()) };
    let name = crate::model::name::image_name(name.unwrap_or(&own)).map_err(Error::Usage)?;
    if manifest.datasets != [PART] || manifest.snapshot != IMAGE_SNAPSHOT {
        return Err(ArchiveError::Damaged("it is not laid out as an image's archive".into()).into());
    }
    let target = plan::image(&cfg, &name);
    if super::observe::dataset_exists(host, target.as_str())? {
        return Err(Refused::ImageExists(name).into());
    }
    let images = plan::images(&cfg);
    super::observe::ensure_container(host, images.as_str())?;
    let scratch = incoming(&cfg, &name);
    if super::observe::dataset_exists(host, scratch.as_str())? {
        host.zfs_destroy(scratch.as_str(), true)?;
    }
    let mut props = vec![("readonly".to_string(), "on".to_string())];
    if let Some(r) = &manifest.release {
        crate::model::ReleaseName::parse(r)?;
        props.push((plan::RELEASE_PROP.to_string(), r.clone()));
    }
    let received = (|| -> Result<(), Error> {
        let mut part = reader.part()?.ok_or_else(|| ArchiveError::Damaged("it ends before its image".into()))?;
        host.zfs_receive(&format!("{scratch}@{IMAGE_SNAPSHOT}"), &props, &mut part)?;
        part.finish()?;
        if reader.part()?.is_some() {
            return Err(ArchiveError::Damaged("it holds more than an image".into()).into());
        }
        if let Some(k) = verify {
            reader.verify(k)?;
        }
        host.zfs_rename(scratch.as_str(), target.as_str())?;
        Ok(())
    })();
    if let Err(e) = received {
        if super::observe::dataset_exists(host, scratch.as_str()).unwrap_or(false) {
            let _ = host.zfs_destroy(scratch.as_str(), true);
        }
        return Err(e);
    }
    Ok((name, manifest))
}
