//! `brig info`.

use std::process::ExitCode;

use clap::Args;

use super::output::{print_json, table};
use super::CliError;
use crate::app::inspect::{info, Definition};
use crate::host::Host;
use crate::model::JailName;

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The jail.
    pub name: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(host: &dyn Host, args: &InfoArgs) -> Result<ExitCode, CliError> {
    let name = JailName::parse(&args.name)?;
    let info = info(host, &name)?;
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
        vec![
            "version".into(),
            match (&info.version, &info.available) {
                (Some(v), Some(p)) => format!("{v} ({p} available: brig upgrade {})", info.name),
                (Some(v), None) => v.clone(),
                (None, _) => "-".into(),
            },
        ],
        vec!["type".into(), d.jail_type.clone()],
        vec!["hostname".into(), d.hostname.clone()],
        vec!["boot".into(), format!("{} (priority {})", if d.boot { "yes" } else { "no" }, d.priority)],
        vec!["depends".into(), if d.depends.is_empty() { "-".into() } else { d.depends.join(", ") }],
        vec!["network".into(), network_line(d)],
    ];
    // What the jail's own stack has now.
    if let Some(inside) = &info.inside {
        for i in &inside.interfaces {
            let addrs: Vec<String> = i.addrs.iter().map(ToString::to_string).collect();
            let state = if i.up { "up" } else { "down" };
            rows.push(vec!["inside".into(), format!("{} {state} {}", i.name, addrs.join(" ")).trim_end().to_string()]);
        }
        for g in inside.ip4_gateway.map(|g| g.to_string()).into_iter().chain(inside.ip6_gateway.map(|g| g.to_string()))
        {
            rows.push(vec!["inside".into(), format!("default via {g}")]);
        }
    }
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
    let addrs: Vec<&str> = d.ip4.iter().chain(&d.ip6).map(String::as_str).collect();
    if let Some(v) = &d.vnet {
        let mut line = format!("vnet, {}", d.interface.as_deref().unwrap_or("-"));
        if let Some(b) = &v.bridge {
            line.push_str(&format!(" on {b}"));
        }
        let mut rest: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
        rest.extend(v.ip4_gateway.iter().chain(&v.ip6_gateway).map(|g| format!("via {g}")));
        if v.dhcp {
            rest.push("dhcp".into());
        }
        if v.slaac {
            rest.push("slaac".into());
        }
        if !rest.is_empty() {
            line.push_str(&format!(": {}", rest.join(", ")));
        }
        return line;
    }
    match (d.network, addrs.is_empty(), &d.interface) {
        ("inherit", _, _) => "inherit (the host's network)".into(),
        (_, true, _) => "none".into(),
        (_, false, Some(i)) => format!("{} on {i}", addrs.join(", ")),
        (_, false, None) => addrs.join(", "),
    }
}
