//! `brig clone`.

use std::process::ExitCode;

use clap::Args;

use super::report::Printer;
use super::CliError;
use crate::app::clone::{self, CloneRequest};
use crate::host::Host;

#[derive(Debug, Args)]
pub struct CloneArgs {
    /// The jail to clone.
    pub source: String,
    /// The new jail.
    pub name: String,
    /// The source's snapshot to clone [default: one taken now, named after the time].
    #[arg(long, value_name = "SNAP")]
    pub snapshot: Option<String>,
    /// The clone's IPv4 address with prefix length, such as 192.0.2.11/24 (repeatable); needed when the source has addresses.
    #[arg(long, value_name = "ADDR/LEN")]
    pub ip4: Vec<String>,
    /// The clone's IPv6 address with prefix length (repeatable).
    #[arg(long, value_name = "ADDR/LEN")]
    pub ip6: Vec<String>,
    /// The clone's hostname [default: its name].
    #[arg(long)]
    pub hostname: Option<String>,
}

pub fn run(host: &mut dyn Host, args: &CloneArgs) -> Result<ExitCode, CliError> {
    let req = CloneRequest {
        source: args.source.clone(),
        name: args.name.clone(),
        snapshot: args.snapshot.clone(),
        ip4: args.ip4.clone(),
        ip6: args.ip6.clone(),
        hostname: args.hostname.clone(),
    };
    let done = clone::clone(host, &req, &Printer)?;
    println!("created jail {} from snapshot {} of {}", done.name, done.snapshot, args.source);
    Ok(ExitCode::SUCCESS)
}
