//! `brig run --rm -- /bin/true` against the simulated host with the test
//! release: the whole run (create, start, the command, stop, destroy) and
//! how much of it is brig's own, that is neither the sim's work nor the
//! processes (the jail's /etc/rc, the command) it runs. Repeated
//! (`BRIG_BENCH_RUNS`, default 20); the median is printed. Measured,
//! never asserted.

mod common;

use std::process::exit;
use std::time::Instant;

use common::{ms, Sim};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn run() -> Result<(), String> {
    let n: usize = std::env::var("BRIG_BENCH_RUNS").map_or(Ok(20), |v| v.parse()).map_err(|e| format!("{e}"))?;
    let release = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    common::userland().and_then(|p| common::userland::release(&p, release.path()))?;
    let sim = Sim::new()?;
    sim.brig(&["init"])?;
    sim.brig(&["release", "fetch", "14.3-RELEASE", "--from", &release.path().display().to_string()])?;
    let (mut wall, mut own, mut sim_ms, mut procs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut ops = 0.0;
    for _ in 0..n {
        sim.brig(&["debug", "sim-stats", "--reset"])?;
        let t = Instant::now();
        sim.brig(&["run", "--release", "14.3-RELEASE", "--rm", "--", "/bin/true"])?;
        let w = ms(t.elapsed());
        let stats = sim.stats()?;
        let in_sim = stats["sim_ms"].as_f64().unwrap_or(0.0);
        let in_commands = stats["commands_ms"].as_f64().unwrap_or(0.0);
        ops = stats["ops"].as_object().map_or(0.0, |o| o.values().filter_map(serde_json::Value::as_f64).sum());
        wall.push(w);
        sim_ms.push(in_sim);
        procs.push(in_commands);
        own.push((w - in_sim - in_commands).max(0.0));
    }
    println!("brig run --rm -- /bin/true, {n} runs, medians:");
    println!();
    println!("| time (ms) | in the sim (ms) | processes (ms) | brig's own (ms) | host ops |");
    println!("| ---: | ---: | ---: | ---: | ---: |");
    println!("| {:.1} | {:.1} | {:.1} | {:.1} | {ops:.0} |", median(wall), median(sim_ms), median(procs), median(own));
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("{e}");
        exit(1);
    }
}
