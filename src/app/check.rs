//! Checks that change nothing: `validate` (definitions alone and against
//! each other and the host) and `audit` (what each jail's root can do
//! beyond the secure defaults).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;

use serde::Serialize;

use super::select::{selected, Names};
use super::{Error, Report};
use crate::config::host::{DEFAULT_DATASET, DEFAULT_MOUNTPOINT};
use crate::config::{jail, HostConfig};
use crate::host::{Errno, Host};
use crate::model::firewall::Proto;
use crate::model::jail::JailSpec;
use crate::model::network::{Link, Network};
use crate::model::{DatasetName, JailName};
use crate::plan::audit::{self, Finding, JailAudit, Severity};
use crate::state::layout::definition_path;

#[derive(Serialize, schemars::JsonSchema)]
pub struct Checked {
    pub name: String,
    pub file: String,
    pub valid: bool,
    pub error: Option<String>,
}

/// What `brig validate` was given: a jail name (its definition on the
/// managed machine) or a definition file on this machine, whose name must
/// be the jail's.
enum Target {
    Defined(JailName),
    File(JailName, PathBuf),
}

fn locate(target: &str) -> Result<Target, String> {
    if target.contains('/') || target.ends_with(".toml") {
        let path = PathBuf::from(target);
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let name =
            JailName::parse(&stem).map_err(|e| format!("{target}: the file name must be the jail's name: {e}"))?;
        return Ok(Target::File(name, path));
    }
    JailName::parse(target).map(Target::Defined).map_err(|e| e.to_string())
}

/// A host address a port is exposed on, and the definition that
/// exposes it.
type Exposed = (IpAddr, usize);

/// The interfaces a VNET jail takes for itself: its epair's ends (named
/// after the jail, shortened to fit IFNAMSIZ, so two names may meet) or
/// the host interface it is handed.
fn interfaces_of(spec: &JailSpec) -> Vec<(String, &'static str)> {
    match &spec.network {
        Network::Vnet(v) => match &v.link {
            Link::Bridge { host_end, .. } => {
                vec![(host_end.clone(), "names its epair"), (v.interface.clone(), "names its epair")]
            }
            Link::Interface => vec![(v.interface.clone(), "is handed interface")],
        },
        _ => Vec::new(),
    }
}

/// What two of `specs` both take: an interface (two VNET jails), or a
/// host port (pf takes the first rdr that matches: one port, one jail);
/// each with the index of the later one. Linear in the definitions.
pub(super) fn clashes(specs: &[JailSpec]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut interface_owner: HashMap<String, usize> = HashMap::new();
    // By protocol and port: the host addresses it is exposed on, and by
    // which definition.
    let mut exposed: HashMap<(Proto, u16), Vec<Exposed>> = HashMap::new();

    for (i, s) in specs.iter().enumerate() {
        for (name, how) in interfaces_of(s) {
            match interface_owner.get(&name) {
                Some(&o) => out.push((
                    i,
                    format!("jail {} {how} {name}, which jail {} has too; rename one of the jails or give it another interface", s.name, specs[o].name),
                )),
                None => {
                    interface_owner.insert(name, i);
                }
            }
        }
        for e in s.firewall.iter().flat_map(|f| &f.expose) {
            let users = exposed.entry((e.proto, e.host_port)).or_default();
            match users.iter().find(|(a, _)| *a == e.host_address) {
                Some((addr, o)) => out.push((
                    i,
                    format!(
                        "jail {} exposes {}/{} on {}, which jail {} exposes on {} already; choose another host_port or host_address",
                        s.name,
                        e.proto.as_str(),
                        e.host_port,
                        e.host_address,
                        specs[*o].name,
                        addr
                    ),
                )),
                None => users.push((e.host_address, i)),
            }
        }
    }
    out
}

/// Checks across definitions: dependencies that name no defined jail or
/// form a cycle, one address given to two jails, one interface taken by
/// two VNET jails, and one host port exposed by two. Linear in the
/// definitions, their dependencies and addresses (but for the sort).
fn cross_checks(specs: &[JailSpec]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let names: HashSet<&JailName> = specs.iter().map(|s| &s.name).collect();
    let mut owner: HashMap<IpAddr, usize> = HashMap::new();
    for (i, s) in specs.iter().enumerate() {
        for d in s.depends.iter().filter(|d| !names.contains(d)) {
            out.push((i, format!("jail {} depends on {d}, which is not defined", s.name)));
        }
        for a in s.network.addresses().iter().map(|a| a.addr()) {
            match owner.get(&a) {
                Some(&o) => {
                    out.push((i, format!("jail {} uses address {a}, which jail {} already has", s.name, specs[o].name)))
                }
                None => {
                    owner.insert(a, i);
                }
            }
        }
    }
    out.extend(clashes(specs));
    let refs: Vec<&JailSpec> = specs.iter().collect();
    let (_, stuck) = crate::plan::order::order_what_can_start(&refs);
    if !stuck.is_empty() {
        let why = crate::plan::order::Cycle::of(&refs, &stuck).to_string();
        out.extend(stuck.into_iter().map(|i| (i, why.clone())));
    }
    out
}

/// Checks `targets` (jail names or definition files; every definition
/// when empty), each alone and, for the whole set, against each other;
/// also against the host's addresses and running jails.
/// Every file a `copy` or `render` step reads exists in the
/// definition's directory (`NAME/` beside `NAME.toml`).
fn step_sources(
    spec: &JailSpec,
    text: &str,
    file: &str,
    exists: &dyn Fn(&std::path::Path) -> bool,
    shown: &dyn Fn(&std::path::Path) -> PathBuf,
) -> Result<(), String> {
    use crate::model::provision::Action;
    for step in &spec.provision.steps {
        let (Action::Copy(f) | Action::Render { file: f, .. }) = &step.action else { continue };
        if !exists(&f.from) {
            let line = crate::config::line_col(text, step.offset).0;
            return Err(format!(
                "{file}:{line}: the step's file {} does not exist; put it in the definition's directory",
                shown(&f.from).display()
            ));
        }
    }
    Ok(())
}

pub fn validate(host: &dyn Host, targets: &[String]) -> Result<Vec<Checked>, Error> {
    let cfg = match HostConfig::load(host)? {
        Some(c) => c,
        None => HostConfig::new(DatasetName::parse(DEFAULT_DATASET)?, DEFAULT_MOUNTPOINT.into()),
    };
    let whole_set = targets.is_empty();
    // The whole set: each definition file, shown as the host shows it.
    let located: Vec<(String, Result<Target, String>)> = if whole_set {
        let files = jail::definition_files(host)?;
        files
            .iter()
            .map(|p| {
                let shown = host.local_path(p).display().to_string();
                let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                let target = JailName::parse(&stem)
                    .map(Target::Defined)
                    .map_err(|e| format!("{shown}: the file name must be the jail's name: {e}"));
                (shown, target)
            })
            .collect()
    } else {
        targets.iter().map(|t| (t.clone(), locate(t))).collect()
    };
    let mut results: Vec<Checked> = Vec::new();
    let mut valid: Vec<JailSpec> = Vec::new();
    let mut index_of: Vec<usize> = Vec::new();
    for (shown, target) in located {
        let (name, file, loaded) = match target {
            Err(e) => {
                results.push(Checked { name: shown.clone(), file: shown, valid: false, error: Some(e) });
                continue;
            }
            Ok(Target::Defined(name)) => {
                let file = host.local_path(&definition_path(&name)).display().to_string();
                let loaded = jail::load_defined(host, &name, &cfg).map_err(|e| e.to_string()).and_then(|spec| {
                    let text = crate::config::read_machine_text(host, &definition_path(&name)).unwrap_or_default();
                    let dir = crate::state::layout::files_dir(&name);
                    step_sources(&spec, &text, &file, &|rel| host.exists(&dir.join(rel)), &|rel| {
                        host.local_path(&dir.join(rel))
                    })
                    .map(|()| spec)
                });
                (name, file, loaded)
            }
            Ok(Target::File(name, path)) => {
                let file = path.display().to_string();
                let loaded = jail::load(&path, &name, &cfg).map_err(|e| e.to_string()).and_then(|spec| {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let dir = path.with_extension("");
                    step_sources(&spec, &text, &file, &|rel| dir.join(rel).exists(), &|rel| dir.join(rel))
                        .map(|()| spec)
                });
                (name, file, loaded)
            }
        };
        match loaded {
            Ok(spec) => {
                index_of.push(results.len());
                results.push(Checked { name: name.to_string(), file, valid: true, error: None });
                valid.push(spec);
            }
            Err(e) => results.push(Checked { name: name.to_string(), file, valid: false, error: Some(e) }),
        }
    }
    // Cross-definition checks only mean something over the whole set;
    // the host's own addresses and running jails' concern each one.
    let mut found = if whole_set { cross_checks(&valid) } else { Vec::new() };
    let book = crate::plan::addresses::AddressBook::new(&host.interfaces()?, &host.jail_list()?, &[]);
    for (i, spec) in valid.iter().enumerate() {
        let record = super::observe::started(host, &spec.name);
        if let Err(e) = super::lifecycle::refuse_taken(&book, spec, record.as_ref()) {
            found.push((i, e.to_string()));
        }
    }
    for (i, msg) in found {
        let r = &mut results[index_of[i]];
        r.valid = false;
        r.error = Some(format!("{}: {msg}", r.file));
    }
    Ok(results)
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct Audit {
    pub jails: Vec<JailAudit>,
    pub host: Vec<Finding>,
    /// High-severity findings: brig audit exits 1 when there is one.
    pub high: usize,
}

/// What each of `names`' roots can do beyond the secure defaults, and
/// the host settings that widen every jail; the definitions that do not
/// read, with why.
pub fn audit(host: &dyn Host, names: &Names, report: &dyn Report) -> Result<(Audit, Vec<(JailName, Error)>), Error> {
    let cfg = super::config(host)?;
    let (mut specs, broken) = selected(host, &cfg, names, report)?.every_valid();
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    // Each ruleset the jails use, read once.
    let mut rulesets = std::collections::BTreeMap::new();
    let mut jails: Vec<JailAudit> = Vec::new();
    for spec in &specs {
        let ruleset = crate::plan::run::devfs_ruleset(spec);
        let rules = match u16::try_from(ruleset).ok().filter(|n| *n != 0) {
            Some(n) => match rulesets.get(&n) {
                Some(r) => Some(*r),
                None => {
                    let r = host.devfs_rules(n)?;
                    rulesets.insert(n, r);
                    Some(r)
                }
            },
            None => None,
        };
        jails.push(audit::jail(spec, rules));
    }
    let mut values = Vec::new();
    for name in audit::HOST_SYSCTLS {
        match host.sysctl_get(name) {
            Ok(v) => values.push((*name, v.as_int().unwrap_or(0))),
            Err(e) if e.errno == Errno::ENOENT => {}
            Err(e) => return Err(e.into()),
        }
    }
    let host_findings = audit::host(&values);
    let high = jails.iter().flat_map(|j| &j.findings).filter(|f| f.severity == Severity::High).count();
    Ok((Audit { jails, host: host_findings, high }, broken))
}
