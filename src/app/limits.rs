//! A jail's rctl limits and CPUs: shown with their usage, changed in the
//! definition and live; and usage of every running jail from
//! rctl_get_racct(2), one call per jail and no process.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::guard::guard_unless;
use super::{Error, Event, Refused, Report};
use crate::config::{edit, jail, ConfigError, HostConfig};
use crate::host::{Errno, Host};
use crate::model::jail::JailSpec;
use crate::model::limits::Limit;
use crate::model::JailName;
use crate::plan::apply::Note;
use crate::plan::{cpu_list, Op};
use crate::state::journal::{self, Action};
use crate::state::layout::definition_path;

/// One limit of a definition, as the kernel has it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LimitState {
    #[serde(flatten)]
    pub limit: Limit,
    pub rule: String,
    /// The rule is in the kernel now.
    pub active: bool,
    pub usage: Option<u64>,
}

/// A jail's limits and CPUs.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Limits {
    pub name: String,
    pub running: bool,
    /// The kernel keeps accounting (kern.racct.enable); only known while
    /// the jail runs, true otherwise.
    pub racct: bool,
    pub limits: Vec<LimitState>,
    pub cpus: Option<String>,
    /// bit/s each way; 0: that way is not limited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<crate::model::limits::Bandwidth>,
    /// The bandwidth the running jail's pipes have, as its start (or a
    /// live change since) set them: a bandwidth added to a running jail
    /// waits for its restart, and is not here until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bandwidth_active: Option<crate::model::limits::Bandwidth>,
}

/// A change of limits: `RESOURCE=AMOUNT` (or `cpus=LIST`) to set, or
/// resources to remove.
#[derive(Debug, Clone)]
pub enum Change {
    Set(Vec<String>),
    Unset(Vec<String>),
}

/// What a change of limits did.
#[derive(Debug)]
pub enum Changed {
    /// The definition already had these limits: nothing was done.
    Unchanged,
    /// A dry run: the definition would change; nothing was done.
    Pending,
    /// The jail is not running: the limits apply when it starts.
    Stopped,
    /// A jail of that name runs that brig did not start: its limits apply
    /// when brig starts it.
    NotBrigs,
    /// The running jail's rules, cpuset and bandwidth changed.
    Live,
    /// As Live, but bandwidth limits added or taken away wait for its
    /// restart (a start takes its dummynet pipes, a stop deletes them).
    LiveButBandwidth,
}

/// rctl_get_racct(2) of a running jail; None while racct is off.
fn usage(host: &dyn Host, name: &str) -> Result<Option<BTreeMap<String, u64>>, Error> {
    match host.rctl_usage(&format!("jail:{name}")) {
        Ok(u) => Ok(Some(u)),
        Err(e) if e.errno == Errno::ENOSYS => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub fn show(host: &dyn Host, name: &JailName) -> Result<Limits, Error> {
    let cfg = super::config(host)?;
    let spec = super::select::defined(host, &cfg, name)?;
    let running = host.jail_find(name.as_str())?.is_some();
    let (racct, active, used) = if running {
        let rules = super::observe::rctl_rules(host, &format!("jail:{name}:"))?;
        (rules.is_some(), rules.unwrap_or_default(), usage(host, name.as_str())?.unwrap_or_default())
    } else {
        (true, Vec::new(), BTreeMap::new())
    };
    let limits = spec
        .limits
        .rules
        .iter()
        .map(|l| {
            let rule = l.rule(name);
            let active = active.contains(&rule);
            LimitState { active, usage: used.get(l.resource).copied(), rule: rule.to_string(), limit: l.clone() }
        })
        .collect();
    let cpus = spec.limits.cpus.as_ref().map(|c| cpu_list(c));
    let bandwidth_active = if running {
        super::observe::started(host, name).and_then(|r| r.firewall).and_then(|f| f.shaping).map(|s| s.bandwidth)
    } else {
        None
    };
    Ok(Limits {
        name: name.to_string(),
        running,
        racct,
        limits,
        cpus,
        bandwidth: spec.limits.bandwidth,
        bandwidth_active,
    })
}

/// Edits `[limits]` of the definition, validates the whole definition,
/// writes it atomically, then changes a running jail's rules and cpuset
/// (undone in reverse if one fails; the definition is then restored).
/// Limits the definition already has leave it as it is, but a running
/// jail that lacks their rules (one removed by hand) gets them back, as
/// `apply` would: `Unchanged` means nothing was to do. A dry run takes no
/// lock and changes nothing.
pub fn change(
    host: &mut dyn Host,
    name: &JailName,
    change: &Change,
    dry_run: bool,
    report: &dyn Report,
) -> Result<Changed, Error> {
    let cfg = super::config(host)?;
    let _lock = guard_unless(dry_run, host, &cfg, &[name], report)?;
    super::select::defined(host, &cfg, name)?;
    let machine_path = definition_path(name);
    let old = crate::config::read_machine_text(host, &machine_path)?;
    // Named in errors as the host shows it.
    let path = host.local_path(&machine_path);
    let mut doc = edit::document(&old, &path)?;
    let not_a_table = |source| Error::from(Refused::NotATable { file: path.clone(), source });
    match change {
        Change::Set(values) => {
            for kv in values {
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| Error::Usage(format!("{kv}: expected RESOURCE=AMOUNT, such as memoryuse=1G")))?;
                edit::set(&mut doc, &["limits"], k.trim(), edit::parse_value(v.trim())).map_err(not_a_table)?;
            }
        }
        Change::Unset(resources) => {
            for r in resources {
                // A limit the jail does not have is unset already.
                if !edit::remove(&mut doc, &["limits"], r).map_err(not_a_table)? && !is_limit(r) {
                    return Err(Refused::NoSuchLimit { jail: name.clone(), resource: r.clone() }.into());
                }
            }
        }
    }
    let text = doc.to_string();
    // Its lines are not the file's once changed: errors are told by key.
    let spec = jail::check(&path, &text, name, &cfg).map_err(|e| e.by_key(&text))?;
    let same = edit::same_values(&old, &text);
    let live = live_plan(host, &cfg, &spec, report)?;
    if same && !matches!(&live, Live::Ops { ops, .. } if !ops.is_empty()) {
        return Ok(Changed::Unchanged);
    }
    if dry_run {
        return Ok(Changed::Pending);
    }
    // Journaled as an apply from the moment the definition changes: a
    // brig killed before the rules follow leaves an entry, and recovery
    // brings the rules in line with the new definition.
    journal::around(host, name, Action::Apply, |host| {
        if !same {
            host.write_file(&machine_path, text.as_bytes(), 0o600).map_err(|e| ConfigError::io(&path, e))?;
        }
        run_live(host, name, live, &machine_path, &old, report)
    })
}

/// Whether `key` of `[limits]` is one brig knows: an rctl resource,
/// `cpus` or a bandwidth.
fn is_limit(key: &str) -> bool {
    matches!(key, "cpus" | "bandwidth_in" | "bandwidth_out") || crate::kernel::rctl_rules::resource(key).is_some()
}

/// What bringing a running jail's rules, cpuset and pipes in line with its
/// definition takes, or why nothing can be done now.
enum Live {
    /// The jail is not running, or is not brig's.
    Not(Changed),
    /// Its operations; whether bandwidth added or taken away waits for a
    /// restart; the notes the plan made.
    Ops { ops: Vec<Op>, later: bool, notes: Vec<Note> },
}

/// Plans `Live` for `spec` against the running jail (reads only).
fn live_plan(host: &mut dyn Host, cfg: &HostConfig, spec: &JailSpec, report: &dyn Report) -> Result<Live, Error> {
    let name = &spec.name;
    match host.jail_find(name.as_str())? {
        None => return Ok(Live::Not(Changed::Stopped)),
        // Its rules would land on a jail that is not brig's.
        Some(j) => {
            if let Some(foreign) = super::observe::foreign(host, cfg, name, &j) {
                report.event(&Event::Note(&Note::NotBrigs(foreign)));
                return Ok(Live::Not(Changed::NotBrigs));
            }
        }
    }
    let plans = super::lifecycle::plans(host, cfg, std::slice::from_ref(spec))?;
    let mut ops: Vec<Op> = plans
        .iter()
        .flat_map(|p| p.ops.iter())
        .filter(|op| {
            matches!(op, Op::AddRctl { .. } | Op::RemoveRctl { .. } | Op::PinCpus { .. } | Op::ConfigurePipe { .. })
        })
        .cloned()
        .collect();
    // The new bandwidth in the start record, for the next apply to compare with.
    if let (true, Some((bandwidth, _))) = (ops.iter().any(|o| matches!(o, Op::ConfigurePipe { .. })), spec.shaping()) {
        let mut record = super::observe::started(host, name).unwrap_or_default();
        if let Some(s) = record.firewall.as_mut().and_then(|f| f.shaping.as_mut()) {
            s.bandwidth = bandwidth;
        }
        ops.push(record.write(name));
    }
    let later = plans.iter().flat_map(|p| &p.restart).any(|r| r.param == "limits.bandwidth");
    let notes = plans.into_iter().flat_map(|p| p.notes).filter(|n| matches!(n, Note::LimitsOff { .. })).collect();
    Ok(Live::Ops { ops, later, notes })
}

/// Carries out `live`; if that fails, puts the definition at `path` back
/// to `old`: the running jail is as it was, and so must its definition be.
fn run_live(
    host: &mut dyn Host,
    name: &JailName,
    live: Live,
    path: &Path,
    old: &str,
    report: &dyn Report,
) -> Result<Changed, Error> {
    let (ops, later, notes) = match live {
        Live::Not(changed) => return Ok(changed),
        Live::Ops { ops, later, notes } => (ops, later, notes),
    };
    if let Err(e) = crate::exec::run(host, &ops) {
        host.write_file(path, old.as_bytes(), 0o600).map_err(|e| ConfigError::io(host.local_path(path), e))?;
        return Err(Refused::LimitsFailed { jail: name.clone(), cause: Box::new(e) }.into());
    }
    for n in &notes {
        report.event(&Event::Note(n));
    }
    report.event(&Event::Steps { jail: name, ops: &ops });
    Ok(if later { Changed::LiveButBandwidth } else { Changed::Live })
}

/// The usage of one running jail.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Usage {
    pub name: String,
    pub jid: i32,
    pub usage: BTreeMap<String, u64>,
}

/// The usage of every running jail.
pub fn stats(host: &dyn Host) -> Result<Vec<Usage>, Error> {
    super::config(host)?;
    let mut rows = Vec::new();
    for j in host.jail_list()?.into_iter().filter(|j| !j.dying) {
        let u = usage(host, &j.name)?.ok_or(Refused::NoUsage)?;
        rows.push(Usage { name: j.name, jid: j.jid, usage: u });
    }
    Ok(rows)
}
