//! pf on the simulated machine: each anchor's rules, loaded whole or not
//! at all, as pfctl(8) loads an anchor in one DIOCXBEGIN..DIOCXCOMMIT
//! transaction (pfctl_rules); read with the grammar of `kernel::pf`, so
//! a rule pfctl would refuse is refused here with its message.

use nix::errno::Errno;

use super::jail::Refusal;
use super::state::State;
use crate::kernel::pf;

fn no(errno: Errno, msg: impl Into<String>) -> Refusal {
    (errno, msg.into())
}

/// An anchor path as pf keeps it: names of up to 63 characters
/// (PF_ANCHOR_NAME_SIZE 64) joined by '/', at most MAXPATHLEN.
fn check_anchor(anchor: &str) -> Result<(), Refusal> {
    let ok = !anchor.is_empty()
        && anchor.len() < 1024
        && anchor.split('/').all(|n| !n.is_empty() && n.len() < 64 && !n.contains(char::is_whitespace));
    if ok {
        Ok(())
    } else {
        Err(no(Errno::EINVAL, format!("{anchor}: not an anchor name")))
    }
}

/// `pfctl -a ANCHOR -f -`: EINVAL with pfctl's `stdin:LINE: syntax
/// error` for a rule it would not take, and then nothing changes. An
/// anchor left empty is removed (pf_remove_if_empty_ruleset).
pub fn load(st: &mut State, anchor: &str, rules: &str) -> Result<(), Refusal> {
    check_anchor(anchor)?;
    pf::parse(rules).map_err(|e| no(Errno::EINVAL, e.to_string()))?;
    if rules.trim().is_empty() {
        st.pf_anchors.remove(anchor);
    } else {
        st.pf_anchors.insert(anchor.to_string(), rules.to_string());
    }
    Ok(())
}

/// `pfctl -a ANCHOR -sn -sr`: EINVAL for an anchor pf does not have
/// (DIOCGETRULES finds no ruleset).
pub fn rules(st: &State, anchor: &str) -> Result<String, Refusal> {
    check_anchor(anchor)?;
    st.pf_anchors.get(anchor).cloned().ok_or_else(|| no(Errno::EINVAL, format!("anchor {anchor} does not exist")))
}
