//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::Output;

use brig::host::sim::SimHost;

/// A fresh simulated machine in a temporary directory.
pub struct Sim {
    pub dir: tempfile::TempDir,
}

impl Sim {
    pub fn new() -> Sim {
        Sim { dir: tempfile::tempdir().expect("tempdir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The sim as a library `Host`.
    pub fn host(&self) -> SimHost {
        SimHost::open(self.path()).expect("sim opens")
    }

    /// A file of the simulated machine, as a local path.
    pub fn file(&self, machine_path: &str) -> PathBuf {
        self.path().join(machine_path.trim_start_matches('/'))
    }

    /// Runs brig against this sim.
    pub fn brig(&self, args: &[&str]) -> Run {
        self.brig_env(args, &[])
    }

    pub fn brig_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let host = format!("sim:{}", self.path().display());
        let mut full = vec!["--host", host.as_str()];
        full.extend_from_slice(args);
        brig(&full, env)
    }

    /// Edits sim.toml (booting the sim first so the file exists).
    /// The names of the jails running in the sim, sorted.
    pub fn host_jails(&self) -> Vec<String> {
        use brig::host::Host;
        let mut v: Vec<String> = self.host().jail_list().expect("list").into_iter().map(|j| j.name).collect();
        v.sort();
        v
    }

    pub fn configure(&self, edit: impl FnOnce(String) -> String) {
        drop(self.host());
        let p = self.path().join("sim.toml");
        let text = std::fs::read_to_string(&p).expect("sim.toml");
        std::fs::write(&p, edit(text)).expect("write sim.toml");
    }

    /// Edits sim.toml and boots the machine again from it (its state
    /// dropped), for what only boot reads: interfaces, devfs rulesets.
    pub fn boot_with(&self, edit: impl FnOnce(String) -> String) {
        self.configure(edit);
        for f in ["state.json", "state.log"] {
            let _ = std::fs::remove_file(self.path().join(".sim").join(f));
        }
    }
}

/// The processes whose root directory satisfies `pred` (/proc/PID/root).
pub fn pids_rooted(pred: impl Fn(&Path) -> bool) -> Vec<i32> {
    let Ok(rd) = std::fs::read_dir("/proc") else { return Vec::new() };
    rd.flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<i32>().ok()?;
            std::fs::read_link(e.path().join("root")).ok().filter(|r| pred(r)).map(|_| pid)
        })
        .collect()
}

/// How many processes run with `machine_path` of the sim as their root,
/// also after that directory was removed (Linux then shows the root as
/// "PATH (deleted)").
pub fn processes_in(sim: &Sim, machine_path: &str) -> usize {
    let root = sim.file(machine_path);
    let root = root.canonicalize().unwrap_or(root);
    let deleted = format!("{} (deleted)", root.display());
    pids_rooted(|r| r == root || r.as_os_str().to_string_lossy() == deleted).len()
}

impl Drop for Sim {
    /// Processes a test left inside the sim's jails (a test that failed
    /// before stopping them) must not outlive it.
    fn drop(&mut self) {
        let Ok(dir) = self.dir.path().canonicalize() else { return };
        for pid in pids_rooted(|r| r.starts_with(&dir)) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// The result of one brig invocation.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(&self) -> &Run {
        assert_eq!(self.code, Some(0), "brig failed:\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn fails(&self, code: i32) -> &Run {
        assert_eq!(self.code, Some(code), "wrong exit code:\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).expect("stdout is JSON")
    }
}

/// Runs the brig binary with exactly these arguments (no --host added).
pub fn brig(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_brig"));
    cmd.args(args).env_remove("BRIG_HOST").env_remove("BRIG_SIM_FAIL").env_remove("VISUAL").env_remove("EDITOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out: Output = cmd.output().expect("brig runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every file and directory under `dir` (relative), for comparing trees.
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(base).map(|r| r.display().to_string()).unwrap_or_default());
            if p.is_dir() && !p.is_symlink() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Every host call `args` makes on this sim, as `BRIG_SIM_FAIL` items
/// (`op:n`), read from the sim's own counters after a successful run; a
/// fault test built on it covers calls added later too.
pub fn every_call(probe: &Sim, args: &[&str]) -> Vec<String> {
    probe.brig(&["debug", "sim-stats", "--reset"]).ok();
    probe.brig(args).ok();
    let stats = probe.brig(&["debug", "sim-stats", "--json"]).json();
    let mut out = Vec::new();
    for (op, n) in stats["ops"].as_object().expect("ops") {
        for i in 1..=n.as_u64().expect("count") {
            out.push(format!("{op}:{i}"));
        }
    }
    out
}

/// brig's test userland (tests/userland), built once per version of its
/// source into cargo's scratch directory for tests.
pub fn userland() -> &'static Path {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        crate::userland::build(Path::new(env!("CARGO_TARGET_TMPDIR"))).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// A minimal FreeBSD-shaped root at `machine_path` in the sim: brig's test
/// userland as /bin/sh and friends, /etc/passwd with root and nobody.
pub fn userland_root(sim: &Sim, machine_path: &str) {
    let root = sim.file(machine_path);
    crate::userland::install(userland(), &root).expect("install the test userland");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir etc");
    std::fs::write(root.join("etc/passwd"), "root:*:0:0::/root:/bin/sh\nnobody:*:65534:65534::/nonexistent:/bin/sh\n")
        .expect("passwd");
}

/// A root for a jail that really starts: the test userland, `rc` as its
/// /etc/rc and an /etc/rc.shutdown that succeeds.
pub fn bootable_root(sim: &Sim, machine_path: &str, rc: &str) {
    userland_root(sim, machine_path);
    std::fs::write(sim.file(&format!("{machine_path}/etc/rc")), rc).expect("rc");
    std::fs::write(sim.file(&format!("{machine_path}/etc/rc.shutdown")), "exit 0\n").expect("rc.shutdown");
}

/// Why the sim cannot run a jail's processes on this machine, if it
/// cannot: brig runs without root and the kernel refuses the user
/// namespace the sim needs then (src/host/sim/userns.rs). Found once, by
/// trying it.
pub fn jail_processes_refused() -> Option<&'static str> {
    use brig::host::{Host, JailParam, Place, SetFlags};
    static WHY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let why = WHY.get_or_init(|| {
        if nix::unistd::geteuid().is_root() {
            return None;
        }
        let sim = Sim::new();
        userland_root(&sim, "/j");
        let mut h = sim.host();
        let params = [JailParam::str("name", "probe"), JailParam::str("path", "/j"), JailParam::bool("persist", true)];
        let jid = h.jail_set(&params, SetFlags::CREATE).expect("a jail");
        match h.spawn(&brig::host::Command::new("/bin/true"), Place::Jail(jid)) {
            Err(e) if e.detail.contains("refuses to make one") => Some(e.to_string()),
            _ => None,
        }
    });
    why.as_deref()
}

/// Ends a test that needs processes in the sim's jails early, saying why
/// on the terminal (not captured), where this machine cannot run them:
/// see `jail_processes_refused`.
macro_rules! needs_jail_processes {
    () => {
        if let Some(why) = crate::common::jail_processes_refused() {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "skipped: {why}");
            return;
        }
    };
}
pub(crate) use needs_jail_processes;

/// The newest mount on `target` of a host, as getfsstat shows it: what
/// `Host::unmount` takes.
#[track_caller]
pub fn mounted_at(h: &dyn brig::host::Host, target: &str) -> brig::host::MountEntry {
    let mounts = h.mounts().expect("mounts");
    mounts
        .into_iter()
        .rfind(|m| m.target == Path::new(target))
        .unwrap_or_else(|| panic!("nothing is mounted on {target}"))
}

/// Compares a command's output, whole, with the golden file
/// `tests/it/golden/NAME`. `BRIG_BLESS=1 cargo test` writes the files
/// instead, for a change that is meant; `git diff` then shows it.
#[track_caller]
pub fn golden(name: &str, got: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/golden").join(name);
    if std::env::var_os("BRIG_BLESS").is_some() {
        std::fs::write(&path, got).expect("write the golden file");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; BRIG_BLESS=1 cargo test writes it", path.display()));
    assert!(
        got == want,
        "the output differs from {} (BRIG_BLESS=1 cargo test rewrites it)\n--- want\n{want}--- got\n{got}",
        path.display()
    );
}

/// A brig left running (`supervise`, `logs -f`), killed when dropped, so
/// that a test that fails does not leave it holding the test's output.
pub struct Background(pub std::process::Child);

impl Background {
    /// `brig --host sim:DIR ARGS` in the background, its standard output
    /// piped, its standard error discarded.
    pub fn start(sim: &Sim, args: &[&str]) -> Background {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_brig"))
            .args(["--host", &format!("sim:{}", sim.path().display())])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("brig runs");
        Background(child)
    }

    /// SIGTERM, then whether it exited 0 within five seconds.
    pub fn terminate(&mut self) -> bool {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.0.id()).expect("pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.0.try_wait().expect("wait") {
                return status.success();
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
