//! Files: the host config (`brig.toml`) and, later, jail definitions. The
//! only module that reads or writes TOML; every write is atomic.

pub mod atomic;
