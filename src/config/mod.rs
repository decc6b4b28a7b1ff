//! Files: the host config (`brig.toml`) and, later, jail definitions. The
//! only module that reads or writes TOML; every write is atomic.

pub mod atomic;
mod error;
pub mod host;
pub mod jail;

pub use error::{line_col, ConfigError};
pub use host::HostConfig;
