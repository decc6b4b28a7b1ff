//! The one narrow interface between brig and a FreeBSD machine.
//!
//! Everything above this module (app, exec, and config for file paths) talks to a
//! `&mut dyn Host` and never knows whether it is the real kernel
//! (`freebsd::FreeBsdHost`) or the simulated machine (`sim::SimHost`).
//! `cli::host_choice` opens the one `--host` names (the kernel by default
//! on FreeBSD); nothing here looks at `cfg!(test)`.
//!
//! Paths handed to a `Host` are paths *of the managed machine*
//! (`/usr/local/etc/brig/brig.toml`, a jail's `path`). The real host uses them
//! as they are; the sim keeps that machine's filesystem under its directory.
//! Code that reads or writes such a file itself goes through
//! [`Host::local_path`].

pub mod capture;
pub mod error;
pub mod files;
#[cfg(target_os = "freebsd")]
pub mod freebsd;
pub mod jexec;
pub mod sim;

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use crate::model::version::Version;
use crate::state::beneath::{BeneathError, Root};
use crate::state::bounded::ReadError;

pub use error::{HostError, HostResult};
pub use nix::errno::Errno;

pub use crate::kernel::mount::Fsid;
pub use crate::kernel::types::*;
pub use crate::kernel::{cpuset, encode, params, rctl_rules as rctl};

/// Where a spawned command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// On the host, like exec.prestart.
    Host,
    /// Inside a running jail: fork, jail_attach, setusercontext, exec
    /// (jexec(8)).
    Jail(Jid),
}

/// Whether a spawned command shares brig's terminal or has its output
/// captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdio {
    Inherit,
    Capture,
}

/// A command to run with [`Host::spawn`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub program: String,
    pub args: Vec<String>,
    /// Run as this user (looked up inside the jail for `Place::Jail`);
    /// `None` keeps brig's own (root) credentials.
    pub user: Option<String>,
    /// Start from an empty environment (exec.clean) before `env` is applied.
    pub clean_env: bool,
    pub env: Vec<(String, String)>,
    pub stdio: Stdio,
    /// Killed, with every process it started, when it runs longer.
    pub deadline: Option<std::time::Duration>,
    /// For a command whose output nobody vouches for (a health check in a
    /// jail): its output goes through pipes, at most this many bytes of
    /// each are kept, and the pipes close when it exits (what it left
    /// behind gets EPIPE), so nothing on the host grows with it.
    pub output_limit: Option<u64>,
}

impl Command {
    pub fn new(program: impl Into<String>) -> Command {
        Command {
            program: program.into(),
            args: Vec::new(),
            user: None,
            clean_env: false,
            env: Vec::new(),
            stdio: Stdio::Capture,
            deadline: None,
            output_limit: None,
        }
    }

    pub fn args<I, S>(mut self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// The command line as one string, for messages.
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_str()).chain(self.args.iter().map(String::as_str)).collect::<Vec<_>>().join(" ")
    }
}

/// How a spawned command ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// Exit code, or 128 + signal number when killed by a signal.
    pub status: i32,
    /// Empty unless the command ran with `Stdio::Capture`.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Killed because it ran past `Command::deadline`.
    pub timed_out: bool,
}

/// What pkg(8) is to do to a base system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PkgAction {
    /// `install -y -r REPOSITORY PACKAGE...`
    Install(Vec<String>),
    /// `upgrade -y -r REPOSITORY`
    Upgrade,
}

/// One run of pkg(8) on a base system (`Host::pkg_base`); paths are the
/// machine's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkgBaseJob {
    pub root: PathBuf,
    /// The directory holding brig's repository configuration.
    pub repos: PathBuf,
    /// The repository to use of those.
    pub repository: String,
    /// Where downloaded packages are kept (PKG_CACHEDIR).
    pub cache: PathBuf,
    /// `FreeBSD:15:amd64`, and the OSVERSION that goes with it.
    pub abi: String,
    pub osversion: u32,
    pub action: PkgAction,
}

/// Which implementation a `Host` is, for `brig doctor` and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKind {
    FreeBsd,
    Sim { dir: PathBuf },
}

/// The interface to one FreeBSD machine: jails, ZFS, mounts, rctl, sysctl,
/// network aliases and processes. Methods mirror the system calls (or the
/// zfs(8) command) they stand for, and fail with the errno that call would
/// return.
pub trait Host {
    fn kind(&self) -> HostKind;

    /// Where a path of the managed machine lives on the machine brig runs
    /// on: the path itself on FreeBSD, `DIR/path` for the sim.
    fn local_path(&self, path: &Path) -> PathBuf;

    // --- brig's own files (paths of the managed machine) -----------------

    /// A regular file, never through a symlink, at most `limit` bytes.
    fn read_file(&self, path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
        crate::state::bounded::read(&self.local_path(path), limit)
    }

    /// The permission bits of a file or directory.
    fn file_mode(&self, path: &Path) -> std::io::Result<u32> {
        files::mode(&self.local_path(path))
    }

    /// Replaces a file atomically with `contents`, created with `mode`.
    fn write_file(&self, path: &Path, contents: &[u8], mode: u32) -> std::io::Result<()> {
        crate::state::atomic::write(&self.local_path(path), contents, mode)
    }

    /// Removes a file; one that is not there is not an error.
    fn remove_file(&self, path: &Path) -> std::io::Result<()> {
        files::remove(&self.local_path(path))
    }

    /// Makes one directory with exactly `mode`.
    fn make_dir(&self, path: &Path, mode: u32) -> std::io::Result<()> {
        files::make_dir(&self.local_path(path), mode)
    }

    /// Makes a directory and its missing parents, each with `mode`; the
    /// ones it made, outermost first. One that another process makes
    /// meanwhile (the jails of a boot wave start side by side) is theirs.
    fn make_dirs(&self, path: &Path, mode: u32) -> std::io::Result<Vec<PathBuf>> {
        let mut missing: Vec<&Path> = path.ancestors().take_while(|p| !self.exists(p)).collect();
        missing.reverse();
        let mut made = Vec::new();
        for dir in missing {
            match self.make_dir(dir, mode) {
                Ok(()) => made.push(dir.to_path_buf()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && self.is_dir(dir) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(made)
    }

    /// Removes an empty directory.
    fn remove_dir(&self, path: &Path) -> std::io::Result<()> {
        std::fs::remove_dir(self.local_path(path))
    }

    /// Sets the permission bits of a directory.
    fn set_dir_mode(&self, path: &Path, mode: u32) -> std::io::Result<()> {
        files::set_dir_mode(&self.local_path(path), mode)
    }

    /// The names in a directory, sorted; a missing directory has none.
    fn list_dir(&self, path: &Path) -> std::io::Result<Vec<String>> {
        files::list(&self.local_path(path))
    }

    /// Whether `path` is a directory (a symlink to one is not).
    fn is_dir(&self, path: &Path) -> bool {
        std::fs::symlink_metadata(self.local_path(path)).is_ok_and(|m| m.is_dir())
    }

    /// Whether anything is at `path` (a symlink counts, unfollowed).
    fn exists(&self, path: &Path) -> bool {
        std::fs::symlink_metadata(self.local_path(path)).is_ok()
    }

    /// Opens a directory (a dataset's mountpoint, a jail root) for work
    /// beneath it that never follows a symlink.
    fn open_root(&self, path: &Path) -> Result<Root, BeneathError> {
        Root::open(&self.local_path(path))
    }

    // --- jails: jail_set(2), jail_get(2), jail_remove(2) -----------------

    /// jail_set(2). Returns the jid of the created or updated jail.
    fn jail_set(&mut self, params: &[JailParam], flags: SetFlags) -> HostResult<Jid>;

    /// jail_get(2) of the named parameters of one jail, in the order asked.
    fn jail_get(&self, key: &JailKey, names: &[&str], flags: GetFlags) -> HostResult<Vec<JailParam>>;

    /// jail_remove(2): marks the jail and its children dying and sends
    /// their processes SIGKILL, without waiting for them; the jail is gone
    /// once its last reference is (see [`GetFlags`]). A jail already dying
    /// is no error; an unknown jid is EINVAL.
    fn jail_remove(&mut self, jid: Jid) -> HostResult<()>;

    /// Every jail visible to brig, in jid order, read with one jail_get(2)
    /// per jail (`lastjid` walk); no process is spawned. Dying jails are
    /// included (with `dying` set), so a caller that wants the running
    /// ones filters them out.
    fn jail_list(&self) -> HostResult<Vec<LiveJail>> {
        let mut out = Vec::new();
        let mut last = 0;
        loop {
            match self.jail_get(&JailKey::After(last), LIVE_PARAMS, GetFlags::DYING) {
                Ok(values) => {
                    let jail = LiveJail::from_params(&values);
                    last = jail.jid;
                    out.push(jail);
                }
                Err(e) if e.errno == Errno::ENOENT => return Ok(out),
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends `signal` to every process of a jail (None only asks); true if
    /// the jail had any process. Used to stop a jail gently before
    /// jail_remove(2), which kills.
    fn jail_kill(&mut self, jid: Jid, signal: Option<nix::sys::signal::Signal>) -> HostResult<bool>;

    /// The live (not dying) jail with this name, if any.
    fn jail_find(&self, name: &str) -> HostResult<Option<LiveJail>> {
        match self.jail_get(&JailKey::Name(name.to_string()), LIVE_PARAMS, GetFlags::ALIVE) {
            Ok(values) => Ok(Some(LiveJail::from_params(&values))),
            Err(e) if e.errno == Errno::ENOENT => Ok(None),
            Err(e) => Err(e),
        }
    }

    // --- ZFS --------------------------------------------------------------

    /// `zfs create -o PROP=VALUE... NAME`: creates a filesystem and mounts
    /// it unless `canmount=off`, `mountpoint=none|legacy` or `jailed=on`.
    fn zfs_create(&mut self, name: &str, props: &[(String, String)]) -> HostResult<()>;

    /// `zfs snapshot NAME@SNAP...`: every snapshot in one transaction
    /// (lzc_snapshot), or none. EXDEV: two of one dataset, or of two
    /// pools; EEXIST: one exists; ENOENT: a dataset does not; EINVAL: a bad
    /// name.
    fn zfs_snapshot(&mut self, snapshots: &[&str]) -> HostResult<()>;

    /// `zfs rollback NAME@SNAP` (lzc_rollback_to): the dataset back to its
    /// latest snapshot, mounted or not. EEXIST: a later snapshot exists
    /// (zfs(8) needs -r); ESRCH: no such snapshot; ENOENT: no such dataset.
    fn zfs_rollback(&mut self, snapshot: &str) -> HostResult<()>;

    /// `zfs destroy NAME@SNAP...` in one transaction (lzc_destroy_snaps),
    /// or none: EEXIST for a snapshot with clones, EBUSY for a held one,
    /// EXDEV for snapshots of two pools; a snapshot that does not exist is
    /// no error.
    fn zfs_destroy_snapshots(&mut self, snapshots: &[&str]) -> HostResult<()>;

    /// `zfs send [-i FROM] SNAP > out` (lzc_send): the stream of a
    /// snapshot, whole or from the earlier snapshot `from` of its dataset.
    /// ENOENT: no such snapshot; EXDEV: `from` is not an earlier snapshot
    /// of it; an error writing `out` with its errno.
    fn zfs_send(&mut self, snapshot: &str, from: Option<&str>, out: &mut dyn std::io::Write) -> HostResult<()>;

    /// `zfs receive -o PROP=VALUE... FS@SNAP < input` (lzc_receive; the
    /// filesystem mounted after, as zfs(8) does, unless `props` say not
    /// to). A whole stream makes FS: EEXIST when it exists, ENOENT without
    /// its parent; an incremental one adds to it: ENOENT without it,
    /// ENODEV when its latest snapshot is not the stream's source, ETXTBSY
    /// when it changed since. EINVAL (or EINTEGRITY on FreeBSD) for a
    /// stream that is not one, ends early or fails its checksum: then
    /// nothing is received.
    fn zfs_receive(
        &mut self,
        snapshot: &str,
        props: &[(String, String)],
        input: &mut dyn std::io::Read,
    ) -> HostResult<()>;

    /// `zfs promote NAME` (lzc_promote): clone NAME takes over the
    /// snapshots of the filesystem it was cloned from up to its origin,
    /// and that filesystem becomes a clone of NAME's. EINVAL: NAME is not
    /// a clone; EEXIST: NAME has a snapshot of one of their names.
    fn zfs_promote(&mut self, name: &str) -> HostResult<()>;

    /// `zfs diff -FH FROM TO`: what changed between snapshot FROM and
    /// snapshot TO, where FROM is earlier in TO's history (an earlier
    /// snapshot of its dataset, or its origin); paths are relative to the
    /// dataset's root. ENOENT: no such snapshot; EXDEV: FROM is not in
    /// TO's history.
    fn zfs_diff(&self, from: &str, to: &str) -> HostResult<Vec<DiffEntry>>;

    /// The local directory a snapshot's files are read from
    /// (`MOUNTPOINT/.zfs/snapshot/NAME` on FreeBSD). ENOENT: no such
    /// snapshot, or its dataset is not mounted.
    fn zfs_snapshot_files(&self, snapshot: &str) -> HostResult<PathBuf>;

    /// `zfs clone -o PROP=VALUE... ORIGIN@SNAP NAME`, mounted like create.
    fn zfs_clone(&mut self, origin: &str, name: &str, props: &[(String, String)]) -> HostResult<()>;

    /// `zfs destroy [-r] NAME` (unmounting first, as zfs(8) does).
    fn zfs_destroy(&mut self, name: &str, recursive: bool) -> HostResult<()>;

    /// `zfs rename FROM TO`.
    fn zfs_rename(&mut self, from: &str, to: &str) -> HostResult<()>;

    /// `zfs get -Hp` of the named properties of one dataset; user
    /// properties (`brig:release`) that are not set are absent from the map.
    fn zfs_get(&self, name: &str, props: &[&str]) -> HostResult<BTreeMap<String, String>>;

    /// `zfs set PROP=VALUE... NAME`.
    fn zfs_set(&mut self, name: &str, props: &[(String, String)]) -> HostResult<()>;

    /// `zfs jail JID NAME`: attach a dataset to a running jail, whose root
    /// may then manage and mount it (with `jailed=on`).
    fn zfs_jail(&mut self, name: &str, jid: Jid) -> HostResult<()>;

    /// `zfs unjail JID NAME`.
    fn zfs_unjail(&mut self, name: &str, jid: Jid) -> HostResult<()>;

    /// `zfs list -Hp -r -t all -o PROPS ROOT`: the root, every descendant
    /// and their snapshots, in one call.
    fn zfs_list(&self, root: &str, props: &[&str]) -> HostResult<Vec<DatasetInfo>>;

    // --- mounts: nmount(2), unmount(2), getfsstat(2) --------------------

    /// nmount(2); the new mount as getfsstat(2) shows it, with the
    /// filesystem ID that unmounts it.
    fn mount(&mut self, req: &MountRequest) -> HostResult<MountEntry>;
    /// unmount(2) of this mount by its filesystem ID (MNT_BYFSID), never
    /// by its path: a jail can redirect a path in its root (kernel::mount).
    /// ENOENT when no filesystem has that ID any more.
    fn unmount(&mut self, mount: &MountEntry, force: bool) -> HostResult<()>;
    fn mounts(&self) -> HostResult<Vec<MountEntry>>;
    /// How many rules devfs ruleset `ruleset` (1..=65535) has, walked with
    /// DEVFSIO_RGETNEXT as devfs(8) does: 0 when it is not loaded. A devfs
    /// mount with `ruleset=N` creates N empty when it is missing
    /// (devfs_ruleset_use), and an empty ruleset hides nothing.
    fn devfs_rules(&self, ruleset: u16) -> HostResult<u32>;

    // --- rctl(8) through rctl_add_rule(2) and friends -------------------

    /// rctl_add_rule(2) with a full rule `subject:id:resource:action=amount[/per]`.
    fn rctl_add(&mut self, rule: &str) -> HostResult<()>;
    /// rctl_remove_rule(2) with a filter; ESRCH when nothing matched.
    fn rctl_remove(&mut self, filter: &str) -> HostResult<()>;
    /// rctl_get_rules(2): the rules matching a filter.
    fn rctl_rules(&self, filter: &str) -> HostResult<Vec<String>>;
    /// rctl_get_racct(2): resource usage of one subject (`jail:NAME`).
    fn rctl_usage(&self, subject: &str) -> HostResult<BTreeMap<String, u64>>;

    // --- cpuset(2) ------------------------------------------------------

    /// cpuset_setaffinity(2) of a jail (`CPU_WHICH_JAIL`): the CPUs its
    /// processes may run on.
    fn cpuset_set(&mut self, jid: Jid, cpus: &[u32]) -> HostResult<()>;
    /// cpuset_getaffinity(2) of a jail, as sorted CPU numbers.
    fn cpuset_get(&self, jid: Jid) -> HostResult<Vec<u32>>;

    // --- sysctl(3) ------------------------------------------------------

    fn sysctl_get(&self, name: &str) -> HostResult<SysctlValue>;
    fn sysctl_set(&mut self, name: &str, value: &SysctlValue) -> HostResult<()>;
    /// What sysctl.name2oid and sysctl.oidfmt say of a name, without
    /// reading its value (ENOENT: no such name): its kind, format and, for
    /// a node, the type of its empty-named child. How libjail learns
    /// which jail parameters the kernel knows; reading a parameter node's
    /// value is EISDIR.
    fn sysctl_type(&self, name: &str) -> HostResult<crate::kernel::sysctl::SysctlType>;

    // --- network: getifaddrs(3), SIOCAIFADDR, SIOCDIFADDR -------------

    fn interfaces(&self) -> HostResult<Vec<Interface>>;
    /// Adds an alias address (`ifconfig IF inet ADDR/LEN alias`).
    fn addr_add(&mut self, iface: &str, addr: IpNet) -> HostResult<()>;
    /// Removes an alias address (`ifconfig IF inet ADDR -alias`).
    fn addr_remove(&mut self, iface: &str, addr: IpNet) -> HostResult<()>;
    /// The `IN6_IFF_*` flags of an IPv6 address (SIOCGIFAFLAG_IN6; see
    /// `kernel::net`): a new address is `IN6_IFF_TENTATIVE` until
    /// duplicate address detection has finished, and cannot be bound to
    /// meanwhile (EADDRNOTAVAIL). ENXIO: no such interface; EADDRNOTAVAIL:
    /// the address is not on it.
    fn addr6_flags(&self, iface: &str, addr: Ipv6Addr) -> HostResult<u32>;

    // --- cloned interfaces and bridges (docs/freebsd/network-interfaces.md)

    /// SIOCIFCREATE2: a new interface of the cloner `name` (`epair`,
    /// `bridge`, or one with its unit, `bridge3`); the name the kernel
    /// gave it. An epair is made whole: `epairNa` is returned, `epairNb`
    /// exists too. Both come without IFF_UP.
    fn if_create(&mut self, name: &str) -> HostResult<String>;
    /// SIOCIFDESTROY of a cloned interface; either end of an epair takes
    /// both, wherever the other is.
    fn if_destroy(&mut self, name: &str) -> HostResult<()>;
    /// SIOCSIFNAME.
    fn if_rename(&mut self, name: &str, to: &str) -> HostResult<()>;
    /// SIOCSIFVNET: moves an interface into the vnet of jail `jid` (a jail
    /// with `vnet=new`); it comes back when the jail is freed.
    fn if_to_jail(&mut self, name: &str, jid: Jid) -> HostResult<()>;
    /// SIOCGIFFLAGS then SIOCSIFFLAGS with IFF_UP added.
    fn if_up(&mut self, name: &str) -> HostResult<()>;
    /// BRDGADD through SIOCSDRVSPEC: `member` joins `bridge`.
    fn bridge_add(&mut self, bridge: &str, member: &str) -> HostResult<()>;
    /// BRDGDEL through SIOCSDRVSPEC.
    fn bridge_remove(&mut self, bridge: &str, member: &str) -> HostResult<()>;
    /// BRDGGIFS through SIOCGDRVSPEC: the members of `bridge`.
    fn bridge_members(&self, bridge: &str) -> HostResult<Vec<String>>;
    /// SIOCSIFLLADDR: the interface's Ethernet address.
    fn if_set_lladdr(&mut self, name: &str, mac: [u8; 6]) -> HostResult<()>;
    /// SIOCSIFMTU (EOPNOTSUPP on a bridge member: set it before joining).
    fn if_set_mtu(&mut self, name: &str, mtu: u32) -> HostResult<()>;
    /// SIOCGIFMTU.
    fn if_mtu(&self, name: &str) -> HostResult<u32>;

    // --- a VNET jail's own stack (docs/freebsd/vnet-config.md) ------------

    /// Sets up the stack of VNET jail `jid` as `setup` says, through
    /// sockets made inside the jail (SIOCAIFADDR, SIOCAIFADDR_IN6,
    /// SIOCSIFFLAGS, SIOCSIFINFO_IN6, RTM_ADD). EINVAL: the jail shares
    /// the host's stack (brig's own check: a socket made there would be
    /// the host's); ENXIO: the interface is not in the jail.
    fn vnet_configure(&mut self, jid: Jid, setup: &VnetSetup) -> HostResult<()>;
    /// The interfaces, addresses and default routes inside VNET jail
    /// `jid` (getifaddrs(3) and RTM_GET inside it).
    fn vnet_view(&self, jid: Jid) -> HostResult<VnetView>;
    /// Waits, at most `within`, until none of `addrs` on `iface` inside
    /// VNET jail `jid` is tentative any more (duplicate address detection
    /// has run), polling SIOCGIFAFLAG_IN6 there; the last `IN6_IFF_*`
    /// flags of each. EADDRNOTAVAIL: an address is not on the interface.
    fn vnet_await_dad(
        &mut self,
        jid: Jid,
        iface: &str,
        addrs: &[Ipv6Addr],
        within: std::time::Duration,
    ) -> HostResult<Vec<u32>>;

    // --- pf(4): brig's anchors ---------------------------------------------

    /// Replaces every rule (nat, rdr and filter) of pf anchor `anchor`
    /// with `rules` in one transaction, or changes nothing (`pfctl -a
    /// ANCHOR -f -`: DIOCXBEGIN..DIOCXCOMMIT). EINVAL with pfctl's
    /// `stdin:LINE: syntax error` for a rule it refuses; empty rules
    /// leave the anchor empty, and pf removes it.
    fn pf_load(&mut self, anchor: &str, rules: &str) -> HostResult<()>;
    /// The rules of an anchor, one a line (`pfctl -a ANCHOR -sn -sr`);
    /// EINVAL for an anchor pf does not have.
    fn pf_rules(&self, anchor: &str) -> HostResult<String>;
    /// Kills the states from and to `addr` (`pfctl -k ADDR`, `pfctl -k
    /// 0.0.0.0/0 -k ADDR`), so that a stopped jail's connections do not
    /// outlive its rules.
    fn pf_kill_states(&mut self, addr: std::net::IpAddr) -> HostResult<()>;
    /// Whether pf is enabled, and the anchor rules of its main ruleset
    /// (`pfctl -s info`, `pfctl -sn`, `pfctl -sr`). ENODEV: pf is not
    /// loaded.
    fn pf_status(&self) -> HostResult<crate::kernel::pf::PfStatus>;
    /// Makes dummynet pipe `pipe` or changes its bandwidth, in bit/s (0:
    /// none), in place (`dnctl pipe N config bw B`: IP_DUMMYNET3
    /// DN_CMD_CONFIG). ENOPROTOOPT: dummynet.ko is not loaded
    /// (rip_ctloutput); EINVAL: pipe 0 (config_link).
    fn dn_pipe_config(&mut self, pipe: u16, bandwidth: u32) -> HostResult<()>;
    /// Deletes dummynet pipe `pipe` (`dnctl pipe N delete`). EINVAL: there
    /// is none (delete_schk); ENOPROTOOPT: dummynet.ko is not loaded.
    fn dn_pipe_delete(&mut self, pipe: u16) -> HostResult<()>;
    /// Every dummynet pipe and its bandwidth (`dnctl pipe show`), by
    /// number. ENOPROTOOPT: dummynet.ko is not loaded.
    fn dn_pipes(&self) -> HostResult<Vec<(u16, u32)>>;

    // --- base system updates --------------------------------------------

    /// `freebsd-update -f CONFIG -b ROOT -d WORKDIR --currently-running
    /// VERSION --not-running-from-cron fetch`, then `install`: the
    /// userland at `root` (a path of the machine; not the running system)
    /// brought to the newest patch level of `running`'s release, checked
    /// against the keys CONFIG trusts. A fetch that fails only because the
    /// release is past its end of life still installs. Returns what it
    /// printed. EIO when it fails (a tool has no errno), with its last
    /// words; `root` may then be changed part-way.
    fn freebsd_update(&mut self, root: &Path, workdir: &Path, config: &Path, running: &Version) -> HostResult<String>;

    /// pkg(8) on the base system at `job.root` (`pkg --rootdir`), from the
    /// repositories of `job.repos` only (`--repo-conf-dir`), with the
    /// catalogue's signature checked against the fingerprints its
    /// configuration names. Returns what it printed. EIO when pkg fails (a
    /// tool has no errno), with its last words; the root may then be
    /// changed part-way.
    fn pkg_base(&mut self, job: &PkgBaseJob) -> HostResult<String>;

    /// `pkg -j JID install -y PACKAGE...`: the host's pkg(8) attached to
    /// a running jail installs packages from the jail's own repositories
    /// (its /etc/pkg and /usr/local/etc/pkg/repos), for the jail's ABI,
    /// checked against the keys the jail's configuration names; nothing of
    /// pkg needs to be in the jail. Returns what it printed. EIO when pkg
    /// fails (a tool has no errno), with its last words.
    fn pkg_install(&mut self, jid: Jid, packages: &[String]) -> HostResult<String>;

    // --- processes ------------------------------------------------------

    /// Runs a command to completion on the host or inside a jail. Every
    /// process brig starts goes through here so it is counted.
    fn spawn(&mut self, cmd: &Command, place: Place) -> HostResult<Output>;
}
