//! `brig boot start` and `boot stop` of 200 boot jails (BRIG_BENCH_BOOT to
//! choose) with a dependency graph: jail i depends on jail (i-1)/4, a tree
//! four wide, and priorities 10, 20 or 30, so the plan has several waves
//! per depth. Reports the waves, the time with --jobs 1 and 8, and how
//! much of it is brig's own. Measured, never asserted.

mod common;

use std::process::exit;
use std::time::Instant;

use common::{furnish_roots, io, ms, Sim};

fn run() -> Result<(), String> {
    let n: usize = std::env::var("BRIG_BENCH_BOOT").map_or(Ok(200), |v| v.parse()).map_err(|e| format!("{e}"))?;
    let sim = Sim::new()?;
    sim.brig(&["init"])?;
    let names: Vec<String> = (0..n).map(|i| format!("b{i:03}")).collect();
    let defs = sim.dir.path().join("usr/local/etc/brig/jails");
    for (i, name) in names.iter().enumerate() {
        let depends = if i == 0 { String::new() } else { format!("depends = [\"{}\"]\n", names[(i - 1) / 4]) };
        let text = format!("type = \"empty\"\nboot = true\npriority = {}\n{depends}", 10 * (1 + i % 3));
        let f = defs.join(format!("{name}.toml"));
        std::fs::write(&f, text).map_err(|e| io(&f, e))?;
    }
    sim.brig(&["apply"])?;
    furnish_roots(&sim, &names)?;
    let plan: serde_json::Value =
        serde_json::from_str(&sim.brig(&["boot", "plan", "--json"])?).map_err(|e| format!("boot plan: {e}"))?;
    let waves = plan["waves"].as_array().map_or(0, Vec::len);
    println!("{n} boot jails, {waves} waves");
    println!();
    println!("| command | time (ms) | in the sim (ms) | brig's own (ms) | host ops | spawned |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for jobs in ["1", "8"] {
        for command in ["start", "stop"] {
            sim.brig(&["debug", "sim-stats", "--reset"])?;
            let t = Instant::now();
            sim.brig(&["boot", command, "--jobs", jobs])?;
            let wall = t.elapsed();
            let stats = sim.stats()?;
            let in_sim = stats["sim_ms"].as_f64().unwrap_or(0.0);
            let in_commands = stats["commands_ms"].as_f64().unwrap_or(0.0);
            // With several workers the sim's time is summed over threads
            // that overlap, so wall minus sim says nothing.
            let own =
                if jobs == "1" { format!("{:.0}", (ms(wall) - in_sim - in_commands).max(0.0)) } else { "-".into() };
            println!(
                "| boot {command} --jobs {jobs} | {:.0} | {in_sim:.0} | {own} | {} | {} |",
                ms(wall),
                stats["total_ops"],
                stats["spawned"]
            );
        }
    }
    println!();
    println!("The sim keeps one state file under one lock, so its calls never overlap: --jobs shows brig's");
    println!("parallel dispatch working, not the speed-up a kernel gives.");
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("{e}");
        exit(1);
    }
}
