//! `brig template list|show`: the templates `brig create --template` takes.

use std::process::ExitCode;

use clap::Subcommand;
use serde::Serialize;

use super::output::{print_json, table};
use super::CliError;
use crate::config::templates;
use crate::host::Host;

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// List the templates: shipped ones and those in /usr/local/etc/brig/templates.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a template's text.
    Show {
        /// The template.
        name: String,
    },
}

#[derive(Serialize, schemars::JsonSchema)]
struct Row {
    name: String,
    source: String,
    description: String,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct ListJson {
    templates: Vec<Row>,
}

pub fn run(host: &dyn Host, cmd: &TemplateCommand) -> Result<ExitCode, CliError> {
    match cmd {
        TemplateCommand::List { json } => {
            let rows: Vec<Row> = templates::list(host)
                .into_iter()
                .map(|t| Row { name: t.name, source: t.source, description: t.description })
                .collect();
            if *json {
                print_json(&ListJson { templates: rows })?;
            } else {
                let body = rows.iter().map(|r| vec![r.name.clone(), r.source.clone(), r.description.clone()]).collect();
                println!("{}", table(&["NAME", "SOURCE", "DESCRIPTION"], body));
            }
        }
        TemplateCommand::Show { name } => {
            let t = templates::find(host, name).map_err(crate::app::Error::from)?;
            print!("{}", t.text);
        }
    }
    Ok(ExitCode::SUCCESS)
}
