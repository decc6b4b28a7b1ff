//! `brig audit`: what each jail's root can do beyond the secure defaults.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::output::print_json;
use super::run::RunArgs;
use super::CliError;
use crate::host::{Errno, Host};
use crate::plan::audit::{self, Finding, JailAudit, Severity};

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

#[derive(Serialize)]
struct AuditJson {
    jails: Vec<JailAudit>,
    host: Vec<Finding>,
    /// High-severity findings: brig audit exits 1 when there is one.
    high: usize,
}

fn line(f: &Finding) -> String {
    format!("  {:<7} {}: {}", f.severity.as_str(), f.subject, f.why)
}

pub fn run(host: &dyn Host, args: &AuditArgs) -> Result<ExitCode, CliError> {
    let cfg = super::require_config(host)?;
    let run = RunArgs { names: args.names.clone(), all: args.all, dry_run: false };
    let super::run::Selection { mut specs, broken } = super::run::selected(host, &cfg, &run)?;
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    // A definition that does not read is named; the others are audited.
    for (_, e) in &broken {
        eprintln!("brig: {e}");
    }
    // Each ruleset the jails use, read once.
    let mut rulesets = std::collections::BTreeMap::new();
    let mut jails: Vec<JailAudit> = Vec::new();
    for spec in &specs {
        let ruleset = crate::plan::run::devfs_ruleset(spec);
        let rules = match u16::try_from(ruleset).ok().filter(|n| *n != 0) {
            Some(n) => match rulesets.get(&n) {
                Some(r) => Some(*r),
                None => {
                    let r = host.devfs_rules(n)?;
                    rulesets.insert(n, r);
                    Some(r)
                }
            },
            None => None,
        };
        jails.push(audit::jail(spec, rules));
    }
    let mut values = Vec::new();
    for name in audit::HOST_SYSCTLS {
        match host.sysctl_get(name) {
            Ok(v) => values.push((*name, v.as_int().unwrap_or(0))),
            Err(e) if e.errno == Errno::ENOENT => {}
            Err(e) => return Err(e.into()),
        }
    }
    let host_findings = audit::host(&values);
    let high = jails.iter().flat_map(|j| &j.findings).filter(|f| f.severity == Severity::High).count();
    let code = if high > 0 || !broken.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS };
    if args.json {
        print_json(&AuditJson { jails, host: host_findings, high })?;
        return Ok(code);
    }
    for j in &jails {
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
    if !host_findings.is_empty() {
        println!("host:");
        for f in &host_findings {
            println!("{}", line(f));
        }
    }
    Ok(code)
}
