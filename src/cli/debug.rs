use std::process::ExitCode;

use clap::Subcommand;
use serde::Serialize;

use super::output::{print_json, table};
use super::{CliError, HostChoice};
use crate::host::sim::SimHost;

#[derive(Debug, Subcommand)]
pub enum DebugCommand {
    /// The whole simulated machine: jails and their parameters, datasets, mounts, addresses, rctl rules, sysctls.
    SimShow {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Count of every host call and spawned process made against a simulated host.
    SimStats {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Start counting from zero.
        #[arg(long)]
        reset: bool,
    },
}

#[derive(Serialize)]
struct StatsJson {
    ops: std::collections::BTreeMap<String, u64>,
    total_ops: u64,
    spawned: u64,
    /// Milliseconds spent inside the simulated machine (its kernel).
    sim_ms: f64,
    /// Milliseconds spent in the commands brig ran (in jails and on the host).
    commands_ms: f64,
    /// brig's file reads and writes on the machine (not in `ops`).
    files: u64,
    /// `sim_ms` by op (and `files`).
    sim_ms_by_op: std::collections::BTreeMap<String, f64>,
}

pub fn run(cmd: DebugCommand, choice: Option<HostChoice>) -> Result<ExitCode, CliError> {
    let Some(HostChoice::Sim(dir)) = choice else {
        return Err(CliError::Usage("the debug commands read a simulated host: pass --host sim:DIR".into()));
    };
    let sim = SimHost::open(&dir)?;
    let (json, reset) = match cmd {
        DebugCommand::SimShow { json } => return show(&sim, json),
        DebugCommand::SimStats { json, reset } => (json, reset),
    };
    if reset {
        sim.reset_stats()?;
        return Ok(ExitCode::SUCCESS);
    }
    let stats = sim.stats();
    let total_ops = stats.ops.values().sum();
    if json {
        print_json(&StatsJson {
            ops: stats.ops,
            total_ops,
            spawned: stats.spawned,
            sim_ms: stats.sim_us as f64 / 1000.0,
            commands_ms: stats.commands_us as f64 / 1000.0,
            files: stats.files,
            sim_ms_by_op: stats.op_us.iter().map(|(k, v)| (k.clone(), *v as f64 / 1000.0)).collect(),
        })?;
    } else {
        let ms = |op: &str| stats.op_us.get(op).map_or_else(|| "-".into(), |us| format!("{:.1}", *us as f64 / 1000.0));
        let mut rows: Vec<Vec<String>> = stats.ops.iter().map(|(k, v)| vec![k.clone(), v.to_string(), ms(k)]).collect();
        rows.push(vec!["(files)".into(), stats.files.to_string(), ms("files")]);
        rows.push(vec!["(total)".into(), total_ops.to_string(), String::new()]);
        rows.push(vec!["(spawned)".into(), stats.spawned.to_string(), String::new()]);
        rows.push(vec!["(ms in the sim)".into(), String::new(), format!("{:.1}", stats.sim_us as f64 / 1000.0)]);
        rows.push(vec![
            "(ms in commands run)".into(),
            String::new(),
            format!("{:.1}", stats.commands_us as f64 / 1000.0),
        ]);
        println!("{}", table(&["OP", "CALLS", "MS IN THE SIM"], rows));
    }
    Ok(ExitCode::SUCCESS)
}

fn show(sim: &SimHost, json: bool) -> Result<ExitCode, CliError> {
    let m = sim.show()?;
    if json {
        print_json(&m)?;
        return Ok(ExitCode::SUCCESS);
    }
    let jails = m
        .jails
        .iter()
        .map(|j| {
            let path = j.params.get("path").cloned().unwrap_or_default();
            vec![j.jid.to_string(), j.name.clone(), if j.dying { "dying".into() } else { "alive".into() }, path]
        })
        .collect();
    println!("{}", table(&["JID", "NAME", "STATE", "PATH"], jails));
    println!();
    let datasets = m
        .datasets
        .iter()
        .map(|d| {
            vec![
                d.name.clone(),
                d.origin.clone().unwrap_or_else(|| "-".into()),
                d.mounted.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    println!("{}", table(&["DATASET", "ORIGIN", "MOUNTED"], datasets));
    println!();
    let mounts =
        m.mounts.iter().map(|x| vec![x.fstype.clone(), x.source.clone(), x.target.display().to_string()]).collect();
    println!("{}", table(&["FSTYPE", "SOURCE", "TARGET"], mounts));
    println!();
    let addrs = m.interfaces.iter().map(|(i, a)| vec![i.clone(), a.join(" ")]).collect();
    println!("{}", table(&["INTERFACE", "ADDRESSES"], addrs));
    if !m.links.is_empty() {
        let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let links = m
            .links
            .iter()
            .map(|l| {
                let jail = l.jail.map_or_else(|| "host".to_string(), |j| format!("jail {j}"));
                vec![
                    l.name.clone(),
                    dash(&l.cloner),
                    dash(&l.peer),
                    jail,
                    dash(&l.bridge),
                    (if l.up { "up" } else { "down" }).into(),
                ]
            })
            .collect();
        println!();
        println!("{}", table(&["LINK", "CLONER", "PEER", "VNET", "BRIDGE", "STATE"], links));
    }
    for r in &m.rctl {
        println!("rctl {r}");
    }
    Ok(ExitCode::SUCCESS)
}
