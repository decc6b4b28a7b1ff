//! brig's own overhead as the number of jails grows, against the simulated
//! host: wall-clock time, host calls and spawned processes of `list`,
//! `plan`, `start --all` and `stop --all` for 10, 100 and 1000 jails
//! (`BRIG_BENCH_SIZES=10,100` to choose). Measured and printed, never
//! asserted: wall-clock limits make flaky tests, a table shows the trend.
//!
//! The jails' /etc/rc really runs, chrooted into each jail root, with
//! brig's test userland (tests/userland) as /bin/sh, as in the tests.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::{furnish_roots, io, ms, Sim};

/// One measured command at one size.
struct Row {
    jails: usize,
    command: &'static str,
    /// Median of the runs.
    time: Duration,
    /// Fastest run, when there were several.
    min: Option<Duration>,
    ops: BTreeMap<String, u64>,
    /// Milliseconds inside the sim by op (last run).
    sim_by_op: BTreeMap<String, f64>,
    spawned: u64,
    /// Time inside the simulated machine (median run): its state and its
    /// rules, what a kernel would do.
    sim: Duration,
    /// Time in the commands brig ran (the jails' /etc/rc), which a real
    /// machine runs too. The rest of the time is brig's own.
    commands: Duration,
}

impl Row {
    fn total_ops(&self) -> u64 {
        self.ops.values().sum()
    }

    /// The three ops the simulator spent most time on.
    fn top_sim(&self) -> String {
        let mut ops: Vec<(&String, &f64)> = self.sim_by_op.iter().collect();
        ops.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
        ops.iter().take(3).map(|(op, ms)| format!("{op} {ms:.0}")).collect::<Vec<_>>().join(", ")
    }

    /// The three most frequent ops: where the calls go.
    fn top_ops(&self) -> String {
        let mut ops: Vec<(&String, &u64)> = self.ops.iter().collect();
        ops.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        ops.iter().take(3).map(|(op, n)| format!("{op} {n}")).collect::<Vec<_>>().join(", ")
    }
}

impl Sim {
    /// Runs `args` `runs` times, each between a stats reset and a stats
    /// read, so the counts are those of that command alone.
    fn measure(&self, jails: usize, command: &'static str, runs: usize) -> Result<Row, String> {
        let args: Vec<&str> = command.split(' ').collect();
        let mut times = Vec::new();
        let mut stats = serde_json::Value::Null;
        for _ in 0..runs {
            self.brig(&["debug", "sim-stats", "--reset"])?;
            let t = Instant::now();
            self.brig(&args)?;
            let wall = t.elapsed();
            stats = self.stats()?;
            let sim = Duration::from_secs_f64(stats["sim_ms"].as_f64().unwrap_or(0.0) / 1000.0);
            let commands = Duration::from_secs_f64(stats["commands_ms"].as_f64().unwrap_or(0.0) / 1000.0);
            times.push((wall, sim, commands));
        }
        times.sort();
        let ops = stats["ops"]
            .as_object()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0))).collect())
            .unwrap_or_default();
        let row = Row {
            jails,
            command,
            time: times[times.len() / 2].0,
            sim: times[times.len() / 2].1,
            commands: times[times.len() / 2].2,
            min: (runs > 1).then(|| times[0].0),
            ops,
            sim_by_op: stats["sim_ms_by_op"]
                .as_object()
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(0.0))).collect())
                .unwrap_or_default(),
            spawned: stats["spawned"].as_u64().unwrap_or(0),
        };
        eprintln!(
            "  {command}: {:.1} ms ({:.1} ms of it in the sim, {:.1} ms in commands), {} host ops, {} spawned",
            ms(row.time),
            ms(row.sim),
            ms(row.commands),
            row.total_ops(),
            row.spawned
        );
        Ok(row)
    }
}

/// Every measured command at one size, in a fresh sim.
fn bench(n: usize) -> Result<Vec<Row>, String> {
    eprintln!("{n} jails:");
    let sim = Sim::new()?;
    sim.brig(&["init"])?;
    // Definitions written directly, as a user or a config tool would:
    // `brig create` N times would measure process start-up N times. No
    // network, so no address clash (or, with BRIG_BENCH_NETWORK=vnet, a
    // VNET jail each on one bridge, with its own address, a firewall and
    // NAT); exec.start defaults to /bin/sh /etc/rc.
    let vnet = std::env::var("BRIG_BENCH_NETWORK").is_ok_and(|v| v == "vnet");
    let names: Vec<String> = (1..=n).map(|i| format!("j{i:04}")).collect();
    let defs = sim.dir.path().join("usr/local/etc/brig/jails");
    for (i, name) in names.iter().enumerate() {
        let f = defs.join(format!("{name}.toml"));
        let text = if vnet {
            format!(
                "type = \"empty\"\n[network]\nmode = \"vnet\"\nbridge = \"bridge0\"\nuplink = \"em0\"\nip4 = [\"10.{}.{}.{}/8\"]\n[firewall]\ninbound = [\"tcp/22\"]\nnat = true\nnat_interface = \"em0\"\n",
                (i + 2) >> 16 & 0xff,
                (i + 2) >> 8 & 0xff,
                (i + 2) & 0xff
            )
        } else {
            "type = \"empty\"\n".to_string()
        };
        std::fs::write(&f, text).map_err(|e| io(&f, e))?;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).map_err(|e| io(&f, e))?;
    }
    let mut rows = vec![sim.measure(n, "apply", 1)?];
    furnish_roots(&sim, &names)?;
    rows.push(sim.measure(n, "list", 5)?);
    rows.push(sim.measure(n, "plan", 5)?);
    rows.push(sim.measure(n, "start --all", 1)?);
    rows.push(Row { command: "list (running)", ..sim.measure(n, "list", 5)? });
    rows.push(Row { command: "plan (running)", ..sim.measure(n, "plan", 3)? });
    rows.push(sim.measure(n, "stop --all", 1)?);
    Ok(rows)
}

fn main() {
    let sizes: Vec<usize> = match std::env::var("BRIG_BENCH_SIZES") {
        Ok(s) => s.split(',').map(|n| n.trim().parse().expect("BRIG_BENCH_SIZES is numbers, e.g. 10,100")).collect(),
        Err(_) => vec![10, 100, 1000],
    };
    let rows = common::at_sizes(&sizes, bench);

    println!("| jails | command | time (ms) | min (ms) | in the sim (ms) | sim's top ops (ms) | in commands (ms) | brig's own (ms) | own ms/jail | host ops | top ops | spawned |");
    println!("| ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: |");
    for r in &rows {
        let min = r.min.map_or("-".to_string(), |m| format!("{:.1}", ms(m)));
        let own = ms(r.time.saturating_sub(r.sim).saturating_sub(r.commands));
        println!(
            "| {} | {} | {:.1} | {min} | {:.1} | {} | {:.1} | {own:.1} | {:.3} | {} | {} | {} |",
            r.jails,
            r.command,
            ms(r.time),
            ms(r.sim),
            r.top_sim(),
            ms(r.commands),
            own / r.jails as f64,
            r.total_ops(),
            r.top_ops(),
            r.spawned
        );
    }

    // Growth between the two largest sizes: time growing faster than the
    // jail count means brig (or the sim) does more than constant work per jail.
    let mut sorted = sizes.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if let [.., small, large] = sorted[..] {
        println!();
        let at = |n: usize, c: &str| rows.iter().find(|r| r.jails == n && r.command == c);
        for r in rows.iter().filter(|r| r.jails == large) {
            let Some(s) = at(small, r.command) else { continue };
            let own = |r: &Row| r.time.saturating_sub(r.sim).saturating_sub(r.commands).as_secs_f64();
            println!(
                "- {}: {:.0}x jails -> {:.1}x time, {:.1}x brig's own time, {:.1}x host ops",
                r.command,
                large as f64 / small as f64,
                r.time.as_secs_f64() / s.time.as_secs_f64(),
                own(r) / own(s).max(1e-9),
                r.total_ops() as f64 / s.total_ops().max(1) as f64
            );
        }
    }
}
