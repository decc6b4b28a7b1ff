//! `brig provision`: a jail's `[[provision]]` steps run in order, each
//! followed by a layer snapshot of its root keyed by the steps so far
//! (`model::provision`), so a run starts from the latest layer the jail
//! or the cache has of the steps as written (`plan::provision`) and runs
//! only the steps after it. A thin jail's new layers then go to the
//! cache (clone and promote), where the next jail built on the same base
//! finds them. A failed step takes the root back to the layer before it.
//! Journaled: a killed run is taken back to the last layer and the jail
//! left running or not as it was; running it again goes on from there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::guard::guard;
use super::lifecycle::{start_alone, stop_under_entry, Surroundings};
use super::{Error, Event, Refused, Report};
use crate::config::HostConfig;
use crate::host::{Command, Host, Place};
use crate::model::jail::{JailSpec, JailType};
use crate::model::provision::{base_key, layer_name, step_key, Action, FileStep, Step, SOURCE_LIMIT};
use crate::model::JailName;
use crate::plan::jail::{root_dataset, root_files, root_path, root_props};
use crate::plan::provision::{self as plan, is_layer, BuildPlan, Layers, Restore};
use crate::plan::Op;
use crate::state::journal::{self, BuildEntry};
use crate::state::layout::{definition_path, files_dir};

/// How many lines of a failed step's output its error repeats.
const OUTPUT_LINES: usize = 20;
/// How deep a chain of origins is followed to find a root's base.
const ORIGIN_DEPTH: usize = 64;

/// How a provision run ended.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Provisioned {
    pub jail: String,
    pub steps: usize,
    /// Steps whose effect came from a layer, not run.
    pub cached: usize,
    /// Steps run (those skipped as done by `creates` or an existing user
    /// included).
    pub ran: usize,
    pub skipped: usize,
    pub restore: Restore,
    /// The layer the root is at now.
    pub layer: Option<String>,
    /// The cache dataset its new layers went to.
    pub published: Option<String>,
}

/// What a root is built on, found by following origins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    /// What the first key hashes: `14.3-RELEASE@p5`, or the jail itself
    /// for a root with no origin brig shares.
    pub identity: String,
    /// The cache group (`14.3-RELEASE`) and the snapshot a fresh root is
    /// cloned from, for a root that can share layers.
    pub shared: Option<(String, String)>,
}

/// The step as the definition has it, for messages: `web.toml:12`.
fn place(file: &Path, text: &str, step: &Step) -> String {
    format!("{}:{}", file.display(), crate::config::line_col(text, step.offset).0)
}

/// The base of jail `name`'s root: a release snapshot at the start of its
/// origins (through cached layers), or the jail itself.
pub fn base(host: &dyn Host, cfg: &HostConfig, name: &JailName) -> Result<Base, Error> {
    let own = Base { identity: format!("jail {name}"), shared: None };
    let releases = format!("{}/", cfg.releases());
    let images = format!("{}/", crate::plan::image::images(cfg));
    let cache = format!("{}/", plan::cache(cfg));
    let mut dataset = root_dataset(cfg, name).to_string();
    for _ in 0..ORIGIN_DEPTH {
        let origin = host.zfs_get(&dataset, &["origin"])?.remove("origin").unwrap_or_default();
        let Some((ds, snap)) = origin.split_once('@') else { return Ok(own) };
        if let Some(release) = ds.strip_prefix(&releases) {
            return Ok(Base {
                identity: format!("{release}@{snap}"),
                shared: Some((release.to_string(), origin.clone())),
            });
        }
        if let Some(image) = ds.strip_prefix(&images) {
            return Ok(Base {
                identity: format!("image {image}@{snap}"),
                shared: Some((format!("image-{image}"), origin.clone())),
            });
        }
        if !ds.starts_with(&cache) {
            return Ok(own);
        }
        dataset = ds.to_string();
    }
    Ok(own)
}

/// The bytes a `copy` or `render` step writes: its file, rendered.
fn content(host: &dyn Host, dir: &Path, action: &Action, at: &str) -> Result<Option<Vec<u8>>, Error> {
    let (file, vars) = match action {
        Action::Copy(f) => (f, None),
        Action::Render { file, vars } => (file, Some(vars)),
        _ => return Ok(None),
    };
    let path = dir.join(&file.from);
    let bytes = host.read_file(&path, SOURCE_LIMIT).map_err(|e| Refused::StepSource {
        place: at.to_string(),
        path: host.local_path(&path),
        why: e.to_string(),
    })?;
    let Some(vars) = vars else { return Ok(Some(bytes)) };
    let text = String::from_utf8(bytes).map_err(|_| Refused::StepSource {
        place: at.to_string(),
        path: host.local_path(&path),
        why: "is not UTF-8 text".into(),
    })?;
    let out = crate::model::render::render(&text, vars).map_err(|e| Refused::StepSource {
        place: at.to_string(),
        path: host.local_path(&path),
        why: format!("line {}: {}", e.line, e.why),
    })?;
    Ok(Some(out.into_bytes()))
}

/// Everything a run needs to know before it changes anything.
pub struct Prepared {
    pub spec: JailSpec,
    pub base: Base,
    /// keys[0] is the base's; keys[i] the key after step i.
    pub keys: Vec<String>,
    contents: Vec<Option<Vec<u8>>>,
    places: Vec<String>,
    pub layers: Layers,
    pub plan: BuildPlan,
}

/// Reads the definition, the steps' files and the layers, and plans.
pub fn prepare(host: &dyn Host, cfg: &HostConfig, name: &JailName, no_cache: bool) -> Result<Prepared, Error> {
    let spec = super::select::defined(host, cfg, name)?;
    let path = definition_path(name);
    let text = crate::config::read_machine_text(host, &path)?;
    let shown = host.local_path(&path);
    let dir = files_dir(name);
    let base = base(host, cfg, name)?;
    let mut keys = vec![base_key(&base.identity)];
    let mut contents = Vec::new();
    let mut places = Vec::new();
    for step in &spec.provision.steps {
        let at = place(&shown, &text, step);
        let c = content(host, &dir, &step.action, &at)?;
        keys.push(step_key(keys.last().map_or("", String::as_str), &step.action, c.as_deref()));
        contents.push(c);
        places.push(at);
    }
    let layers = layers(host, cfg, name, &base)?;
    let plan = plan::build(&keys, &layers, no_cache);
    Ok(Prepared { spec, base, keys, contents, places, layers, plan })
}

/// The root's own layers and other snapshots, its origin if it is a
/// cached layer, and the cache of its base.
fn layers(host: &dyn Host, cfg: &HostConfig, name: &JailName, base: &Base) -> Result<Layers, Error> {
    let root = root_dataset(cfg, name).to_string();
    let all = snapshots(host, &root)?;
    let own: Vec<String> = all.iter().filter(|s| is_layer(s)).cloned().collect();
    let cache = format!("{}/", plan::cache(cfg));
    let origin = host.zfs_get(&root, &["origin"])?.remove("origin").unwrap_or_default();
    let origin = origin.split_once('@').filter(|(ds, _)| ds.starts_with(&cache)).map(|(_, s)| s.to_string());
    let mut shared = BTreeMap::new();
    if let Some((group, _)) = &base.shared {
        for d in super::observe::listing(host, plan::cache_of(cfg, group).as_str(), &[])? {
            if let Some((_, snap)) = d.name.split_once('@').filter(|(_, s)| is_layer(s)) {
                shared.entry(snap.to_string()).or_insert(d.name.clone());
            }
        }
    }
    Ok(Layers { own, origin, shared, all, base: base.shared.as_ref().map(|(_, s)| s.clone()) })
}

/// One step as a plan shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct StepView {
    pub n: usize,
    /// `FILE:LINE`.
    pub place: String,
    pub step: String,
    /// Its effect comes from a layer; otherwise it would run.
    pub cached: bool,
}

/// What `brig provision NAME` would do, without doing it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Preview {
    pub steps: Vec<StepView>,
    pub restore: Restore,
}

impl Preview {
    pub fn would_run(&self) -> usize {
        self.steps.iter().filter(|s| !s.cached).count()
    }
}

/// The steps of jail `name` and which would run; None for a jail without
/// steps or without a root yet.
pub fn preview(host: &dyn Host, cfg: &HostConfig, name: &JailName, no_cache: bool) -> Result<Option<Preview>, Error> {
    if !super::observe::dataset_exists(host, root_dataset(cfg, name).as_str())? {
        return Ok(None);
    }
    let p = prepare(host, cfg, name, no_cache)?;
    if p.spec.provision.steps.is_empty() {
        return Ok(None);
    }
    let steps = (p.spec.provision.steps.iter().zip(&p.places).enumerate())
        .map(|(i, (s, place))| StepView {
            n: i + 1,
            place: place.clone(),
            step: s.action.summary(),
            cached: i < p.plan.cached,
        })
        .collect();
    Ok(Some(Preview { steps, restore: p.plan.restore }))
}

/// The user property of a jail's dataset (which outlives its root: an
/// upgrade or a cached layer puts another in place) naming the layer its
/// last provision run ended at.
const PROVISIONED_PROP: &str = "brig:provisioned";

/// Whether jail `name` never had a provision run finish
/// (`provision_on_create` runs then).
pub fn never_provisioned(host: &dyn Host, cfg: &HostConfig, name: &JailName) -> Result<bool, Error> {
    let dataset = crate::plan::jail::dataset(cfg, name);
    let v = host.zfs_get(dataset.as_str(), &[PROVISIONED_PROP])?.remove(PROVISIONED_PROP).unwrap_or_default();
    Ok(v.is_empty() || v == "-")
}

/// After a start: the steps of a jail with `provision_on_create` that
/// no run has finished for yet. The caller holds the jail's lock.
pub fn on_first_start(
    host: &mut dyn Host,
    cfg: &HostConfig,
    spec: &JailSpec,
    report: &dyn Report,
) -> Result<(), Error> {
    if spec.provision.on_create && never_provisioned(host, cfg, &spec.name)? {
        provision_locked(host, cfg, &spec.name, false, report)?;
    }
    Ok(())
}

/// Records on the jail's dataset that a run finished, at which layer.
fn mark(host: &mut dyn Host, cfg: &HostConfig, out: &Provisioned, name: &JailName) -> Result<(), Error> {
    let layer = out.layer.clone().unwrap_or_else(|| "none".into());
    let dataset = crate::plan::jail::dataset(cfg, name);
    host.zfs_set(dataset.as_str(), &[(PROVISIONED_PROP.to_string(), layer)])?;
    Ok(())
}

/// Provisions jail `name`, whose lock is taken here.
pub fn provision(
    host: &mut dyn Host,
    name: &JailName,
    no_cache: bool,
    report: &dyn Report,
) -> Result<Provisioned, Error> {
    let cfg = super::config(host)?;
    let _lock = guard(host, &cfg, &[name], report)?;
    provision_locked(host, &cfg, name, no_cache, report)
}

/// `provision` for a caller that holds the jail's lock.
pub fn provision_locked(
    host: &mut dyn Host,
    cfg: &HostConfig,
    name: &JailName,
    no_cache: bool,
    report: &dyn Report,
) -> Result<Provisioned, Error> {
    let p = prepare(host, cfg, name, no_cache)?;
    let total = p.spec.provision.steps.len();
    if total == 0 {
        return Err(Refused::NoSteps(name.clone()).into());
    }
    let in_the_way = p.layers.in_the_way(&p.plan.restore);
    if !in_the_way.is_empty() {
        return Err(Refused::ProvisionSnapshots { jail: name.clone(), snapshots: in_the_way }.into());
    }
    let mut out = Provisioned {
        jail: name.to_string(),
        steps: total,
        cached: p.plan.cached,
        ran: 0,
        skipped: 0,
        restore: p.plan.restore.clone(),
        layer: p.keys.last().map(|k| layer_name(k)).filter(|_| total > 0),
        published: None,
    };
    let was_running = host.jail_find(name.as_str())?.is_some();
    if p.plan.cached == total && p.plan.restore == Restore::Nothing {
        // A run that ended before its layers went to the cache.
        let entry = journal::begin_build(host, name, BuildEntry { was_running, busy: false })?;
        out.published = publish(host, cfg, &p)?;
        entry.finish(host)?;
        mark(host, cfg, &out, name)?;
        return Ok(out);
    }
    let entry = journal::begin_build(host, name, BuildEntry { was_running, busy: true })?;
    let mut busy = Busy { entry: &entry, was_running, now: true };
    let result = run(host, cfg, &p, &mut busy, &mut out, report);
    if result.is_err() && busy.now {
        // The root may be between layers: the entry stays, and the next
        // command that takes the jail takes it back to its last layer.
        return result.map(|()| out);
    }
    // Whatever happened, the jail ends as it was found: running or not.
    let settled = settle(host, cfg, &p.spec, was_running, report);
    let published = match (&result, settled) {
        (Ok(()), Ok(())) => publish(host, cfg, &p),
        (Ok(()), Err(e)) => Err(e),
        (Err(_), _) => Ok(None),
    };
    entry.finish(host)?;
    result?;
    out.published = published?;
    mark(host, cfg, &out, name)?;
    Ok(out)
}

/// Whether the root may be between two layers, as the journal says.
struct Busy<'a> {
    entry: &'a journal::Open,
    was_running: bool,
    now: bool,
}

impl Busy<'_> {
    fn set(&mut self, host: &dyn Host, busy: bool) -> Result<(), Error> {
        self.entry.record_build(host, BuildEntry { was_running: self.was_running, busy })?;
        self.now = busy;
        Ok(())
    }
}

/// The restore, then every step after the cached ones, each followed by
/// its layer.
fn run(
    host: &mut dyn Host,
    cfg: &HostConfig,
    p: &Prepared,
    busy: &mut Busy,
    out: &mut Provisioned,
    report: &dyn Report,
) -> Result<(), Error> {
    let name = &p.spec.name;
    let root = root_dataset(cfg, name).to_string();
    restore(host, cfg, &p.spec, &p.plan.restore, report)?;
    let start = p.plan.cached;
    let first = layer_name(&p.keys[start]);
    let latest = match &p.plan.restore {
        Restore::Rollback { snapshot, .. } => Some(snapshot.clone()),
        Restore::Nothing => p.layers.own.last().cloned(),
        Restore::Replace { .. } => None,
    };
    if latest.as_deref() != Some(first.as_str()) {
        host.zfs_snapshot(&[&format!("{root}@{first}")])?;
    }
    let steps = &p.spec.provision.steps;
    let mut outcome = Ok(());
    busy.set(host, false)?;
    for (i, step) in steps.iter().enumerate().skip(start) {
        busy.set(host, true)?;
        // Nothing may run in the jail while a mount is made in it: a
        // process there could swap a directory of the mount point for a
        // link between the check and nmount(2), which follows it.
        let ready = if matches!(step.action, Action::Mount(_)) {
            stop_if_running(host, cfg, &p.spec, report)
        } else if step.action.needs_jail() && host.jail_find(name.as_str())?.is_none() {
            start_alone(host, cfg, &p.spec, &[], report)
        } else {
            Ok(())
        };
        if let Err(e) = ready {
            outcome = Err(e);
            break;
        }
        let began = Instant::now();
        let done = execute(host, cfg, &p.spec, step, p.contents[i].as_deref());
        let elapsed = began.elapsed();
        report.event(&Event::Step {
            jail: name,
            n: i + 1,
            total: steps.len(),
            place: &p.places[i],
            summary: &step.action.summary(),
            elapsed,
            skipped: matches!(done, Ok(Done::Skipped)),
        });
        match done {
            Ok(d) => {
                out.ran += 1;
                out.skipped += usize::from(d == Done::Skipped);
                let layer = format!("{root}@{}", layer_name(&p.keys[i + 1]));
                if let Err(e) = host.zfs_snapshot(&[&layer]).map_err(Error::from).and_then(|()| busy.set(host, false)) {
                    outcome = Err(e);
                    break;
                }
            }
            Err(why) => {
                outcome = Err(Error::from(Refused::StepFailed {
                    jail: name.clone(),
                    place: p.places[i].clone(),
                    n: i + 1,
                    total: steps.len(),
                    summary: step.action.summary(),
                    why,
                }));
                break;
            }
        }
    }
    let unmounted = unmount_steps(host, cfg, &p.spec);
    if outcome.is_err() {
        // Back to the last good layer: what the failed step changed goes,
        // and so do the processes it started (the jail stops first).
        stop_if_running(host, cfg, &p.spec, report)?;
        if let Some(l) = latest_layer(host, &root)? {
            host.zfs_rollback(&format!("{root}@{l}"))?;
        }
        busy.set(host, false)?;
    }
    outcome.and(unmounted)
}

/// The newest layer snapshot of a root.
fn latest_layer(host: &dyn Host, root: &str) -> Result<Option<String>, Error> {
    Ok(snapshots(host, root)?.into_iter().rfind(|s| is_layer(s)))
}

/// The names of a root's snapshots, oldest first (by createtxg).
fn snapshots(host: &dyn Host, root: &str) -> Result<Vec<String>, Error> {
    let prefix = format!("{root}@");
    let mut snaps: Vec<(u64, String)> = host
        .zfs_list(root, &["createtxg"])?
        .into_iter()
        .filter_map(|d| {
            let s = d.name.strip_prefix(&prefix)?.to_string();
            Some((d.props.get("createtxg").and_then(|t| t.parse().ok()).unwrap_or(0), s))
        })
        .collect();
    snaps.sort();
    Ok(snaps.into_iter().map(|(_, s)| s).collect())
}

/// Gets the root to the layer the steps start from.
fn restore(
    host: &mut dyn Host,
    cfg: &HostConfig,
    spec: &JailSpec,
    how: &Restore,
    report: &dyn Report,
) -> Result<(), Error> {
    let root = root_dataset(cfg, &spec.name).to_string();
    match how {
        Restore::Nothing => Ok(()),
        Restore::Rollback { snapshot, destroy } => {
            // Processes of the steps rolled back would outlive them.
            stop_if_running(host, cfg, spec, report)?;
            if !destroy.is_empty() {
                let names: Vec<String> = destroy.iter().map(|s| format!("{root}@{s}")).collect();
                host.zfs_destroy_snapshots(&names.iter().map(String::as_str).collect::<Vec<_>>())?;
            }
            host.zfs_rollback(&format!("{root}@{snapshot}"))?;
            Ok(())
        }
        Restore::Replace { origin } => {
            stop_if_running(host, cfg, spec, report)?;
            let next = plan::next_root(cfg, &spec.name);
            // One a failed replacement left.
            if super::observe::dataset_exists(host, next.as_str())? {
                host.zfs_destroy(next.as_str(), false)?;
            }
            host.zfs_clone(origin, next.as_str(), &root_props(spec))?;
            replace_root(host, cfg, spec)
        }
    }
}

fn stop_if_running(host: &mut dyn Host, cfg: &HostConfig, spec: &JailSpec, report: &dyn Report) -> Result<(), Error> {
    if host.jail_find(spec.name.as_str())?.is_some() {
        let around = Surroundings::read(host, cfg)?;
        stop_under_entry(host, cfg, &spec.name, Some(spec), &around, report)?;
    }
    Ok(())
}

/// `root.next` in the place of the root (whose layers go with it), and
/// the files brig writes into every root written into it.
fn replace_root(host: &mut dyn Host, cfg: &HostConfig, spec: &JailSpec) -> Result<(), Error> {
    let root = root_dataset(cfg, &spec.name).to_string();
    let own: Vec<String> =
        snapshots(host, &root)?.into_iter().filter(|s| is_layer(s)).map(|s| format!("{root}@{s}")).collect();
    if !own.is_empty() {
        host.zfs_destroy_snapshots(&own.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    host.zfs_destroy(&root, false)?;
    host.zfs_rename(plan::next_root(cfg, &spec.name).as_str(), &root)?;
    crate::exec::run(host, &root_files(cfg, spec))?;
    Ok(())
}

/// The jail running again, or stopped, as it was found.
fn settle(
    host: &mut dyn Host,
    cfg: &HostConfig,
    spec: &JailSpec,
    was_running: bool,
    report: &dyn Report,
) -> Result<(), Error> {
    let running = host.jail_find(spec.name.as_str())?.is_some();
    if running && !was_running {
        let around = Surroundings::read(host, cfg)?;
        stop_under_entry(host, cfg, &spec.name, Some(spec), &around, report)?;
    } else if was_running && !running {
        start_alone(host, cfg, spec, &[], report)?;
    }
    Ok(())
}

/// A thin jail's new layers to the cache: a clone of the root's last
/// layer, promoted, so it holds the layers and the root is its clone.
/// Skipped for a root with snapshots of the user's (promotion would take
/// them too) and when the cache has the layer already.
fn publish(host: &mut dyn Host, cfg: &HostConfig, p: &Prepared) -> Result<Option<String>, Error> {
    let (Some((group, _)), JailType::Thin, true) =
        (&p.base.shared, p.spec.jail_type, p.layers.others().next().is_none())
    else {
        return Ok(None);
    };
    let Some(last) = p.keys.last().filter(|_| p.keys.len() > 1) else { return Ok(None) };
    let root = root_dataset(cfg, &p.spec.name).to_string();
    let layer = layer_name(last);
    if latest_layer(host, &root)?.as_deref() != Some(layer.as_str()) {
        return Ok(None);
    }
    let cache = plan::cache(cfg);
    let group = plan::cache_of(cfg, group);
    let target = group.child(&layer);
    if super::observe::dataset_exists(host, target.as_str())? {
        return Ok(None);
    }
    for d in [&cache, &group] {
        super::observe::ensure_container(host, d.as_str())?;
    }
    host.zfs_clone(&format!("{root}@{layer}"), target.as_str(), &[("readonly".into(), "on".into())])?;
    host.zfs_promote(target.as_str())?;
    Ok(Some(target.to_string()))
}

/// How a step ended well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Done {
    Ran,
    /// Its `creates` exists, or its user does.
    Skipped,
}

/// Runs one step; the reason it failed, in a sentence with the output's
/// last lines.
fn execute(
    host: &mut dyn Host,
    cfg: &HostConfig,
    spec: &JailSpec,
    step: &Step,
    content: Option<&[u8]>,
) -> Result<Done, String> {
    let root_dir = root_path(cfg, &spec.name);
    let root = host.open_root(&root_dir).map_err(|e| e.to_string())?;
    let jid = || -> Result<i32, String> {
        match host.jail_find(spec.name.as_str()) {
            Ok(Some(j)) => Ok(j.jid),
            Ok(None) => Err("the jail is not running".into()),
            Err(e) => Err(e.to_string()),
        }
    };
    match &step.action {
        Action::Pkg(packages) => {
            let jid = jid()?;
            host.pkg_install(jid, packages).map(|_| Done::Ran).map_err(|e| e.detail)
        }
        Action::Copy(f) | Action::Render { file: f, .. } => {
            write_file(&root, f, content.unwrap_or_default()).map_err(|e| e.to_string())?;
            Ok(Done::Ran)
        }
        Action::Sysrc(vars) => {
            let rc = Path::new("etc/rc.conf");
            let text = root.read_to_string(rc).map_err(|e| e.to_string())?.unwrap_or_default();
            let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let mode = root.entry(rc).ok().flatten().map_or(0o644, |e| e.mode & 0o7777);
            root.write_atomic(rc, crate::exec::files::set_rc_vars(&text, &vars).as_bytes(), mode)
                .map_err(|e| e.to_string())?;
            Ok(Done::Ran)
        }
        Action::Service { name, action } => {
            let jid = jid()?;
            let o = inside(host, &spec.name, jid, "/usr/sbin/service", &[name.as_str(), action.as_str()])?;
            finished(&o, "service")
        }
        Action::Run { command, creates } => {
            if let Some(c) = creates {
                let rel = c.strip_prefix("/").unwrap_or(c);
                if root.entry(rel).map_err(|e| e.to_string())?.is_some() {
                    return Ok(Done::Skipped);
                }
            }
            let jid = jid()?;
            let o = inside(host, &spec.name, jid, "/bin/sh", &["-c", command.as_str()])?;
            finished(&o, "the command")
        }
        Action::User(u) => {
            if lookup(&root, "etc/passwd", &u.name).is_some() {
                return Ok(Done::Skipped);
            }
            let jid = jid()?;
            let o = inside(
                host,
                &spec.name,
                jid,
                "/usr/sbin/pw",
                &useradd(u).iter().map(String::as_str).collect::<Vec<_>>(),
            )?;
            finished(&o, "pw useradd")
        }
        Action::Mount(m) => {
            let op = Op::MountIn {
                dataset: root_dataset(cfg, &spec.name),
                fstype: m.fstype.clone(),
                source: m.source.clone(),
                target: m.target.strip_prefix("/").unwrap_or(&m.target).to_path_buf(),
                readonly: m.readonly,
                options: Vec::new(),
            };
            crate::exec::run(host, &[op]).map_err(|e| e.to_string())?;
            Ok(Done::Ran)
        }
    }
}

/// `pw useradd` arguments for a user step.
fn useradd(u: &crate::model::provision::User) -> Vec<String> {
    let mut a = vec!["useradd".to_string(), u.name.clone(), "-m".to_string()];
    if let Some(uid) = u.uid {
        a.extend(["-u".to_string(), uid.to_string()]);
    }
    if !u.groups.is_empty() {
        a.extend(["-G".to_string(), u.groups.join(",")]);
    }
    if let Some(h) = &u.home {
        a.extend(["-d".to_string(), h.display().to_string()]);
    }
    if let Some(s) = &u.shell {
        a.extend(["-s".to_string(), s.display().to_string()]);
    }
    a
}

/// How long a step's command may run before it is killed with what it
/// started: a step that hangs must not hold the jail's lock for ever.
const STEP_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Runs a step's command in jail `jid`, its output appended to the
/// jail's console log.
fn inside(
    host: &mut dyn Host,
    jail: &JailName,
    jid: i32,
    program: &str,
    args: &[&str],
) -> Result<crate::host::Output, String> {
    let mut cmd = Command::new(program).args(args.iter().copied());
    cmd.clean_env = true;
    cmd.deadline = Some(STEP_DEADLINE);
    let out = host.spawn(&cmd, Place::Jail(jid)).map_err(|e| e.to_string())?;
    // The step's outcome stands whether or not its output could be
    // logged; a log that cannot be written is said by the jail's start,
    // whose exec.start goes to the same file.
    let _ = crate::state::consolelog::append(host, jail, &format!("provision: {}", cmd.display()), &out);
    Ok(out)
}

/// A command's end as a step's: exit 0, or the status and last lines.
fn finished(o: &crate::host::Output, what: &str) -> Result<Done, String> {
    if o.timed_out {
        return Err(format!("{what} ran past {} s and was killed, with what it started", STEP_DEADLINE.as_secs()));
    }
    if o.status == 0 {
        return Ok(Done::Ran);
    }
    let text = String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(OUTPUT_LINES)..].join("\n  ");
    let said = if tail.is_empty() { String::new() } else { format!(":\n  {tail}") };
    Err(format!("{what} exited with status {}{said}", o.status))
}

/// The id of `name` in a colon-separated database of the root (passwd,
/// group), read beneath it.
fn lookup(root: &crate::state::beneath::Root, db: &str, name: &str) -> Option<u32> {
    let text = root.read_to_string(Path::new(db)).ok().flatten()?;
    text.lines().map(|l| l.split(':').collect::<Vec<_>>()).find(|f| f.first() == Some(&name))?.get(2)?.parse().ok()
}

/// A file beneath the root, its directories made, owner and mode set.
fn write_file(root: &crate::state::beneath::Root, f: &FileStep, bytes: &[u8]) -> Result<(), String> {
    let id = |db: &str, who: &str| -> Result<u32, String> {
        who.parse().ok().or_else(|| lookup(root, db, who)).ok_or_else(|| {
            format!(
                "{} {who} is not in the jail's /{db}; create it in an earlier step",
                if db == "etc/passwd" { "user" } else { "group" }
            )
        })
    };
    let (uid, gid) = (id("etc/passwd", &f.owner)?, id("etc/group", &f.group)?);
    let rel = f.to.strip_prefix("/").unwrap_or(&f.to);
    if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
        root.create_dir(parent, 0o755).map_err(|e| e.to_string())?;
    }
    root.write_atomic(rel, bytes, f.mode).map_err(|e| e.to_string())?;
    root.set_owner_mode(rel, uid, gid, Some(f.mode)).map_err(|e| e.to_string())
}

/// Unmounts what the definition's `mount` steps mounted in the root.
fn unmount_steps(host: &mut dyn Host, cfg: &HostConfig, spec: &JailSpec) -> Result<(), Error> {
    let root = root_path(cfg, &spec.name);
    let targets: Vec<PathBuf> = spec
        .provision
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::Mount(m) => Some(root.join(m.target.strip_prefix("/").unwrap_or(&m.target))),
            _ => None,
        })
        .collect();
    if targets.is_empty() {
        return Ok(());
    }
    let mut ops = Vec::new();
    for m in host.mounts()?.into_iter().rev() {
        if targets.contains(&m.target) {
            ops.push(Op::Unmount { mount: m });
        }
    }
    crate::exec::run(host, &ops)?;
    Ok(())
}

/// Takes back a provision run a killed brig left: a half-made root
/// replacement is finished, a layer clone not yet promoted destroyed,
/// the root rolled back to its last layer (what a step half did goes),
/// mounts of steps unmounted, and the jail stopped, then started again
/// if it ran before.
pub fn recover(
    host: &mut dyn Host,
    cfg: &HostConfig,
    name: &JailName,
    entry: &BuildEntry,
    report: &dyn Report,
) -> Result<(), Error> {
    let spec = crate::config::jail::load_defined(host, name, cfg)?;
    let around = Surroundings::read(host, cfg)?;
    stop_under_entry(host, cfg, name, Some(&spec), &around, report)?;
    let root = root_dataset(cfg, name).to_string();
    let next = plan::next_root(cfg, name);
    if super::observe::dataset_exists(host, next.as_str())? {
        if super::observe::dataset_exists(host, &root)? {
            host.zfs_destroy(next.as_str(), false)?;
        } else {
            host.zfs_rename(next.as_str(), &root)?;
            crate::exec::run(host, &root_files(cfg, &spec))?;
        }
    }
    // A layer clone of this root that was not promoted yet.
    let cache = plan::cache(cfg);
    for d in super::observe::listing(host, cache.as_str(), &["origin"])? {
        if d.props.get("origin").is_some_and(|o| o.starts_with(&format!("{root}@"))) {
            host.zfs_destroy(&d.name, false)?;
        }
    }
    match latest_layer(host, &root)? {
        Some(l) if entry.busy => host.zfs_rollback(&format!("{root}@{l}"))?,
        // Killed between a replacement's rename and its files.
        None if entry.busy => drop(crate::exec::run(host, &root_files(cfg, &spec))?),
        _ => {}
    }
    unmount_steps(host, cfg, &spec)?;
    if entry.was_running {
        start_alone(host, cfg, &spec, &[], report)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn useradd_says_every_field() {
        let u = crate::model::provision::User {
            name: "web".into(),
            uid: Some(1001),
            groups: vec!["www".into(), "wheel".into()],
            home: Some("/home/web".into()),
            shell: None,
        };
        assert_eq!(useradd(&u).join(" "), "useradd web -m -u 1001 -G www,wheel -d /home/web");
    }

    #[test]
    fn a_failed_command_says_its_status_and_last_lines() {
        let o =
            crate::host::Output { status: 3, stdout: b"a\nb\n".to_vec(), stderr: b"oops\n".to_vec(), timed_out: false };
        assert_eq!(finished(&o, "pkg").expect_err("failed"), "pkg exited with status 3:\n  oops\n  a\n  b");
        let long = crate::host::Output { status: 1, stdout: "x\n".repeat(100).into_bytes(), ..Default::default() };
        assert_eq!(finished(&long, "run").expect_err("failed").matches("\n  x").count(), OUTPUT_LINES);
    }
}
