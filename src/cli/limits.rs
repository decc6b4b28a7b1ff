//! `brig limits NAME [set|unset]` and `brig stats`: a jail's rctl limits
//! and CPUs, changed in its definition and live; usage of every running
//! jail from rctl_get_racct(2), one call per jail and no process.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::output::{print_json, table};
use super::CliError;
use crate::config::{jail, ConfigError, HostConfig};
use crate::host::{Errno, Host};
use crate::model::jail::JailSpec;
use crate::model::limits::Limit;
use crate::model::JailName;
use crate::plan::apply::Note;
use crate::plan::{cpu_list, Op};
use crate::state::atomic;
use crate::state::layout::definition_path;

#[derive(Debug, Args)]
pub struct LimitsArgs {
    /// The jail.
    pub name: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub change: Option<LimitsChange>,
}

#[derive(Debug, Subcommand)]
pub enum LimitsChange {
    /// Set limits (RESOURCE=AMOUNT, or cpus=LIST) in the definition and on the running jail.
    Set {
        /// Such as memoryuse=1G, maxproc=200, 'readbps={ amount = "10M", action = "log" }' or cpus=0-3.
        #[arg(required = true, value_name = "RESOURCE=AMOUNT")]
        values: Vec<String>,
    },
    /// Remove limits from the definition and from the running jail.
    Unset {
        #[arg(required = true, value_name = "RESOURCE")]
        resources: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The resources `brig stats` shows, in its column order.
const STATS: &[&str] = &["memoryuse", "pcpu", "maxproc", "openfiles", "readbps", "writebps"];

#[derive(Serialize)]
struct LimitJson<'a> {
    #[serde(flatten)]
    limit: &'a Limit,
    rule: String,
    /// The rule is in the kernel now.
    active: bool,
    usage: Option<u64>,
}

#[derive(Serialize)]
struct LimitsJson<'a> {
    name: String,
    running: bool,
    racct: bool,
    limits: Vec<LimitJson<'a>>,
    cpus: Option<String>,
}

/// rctl_get_racct(2) of a running jail; None while racct is off.
fn usage(host: &dyn Host, name: &str) -> Result<Option<BTreeMap<String, u64>>, CliError> {
    match host.rctl_usage(&format!("jail:{name}")) {
        Ok(u) => Ok(Some(u)),
        Err(e) if e.errno == Errno::ENOSYS => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn defined(host: &dyn Host, cfg: &HostConfig, name: &JailName) -> Result<JailSpec, CliError> {
    let path = host.local_path(&definition_path(name));
    if !path.exists() {
        return Err(CliError::NotFound(format!("jail {name} is not defined; `brig list` shows the jails")));
    }
    Ok(jail::load(&path, name, cfg)?)
}

pub fn run(host: &mut dyn Host, args: &LimitsArgs) -> Result<ExitCode, CliError> {
    let cfg = super::require_config(host)?;
    let name = JailName::parse(&args.name)?;
    match &args.change {
        None => show(host, &cfg, &name, args.json),
        Some(change) => {
            let _lock = super::guard::guard(host, &cfg, &[&name])?;
            change_limits(host, &cfg, &name, change)
        }
    }
}

fn show(host: &dyn Host, cfg: &HostConfig, name: &JailName, json: bool) -> Result<ExitCode, CliError> {
    let spec = defined(host, cfg, name)?;
    let running = host.jail_find(name.as_str())?.is_some();
    let (racct, active, used) = if running {
        let rules = crate::app::observe::rctl_rules(host, &format!("jail:{name}:"))?;
        (rules.is_some(), rules.unwrap_or_default(), usage(host, name.as_str())?.unwrap_or_default())
    } else {
        (true, Vec::new(), BTreeMap::new())
    };
    let rows: Vec<LimitJson> = spec
        .limits
        .rules
        .iter()
        .map(|l| {
            let rule = l.rule(name);
            LimitJson { active: active.contains(&rule), usage: used.get(l.resource).copied(), rule, limit: l }
        })
        .collect();
    let cpus = spec.limits.cpus.as_ref().map(|c| cpu_list(c));
    if json {
        print_json(&LimitsJson { name: name.to_string(), running, racct, limits: rows, cpus })?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() && cpus.is_none() {
        println!("jail {name} has no limits");
        return Ok(ExitCode::SUCCESS);
    }
    let dash = || "-".to_string();
    let body = rows
        .iter()
        .map(|r| {
            vec![
                r.limit.resource.to_string(),
                format!(
                    "{}{}",
                    super::output::rctl_amount(r.limit.resource, r.limit.amount),
                    if r.limit.per_process { "/process" } else { "" }
                ),
                r.limit.action.clone(),
                if running {
                    if r.active {
                        "yes".into()
                    } else {
                        "no".into()
                    }
                } else {
                    dash()
                },
                r.usage.map_or_else(dash, |u| super::output::rctl_amount(r.limit.resource, u)),
            ]
        })
        .collect();
    println!("{}", table(&["RESOURCE", "AMOUNT", "ACTION", "ACTIVE", "USAGE"], body));
    if let Some(c) = cpus {
        println!("cpus: {c}");
    }
    if running && !racct {
        eprintln!("brig: kern.racct.enable is 0: no limit is enforced; add kern.racct.enable=1 to /boot/loader.conf and reboot");
    }
    Ok(ExitCode::SUCCESS)
}

/// Edits `[limits]` of the definition, validates the whole definition,
/// writes it atomically, then changes a running jail's rules and cpuset
/// (undone in reverse if one fails; the definition is then restored).
fn change_limits(
    host: &mut dyn Host,
    cfg: &HostConfig,
    name: &JailName,
    change: &LimitsChange,
) -> Result<ExitCode, CliError> {
    defined(host, cfg, name)?;
    let path = host.local_path(&definition_path(name));
    let old = crate::config::read_text(&path)?;
    let mut doc = old.parse::<toml_edit::DocumentMut>().map_err(|e| {
        CliError::Config(ConfigError::at(&path, &old, e.span().map_or(0, |s| s.start), e.message().to_string()))
    })?;
    let not_a_table = |e: crate::config::edit::NotATable| CliError::Failed(format!("{}: {e}", path.display()));
    match change {
        LimitsChange::Set { values } => {
            for kv in values {
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| CliError::Usage(format!("{kv}: expected RESOURCE=AMOUNT, such as memoryuse=1G")))?;
                crate::config::edit::set(&mut doc, &["limits"], k.trim(), crate::config::edit::parse_value(v.trim()))
                    .map_err(not_a_table)?;
            }
        }
        LimitsChange::Unset { resources } => {
            for r in resources {
                if !crate::config::edit::remove(&mut doc, &["limits"], r).map_err(not_a_table)? {
                    return Err(CliError::Failed(format!(
                        "jail {name} has no limit {r}; `brig limits {name}` shows them"
                    )));
                }
            }
        }
    }
    let text = doc.to_string();
    let spec = jail::check(&path, &text, name, cfg)?;
    // Journaled as an apply from the moment the definition changes: a
    // brig killed before the rules follow leaves an entry, and recovery
    // brings the rules in line with the new definition.
    super::guard::journaled(host, name, crate::state::journal::Action::Apply, |host| {
        atomic::write(&path, text.as_bytes(), 0o600).map_err(|e| CliError::Config(ConfigError::io(&path, e)))?;
        live(host, cfg, &spec, &path, &old)
    })
}

/// Brings a running jail's rules and cpuset in line with its changed
/// definition; restores the old definition if that fails.
fn live(host: &mut dyn Host, cfg: &HostConfig, spec: &JailSpec, path: &Path, old: &str) -> Result<ExitCode, CliError> {
    let name = &spec.name;
    match host.jail_find(name.as_str())? {
        None => {
            println!("updated the limits of {name}; they apply when it starts");
            return Ok(ExitCode::SUCCESS);
        }
        // Its rules would land on a jail that is not brig's.
        Some(j) => {
            if let Some(why) = crate::app::observe::foreign(host, cfg, name, &j) {
                println!("updated the limits of {name}; they apply when brig starts it");
                eprintln!("brig: note: {why}");
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    let plans = super::apply::plans(host, cfg, std::slice::from_ref(spec))?;
    let ops: Vec<Op> = plans
        .iter()
        .flat_map(|p| p.ops.iter())
        .filter(|op| matches!(op, Op::AddRctl { .. } | Op::RemoveRctl { .. } | Op::PinCpus { .. }))
        .cloned()
        .collect();
    if let Err(e) = crate::exec::run(host, &ops) {
        // The running jail is as it was: so must its definition be.
        atomic::write(path, old.as_bytes(), 0o600).map_err(|e| CliError::Config(ConfigError::io(path, e)))?;
        return Err(CliError::Failed(format!("jail {name}: {e}; the definition is unchanged")));
    }
    for n in plans.iter().flat_map(|p| p.notes.iter()).filter(|n| matches!(n, Note::LimitsOff { .. })) {
        eprintln!("brig: note: {n}");
    }
    super::run::show(name, &ops);
    println!("updated the limits of {name}, live");
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct StatsRow {
    name: String,
    jid: i32,
    usage: BTreeMap<String, u64>,
}

#[derive(Serialize)]
struct StatsJson {
    jails: Vec<StatsRow>,
}

pub fn stats(host: &dyn Host, args: &StatsArgs) -> Result<ExitCode, CliError> {
    super::require_config(host)?;
    let mut rows = Vec::new();
    for j in host.jail_list()?.into_iter().filter(|j| !j.dying) {
        let Some(u) = usage(host, &j.name)? else {
            return Err(CliError::Failed(
                "kern.racct.enable is 0, so the kernel keeps no usage; add kern.racct.enable=1 to /boot/loader.conf and reboot".into(),
            ));
        };
        rows.push(StatsRow { name: j.name, jid: j.jid, usage: u });
    }
    if args.json {
        print_json(&StatsJson { jails: rows })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut header = vec!["NAME", "JID"];
    header.extend_from_slice(STATS);
    let body = rows
        .iter()
        .map(|r| {
            let mut v = vec![r.name.clone(), r.jid.to_string()];
            v.extend(
                STATS.iter().map(|s| r.usage.get(*s).map_or_else(|| "-".into(), |n| super::output::rctl_amount(s, *n))),
            );
            v
        })
        .collect();
    println!("{}", table(&header, body));
    Ok(ExitCode::SUCCESS)
}
