//! rctl rules and the CPUs a jail may use.

use super::{running_jid, StepError};
use crate::host::Host;
use crate::kernel::rctl_rules::Rule;
use crate::model::JailName;

/// How a limits step is taken back.
pub(super) enum Undo {
    RemoveRule(Rule),
    AddRule(Rule),
    PinCpus(i32, Vec<u32>),
}

pub(super) fn undo(host: &mut dyn Host, u: Undo) -> Result<(), StepError> {
    match u {
        Undo::RemoveRule(rule) => host.rctl_remove(rule.as_str())?,
        Undo::AddRule(rule) => host.rctl_add(rule.as_str())?,
        Undo::PinCpus(jid, cpus) => host.cpuset_set(jid, &cpus)?,
    }
    Ok(())
}

pub(super) fn add_rule(host: &mut dyn Host, rule: &Rule) -> Result<Undo, StepError> {
    host.rctl_add(rule.as_str())?;
    Ok(Undo::RemoveRule(rule.clone()))
}

pub(super) fn remove_rule(host: &mut dyn Host, rule: &Rule) -> Result<Undo, StepError> {
    host.rctl_remove(rule.as_str())?;
    Ok(Undo::AddRule(rule.clone()))
}

pub(super) fn pin_cpus(host: &mut dyn Host, jail: &JailName, cpus: &[u32]) -> Result<Undo, StepError> {
    let jid = running_jid(host, jail)?;
    let old = host.cpuset_get(jid)?;
    host.cpuset_set(jid, cpus)?;
    Ok(Undo::PinCpus(jid, old))
}
