//! Creating many customer jails at once, as a hosting provider does:
//! `brig create cN --template tenant ...` for N = 1..100 (BRIG_BENCH_TENANTS
//! to choose) against the simulated host, with the test release that
//! `cargo run --example make-release` builds. Prints the time and host calls of
//! each tenth create, so a cost that grows with the number of jails
//! already there shows; measured, never asserted.

mod common;

use std::process::exit;
use std::time::{Duration, Instant};

use common::Sim;

/// brig's stdout; a failure ends the benchmark with its stderr.
fn brig(sim: &Sim, args: &[&str]) -> String {
    sim.brig(args).unwrap_or_else(|e| {
        eprintln!("{e}");
        exit(1)
    })
}

fn main() {
    let n: usize = std::env::var("BRIG_BENCH_TENANTS").map_or(100, |v| v.parse().expect("a number"));
    let sim = Sim::new().expect("tempdir");
    let release = tempfile::tempdir().expect("tempdir");
    if let Err(e) = common::userland().and_then(|p| common::userland::release(&p, release.path())) {
        eprintln!("{e}");
        exit(1);
    }
    let dir = &sim;
    brig(dir, &["init"]);
    brig(dir, &["release", "fetch", "14.3-RELEASE", "--from", &release.path().display().to_string()]);

    println!("| tenants so far | create (ms) | in the sim (ms) | host ops | zfs ops | spawned |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut total = Duration::ZERO;
    let mut ops_total = 0;
    for i in 1..=n {
        let name = format!("cust{i:03}");
        // 192.0.2.0/24 is em0's network in the sim; addresses from .100 up.
        let ip = format!("192.0.2.{}/24", 99 + i % 156);
        brig(dir, &["debug", "sim-stats", "--reset"]);
        let t = Instant::now();
        brig(
            dir,
            &["create", &name, "--template", "tenant", "--release", "14.3-RELEASE", "--ip4", &ip, "--interface", "em0"],
        );
        let took = t.elapsed();
        total += took;
        let stats: serde_json::Value =
            serde_json::from_str(&brig(dir, &["debug", "sim-stats", "--json"])).expect("sim-stats is JSON");
        let ops = stats["ops"].as_object().expect("ops");
        let sum: u64 = ops.values().filter_map(serde_json::Value::as_u64).sum();
        let zfs: u64 = ops.iter().filter(|(k, _)| k.starts_with("zfs_")).filter_map(|(_, v)| v.as_u64()).sum();
        ops_total += sum;
        if i == 1 || i % 10 == 0 {
            println!(
                "| {} | {:.1} | {:.1} | {sum} | {zfs} | {} |",
                i - 1,
                took.as_secs_f64() * 1000.0,
                stats["sim_ms"].as_f64().unwrap_or(0.0),
                stats["spawned"].as_u64().unwrap_or(0)
            );
        }
    }
    println!();
    println!(
        "{n} tenant jails created in {:.2} s ({:.1} ms each on average, {} host calls in all, {:.1} per jail)",
        total.as_secs_f64(),
        total.as_secs_f64() * 1000.0 / n as f64,
        ops_total,
        ops_total as f64 / n as f64
    );
}
