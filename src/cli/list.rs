//! `brig list`.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::output::{print_json, table};
use super::CliError;
use crate::app::inspect::{list, Listed};
use crate::host::Host;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only the jails behind a newer patch level of their release (or the host's); `brig upgrade` takes them there.
    #[arg(long)]
    pub outdated: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct ListJson {
    jails: Vec<Listed>,
}

pub fn run(host: &dyn Host, args: &ListArgs) -> Result<ExitCode, CliError> {
    let mut rows = list(host)?;
    if args.outdated {
        rows.retain(|r| r.available.is_some());
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
                match (&r.version, &r.available) {
                    (Some(v), Some(p)) => format!("{v} ({p} available)"),
                    (Some(v), None) => v.clone(),
                    (None, _) => r.release.clone().unwrap_or_else(dash),
                },
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
