//! The use cases: what each brig command does, as library functions.
//!
//! Each takes a `Host`, reads brig.toml, locks what it changes, recovers
//! what a killed brig left (`guard`), journals its own changes, plans
//! (`plan`, pure) and executes (`exec`), and returns a typed outcome or a
//! typed [`Error`]. What happens along the way (a jail started, a step a
//! dry run would take, a note) goes to a [`Report`] as an [`Event`]; the
//! CLI prints them, a test or a future daemon can collect them. Nothing
//! here knows about arguments, terminals or exit codes.

pub mod apply;
pub mod boot;
pub mod carry;
pub mod check;
pub mod clone;
pub mod convert;
pub mod create;
pub mod destroy;
pub mod doctor;
pub mod edit;
pub mod enter;
pub mod ephemeral;
mod error;
pub mod gc;
pub mod guard;
pub mod health;
pub mod image;
pub mod init;
pub mod inspect;
pub mod lifecycle;
pub mod limits;
pub mod logs;
pub mod migrate;
pub mod observe;
pub mod provision;
pub mod release;
pub mod run;
pub mod select;
pub mod snapshot;
pub mod supervise;
pub mod transfer;
pub mod upgrade;
pub mod usage;

pub use error::{broken, Batch, Error, NotFound, Refused, Verb};

use crate::config::HostConfig;
use crate::exec::Notice;
use crate::host::Host;
use crate::model::{JailName, ReleaseName};
use crate::plan::apply::Note;
use crate::plan::Op;
use crate::state::journal::Action;

/// Unix time now, in seconds: what snapshots are named and archives dated
/// by.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Appends what brig did on its own to jail `jail` (a recovery, a
/// supervisor's restart) to the event log; a log that cannot be written
/// is said, and changes nothing else.
pub(crate) fn log_event(host: &dyn Host, record: &crate::state::events::Record, jail: &JailName, report: &dyn Report) {
    if let Err(e) = crate::state::events::append(host, record) {
        let error = Error::Usage(format!("the event log was not written: {e}"));
        report.event(&Event::Failed { jail, error: &error });
    }
}

/// The host config, or the refusal telling the user to run `brig init`.
pub fn config(host: &dyn Host) -> Result<HostConfig, Error> {
    HostConfig::load(host)?.ok_or(Error::Refused(Refused::NotInitialised))
}

/// Where a use case tells what it is doing. `Sync`: the jails of a boot
/// wave report from their own threads.
pub trait Report: Sync {
    fn event(&self, event: &Event<'_>);
}

/// What happened to an interrupted command when the next one found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    TakenBack,
    Finished,
    TakenBackAndRedone,
}

impl Recovery {
    pub fn as_str(self) -> &'static str {
        match self {
            Recovery::TakenBack => "taken back",
            Recovery::Finished => "finished",
            Recovery::TakenBackAndRedone => "taken back and done again",
        }
    }
}

/// Something a use case did or found on its way, in the order it happened.
#[derive(Debug)]
pub enum Event<'a> {
    /// A brig killed half-way through `action` on `jail` left a journal
    /// entry; this command finished or took back its work.
    Recovered {
        jail: &'a JailName,
        action: Action,
        pid: u32,
        how: Recovery,
    },
    /// A jail of an `--all` batch was destroyed by another brig after it
    /// was listed.
    Vanished {
        jail: &'a JailName,
    },
    /// The steps a dry run would take, or the changes being made.
    Steps {
        jail: &'a JailName,
        ops: &'a [Op],
    },
    AlreadyRunning {
        jail: &'a JailName,
        jid: i32,
    },
    /// `jid` is None when the jail started but could not be read back.
    Started {
        jail: &'a JailName,
        jid: Option<i32>,
    },
    NotRunning {
        jail: &'a JailName,
    },
    /// A jail whose definition does not read is stopped from the record
    /// of its start.
    StoppingAsStarted {
        jail: &'a JailName,
    },
    Stopped {
        jail: &'a JailName,
    },
    /// The jail was not running, but an earlier stop had left some of
    /// what its start set up; that is gone now.
    CleanedUp {
        jail: &'a JailName,
    },
    /// racct is off and `--no-limits` was given.
    StartingWithoutLimits,
    /// Jails with a firewall start on a host whose pf would not use it.
    FirewallInert {
        why: &'a str,
        fix: &'a str,
    },
    /// Something the plan noticed and left alone.
    Note(&'a Note),
    /// Something a step deliberately did not do.
    Notice(&'a Notice),
    /// A jail's definition does not read; the others are handled.
    Broken {
        jail: &'a JailName,
        error: &'a Error,
    },
    /// A jail of a batch failed; the batch goes on.
    Failed {
        jail: &'a JailName,
        error: &'a Error,
    },
    /// A jail of another manager converted (or, on a dry run, that would
    /// be), and what of it did not map.
    Converted {
        jail: &'a str,
        unmapped: &'a [String],
        dry_run: bool,
    },
    /// A jail of another manager that was not converted, by a name brig
    /// cannot take.
    NotConverted {
        jail: &'a str,
        error: &'a Error,
    },
    /// A definition as it would be written.
    Definition {
        jail: &'a JailName,
        text: &'a str,
    },
    /// A thin jail imported: its root arrived whole, so it is thick here.
    ImportedThick {
        jail: &'a JailName,
    },
    /// Something of its source a clone does not get.
    CloneDropped {
        jail: &'a JailName,
        what: &'a str,
    },
    /// `snapshot prune` of a jail: what it did, or would do.
    Pruned {
        jail: &'a JailName,
        prune: &'a crate::plan::snapshot::Prune,
        dry_run: bool,
    },
    /// A release is downloaded over plain http.
    PlainHttp {
        source: &'a str,
    },
    /// A provision step ended (or was skipped: its `creates` exists).
    Step {
        jail: &'a JailName,
        n: usize,
        total: usize,
        /// `FILE:LINE` of the step.
        place: &'a str,
        summary: &'a str,
        elapsed: std::time::Duration,
        skipped: bool,
    },
    /// The jail of a `brig run` whose brig was killed was stopped and
    /// (`removed`) destroyed.
    RunCleaned {
        jail: &'a JailName,
        pid: u32,
        removed: bool,
    },
    /// A record of `brig run` that does not read was left alone.
    RunRecordUnread {
        jail: &'a JailName,
        path: &'a std::path::Path,
    },
    /// A round of `brig supervise` could not read the machine.
    SuperviseFailed {
        error: &'a Error,
    },
    /// What `brig supervise` saw or did to a jail.
    Supervised {
        jail: &'a JailName,
        what: &'a str,
    },
    /// A `release update` killed half-way was finished or taken back.
    UpdateRecovered {
        release: &'a ReleaseName,
        how: Recovery,
    },
}
