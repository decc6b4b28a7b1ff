//! The simulated kernel's state, kept in `DIR/.sim/state.json` between
//! invocations. Every operation runs under an flock of `DIR/.sim/lock`
//! (exclusive to change, shared to read) and re-reads the state only when
//! another process changed it (a generation number), so concurrent brig
//! processes against one sim see one consistent machine.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::config::SimConfig;
use crate::host::{HostError, HostResult, JailParam, Jid, MountEntry};

/// One jail in the simulated kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimJail {
    pub jid: Jid,
    /// Full hierarchical name (`parent.child`).
    pub name: String,
    /// 0 for a jail of the host.
    pub parent: Jid,
    /// Every writable parameter by its positive name (`persist`,
    /// `allow.raw_sockets`), including `path` and the defaults set at
    /// creation.
    pub params: BTreeMap<String, JailParam>,
    /// Its cpuset, when one was set (all CPUs otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<Vec<u32>>,
    /// Set once jail_remove(2) killed it: how many more times a
    /// jail_get(2) by jid with JAIL_DYING will still find it before its
    /// last reference goes and it is freed (jail::poll_dying).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dying: Option<u32>,
    /// The names of the datasets attached to it (`zfs jail`): the zone
    /// keeps names, not datasets, until the prison is freed
    /// (zone_dataset_attach in spl_zone.c).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zone: Vec<String>,
}

impl SimJail {
    pub fn alive(&self) -> bool {
        self.dying.is_none()
    }
}

/// One ZFS dataset or snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimDataset {
    pub snapshot: bool,
    /// Properties set locally (`zfs get -s local`), native and user.
    pub props: BTreeMap<String, String>,
    /// `origin` of a clone.
    pub origin: Option<String>,
    /// Creation time (seconds since the epoch), as `zfs get -p creation`.
    pub creation: u64,
    pub guid: u64,
    /// The host path it is mounted on (None: unmounted).
    pub mounted: Option<PathBuf>,
    /// The tags of its user holds (`zfs hold TAG SNAP`), which keep a
    /// snapshot from being destroyed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<String>,
}

/// A parsed rctl rule held by the simulated kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimRule {
    pub subject: String,
    pub id: String,
    pub resource: String,
    pub action: String,
    pub amount: u64,
    pub per: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct State {
    pub generation: u64,
    pub last_jid: Jid,
    pub jails: BTreeMap<Jid, SimJail>,
    pub datasets: BTreeMap<String, SimDataset>,
    pub mounts: Vec<MountEntry>,
    pub rules: Vec<SimRule>,
    /// sysctls written at run time (`sysctl NAME=VALUE`).
    pub sysctl: BTreeMap<String, crate::host::SysctlValue>,
    pub interfaces: BTreeMap<String, Vec<IpNet>>,
    /// devfs rulesets in the kernel, with how many rules each has.
    #[serde(default = "stock_rulesets")]
    pub devfs_rulesets: BTreeMap<u16, u32>,
    /// IPv6 addresses still in duplicate address detection, with how many
    /// more SIOCGIFAFLAG_IN6 reads will see them tentative (net::flags6).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tentative: BTreeMap<String, u32>,
    pub next_guid: u64,
}

impl State {
    /// A freshly booted machine: the pool's root dataset mounted at /POOL,
    /// the interfaces of sim.toml.
    pub fn boot(cfg: &SimConfig) -> State {
        let mut s = State {
            interfaces: cfg.interfaces.clone(),
            devfs_rulesets: cfg.devfs_rulesets.iter().map(|n| (*n, super::config::stock_rules(*n))).collect(),
            next_guid: 1,
            ..State::default()
        };
        let root_mnt = PathBuf::from(format!("/{}", cfg.pool));
        s.datasets.insert(
            cfg.pool.clone(),
            SimDataset {
                snapshot: false,
                props: BTreeMap::new(),
                origin: None,
                creation: 0,
                guid: 0,
                mounted: Some(root_mnt.clone()),
                holds: Vec::new(),
            },
        );
        s.push_mount("zfs", &cfg.pool.clone(), root_mnt, false);
        s
    }

    pub fn guid(&mut self) -> u64 {
        self.next_guid += 1;
        self.next_guid
    }

    /// Records a new mount with a filesystem ID of its own, as
    /// vfs_getnewfsid gives every mount (nullfs, tmpfs, devfs) and ZFS
    /// every dataset.
    pub fn push_mount(&mut self, fstype: &str, source: &str, target: PathBuf, readonly: bool) {
        let id = self.guid();
        let fsid = [i32::try_from(id & 0x7fff_ffff).unwrap_or(i32::MAX), i32::try_from(id >> 31).unwrap_or(0)];
        self.mounts.push(MountEntry { fstype: fstype.into(), source: source.into(), target, readonly, fsid });
    }
}

/// What a state saved before the sim knew rulesets had loaded: the stock
/// ones.
fn stock_rulesets() -> BTreeMap<u16, u32> {
    (1..=5).map(|n| (n, super::config::stock_rules(n))).collect()
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> HostError {
    HostError::new("sim", Errno::EIO, format!("{}: {e}", path.display()))
}

/// The on-disk store: the lock file, the state file and the last
/// generation this process read.
pub struct Store {
    dir: PathBuf,
    lock: File,
    pub state: State,
}

impl Store {
    pub fn open(simdir: &Path, cfg: &SimConfig) -> HostResult<Store> {
        if !simdir.is_dir() {
            std::fs::create_dir(simdir).map_err(|e| io_err(simdir, e))?;
        }
        let lock_path = simdir.join("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            // A sim on a read-only filesystem still answers reads: flock
            // needs no write access.
            .or_else(|e| match e.raw_os_error() {
                Some(libc::EROFS | libc::EACCES | libc::EPERM) => std::fs::File::open(&lock_path),
                _ => Err(e),
            })
            .map_err(|e| io_err(&lock_path, e))?;
        let mut store = Store { dir: simdir.to_path_buf(), lock, state: State::default() };
        let guard = store.lock(true)?;
        let path = store.state_path();
        if path.exists() {
            store.state = store.read()?;
        } else {
            store.state = State::boot(cfg);
            store.write()?;
        }
        drop(guard);
        Ok(store)
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    fn lock(&self, exclusive: bool) -> HostResult<Flock<File>> {
        let arg = if exclusive { FlockArg::LockExclusive } else { FlockArg::LockShared };
        let fd = self.lock.try_clone().map_err(|e| io_err(&self.dir, e))?;
        Flock::lock(fd, arg).map_err(|(_, e)| HostError::new("sim", e, "locking the sim state"))
    }

    /// Runs `f` while holding the exclusive lock.
    pub fn locked<R>(&self, f: impl FnOnce() -> R) -> HostResult<R> {
        let _guard = self.lock(true)?;
        Ok(f())
    }

    fn read(&self) -> HostResult<State> {
        let path = self.state_path();
        let mut f = File::open(&path).map_err(|e| io_err(&path, e))?;
        let mut text = String::new();
        f.seek(SeekFrom::Start(0)).map_err(|e| io_err(&path, e))?;
        f.read_to_string(&mut text).map_err(|e| io_err(&path, e))?;
        serde_json::from_str(&text).map_err(|e| io_err(&path, e))
    }

    /// Replaces the state file by rename, so a process killed mid-call
    /// (BRIG_SIM_FAIL=...:abort) leaves the old state or the new one. No
    /// fsync: the sim models a kernel, whose state a power cut loses
    /// anyway, and an fsync per simulated call made large benchmarks
    /// measure the disk instead of brig.
    fn write(&self) -> HostResult<()> {
        let path = self.state_path();
        let tmp = self.dir.join("state.json.new");
        let text = serde_json::to_vec(&self.state).map_err(|e| io_err(&path, e))?;
        std::fs::write(&tmp, &text).map_err(|e| io_err(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))
    }

    fn generation_on_disk(&self) -> HostResult<u64> {
        // The generation is the first field of the JSON document; reading
        // a whole large state just to compare it would make every call
        // O(state).
        let path = self.state_path();
        let mut f = File::open(&path).map_err(|e| io_err(&path, e))?;
        let mut head = [0u8; 64];
        let n = f.read(&mut head).map_err(|e| io_err(&path, e))?;
        let head = String::from_utf8_lossy(&head[..n]);
        let digits: String =
            head.strip_prefix("{\"generation\":").unwrap_or("").chars().take_while(char::is_ascii_digit).collect();
        digits.parse().map_err(|_| io_err(&path, "unreadable generation"))
    }

    fn refresh(&mut self) -> HostResult<()> {
        if self.generation_on_disk()? != self.state.generation {
            self.state = self.read()?;
        }
        Ok(())
    }

    /// Runs `f` on the current state under a shared lock.
    pub fn read_with<R>(&mut self, f: impl FnOnce(&State) -> HostResult<R>) -> HostResult<R> {
        let _guard = self.lock(false)?;
        self.refresh()?;
        f(&self.state)
    }

    /// Runs `f` on the current state under an exclusive lock and saves the
    /// result if `f` succeeded. A failed `f` leaves the state untouched:
    /// like a syscall, a simulated call either happens or does not.
    pub fn write_with<R>(&mut self, f: impl FnOnce(&mut State) -> HostResult<R>) -> HostResult<R> {
        let _guard = self.lock(true)?;
        self.refresh()?;
        let mut next = self.state.clone();
        let out = f(&mut next)?;
        next.generation = self.state.generation + 1;
        self.state = next;
        self.write()?;
        Ok(out)
    }
}
