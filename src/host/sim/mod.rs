//! The simulated FreeBSD host (`--host sim:DIR`).
//!
//! A stateful model of one FreeBSD machine whose filesystem is `DIR` and
//! whose kernel state (jails, datasets, mounts, rctl rules, sysctls,
//! interface addresses) persists in `DIR/.sim/` between invocations. It is
//! not a call recorder: every method enforces the rules of the real call and
//! fails with its errno, so a test that passes here has been refused
//! wherever FreeBSD would refuse it. It never isolates anything.
//!
//! Fault injection: `BRIG_SIM_FAIL=OP:N[:ERRNO|:abort],...` makes the Nth
//! call of OP in this process fail with ERRNO (EIO by default), or kills the
//! process at that call (`abort`) without any chance to undo. Every call and
//! spawned process is counted in `DIR/.sim/stats.json`.

mod busy;
mod config;
mod dummynet;
mod fs;
mod ifclone;
mod jail;
mod mount;
mod net;
mod pf;
mod pkg;
mod process;
pub mod show;
mod state;
mod sysctl;
mod tracked;
mod update;
#[cfg(target_os = "linux")]
mod userns;
mod vnet;
mod zfs;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use nix::errno::Errno;
use serde::{Deserialize, Serialize};

pub use config::SimConfig;

use crate::host::rctl as rules;
use crate::host::{
    Command, DatasetInfo, DiffEntry, GetFlags, Host, HostError, HostKind, HostResult, Interface, JailKey, JailParam,
    Jid, MountEntry, MountRequest, Output, PkgBaseJob, Place, SetFlags, SysctlValue, VnetSetup, VnetView,
};
use crate::kernel::encode;
use crate::model::version::Version;
use crate::state::beneath::{BeneathError, Root};
use crate::state::bounded::ReadError;
use state::{SimRule, State, Store};

/// What `BRIG_SIM_FAIL` asks for at one call.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fault {
    Fail(Errno),
    Abort,
}

fn micros(since: std::time::Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Operation counts, for benchmarks and tests (`brig debug sim-stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    pub ops: BTreeMap<String, u64>,
    pub spawned: u64,
    /// Microseconds spent inside the simulated machine: loading and saving
    /// its state and enforcing its rules (what a kernel would do).
    #[serde(default)]
    pub sim_us: u64,
    /// Microseconds spent in the commands brig ran, in jails (exec.start's
    /// /etc/rc) and on the host: their own work, which a real machine does
    /// too. A benchmark subtracts both from the wall-clock time to get
    /// brig's own.
    #[serde(default)]
    pub commands_us: u64,
    /// brig's reads and writes of files on the machine (its state, its
    /// configuration, files it copies into jails), counted apart from
    /// the kernel calls: they cannot be failed with BRIG_SIM_FAIL.
    #[serde(default)]
    pub files: u64,
    /// `sim_us` by what it was spent on (an op, or `files` for brig's file
    /// methods), to see where a benchmark's simulator time goes.
    #[serde(default)]
    pub op_us: BTreeMap<String, u64>,
}

pub struct SimHost {
    dir: PathBuf,
    simdir: PathBuf,
    cfg: SimConfig,
    store: RefCell<Store>,
    faults: BTreeMap<(String, u64), Fault>,
    /// Calls made by this process, per op.
    calls: RefCell<SimStats>,
}

/// Every op name `BRIG_SIM_FAIL` accepts.
pub const OPS: &[&str] = &[
    "jail_set",
    "jail_get",
    "jail_remove",
    "jail_kill",
    "zfs_create",
    "zfs_snapshot",
    "zfs_rollback",
    "zfs_destroy_snapshots",
    "zfs_send",
    "zfs_receive",
    "zfs_diff",
    "freebsd_update",
    "pkg_base",
    "pkg_install",
    "zfs_clone",
    "zfs_destroy",
    "zfs_rename",
    "zfs_promote",
    "zfs_jail",
    "zfs_unjail",
    "jail_zfs_mount",
    "zfs_hold",
    "zfs_get",
    "zfs_set",
    "zfs_list",
    "mount",
    "unmount",
    "mounts",
    "devfs_rules",
    "rctl_add",
    "rctl_remove",
    "rctl_rules",
    "rctl_usage",
    "cpuset_set",
    "cpuset_get",
    "sysctl_get",
    "sysctl_type",
    "sysctl_set",
    "interfaces",
    "addr_add",
    "addr_remove",
    "addr6_flags",
    "if_create",
    "if_destroy",
    "if_rename",
    "if_to_jail",
    "if_up",
    "bridge_add",
    "bridge_remove",
    "bridge_members",
    "if_set_lladdr",
    "if_set_mtu",
    "if_mtu",
    "vnet_configure",
    "vnet_view",
    "vnet_await_dad",
    "pf_load",
    "pf_rules",
    "pf_kill_states",
    "pf_status",
    "dn_pipe_config",
    "dn_pipe_delete",
    "dn_pipes",
    "spawn",
];

fn parse_faults(spec: &str) -> HostResult<BTreeMap<(String, u64), Fault>> {
    let bad = |item: &str, why: &str| {
        HostError::new(
            "sim",
            Errno::EINVAL,
            format!(
                "BRIG_SIM_FAIL item '{item}' {why}; expected OP:N[:ERRNO|:abort] with OP one of {}",
                OPS.join(", ")
            ),
        )
    };
    let mut out = BTreeMap::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let mut parts = item.split(':');
        let op = parts.next().unwrap_or("");
        if !OPS.contains(&op) {
            return Err(bad(item, "names an unknown op"));
        }
        let n: u64 = parts
            .next()
            .and_then(|n| n.parse().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| bad(item, "has no call number"))?;
        let fault = match parts.next() {
            None => Fault::Fail(Errno::EIO),
            Some("abort") => Fault::Abort,
            Some(e) => Fault::Fail(errno_by_name(e).ok_or_else(|| bad(item, "names an unknown errno"))?),
        };
        out.insert((op.to_string(), n), fault);
    }
    Ok(out)
}

fn errno_by_name(name: &str) -> Option<Errno> {
    (1..200).map(Errno::from_raw).find(|e| format!("{e:?}") == name)
}

impl SimHost {
    /// Opens (or boots, on first use) the simulated machine in `dir`.
    pub fn open(dir: &Path) -> HostResult<SimHost> {
        let started = std::time::Instant::now();
        let io = |p: &Path, e: std::io::Error| {
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
            HostError::new("sim", errno, format!("cannot keep the simulated host in {}: {}", p.display(), errno.desc()))
        };
        // One directory at most: a mistyped path must not grow a tree.
        if !dir.is_dir() {
            std::fs::create_dir(dir).map_err(|e| io(dir, e))?;
        }
        let dir = dir.canonicalize().map_err(|e| io(dir, e))?;
        let cfg_path = dir.join("sim.toml");
        let first_boot = !cfg_path.exists();
        let cfg = SimConfig::load_or_create(&cfg_path)?;
        if first_boot {
            lay_out_filesystem(&dir).map_err(|e| io(&dir, e))?;
        }
        let simdir = dir.join(".sim");
        let store = Store::open(&simdir, &cfg)?;
        let faults = match std::env::var("BRIG_SIM_FAIL") {
            Ok(spec) => parse_faults(&spec)?,
            Err(_) => BTreeMap::new(),
        };
        let calls = SimStats { sim_us: micros(started), ..SimStats::default() };
        Ok(SimHost { dir, simdir, cfg, store: RefCell::new(store), faults, calls: RefCell::new(calls) })
    }

    /// The directory that is `/` of the simulated machine.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Counts a call and applies any fault injected for it.
    fn begin(&self, op: &'static str) -> HostResult<()> {
        // Every counted op must be one BRIG_SIM_FAIL can name.
        debug_assert!(OPS.contains(&op), "op {op} is missing from OPS");
        *self.calls.borrow_mut().ops.entry(op.to_string()).or_insert(0) += 1;
        // The Nth call of the whole process, whichever of its hosts makes
        // it (boot's workers each open one): what the stats add up to.
        let n = {
            static PROCESS: std::sync::Mutex<BTreeMap<&'static str, u64>> = std::sync::Mutex::new(BTreeMap::new());
            let mut counts = PROCESS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let n = counts.entry(op).or_insert(0);
            *n += 1;
            *n
        };
        match self.faults.get(&(op.to_string(), n)) {
            None => Ok(()),
            Some(Fault::Fail(errno)) => Err(HostError::new(op, *errno, format!("injected by BRIG_SIM_FAIL={op}:{n}"))),
            Some(Fault::Abort) => {
                self.save_stats();
                let _ = writeln!(std::io::stderr(), "brig: simulated crash at {op} call {n} (BRIG_SIM_FAIL)");
                // SIGKILL: no destructor, no undo, like a real kill -9.
                let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGKILL);
                std::process::abort()
            }
        }
    }

    fn paths(&self) -> zfs::Paths<'_> {
        zfs::Paths { root: &self.dir, simdir: &self.simdir }
    }

    fn read<R>(&self, op: &'static str, f: impl FnOnce(&State) -> Result<R, jail::Refusal>) -> HostResult<R> {
        self.begin(op)?;
        self.timed(op, || self.store.borrow_mut().read_with(|st| f(st).map_err(|(e, d)| HostError::new(op, e, d))))
    }

    fn write<R>(&self, op: &'static str, f: impl FnOnce(&mut State) -> Result<R, jail::Refusal>) -> HostResult<R> {
        self.begin(op)?;
        self.timed(op, || self.store.borrow_mut().write_with(|st| f(st).map_err(|(e, d)| HostError::new(op, e, d))))
    }

    /// Runs `f`, adding its time to the time spent in the sim.
    fn timed<R>(&self, op: &str, f: impl FnOnce() -> R) -> R {
        let started = std::time::Instant::now();
        let out = f();
        let us = micros(started);
        let mut calls = self.calls.borrow_mut();
        calls.sim_us += us;
        *calls.op_us.entry(op.to_string()).or_insert(0) += us;
        out
    }

    /// Runs a spawned command, counting its time as the command's own.
    fn timed_command<R>(&self, f: impl FnOnce() -> R) -> R {
        let started = std::time::Instant::now();
        let out = f();
        self.calls.borrow_mut().commands_us += micros(started);
        out
    }

    /// rctl calls fail with ENOSYS while `kern.racct.enable` is 0.
    fn racct(&self, st: &State) -> Result<(), jail::Refusal> {
        if sysctl::int(st, &self.cfg, "kern.racct.enable") == 0 {
            return Err((Errno::ENOSYS, "RACCT/RCTL is disabled: kern.racct.enable=0".into()));
        }
        Ok(())
    }

    /// Whether `path` of the machine is on a read-only filesystem.
    fn read_only_at(&self, path: &Path) -> std::io::Result<bool> {
        let cfg = &self.cfg;
        self.timed("files", || self.store.borrow_mut().read_with(|st| Ok(zfs::read_only_at(st, cfg, path))))
            .map_err(|e| std::io::Error::from_raw_os_error(e.errno as i32))
    }

    /// Counts a write of brig's at `path` and refuses it on a read-only
    /// filesystem, as FreeBSD does: vfs_lookup.c's lookup() answers EROFS
    /// to a CREATE, DELETE or RENAME on a MNT_RDONLY mount, and a write
    /// to an existing file is EROFS from the filesystem (zfs_write).
    fn writable(&self, path: &Path) -> std::io::Result<()> {
        self.calls.borrow_mut().files += 1;
        if self.read_only_at(path)? {
            return Err(std::io::Error::from_raw_os_error(libc::EROFS));
        }
        Ok(())
    }

    fn stats_path(&self) -> PathBuf {
        self.simdir.join("stats.json")
    }

    /// Adds this process's counts to `DIR/.sim/stats.json`.
    fn save_stats(&self) {
        let calls = std::mem::take(&mut *self.calls.borrow_mut());
        // A process that made no call (`brig debug sim-stats` itself)
        // leaves the counts alone, its own start-up time included.
        if calls.ops.is_empty() && calls.spawned == 0 && calls.files == 0 {
            return;
        }
        let Ok(store) = self.store.try_borrow() else { return };
        // The store lock serialises concurrent writers of the stats file.
        let _ = store.locked(|| {
            let mut total = read_stats(&self.stats_path());
            for (op, n) in calls.ops {
                *total.ops.entry(op).or_insert(0) += n;
            }
            total.spawned += calls.spawned;
            total.sim_us += calls.sim_us;
            total.commands_us += calls.commands_us;
            total.files += calls.files;
            for (op, us) in calls.op_us {
                *total.op_us.entry(op).or_insert(0) += us;
            }
            if let Ok(text) = serde_json::to_vec_pretty(&total) {
                let _ = crate::state::atomic::write(&self.stats_path(), &text, 0o644);
            }
        });
    }

    /// What root inside jail `jid` does with `zfs mount NAME` on a dataset
    /// delegated to it; the kernel's rules apply (zfs::mount_in_jail).
    /// Not part of `Host`: brig never mounts for the jail, tests act as
    /// the jail's root through this.
    pub fn jail_zfs_mount(&mut self, jid: Jid, name: &str) -> HostResult<()> {
        let (cfg, paths) = (&self.cfg, self.paths());
        self.write("jail_zfs_mount", |st| {
            // The jail's path as the simulated machine names it.
            let root = match st.jails.get(&jid).and_then(|j| j.params.get("path")).map(|p| &p.value) {
                Some(crate::host::ParamValue::Str(p)) => PathBuf::from(p),
                _ => return Err((Errno::ENOENT, format!("jail {jid} not found"))),
            };
            zfs::mount_in_jail(st, cfg, &paths, jid, name, &root)
        })
    }

    /// `zfs hold TAG SNAPSHOT`, as an administrator (or a backup tool)
    /// would run it by hand: a held snapshot cannot be destroyed (EBUSY,
    /// dsl_destroy_snapshot_check_impl) until the hold is released. Not
    /// part of `Host`: brig never holds; tests use it to see that brig
    /// copes.
    pub fn zfs_hold(&mut self, snapshot: &str, tag: &str) -> HostResult<()> {
        self.write("zfs_hold", |st| zfs::hold(st, snapshot, tag))
    }

    /// The whole simulated machine as one document (`debug sim-show`).
    pub fn show(&self) -> HostResult<show::Machine> {
        self.store.borrow_mut().read_with(|st| Ok(show::machine(st)))
    }

    pub fn stats(&self) -> SimStats {
        self.save_stats();
        read_stats(&self.stats_path())
    }

    /// Forgets the counts (for a benchmark's measured section).
    pub fn reset_stats(&self) -> HostResult<()> {
        *self.calls.borrow_mut() = SimStats::default();
        match std::fs::remove_file(self.stats_path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(HostError::new("sim", Errno::EIO, format!("{}: {e}", self.stats_path().display())))
            }
            _ => Ok(()),
        }
    }

    /// The local directory of a live jail's root; None for a jail that is
    /// missing or dying, which jail_attach(2) refuses (EINVAL).
    fn jail_root(&self, st: &State, jid: Jid) -> Option<PathBuf> {
        st.jails.get(&jid).filter(|j| j.alive()).map(|j| match j.params.get("path").map(|p| &p.value) {
            Some(crate::host::ParamValue::Str(p)) => fs::local(&self.dir, Path::new(p)),
            _ => self.dir.clone(),
        })
    }

    fn spawn_in_jail(&self, cmd: &Command, jid: Jid) -> HostResult<Output> {
        let (root, devfs) = self.read("spawn", |st| {
            let root = self.jail_root(st, jid).ok_or((Errno::EINVAL, format!("jail {jid} not found")))?;
            // The devfs mounts a process of the jail sees (process::run
            // shows them to it when brig runs without root).
            let machine_root = Path::new("/").join(root.strip_prefix(&self.dir).unwrap_or(&root));
            let devfs = st
                .mounts_under(&machine_root)
                .filter(|m| m.fstype == "devfs")
                .map(|m| fs::local(&self.dir, &m.target))
                .collect::<Vec<_>>();
            Ok((root, devfs))
        })?;
        self.calls.borrow_mut().spawned += 1;
        self.timed_command(|| process::run(&root, jid, cmd, &devfs))
    }

    fn spawn_on_host(&self, cmd: &Command) -> HostResult<Output> {
        self.begin("spawn")?;
        self.calls.borrow_mut().spawned += 1;
        let mut c = std::process::Command::new(&cmd.program);
        c.args(&cmd.args);
        if cmd.clean_env {
            c.env_clear();
            c.env("PATH", "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin");
        }
        c.envs(cmd.env.iter().cloned());
        c.env("BRIG_SIM_DIR", &self.dir);
        let err = |e: std::io::Error| {
            HostError::new("spawn", Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)), cmd.program.clone())
        };
        self.timed_command(|| crate::host::capture::run(&mut c, cmd.stdio, cmd.deadline, cmd.output_limit).map_err(err))
    }
}

impl Drop for SimHost {
    fn drop(&mut self) {
        self.save_stats();
    }
}

fn read_stats(path: &Path) -> SimStats {
    std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

/// The files a stock FreeBSD host has that brig reads.
fn lay_out_filesystem(dir: &Path) -> std::io::Result<()> {
    for d in ["etc", "usr/local/etc", "var/db", "tmp"] {
        std::fs::create_dir_all(dir.join(d))?;
    }
    let resolv = dir.join("etc/resolv.conf");
    if !resolv.exists() {
        std::fs::write(&resolv, "# simulated host\nnameserver 192.0.2.53\n")?;
    }
    let update_conf = dir.join("etc/freebsd-update.conf");
    if !update_conf.exists() {
        std::fs::write(
            &update_conf,
            "# simulated host\nKeyPrint 800651ef4b4c71c27e60786d7b487188970f4b4169cc055784e21eb71d410cc5\n\
             ServerName update.FreeBSD.org\nComponents src world kernel\nIDSIgnorePaths /usr/share/man/cat\n",
        )?;
    }
    let localtime = dir.join("etc/localtime");
    if !localtime.exists() {
        std::fs::write(&localtime, b"TZif2\0simulated UTC\n")?;
    }
    Ok(())
}

fn rule_of(f: rules::RuleFields) -> SimRule {
    SimRule {
        subject: f.subject,
        id: f.id,
        resource: f.resource,
        action: f.action,
        amount: f.amount.unwrap_or(0),
        per: f.per,
    }
}

fn fields_of(r: &SimRule) -> rules::RuleFields {
    rules::RuleFields {
        subject: r.subject.clone(),
        id: r.id.clone(),
        resource: r.resource.clone(),
        action: r.action.clone(),
        amount: Some(r.amount),
        per: r.per.clone(),
    }
}

fn encode_err(e: encode::EncodeError) -> jail::Refusal {
    (Errno::EINVAL, e.to_string())
}

impl Host for SimHost {
    fn kind(&self) -> HostKind {
        HostKind::Sim { dir: self.dir.clone() }
    }

    fn local_path(&self, path: &Path) -> PathBuf {
        fs::local(&self.dir, path)
    }

    fn read_file(&self, path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
        self.calls.borrow_mut().files += 1;
        crate::state::bounded::read(&self.local_path(path), limit)
    }

    fn file_mode(&self, path: &Path) -> std::io::Result<u32> {
        self.calls.borrow_mut().files += 1;
        crate::host::files::mode(&self.local_path(path))
    }

    fn write_file(&self, path: &Path, contents: &[u8], mode: u32) -> std::io::Result<()> {
        self.writable(path)?;
        crate::state::atomic::write(&self.local_path(path), contents, mode)
    }

    fn remove_file(&self, path: &Path) -> std::io::Result<()> {
        // lookup() finds the name before it checks the filesystem: a name
        // that is not there is ENOENT (no error here), not EROFS.
        if !self.exists(path) {
            return Ok(());
        }
        self.writable(path)?;
        crate::host::files::remove(&self.local_path(path))
    }

    fn make_dir(&self, path: &Path, mode: u32) -> std::io::Result<()> {
        // An existing name is EEXIST even on a read-only filesystem:
        // lookup() only answers EROFS for a CREATE of a missing name.
        if self.exists(path) {
            return Err(std::io::Error::from_raw_os_error(libc::EEXIST));
        }
        self.writable(path)?;
        crate::host::files::make_dir(&self.local_path(path), mode)
    }

    fn remove_dir(&self, path: &Path) -> std::io::Result<()> {
        if !self.exists(path) {
            return Err(std::io::Error::from_raw_os_error(libc::ENOENT));
        }
        self.writable(path)?;
        std::fs::remove_dir(self.local_path(path))
    }

    fn set_dir_mode(&self, path: &Path, mode: u32) -> std::io::Result<()> {
        if !self.exists(path) {
            return Err(std::io::Error::from_raw_os_error(libc::ENOENT));
        }
        self.writable(path)?;
        crate::host::files::set_dir_mode(&self.local_path(path), mode)
    }

    fn list_dir(&self, path: &Path) -> std::io::Result<Vec<String>> {
        self.calls.borrow_mut().files += 1;
        crate::host::files::list(&self.local_path(path))
    }

    fn open_root(&self, path: &Path) -> Result<Root, BeneathError> {
        self.calls.borrow_mut().files += 1;
        let local = self.local_path(path);
        match self.read_only_at(path) {
            Ok(false) => Root::open(&local),
            Ok(true) => Root::open_read_only(&local),
            Err(e) => Err(BeneathError::from_io(&local, e)),
        }
    }

    fn jail_set(&mut self, params: &[JailParam], flags: SetFlags) -> HostResult<Jid> {
        let (cfg, root) = (&self.cfg, &self.dir);
        // A jail that stops persisting lives on only while it has processes.
        let alive = |path: &str| !process::pids_in(&fs::local(root, Path::new(path))).is_empty();
        self.write("jail_set", |st| {
            let iov = encode::encode_set(params).map_err(encode_err)?;
            jail::set(st, cfg, root, &iov, flags, &alive)
        })
    }

    fn jail_get(&self, key: &JailKey, names: &[&str], flags: GetFlags) -> HostResult<Vec<JailParam>> {
        let cfg = &self.cfg;
        let get = |st: &State| -> Result<Vec<JailParam>, jail::Refusal> {
            let req = encode::encode_get(key, names).map_err(encode_err)?;
            let values = jail::get(st, cfg, &req.pairs, flags)?;
            names
                .iter()
                .zip(req.slots)
                .map(|(name, slot)| match values.get(slot).cloned().flatten() {
                    Some(v) => Ok(JailParam::new(*name, v)),
                    None => Err((Errno::EINVAL, format!("{name}: no value"))),
                })
                .collect()
        };
        match key {
            // Asking after a removed jail by its jid is how brig waits for
            // it to go; each such look is a tick of the sim's clock
            // (jail::poll_dying), so it is a write.
            JailKey::Jid(jid) if flags.dying => {
                let answer = self.write("jail_get", |st| {
                    jail::poll_dying(st, *jid);
                    Ok(get(st))
                })?;
                answer.map_err(|(e, d)| HostError::new("jail_get", e, d))
            }
            _ => self.read("jail_get", get),
        }
    }

    fn jail_remove(&mut self, jid: Jid) -> HostResult<()> {
        let mut roots = Vec::new();
        self.write("jail_remove", |st| {
            roots = jail::tree(st, jid).into_iter().filter_map(|j| self.jail_root(st, j)).collect();
            jail::remove(st, &self.cfg, jid)
        })?;
        // The kernel kills every process of the jail and its children.
        self.timed("jail_remove", || roots.iter().for_each(|r| process::kill_all(r)));
        Ok(())
    }

    fn jail_kill(&mut self, jid: Jid, signal: Option<nix::sys::signal::Signal>) -> HostResult<bool> {
        let root = self
            .read("jail_kill", |st| self.jail_root(st, jid).ok_or((Errno::EINVAL, format!("jail {jid} not found"))))?;
        // Finding the jail's processes scans /proc: the sim's work, timed as such.
        let pids = self.timed("jail_kill", || process::pids_in(&root));
        if let Some(sig) = signal {
            for pid in &pids {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), sig);
            }
        }
        Ok(!pids.is_empty())
    }

    fn zfs_create(&mut self, name: &str, props: &[(String, String)]) -> HostResult<()> {
        let (cfg, paths) = (&self.cfg, self.paths());
        self.write("zfs_create", |st| zfs::create(st, cfg, &paths, name, props))
    }

    fn zfs_snapshot(&mut self, snapshots: &[&str]) -> HostResult<()> {
        let paths = self.paths();
        self.write("zfs_snapshot", |st| zfs::snapshot(st, &paths, snapshots))
    }

    fn zfs_rollback(&mut self, snapshot: &str) -> HostResult<()> {
        let paths = self.paths();
        self.write("zfs_rollback", |st| zfs::rollback(st, &paths, snapshot))
    }

    fn zfs_send(&mut self, snapshot: &str, from: Option<&str>, out: &mut dyn std::io::Write) -> HostResult<()> {
        let paths = self.paths();
        self.read("zfs_send", |st| zfs::send(st, &paths, snapshot, from, out))
    }

    fn zfs_promote(&mut self, name: &str) -> HostResult<()> {
        self.write("zfs_promote", |st| zfs::promote(st, name))
    }

    fn zfs_diff(&self, from: &str, to: &str) -> HostResult<Vec<DiffEntry>> {
        let paths = self.paths();
        self.read("zfs_diff", |st| zfs::diff(st, &paths, from, to))
    }

    fn zfs_snapshot_files(&self, snapshot: &str) -> HostResult<PathBuf> {
        let paths = self.paths();
        self.read("zfs_get", |st| zfs::snapshot_files(st, &paths, snapshot))
    }

    fn zfs_receive(
        &mut self,
        snapshot: &str,
        props: &[(String, String)],
        input: &mut dyn std::io::Read,
    ) -> HostResult<()> {
        let paths = self.paths();
        let cfg = &self.cfg;
        self.write("zfs_receive", |st| zfs::receive(st, cfg, &paths, snapshot, props, input))
    }

    fn zfs_destroy_snapshots(&mut self, snapshots: &[&str]) -> HostResult<()> {
        let paths = self.paths();
        self.write("zfs_destroy_snapshots", |st| zfs::destroy_snapshots(st, &paths, snapshots))
    }

    fn zfs_clone(&mut self, origin: &str, name: &str, props: &[(String, String)]) -> HostResult<()> {
        let (cfg, paths) = (&self.cfg, self.paths());
        self.write("zfs_clone", |st| zfs::clone(st, cfg, &paths, origin, name, props))
    }

    fn zfs_destroy(&mut self, name: &str, recursive: bool) -> HostResult<()> {
        let paths = self.paths();
        // A recursive destroy that failed half-way keeps what it destroyed.
        let outcome = self.write("zfs_destroy", |st| Ok(zfs::destroy(st, &paths, name, recursive)))?;
        outcome.map_err(|(e, d)| HostError::new("zfs_destroy", e, d))
    }

    fn zfs_rename(&mut self, from: &str, to: &str) -> HostResult<()> {
        let (cfg, paths) = (&self.cfg, self.paths());
        self.write("zfs_rename", |st| zfs::rename(st, cfg, &paths, from, to))
    }

    fn zfs_jail(&mut self, name: &str, jid: Jid) -> HostResult<()> {
        self.write("zfs_jail", |st| zfs::attach(st, name, jid))
    }

    fn zfs_unjail(&mut self, name: &str, jid: Jid) -> HostResult<()> {
        self.write("zfs_unjail", |st| zfs::detach(st, name, jid))
    }

    fn zfs_get(&self, name: &str, props: &[&str]) -> HostResult<BTreeMap<String, String>> {
        let (cfg, paths) = (&self.cfg, self.paths());
        self.read("zfs_get", |st| zfs::get(st, cfg, &paths, name, props))
    }

    fn zfs_set(&mut self, name: &str, props: &[(String, String)]) -> HostResult<()> {
        let (cfg, paths) = (&self.cfg, self.paths());
        self.write("zfs_set", |st| zfs::set(st, cfg, &paths, name, props))
    }

    fn zfs_list(&self, root: &str, props: &[&str]) -> HostResult<Vec<DatasetInfo>> {
        let (cfg, paths) = (&self.cfg, self.paths());
        self.read("zfs_list", |st| zfs::list(st, cfg, &paths, root, props))
    }

    fn mount(&mut self, req: &MountRequest) -> HostResult<MountEntry> {
        let (cfg, paths) = (&self.cfg, self.paths());
        self.write("mount", |st| {
            mount::mount(st, cfg, &paths, req)?;
            // Every kind of mount is recorded last (State::push_mount).
            st.mounts.values().next_back().cloned().ok_or((Errno::EIO, "the new mount is not recorded".to_string()))
        })
    }

    fn unmount(&mut self, m: &MountEntry, _force: bool) -> HostResult<()> {
        let paths = self.paths();
        self.write("unmount", |st| mount::unmount(st, &paths, m))
    }

    fn mounts(&self) -> HostResult<Vec<MountEntry>> {
        self.read("mounts", |st| Ok(st.mounts.values().cloned().collect()))
    }

    fn devfs_rules(&self, ruleset: u16) -> HostResult<u32> {
        self.read("devfs_rules", |st| mount::devfs_rules(st, ruleset))
    }

    fn rctl_add(&mut self, rule: &str) -> HostResult<()> {
        self.write("rctl_add", |st| {
            self.racct(st)?;
            let new = rules::check_add(rule)?;
            // A deny rule replaces rules that differ only in amount; other
            // actions replace identical rules (rctl_rule_add).
            st.rules.retain(|r| {
                let same = r.subject == new.subject
                    && r.id == new.id
                    && r.resource == new.resource
                    && r.action == new.action
                    && r.per == new.per;
                !(same && (new.action == "deny" || Some(r.amount) == new.amount))
            });
            st.rules.push(rule_of(new));
            Ok(())
        })
    }

    fn rctl_remove(&mut self, filter: &str) -> HostResult<()> {
        self.write("rctl_remove", |st| {
            self.racct(st)?;
            let f = rules::parse(filter)?;
            let before = st.rules.len();
            st.rules.retain(|r| !fields_of(r).matches(&f));
            if st.rules.len() == before {
                return Err((Errno::ESRCH, format!("no rule matches '{filter}'")));
            }
            Ok(())
        })
    }

    fn rctl_rules(&self, filter: &str) -> HostResult<Vec<String>> {
        self.read("rctl_rules", |st| {
            self.racct(st)?;
            let f = rules::parse(filter)?;
            Ok(st.rules.iter().map(fields_of).filter(|r| r.matches(&f)).map(|r| r.to_rule_string()).collect())
        })
    }

    fn rctl_usage(&self, subject: &str) -> HostResult<BTreeMap<String, u64>> {
        self.read("rctl_usage", |st| {
            self.racct(st)?;
            let f = rules::parse(subject)?;
            if f.subject.is_empty() || f.id.is_empty() {
                return Err((Errno::EINVAL, format!("'{subject}' names no subject")));
            }
            // prison_racct_find: a jail subject is a name (never a jid),
            // below MAXHOSTNAMELEN; one no jail has gets a fresh, empty
            // racct: zeros, not an error.
            if f.subject == "jail" && f.id.len() >= crate::kernel::params::MAXHOSTNAMELEN {
                return Err((Errno::ENAMETOOLONG, format!("'{}' is too long for a jail name", f.id)));
            }
            // What the jail's real processes use; a jail that does not
            // run (the kernel keeps a prison_racct per name) uses nothing.
            let root = (f.subject == "jail")
                .then(|| st.jails.values().find(|j| j.name == f.id).and_then(|j| self.jail_root(st, j.jid)))
                .flatten();
            let used = root.map(|r| process::usage(&r)).unwrap_or_default();
            Ok(rules::RESOURCES.iter().map(|r| (r.name.to_string(), used.get(r.name).copied().unwrap_or(0))).collect())
        })
    }

    fn cpuset_set(&mut self, jid: Jid, cpus: &[u32]) -> HostResult<()> {
        let cfg = &self.cfg;
        self.write("cpuset_set", |st| {
            let ncpu = sysctl::int(st, cfg, "hw.ncpu");
            // cpuset_setaffinity(2): an empty mask would leave the jail's
            // threads nowhere to run (EDEADLK); a CPU the machine does not
            // have is EINVAL; an unknown jail ESRCH.
            if cpus.is_empty() {
                return Err((Errno::EDEADLK, "an empty CPU set".to_string()));
            }
            if let Some(c) = cpus.iter().find(|c| i64::from(**c) >= ncpu) {
                return Err((Errno::EINVAL, format!("CPU {c} does not exist (hw.ncpu is {ncpu})")));
            }
            let j = st.jails.get_mut(&jid).ok_or((Errno::ESRCH, format!("jail {jid} not found")))?;
            let mut set = cpus.to_vec();
            set.sort_unstable();
            set.dedup();
            j.cpus = Some(set);
            Ok(())
        })
    }

    fn cpuset_get(&self, jid: Jid) -> HostResult<Vec<u32>> {
        self.read("cpuset_get", |st| {
            let ncpu = u32::try_from(sysctl::int(st, &self.cfg, "hw.ncpu")).unwrap_or(1);
            let j = st.jails.get(&jid).ok_or((Errno::ESRCH, format!("jail {jid} not found")))?;
            Ok(j.cpus.clone().unwrap_or_else(|| (0..ncpu).collect()))
        })
    }

    fn sysctl_get(&self, name: &str) -> HostResult<SysctlValue> {
        self.read("sysctl_get", |st| sysctl::get(st, &self.cfg, name).map_err(|e| (e, name.to_string())))
    }

    fn sysctl_type(&self, name: &str) -> HostResult<crate::kernel::sysctl::SysctlType> {
        self.read("sysctl_type", |st| sysctl::kind(st, &self.cfg, name).map_err(|e| (e, name.to_string())))
    }

    fn sysctl_set(&mut self, name: &str, value: &SysctlValue) -> HostResult<()> {
        let cfg = &self.cfg;
        self.write("sysctl_set", |st| sysctl::set(st, cfg, name, value).map_err(|e| (e, name.to_string())))
    }

    fn interfaces(&self) -> HostResult<Vec<Interface>> {
        self.read("interfaces", |st| {
            Ok(st
                .interfaces
                .iter()
                .map(|(n, a)| Interface { name: n.clone(), up: ifclone::is_up(st, n), addrs: a.clone() })
                .collect())
        })
    }

    fn addr_add(&mut self, iface: &str, addr: IpNet) -> HostResult<()> {
        let cfg = &self.cfg;
        self.write("addr_add", |st| net::add(st, cfg, iface, addr))
    }

    fn addr_remove(&mut self, iface: &str, addr: IpNet) -> HostResult<()> {
        self.write("addr_remove", |st| net::remove(st, iface, addr))
    }

    fn addr6_flags(&self, iface: &str, addr: std::net::Ipv6Addr) -> HostResult<u32> {
        let cfg = &self.cfg;
        // Each look is a tick of duplicate address detection (net::flags6).
        self.write("addr6_flags", |st| net::flags6(st, cfg, iface, addr))
    }

    fn if_create(&mut self, name: &str) -> HostResult<String> {
        self.write("if_create", |st| ifclone::create(st, name))
    }

    fn if_destroy(&mut self, name: &str) -> HostResult<()> {
        self.write("if_destroy", |st| ifclone::destroy(st, name))
    }

    fn if_rename(&mut self, name: &str, to: &str) -> HostResult<()> {
        self.write("if_rename", |st| ifclone::rename(st, name, to))
    }

    fn if_to_jail(&mut self, name: &str, jid: Jid) -> HostResult<()> {
        self.write("if_to_jail", |st| ifclone::to_jail(st, name, jid))
    }

    fn if_up(&mut self, name: &str) -> HostResult<()> {
        self.write("if_up", |st| ifclone::up(st, name))
    }

    fn bridge_add(&mut self, bridge: &str, member: &str) -> HostResult<()> {
        let cfg = &self.cfg;
        self.write("bridge_add", |st| ifclone::bridge_add(st, cfg, bridge, member))
    }

    fn bridge_remove(&mut self, bridge: &str, member: &str) -> HostResult<()> {
        self.write("bridge_remove", |st| ifclone::bridge_remove(st, bridge, member))
    }

    fn bridge_members(&self, bridge: &str) -> HostResult<Vec<String>> {
        self.read("bridge_members", |st| ifclone::bridge_members(st, bridge))
    }

    fn if_set_lladdr(&mut self, name: &str, mac: [u8; 6]) -> HostResult<()> {
        self.write("if_set_lladdr", |st| ifclone::set_lladdr(st, name, mac))
    }

    fn if_set_mtu(&mut self, name: &str, mtu: u32) -> HostResult<()> {
        self.write("if_set_mtu", |st| ifclone::set_mtu(st, name, mtu))
    }

    fn if_mtu(&self, name: &str) -> HostResult<u32> {
        self.read("if_mtu", |st| ifclone::mtu(st, name))
    }

    fn vnet_configure(&mut self, jid: Jid, setup: &VnetSetup) -> HostResult<()> {
        let cfg = &self.cfg;
        self.write("vnet_configure", |st| vnet::configure(st, cfg, jid, setup))
    }

    fn vnet_await_dad(
        &mut self,
        jid: Jid,
        iface: &str,
        addrs: &[std::net::Ipv6Addr],
        _within: std::time::Duration,
    ) -> HostResult<Vec<u32>> {
        let cfg = &self.cfg;
        self.write("vnet_await_dad", |st| vnet::await_dad(st, cfg, jid, iface, addrs))
    }

    fn vnet_view(&self, jid: Jid) -> HostResult<VnetView> {
        self.read("vnet_view", |st| vnet::view(st, jid))
    }

    fn pf_load(&mut self, anchor: &str, rules: &str) -> HostResult<()> {
        self.write("pf_load", |st| pf::load(st, anchor, rules))
    }

    fn pf_rules(&self, anchor: &str) -> HostResult<String> {
        self.read("pf_rules", |st| pf::rules(st, anchor))
    }

    fn pf_status(&self) -> HostResult<crate::kernel::pf::PfStatus> {
        let cfg = &self.cfg;
        self.read("pf_status", |_| {
            Ok(crate::kernel::pf::PfStatus { enabled: cfg.pf_enabled, anchors: cfg.pf_conf_anchors.clone() })
        })
    }

    /// The sim carries no traffic, so there are no states to kill.
    fn pf_kill_states(&mut self, _addr: std::net::IpAddr) -> HostResult<()> {
        self.write("pf_kill_states", |_| Ok(()))
    }

    fn dn_pipe_config(&mut self, pipe: u16, bandwidth: u32) -> HostResult<()> {
        let cfg = &self.cfg;
        self.write("dn_pipe_config", |st| dummynet::config(st, cfg, pipe, bandwidth))
    }

    fn dn_pipe_delete(&mut self, pipe: u16) -> HostResult<()> {
        let cfg = &self.cfg;
        self.write("dn_pipe_delete", |st| dummynet::delete(st, cfg, pipe))
    }

    fn dn_pipes(&self) -> HostResult<Vec<(u16, u32)>> {
        let cfg = &self.cfg;
        self.read("dn_pipes", |st| dummynet::list(st, cfg))
    }

    fn freebsd_update(&mut self, root: &Path, _workdir: &Path, config: &Path, running: &Version) -> HostResult<String> {
        const OP: &str = "freebsd_update";
        self.begin(OP)?;
        self.calls.borrow_mut().spawned += 1;
        // freebsd-update.sh parse_cfgfile: a missing -f file ends it
        // (exit 1) before anything is fetched.
        if !fs::local(&self.dir, config).is_file() {
            let msg = format!("File does not exist or is not readable: {}", config.display());
            return Err(HostError::new(OP, Errno::EIO, msg));
        }
        // install(1) into a read-only filesystem fails, and so does the
        // tool (a tool's failure is EIO).
        let read_only = self.read_only_at(root).map_err(|e| {
            HostError::new(OP, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)), root.display().to_string())
        })?;
        if read_only {
            let msg = format!("install: {}/bin/freebsd-version: Read-only file system", root.display());
            return Err(HostError::new(OP, Errno::EIO, msg));
        }
        let local = fs::local(&self.dir, root);
        let server = self.cfg.update_server.as_deref();
        self.timed_command(|| update::run(server, &local, running)).map_err(|(e, d)| HostError::new(OP, e, d))
    }

    fn pkg_base(&mut self, job: &PkgBaseJob) -> HostResult<String> {
        const OP: &str = "pkg_base";
        self.begin(OP)?;
        self.calls.borrow_mut().spawned += 1;
        let read_only = self.read_only_at(&job.root).map_err(|e| {
            HostError::new(OP, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)), job.root.display().to_string())
        })?;
        if read_only {
            let msg = format!("pkg: {}: Read-only file system (exit status 3)", job.root.display());
            return Err(HostError::new(OP, Errno::EIO, msg));
        }
        let root = fs::local(&self.dir, &job.root);
        let server = self.cfg.pkg_server.as_deref();
        self.timed_command(|| pkg::run(server, &self.dir, &root, job)).map_err(|(e, d)| HostError::new(OP, e, d))
    }

    fn pkg_install(&mut self, jid: Jid, packages: &[String]) -> HostResult<String> {
        const OP: &str = "pkg_install";
        let root = self.read(OP, |st| Ok(self.jail_root(st, jid)))?;
        self.calls.borrow_mut().spawned += 1;
        // pkg -j: jail_attach(2) of what is not a live jail is EINVAL
        // (kern_jail.c: sys_jail_attach, prison_find), and pkg exits 1.
        let Some(root) = root else {
            let msg = format!("pkg: jail_attach({jid}): Invalid argument (exit status 1)");
            return Err(HostError::new(OP, Errno::EIO, msg));
        };
        let server = self.cfg.pkg_server.as_deref();
        self.timed_command(|| pkg::run_in_jail(server, &root, sysctl::MACHINE, packages))
            .map_err(|(e, d)| HostError::new(OP, e, d))
    }

    fn spawn(&mut self, cmd: &Command, place: Place) -> HostResult<Output> {
        match place {
            Place::Host => self.spawn_on_host(cmd),
            Place::Jail(jid) => self.spawn_in_jail(cmd, jid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_specs() {
        let f = parse_faults("zfs_clone:1, jail_set:2:abort,mount:3:EBUSY").expect("valid");
        assert_eq!(f.get(&("zfs_clone".into(), 1)), Some(&Fault::Fail(Errno::EIO)));
        assert_eq!(f.get(&("jail_set".into(), 2)), Some(&Fault::Abort));
        assert_eq!(f.get(&("mount".into(), 3)), Some(&Fault::Fail(Errno::EBUSY)));
        assert!(parse_faults("bogus:1").is_err());
        assert!(parse_faults("zfs_clone:0").is_err());
        assert!(parse_faults("zfs_clone:1:ENOTANERRNO").is_err());
    }
}
