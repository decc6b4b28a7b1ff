//! What the benchmarks share: a throwaway simulated machine, running brig
//! against it, and jail roots that can run /etc/rc cheaply.

#![allow(dead_code)] // each bench uses a part

use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Builds brig's test userland and test release (shared with the tests).
#[path = "../../tests/userland/make.rs"]
pub mod userland;

/// A fresh simulated machine; dropping it kills what its jails left
/// running (as the tests' `Sim` does) before the tempdir goes.
pub struct Sim {
    pub dir: tempfile::TempDir,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let Ok(dir) = self.dir.path().canonicalize() else { return };
        let Ok(procs) = std::fs::read_dir("/proc") else { return };
        for e in procs.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<i32>().ok()) else { continue };
            if std::fs::read_link(e.path().join("root")).is_ok_and(|r| r.starts_with(&dir)) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}

impl Sim {
    /// Runs brig against this sim; its stdout, or its stderr as the error.
    pub fn brig(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(env!("CARGO_BIN_EXE_brig"))
            .arg("--host")
            .arg(format!("sim:{}", self.dir.path().display()))
            .args(args)
            .env_remove("BRIG_HOST")
            .env_remove("BRIG_SIM_FAIL")
            .output()
            .map_err(|e| format!("brig {}: {e}", args.join(" ")))?;
        if !out.status.success() {
            return Err(format!(
                "brig {} failed ({}):\n{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Sim {
    pub fn new() -> Result<Sim, String> {
        Ok(Sim { dir: tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))? })
    }

    /// `debug sim-stats --json` since the last reset.
    pub fn stats(&self) -> Result<serde_json::Value, String> {
        let text = self.brig(&["debug", "sim-stats", "--json"])?;
        serde_json::from_str(&text).map_err(|e| format!("sim-stats --json: {e}: {text}"))
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn io(what: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", what.display())
}

/// brig's test userland (tests/userland), built once per version of its
/// source into cargo's scratch directory.
pub fn userland() -> Result<std::path::PathBuf, String> {
    userland::build(Path::new(env!("CARGO_TARGET_TMPDIR")))
}

/// Gives every jail root a /bin/sh and an /etc/rc that exits at once, so
/// `start` measures brig, not the jails. The test userland is hard-linked
/// from one copy in the sim: 1000 jails cost one file, not 1000.
pub fn furnish_roots(sim: &Sim, names: &[String]) -> Result<(), String> {
    let copy = sim.dir.path().join("tmp").join(userland::PROGRAM);
    std::fs::copy(userland()?, &copy).map_err(|e| io(&copy, e))?;
    for name in names {
        // `brig apply` created this directory: the root dataset's
        // mountpoint, made when the sim mounted the new dataset.
        let root = sim.dir.path().join(format!("usr/local/brig/jails/{name}/root"));
        let bin = root.join("bin");
        std::fs::create_dir_all(&bin).map_err(|e| io(&bin, e))?;
        std::fs::hard_link(&copy, bin.join(userland::PROGRAM)).map_err(|e| io(&bin, e))?;
        std::os::unix::fs::symlink(userland::PROGRAM, bin.join("sh")).map_err(|e| io(&bin, e))?;
        for rc in ["etc/rc", "etc/rc.shutdown"] {
            std::fs::write(root.join(rc), "exit 0\n").map_err(|e| io(&root.join(rc), e))?;
        }
    }
    Ok(())
}

/// The rows of `bench` at every size, in order; the first failure ends
/// the benchmark with its message.
pub fn at_sizes<T>(sizes: &[usize], bench: impl Fn(usize) -> Result<Vec<T>, String>) -> Vec<T> {
    let mut rows = Vec::new();
    for &n in sizes {
        match bench(n) {
            Ok(r) => rows.extend(r),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
    rows
}
