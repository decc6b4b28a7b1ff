//! One step of a plan. A step that makes something says how it is undone,
//! so a failed plan takes back what it made (exec::run); steps that only
//! remove (unmount, remove an alias, delete a file) cannot be undone and
//! come last in the plans that have them.

use std::fmt;
use std::path::PathBuf;

use crate::kernel::MountEntry;
use crate::model::network::Mac;
use crate::model::release::{Archive, Budget};
use crate::model::{DatasetName, JailName};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `zfs create -o PROP=VALUE NAME` (mounted). Undo: destroy it.
    CreateDataset { name: DatasetName, props: Vec<(String, String)> },
    /// `zfs destroy [-r] NAME`, to clear what an interrupted earlier run
    /// left. Cannot be undone, so plans put it first.
    DestroyDataset { name: DatasetName, recursive: bool },
    /// `zfs snapshot NAME@SNAP`. Undo: destroy the snapshot.
    Snapshot { dataset: DatasetName, snapshot: String },
    /// `zfs rename FROM TO`. Undo: rename it back.
    Rename { from: DatasetName, to: DatasetName },
    /// Unpack `.txz` archives (local files of the machine brig runs on)
    /// into a dataset's mountpoint, symlink-safely. Undone by undoing the
    /// dataset's creation.
    /// Together they may unpack to no more than `budget`.
    Extract { dataset: DatasetName, archives: Vec<Archive>, budget: Budget },
    /// Install base packages into a dataset's mountpoint with pkg(8)
    /// (`Host::pkg_base`, the root filled in), then check that its
    /// /bin/freebsd-version says `release`. Undone with the dataset.
    InstallPackages { dataset: DatasetName, job: crate::host::PkgBaseJob, release: String },
    /// `zfs clone -o PROP=VALUE ORIGIN NAME` (mounted). Undo: destroy the clone.
    Clone { origin: String, name: DatasetName, props: Vec<(String, String)> },
    /// Copy the files of one dataset into another, symlink-safely (a thick
    /// jail's root from its release). Undone with the target dataset.
    CopyTree { from: DatasetName, to: DatasetName },
    /// Copy the files of a host directory (another manager's jail root)
    /// into a dataset, following no link on either side. Undone with the
    /// dataset.
    CopyDir { from: PathBuf, to: DatasetName },
    /// Set `NAME="VALUE"` lines in `etc/rc.conf` of a jail root, written
    /// atomically without following symlinks. Undone with the dataset.
    SetRcConf { dataset: DatasetName, vars: Vec<(String, String)> },
    /// Copy a host file (a path of the managed machine) into a jail root,
    /// if the host has it. Undone with the dataset.
    CopyIntoJail { dataset: DatasetName, from: PathBuf, to: PathBuf },
    /// Add an interface alias. Undo: remove it.
    AddAlias { interface: String, addr: ipnet::IpNet },
    /// Make bridge `bridge` unless the host has one of that name, with
    /// `uplink` as its first member, and bring it up. Undo: destroy it if
    /// this step made it and no member but the uplink has joined since.
    EnsureBridge { bridge: String, uplink: Option<String> },
    /// Create an epair and name its ends `host_end` and `jail_end`; the
    /// jail end gets `mac`, both ends `mtu`. Undo: destroy it.
    CreateEpair { host_end: String, jail_end: String, mac: Option<Mac>, mtu: Option<u32> },
    /// BRDGADD `member` (an epair's host end, `peer` its other end) to
    /// `bridge`; both ends get the bridge's MTU first, which its members
    /// share, unless the definition's `mtu` differs, which is refused.
    /// Undo: BRDGDEL.
    JoinBridge { bridge: String, member: String, peer: String, mtu: Option<u32> },
    /// IFF_UP on a host interface. Nothing to undo: brig brings up only
    /// the epair end it made, which goes with the epair.
    IfUp { interface: String },
    /// SIOCSIFVNET of a host interface into the named running VNET jail.
    /// Nothing to undo: it comes back when the jail is gone.
    MoveToJail { interface: String, jail: JailName },
    /// Set up the named running VNET jail's own stack. Nothing to undo:
    /// the stack goes with the jail.
    ConfigureVnet { jail: JailName, setup: crate::kernel::VnetSetup },
    /// SIOCIFDESTROY of an interface brig made (an epair: both ends).
    /// Cannot be undone.
    DestroyInterface { name: String },
    /// Replace the rules of the jail's pf anchor with `rules` in one
    /// transaction. Undo: load `old` back.
    LoadAnchor { anchor: String, rules: String, old: String },
    /// Empty the jail's pf anchor. Cannot be undone.
    FlushAnchor { anchor: String },
    /// Kill pf's states from and to the addresses. Cannot be undone.
    KillStates { addrs: Vec<std::net::IpAddr> },
    /// Make dummynet pipe `pipe` (`old` None: one brig takes now, which
    /// must not exist yet) or change its bandwidth (bit/s, 0: none).
    /// Undo: delete it, or give it `old` back.
    ConfigurePipe { pipe: u16, bandwidth: u32, old: Option<u32> },
    /// Delete dummynet pipe `pipe` of jail `jail`'s start, unless another
    /// jail's record names it. Cannot be undone.
    DeletePipe { pipe: u16, jail: JailName },
    /// Wait (bounded) until new IPv6 aliases have passed duplicate address
    /// detection: a tentative address cannot be bound to, so a daemon
    /// started before would fail. A duplicated one fails the step.
    AwaitDad { aliases: Vec<(String, std::net::Ipv6Addr)> },
    /// The same wait for a VNET jail's own IPv6 addresses, inside it.
    AwaitVnetDad { jail: JailName, interface: String, addrs: Vec<std::net::Ipv6Addr> },
    /// Refuse to go on unless devfs ruleset `ruleset` is loaded and has
    /// rules: mounting devfs with a missing one creates it empty, and the
    /// jail would see every device of the host. Nothing to undo.
    CheckRuleset { ruleset: u16 },
    /// Mount a filesystem at `target` inside a dataset's root; the mount
    /// point is made (or checked) without following symlinks first.
    /// Undo: unmount it.
    MountIn {
        dataset: DatasetName,
        fstype: String,
        source: String,
        target: PathBuf,
        readonly: bool,
        options: Vec<(String, Option<String>)>,
    },
    /// A host-side hook (`/bin/sh -c COMMAND`); a non-zero status fails.
    /// `stage` is its jail(8) name (`exec.prestart`).
    Hook { jail: JailName, stage: &'static str, command: String },
    /// jail_set(2) with JAIL_CREATE. Undo: jail_remove(2).
    CreateJail { params: Vec<crate::kernel::JailParam> },
    /// jail_set(2) with JAIL_UPDATE of a running jail's changeable
    /// parameters. Undo: set the `old` values back.
    UpdateJail {
        name: JailName,
        jid: crate::kernel::Jid,
        params: Vec<crate::kernel::JailParam>,
        old: Vec<crate::kernel::JailParam>,
    },
    /// `zfs jail`: attach a dataset to the named running jail. Undo: detach.
    AttachDataset { dataset: DatasetName, jail: JailName },
    /// `zfs unjail`. Undo: attach it again.
    DetachDataset { dataset: DatasetName, jail: JailName },
    /// rctl_add_rule(2). Undo: remove that rule.
    AddRctl { rule: crate::kernel::rctl_rules::Rule },
    /// rctl_remove_rule(2) of one exact rule. Undo: add it back.
    RemoveRctl { rule: crate::kernel::rctl_rules::Rule },
    /// cpuset_setaffinity(2) of the named running jail. Undo: its old set.
    PinCpus { jail: JailName, cpus: Vec<u32> },
    /// `/bin/sh -c COMMAND` inside the named running jail; a non-zero
    /// status fails.
    ExecIn { stage: &'static str, jail: JailName, command: String, clean: bool },
    /// SIGTERM every process of the jail and wait up to `timeout` seconds
    /// for them to go (stop.timeout); what is left, jail_remove kills.
    Terminate { jail: JailName, timeout: u32 },
    /// jail_remove(2), then a bounded wait until the jail has left the
    /// kernel (its killed processes gone). Cannot be undone.
    RemoveJail { name: JailName, jid: i32 },
    /// A bounded wait for a jail that is already dying (an earlier,
    /// interrupted stop removed it) to leave the kernel, before its mounts
    /// are taken down. Nothing to undo.
    AwaitGone { name: JailName, jid: i32 },
    /// unmount(2) of a mount getfsstat showed, by its filesystem ID
    /// (Host::unmount). Cannot be undone.
    Unmount { mount: MountEntry },
    /// Remove an interface alias. Cannot be undone.
    RemoveAlias { interface: String, addr: ipnet::IpNet },
    /// Remove a file (a path of the managed machine). Cannot be undone.
    RemoveFile { path: PathBuf },
    /// `zfs set PROP=VALUE NAME`. Undo: set the old values back.
    SetProps { name: DatasetName, props: Vec<(String, String)> },
    /// Set a directory's mode (a path of the managed machine). Undo: the
    /// old mode.
    Chmod { path: PathBuf, mode: u32 },
    /// Create a directory and its missing parents. Undo: remove the ones
    /// this step created.
    MakeDir { path: PathBuf, mode: u32 },
    /// Replace a file atomically. Undo: the old contents, or no file.
    WriteFile { path: PathBuf, contents: String, mode: u32 },
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let props = |p: &[(String, String)]| p.iter().map(|(k, v)| format!(" -o {k}={v}")).collect::<String>();
        match self {
            Op::CreateDataset { name, props: p } => write!(f, "zfs create{} {name}", props(p)),
            Op::DestroyDataset { name, recursive } => {
                write!(f, "zfs destroy{} {name}", if *recursive { " -r" } else { "" })
            }
            Op::Snapshot { dataset, snapshot } => write!(f, "zfs snapshot {dataset}@{snapshot}"),
            Op::Clone { origin, name, props: p } => write!(f, "zfs clone{} {origin} {name}", props(p)),
            Op::AttachDataset { dataset, jail } => write!(f, "zfs jail {jail} {dataset}"),
            Op::DetachDataset { dataset, jail } => write!(f, "zfs unjail {jail} {dataset}"),
            Op::CopyTree { from, to } => write!(f, "copy the files of {from} into {to}"),
            Op::CopyDir { from, to } => write!(f, "copy the files of {} into {to}", from.display()),
            Op::SetRcConf { dataset, vars } => {
                let kv: Vec<String> = vars.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
                write!(f, "set {} in etc/rc.conf of {dataset}", kv.join(" "))
            }
            Op::CopyIntoJail { dataset, from, to } => {
                write!(f, "copy {} to {} in {dataset}", from.display(), to.display())
            }
            Op::RemoveJail { name, jid } => write!(f, "jail_remove {name} (jid {jid})"),
            Op::AwaitGone { name, jid } => write!(f, "wait for the dying jail {name} (jid {jid}) to go"),
            Op::Terminate { jail, timeout } => write!(f, "SIGTERM the processes of {jail}, wait up to {timeout} s"),
            Op::AddAlias { interface, addr } => {
                let family = if addr.addr().is_ipv4() { "inet" } else { "inet6" };
                write!(f, "ifconfig {interface} {family} {addr} alias")
            }
            Op::EnsureBridge { bridge, uplink } => {
                let addm = uplink.as_ref().map(|u| format!(" addm {u}")).unwrap_or_default();
                write!(f, "ifconfig {bridge} create{addm} up, unless {bridge} exists")
            }
            Op::CreateEpair { host_end, jail_end, mac, mtu } => {
                write!(f, "ifconfig epair create, named {host_end} and {jail_end}")?;
                if let Some(m) = mac {
                    write!(f, ", {jail_end} ether {m}")?;
                }
                match mtu {
                    Some(m) => write!(f, ", mtu {m}"),
                    None => Ok(()),
                }
            }
            Op::JoinBridge { bridge, member, .. } => write!(f, "ifconfig {bridge} addm {member}"),
            Op::IfUp { interface } => write!(f, "ifconfig {interface} up"),
            Op::MoveToJail { interface, jail } => write!(f, "ifconfig {interface} vnet {jail}"),
            Op::ConfigureVnet { jail, setup } => {
                let mut parts = vec!["lo0 127.0.0.1/8 ::1".to_string(), format!("{} up", setup.interface)];
                parts.extend(setup.addrs.iter().map(ToString::to_string));
                if setup.slaac {
                    parts.push("accept_rtadv".into());
                }
                parts.extend(setup.ip4_gateway.map(|g| format!("route add default {g}")));
                parts.extend(setup.ip6_gateway.map(|g| format!("route add -inet6 default {g}%{}", setup.interface)));
                write!(f, "in {jail}'s own stack: {}", parts.join(", "))
            }
            Op::DestroyInterface { name } => write!(f, "ifconfig {name} destroy"),
            Op::LoadAnchor { anchor, rules, .. } => {
                let each: Vec<&str> = rules.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
                write!(f, "pfctl -a {anchor} -f -: {}", each.join("; "))
            }
            Op::FlushAnchor { anchor } => {
                write!(f, "pfctl -a {anchor} -f /dev/null (nat, rdr and filter rules emptied)")
            }
            Op::KillStates { addrs } => {
                let each: Vec<String> = addrs.iter().map(|a| format!("-k {a}")).collect();
                write!(f, "pfctl {} (and the states to them)", each.join(" "))
            }
            Op::ConfigurePipe { pipe, bandwidth, .. } => {
                write!(
                    f,
                    "dnctl pipe {pipe} config bw {}",
                    if *bandwidth == 0 { "0 (no limit)".to_string() } else { format!("{bandwidth}bit/s") }
                )
            }
            Op::DeletePipe { pipe, .. } => write!(f, "dnctl pipe {pipe} delete"),
            Op::AwaitDad { aliases } => {
                let each: Vec<String> = aliases.iter().map(|(i, a)| format!("{a} on {i}")).collect();
                write!(f, "wait for duplicate address detection of {}", each.join(", "))
            }
            Op::AwaitVnetDad { jail, interface, addrs } => {
                let each: Vec<String> = addrs.iter().map(ToString::to_string).collect();
                write!(f, "wait for duplicate address detection of {} on {interface} in {jail}", each.join(", "))
            }
            Op::MountIn { dataset, fstype, source, target, readonly, options } => {
                let mut opts: Vec<String> =
                    options.iter().map(|(k, v)| v.as_ref().map_or_else(|| k.clone(), |v| format!("{k}={v}"))).collect();
                if *readonly {
                    opts.insert(0, "ro".into());
                }
                let o = if opts.is_empty() { String::new() } else { format!(" -o {}", opts.join(",")) };
                write!(f, "mount -t {fstype}{o} {source} /{} in {dataset}", target.display())
            }
            Op::Hook { stage, command, .. } => write!(f, "{stage}: {command}"),
            Op::CheckRuleset { ruleset } => write!(f, "check that devfs ruleset {ruleset} is loaded"),
            Op::CreateJail { params } => {
                let kv: Vec<String> = params.iter().map(|p| format!("{}={}", p.name, p.value)).collect();
                write!(f, "jail_set create {}", kv.join(" "))
            }
            Op::UpdateJail { name, params, .. } => {
                let kv: Vec<String> = params.iter().map(|p| format!("{}={}", p.name, p.value)).collect();
                write!(f, "jail_set update {name} {}", kv.join(" "))
            }
            Op::AddRctl { rule } => write!(f, "rctl -a {rule}"),
            Op::RemoveRctl { rule } => write!(f, "rctl -r {rule}"),
            Op::PinCpus { jail, cpus } => write!(f, "cpuset -l {} -j {jail}", cpu_list(cpus)),
            Op::ExecIn { stage, jail, command, .. } => write!(f, "{stage} in {jail}: {command}"),
            Op::Unmount { mount } => write!(f, "umount {}", mount.target.display()),
            Op::RemoveAlias { interface, addr } => write!(f, "ifconfig {interface} {} -alias", addr.addr()),
            Op::RemoveFile { path } => write!(f, "rm {}", path.display()),
            Op::Rename { from, to } => write!(f, "zfs rename {from} {to}"),
            Op::InstallPackages { dataset, job, .. } => match &job.action {
                crate::host::PkgAction::Install(p) => {
                    write!(f, "pkg --rootdir <{dataset}> install -r {} {}", job.repository, p.join(" "))
                }
                crate::host::PkgAction::Upgrade => write!(f, "pkg --rootdir <{dataset}> upgrade -r {}", job.repository),
            },
            Op::Extract { dataset, archives, .. } => {
                let names: Vec<String> = archives
                    .iter()
                    .map(|a| {
                        let p = &a.path;
                        p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
                    })
                    .collect();
                write!(f, "extract {} into {dataset}", names.join(", "))
            }
            Op::SetProps { name, props: p } => {
                let kv: Vec<String> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "zfs set {} {name}", kv.join(" "))
            }
            Op::Chmod { path, mode } => write!(f, "chmod {mode:o} {}", path.display()),
            Op::MakeDir { path, mode } => write!(f, "mkdir -p -m {mode:o} {}", path.display()),
            Op::WriteFile { path, mode, .. } => write!(f, "write {} (mode {mode:o})", path.display()),
        }
    }
}

/// `0-3,6`: CPU numbers with runs folded into ranges, as cpuset(1) takes.
pub fn cpu_list(cpus: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        let mut end = start;
        while i + 1 < cpus.len() && cpus[i + 1] == end + 1 {
            i += 1;
            end = cpus[i];
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_lists_fold_runs() {
        assert_eq!(super::cpu_list(&[0, 1, 2, 3, 6, 8, 9]), "0-3,6,8-9");
        assert_eq!(super::cpu_list(&[5]), "5");
        assert_eq!(super::cpu_list(&[]), "");
    }
}
