use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::output::{print_json, table};
use super::CliError;
use crate::config::jail;
use crate::host::{Host, LiveJail};
use crate::model::jail::Network;
use crate::model::JailName;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Row {
    name: String,
    /// running, stopped, or invalid (the definition does not validate).
    state: String,
    jid: Option<i32>,
    ip: Vec<String>,
    release: Option<String>,
    #[serde(rename = "type")]
    jail_type: Option<String>,
    boot: Option<bool>,
    /// false for a running jail that has no definition.
    managed: bool,
    /// The managed jail a nested jail (`parent.child`) runs in.
    parent: Option<String>,
    /// Why the definition does not validate.
    error: Option<String>,
}

#[derive(Serialize)]
struct ListJson {
    jails: Vec<Row>,
}

fn live_ips(j: &LiveJail) -> Vec<String> {
    j.ip4.iter().map(ToString::to_string).chain(j.ip6.iter().map(ToString::to_string)).collect()
}

/// Every defined jail and every running one: one jail_get sweep and the
/// definition files; no process, no per-jail ZFS call.
pub fn run(host: &dyn Host, args: &ListArgs) -> Result<ExitCode, CliError> {
    let cfg = super::require_config(host)?;
    // By name; a running jail hides a dying one of the same name.
    let mut live: BTreeMap<String, LiveJail> = BTreeMap::new();
    for j in host.jail_list()? {
        if live.get(&j.name).is_none_or(|seen| seen.dying) {
            live.insert(j.name.clone(), j);
        }
    }
    let state_of = |j: &LiveJail| if j.dying { "dying" } else { "running" };
    let mut files: Vec<(JailName, std::path::PathBuf)> = jail::definition_files(host)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| jail::name_of(&p).map(|n| (n, p)))
        .collect();
    files.sort();
    let mut rows = Vec::new();
    for (name, path) in &files {
        let running = live.get(name.as_str());
        let state = running.map_or("stopped", state_of);
        rows.push(match jail::load(path, name, &cfg) {
            Ok(spec) => Row {
                name: name.to_string(),
                state: state.into(),
                jid: running.map(|j| j.jid),
                ip: match (running, &spec.network) {
                    (Some(j), _) => live_ips(j),
                    (None, Network::Addresses { ip4, ip6, .. }) => ip4
                        .iter()
                        .map(|a| a.addr().to_string())
                        .chain(ip6.iter().map(|a| a.addr().to_string()))
                        .collect(),
                    (None, Network::Inherit) => vec!["inherit".into()],
                    (None, Network::None) => Vec::new(),
                },
                release: spec.release.as_ref().map(ToString::to_string),
                jail_type: Some(spec.jail_type.as_str().into()),
                boot: Some(spec.boot),
                managed: true,
                parent: None,
                error: None,
            },
            Err(e) => Row {
                name: name.to_string(),
                state: running.map_or("invalid", state_of).into(),
                jid: running.map(|j| j.jid),
                ip: running.map(live_ips).unwrap_or_default(),
                release: None,
                jail_type: None,
                boot: None,
                managed: true,
                parent: None,
                error: Some(e.to_string()),
            },
        });
    }
    for (n, j) in &live {
        if !files.iter().any(|(name, _)| name.as_str() == n) {
            rows.push(Row {
                name: n.clone(),
                state: state_of(j).into(),
                jid: Some(j.jid),
                ip: live_ips(j),
                release: None,
                jail_type: None,
                boot: None,
                managed: false,
                parent: n.rsplit_once('.').map(|(p, _)| p.to_string()),
                error: None,
            });
        }
    }
    // Every jail is listed; one whose definition does not read makes the
    // exit status 1, so a script notices.
    let code = if rows.iter().any(|r| r.error.is_some()) { ExitCode::from(1) } else { ExitCode::SUCCESS };
    if args.json {
        print_json(&ListJson { jails: rows })?;
        return Ok(code);
    }
    let dash = || "-".to_string();
    let unmanaged = rows.iter().any(|r| !r.managed);
    let body = rows
        .iter()
        .map(|r| {
            vec![
                if r.managed { r.name.clone() } else { format!("{}*", r.name) },
                r.state.clone(),
                r.jid.map_or_else(dash, |j| j.to_string()),
                if r.ip.is_empty() { dash() } else { r.ip.join(",") },
                r.release.clone().unwrap_or_else(dash),
                r.jail_type.clone().unwrap_or_else(dash),
                r.boot.map_or_else(dash, |b| if b { "yes".into() } else { "no".into() }),
            ]
        })
        .collect();
    println!("{}", table(&["NAME", "STATE", "JID", "IP", "RELEASE", "TYPE", "BOOT"], body));
    if unmanaged {
        println!("* running, but not managed by brig (no definition; PARENT.CHILD runs inside PARENT)");
    }
    for r in rows.iter().filter(|r| r.error.is_some()) {
        eprintln!("brig: {}", r.error.as_deref().unwrap_or_default());
    }
    Ok(code)
}
