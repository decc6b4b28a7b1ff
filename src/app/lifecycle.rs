//! What happens to one jail: started, stopped, taken down whole, or
//! compared with its definition. The batch commands (`run`, `apply`,
//! `destroy`, `boot`) and crash recovery (`guard`) are built from these;
//! the caller holds the jail's lock.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

use super::{observe, Error, Event, Refused, Report};
use crate::config::HostConfig;
use crate::host::{Errno, GetFlags, Host, Interface, JailKey, LiveJail, MountEntry};
use crate::kernel::params::KernelParams;
use crate::model::jail::JailSpec;
use crate::model::JailName;
use crate::plan::addresses::AddressBook;
use crate::plan::apply::{self as apply_plan, JailPlan, Note, Running, Seen};
use crate::plan::dummynet::Pipes;
use crate::plan::jail::{self as jail_plan, DestroySeen};
use crate::plan::run::{self as run_plan, Started, StopSeen};
use crate::state::journal::{self, Action};
use crate::state::layout::definition_path;

/// Whether a start applies its jails' rctl rules: always when racct is on;
/// when it is off, only refused for jails that have rules, unless the user
/// accepted starting them without (`no_limits`).
pub fn limits_on(host: &dyn Host, specs: &[JailSpec], no_limits: bool, report: &dyn Report) -> Result<bool, Error> {
    let Some(first) = specs.iter().find(|s| !s.limits.rules.is_empty()) else { return Ok(true) };
    let racct = match host.sysctl_get("kern.racct.enable") {
        Ok(v) => v.as_int().unwrap_or(0) != 0,
        Err(e) if e.errno == Errno::ENOENT => false,
        Err(e) => return Err(e.into()),
    };
    if racct {
        return Ok(true);
    }
    if no_limits {
        report.event(&Event::StartingWithoutLimits);
        return Ok(false);
    }
    Err(Refused::RacctOff { jail: first.name.clone() }.into())
}

/// Warns, once for a batch, when jails with a firewall are about to start
/// on a host whose pf would not evaluate their rules: not enabled, or
/// pf.conf without brig's anchors. Their rules load all the same (the
/// administrator may fix pf.conf next), but silently inert rules would be
/// worse than none. A host without pf refuses at the first load.
pub fn warn_inert_firewalls(host: &dyn Host, specs: &[JailSpec], dry_run: bool, report: &dyn Report) {
    if dry_run || specs.iter().all(|s| s.firewall.is_none() && s.shaping().is_none()) {
        return;
    }
    let Ok(status) = host.pf_status() else { return };
    let check = super::doctor::pf_check(&Some(Ok(status)));
    if check.status != super::doctor::Status::Pass {
        report.event(&Event::FirewallInert { why: &check.detail, fix: &check.fix });
    }
}

/// The parameters of `specs` this kernel knows, read once for a batch.
pub fn known_params(host: &dyn Host, specs: &[JailSpec]) -> Result<KernelParams, Error> {
    Ok(observe::known_params(host, specs.iter().flat_map(JailSpec::kernel_param_names))?)
}

/// What a start needs besides the definition, read once for a batch.
pub struct StartContext<'a> {
    pub known: &'a KernelParams,
    /// Who has which address and which dummynet pipe (`Books::read`).
    pub books: &'a Books,
    /// Apply rctl rules (`limits_on`).
    pub limits: bool,
    /// The jails starting in the same batch: a dependency among them
    /// starts first and need not run yet.
    pub batch: &'a [JailSpec],
    pub dry_run: bool,
}

/// Starts one jail whose lock the caller holds, reading what a start
/// needs for it alone; the jails of `batch` count as starting with it.
pub fn start_alone(
    host: &mut dyn Host,
    cfg: &HostConfig,
    spec: &JailSpec,
    batch: &[JailSpec],
    report: &dyn Report,
) -> Result<(), Error> {
    let one = std::slice::from_ref(spec);
    dummynet_on(host, one)?;
    let known = known_params(host, one)?;
    let limits = limits_on(host, one, false, report)?;
    let books = Books::read(host, one, false)?;
    let ctx = StartContext { known: &known, books: &books, limits, batch, dry_run: false };
    start_one(host, cfg, spec, &ctx, report)
}

/// Starts `spec` in jail(8)'s order; a jail already running from brig's
/// start is left as it is.
pub fn start_one(
    host: &mut dyn Host,
    cfg: &HostConfig,
    spec: &JailSpec,
    ctx: &StartContext,
    report: &dyn Report,
) -> Result<(), Error> {
    let jail = &spec.name;
    if let Some(j) = host.jail_find(jail.as_str())? {
        if let Some(foreign) = observe::foreign(host, cfg, jail, &j) {
            return Err(foreign.into());
        }
        report.event(&Event::AlreadyRunning { jail, jid: j.jid });
        return Ok(());
    }
    for dep in &spec.depends {
        let in_batch = ctx.batch.iter().any(|s| &s.name == dep);
        if !in_batch && host.jail_find(dep.as_str())?.is_none() {
            return Err(Refused::DependencyDown { jail: jail.clone(), dep: dep.clone() }.into());
        }
    }
    let record = observe::started(host, jail);
    if !ctx.dry_run {
        dummynet_on(host, std::slice::from_ref(spec))?;
    }
    let pipes = match spec.shaping() {
        Some(_) => {
            let mut book = ctx.books.pipes.lock().unwrap_or_else(PoisonError::into_inner);
            // The pipes a start that did not finish took are this one's
            // again once the stop below has deleted them; unless another
            // jail's record names them, which made them meanwhile.
            let left = record.as_ref().and_then(|r| r.firewall.as_ref()).and_then(|f| f.shaping).map(|s| s.pipes);
            let left = left.filter(|p| !book.named_by_another(*p, jail));
            Some(left.or_else(|| book.take()).ok_or_else(|| Refused::NoPipes {
                jail: jail.clone(),
                first: crate::plan::dummynet::FIRST,
                last: crate::plan::dummynet::LAST,
            })?)
        }
        None => None,
    };
    let ops = run_plan::start(cfg, spec, ctx.known, run_plan::How { limits: ctx.limits, pipes })?;
    if ctx.dry_run {
        report.event(&Event::Steps { jail, ops: &ops });
        return Ok(());
    }
    refuse_taken(&ctx.books.addresses.lock().unwrap_or_else(PoisonError::into_inner), spec, record.as_ref())?;
    // A record of a start while the jail is not running: a stop failed
    // half-way and left some of what the start set up (its aliases among
    // them, which the start would otherwise see as someone else's).
    if record.is_some() {
        let around = Surroundings::read(host, cfg)?;
        stop_one(host, cfg, jail, Some(spec), &around, false, report)?;
    }
    journal::around(host, jail, Action::Start, |h| crate::exec::run(h, &ops).map_err(Error::from))?;
    ctx.books.addresses.lock().unwrap_or_else(PoisonError::into_inner).started(spec);
    // The jail is up; a failure to read its jid back is not a failed start.
    let jid = host.jail_find(jail.as_str()).ok().flatten().map(|j| j.jid);
    report.event(&Event::Started { jail, jid });
    // Started: a start the supervisor owed it is made. The jail runs
    // whatever this says.
    if let Err(e) = super::health::forgive(host, jail) {
        report.event(&Event::Failed { jail, error: &super::health::watch_error(host, jail, &e) });
    }
    Ok(())
}

/// What a batch of starts reads once and keeps up to date as its jails
/// start: who has which address, which dummynet pipes are taken. Locked,
/// since a boot wave starts jails side by side.
#[derive(Default)]
pub struct Books {
    pub addresses: Mutex<AddressBook>,
    pub pipes: Mutex<PipeBook>,
}

impl Books {
    /// Each read only when one of `specs` needs it; a dry run asks neither
    /// the interfaces nor dummynet (it changes nothing, and spawns
    /// nothing).
    pub fn read(host: &dyn Host, specs: &[JailSpec], dry_run: bool) -> Result<Books, Error> {
        Ok(Books {
            addresses: Mutex::new(address_book(host, specs, dry_run)?),
            pipes: Mutex::new(pipe_book(host, specs, dry_run)?),
        })
    }
}

/// Who has which address on the machine; only read when one of `specs`
/// has addresses.
fn address_book(host: &dyn Host, specs: &[JailSpec], dry_run: bool) -> Result<AddressBook, Error> {
    let needed = !dry_run && specs.iter().any(|s| !crate::plan::addresses::of(s).is_empty());
    Ok(if needed { AddressBook::new(&host.interfaces()?, &host.jail_list()?, &[]) } else { AddressBook::default() })
}

/// The dummynet pipes taken on the machine: the host's (ipfw's and
/// dnctl's among them) and those brig's start records name, read once for
/// a batch of starts, and the pipes its jails take as they start.
#[derive(Debug, Default)]
pub struct PipeBook {
    taken: BTreeSet<u16>,
    /// Which jails' records name each pipe.
    named: BTreeMap<u16, Vec<JailName>>,
}

impl PipeBook {
    /// Two free pipes for a jail, from now on taken.
    pub fn take(&mut self) -> Option<Pipes> {
        let p = Pipes::first_free(&self.taken)?;
        self.taken.extend(p.both());
        Some(p)
    }

    /// Whether a record other than `jail`'s names one of `pipes`.
    fn named_by_another(&self, pipes: Pipes, jail: &JailName) -> bool {
        pipes.both().iter().any(|p| self.named.get(p).is_some_and(|names| names.iter().any(|n| n != jail)))
    }
}

/// The pipe book of a batch; only read when one of `specs` has bandwidth
/// limits.
pub fn pipe_book(host: &dyn Host, specs: &[JailSpec], dry_run: bool) -> Result<PipeBook, Error> {
    let mut book = PipeBook::default();
    if !specs.iter().any(|s| s.shaping().is_some()) {
        return Ok(book);
    }
    let dir = std::path::Path::new(crate::state::layout::STARTED_DIR);
    let records =
        crate::exec::recorded_pipes(host).map_err(|e| crate::config::ConfigError::io(host.local_path(dir), e))?;
    for (name, pipes) in records {
        for p in pipes.both() {
            book.taken.insert(p);
            book.named.entry(p).or_default().push(name.clone());
        }
    }
    if !dry_run {
        match host.dn_pipes() {
            Ok(pipes) => book.taken.extend(pipes.into_iter().map(|(p, _)| p)),
            // No dummynet, no pipes: `dummynet_on` refused already.
            Err(e) if e.errno == Errno::ENOPROTOOPT => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(book)
}

/// Refuses a batch with bandwidth limits on a host without dummynet.ko,
/// before anything stops or starts.
pub fn dummynet_on(host: &dyn Host, specs: &[JailSpec]) -> Result<(), Error> {
    let Some(first) = specs.iter().find(|s| s.shaping().is_some()) else { return Ok(()) };
    match host.sysctl_get(crate::kernel::dummynet::LOADED_SYSCTL) {
        Ok(_) => Ok(()),
        Err(e) if e.errno == Errno::ENOENT => Err(Refused::NoDummynet { jail: first.name.clone() }.into()),
        Err(e) => Err(e.into()),
    }
}

/// Refuses addresses of `spec` that are somebody else's in `book`: the
/// host's own, a running jail's or a definition's, naming who; the
/// aliases `record` (its start record) lists are its own wherever they
/// are. (At start, exec's own check refuses too, but knows only
/// interfaces.)
pub fn refuse_taken(book: &AddressBook, spec: &JailSpec, record: Option<&Started>) -> Result<(), Error> {
    let mine = crate::plan::addresses::of(spec);
    if mine.is_empty() {
        return Ok(());
    }
    let own: Vec<std::net::IpAddr> =
        record.map(|s| s.aliases.iter().map(|a| a.addr.addr()).collect()).unwrap_or_default();
    let taken = book.taken(&spec.name, &mine, &own);
    if taken.is_empty() {
        return Ok(());
    }
    Err(Refused::AddressesTaken { jail: spec.name.clone(), taken }.into())
}

/// The mounts, interfaces and jail rctl rules of the machine, read once
/// for a batch of stops: each stop only touches its own root, aliases and
/// rules.
pub struct Surroundings {
    /// By jail name (plan::run::mounts_by_jail).
    pub mounts: HashMap<String, Vec<MountEntry>>,
    pub interfaces: Vec<Interface>,
    pub rules: Vec<crate::kernel::rctl_rules::Rule>,
}

impl Surroundings {
    pub fn read(host: &dyn Host, cfg: &HostConfig) -> Result<Surroundings, Error> {
        Ok(Surroundings {
            mounts: run_plan::mounts_by_jail(cfg, &host.mounts()?),
            interfaces: host.interfaces()?,
            rules: observe::rctl_rules(host, "jail:")?.unwrap_or_default(),
        })
    }
}

/// A jail as a stop or a removal finds it: running, else perhaps still
/// dying (jail_get with JAIL_DYING), and the record of its start.
struct Found {
    running: Option<LiveJail>,
    dying: Option<LiveJail>,
    started: Option<Started>,
}

impl Found {
    fn read(host: &dyn Host, name: &JailName) -> Result<Found, Error> {
        let running = host.jail_find(name.as_str())?;
        let dying = match running {
            Some(_) => None,
            None => observe::dying(host, name.as_str())?,
        };
        Ok(Found { running, dying, started: observe::started(host, name) })
    }
}

/// Stops jail `name`, following its definition, or without one that
/// reads (`spec` None) the record of its start.
pub fn stop_one(
    host: &mut dyn Host,
    cfg: &HostConfig,
    name: &JailName,
    spec: Option<&JailSpec>,
    around: &Surroundings,
    dry_run: bool,
    report: &dyn Report,
) -> Result<(), Error> {
    stop_journaled(host, cfg, name, spec, around, dry_run, Some(Action::Stop), report)
}

/// `stop_one` for a caller whose own journal entry covers the stop (its
/// recovery finishes the stop, then does more).
pub fn stop_under_entry(
    host: &mut dyn Host,
    cfg: &HostConfig,
    name: &JailName,
    spec: Option<&JailSpec>,
    around: &Surroundings,
    report: &dyn Report,
) -> Result<(), Error> {
    stop_journaled(host, cfg, name, spec, around, false, None, report)
}

#[allow(clippy::too_many_arguments)]
fn stop_journaled(
    host: &mut dyn Host,
    cfg: &HostConfig,
    name: &JailName,
    spec: Option<&JailSpec>,
    around: &Surroundings,
    dry_run: bool,
    entry: Option<Action>,
    report: &dyn Report,
) -> Result<(), Error> {
    let Found { running, dying, started } = Found::read(host, name)?;
    if let Some(foreign) = running.as_ref().and_then(|j| observe::foreign(host, cfg, name, j)) {
        return Err(foreign.into());
    }
    let seen = StopSeen {
        running: running.as_ref(),
        dying: dying.as_ref(),
        started: started.as_ref(),
        rules: &around.rules,
        mounts: around.mounts.get(name.as_str()).map_or(&[], Vec::as_slice),
        interfaces: &around.interfaces,
    };
    let ops = run_plan::stop(cfg, name, spec, &seen);
    if ops.is_empty() {
        report.event(&Event::NotRunning { jail: name });
        return Ok(());
    }
    if spec.is_none() {
        report.event(&Event::StoppingAsStarted { jail: name });
    }
    if dry_run {
        report.event(&Event::Steps { jail: name, ops: &ops });
        return Ok(());
    }
    match entry {
        Some(action) => {
            journal::around(host, name, action, |h| crate::exec::run(h, &ops).map_err(Error::from))?;
        }
        None => {
            crate::exec::run(host, &ops)?;
        }
    }
    if running.is_some() {
        report.event(&Event::Stopped { jail: name });
    } else {
        report.event(&Event::CleanedUp { jail: name });
    }
    Ok(())
}

/// Takes down everything of a jail, running or not: the jail, its
/// mounts, aliases, rules, datasets, records, and with `definition` its
/// definition too (what destroy does, and how an interrupted create is
/// taken back; without it, how an interrupted provisioning apply is).
pub fn remove(host: &mut dyn Host, cfg: &HostConfig, name: &JailName, definition: bool) -> Result<(), Error> {
    let Found { running, dying, started } = Found::read(host, name)?;
    let around = Surroundings::read(host, cfg)?;
    let seen = DestroySeen {
        dying: dying.as_ref(),
        rules: &around.rules,
        started: started.as_ref(),
        running: running.as_ref(),
        mounts: around.mounts.get(name.as_str()).map_or(&[], Vec::as_slice),
        interfaces: &around.interfaces,
        dataset_exists: observe::dataset_exists(host, jail_plan::dataset(cfg, name).as_str())?,
        definition_exists: definition && host.exists(&definition_path(name)),
    };
    crate::exec::run(host, &jail_plan::destroy(cfg, name, &seen))?;
    Ok(())
}

/// What it takes to make the machine match `specs`, from one read of the
/// machine plus one jail_get per running jail: no process is spawned.
pub fn plans(host: &dyn Host, cfg: &HostConfig, specs: &[JailSpec]) -> Result<Vec<JailPlan>, Error> {
    let seen = observe::machine(host, cfg)?;
    // A running jail brig did not start is left alone: planned as if it
    // were not running, with a note saying why.
    let foreign: BTreeMap<&str, crate::plan::jail::Foreign> = specs
        .iter()
        .filter_map(|s| {
            let j = seen.jails.get(s.name.as_str())?;
            Some((s.name.as_str(), observe::foreign(host, cfg, &s.name, j)?))
        })
        .collect();
    let up = |s: &JailSpec| seen.jails.get(s.name.as_str()).filter(|_| !foreign.contains_key(s.name.as_str()));
    let known =
        observe::known_params(host, specs.iter().filter(|s| up(s).is_some()).flat_map(JailSpec::kernel_param_names))?;
    let rules = observe::rctl_rules(host, "jail:")?;
    let ncpu = host.sysctl_get("hw.ncpu")?.as_int().and_then(|n| u32::try_from(n).ok()).unwrap_or(1);
    let mounts = run_plan::mounts_by_jail(cfg, &seen.mounts);
    let mut out = Vec::new();
    for spec in specs {
        let started = observe::started(host, &spec.name);
        let (wanted, live, cpus) = match up(spec) {
            Some(j) => {
                let wanted = run_plan::jail_params(cfg, spec, &known)?;
                let names: Vec<&str> = wanted.iter().map(|p| p.name.as_str()).filter(|n| *n != "name").collect();
                let live = host.jail_get(&JailKey::Jid(j.jid), &names, GetFlags::ALIVE)?;
                (wanted, live, host.cpuset_get(j.jid)?)
            }
            None => (Vec::new(), Vec::new(), Vec::new()),
        };
        let running =
            up(spec).map(|jail| Running { jail, wanted: &wanted, live: &live, started: started.as_ref(), cpus: &cpus });
        let view = Seen {
            datasets: &seen.datasets,
            rules: rules.as_deref(),
            ncpu,
            mounts: mounts.get(spec.name.as_str()).map_or(&[], Vec::as_slice),
            interfaces: &seen.interfaces,
            running,
        };
        let mut p = apply_plan::jail(cfg, spec, &view)?;
        p.notes.extend(foreign.get(spec.name.as_str()).cloned().map(Note::NotBrigs));
        out.push(p);
    }
    Ok(out)
}
