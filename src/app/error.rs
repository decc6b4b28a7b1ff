//! What a use case can fail with, typed: the errors of the layers below
//! as they are, and brig's own refusals as values that name the jail and
//! what to do. The CLI maps them to exit codes (`cli::error`); a library
//! caller can match on them.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

use crate::config::edit::NotATable;
use crate::config::templates::TemplateError;
use crate::config::ConfigError;
use crate::exec::ExecError;
use crate::host::HostError;
use crate::model::snapshot::SnapshotName;
use crate::model::{JailName, ModelError, ReleaseName};
use crate::plan::addresses::Taken;
use crate::plan::apply::ApplyPlanError;
use crate::plan::jail::Foreign;
use crate::plan::order::Cycle;
use crate::plan::run::RunPlanError;
use crate::plan::InitPlanError;
use crate::release::ReleaseError;
use crate::state::journal::JournalError;
use crate::state::lock::LockError;

#[derive(Debug, Error)]
pub enum Error {
    /// A request that cannot be honoured as it was phrased.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Host(#[from] HostError),
    /// Boxed: a failed plan carries its step, cause and undo failures.
    #[error(transparent)]
    Exec(Box<ExecError>),
    #[error(transparent)]
    InitPlan(#[from] InitPlanError),
    #[error(transparent)]
    RunPlan(#[from] RunPlanError),
    #[error(transparent)]
    ApplyPlan(#[from] ApplyPlanError),
    #[error(transparent)]
    Cycle(#[from] Cycle),
    #[error(transparent)]
    Release(#[from] ReleaseError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    NotFound(#[from] NotFound),
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Archive(#[from] crate::state::archive::ArchiveError),
    /// A jail brig did not start has the name: brig leaves it alone.
    #[error(transparent)]
    Foreign(#[from] Foreign),
    /// Some jails of a batch failed; the others were handled.
    #[error(transparent)]
    Batch(#[from] Batch),
}

impl From<ExecError> for Error {
    fn from(e: ExecError) -> Error {
        Error::Exec(Box::new(e))
    }
}

/// What a command was asked about does not exist.
#[derive(Debug, Error)]
pub enum NotFound {
    #[error("jail {0} is not defined; `brig list` shows the jails")]
    Jail(JailName),
    #[error("jail {0} does not exist; `brig list` shows the jails")]
    Nothing(JailName),
    #[error("release {0} is not fetched; `brig release list` shows what is")]
    Release(ReleaseName),
    #[error("jail {jail} has no console log ({}): brig has run nothing for it yet; `brig logs -f {jail}` waits for one", path.display())]
    ConsoleLog { jail: JailName, path: std::path::PathBuf },
    #[error("jail {0} has no usage samples: brig supervise takes one a minute of every running jail; run it (service brig_supervise start)")]
    Samples(JailName),
}

/// The verb of a batch, as its failures say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Start,
    Stop,
    Prune,
    Convert,
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Prune => "have their snapshots pruned",
            Verb::Convert => "convert",
        })
    }
}

/// brig's own refusals, each one sentence naming the jail and what to do.
#[derive(Debug, Error)]
pub enum Refused {
    #[error("brig is not initialised; run `brig init` first")]
    NotInitialised,
    #[error("{place}: the step's file {}: {why}; put it in the definition's directory or fix the step", path.display())]
    StepSource { place: String, path: PathBuf, why: String },
    #[error("{place}: step {n}/{total} of jail {jail} ({summary}) failed: {why}\nthe jail's root is back at the layer before it; fix the step and run `brig provision {jail}` again")]
    StepFailed { jail: JailName, place: String, n: usize, total: usize, summary: String, why: String },
    #[error("jail {jail}'s root has snapshots of its own ({}), which provisioning would destroy (it takes the root back to a layer, or puts a cached layer in its place); destroy them (`brig snapshot destroy {jail} SNAP`) first", snapshots.join(", "))]
    ProvisionSnapshots { jail: JailName, snapshots: Vec<String> },
    #[error("jail {0} has no [[provision]] steps; add some to its definition (see brig.toml(5))")]
    NoSteps(JailName),
    #[error("jail {jail} is running (jid {jid}); stop it first: an image is made of a root at rest")]
    CommitRunning { jail: JailName, jid: i32 },
    #[error("image {0} exists; choose another name or `brig image destroy {0}` first")]
    ImageExists(JailName),
    #[error("jail {jail}'s root has snapshots ({}), which making an image would move into it; destroy them (`brig snapshot destroy {jail} SNAP`) first", snapshots.join(", "))]
    CommitSnapshots { jail: JailName, snapshots: Vec<String> },
    #[error("{} exists with other contents than the template's file for jail {jail}; move it away first, or leave out --template", path.display())]
    FileThere { jail: JailName, path: PathBuf },
    #[error("a `brig run` of jail {0} is under way (its record is in /var/db/brig/runs); choose another --name")]
    RunInProgress(JailName),
    #[error("the archive holds image {0}, not a jail; import it with `brig import --image`")]
    ImageArchive(String),
    #[error("the archive holds a jail ({0}), not an image; import it without --image")]
    JailArchive(String),
    #[error("there is no image {0}; `brig image list` shows them")]
    NoImage(JailName),
    #[error("image {image} is in use by {}; destroy those first", users.join(", "))]
    ImageInUse { image: JailName, users: Vec<String> },
    /// An interface or host port another definition takes.
    #[error("{0}")]
    Clash(String),
    #[error("brig.toml: {0}")]
    Defaults(String),
    #[error("jail {jail} has bandwidth limits, and every dummynet pipe brig takes ({first} to {last}) is in use; delete pipes of that range that are not brig's (dnctl pipe show), or stop jails with limits")]
    NoPipes { jail: JailName, first: u16, last: u16 },
    #[error("jail {jail} already has a snapshot {snap}; give another name, or destroy that one first (brig snapshot destroy {jail} {snap})")]
    SnapshotExists { jail: JailName, snap: SnapshotName },
    #[error("jail {jail} has no snapshot {snap}; {}", if have.is_empty() { "it has none".to_string() } else { format!("it has {}", have.join(", ")) })]
    NoSnapshot { jail: JailName, snap: SnapshotName, have: Vec<String> },
    #[error("snapshot {snap} of jail {jail} does not cover {}, made after it, so the jail cannot be rolled back to it whole; roll back its other datasets with zfs(8) if that is what you want", missing.join(", "))]
    SnapshotIncomplete { jail: JailName, snap: SnapshotName, missing: Vec<String> },
    #[error("rolling jail {jail} back to {snap} destroys its later snapshots {}; pass --force to destroy them", later.join(", "))]
    LaterSnapshots { jail: JailName, snap: SnapshotName, later: Vec<String> },
    #[error("snapshots {} of jail {jail} are needed by their clones {}; destroy the clones first", snaps.join(", "), clones.join(", "))]
    SnapshotCloned { jail: JailName, snaps: Vec<String>, clones: Vec<String> },
    #[error("jail {from} has addresses, and its clone {jail} needs its own; give them with --ip4 or --ip6")]
    CloneNeedsAddresses { from: JailName, jail: JailName },
    #[error("the archive holds what changed in jail {jail} since its snapshot {since}, and this host has no jail {jail} to add it to; import the whole jail first (an export without --since)")]
    IncrementalWithoutJail { jail: JailName, since: SnapshotName },
    #[error("jail {jail} is running (jid {jid}); stop it before an import adds to its datasets")]
    ImportRunning { jail: JailName, jid: i32 },
    #[error("the archive continues jail {jail}'s dataset {dataset} from snapshot {since}, and its latest snapshot here is {latest}; export again with --since {latest}")]
    NotContinuing { jail: JailName, dataset: String, latest: String, since: SnapshotName },
    #[error("{what}: {why}")]
    RemoteFailed { what: String, why: String },
    #[error("jail {jail}: its path {path:?} is not a directory of this host, so there is no root to copy")]
    NoRootToCopy { jail: JailName, path: String },
    #[error("jail {jail} runs (jid {jid}), started by jail(8) or another manager; stop it there first (jail -r {jail}): its root is copied")]
    ConvertRunning { jail: JailName, jid: i32 },
    #[error("the archive's definition of jail {jail} would have this host run or mount: {}; check where the archive comes from and import it with --trust, or remove those from its definition there", what.join("; "))]
    UntrustedDefinition { jail: JailName, what: Vec<String> },
    #[error("the other machine has a jail {jail} with no snapshot in common with this one (its latest is not one here); destroy it there, or migrate under another name")]
    NothingInCommon { jail: JailName },
    #[error("jail {jail} has no [snapshots] in its definition, so it has no automatic snapshots to take or prune; add [snapshots] with keep and every")]
    NoRetention { jail: JailName },
    #[error("snapshot {snap} of jail {jail} was taken when it was on {was}, and its definition now names {now}: a rollback would leave it on {was}'s files; set release = \"{was}\" in its definition first, or clone the snapshot into a new jail")]
    RollbackAcrossRelease { jail: JailName, snap: SnapshotName, was: String, now: crate::model::ReleaseName },
    #[error("jail {jail} is running (jid {jid}), and a rollback would change its files under it; stop it first, or pass --restart")]
    RollbackRunning { jail: JailName, jid: i32 },
    #[error("jail {jail} has bandwidth limits, and dummynet(4) is not loaded; {}", crate::kernel::dummynet::LOAD_IT)]
    NoDummynet { jail: JailName },
    #[error("jail {jail} has limits but kern.racct.enable is 0 on this host; add kern.racct.enable=1 to /boot/loader.conf and reboot, or pass --no-limits to start it without them")]
    RacctOff { jail: JailName },
    #[error(
        "kern.racct.enable is 0, so the kernel keeps no usage; add kern.racct.enable=1 to /boot/loader.conf and reboot"
    )]
    NoUsage,
    #[error("jail {jail} depends on {dep}, which is not running; start {dep} first")]
    DependencyDown { jail: JailName, dep: JailName },
    #[error("jail {jail} depends on {dep}, which is not defined")]
    DependencyUndefined { jail: JailName, dep: JailName },
    #[error("jail {jail} skipped: it depends on {dep}, which did not {verb}")]
    DependencyFailed { jail: JailName, dep: JailName, verb: Verb },
    #[error("jail {jail}: {}; choose another address", list(taken))]
    AddressesTaken { jail: JailName, taken: Vec<Taken> },
    #[error("jail {jail} already exists ({}); destroy it first", path.display())]
    Exists { jail: JailName, path: PathBuf },
    #[error("a jail named {jail} is already running (jid {jid}), not managed by brig")]
    Unmanaged { jail: JailName, jid: i32 },
    #[error("release {0} is not fetched; run `brig release fetch {0}` first")]
    ReleaseMissing(ReleaseName),
    #[error("this host has no pkgbase keys for {release} in {}: brig checks base packages with the keys the host already trusts and downloads none; they come with the base system of a FreeBSD {} host (or copy them there from one you trust)", dir.display(), crate::model::version::number_of(release.as_str()).0)]
    NoPkgbaseKeys { release: ReleaseName, dir: PathBuf },
    #[error("release {release} has {} taken after its newest level {level}: an update moves the release's snapshots into the updated release, and later ones would be left behind; destroy {} (zfs destroy), then update", list(later), if later.len() == 1 { "it" } else { "them" })]
    SnapshotsAfterLevel { release: ReleaseName, level: String, later: Vec<String> },
    #[error("an update of release {release} did not finish ({dataset} is left); run `brig release update {release}`, which finishes it or takes it back")]
    UpdateInterrupted { release: ReleaseName, dataset: String },
    #[error("release {release} was updated, but its old head {dataset} keeps snapshots of its own: {}; destroy them (zfs destroy), then run `brig release update {release}` to remove it", list(snapshots))]
    RetiredKept { release: ReleaseName, dataset: String, snapshots: Vec<String> },
    #[error("release {release} is newer than this host's kernel ({kernel}): its programs may need system calls the kernel does not have; upgrade the host first, or use a release up to {kernel}")]
    NewerThanKernel { release: ReleaseName, kernel: String },
    #[error("dataset {dataset} already exists without a definition; destroy it with `brig destroy {jail}` first")]
    OrphanDataset { jail: JailName, dataset: String },
    #[error("jail {0} is not running; start it first")]
    NotRunning(JailName),
    #[error("jail {0} has no [health] check; add one to its definition, such as check = \"tcp:80\" under [health]")]
    NoHealth(JailName),
    #[error("another brig supervise is running on this host; stop it first (service brig_supervise stop)")]
    SupervisorRunning,
    #[error("jail {jail} is running (jid {jid}); stop it first, or pass --force to kill its processes and destroy it")]
    Running { jail: JailName, jid: i32 },
    #[error(
        "jail {jail} is in the depends of {}; remove it there first (they could not start without it), or pass --force",
        list(by)
    )]
    DependedOn { jail: JailName, by: Vec<JailName> },
    #[error("{} must restart for changes the running jail cannot take: {}; nothing was changed there; run `brig apply --restart {}`",
        if pending.len() == 1 { "this jail" } else { "these jails" },
        pending.iter().map(|(j, p)| format!("{j} ({})", p.join(", "))).collect::<Vec<_>>().join("; "),
        pending.iter().map(|(j, _)| j.to_string()).collect::<Vec<_>>().join(" "))]
    RestartNeeded { pending: Vec<(JailName, Vec<String>)> },
    #[error("jail {jail}: {cause}")]
    ApplyFailed { jail: JailName, cause: Box<ExecError> },
    #[error("jail {jail}: {cause}; the definition is unchanged")]
    LimitsFailed { jail: JailName, cause: Box<ExecError> },
    #[error("jail {jail}: {resource} is no limit brig knows (an rctl resource, cpus, bandwidth_in or bandwidth_out); `brig limits {jail}` shows the jail's")]
    NoSuchLimit { jail: JailName, resource: String },
    #[error("{editor} exited with status {status}; the definition of {jail} is unchanged")]
    EditorFailed { editor: String, status: i32, jail: JailName },
    #[error("{cause}; the definition is unchanged and your edit is kept in {}", kept.display())]
    EditRejected { cause: Box<Error>, kept: PathBuf },
    #[error("{}: {source}", file.display())]
    NotATable { file: PathBuf, source: NotATable },
    #[error("{manifest} lists no {file}; check --components and the release")]
    NotInManifest { manifest: String, file: String },
    #[error("release {release} is the origin of {}: {}; destroy {} first",
        if jails.len() == 1 { "a jail" } else { "jails" }, list(jails), if jails.len() == 1 { "it" } else { "them" })]
    ReleaseInUse { release: ReleaseName, jails: Vec<String> },
    #[error("release {release} is held or in use and was kept: `zfs holds -r {dataset}` lists holds (`zfs release TAG SNAPSHOT` drops one) and `fstat -f {}` the processes using it; then run this again", files.display())]
    ReleaseBusy { release: ReleaseName, dataset: String, files: PathBuf },
    #[error("started, but not ready after {timeout} s: `{command}` {}",
        status.map_or("was still running and was killed".to_string(), |s| format!("last exited with status {s}")))]
    NotReady { timeout: u32, command: String, status: Option<i32> },
    #[error("{what} has no userland version brig can read in {}; brig reads the USERLAND_VERSION line of /bin/freebsd-version", path.display())]
    NoUserland { what: String, path: PathBuf },
    #[error("jail {jail} is not cloned from or copied from a release brig fetched (type \"empty\", or no release in its definition), so brig cannot upgrade it; upgrade its userland from inside")]
    NotUpgradable { jail: JailName },
    #[error("jail {jail} runs {from}, newer than {to}; brig does not downgrade a jail")]
    Downgrade { jail: JailName, from: String, to: String },
    #[error("release {release} is for {arch} and this host is {machine}: freebsd-update installs the files of the host's own architecture; update it on a {arch} host, or fetch it anew")]
    ForeignArch { release: ReleaseName, arch: String, machine: String },
    #[error("{program} is not on this host: brig runs the host's pkg(8) for jails; install it with `pkg bootstrap`")]
    NoPkg { program: String },
    #[error("jail {jail} is not running, and --packages upgrades its packages with pkg -j, inside it; start it first (with --restart it runs again after the base upgrade)")]
    PackagesNeedRunning { jail: JailName },
    #[error("jail {jail} is running (jid {jid}); stop it first, or pass --restart to stop it around the upgrade and start it after")]
    UpgradeRunning { jail: JailName, jid: i32 },
    #[error("jail {jail} is thick: brig brings a thick jail to its release's newest patch level in place, but does not move it to {release}; create a thin jail of {release} and move its data, or run freebsd-update -b inside it")]
    ThickAcrossReleases { jail: JailName, release: ReleaseName },
    #[error("{tool} failed for {what}: {output}")]
    UpdateFailed { tool: &'static str, what: String, output: String },
    #[error("jail {jail} was left as it was: its changes to {} clash with the new release's; merge them by hand in the jail (or remove them), then upgrade again", files.join(", "))]
    UpgradeConflicts { jail: JailName, files: Vec<String> },
    #[error("jail {jail} was left as it was: its new root says it is {got}, not {want}")]
    UpgradeCheck { jail: JailName, want: String, got: String },
    #[error("jail {jail} has no upgrade to undo: brig keeps the root an upgrade replaced (a thick jail's upgrade snapshot) until the next upgrade")]
    NoUpgradeToUndo { jail: JailName },
    #[error("{}: {source}", root.display())]
    Beneath { root: PathBuf, source: crate::state::beneath::BeneathError },
    #[error("cannot catch Ctrl-C: {0}")]
    Interrupt(std::io::Error),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

/// The failures of a batch that went on past them.
#[derive(Debug)]
pub struct Batch {
    /// What the failed jails did not do; None for definitions that did
    /// not read (the batch handled the others).
    pub verb: Option<Verb>,
    pub total: usize,
    pub failed: Vec<(JailName, Error)>,
}

impl std::error::Error for Batch {}

impl fmt::Display for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line per failure; the CLI puts "brig: " before the first.
        let lines: Vec<String> = self.failed.iter().map(|(_, e)| e.to_string()).collect();
        f.write_str(&lines.join("\nbrig: "))?;
        if let Some(verb) = self.verb {
            let names: Vec<&str> = self.failed.iter().map(|(n, _)| n.as_str()).collect();
            write!(f, "\nbrig: {} of {} jails did not {verb}: {}", self.failed.len(), self.total, names.join(", "))?;
        }
        Ok(())
    }
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// The failure a command that handled `handled` good definitions owes for
/// the broken ones: none without any, a lone jail's own error (and exit
/// code) when it was the only one, else one line per broken definition.
pub fn broken(mut broken: Vec<(JailName, Error)>, handled: usize) -> Option<Error> {
    match broken.len() {
        0 => None,
        1 if handled == 0 => Some(broken.remove(0).1),
        _ => Some(Error::Batch(Batch { verb: None, total: handled + broken.len(), failed: broken })),
    }
}
