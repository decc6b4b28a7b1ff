//! `brig boot start|stop|plan`: what rc.d/brig runs at boot and shutdown.
//! A failed jail does not stop the others; it, and the jails skipped
//! because they depend on it, make the exit status 1.

use std::process::ExitCode;

use clap::Subcommand;
use serde::Serialize;

use super::host_choice::{self, HostChoice};
use super::output::print_json;
use super::report::Printer;
use super::CliError;
use crate::app::boot::{self, BootPlan};
use crate::app::Error;
use crate::host::Host;

#[derive(Debug, Subcommand)]
pub enum BootCommand {
    /// Start every jail with boot = true (and what they depend on), wave by wave.
    Start {
        /// How many jails of a wave start at the same time.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
        jobs: u16,
        /// Start jails that define limits without them when kern.racct.enable is 0.
        #[arg(long)]
        no_limits: bool,
    },
    /// Stop every running jail brig manages, in the reverse waves.
    Stop {
        /// How many jails of a wave stop at the same time.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
        jobs: u16,
    },
    /// Print the waves `boot start` would run.
    Plan {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize, schemars::JsonSchema)]
struct WaveJson {
    wave: usize,
    jails: Vec<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
struct PulledJson {
    jail: String,
    needed_by: String,
}

#[derive(Serialize, schemars::JsonSchema)]
struct BlockedJson {
    jail: String,
    why: String,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct PlanJson {
    waves: Vec<WaveJson>,
    pulled_in: Vec<PulledJson>,
    /// Jails that cannot start (dependencies undefined or in a cycle).
    blocked: Vec<BlockedJson>,
    invalid: Vec<String>,
}

pub fn run(choice: Option<HostChoice>, cmd: &BootCommand) -> Result<ExitCode, CliError> {
    let mut host = host_choice::open(choice.clone())?;
    // Each worker thread of a wave talks to the host through its own
    // connection.
    let connect = || host_choice::open(choice.clone()).map_err(|e| Error::Usage(e.to_string()));
    match cmd {
        BootCommand::Plan { json } => {
            let BootPlan { specs, invalid, waves: w } = boot::plan(&*host)?;
            let ok = invalid.is_empty() && w.blocked.is_empty();
            let code = if ok { ExitCode::SUCCESS } else { ExitCode::from(1) };
            let list = |wave: &Vec<usize>| wave.iter().map(|&i| specs[i].name.to_string()).collect::<Vec<_>>();
            if *json {
                print_json(&PlanJson {
                    waves: w
                        .waves
                        .iter()
                        .enumerate()
                        .map(|(n, wave)| WaveJson { wave: n + 1, jails: list(wave) })
                        .collect(),
                    pulled_in: w
                        .pulled_in
                        .iter()
                        .map(|(j, b)| PulledJson { jail: j.clone(), needed_by: b.clone() })
                        .collect(),
                    blocked: w
                        .blocked
                        .iter()
                        .map(|(j, why)| BlockedJson { jail: j.clone(), why: why.clone() })
                        .collect(),
                    invalid: invalid.iter().map(|(_, e)| e.to_string()).collect(),
                })?;
                return Ok(code);
            }
            for (n, wave) in w.waves.iter().enumerate() {
                println!("wave {}: {}", n + 1, list(wave).join(" "));
            }
            for (j, by) in &w.pulled_in {
                println!("{j} starts too: {by} depends on it");
            }
            if w.waves.is_empty() {
                println!("no jail has boot = true");
            }
            for (j, why) in &w.blocked {
                eprintln!("brig: jail {j} cannot start: {why}");
            }
            for (_, e) in &invalid {
                eprintln!("brig: {e}");
            }
            Ok(code)
        }
        BootCommand::Start { jobs, no_limits } => start(&mut *host, &connect, *jobs, *no_limits),
        BootCommand::Stop { jobs } => {
            let stopped = boot::stop(&mut *host, &connect, *jobs, &Printer)?;
            for (_, e) in &stopped.invalid {
                eprintln!("brig: {e}");
            }
            Ok(if stopped.failed.is_empty() && stopped.invalid.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn start(host: &mut dyn Host, connect: boot::Connect, jobs: u16, no_limits: bool) -> Result<ExitCode, CliError> {
    let b = boot::start(host, connect, jobs, no_limits, &Printer)?;
    for (j, why) in &b.skipped {
        eprintln!("brig: jail {j} skipped: {why}");
    }
    for (_, e) in &b.plan.invalid {
        eprintln!("brig: {e}");
    }
    println!(
        "boot: {} jails started in {} waves in {:.1} s; {} failed, {} skipped",
        b.started,
        b.plan.waves.waves.len(),
        b.took.as_secs_f64(),
        b.failed.len(),
        b.skipped.len()
    );
    let ok = b.failed.is_empty() && b.skipped.is_empty() && b.plan.invalid.is_empty();
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
