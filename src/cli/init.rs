//! `brig init`.

use std::process::ExitCode;

use clap::Args;

use super::CliError;
use crate::app::init::{init, InitRequest, Initialised};
use crate::host::Host;
use crate::state::layout::CONFIG_PATH;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Root dataset for releases and jails [default: zroot/brig, or the configured one].
    #[arg(long, value_name = "POOL/brig")]
    pub dataset: Option<String>,
    /// Where the root dataset is mounted [default: /usr/local/brig, or the configured one].
    #[arg(long, value_name = "PATH")]
    pub mountpoint: Option<String>,
    /// Replace an existing configuration that differs, and move the root dataset if needed.
    #[arg(long)]
    pub force: bool,
    /// Print the steps without doing them.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(host: &mut dyn Host, args: &InitArgs) -> Result<ExitCode, CliError> {
    let req = InitRequest {
        dataset: args.dataset.clone(),
        mountpoint: args.mountpoint.clone(),
        force: args.force,
        dry_run: args.dry_run,
    };
    match init(host, &req)? {
        Initialised::Already { dataset, mountpoint } => {
            println!("brig is already initialised: dataset {dataset} at {}; nothing to do", mountpoint.display())
        }
        Initialised::Would(ops) => {
            for op in &ops {
                println!("{op}");
            }
        }
        Initialised::Done { dataset, mountpoint } => println!(
            "initialised brig: dataset {dataset} mounted at {}, configuration in {CONFIG_PATH}",
            mountpoint.display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}
