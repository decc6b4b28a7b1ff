//! dummynet(4) on the simulated machine: pipes by number with their
//! bandwidth, made, changed and deleted as ip_dummynet.c does, and only
//! while the module is loaded (`modules` of sim.toml has "dummynet").

use nix::errno::Errno;

use super::config::SimConfig;
use super::jail::Refusal;
use super::state::State;

/// Without dummynet.ko, rip_ctloutput (raw_ip.c) answers IP_DUMMYNET3
/// with ENOPROTOOPT, both ways.
fn loaded(cfg: &SimConfig) -> Result<(), Refusal> {
    if cfg.modules.iter().any(|m| m == "dummynet") {
        Ok(())
    } else {
        Err((Errno::ENOPROTOOPT, "setsockopt(IP_DUMMYNET_CONFIGURE): Protocol not available".into()))
    }
}

/// `dnctl pipe N config bw B`: config_link refuses link 0 (and none past
/// DN_MAX_ID, which a u16 cannot name) with EINVAL, dnctl's
/// read_bandwidth a bandwidth past its `int`; an existing pipe is
/// reconfigured in place.
pub fn config(st: &mut State, cfg: &SimConfig, pipe: u16, bandwidth: u32) -> Result<(), Refusal> {
    loaded(cfg)?;
    if pipe == 0 {
        return Err((Errno::EINVAL, "need a pipe/flowset/sched number".into()));
    }
    if bandwidth > crate::model::limits::MAX_BANDWIDTH {
        return Err((Errno::EINVAL, "bandwidth too large".into()));
    }
    st.dn_pipes.insert(pipe, bandwidth);
    Ok(())
}

/// `dnctl pipe N delete`: delete_schk answers EINVAL for a pipe dummynet
/// does not have.
pub fn delete(st: &mut State, cfg: &SimConfig, pipe: u16) -> Result<(), Refusal> {
    loaded(cfg)?;
    st.dn_pipes.remove(&pipe).map(|_| ()).ok_or((Errno::EINVAL, format!("pipe {pipe}: no such pipe")))
}

pub fn list(st: &State, cfg: &SimConfig) -> Result<Vec<(u16, u32)>, Refusal> {
    loaded(cfg)?;
    Ok(st.dn_pipes.iter().map(|(p, b)| (*p, *b)).collect())
}
