//! What `brig supervise` costs with many jails, against the simulated
//! host: N running jails (default 1000, `BRIG_BENCH_SUPERVISE=N`), each
//! with `check = "exec:true"` every 30 seconds. First one round
//! (`supervise --once`: every check), then the supervisor as it runs, for
//! `BRIG_BENCH_SECONDS` (default 60): its CPU time (user and system, with
//! the checks it ran) and its largest resident size, from wait4(2).
//! Measured, never asserted.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::{furnish_roots, io, ms, Sim};

fn env_number(name: &str, default: u64) -> Result<u64, String> {
    std::env::var(name).map_or(Ok(default), |v| v.parse().map_err(|e| format!("{name}: {e}")))
}

/// Runs `brig ARGS`; with `secs`, SIGTERM after that long. Its wall time
/// and rusage (with the checks it ran, its waited-for children).
fn rusage_of(sim: &Sim, args: &[&str], secs: Option<u64>) -> Result<(Duration, libc::rusage), String> {
    let t = Instant::now();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_brig"))
        .arg("--host")
        .arg(format!("sim:{}", sim.dir.path().display()))
        .args(args)
        .env_remove("BRIG_HOST")
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("brig {}: {e}", args.join(" ")))?;
    let pid = i32::try_from(child.id()).map_err(|e| e.to_string())?;
    if let Some(secs) = secs {
        std::thread::sleep(Duration::from_secs(secs));
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM)
            .map_err(|e| format!("SIGTERM: {e}"))?;
    }
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for the child spawned above, whose handle is dropped
    // without waiting.
    if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("brig {} ended with {status}", args.join(" ")));
    }
    Ok((t.elapsed(), usage))
}

fn cpu(u: &libc::rusage) -> f64 {
    seconds(u.ru_utime) + seconds(u.ru_stime)
}

fn seconds(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

fn run() -> Result<(), String> {
    let n = env_number("BRIG_BENCH_SUPERVISE", 1000)?;
    let secs = env_number("BRIG_BENCH_SECONDS", 60)?;
    let sim = Sim::new()?;
    sim.brig(&["init"])?;
    let names: Vec<String> = (1..=n).map(|i| format!("j{i:04}")).collect();
    let defs = sim.dir.path().join("usr/local/etc/brig/jails");
    for name in &names {
        let f = defs.join(format!("{name}.toml"));
        let text = "type = \"empty\"\n[health]\ncheck = \"exec:true\"\ninterval = \"30s\"\nrestart = \"on-failure\"\n";
        std::fs::write(&f, text).map_err(|e| io(&f, e))?;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).map_err(|e| io(&f, e))?;
    }
    sim.brig(&["apply"])?;
    furnish_roots(&sim, &names)?;
    sim.brig(&["start", "--all"])?;
    sim.brig(&["debug", "sim-stats", "--reset"])?;
    let (round, once) = rusage_of(&sim, &["supervise", "--once"], None)?;
    let stats = sim.stats()?;
    let ops: f64 = stats["ops"].as_object().map_or(0.0, |o| o.values().filter_map(serde_json::Value::as_f64).sum());
    let (_, running) = rusage_of(&sim, &["supervise"], Some(secs))?;
    // Linux reports ru_maxrss in KiB.
    let rss_mib = running.ru_maxrss as f64 / 1024.0;
    let per_minute = cpu(&running) * 60.0 / secs as f64;
    println!("brig supervise, {n} jails, check = \"exec:true\" every 30s, 8 jobs; CPU with the checks' processes:");
    println!();
    println!("| one round: wall (ms) | CPU (s) | host calls | running {secs} s: CPU (s) | CPU per minute (s) | largest RSS (MiB) |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {:.0} | {:.2} | {ops:.0} | {:.2} | {per_minute:.2} | {rss_mib:.1} |",
        ms(round),
        cpu(&once),
        cpu(&running)
    );
    sim.brig(&["stop", "--all"])?;
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
