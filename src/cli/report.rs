//! How the use cases' events read on a terminal: what was done on
//! stdout, warnings, notes and failures on stderr after "brig: ".

use std::sync::Mutex;

use crate::app::{Event, Report};

/// Prints each event as one line (or one line per step) as it happens.
/// The steps it printed are kept too, for the command's line in the
/// event log (`take_changes`).
pub struct Printer;

/// The steps printed so far, `JAIL: STEP`, at most `MAX_CHANGES`.
static CHANGES: Mutex<Vec<String>> = Mutex::new(Vec::new());
const MAX_CHANGES: usize = 1000;

/// The steps printed since the last call.
pub fn take_changes() -> Vec<String> {
    CHANGES.lock().map(|mut c| std::mem::take(&mut *c)).unwrap_or_default()
}

/// Keeps a jail's steps for the event log; the lines, `JAIL: STEP`.
fn keep(jail: &crate::model::JailName, ops: &[crate::plan::Op]) -> Vec<String> {
    let lines: Vec<String> = ops.iter().map(|op| format!("{jail}: {op}")).collect();
    if let Ok(mut kept) = CHANGES.lock() {
        let room = MAX_CHANGES.saturating_sub(kept.len());
        kept.extend(lines.iter().take(room).cloned());
    }
    lines
}

/// How a command that can print JSON reports as it goes: `BesideJson`
/// when it does, so its standard output stays one JSON document.
pub fn reporter(json: bool) -> &'static dyn Report {
    if json {
        &BesideJson
    } else {
        &Printer
    }
}

/// For a command that prints JSON on standard output: what `Printer`
/// would print there is left out (the steps are still kept for the event
/// log); notes, warnings and failures still go to standard error.
pub struct BesideJson;

impl Report for BesideJson {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::Steps { jail, ops } => {
                keep(jail, ops);
            }
            Event::AlreadyRunning { .. }
            | Event::Started { .. }
            | Event::NotRunning { .. }
            | Event::Stopped { .. }
            | Event::CleanedUp { .. }
            | Event::Step { .. }
            | Event::Converted { .. }
            | Event::Definition { .. }
            | Event::Pruned { .. }
            | Event::Supervised { .. } => {}
            other => Printer.event(other),
        }
    }
}

impl Report for Printer {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::Recovered { jail, action, pid, how } => {
                eprintln!("brig: jail {jail}: an interrupted {} (pid {pid}) was {}", action.as_str(), how.as_str());
            }
            Event::Step { jail, n, total, place, summary, elapsed, skipped } => {
                let done = if *skipped { "done already" } else { "ok" };
                println!("{jail}: step {n}/{total} {place}: {summary}: {done} ({:.2} s)", elapsed.as_secs_f64());
            }
            Event::RunCleaned { jail, pid, removed } => eprintln!(
                "brig: note: jail {jail}, left by `brig run` (pid {pid}) when it was killed, was {}",
                if *removed { "stopped and destroyed" } else { "stopped" }
            ),
            Event::RunRecordUnread { jail, path } => eprintln!(
                "brig: warning: {} does not read; jail {jail} is left as it is (remove the file once you have looked)",
                path.display()
            ),
            Event::Supervised { jail, what } => {
                let time = crate::model::snapshot::SnapshotName::at(crate::app::now());
                println!("{time} jail {jail}: {what}");
            }
            Event::SuperviseFailed { error } => eprintln!("brig: supervise: {error}; trying again next round"),
            Event::Vanished { jail } => eprintln!("brig: jail {jail} was destroyed meanwhile; skipped"),
            Event::Steps { jail, ops } => {
                for line in keep(jail, ops) {
                    println!("{line}");
                }
            }
            Event::AlreadyRunning { jail, jid } => println!("jail {jail} is already running (jid {jid})"),
            Event::Started { jail, jid: Some(jid) } => println!("started jail {jail} (jid {jid})"),
            Event::Started { jail, jid: None } => println!("started jail {jail}"),
            Event::NotRunning { jail } => println!("jail {jail} is not running"),
            Event::StoppingAsStarted { jail } => {
                eprintln!("brig: jail {jail}: its definition does not read; stopping it as it was started")
            }
            Event::Stopped { jail } => println!("stopped jail {jail}"),
            Event::CleanedUp { jail } => {
                println!("jail {jail} was not running; cleaned up what an earlier stop left")
            }
            Event::FirewallInert { why, fix } => eprintln!("brig: warning: {why}; {fix}"),
            Event::StartingWithoutLimits => {
                eprintln!("brig: warning: kern.racct.enable is 0, so the jails start without their rctl limits")
            }
            Event::Note(note) => eprintln!("brig: note: {note}"),
            Event::Notice(notice) => eprintln!("brig: note: {notice}"),
            Event::Broken { error, .. } => eprintln!("brig: {error}"),
            Event::Failed { jail, error } => eprintln!("brig: jail {jail}: {error}"),
            Event::Converted { jail, unmapped, dry_run } => {
                println!("{} jail {jail}", if *dry_run { "would convert" } else { "converted" });
                for u in *unmapped {
                    println!("  not mapped: {u}");
                }
            }
            Event::NotConverted { jail, error } => eprintln!("brig: jail {jail}: {error}"),
            Event::Definition { jail, text } => {
                println!("# {jail}.toml");
                print!("{text}");
            }
            Event::ImportedThick { jail } => eprintln!(
                "brig: note: jail {jail} was thin where it was exported; its root arrives whole, so it is thick here"
            ),
            Event::CloneDropped { jail, what } => eprintln!("brig: note: jail {jail} does not get {what}"),
            Event::Pruned { jail, prune, dry_run } => {
                let (take, destroy) = if *dry_run { ("would take", "would destroy") } else { ("took", "destroyed") };
                let mut parts = Vec::new();
                parts.extend(prune.take.iter().map(|t| format!("{take} {t}")));
                if !prune.destroy.is_empty() {
                    parts.push(format!("{destroy} {}", prune.destroy.join(", ")));
                }
                if !prune.kept.is_empty() {
                    parts.push(format!("kept {}, which clones need", prune.kept.join(", ")));
                }
                if parts.is_empty() {
                    parts.push("nothing to do".into());
                }
                println!("{jail}: {}", parts.join("; "));
            }
            Event::UpdateRecovered { release, how } => eprintln!(
                "brig: note: an update of {release} that was killed half-way was {}",
                if *how == crate::app::Recovery::Finished { "finished" } else { "taken back" }
            ),
            Event::PlainHttp { source } => eprintln!(
                "brig: warning: {source} is plain http; the download is only as trustworthy as MANIFEST's checksums, which came the same way"
            ),
        }
    }
}
