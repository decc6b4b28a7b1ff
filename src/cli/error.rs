//! Errors as the user meets them: one sentence and an exit code.
//! 0 ok, 1 the operation failed, 2 usage or invalid input/definition,
//! 3 nothing to do or not found (where a command says so).

use thiserror::Error;

use crate::config::ConfigError;
use crate::exec::ExecError;
use crate::host::HostError;
use crate::model::ModelError;
use crate::plan::InitPlanError;

#[derive(Debug, Error)]
pub enum CliError {
    /// Bad command line or a request that cannot be honoured as asked.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Host(#[from] HostError),
    /// Boxed: a failed plan carries its step, cause and undo failures.
    #[error(transparent)]
    Exec(Box<ExecError>),
    #[error(transparent)]
    InitPlan(#[from] InitPlanError),
    #[error(transparent)]
    Release(#[from] crate::release::ReleaseError),
    /// An operation that failed for a reason the sentence explains.
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Lock(#[from] crate::state::lock::LockError),
    #[error(transparent)]
    Journal(#[from] crate::state::journal::JournalError),
    /// What the command was asked about does not exist.
    #[error("{0}")]
    NotFound(String),
}

impl From<ExecError> for CliError {
    fn from(e: ExecError) -> CliError {
        CliError::Exec(Box::new(e))
    }
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::Config(_) | CliError::Model(_) => 2,
            CliError::Host(_)
            | CliError::Exec(_)
            | CliError::InitPlan(_)
            | CliError::Release(_)
            | CliError::Lock(_)
            | CliError::Journal(_)
            | CliError::Failed(_) => 1,
            CliError::NotFound(_) => 3,
        }
    }
}
