use std::process::ExitCode;

use clap::Subcommand;
use serde::Serialize;

use super::output::{print_json, table};
use super::{CliError, HostChoice};
use crate::host::sim::SimHost;

#[derive(Debug, Subcommand)]
pub enum DebugCommand {
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
    /// Milliseconds spent inside the simulated machine.
    sim_ms: f64,
}

pub fn run(cmd: DebugCommand, choice: Option<HostChoice>) -> Result<ExitCode, CliError> {
    let DebugCommand::SimStats { json, reset } = cmd;
    let Some(HostChoice::Sim(dir)) = choice else {
        return Err(CliError::Usage("debug sim-stats reads a simulated host: pass --host sim:DIR".into()));
    };
    let sim = SimHost::open(&dir)?;
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
        })?;
    } else {
        let mut rows: Vec<Vec<String>> = stats.ops.iter().map(|(k, v)| vec![k.clone(), v.to_string()]).collect();
        rows.push(vec!["(total)".into(), total_ops.to_string()]);
        rows.push(vec!["(spawned)".into(), stats.spawned.to_string()]);
        rows.push(vec!["(ms in the sim)".into(), format!("{:.1}", stats.sim_us as f64 / 1000.0)]);
        println!("{}", table(&["OP", "CALLS"], rows));
    }
    Ok(ExitCode::SUCCESS)
}
