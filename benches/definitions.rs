//! Many large definitions: how the commands that read every definition
//! grow with their number when jails depend on each other and carry
//! `[[mount]]` tables and addresses. Nothing runs in a jail. Sizes: `BRIG_BENCH_DEFINITIONS=1000,10000`.
//! Measured and printed, never asserted.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::{io, ms, Sim};

/// Mounts per definition.
const MOUNTS: usize = 8;

/// Jail `i`'s definition: boot jail, depending on the two before it (a
/// deep chain, the worst case for an order found by repeated scans), with
/// an address of its own and `MOUNTS` tmpfs mounts.
fn definition(i: usize) -> String {
    let mut text = String::from("type = \"empty\"\nboot = true\n");
    let deps: Vec<String> = (i.saturating_sub(2)..i).map(|d| format!("\"j{d:05}\"")).collect();
    text.push_str(&format!("depends = [{}]\n", deps.join(", ")));
    text.push_str(&format!(
        "[network]\ninterface = \"em0\"\nip4 = [\"10.{}.{}.{}/32\"]\n",
        i >> 16,
        (i >> 8) & 255,
        i & 255
    ));
    for m in 0..MOUNTS {
        text.push_str(&format!("[[mount]]\nfstype = \"tmpfs\"\ntarget = \"/mnt/m{m}\"\n"));
    }
    text
}

fn time(sim: &Sim, args: &[&str]) -> Result<Duration, String> {
    let t = Instant::now();
    // Every definition is valid; boot plan and plan succeed.
    sim.brig(args)?;
    Ok(t.elapsed())
}

fn bench(n: usize) -> Result<Vec<(usize, &'static str, Duration)>, String> {
    let sim = Sim::new()?;
    sim.brig(&["init"])?;
    let defs = sim.dir.path().join("usr/local/etc/brig/jails");
    for i in 0..n {
        let f = defs.join(format!("j{i:05}.toml"));
        std::fs::write(&f, definition(i)).map_err(|e| io(&f, e))?;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).map_err(|e| io(&f, e))?;
    }
    let mut rows = Vec::new();
    for command in ["validate", "list", "boot plan", "plan", "audit --all"] {
        let args: Vec<&str> = command.split(' ').collect();
        let t = time(&sim, &args)?;
        eprintln!("  {n} definitions, {command}: {:.1} ms", ms(t));
        rows.push((n, command, t));
    }
    Ok(rows)
}

fn main() {
    let sizes: Vec<usize> = match std::env::var("BRIG_BENCH_DEFINITIONS") {
        Ok(s) => {
            s.split(',').map(|n| n.trim().parse().expect("BRIG_BENCH_DEFINITIONS is numbers, e.g. 1000")).collect()
        }
        Err(_) => vec![1000, 10_000],
    };
    let rows = common::at_sizes(&sizes, bench);
    println!("| definitions | command | time (ms) | ms per definition |");
    println!("| ---: | --- | ---: | ---: |");
    for (n, command, t) in &rows {
        println!("| {n} | `{command}` | {:.1} | {:.3} |", ms(*t), ms(*t) / *n as f64);
    }
}
