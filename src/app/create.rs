//! `create`: a definition from a file, a template or nothing, with the
//! request's values on top; validated whole; then the jail's datasets and
//! root, the definition written last.

use std::path::PathBuf;

use super::guard::guard_unless;
use super::{Error, Refused, Report};
use crate::config::templates;
use crate::config::{edit, jail, ConfigError, HostConfig};
use crate::host::Host;
use crate::model::jail::{validate, JailSpec, JailType};
use crate::model::network::Network;
use crate::model::{JailName, ReleaseName};
use crate::plan::addresses::AddressBook;
use crate::plan::jail as plan;
use crate::plan::release::{self as release_plan, BASE_SNAPSHOT};
use crate::state::journal::{self, Action};
use crate::state::layout::definition_path;

/// What to create, as the user said it; `None` and empty leave a value to
/// the file, the template or brig.toml's defaults.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub name: String,
    pub release: Option<String>,
    pub jail_type: Option<String>,
    pub ip4: Vec<String>,
    pub ip6: Vec<String>,
    pub interface: Option<String>,
    /// `mode = "vnet"`.
    pub vnet: bool,
    pub bridge: Option<String>,
    pub hostname: Option<String>,
    pub boot: bool,
    pub priority: Option<i64>,
    pub depends: Vec<String>,
    /// `NAME=VALUE` jail parameters.
    pub params: Vec<String>,
    /// A definition file to start from.
    pub from: Option<PathBuf>,
    /// A template to start from.
    pub template: Option<String>,
    /// `KEY=VALUE` settings of the definition.
    pub sets: Vec<String>,
    /// An image (`brig commit`) to clone instead of the release.
    pub image: Option<String>,
    /// Check everything and say what would be made; make nothing.
    pub dry_run: bool,
}

/// The jail that was created.
#[derive(Debug)]
pub struct Created {
    pub name: JailName,
    pub jail_type: JailType,
    pub release: Option<ReleaseName>,
    /// Its root, a path of the managed machine.
    pub root: PathBuf,
    /// Its definition, as written (or, dry, as it would be).
    pub definition: String,
    /// The steps that made it (or would), as `--dry-run` prints them.
    pub operations: Vec<String>,
}

/// `V` of `NAME=V` as TOML: `true`, `2`, `"text"`, or bare text.
fn param_value(v: &str) -> toml_edit::Value {
    match edit::parse_value(v) {
        toml_edit::Value::InlineTable(_) => toml_edit::Value::from(v),
        val => val,
    }
}

/// Files that go beside a definition (`jails/NAME/...`): a template's.
pub(super) type Files = Vec<(PathBuf, Vec<u8>)>;

/// The definition `--template T` or `--from FILE` starts from, if either
/// is given (the template first); how errors name it (a template by the
/// `command` that used it); and the files that go beside it.
pub(super) fn starting_point(
    host: &dyn Host,
    template: Option<&str>,
    from: Option<&std::path::Path>,
    command: &str,
) -> Result<Option<(toml_edit::DocumentMut, PathBuf, Files)>, Error> {
    Ok(match (template, from) {
        (Some(t), _) => {
            let t = templates::find(host, t)?;
            let doc = templates::instantiate(&t, &[])?;
            Some((doc, PathBuf::from(format!("{command} --template {}", t.name)), t.files))
        }
        (None, Some(p)) => {
            let text = crate::config::read_definition(p)?;
            let doc = edit::document(&text, p)?;
            Some((doc, p.to_path_buf(), files_beside(p)))
        }
        (None, None) => None,
    })
}

/// The definition text: the file or the template with its settings, with
/// the request's values applied on top; how to name it in errors; the
/// template's files; and whether its errors are told by key, for a text
/// that is not a TOML file as the user wrote it (its lines are not theirs).
fn definition(host: &dyn Host, req: &CreateRequest) -> Result<(String, PathBuf, Files, bool), Error> {
    let command = format!("brig create {}", req.name);
    let (mut doc, shown, files) = starting_point(host, req.template.as_deref(), req.from.as_deref(), &command)?
        .unwrap_or_else(|| (toml_edit::DocumentMut::new(), PathBuf::from(command), Vec::new()));
    let written = req.template.is_none() && req.from.as_deref().is_some_and(|p| !crate::config::json::is_json(p));
    let original = doc.to_string();
    for assignment in &req.sets {
        templates::set(&mut doc, assignment)?;
    }
    let mut set = |k: &str, v: toml_edit::Value| {
        doc[k] = toml_edit::value(v);
    };
    if let Some(r) = &req.release {
        set("release", r.as_str().into());
    }
    if let Some(i) = &req.image {
        set("image", i.as_str().into());
    }
    if let Some(t) = &req.jail_type {
        set("type", t.as_str().into());
    }
    if let Some(h) = &req.hostname {
        set("hostname", h.as_str().into());
    }
    if req.boot {
        set("boot", true.into());
    }
    if let Some(p) = req.priority {
        set("priority", p.into());
    }
    if !req.depends.is_empty() {
        set("depends", req.depends.iter().map(String::as_str).collect::<toml_edit::Array>().into());
    }
    // Into [network] and [params] in whatever form the file wrote them.
    let not_a_table = |source| Error::from(Refused::NotATable { file: shown.clone(), source });
    if req.vnet {
        edit::set(&mut doc, &["network"], "mode", "vnet".into()).map_err(not_a_table)?;
    }
    if let Some(b) = &req.bridge {
        edit::set(&mut doc, &["network"], "bridge", b.as_str().into()).map_err(not_a_table)?;
    }
    if let Some(i) = &req.interface {
        edit::set(&mut doc, &["network"], "interface", i.as_str().into()).map_err(not_a_table)?;
    }
    if !req.ip4.is_empty() {
        edit::set(&mut doc, &["network"], "ip4", edit::strings(&req.ip4)).map_err(not_a_table)?;
    }
    if !req.ip6.is_empty() {
        edit::set(&mut doc, &["network"], "ip6", edit::strings(&req.ip6)).map_err(not_a_table)?;
    }
    for kv in &req.params {
        let (k, v) = kv.split_once('=').ok_or_else(|| {
            Error::Usage(format!("--param {kv}: expected NAME=VALUE, such as allow.raw_sockets=false"))
        })?;
        edit::set(&mut doc, &["params"], k.trim(), param_value(v.trim())).map_err(not_a_table)?;
    }
    let text = doc.to_string();
    let by_key = !written || text != original;
    Ok((text, shown, files, by_key))
}

/// Refuses addresses of `spec` that the host, a running jail or another
/// definition has, and an interface or host port another definition
/// takes. The caller holds `lock::addresses` from here until the
/// definition is written.
pub fn check_addresses(host: &dyn Host, cfg: &HostConfig, spec: &JailSpec) -> Result<(), Error> {
    if crate::plan::addresses::of(spec).is_empty() && !matches!(spec.network, Network::Vnet(_)) {
        return Ok(());
    }
    let (every, _) = super::select::every(host, cfg);
    let mut others: Vec<JailSpec> = every.into_iter().filter(|s| s.name != spec.name).collect();
    // An interface or a host port another definition takes.
    others.push(spec.clone());
    let last = others.len() - 1;
    if let Some((_, why)) = super::check::clashes(&others).into_iter().find(|(i, _)| *i == last) {
        return Err(Refused::Clash(why).into());
    }
    others.pop();
    let book = AddressBook::new(&host.interfaces()?, &host.jail_list()?, &others);
    super::lifecycle::refuse_taken(&book, spec, super::observe::started(host, &spec.name).as_ref())
}

pub fn create(host: &mut dyn Host, req: &CreateRequest, report: &dyn Report) -> Result<Created, Error> {
    let cfg = super::config(host)?;
    let name = JailName::new_jail(&req.name)?;
    // A dry run only reads, as `plan` does: no lock, nothing recovered.
    let _lock = guard_unless(req.dry_run, host, &cfg, &[&name], report)?;
    if let Some(t) = &req.jail_type {
        if !["thin", "thick", "empty"].contains(&t.as_str()) {
            return Err(Error::Usage(format!("--type {t}: expected thin, thick or empty")));
        }
    }
    let (mut text, shown, files, mut by_key) = definition(host, req)?;
    if let (Some(i), None) = (&req.image, &req.release) {
        let with = with_image_release(host, &cfg, i, &text, &shown)?;
        by_key |= with != text;
        text = with;
    }
    let located = |e: ConfigError| if by_key { e.by_key(&text) } else { e };
    let raw = jail::parse(&shown, &text).map_err(located)?;
    let defaults = cfg.default_params().map_err(|(_, why)| Refused::Defaults(why))?;
    let spec = validate(&name, &raw, &defaults, cfg.defaults.jail_type)
        .map_err(|(offset, msg)| located(ConfigError::at(&shown, &text, offset, msg)))?;

    if host.exists(&definition_path(&name)) {
        return Err(Refused::Exists { path: host.local_path(&definition_path(&name)), jail: name }.into());
    }
    if let Some(j) = host.jail_find(name.as_str())? {
        return Err(Refused::Unmanaged { jail: name, jid: j.jid }.into());
    }
    if let (Some(r), JailType::Thin | JailType::Thick) = (&spec.release, spec.jail_type) {
        super::release::refuse_interrupted(host, &cfg, r)?;
        if !super::observe::dataset_exists(host, &format!("{}@{BASE_SNAPSHOT}", release_plan::dataset(&cfg, r)))? {
            return Err(Refused::ReleaseMissing(r.clone()).into());
        }
    }
    // A killed `brig run`'s record of the name must not name this jail.
    if !req.dry_run {
        super::ephemeral::forget_stale(host, &name)?;
    }
    let dataset = plan::dataset(&cfg, &name);
    if super::observe::dataset_exists(host, dataset.as_str())? {
        return Err(Refused::OrphanDataset { jail: name, dataset: dataset.to_string() }.into());
    }
    // Other jails: dependencies must exist, addresses must not be shared.
    for dep in &spec.depends {
        if !host.exists(&definition_path(dep)) {
            return Err(Refused::DependencyUndefined { jail: name, dep: dep.clone() }.into());
        }
    }
    // Held until the definition is written: two creates cannot both
    // take one address.
    let mine = crate::plan::addresses::of(&spec);
    let _addresses = if mine.is_empty() || req.dry_run { None } else { Some(crate::state::lock::addresses(host)?) };
    check_addresses(host, &cfg, &spec)?;
    let origin = match (&spec.image, &spec.release) {
        (Some(i), _) => {
            let origin = crate::plan::image::origin(&cfg, i);
            if !super::observe::dataset_exists(host, &origin)? {
                return Err(Refused::NoImage(i.clone()).into());
            }
            origin
        }
        (None, Some(r)) => newest_origin(host, &cfg, r)?,
        (None, None) => String::new(),
    };
    let ops = plan::create(&cfg, &spec, &text, &origin);
    let created = Created {
        root: plan::root_path(&cfg, &name),
        name: name.clone(),
        jail_type: spec.jail_type,
        release: spec.release.clone(),
        definition: text.clone(),
        operations: ops.iter().map(ToString::to_string).collect(),
    };
    refuse_other_files(host, &name, &files)?;
    if req.dry_run {
        return Ok(created);
    }
    let written = write_files(host, &name, &files)?;
    let made = journal::around(host, &name, Action::Create, |h| crate::exec::run(h, &ops).map_err(Error::from));
    if made.is_err() {
        remove_files(host, &written);
    }
    made?;
    Ok(created)
}

/// The files of a definition file of this machine (`NAME/` beside
/// `NAME.toml`), which its steps read.
fn files_beside(file: &std::path::Path) -> Files {
    let entries = |d: &std::path::Path| {
        std::fs::symlink_metadata(d).ok().filter(std::fs::Metadata::is_dir)?;
        let names = std::fs::read_dir(d).ok()?.flatten().map(|e| e.file_name().to_string_lossy().into_owned());
        Some(names.collect())
    };
    let read = |f: &std::path::Path| {
        let file = std::fs::File::open(f).ok()?;
        crate::state::bounded::read_file(file, crate::model::provision::SOURCE_LIMIT).ok()
    };
    templates::files_under(&templates::TreeReader { entries: &entries, read: &read }, &file.with_extension(""))
}

/// Refuses a template's file that is beside the definition
/// (`jails/NAME/`) already with other contents: it is never replaced. A
/// dry run checks this too.
pub(super) fn refuse_other_files(host: &dyn Host, name: &JailName, files: &Files) -> Result<(), Error> {
    let dir = crate::state::layout::files_dir(name);
    for (rel, bytes) in files {
        let path = dir.join(rel);
        match host.read_file(&path, crate::model::provision::SOURCE_LIMIT) {
            Ok(old) if old == *bytes => {}
            Err(e) if e.is_not_found() => {}
            // Other contents, or something that is not a file that reads.
            _ => return Err(Refused::FileThere { jail: name.clone(), path: host.local_path(&path) }.into()),
        }
    }
    Ok(())
}

/// Writes a template's files beside the definition (`jails/NAME/`) once
/// `refuse_other_files` passed them. Returns what it made, for
/// `remove_files`.
pub(super) fn write_files(host: &dyn Host, name: &JailName, files: &Files) -> Result<Vec<PathBuf>, Error> {
    let dir = crate::state::layout::files_dir(name);
    let mut made = Vec::new();
    let io = |p: &std::path::Path| {
        let shown = host.local_path(p);
        move |e| Error::from(ConfigError::io(shown, e))
    };
    for (rel, bytes) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            made.extend(host.make_dirs(parent, 0o755).map_err(io(parent))?);
        }
        if !host.exists(&path) {
            let mode = if bytes.starts_with(b"#!") { 0o755 } else { 0o644 };
            host.write_file(&path, bytes, mode).map_err(io(&path))?;
            made.push(path);
        }
    }
    Ok(made)
}

/// Takes back what `write_files` made: the files, then the directories,
/// deepest first.
pub(super) fn remove_files(host: &dyn Host, made: &[PathBuf]) {
    let (mut dirs, files): (Vec<&PathBuf>, Vec<&PathBuf>) = made.iter().partition(|p| host.is_dir(p));
    for f in files {
        let _ = host.remove_file(f);
    }
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in dirs {
        let _ = host.remove_dir(d);
    }
}

/// The definition with the release image `image` was made on, when it
/// names none: what the image's dataset records.
fn with_image_release(
    host: &dyn Host,
    cfg: &HostConfig,
    image: &str,
    text: &str,
    shown: &std::path::Path,
) -> Result<String, Error> {
    let mut doc = edit::document(text, shown)?;
    if doc.contains_key("release") {
        return Ok(text.to_string());
    }
    let name = JailName::parse(image)?;
    let dataset = crate::plan::image::image(cfg, &name);
    let props = match host.zfs_get(dataset.as_str(), &[crate::plan::image::RELEASE_PROP]) {
        Ok(p) => p,
        Err(e) if e.errno == crate::host::Errno::ENOENT => return Err(Refused::NoImage(name).into()),
        Err(e) => return Err(e.into()),
    };
    if let Some(r) = props.get(crate::plan::image::RELEASE_PROP).filter(|r| !r.is_empty() && *r != "-") {
        doc["release"] = toml_edit::value(r.as_str());
    }
    Ok(doc.to_string())
}

/// The snapshot a new thin jail of `r` is cloned from: its newest patch
/// level (one listing of the release's snapshots; the caller has refused
/// a release whose update did not finish).
fn newest_origin(host: &dyn Host, cfg: &HostConfig, r: &crate::model::ReleaseName) -> Result<String, Error> {
    let list = match host.zfs_list(release_plan::dataset(cfg, r).as_str(), &[]) {
        Ok(l) => l,
        Err(e) if e.errno == crate::host::Errno::ENOENT => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    Ok(plan::newest_origin(cfg, r, list.iter().map(|d| d.name.as_str())))
}
