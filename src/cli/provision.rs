//! `brig provision`.

use std::process::ExitCode;

use clap::Args;

use super::output::{print_json, Changed};
use super::report::reporter;
use super::CliError;
use crate::app::provision::provision;
use crate::host::Host;
use crate::model::JailName;

#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// The jail whose [[provision]] steps run.
    pub name: String,
    /// Run every step again from the release, using no cached layer.
    #[arg(long)]
    pub no_cache: bool,
    /// Print the outcome as JSON (steps, cached, ran, skipped, layer).
    #[arg(long)]
    pub json: bool,
}

pub fn run(host: &mut dyn Host, args: &ProvisionArgs) -> Result<ExitCode, CliError> {
    let name = JailName::parse(&args.name)?;
    let report = reporter(args.json);
    let p = provision(host, &name, args.no_cache, report)?;
    if args.json {
        let changed = p.ran > 0 || p.restore != crate::plan::provision::Restore::Nothing;
        print_json(&Changed { changed, outcome: &p })?;
    } else {
        println!(
            "provisioned jail {}: {} steps, {} from the cache, {} run{}",
            p.jail,
            p.steps,
            p.cached,
            p.ran,
            p.published.map(|d| format!("; its layers are cached in {d}")).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
