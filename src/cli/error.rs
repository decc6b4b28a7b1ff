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
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    InitPlan(#[from] InitPlanError),
    /// An operation that failed for a reason the sentence explains.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::Config(_) | CliError::Model(_) => 2,
            CliError::Host(_) | CliError::Exec(_) | CliError::InitPlan(_) | CliError::Failed(_) => 1,
        }
    }
}
