use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::output::{print_json, table};
use super::CliError;
use crate::config::jail;
use crate::host::{Errno, GetFlags, Host, JailKey, MountEntry, LIVE_PARAMS};
use crate::model::jail::{JailSpec, Network};
use crate::model::JailName;
use crate::plan::jail as plan;

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The jail.
    pub name: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Definition {
    release: Option<String>,
    #[serde(rename = "type")]
    jail_type: String,
    hostname: String,
    boot: bool,
    priority: u32,
    depends: Vec<String>,
    interface: Option<String>,
    ip4: Vec<String>,
    ip6: Vec<String>,
    inherit_network: bool,
    /// Every parameter brig sets, secure defaults included.
    params: BTreeMap<String, String>,
    exec_start: String,
    exec_stop: String,
    mounts: Vec<String>,
}

#[derive(Serialize)]
struct Dataset {
    name: String,
    used: u64,
    /// 0 when there is none.
    quota: u64,
    origin: Option<String>,
    mountpoint: String,
    /// ZFS `jailed`: managed from inside a jail.
    jailed: bool,
    /// The running jail it is attached to (`zfs jail`), as brig recorded
    /// when it started the jail.
    attached_to: Option<String>,
}

#[derive(Serialize)]
struct Info {
    name: String,
    file: String,
    state: String,
    jid: Option<i32>,
    definition: Definition,
    /// Parameters as the kernel reports them, while running.
    live: BTreeMap<String, String>,
    datasets: Vec<Dataset>,
    mounts: Vec<MountEntry>,
}

fn definition(s: &JailSpec) -> Definition {
    let (interface, ip4, ip6) = match &s.network {
        Network::Addresses { interface, ip4, ip6 } => (
            interface.clone(),
            ip4.iter().map(ToString::to_string).collect(),
            ip6.iter().map(ToString::to_string).collect(),
        ),
        _ => (None, Vec::new(), Vec::new()),
    };
    Definition {
        release: s.release.as_ref().map(ToString::to_string),
        jail_type: s.jail_type.as_str().into(),
        hostname: s.hostname.clone(),
        boot: s.boot,
        priority: s.priority,
        depends: s.depends.iter().map(ToString::to_string).collect(),
        interface,
        ip4,
        ip6,
        inherit_network: s.network == Network::Inherit,
        params: s.params.iter().map(|p| (p.name.clone(), p.value.to_string())).collect(),
        exec_start: s.exec.start.clone(),
        exec_stop: s.exec.stop.clone(),
        mounts: s
            .mounts
            .iter()
            .map(|m| {
                format!(
                    "{} {} on {}{}",
                    m.fstype,
                    m.source,
                    m.target.display(),
                    if m.readonly { " (read-only)" } else { "" }
                )
            })
            .collect(),
    }
}

pub fn run(host: &dyn Host, args: &InfoArgs) -> Result<ExitCode, CliError> {
    let cfg = super::require_config(host)?;
    let name = JailName::parse(&args.name)?;
    let path = host.local_path(&crate::state::layout::definition_path(&name));
    if !path.exists() {
        return Err(CliError::NotFound(format!("jail {name} is not defined; `brig list` shows the jails")));
    }
    let spec = jail::load(&path, &name, &cfg)?;
    let running = host.jail_find(name.as_str())?;
    let mut live = BTreeMap::new();
    if let Some(j) = &running {
        let key = JailKey::Jid(j.jid);
        for p in host.jail_get(&key, LIVE_PARAMS, GetFlags::ALIVE)? {
            live.insert(p.name, p.value.to_string());
        }
        // One by one: a parameter of a module the kernel has not loaded is
        // unknown to it (EINVAL) and is left out rather than failing all.
        for p in &spec.params {
            match host.jail_get(&key, &[p.name.as_str()], GetFlags::ALIVE) {
                Ok(v) => live.extend(v.into_iter().map(|p| (p.name, p.value.to_string()))),
                Err(e) if e.errno == Errno::EINVAL => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let attached: Vec<String> = match &running {
        Some(_) => crate::app::observe::started(host, &name).map(|s| s.datasets).unwrap_or_default(),
        None => Vec::new(),
    };
    let props = ["used", "quota", "origin", "mountpoint", "jailed"];
    let datasets = match host.zfs_list(plan::dataset(&cfg, &name).as_str(), &props) {
        Ok(list) => list
            .into_iter()
            .map(|d| Dataset {
                used: d.props.get("used").and_then(|v| v.parse().ok()).unwrap_or(0),
                quota: d.props.get("quota").and_then(|v| v.parse().ok()).unwrap_or(0),
                origin: d.props.get("origin").filter(|o| *o != "-").cloned(),
                mountpoint: d.props.get("mountpoint").cloned().unwrap_or_default(),
                jailed: d.props.get("jailed").is_some_and(|v| v == "on"),
                attached_to: attached.contains(&d.name).then(|| name.to_string()),
                name: d.name,
            })
            .collect(),
        Err(e) if e.errno == Errno::ENOENT => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let root = plan::root_path(&cfg, &name);
    let mounts: Vec<MountEntry> = host.mounts()?.into_iter().filter(|m| m.target.starts_with(&root)).collect();
    let info = Info {
        name: name.to_string(),
        file: path.display().to_string(),
        state: if running.is_some() { "running".into() } else { "stopped".into() },
        jid: running.as_ref().map(|j| j.jid),
        definition: definition(&spec),
        live,
        datasets,
        mounts,
    };
    if args.json {
        print_json(&info)?;
        return Ok(ExitCode::SUCCESS);
    }
    let d = &info.definition;
    let mut rows = vec![
        vec!["name".to_string(), info.name.clone()],
        vec!["state".into(), info.jid.map_or(info.state.clone(), |j| format!("{} (jid {j})", info.state))],
        vec!["file".into(), info.file.clone()],
        vec!["release".into(), d.release.clone().unwrap_or_else(|| "-".into())],
        vec!["type".into(), d.jail_type.clone()],
        vec!["hostname".into(), d.hostname.clone()],
        vec!["boot".into(), format!("{} (priority {})", if d.boot { "yes" } else { "no" }, d.priority)],
        vec!["depends".into(), if d.depends.is_empty() { "-".into() } else { d.depends.join(", ") }],
        vec!["network".into(), network_line(d)],
    ];
    rows.extend(d.mounts.iter().map(|m| vec!["mount".to_string(), m.clone()]));
    println!("{}", table(&["KEY", "VALUE"], rows));
    println!();
    let ds_rows = info
        .datasets
        .iter()
        .map(|x| {
            vec![
                x.name.clone(),
                super::output::size(x.used),
                super::output::quota(x.quota),
                x.origin.clone().unwrap_or_else(|| "-".into()),
                if x.jailed { "on".into() } else { "off".into() },
                x.attached_to.clone().map_or_else(|| "-".into(), |j| format!("jail {j}")),
            ]
        })
        .collect();
    println!("{}", table(&["DATASET", "USED", "QUOTA", "ORIGIN", "JAILED", "ATTACHED"], ds_rows));
    println!();
    let params = d
        .params
        .iter()
        .map(|(k, v)| vec![k.clone(), v.clone(), info.live.get(k).cloned().unwrap_or_else(|| "-".into())])
        .collect();
    println!("{}", table(&["PARAMETER", "DEFINED", "LIVE"], params));
    Ok(ExitCode::SUCCESS)
}

fn network_line(d: &Definition) -> String {
    if d.inherit_network {
        return "inherit (the host's network)".into();
    }
    let addrs: Vec<&str> = d.ip4.iter().chain(&d.ip6).map(String::as_str).collect();
    match (addrs.is_empty(), &d.interface) {
        (true, _) => "none".into(),
        (false, Some(i)) => format!("{} on {i}", addrs.join(", ")),
        (false, None) => addrs.join(", "),
    }
}
