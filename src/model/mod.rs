//! Typed, validated values: names that are safe to put into a path, a
//! dataset name or a syscall. Pure: nothing here touches the host.

pub mod dataset;
pub mod error;
pub mod name;
pub mod param;
pub mod release;

pub use dataset::DatasetName;
pub use error::ModelError;
pub use name::JailName;
pub use release::{Arch, ReleaseName};
