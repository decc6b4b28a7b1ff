//! `brig validate`.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::output::print_json;
use super::CliError;
use crate::app::check::{validate, Checked};
use crate::host::Host;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Jail names (their files in /usr/local/etc/brig/jails) or paths of
    /// definition files on this machine [default: every defined jail].
    pub targets: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct ValidateJson {
    definitions: Vec<Checked>,
}

pub fn run(host: &dyn Host, args: &ValidateArgs) -> Result<ExitCode, CliError> {
    let results = validate(host, &args.targets)?;
    let ok = results.iter().all(|r| r.valid);
    if args.json {
        print_json(&ValidateJson { definitions: results })?;
    } else {
        for r in &results {
            match &r.error {
                None => println!("ok    {}  {}", r.name, r.file),
                Some(e) => eprintln!("brig: {e}"),
            }
        }
        if results.is_empty() {
            println!("no jails are defined");
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
