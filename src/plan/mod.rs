//! Plans: what must happen, in order, to make the machine match what the
//! user asked for. Pure functions of (wanted, observed); printable, and
//! tested as golden values. `exec` carries them out.

mod init;
pub mod jail;
mod op;
pub mod order;
pub mod release;
pub mod run;

pub use init::{init, InitObserved, InitPlanError};
pub use op::Op;
