//! The command line: the only code that knows about clap, terminals and
//! exit codes. Each command lives in its own file and calls the library.

mod apply;
mod audit;
mod boot;
mod clone;
mod completions;
mod create;
mod debug;
mod destroy;
mod doctor;
mod edit;
mod enter;
mod ephemeral;
mod error;
mod events;
mod gc;
mod health;
mod report;

mod host_choice;
mod image;
mod info;
mod init;
mod limits;
mod list;
mod logs;
mod metrics;
mod migrate;
pub mod output;
mod prometheus;
mod provision;
mod release;
mod run;
mod schema;
mod snapshot;
mod template;
mod transfer;
mod upgrade;
mod usage;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use error::CliError;
pub use host_choice::HostChoice;

/// brig: FreeBSD jails from declarative TOML, thin ZFS clones, rctl limits.
#[derive(Debug, Parser)]
#[command(name = "brig", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The machine to act on: `freebsd` (the default on FreeBSD) or
    /// `sim:DIR`, a simulated FreeBSD host kept in DIR.
    #[arg(long, global = true, env = "BRIG_HOST", value_name = "HOST")]
    pub host: Option<String>,

    /// Fail at once when another brig is working on the same jail, instead of waiting for it.
    #[arg(long, global = true)]
    pub no_wait: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write brig.toml and create the dataset tree brig keeps releases and jails in.
    Init(init::InitArgs),
    /// Check that this machine is ready to run jails, with the fix for each problem.
    Doctor(doctor::DoctorArgs),
    /// Define a jail and create its root: a ZFS clone of the release (thin), a copy (thick) or empty.
    Create(Box<create::CreateArgs>),
    /// Start jails in jail(8)'s order: aliases, mounts, prestart, create, exec.start, poststart.
    Start(run::StartArgs),
    /// Stop jails: prestop, exec.stop, remove, poststop, unmounts, aliases.
    Stop(run::RunArgs),
    /// Stop, then start jails.
    Restart(run::StartArgs),
    /// Show what `brig apply` would change to make the machine match the definitions.
    Plan(apply::PlanArgs),
    /// Make the machine match the definitions: missing datasets, live parameters, aliases, mounts.
    Apply(apply::ApplyArgs),
    /// Show a jail's rctl limits, CPUs and bandwidth with their usage, or set and unset them (definition and live).
    Limits(limits::LimitsArgs),
    /// Resource usage of every running jail (memory, CPU, processes, files, I/O).
    Stats(limits::StatsArgs),
    /// What each jail's root can do beyond the secure defaults, by severity; exit 1 on a high one.
    Audit(audit::AuditArgs),
    /// Make a jail whose datasets are clones of another jail's snapshot, with its own name and addresses.
    Clone(clone::CloneArgs),
    /// Write a jail to one archive: its definition and a checked stream of each dataset.
    Export(transfer::ExportArgs),
    /// Make a jail from an archive `brig export` wrote, or from another manager's files (--from); nothing is made unless every check passes.
    Import(transfer::ImportArgs),
    /// Make a key pair to sign export archives with (export --sign, import --verify).
    Keygen(transfer::KeygenArgs),
    /// Move a jail to brig on another machine over ssh, and say how long it was down.
    Migrate(migrate::MigrateArgs),
    /// Snapshot a jail's datasets at one instant; list, prune and destroy its snapshots.
    Snapshot(snapshot::SnapshotArgs),
    /// Roll a jail's datasets back to one of its snapshots.
    Rollback(snapshot::RollbackArgs),
    /// Bring jails to their release's newest patch level or to another release; a thin jail stays thin.
    Upgrade(upgrade::UpgradeArgs),
    /// Run a command in a jail made for it from a release or an image, its exit status brig's.
    Run(ephemeral::RunArgs),
    /// Make a stopped jail's root an image that `brig create --image` clones.
    Commit(image::CommitArgs),
    /// Images and the cache of provision layers.
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// Run a jail's [[provision]] steps: only those after the latest cached layer of the steps as written.
    Provision(provision::ProvisionArgs),
    /// Run a command inside a running jail; its exit status is brig's.
    Exec(enter::ExecArgs),
    /// Log in to a running jail (login -f root inside it).
    Console(enter::ConsoleArgs),
    /// Run the host's pkg(8) on a running jail's packages (pkg -j); its exit status is brig's.
    Pkg(enter::PkgArgs),
    /// Destroy a jail: its datasets and its definition; never its release.
    Destroy(destroy::DestroyArgs),
    /// Edit a jail's definition with $EDITOR, or replace it from a file, a template or --set; it is validated before it replaces the old one.
    Edit(edit::EditArgs),
    /// Show a jail: its definition, live parameters, datasets and mounts.
    Info(info::InfoArgs),
    /// List defined and running jails.
    List(list::ListArgs),
    /// Fetch, list and destroy FreeBSD base releases.
    #[command(subcommand)]
    Release(release::ReleaseCommand),
    /// List and show the templates `brig create --template` takes.
    #[command(subcommand)]
    Template(template::TemplateCommand),
    /// Check jail definitions: every key, value and parameter, with file:line:col for each error.
    Validate(validate::ValidateArgs),
    /// The event log: every command that changed something, who ran it, when, and how it ended.
    Events(events::EventsArgs),
    /// Remove what brig made that nothing owns any more (datasets, records, rules, locks), saying why each is an orphan.
    Gc(gc::GcArgs),
    /// Serve the jails' metrics (stats --prometheus) over HTTP for Prometheus.
    #[command(subcommand)]
    Metrics(metrics::MetricsCommand),
    /// What a jail used over a time (CPU-seconds, memory byte-hours, I/O bytes), from the supervisor's samples.
    Usage(usage::UsageArgs),
    /// Show a jail's console log: the output of its exec.* commands and provision steps.
    Logs(logs::LogsArgs),
    /// Run the jails' [health] checks now: healthy, starting, unhealthy or stopped; exit 1 when one is unhealthy.
    Health(health::HealthArgs),
    /// Run the [health] checks on their intervals and restart jails per their policy, until stopped (rc.d/brig_supervise).
    Supervise(health::SuperviseArgs),
    /// Start the boot jails in dependency waves, stop every jail at shutdown (what rc.d/brig runs).
    #[command(subcommand)]
    Boot(boot::BootCommand),
    /// Print a shell completion script.
    Completions(completions::CompletionsArgs),
    /// Print the JSON Schema of a --json output; without a name, list them.
    Schema(schema::SchemaArgs),
    /// Tools for developers and benchmarks.
    #[command(subcommand)]
    Debug(debug::DebugCommand),
}

/// Runs a parsed command line; the exit code on success.
pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let choice = cli.host.as_deref().map(HostChoice::parse).transpose()?;
    crate::state::lock::set_no_wait(cli.no_wait);
    let audited = events::audited(&cli.command);
    let outcome = dispatch(cli.command, choice.clone());
    if let Some(a) = audited {
        events::record(choice, a, &outcome);
    }
    outcome
}

fn dispatch(command: Command, choice: Option<HostChoice>) -> Result<ExitCode, CliError> {
    match command {
        // Completions describe brig itself, not a machine: they work
        // anywhere, so packagers can generate them at build time.
        Command::Completions(args) => completions::run(&args),
        // Schemas describe brig itself, not a machine.
        Command::Schema(args) => schema::run(&args),
        Command::Debug(cmd) => debug::run(cmd, choice),
        Command::Boot(cmd) => boot::run(choice, &cmd),
        Command::Upgrade(args) => upgrade::run(choice, &args),
        Command::Init(args) => init::run(&mut *host_choice::open(choice)?, &args),
        Command::Doctor(args) => doctor::run(&*host_choice::open(choice)?, &args),
        Command::Create(args) => create::run(&mut *host_choice::open(choice)?, &args),
        Command::Start(args) => run::start(&mut *host_choice::open(choice)?, &args),
        Command::Stop(args) => run::stop(&mut *host_choice::open(choice)?, &args),
        Command::Restart(args) => run::restart(&mut *host_choice::open(choice)?, &args),
        Command::Plan(args) => apply::plan(&*host_choice::open(choice)?, &args),
        Command::Apply(args) => apply::apply(&mut *host_choice::open(choice)?, &args),
        Command::Limits(args) => limits::run(&mut *host_choice::open(choice)?, &args),
        Command::Stats(args) => limits::stats(&*host_choice::open(choice)?, &args),
        Command::Audit(args) => audit::run(&*host_choice::open(choice)?, &args),
        Command::Clone(args) => clone::run(&mut *host_choice::open(choice)?, &args),
        Command::Export(args) => transfer::export(&mut *host_choice::open(choice)?, &args),
        Command::Import(args) => transfer::import(&mut *host_choice::open(choice)?, &args),
        Command::Keygen(args) => transfer::keygen(&args),
        Command::Migrate(args) => migrate::run(&mut *host_choice::open(choice)?, &args),
        Command::Snapshot(args) => snapshot::run(&mut *host_choice::open(choice)?, &args),
        Command::Rollback(args) => snapshot::rollback(&mut *host_choice::open(choice)?, &args),
        Command::Run(args) => ephemeral::run(&mut *host_choice::open(choice)?, &args),
        Command::Commit(args) => image::commit(&mut *host_choice::open(choice)?, &args),
        Command::Image(cmd) => image::run(&mut *host_choice::open(choice)?, &cmd),
        Command::Provision(args) => provision::run(&mut *host_choice::open(choice)?, &args),
        Command::Exec(args) => enter::exec(&mut *host_choice::open(choice)?, &args),
        Command::Console(args) => enter::console(&mut *host_choice::open(choice)?, &args),
        Command::Pkg(args) => enter::pkg(&mut *host_choice::open(choice)?, &args),
        Command::Destroy(args) => destroy::run(&mut *host_choice::open(choice)?, &args),
        Command::Edit(args) => edit::run(&mut *host_choice::open(choice)?, &args),
        Command::Info(args) => info::run(&*host_choice::open(choice)?, &args),
        Command::List(args) => list::run(&*host_choice::open(choice)?, &args),
        Command::Release(cmd) => release::run(&mut *host_choice::open(choice)?, &cmd),
        Command::Template(cmd) => template::run(&*host_choice::open(choice)?, &cmd),
        Command::Validate(args) => validate::run(&*host_choice::open(choice)?, &args),
        Command::Events(args) => events::run(&*host_choice::open(choice)?, &args),
        Command::Gc(args) => gc::run(&mut *host_choice::open(choice)?, &args),
        Command::Metrics(cmd) => metrics::run(choice, &cmd),
        Command::Usage(args) => usage::run(&*host_choice::open(choice)?, &args),
        Command::Logs(args) => logs::run(&*host_choice::open(choice)?, &args),
        Command::Health(args) => health::health(&mut *host_choice::open(choice)?, &args),
        Command::Supervise(args) => health::run_supervisor(choice, &args),
    }
}
