//! `clone`: a new jail whose datasets are ZFS clones of another jail's
//! snapshot, with a definition of its own made from the other's: what
//! must be unique (name, hostname, addresses, Ethernet address, exposed
//! host ports) is not carried over.

use super::guard::guard;
use super::{Error, Event, Refused, Report};
use crate::config::{edit, jail, ConfigError};
use crate::host::Host;
use crate::model::jail::validate;
use crate::model::snapshot::SnapshotName;
use crate::model::JailName;
use crate::plan::jail as jail_plan;
use crate::plan::snapshot::Tree;
use crate::state::journal::{self, Action};
use crate::state::layout::definition_path;

/// What to clone, as the user said it.
#[derive(Debug, Clone, Default)]
pub struct CloneRequest {
    pub source: String,
    pub name: String,
    /// The source's snapshot to clone; default: one taken now.
    pub snapshot: Option<String>,
    pub ip4: Vec<String>,
    pub ip6: Vec<String>,
    pub hostname: Option<String>,
}

/// The jail that was made, and the source's snapshot it was made from.
#[derive(Debug)]
pub struct Cloned {
    pub name: JailName,
    pub snapshot: SnapshotName,
    /// What the source had that the clone does not: its exposed ports.
    pub dropped: Vec<String>,
}

/// The clone's definition: the source's text, every key it wrote kept,
/// but for what must be unique.
fn definition(source: &str, shown: &std::path::Path, req: &CloneRequest) -> Result<(String, Vec<String>), Error> {
    let mut doc = edit::document(source, shown)?;
    let not_a_table = |source| Error::from(Refused::NotATable { file: shown.to_path_buf(), source });
    match &req.hostname {
        Some(h) => doc["hostname"] = toml_edit::value(h.as_str()),
        None => {
            doc.remove("hostname");
        }
    }
    for (key, given) in [("ip4", &req.ip4), ("ip6", &req.ip6)] {
        if given.is_empty() {
            edit::remove(&mut doc, &["network"], key).map_err(not_a_table)?;
        } else {
            edit::set(&mut doc, &["network"], key, edit::strings(given)).map_err(not_a_table)?;
        }
    }
    // A VNET jail's Ethernet address is its name's unless written.
    edit::remove(&mut doc, &["network"], "mac").map_err(not_a_table)?;
    let mut dropped = Vec::new();
    if let Some(expose) = doc.remove("expose") {
        let n = expose.as_array_of_tables().map_or(1, |a| a.len());
        dropped.push(format!("{n} [[expose]] (its host ports are the source's)"));
    }
    Ok((doc.to_string(), dropped))
}

pub fn clone(host: &mut dyn Host, req: &CloneRequest, report: &dyn Report) -> Result<Cloned, Error> {
    let cfg = super::config(host)?;
    let source = JailName::parse(&req.source)?;
    let name = JailName::new_jail(&req.name)?;
    let snap = req.snapshot.as_deref().map(SnapshotName::parse).transpose()?;
    let _lock = guard(host, &cfg, &[&source, &name], report)?;
    let src_spec = super::select::defined(host, &cfg, &source)?;
    let src_path = definition_path(&source);
    let text = crate::config::read_machine_text(host, &src_path)?;
    let shown = host.local_path(&src_path);
    let had_addresses = !src_spec.network.addresses().is_empty();
    if had_addresses && req.ip4.is_empty() && req.ip6.is_empty() {
        return Err(Refused::CloneNeedsAddresses { from: source, jail: name }.into());
    }
    let (new_text, dropped) = definition(&text, &shown, req)?;
    let new_shown = std::path::PathBuf::from(format!("brig clone {source} {name}"));
    let raw = jail::parse(&new_shown, &new_text)?;
    let defaults = cfg.default_params().map_err(|(_, why)| Refused::Defaults(why))?;
    let spec = validate(&name, &raw, &defaults, cfg.defaults.jail_type)
        .map_err(|(offset, msg)| ConfigError::at(&new_shown, &new_text, offset, msg))?;
    if host.exists(&definition_path(&name)) {
        return Err(Refused::Exists { path: host.local_path(&definition_path(&name)), jail: name }.into());
    }
    if let Some(j) = host.jail_find(name.as_str())? {
        return Err(Refused::Unmanaged { jail: name, jid: j.jid }.into());
    }
    let dataset = jail_plan::dataset(&cfg, &name);
    if super::observe::dataset_exists(host, dataset.as_str())? {
        return Err(Refused::OrphanDataset { jail: name, dataset: dataset.to_string() }.into());
    }
    let _addresses = crate::state::lock::addresses(host)?;
    super::create::check_addresses(host, &cfg, &spec)?;

    // The source's snapshot, covering its whole tree.
    let src_ds = jail_plan::dataset(&cfg, &source);
    let tree = Tree::read(&host.zfs_list(src_ds.as_str(), crate::plan::snapshot::PROPS)?);
    let snap = match snap {
        Some(s) => super::snapshot::whole(&source, &tree, s)?,
        None => super::snapshot::take_locked(host, &cfg, &source, &tree, None)?,
    };
    let ops = crate::plan::jail::clone(&cfg, &source, &spec, &snap, &new_text);
    for d in &dropped {
        report.event(&Event::CloneDropped { jail: &name, what: d });
    }
    journal::around(host, &name, Action::Create, |h| crate::exec::run(h, &ops).map_err(Error::from))?;
    Ok(Cloned { name, snapshot: snap, dropped })
}
