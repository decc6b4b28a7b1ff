use thiserror::Error;

use super::quoted;

/// A value that does not pass validation; the message is the whole
/// sentence a user sees.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ModelError {
    #[error("invalid jail name {}: {why}", quoted(.name))]
    JailName { name: String, why: String },
    #[error("invalid dataset name {}: {why}", quoted(.name))]
    Dataset { name: String, why: String },
    #[error("invalid release {}: {why}", quoted(.name))]
    Release { name: String, why: String },
    #[error("unknown architecture {}; FreeBSD publishes releases for {known}", quoted(.name))]
    Arch { name: String, known: String },
    #[error("invalid snapshot name {}: {why}", quoted(.name))]
    Snapshot { name: String, why: String },
    #[error("invalid path {}: {why}", quoted(.path))]
    Path { path: String, why: String },
}
