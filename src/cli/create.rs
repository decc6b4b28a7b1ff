//! `brig create`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use serde::Serialize;

use super::output::{print_json, Changed};
use super::report::reporter;
use super::CliError;
use crate::app::create::{create, CreateRequest};
use crate::host::Host;

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The jail's name: letters, digits, '-' and '_', not all digits, at most 63 characters.
    pub name: String,
    /// The base release, such as 14.3-RELEASE.
    #[arg(long)]
    pub release: Option<String>,
    /// thin (a ZFS clone of the release), thick (a copy) or empty.
    #[arg(long = "type", value_name = "TYPE")]
    pub jail_type: Option<String>,
    /// An IPv4 address with prefix length, such as 192.0.2.10/24 (repeatable).
    #[arg(long, value_name = "ADDR/LEN")]
    pub ip4: Vec<String>,
    /// An IPv6 address with prefix length (repeatable).
    #[arg(long, value_name = "ADDR/LEN")]
    pub ip6: Vec<String>,
    /// The host interface the addresses are added to; with --vnet, a host interface handed to the jail whole.
    #[arg(long, value_name = "IF")]
    pub interface: Option<String>,
    /// Give the jail its own network stack (mode = "vnet"), on --bridge or --interface.
    #[arg(long)]
    pub vnet: bool,
    /// With --vnet: the bridge the jail's epair joins (made if the host has none).
    #[arg(long, value_name = "BRIDGE", requires = "vnet")]
    pub bridge: Option<String>,
    /// The jail's hostname [default: its name].
    #[arg(long)]
    pub hostname: Option<String>,
    /// Start the jail at boot.
    #[arg(long)]
    pub boot: bool,
    /// Start order among independent jails, 0 to 999 (lower first).
    #[arg(long)]
    pub priority: Option<i64>,
    /// Jails that must run before this one.
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub depends: Vec<String>,
    /// A jail parameter, such as allow.raw_sockets=false (repeatable).
    #[arg(long = "param", value_name = "K=V")]
    pub params: Vec<String>,
    /// Start from this definition file (on this machine); the options above override it.
    #[arg(long, value_name = "FILE.toml", conflicts_with = "template")]
    pub from: Option<PathBuf>,
    /// Start from a template (`brig template list`); --set and the options above override it.
    #[arg(long, value_name = "NAME")]
    pub template: Option<String>,
    /// Set a key of the definition, such as limits.memoryuse=4G or zfs.quota=50G (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Clone an image (`brig commit`) instead of the release; the release is the image's.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Check everything and print the definition and the steps; make nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the outcome as JSON: changed, the definition and the steps.
    #[arg(long)]
    pub json: bool,
}

/// `brig create --json`.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct CreateJson<'a> {
    jail: &'a str,
    #[serde(rename = "type")]
    jail_type: &'a str,
    release: Option<&'a str>,
    /// A path of the managed machine.
    root: String,
    /// The definition written (or, with --dry-run, that would be).
    definition: &'a str,
    /// The steps taken (or that would be).
    operations: &'a [String],
    dry_run: bool,
}

pub fn run(host: &mut dyn Host, args: &CreateArgs) -> Result<ExitCode, CliError> {
    let req = CreateRequest {
        name: args.name.clone(),
        release: args.release.clone(),
        jail_type: args.jail_type.clone(),
        ip4: args.ip4.clone(),
        ip6: args.ip6.clone(),
        interface: args.interface.clone(),
        vnet: args.vnet,
        bridge: args.bridge.clone(),
        hostname: args.hostname.clone(),
        boot: args.boot,
        priority: args.priority,
        depends: args.depends.clone(),
        params: args.params.clone(),
        from: args.from.clone(),
        template: args.template.clone(),
        sets: args.sets.clone(),
        image: args.image.clone(),
        dry_run: args.dry_run,
    };
    let c = create(host, &req, reporter(args.json))?;
    if args.json {
        let created = CreateJson {
            jail: c.name.as_str(),
            jail_type: c.jail_type.as_str(),
            release: c.release.as_ref().map(|r| r.as_str()),
            root: c.root.display().to_string(),
            definition: &c.definition,
            operations: &c.operations,
            dry_run: args.dry_run,
        };
        print_json(&Changed { changed: true, outcome: created })?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        print!("{}", c.definition);
        for op in &c.operations {
            println!("{}: {op}", c.name);
        }
        println!("would create jail {}", c.name);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "created jail {} ({}{}), root {}",
        c.name,
        c.jail_type.as_str(),
        c.release.as_ref().map(|r| format!(" of {r}")).unwrap_or_default(),
        c.root.display()
    );
    Ok(ExitCode::SUCCESS)
}
