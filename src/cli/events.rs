//! The event log from the command line: which commands are recorded and
//! with which jails (`audited`), the record written once a command ended
//! (`record`), and `brig events`.

use std::process::ExitCode;
use std::time::Instant;

use clap::Args;

use super::output::{print_json, printable, table};
use super::{CliError, Command, HostChoice};
use crate::host::Host;
use crate::state::events::{self, Filter, Record};

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only the commands that named this jail.
    #[arg(long, value_name = "NAME")]
    pub jail: Option<String>,
    /// Only those of the last INTERVAL, such as 30m, 12h, 1d or 1w.
    #[arg(long, value_name = "INTERVAL")]
    pub since: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `brig events --json`: the records, oldest first.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct EventsJson {
    events: Vec<Record>,
}

/// A command the log records: its name and the jails it named.
pub struct Audited {
    command: String,
    jails: Vec<String>,
    started: Instant,
}

fn one(command: &str, jails: &[&String]) -> Option<Audited> {
    Some(Audited {
        command: command.to_string(),
        jails: jails.iter().map(|j| j.to_string()).collect(),
        started: Instant::now(),
    })
}

/// Whether `cmd` changes something (and so is recorded); what it names.
pub fn audited(cmd: &Command) -> Option<Audited> {
    use super::boot::BootCommand;
    use super::image::ImageCommand;
    use super::release::ReleaseCommand;
    use super::snapshot::SnapshotCommand;
    match cmd {
        Command::Init(a) if !a.dry_run => one("init", &[]),
        Command::Create(a) if !a.dry_run => one("create", &[&a.name]),
        Command::Start(a) if !a.run.dry_run => one("start", &a.run.names.iter().collect::<Vec<_>>()),
        Command::Restart(a) if !a.run.dry_run => one("restart", &a.run.names.iter().collect::<Vec<_>>()),
        Command::Stop(a) if !a.dry_run => one("stop", &a.names.iter().collect::<Vec<_>>()),
        Command::Apply(a) => one("apply", &a.names.iter().collect::<Vec<_>>()),
        Command::Limits(a) if a.change.as_ref().is_some_and(|c| !c.dry_run()) => one("limits", &[&a.name]),
        Command::Clone(a) => one("clone", &[&a.source, &a.name]),
        Command::Export(a) => one("export", &[&a.name]),
        Command::Import(a) => one("import", &a.name.iter().collect::<Vec<_>>()),
        Command::Migrate(a) => one("migrate", &[&a.name]),
        Command::Snapshot(a) => match &a.action {
            None => one("snapshot", &a.take.name.iter().collect::<Vec<_>>()),
            Some(SnapshotCommand::Create(t)) => one("snapshot", &t.name.iter().collect::<Vec<_>>()),
            Some(SnapshotCommand::Destroy { name, .. }) => one("snapshot destroy", &[name]),
            Some(SnapshotCommand::Prune { names, dry_run: false }) => {
                one("snapshot prune", &names.iter().collect::<Vec<_>>())
            }
            Some(_) => None,
        },
        Command::Rollback(a) => one("rollback", &[&a.name]),
        Command::Upgrade(a) if !a.dry_run => one("upgrade", &a.names.iter().collect::<Vec<_>>()),
        Command::Provision(a) => one("provision", &[&a.name]),
        Command::Run(a) => one("run", &a.name.iter().collect::<Vec<_>>()),
        Command::Commit(a) => one("commit", &[&a.name]),
        Command::Image(ImageCommand::Destroy { .. }) => one("image destroy", &[]),
        Command::Image(ImageCommand::Prune { dry_run: false }) => one("image prune", &[]),
        Command::Exec(a) => one("exec", &[&a.name]),
        Command::Console(a) => one("console", &[&a.name]),
        Command::Pkg(a) => one("pkg", &[&a.name]),
        Command::Destroy(a) => one("destroy", &[&a.name]),
        Command::Edit(a) if !a.dry_run => one("edit", &[&a.name]),
        Command::Release(ReleaseCommand::Fetch(_)) => one("release fetch", &[]),
        Command::Release(ReleaseCommand::Update { .. }) => one("release update", &[]),
        Command::Release(ReleaseCommand::Destroy { .. }) => one("release destroy", &[]),
        Command::Gc(a) if !a.dry_run => one("gc", &[]),
        Command::Boot(BootCommand::Start { .. }) => one("boot start", &[]),
        Command::Boot(BootCommand::Stop { .. }) => one("boot stop", &[]),
        _ => None,
    }
}

/// Appends the record of a command that ended with `result`. A log that
/// cannot be written does not change the command's outcome; after a
/// success it is said.
pub fn record(choice: Option<HostChoice>, a: Audited, result: &Result<ExitCode, CliError>) {
    let Ok(host) = super::host_choice::open(choice) else { return };
    let error = result.as_ref().err().map(ToString::to_string);
    let mut r = Record::now(&a.command, std::env::args().skip(1).collect(), a.jails, error, a.started.elapsed());
    r.changes = super::report::take_changes();
    // A command that failed has said so; one that changed something and
    // could not be logged says that.
    if let (Err(e), true) = (events::append(&*host, &r), r.ok) {
        eprintln!(
            "brig: warning: {}: the event log was not written: {e}",
            host.local_path(std::path::Path::new(events::EVENTS_PATH)).display()
        );
    }
}

pub fn run(host: &dyn Host, args: &EventsArgs) -> Result<ExitCode, CliError> {
    let since = match &args.since {
        Some(s) => {
            let secs = crate::model::snapshot::parse_interval(s)
                .map_err(|why| CliError::Usage(format!("--since {s}: {why}")))?;
            Some(crate::app::now().saturating_sub(secs))
        }
        None => None,
    };
    let filter = Filter { jail: args.jail.clone(), since };
    let path = host.local_path(std::path::Path::new(events::EVENTS_PATH));
    let records = events::read(host, &filter).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    if args.json {
        print_json(&EventsJson { events: records })?;
        return Ok(ExitCode::SUCCESS);
    }
    let body = records
        .iter()
        .map(|r| {
            let who = match &r.sudo_user {
                Some(s) => format!("{} (sudo {s})", r.user),
                None => r.user.clone(),
            };
            let result = match &r.error {
                None => "ok".to_string(),
                Some(e) => format!("failed: {}", printable(e.lines().next().unwrap_or_default())),
            };
            vec![r.time.clone(), who, format!("brig {}", r.args.join(" ")), result]
        })
        .collect();
    println!("{}", table(&["TIME", "USER", "COMMAND", "RESULT"], body));
    Ok(ExitCode::SUCCESS)
}
