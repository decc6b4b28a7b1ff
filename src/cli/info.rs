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
