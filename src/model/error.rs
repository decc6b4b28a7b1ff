use thiserror::Error;

/// A value that does not pass validation; the message is the whole
/// sentence a user sees.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ModelError {
    #[error("invalid jail name '{name}': {why}")]
    JailName { name: String, why: String },
    #[error("invalid dataset name '{name}': {why}")]
    Dataset { name: String, why: String },
    #[error("invalid release '{name}': {why}")]
    Release { name: String, why: String },
    #[error("unknown architecture '{name}'; FreeBSD publishes releases for {known}")]
    Arch { name: String, known: String },
    #[error("invalid path '{path}': {why}")]
    Path { path: String, why: String },
}
