//! Errors as the user meets them: one sentence and an exit code.
//! 0 ok, 1 the operation failed, 2 usage or invalid input/definition,
//! 3 nothing to do or not found (where a command says so).

use thiserror::Error;

use crate::app;
use crate::config::templates::TemplateError;

#[derive(Debug, Error)]
pub enum CliError {
    /// A command line that cannot be honoured as written.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    App(#[from] app::Error),
    #[error("cannot encode JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Any failure, where the exit codes other than 1 mean something
    /// else (`plan --detailed-exitcode`).
    #[error(transparent)]
    Failed(Box<CliError>),
}

impl From<crate::model::ModelError> for CliError {
    fn from(e: crate::model::ModelError) -> CliError {
        CliError::App(e.into())
    }
}

impl From<crate::host::HostError> for CliError {
    fn from(e: crate::host::HostError) -> CliError {
        CliError::App(e.into())
    }
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::App(e) => app_exit_code(e),
            CliError::Json(_) | CliError::Failed(_) => 1,
        }
    }
}

/// Invalid input is 2, something missing 3, every other failure 1.
fn app_exit_code(e: &app::Error) -> u8 {
    match e {
        app::Error::Usage(_) | app::Error::Config(_) | app::Error::Model(_) => 2,
        app::Error::Template(TemplateError::Unknown(_)) | app::Error::NotFound(_) => 3,
        app::Error::Template(_) => 2,
        _ => 1,
    }
}
