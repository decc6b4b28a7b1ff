//! `plan` and `apply`: what it takes to make the machine match the
//! definitions, and doing it.

use super::guard::guard;
use super::lifecycle::{dummynet_on, plans, start_alone, stop_one, Surroundings};

use super::select::{load, selected, targets, Names};
use super::{Error, Event, Refused, Report};
use crate::host::Host;
use crate::model::JailName;
use crate::plan::apply::JailPlan;
use crate::state::journal::{self, Action};

/// The comparison of each selected definition with the machine; the
/// definitions that did not read, with why.
pub struct Planned {
    pub plans: Vec<JailPlan>,
    /// Each plan's provision steps (`brig provision` runs them, not apply).
    pub provisions: Vec<Option<super::provision::Preview>>,
    pub broken: Vec<(JailName, Error)>,
}

/// The plans of `names` (every defined jail when none is named). Reads
/// only: no lock, no process.
pub fn plan(host: &dyn Host, names: &[String], report: &dyn Report) -> Result<Planned, Error> {
    let cfg = super::config(host)?;
    let (specs, mut broken) = selected(host, &cfg, &Names::or_all(names), report)?.every_valid();
    let plans = plans(host, &cfg, &specs)?;
    // A jail whose steps cannot be planned (a file missing) is named;
    // the others are planned.
    let mut provisions = Vec::with_capacity(specs.len());
    for s in &specs {
        match s.provision.steps.is_empty() {
            true => provisions.push(None),
            false => match super::provision::preview(host, &cfg, &s.name, false) {
                Ok(p) => provisions.push(p),
                Err(e) => {
                    provisions.push(None);
                    broken.push((s.name.clone(), e));
                }
            },
        }
    }
    Ok(Planned { plans, provisions, broken })
}

/// What an apply did.
pub struct Applied {
    /// Operations performed, a restart counting as one.
    pub changes: usize,
    /// The jails changed: each with the operations performed, or
    /// restarted to take what a running jail cannot.
    pub changed: Vec<ChangedJail>,
    /// What the plans noticed and left alone.
    pub notes: Vec<String>,
    /// How many jails were compared.
    pub jails: usize,
    pub broken: Vec<(JailName, Error)>,
}

/// One jail `apply` changed.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ChangedJail {
    pub name: JailName,
    pub operations: Vec<String>,
    pub restarted: bool,
}

/// Makes the machine match the definitions of `names` (every defined
/// jail when none is named). A jail whose changes need a restart is left
/// untouched unless `restart`, and the apply then fails naming it after
/// the others are done.
pub fn apply(host: &mut dyn Host, names: &[String], restart: bool, report: &dyn Report) -> Result<Applied, Error> {
    let cfg = super::config(host)?;
    // Locked before their definitions are read: what is applied is what
    // the definition says while no other brig can change it.
    let names = Names::or_all(names);
    let targets = targets(host, &names)?;
    let _lock = guard(host, &cfg, &targets.iter().collect::<Vec<_>>(), report)?;
    let (specs, broken) = load(host, &cfg, targets, names.all, report)?.every_valid();
    let plans = plans(host, &cfg, &specs)?;
    let mut changes = 0;
    let mut changed = Vec::new();
    let mut pending: Vec<&JailPlan> = Vec::new();
    for (p, spec) in plans.iter().zip(&specs) {
        if !p.restart.is_empty() {
            // A restart sets everything at once; half of it live first
            // would only be a second interruption.
            if restart {
                dummynet_on(host, std::slice::from_ref(spec))?;
                let around = Surroundings::read(host, &cfg)?;
                stop_one(host, &cfg, &spec.name, Some(spec), &around, false, report)?;
                start_alone(host, &cfg, spec, &specs, report)?;
                changes += 1;
                changed.push(ChangedJail { name: p.name.clone(), operations: Vec::new(), restarted: true });
            } else {
                pending.push(p);
            }
            continue;
        }
        if p.ops.is_empty() {
            continue;
        }
        report.event(&Event::Steps { jail: &p.name, ops: &p.ops });
        let action = if p.provisions { Action::Provision } else { Action::Apply };
        journal::around(host, &p.name, action, |h| {
            crate::exec::run(h, &p.ops)
                .map_err(|e| Error::from(Refused::ApplyFailed { jail: p.name.clone(), cause: Box::new(e) }))
        })?;
        changes += p.ops.len();
        let operations = p.ops.iter().map(ToString::to_string).collect();
        changed.push(ChangedJail { name: p.name.clone(), operations, restarted: false });
    }
    for n in plans.iter().flat_map(|p| p.notes.iter()) {
        report.event(&Event::Note(n));
    }
    if !pending.is_empty() {
        for (jail, error) in &broken {
            report.event(&Event::Broken { jail, error });
        }
        let pending =
            pending.iter().map(|p| (p.name.clone(), p.restart.iter().map(|r| r.param.clone()).collect())).collect();
        return Err(Refused::RestartNeeded { pending }.into());
    }
    let notes = plans.iter().flat_map(|p| p.notes.iter().map(ToString::to_string)).collect();
    Ok(Applied { changes, changed, notes, jails: plans.len(), broken })
}
