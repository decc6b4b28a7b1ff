//! The simulated kernel's state, kept in `DIR/.sim/state.json` between
//! invocations. Every operation runs under an flock of `DIR/.sim/lock`
//! (exclusive to change, shared to read) and re-reads the state only when
//! another process changed it (a generation number), so concurrent brig
//! processes against one sim see one consistent machine.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::config::SimConfig;
use super::tracked::Tracked;
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
    pub jails: Tracked<Jid, SimJail>,
    pub datasets: Tracked<String, SimDataset>,
    /// By a number that grows with each mount: the map's order is the
    /// mount order getfsstat reports.
    pub mounts: Tracked<u64, MountEntry>,
    pub rules: Vec<SimRule>,
    /// sysctls written at run time (`sysctl NAME=VALUE`).
    pub sysctl: BTreeMap<String, crate::host::SysctlValue>,
    /// The interfaces of the host's vnet and their addresses. Kept by key
    /// like the jails: a thousand VNET jails make two thousand of them.
    pub interfaces: Tracked<String, Vec<IpNet>>,
    /// Interfaces that were cloned, or moved into a jail's vnet, by a
    /// number of their own (a name can be reused meanwhile): what
    /// `interfaces` alone cannot say (sim/ifclone.rs).
    #[serde(default)]
    pub links: Tracked<u64, Link>,
    /// The stacks of VNET jails, made at their first use (sim/vnet.rs).
    #[serde(default)]
    pub vnets: Tracked<Jid, SimVnet>,
    /// pf's anchors and their rules (sim/pf.rs).
    #[serde(default)]
    pub pf_anchors: Tracked<String, String>,
    /// dummynet's pipes and their bandwidth (sim/dummynet.rs).
    #[serde(default)]
    pub dn_pipes: Tracked<u16, u32>,
    /// devfs rulesets in the kernel, with how many rules each has.
    #[serde(default = "stock_rulesets")]
    pub devfs_rulesets: BTreeMap<u16, u32>,
    /// IPv6 addresses still in duplicate address detection, with how many
    /// more SIOCGIFAFLAG_IN6 reads will see them tentative (net::flags6).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tentative: BTreeMap<String, u32>,
    pub next_guid: u64,
    /// The mounts on each target, oldest first: finding what holds a path
    /// walks the path's few ancestors instead of every mount. Derived:
    /// rebuilt whenever the state is read from disk.
    #[serde(skip)]
    by_target: BTreeMap<PathBuf, Vec<u64>>,
}

impl State {
    /// Marks every tracked table saved.
    fn forget_changes(&mut self) {
        self.jails.take_changes();
        self.datasets.take_changes();
        self.mounts.take_changes();
        self.interfaces.take_changes();
        self.links.take_changes();
        self.vnets.take_changes();
        self.pf_anchors.take_changes();
        self.dn_pipes.take_changes();
    }

    /// A freshly booted machine: the pool's root dataset mounted at /POOL,
    /// the interfaces of sim.toml.
    pub fn boot(cfg: &SimConfig) -> State {
        let mut s = State {
            interfaces: cfg.interfaces.clone().into_iter().collect(),
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
        self.by_target.entry(target.clone()).or_default().push(id);
        self.mounts.insert(id, MountEntry { fstype: fstype.into(), source: source.into(), target, readonly, fsid });
    }

    /// Takes mount `id` off the table.
    pub fn remove_mount(&mut self, id: u64) {
        if let Some(m) = self.mounts.remove(&id) {
            if let Some(ids) = self.by_target.get_mut(&m.target) {
                ids.retain(|i| *i != id);
                if ids.is_empty() {
                    self.by_target.remove(&m.target);
                }
            }
        }
    }

    /// The mount that holds `path`: the newest mount on the deepest of its
    /// ancestors (itself included) that has one, as namei crosses into it.
    pub fn mount_holding(&self, path: &Path) -> Option<&MountEntry> {
        path.ancestors().find_map(|a| self.by_target.get(a)?.last().and_then(|id| self.mounts.get(id)))
    }

    /// The mounts at or below `dir`, in path order (oldest first on one
    /// target): the index is ordered by path, so they are one range of it.
    pub fn mounts_under<'a>(&'a self, dir: &'a Path) -> impl Iterator<Item = &'a MountEntry> + 'a {
        self.by_target
            .range::<Path, _>((std::ops::Bound::Included(dir), std::ops::Bound::Unbounded))
            .take_while(move |(t, _)| t.starts_with(dir))
            .flat_map(|(_, ids)| ids.iter().filter_map(|id| self.mounts.get(id)))
    }

    /// Rebuilds the index of mounts by target.
    fn index_mounts(&mut self) {
        self.by_target.clear();
        for (id, m) in self.mounts.iter() {
            self.by_target.entry(m.target.clone()).or_default().push(*id);
        }
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

/// What one call changed, as a line of the store's log: the jails,
/// datasets and mounts it touched (None: gone), the smaller tables whole
/// when they changed, and the counters.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Delta {
    generation: u64,
    last_jid: Jid,
    next_guid: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    jails: BTreeMap<Jid, Option<SimJail>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    datasets: BTreeMap<String, Option<SimDataset>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    mounts: BTreeMap<u64, Option<MountEntry>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    interfaces: BTreeMap<String, Option<Vec<IpNet>>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    links: BTreeMap<u64, Option<Link>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    vnets: BTreeMap<Jid, Option<SimVnet>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pf_anchors: BTreeMap<String, Option<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    dn_pipes: BTreeMap<u16, Option<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    small: Option<Small>,
}

/// The changes of a tracked table, owned, for the log.
fn owned<K: Ord + Clone, V: Clone>(t: &mut Tracked<K, V>) -> BTreeMap<K, Option<V>> {
    t.take_changes().into_iter().map(|(k, v)| (k, v.cloned())).collect()
}

/// An interface the sim keeps more about than its addresses: a cloned one
/// (its cloner and unit, an epair's other end, the bridge it is a member
/// of, IFF_UP) or one in a jail's vnet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub name: String,
    /// `epair` or `bridge`; None for an interface the host had (em1
    /// handed to a jail whole).
    pub cloner: Option<String>,
    /// The cloner unit it holds: reserved until it is destroyed, whatever
    /// it is renamed to.
    pub unit: u32,
    /// The other end of an epair.
    pub peer: Option<u64>,
    /// The jail whose vnet it is in; None: the host's.
    pub jail: Option<Jid>,
    /// The bridge it is a member of.
    pub bridge: Option<u64>,
    pub up: bool,
    /// Set with SIOCSIFLLADDR / SIOCSIFMTU; None: as the driver made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<[u8; 6]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
}

/// A VNET jail's own stack: its interfaces (lo0 from birth, and what was
/// moved in) by name, and its default routes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimVnet {
    pub interfaces: BTreeMap<String, VnetIf>,
    pub ip4_gateway: Option<std::net::Ipv4Addr>,
    pub ip6_gateway: Option<std::net::Ipv6Addr>,
    /// IPv6 addresses still in duplicate address detection, with how
    /// many more looks see them tentative (as `State::tentative`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tentative: BTreeMap<std::net::Ipv6Addr, u32>,
}

/// An interface inside a VNET jail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VnetIf {
    pub addrs: Vec<IpNet>,
    pub up: bool,
    /// ND6_IFF_ACCEPT_RTADV.
    pub accept_rtadv: bool,
}

/// The tables small enough to be written whole when one changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Small {
    rules: Vec<SimRule>,
    sysctl: BTreeMap<String, crate::host::SysctlValue>,
    devfs_rulesets: BTreeMap<u16, u32>,
    tentative: BTreeMap<String, u32>,
}

impl Small {
    fn of(st: &State) -> Small {
        Small {
            rules: st.rules.clone(),
            sysctl: st.sysctl.clone(),
            devfs_rulesets: st.devfs_rulesets.clone(),
            tentative: st.tentative.clone(),
        }
    }

    fn put(self, st: &mut State) {
        st.rules = self.rules;
        st.sysctl = self.sysctl;
        st.devfs_rulesets = self.devfs_rulesets;
        st.tentative = self.tentative;
    }
}

/// The log is folded into a new snapshot past this size.
const COMPACT_AT: u64 = 8 << 20;

/// The on-disk store: `state.json`, a snapshot of the whole machine, and
/// `state.log`, one line per call since (what it changed). A call appends
/// one line whose size depends on what it changed, not on how large the
/// machine is; the log is folded into a new snapshot now and then. Every
/// call runs under the flock of `lock` (exclusive to change, shared to
/// read), and reads only the lines other processes added since.
pub struct Store {
    dir: PathBuf,
    lock: File,
    pub state: State,
    /// The generation of the snapshot this process read.
    base: u64,
    /// Bytes of the log applied so far (always at a line's end).
    offset: u64,
    /// The small tables as last saved, to tell whether a call changed them.
    small: Small,
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
        let state = State::default();
        let small = Small::of(&state);
        let mut store = Store { dir: simdir.to_path_buf(), lock, state, base: 0, offset: 0, small };
        let guard = store.lock(true)?;
        if store.state_path().exists() {
            store.load()?;
        } else {
            store.state = State::boot(cfg);
            store.snapshot()?;
        }
        drop(guard);
        Ok(store)
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("state.log")
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

    /// Reads the snapshot and every line of the log after it.
    fn load(&mut self) -> HostResult<()> {
        let path = self.state_path();
        let mut f = File::open(&path).map_err(|e| io_err(&path, e))?;
        let mut text = String::new();
        f.read_to_string(&mut text).map_err(|e| io_err(&path, e))?;
        self.state = serde_json::from_str(&text).map_err(|e| {
            io_err(&path, format!("{e}; a sim made by an older brig: remove {} to boot it afresh", self.dir.display()))
        })?;
        self.base = self.state.generation;
        self.offset = 0;
        self.follow()?;
        self.small = Small::of(&self.state);
        self.state.index_mounts();
        Ok(())
    }

    /// Applies the lines of the log past `offset`; a last line without
    /// its newline (a writer killed mid-line) is not one yet.
    fn follow(&mut self) -> HostResult<()> {
        let path = self.log_path();
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err(&path, e)),
        };
        f.seek(SeekFrom::Start(self.offset)).map_err(|e| io_err(&path, e))?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).map_err(|e| io_err(&path, e))?;
        let Some(end) = bytes.iter().rposition(|b| *b == b'\n') else { return Ok(()) };
        for line in bytes[..end].split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let d: Delta = serde_json::from_slice(line).map_err(|e| io_err(&path, e))?;
            // Lines a snapshot already holds (a fold interrupted between
            // its two renames) are skipped.
            if d.generation > self.state.generation {
                self.apply(d);
            }
        }
        self.offset += end as u64 + 1;
        Ok(())
    }

    fn apply(&mut self, d: Delta) {
        let st = &mut self.state;
        st.generation = d.generation;
        st.last_jid = d.last_jid;
        st.next_guid = d.next_guid;
        st.jails.apply(d.jails);
        st.datasets.apply(d.datasets);
        st.mounts.apply(d.mounts);
        st.interfaces.apply(d.interfaces);
        st.links.apply(d.links);
        st.vnets.apply(d.vnets);
        st.pf_anchors.apply(d.pf_anchors);
        st.dn_pipes.apply(d.dn_pipes);
        if let Some(small) = d.small {
            small.put(st);
        }
        // What came from disk is saved already.
        st.forget_changes();
    }

    fn snapshot_generation(&self) -> HostResult<u64> {
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

    /// Catches up with what other processes saved.
    fn refresh(&mut self) -> HostResult<()> {
        if self.snapshot_generation()? != self.base {
            return self.load();
        }
        let len = std::fs::metadata(self.log_path()).map(|m| m.len()).unwrap_or(0);
        if len > self.offset {
            self.follow()?;
            self.small = Small::of(&self.state);
            self.state.index_mounts();
        }
        Ok(())
    }

    /// Writes the whole state as a new snapshot, then an empty log. A
    /// process killed between the two renames leaves log lines the
    /// snapshot already holds, which `follow` skips. No fsync: the sim
    /// models a kernel, whose state a power cut loses anyway.
    fn snapshot(&mut self) -> HostResult<()> {
        let path = self.state_path();
        let tmp = self.dir.join("state.json.new");
        let text = serde_json::to_vec(&self.state).map_err(|e| io_err(&path, e))?;
        std::fs::write(&tmp, &text).map_err(|e| io_err(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))?;
        let log = self.log_path();
        let tmp = self.dir.join("state.log.new");
        std::fs::write(&tmp, b"").map_err(|e| io_err(&tmp, e))?;
        std::fs::rename(&tmp, &log).map_err(|e| io_err(&log, e))?;
        self.base = self.state.generation;
        self.offset = 0;
        self.state.forget_changes();
        self.small = Small::of(&self.state);
        Ok(())
    }

    /// Appends what the last call changed as one line (cutting off a line
    /// a killed writer left half-written), or folds the log when it has
    /// grown large.
    fn save(&mut self) -> HostResult<()> {
        if self.offset > COMPACT_AT {
            return self.snapshot();
        }
        let small = Small::of(&self.state);
        let st = &mut self.state;
        let delta = Delta {
            generation: st.generation,
            last_jid: st.last_jid,
            next_guid: st.next_guid,
            jails: owned(&mut st.jails),
            datasets: owned(&mut st.datasets),
            mounts: owned(&mut st.mounts),
            interfaces: owned(&mut st.interfaces),
            links: owned(&mut st.links),
            vnets: owned(&mut st.vnets),
            pf_anchors: owned(&mut st.pf_anchors),
            dn_pipes: owned(&mut st.dn_pipes),
            small: (small != self.small).then(|| small.clone()),
        };
        self.small = small;
        let mut line = serde_json::to_vec(&delta).map_err(|e| io_err(&self.log_path(), e))?;
        line.push(b'\n');
        let path = self.log_path();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        f.set_len(self.offset).map_err(|e| io_err(&path, e))?;
        f.seek(SeekFrom::Start(self.offset)).map_err(|e| io_err(&path, e))?;
        f.write_all(&line).map_err(|e| io_err(&path, e))?;
        self.offset += line.len() as u64;
        Ok(())
    }

    /// Runs `f` on the current state under a shared lock.
    pub fn read_with<R>(&mut self, f: impl FnOnce(&State) -> HostResult<R>) -> HostResult<R> {
        let _guard = self.lock(false)?;
        self.refresh()?;
        f(&self.state)
    }

    /// Runs `f` on the current state under an exclusive lock and saves what
    /// it changed if it succeeded. A failed `f` leaves the state untouched
    /// (it is read back from disk): like a syscall, a simulated call either
    /// happens or does not.
    pub fn write_with<R>(&mut self, f: impl FnOnce(&mut State) -> HostResult<R>) -> HostResult<R> {
        let _guard = self.lock(true)?;
        self.refresh()?;
        match f(&mut self.state) {
            Ok(out) => {
                self.state.generation += 1;
                self.save()?;
                Ok(out)
            }
            Err(e) => {
                self.load()?;
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jail(jid: Jid, name: &str) -> SimJail {
        SimJail {
            jid,
            name: name.into(),
            parent: 0,
            params: BTreeMap::new(),
            cpus: None,
            dying: None,
            zone: Vec::new(),
        }
    }

    #[test]
    fn a_call_appends_what_it_changed_and_others_follow() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = SimConfig::default();
        let mut a = Store::open(dir.path(), &cfg).expect("open");
        let mut b = Store::open(dir.path(), &cfg).expect("open");
        let before = std::fs::metadata(dir.path().join("state.json")).expect("snapshot").len();
        a.write_with(|st| {
            st.jails.insert(1, jail(1, "web"));
            Ok(())
        })
        .expect("write");
        assert_eq!(std::fs::metadata(dir.path().join("state.json")).expect("snapshot").len(), before, "no rewrite");
        let seen = b.read_with(|st| Ok(st.jails.get(&1).map(|j| j.name.clone()))).expect("read");
        assert_eq!(seen.as_deref(), Some("web"));
        // Interfaces, links, stacks and anchors are kept by key too.
        a.write_with(|st| {
            st.interfaces.insert("e0a_web".into(), Vec::new());
            st.links.insert(1, Link { name: "e0a_web".into(), ..Link::default() });
            st.vnets.insert(1, SimVnet::default());
            st.pf_anchors.insert("brig/web".into(), "block drop quick from any to 192.0.2.1\n".into());
            Ok(())
        })
        .expect("write");
        let seen = b
            .read_with(|st| {
                Ok((st.interfaces.contains_key("e0a_web"), st.links.len(), st.vnets.len(), st.pf_anchors.len()))
            })
            .expect("read");
        assert_eq!(seen, (true, 1, 1, 1));
        // A failed call changes nothing, in memory or on disk.
        let e = a.write_with(|st| {
            st.jails.insert(2, jail(2, "db"));
            Err::<(), _>(HostError::new("x", Errno::EINVAL, "no"))
        });
        assert!(e.is_err());
        assert!(!a.read_with(|st| Ok(st.jails.contains_key(&2))).expect("read"));
        // A writer killed mid-line leaves a torn line: ignored, then cut.
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("state.log"))
            .and_then(|mut f| f.write_all(b"{\"generation\":99,\"jai"))
            .expect("torn");
        let mut c = Store::open(dir.path(), &cfg).expect("open despite the torn line");
        c.write_with(|st| {
            st.jails.remove(&1);
            Ok(())
        })
        .expect("write over it");
        let d = Store::open(dir.path(), &cfg).expect("open");
        assert!(d.state.jails.is_empty());
        assert_eq!(d.state.generation, c.state.generation);
    }

    #[test]
    fn a_large_log_is_folded_into_a_snapshot() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = SimConfig::default();
        let mut a = Store::open(dir.path(), &cfg).expect("open");
        a.offset = COMPACT_AT + 1;
        a.write_with(|st| {
            st.jails.insert(7, jail(7, "big"));
            Ok(())
        })
        .expect("write");
        assert_eq!(std::fs::metadata(dir.path().join("state.log")).expect("log").len(), 0, "folded");
        let b = Store::open(dir.path(), &cfg).expect("open");
        assert_eq!(b.state.jails.get(&7).map(|j| j.name.as_str()), Some("big"));
    }

    #[test]
    fn mounts_are_found_by_the_paths_they_hold() {
        let mut st = State::default();
        st.push_mount("zfs", "zroot/j", "/j".into(), false);
        st.push_mount("devfs", "devfs", "/j/root/dev".into(), false);
        st.push_mount("nullfs", "/data", "/j/root/data".into(), true);
        st.push_mount("tmpfs", "tmpfs", "/j/root/data".into(), false);
        st.push_mount("devfs", "devfs", "/j2/dev".into(), false);
        let holder = |st: &State, p: &str| st.mount_holding(Path::new(p)).map(|m| m.fstype.clone());
        assert_eq!(holder(&st, "/j/root/etc/rc.conf").as_deref(), Some("zfs"));
        assert_eq!(holder(&st, "/j/root/data/x").as_deref(), Some("tmpfs"), "the newest on a target is on top");
        assert_eq!(holder(&st, "/var/db/brig"), None);
        let under: Vec<&str> = st.mounts_under(Path::new("/j/root")).map(|m| m.fstype.as_str()).collect();
        assert_eq!(under, ["nullfs", "tmpfs", "devfs"], "by path (data, dev); not /j itself, nor /j2");
        let newest = st.mounts.iter().rfind(|(_, m)| m.fstype == "tmpfs").map(|(k, _)| *k).expect("tmpfs");
        st.remove_mount(newest);
        assert_eq!(holder(&st, "/j/root/data/x").as_deref(), Some("nullfs"), "uncovered again");
        let mut reloaded = State { mounts: st.mounts.clone(), ..State::default() };
        reloaded.index_mounts();
        assert_eq!(reloaded.mount_holding(Path::new("/j2/dev/null")).map(|m| m.target.clone()), Some("/j2/dev".into()));
    }
}
