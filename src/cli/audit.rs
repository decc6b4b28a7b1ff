//! `brig audit`: what each jail's root can do beyond the secure defaults.

use std::process::ExitCode;

use clap::Args;

use super::output::print_json;
use super::report::Printer;
use super::CliError;
use crate::app::check::audit;
use crate::app::select::Names;
use crate::app::{Event, Report};
use crate::host::Host;
use crate::plan::audit::Finding;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The jails [or --all].
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub names: Vec<String>,
    /// Every defined jail.
    #[arg(long)]
    pub all: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn line(f: &Finding) -> String {
    format!("  {:<7} {}: {}", f.severity.as_str(), f.subject, f.why)
}

pub fn run(host: &dyn Host, args: &AuditArgs) -> Result<ExitCode, CliError> {
    let names = Names { names: args.names.clone(), all: args.all };
    let (audit, broken) = audit(host, &names, &Printer)?;
    // A definition that does not read is named; the others are audited.
    for (jail, error) in &broken {
        Printer.event(&Event::Broken { jail, error });
    }
    let code = if audit.high > 0 || !broken.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS };
    if args.json {
        print_json(&audit)?;
        return Ok(code);
    }
    for j in &audit.jails {
        if j.findings.is_empty() {
            println!("{}: nothing beyond the secure defaults", j.name);
        } else {
            println!("{}:", j.name);
        }
        for f in &j.findings {
            println!("{}", line(f));
        }
        for a in &j.advice {
            println!("  advice  {a}");
        }
    }
    if !audit.host.is_empty() {
        println!("host:");
        for f in &audit.host {
            println!("{}", line(f));
        }
    }
    Ok(code)
}
