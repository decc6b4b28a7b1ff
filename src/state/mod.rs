//! brig's own state and the safe file access it is kept with: where each
//! file lives (`layout`), locks between brig processes (`lock`), the
//! journal of unfinished commands (`journal`), atomic replacement
//! (`atomic`), bounded reads (`bounded`) and operations confined beneath
//! a directory that never follow a symlink (`beneath`).

pub mod archive;
pub mod atomic;
pub mod beneath;
pub mod bounded;
pub mod consolelog;
pub mod events;
pub mod journal;
pub mod keys;
pub mod layout;
pub mod lock;
pub mod usage;
