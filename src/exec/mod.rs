//! Carries out a plan against a `Host`. The only code that changes the
//! machine. Every finished step is remembered with how to undo it; when a
//! step fails, the finished steps are undone in reverse (as jail(8) walks
//! back its command list) and both the failure and any undo failure are
//! reported. Each group of steps (datasets, files, mounts, network, the
//! jail, limits) keeps its execution and its undo side by side in its
//! own module; this one dispatches.

pub mod files;
mod jail;
mod limits;
mod mounts;
mod network;
mod settle;
mod zfs;

use std::path::PathBuf;

use thiserror::Error;

pub use files::set_rc_vars;
pub use network::recorded_pipes;

use crate::host::{Host, HostError};
use crate::model::JailName;
use crate::plan::Op;

/// Why a step failed.
#[derive(Debug, Error)]
pub enum StepError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Release(#[from] crate::release::ReleaseError),
    /// A command brig ran exited non-zero.
    #[error("exited with status {status}{}", if output.is_empty() { String::new() } else { format!(": {output}") })]
    Command { status: i32, output: String },
    #[error(transparent)]
    Beneath(#[from] crate::state::beneath::BeneathError),
    /// The machine is in a state brig will not act in.
    #[error("{0}")]
    Refused(String),
}

/// A plan that failed at `step`, after undoing what it had done.
#[derive(Debug, Error)]
#[error("{step} failed: {source}{}", undo_note(.undo_errors))]
pub struct ExecError {
    /// The step that failed, as the plan prints it.
    pub step: String,
    pub source: Box<StepError>,
    /// Undo steps that failed too: the machine may need a hand.
    pub undo_errors: Vec<StepError>,
}

fn undo_note(errors: &[StepError]) -> String {
    if errors.is_empty() {
        String::new()
    } else {
        let each: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!("; undoing the earlier steps also failed: {}", each.join("; "))
    }
}

/// How to take back one finished step, by group.
enum Undo {
    Nothing,
    Zfs(zfs::Undo),
    Files(files::Undo),
    Mounts(mounts::Undo),
    Network(network::Undo),
    Jail(jail::Undo),
    Limits(limits::Undo),
}

fn undo(host: &mut dyn Host, u: Undo) -> Result<(), StepError> {
    match u {
        Undo::Nothing => Ok(()),
        Undo::Zfs(u) => zfs::undo(host, u),
        Undo::Files(u) => files::undo(host, u),
        Undo::Mounts(u) => mounts::undo(host, u),
        Undo::Network(u) => network::undo(host, u),
        Undo::Jail(u) => jail::undo(host, u),
        Undo::Limits(u) => limits::undo(host, u),
    }
}

/// The jid of a jail that must be running.
fn running_jid(host: &dyn Host, jail: &JailName) -> Result<i32, StepError> {
    let j = host.jail_find(jail.as_str())?.ok_or_else(|| {
        StepError::Host(HostError::new("jail_get", crate::host::Errno::ENOENT, format!("jail {jail} is not running")))
    })?;
    Ok(j.jid)
}

/// One step, by the group that carries it out.
fn apply(host: &mut dyn Host, op: &Op, notices: &mut Vec<Notice>) -> Result<Undo, StepError> {
    let nothing = |()| Undo::Nothing;
    match op {
        Op::CreateDataset { name, props } => zfs::create(host, name, props).map(Undo::Zfs),
        Op::DestroyDataset { name, recursive } => zfs::destroy(host, name, *recursive).map(nothing),
        Op::Snapshot { dataset, snapshot } => zfs::snapshot(host, dataset, snapshot).map(Undo::Zfs),
        Op::Rename { from, to } => zfs::rename(host, from, to).map(Undo::Zfs),
        Op::Clone { origin, name, props } => zfs::clone(host, origin, name, props).map(Undo::Zfs),
        Op::SetProps { name, props } => zfs::set_props(host, name, props).map(Undo::Zfs),
        Op::AttachDataset { dataset, jail } => zfs::attach(host, dataset, jail).map(Undo::Zfs),
        Op::DetachDataset { dataset, jail } => {
            zfs::detach(host, dataset, jail).map(|u| u.map_or(Undo::Nothing, Undo::Zfs))
        }
        Op::Extract { dataset, archives, budget } => {
            files::extract(host, dataset, archives, *budget, notices).map(nothing)
        }
        Op::InstallPackages { dataset, job, release } => {
            files::install_packages(host, dataset, job, release).map(nothing)
        }
        Op::CopyTree { from, to } => files::copy_tree(host, from, to).map(nothing),
        Op::CopyDir { from, to } => files::copy_dir(host, from, to).map(nothing),
        Op::SetRcConf { dataset, vars } => files::set_rc_conf(host, dataset, vars).map(nothing),
        Op::CopyIntoJail { dataset, from, to } => files::copy_into_jail(host, dataset, from, to).map(nothing),
        Op::RemoveFile { path } => files::remove(host, path).map(nothing),
        Op::Chmod { path, mode } => files::chmod(host, path, *mode).map(Undo::Files),
        Op::MakeDir { path, mode } => files::make_dir(host, path, *mode).map(Undo::Files),
        Op::WriteFile { path, contents, mode } => files::write(host, path, contents, *mode).map(Undo::Files),
        Op::MountIn { dataset, fstype, source, target, readonly, options } => {
            let m = mounts::MountIn { dataset, fstype, source, target, readonly: *readonly, options };
            mounts::mount_in(host, &m).map(Undo::Mounts)
        }
        Op::Unmount { mount } => mounts::unmount(host, mount).map(nothing),
        Op::CheckRuleset { ruleset } => mounts::check_ruleset(host, *ruleset).map(nothing),
        Op::AddAlias { interface, addr } => network::add_alias(host, interface, *addr).map(Undo::Network),
        Op::RemoveAlias { interface, addr } => network::remove_alias(host, interface, *addr).map(nothing),
        Op::AwaitDad { aliases } => network::await_dad(host, aliases).map(nothing),
        Op::AwaitVnetDad { jail, interface, addrs } => {
            network::await_vnet_dad(host, jail, interface, addrs).map(nothing)
        }
        Op::EnsureBridge { bridge, uplink } => {
            network::ensure_bridge(host, bridge, uplink.as_deref()).map(|u| u.map_or(Undo::Nothing, Undo::Network))
        }
        Op::CreateEpair { host_end, jail_end, mac, mtu } => {
            network::create_epair(host, host_end, jail_end, *mac, *mtu).map(Undo::Network)
        }
        Op::JoinBridge { bridge, member, peer, mtu } => {
            network::join_bridge(host, bridge, member, peer, *mtu).map(Undo::Network)
        }
        Op::IfUp { interface } => network::if_up(host, interface).map(nothing),
        Op::MoveToJail { interface, jail } => network::move_to_jail(host, interface, jail).map(nothing),
        Op::ConfigureVnet { jail, setup } => network::configure_vnet(host, jail, setup).map(nothing),
        Op::DestroyInterface { name } => network::destroy_interface(host, name).map(nothing),
        Op::LoadAnchor { anchor, rules, old } => network::load_anchor(host, anchor, rules, old).map(Undo::Network),
        Op::FlushAnchor { anchor } => network::flush_anchor(host, anchor).map(nothing),
        Op::KillStates { addrs } => network::kill_states(host, addrs).map(nothing),
        Op::ConfigurePipe { pipe, bandwidth, old } => {
            network::configure_pipe(host, *pipe, *bandwidth, *old).map(Undo::Network)
        }
        Op::DeletePipe { pipe, jail } => network::delete_pipe(host, *pipe, jail).map(nothing),
        Op::Hook { jail, stage, command } => jail::hook(host, jail, stage, command, notices).map(nothing),
        Op::CreateJail { params } => jail::create(host, params).map(Undo::Jail),
        Op::UpdateJail { jid, params, old, .. } => jail::update_live(host, *jid, params, old).map(Undo::Jail),
        Op::ExecIn { stage, jail, command, clean } => {
            jail::exec_in(host, jail, stage, command, *clean, notices).map(nothing)
        }
        Op::Terminate { jail, timeout } => jail::terminate(host, jail, *timeout).map(nothing),
        Op::RemoveJail { jid, .. } => jail::remove(host, *jid).map(nothing),
        Op::AwaitGone { jid, .. } => jail::await_gone(host, *jid).map(nothing),
        Op::AddRctl { rule } => limits::add_rule(host, rule).map(Undo::Limits),
        Op::RemoveRctl { rule } => limits::remove_rule(host, rule).map(Undo::Limits),
        Op::PinCpus { jail, cpus } => limits::pin_cpus(host, jail, cpus).map(Undo::Limits),
    }
}

/// Destroys the epairs a brig killed while it made one left unnamed
/// (crash recovery; a new epair's making sweeps them too).
pub fn sweep_unnamed_epairs(host: &mut dyn Host) -> Result<(), ExecError> {
    network::sweep_locked(host).map_err(|e| ExecError {
        step: "destroy the epairs a killed brig left unnamed".into(),
        source: Box::new(e),
        undo_errors: Vec::new(),
    })
}

/// Something a step did not do, and deliberately: not an error, but
/// never silent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Device nodes and FIFOs in a release archive are not made: devfs
    /// gives a jail its devices.
    NodesNotMade { archive: String, count: usize, first: PathBuf },
    /// A command's output could not be appended to the console log.
    LogNotWritten { path: PathBuf, error: String },
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::NodesNotMade { archive, count, first } => write!(
                f,
                "{archive}: {count} device node(s) or FIFO(s) not made, such as {}; a jail's devices come from devfs",
                first.display()
            ),
            Notice::LogNotWritten { path, error } => {
                write!(f, "{}: the console log was not written: {error}", path.display())
            }
        }
    }
}

/// Runs every step in order; on failure undoes the finished ones in
/// reverse and returns what failed. On success, what steps noticed.
pub fn run(host: &mut dyn Host, ops: &[Op]) -> Result<Vec<Notice>, ExecError> {
    let mut done: Vec<Undo> = Vec::new();
    let mut notices = Vec::new();
    for op in ops {
        match apply(host, op, &mut notices) {
            Ok(u) => done.push(u),
            Err(source) => {
                let undo_errors = done.into_iter().rev().filter_map(|u| undo(host, u).err()).collect();
                return Err(ExecError { step: op.to_string(), source: Box::new(source), undo_errors });
            }
        }
    }
    Ok(notices)
}

#[cfg(test)]
mod tests {
    use super::set_rc_vars;

    #[test]
    fn rc_conf_vars_are_replaced_or_appended() {
        let vars = vec![("hostname".to_string(), "web".to_string())];
        assert_eq!(set_rc_vars("", &vars), "hostname=\"web\"\n");
        assert_eq!(
            set_rc_vars("sshd_enable=\"YES\"\nhostname=\"old\"\n", &vars),
            "sshd_enable=\"YES\"\nhostname=\"web\"\n"
        );
        let quoted = vec![("x".to_string(), "a\"b".to_string())];
        assert_eq!(set_rc_vars("# c\n", &quoted), "# c\nx=\"a\\\"b\"\n");
    }
}
