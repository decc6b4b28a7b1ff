//! The real FreeBSD host: jail_set(2)/jail_get(2)/jail_remove(2),
//! libzfs_core and zfs(8), nmount(2)/unmount(2)/getfsstat(2), the rctl
//! system calls, sysctl(3), getifaddrs(3) and the SIOCAIFADDR family of
//! ioctls, and fork/jail_attach/exec for commands inside a jail.
//!
//! Every method returns the errno the system gave, with the kernel's own
//! text where it has one (the `errmsg` of jail_set(2)/jail_get(2)/nmount(2),
//! zfs(8)'s stderr). The unsafe code is confined to thin shims, each with a
//! comment saying what it relies on; everything that can be computed without
//! the kernel (iovec encoding, zfs(8) output parsing, rctl amounts) is a pure
//! function.

mod cpuset;
mod devfs;
mod dummynet;
mod ifclone;
mod jail;
pub mod jexec;
mod mount;
mod net;
mod pf;
mod rctl;
mod spawn;
mod sysctl;
mod update;
mod vnet;
mod zfs;

use std::collections::BTreeMap;
use std::ffi::CString;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use nix::errno::Errno;

use crate::kernel::sysctl::SysctlType;
use crate::model::version::Version;

use super::{
    Command, DatasetInfo, DiffEntry, GetFlags, Host, HostError, HostKind, HostResult, Interface, JailKey, JailParam,
    Jid, MountEntry, MountRequest, Output, PkgBaseJob, Place, SetFlags, SysctlValue, VnetSetup, VnetView,
};

/// The FreeBSD machine brig runs on.
///
/// Creating one does not touch the system: the libzfs_core handle (which
/// opens `/dev/zfs`) is made on the first ZFS call, so jails, mounts and
/// rctl work on a machine without ZFS loaded.
#[derive(Debug)]
pub struct FreeBsdHost {
    zfs: zfs::Lzc,
    /// The brig executable, run as `brig-jexec` for commands inside jails.
    helper: PathBuf,
}

impl FreeBsdHost {
    /// The host, with this very program as its jexec helper.
    pub fn new() -> FreeBsdHost {
        let helper = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/usr/local/sbin/brig"));
        FreeBsdHost::with_helper(helper)
    }

    /// The host, with the brig executable at `helper` as its jexec helper
    /// (a test program is not brig, so it names the one cargo built).
    pub fn with_helper(helper: impl Into<PathBuf>) -> FreeBsdHost {
        FreeBsdHost { zfs: zfs::Lzc::default(), helper: helper.into() }
    }
}

impl Default for FreeBsdHost {
    fn default() -> FreeBsdHost {
        FreeBsdHost::new()
    }
}

/// A C string for a system call argument; a NUL byte inside is EINVAL, as
/// the kernel would refuse a truncated name.
fn c_string(op: &'static str, what: &str, s: &str) -> HostResult<CString> {
    CString::new(s).map_err(|_| HostError::new(op, Errno::EINVAL, format!("{what} contains a NUL byte")))
}

/// The text of a NUL-terminated message buffer the kernel filled in
/// (`errmsg`), empty when it wrote nothing.
fn buffer_text(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).trim().to_string()
}

/// The errno of an `io::Error` from std or a library, EIO when it has none.
fn io_errno(e: &std::io::Error) -> Errno {
    e.raw_os_error().map(Errno::from_raw).unwrap_or(Errno::EIO)
}

impl Host for FreeBsdHost {
    fn kind(&self) -> HostKind {
        HostKind::FreeBsd
    }

    fn local_path(&self, path: &Path) -> PathBuf {
        path.to_path_buf()
    }

    fn jail_set(&mut self, params: &[JailParam], flags: SetFlags) -> HostResult<Jid> {
        jail::set(params, flags)
    }

    fn jail_get(&self, key: &JailKey, names: &[&str], flags: GetFlags) -> HostResult<Vec<JailParam>> {
        jail::get(key, names, flags)
    }

    fn jail_remove(&mut self, jid: Jid) -> HostResult<()> {
        jail::remove(jid)
    }

    fn jail_kill(&mut self, jid: Jid, signal: Option<nix::sys::signal::Signal>) -> HostResult<bool> {
        jail::kill(jid, signal)
    }

    fn zfs_create(&mut self, name: &str, props: &[(String, String)]) -> HostResult<()> {
        zfs::create(&mut self.zfs, name, props)
    }

    fn zfs_snapshot(&mut self, snapshots: &[&str]) -> HostResult<()> {
        zfs::snapshot(&mut self.zfs, snapshots)
    }

    fn zfs_rollback(&mut self, snapshot: &str) -> HostResult<()> {
        zfs::rollback(&mut self.zfs, snapshot)
    }

    fn zfs_send(&mut self, snapshot: &str, from: Option<&str>, out: &mut dyn std::io::Write) -> HostResult<()> {
        zfs::send(&mut self.zfs, snapshot, from, out)
    }

    fn zfs_receive(
        &mut self,
        snapshot: &str,
        props: &[(String, String)],
        input: &mut dyn std::io::Read,
    ) -> HostResult<()> {
        zfs::receive(&mut self.zfs, snapshot, props, input)
    }

    fn zfs_promote(&mut self, name: &str) -> HostResult<()> {
        zfs::promote(&mut self.zfs, name)
    }

    fn zfs_diff(&self, from: &str, to: &str) -> HostResult<Vec<DiffEntry>> {
        zfs::diff(from, to)
    }

    fn zfs_snapshot_files(&self, snapshot: &str) -> HostResult<PathBuf> {
        zfs::snapshot_files(snapshot)
    }

    fn zfs_destroy_snapshots(&mut self, snapshots: &[&str]) -> HostResult<()> {
        zfs::destroy_snapshots(&mut self.zfs, snapshots)
    }

    fn zfs_clone(&mut self, origin: &str, name: &str, props: &[(String, String)]) -> HostResult<()> {
        zfs::clone(&mut self.zfs, origin, name, props)
    }

    fn zfs_destroy(&mut self, name: &str, recursive: bool) -> HostResult<()> {
        zfs::destroy(&mut self.zfs, name, recursive)
    }

    fn zfs_rename(&mut self, from: &str, to: &str) -> HostResult<()> {
        zfs::rename(&mut self.zfs, from, to)
    }

    fn zfs_jail(&mut self, name: &str, jid: Jid) -> HostResult<()> {
        zfs::jail("zfs_jail", name, jid)
    }

    fn zfs_unjail(&mut self, name: &str, jid: Jid) -> HostResult<()> {
        zfs::jail("zfs_unjail", name, jid)
    }

    fn zfs_get(&self, name: &str, props: &[&str]) -> HostResult<BTreeMap<String, String>> {
        zfs::get(name, props)
    }

    fn zfs_set(&mut self, name: &str, props: &[(String, String)]) -> HostResult<()> {
        zfs::set(name, props)
    }

    fn zfs_list(&self, root: &str, props: &[&str]) -> HostResult<Vec<DatasetInfo>> {
        zfs::list(root, props)
    }

    fn mount(&mut self, req: &MountRequest) -> HostResult<MountEntry> {
        mount::mount(req)
    }

    fn unmount(&mut self, m: &MountEntry, force: bool) -> HostResult<()> {
        mount::unmount(m, force)
    }

    fn mounts(&self) -> HostResult<Vec<MountEntry>> {
        mount::mounts()
    }

    fn devfs_rules(&self, ruleset: u16) -> HostResult<u32> {
        devfs::rules(ruleset)
    }

    fn rctl_add(&mut self, rule: &str) -> HostResult<()> {
        rctl::add(rule)
    }

    fn rctl_remove(&mut self, filter: &str) -> HostResult<()> {
        rctl::remove(filter)
    }

    fn rctl_rules(&self, filter: &str) -> HostResult<Vec<String>> {
        rctl::rules(filter)
    }

    fn rctl_usage(&self, subject: &str) -> HostResult<BTreeMap<String, u64>> {
        rctl::usage(subject)
    }

    fn cpuset_set(&mut self, jid: Jid, cpus: &[u32]) -> HostResult<()> {
        cpuset::set(jid, cpus)
    }

    fn cpuset_get(&self, jid: Jid) -> HostResult<Vec<u32>> {
        cpuset::get(jid)
    }

    fn sysctl_get(&self, name: &str) -> HostResult<SysctlValue> {
        sysctl::get(name)
    }

    fn sysctl_set(&mut self, name: &str, value: &SysctlValue) -> HostResult<()> {
        sysctl::set(name, value)
    }

    fn sysctl_type(&self, name: &str) -> HostResult<SysctlType> {
        sysctl::kind(name)
    }

    fn interfaces(&self) -> HostResult<Vec<Interface>> {
        net::interfaces()
    }

    fn addr_add(&mut self, iface: &str, addr: IpNet) -> HostResult<()> {
        net::addr_add(iface, addr)
    }

    fn addr_remove(&mut self, iface: &str, addr: IpNet) -> HostResult<()> {
        net::addr_remove(iface, addr)
    }

    fn addr6_flags(&self, iface: &str, addr: Ipv6Addr) -> HostResult<u32> {
        net::addr6_flags(iface, addr)
    }

    fn if_create(&mut self, name: &str) -> HostResult<String> {
        ifclone::create(name)
    }

    fn if_destroy(&mut self, name: &str) -> HostResult<()> {
        ifclone::destroy(name)
    }

    fn if_rename(&mut self, name: &str, to: &str) -> HostResult<()> {
        ifclone::rename(name, to)
    }

    fn if_to_jail(&mut self, name: &str, jid: Jid) -> HostResult<()> {
        ifclone::to_jail(name, jid)
    }

    fn if_up(&mut self, name: &str) -> HostResult<()> {
        ifclone::up(name)
    }

    fn bridge_add(&mut self, bridge: &str, member: &str) -> HostResult<()> {
        ifclone::bridge_add(bridge, member)
    }

    fn bridge_remove(&mut self, bridge: &str, member: &str) -> HostResult<()> {
        ifclone::bridge_remove(bridge, member)
    }

    fn bridge_members(&self, bridge: &str) -> HostResult<Vec<String>> {
        ifclone::bridge_members(bridge)
    }

    fn if_set_lladdr(&mut self, name: &str, mac: [u8; 6]) -> HostResult<()> {
        vnet::set_lladdr(name, mac)
    }

    fn if_set_mtu(&mut self, name: &str, mtu: u32) -> HostResult<()> {
        vnet::set_mtu(name, mtu)
    }

    fn if_mtu(&self, name: &str) -> HostResult<u32> {
        vnet::mtu(name)
    }

    fn vnet_configure(&mut self, jid: Jid, setup: &VnetSetup) -> HostResult<()> {
        vnet::configure(jid, setup)
    }

    fn vnet_view(&self, jid: Jid) -> HostResult<VnetView> {
        vnet::view(jid)
    }

    fn vnet_await_dad(
        &mut self,
        jid: Jid,
        iface: &str,
        addrs: &[Ipv6Addr],
        within: std::time::Duration,
    ) -> HostResult<Vec<u32>> {
        vnet::await_dad(jid, iface, addrs, within)
    }

    fn pf_load(&mut self, anchor: &str, rules: &str) -> HostResult<()> {
        pf::load(anchor, rules)
    }

    fn pf_rules(&self, anchor: &str) -> HostResult<String> {
        pf::rules(anchor)
    }

    fn pf_kill_states(&mut self, addr: std::net::IpAddr) -> HostResult<()> {
        pf::kill_states(addr)
    }

    fn pf_status(&self) -> HostResult<crate::kernel::pf::PfStatus> {
        pf::status()
    }

    fn dn_pipe_config(&mut self, pipe: u16, bandwidth: u32) -> HostResult<()> {
        dummynet::config(pipe, bandwidth)
    }

    fn dn_pipe_delete(&mut self, pipe: u16) -> HostResult<()> {
        dummynet::delete(pipe)
    }

    fn dn_pipes(&self) -> HostResult<Vec<(u16, u32)>> {
        dummynet::list("dn_pipes")
    }

    fn freebsd_update(&mut self, root: &Path, workdir: &Path, config: &Path, running: &Version) -> HostResult<String> {
        update::run(root, workdir, config, running)
    }

    fn pkg_base(&mut self, job: &PkgBaseJob) -> HostResult<String> {
        update::pkg_base(job)
    }

    fn pkg_install(&mut self, jid: Jid, packages: &[String]) -> HostResult<String> {
        update::pkg_install(jid, packages)
    }

    fn spawn(&mut self, cmd: &Command, place: Place) -> HostResult<Output> {
        spawn::spawn(cmd, place, &self.helper)
    }
}
