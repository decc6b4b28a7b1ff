//! Which jails a command works on, and their definitions. One broken
//! definition never keeps the others from being handled.

use super::{Error, Event, NotFound, Report};
use crate::config::{jail, ConfigError, HostConfig};
use crate::host::Host;
use crate::model::jail::JailSpec;
use crate::model::JailName;
use crate::plan::order::{order_what_can_start, Cycle};

/// The jails a command is asked about: the names given, or every defined
/// jail with `all`.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub names: Vec<String>,
    pub all: bool,
}

impl Names {
    /// The names given, or every jail when none is.
    pub fn or_all(names: &[String]) -> Names {
        Names { names: names.to_vec(), all: names.is_empty() }
    }
}

/// The valid definitions in start order, those that cannot be ordered
/// (in a dependency cycle or behind one), and the jails whose definition
/// does not read, each with why.
pub struct Selection {
    pub specs: Vec<JailSpec>,
    pub cyclic: Vec<JailSpec>,
    /// The cycle that keeps `cyclic` from an order.
    pub cycle: Option<Cycle>,
    pub broken: Vec<(JailName, Error)>,
}

impl Selection {
    /// Every valid definition, for a command to which order does not
    /// matter (plan, apply, audit), and the broken ones.
    pub fn every_valid(self) -> (Vec<JailSpec>, Vec<(JailName, Error)>) {
        let mut specs = self.specs;
        specs.extend(self.cyclic);
        (specs, self.broken)
    }

    /// The definitions that can start, in order; the cyclic ones join the
    /// broken, each failing with the cycle, so the others still start.
    pub fn startable(self) -> (Vec<JailSpec>, Vec<(JailName, Error)>) {
        let mut broken = self.broken;
        if let Some(cycle) = self.cycle {
            broken.extend(self.cyclic.into_iter().map(|s| (s.name, Error::Cycle(cycle.clone()))));
        }
        (self.specs, broken)
    }

    /// The definitions that can start, for commands that need every one
    /// they were given: the others as the error (a single named jail
    /// keeps its own error).
    pub fn require_all(self) -> Result<Vec<JailSpec>, Error> {
        let (specs, broken) = self.startable();
        match super::broken(broken, specs.len()) {
            None => Ok(specs),
            Some(e) => Err(e),
        }
    }
}

/// The jails a batch names (every defined one with `all`; a name given
/// twice counts once). Only names: a command locks them before it reads
/// their definitions (`load`), so it never acts on a definition another
/// brig changed or removed meanwhile.
pub fn targets(host: &dyn Host, names: &Names) -> Result<Vec<JailName>, Error> {
    if names.all {
        let files = jail::definition_files(host)?;
        let mut v: Vec<JailName> = files.iter().filter_map(|p| jail::name_of(p)).collect();
        v.sort();
        return Ok(v);
    }
    let mut v: Vec<JailName> = Vec::new();
    for n in &names.names {
        let n = JailName::parse(n)?;
        if !v.contains(&n) {
            v.push(n);
        }
    }
    Ok(v)
}

/// The definitions of `names`, validated, in start order. With `all`, a
/// jail whose definition went away since it was listed (destroyed by
/// another brig) is skipped and reported; a named one is an error,
/// unless it still runs from a start record (a stop follows that).
pub fn load(
    host: &dyn Host,
    cfg: &HostConfig,
    names: Vec<JailName>,
    all: bool,
    report: &dyn Report,
) -> Result<Selection, Error> {
    let mut specs = Vec::new();
    let mut broken = Vec::new();
    for name in names {
        match defined(host, cfg, &name) {
            Ok(spec) => specs.push(spec),
            Err(Error::NotFound(_)) => {
                if super::observe::started(host, &name).is_some() {
                    // Deleted while it runs: a stop still follows its record.
                    broken.push((name.clone(), NotFound::Jail(name).into()));
                } else if all {
                    report.event(&Event::Vanished { jail: &name });
                } else {
                    return Err(NotFound::Jail(name).into());
                }
            }
            Err(e) => broken.push((name, e)),
        }
    }
    let refs: Vec<&JailSpec> = specs.iter().collect();
    let (order, stuck) = order_what_can_start(&refs);
    let cycle = (!stuck.is_empty()).then(|| Cycle::of(&refs, &stuck));
    let mut sorted: Vec<Option<JailSpec>> = specs.into_iter().map(Some).collect();
    let specs = order.into_iter().filter_map(|i| sorted[i].take()).collect();
    let cyclic = stuck.into_iter().filter_map(|i| sorted[i].take()).collect();
    Ok(Selection { specs, cyclic, cycle, broken })
}

/// Jail `name`'s definition, read and validated; a definition that is not
/// there is the jail not being defined.
pub fn defined(host: &dyn Host, cfg: &HostConfig, name: &JailName) -> Result<JailSpec, Error> {
    match jail::load_defined(host, name, cfg) {
        Err(ConfigError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Err(NotFound::Jail(name.clone()).into())
        }
        other => Ok(other?),
    }
}

/// `targets` and `load` at once, for a command that changes nothing.
pub fn selected(host: &dyn Host, cfg: &HostConfig, names: &Names, report: &dyn Report) -> Result<Selection, Error> {
    load(host, cfg, targets(host, names)?, names.all, report)
}

/// Every valid definition, and each jail whose definition does not read
/// with why.
pub fn every(host: &dyn Host, cfg: &HostConfig) -> (Vec<JailSpec>, Vec<(JailName, Error)>) {
    let mut specs = Vec::new();
    let mut invalid = Vec::new();
    for path in jail::definition_files(host).unwrap_or_default() {
        let Some(name) = jail::name_of(&path) else { continue };
        match jail::load_defined(host, &name, cfg) {
            Ok(s) => specs.push(s),
            Err(e) => invalid.push((name, e.into())),
        }
    }
    (specs, invalid)
}
