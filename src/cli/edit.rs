//! `brig edit`.

use std::process::ExitCode;

use clap::Args;

use serde::Serialize;

use super::output::print_json;
use super::report::{reporter, Printer};
use super::CliError;
use crate::app::edit::{edit, replace, Edited, Replace};
use crate::host::Host;
use crate::model::JailName;

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The jail whose definition to edit: with $VISUAL or $EDITOR, or replaced by --from, --template or --set.
    pub name: String,
    /// Replace the definition with this file's (TOML, or a JSON object when it ends in .json).
    #[arg(long, value_name = "FILE", conflicts_with = "template")]
    pub from: Option<std::path::PathBuf>,
    /// Replace the definition with this template's (`brig template list`).
    #[arg(long, value_name = "TEMPLATE")]
    pub template: Option<String>,
    /// Set KEY (dotted: limits.memoryuse) to VALUE, on top of the definition, --from or --template.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Show the change and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the outcome as JSON: changed, before, after, effect, restart.
    #[arg(long)]
    pub json: bool,
}

pub fn run(host: &mut dyn Host, args: &EditArgs) -> Result<ExitCode, CliError> {
    let name = JailName::parse(&args.name)?;
    if args.from.is_some() || args.template.is_some() || !args.sets.is_empty() {
        return replaced(host, &name, args);
    }
    if args.dry_run || args.json {
        return Err(crate::app::Error::Usage(
            "--dry-run and --json need --from FILE, --template TEMPLATE or --set KEY=VALUE: an editor is not scripted"
                .into(),
        )
        .into());
    }
    let edited = edit(host, &name, &editor(), &Printer)?;
    println!("{}", sentence(&name, &edited, "updated"));
    Ok(ExitCode::SUCCESS)
}

/// `brig edit --json`.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct EditJson<'a> {
    jail: &'a str,
    changed: bool,
    dry_run: bool,
    before: &'a str,
    after: &'a str,
    /// What the running jail needs for the definition.
    #[schemars(extend("enum" = ["unchanged", "not-running", "needs-restart", "live", "matches"]))]
    effect: &'static str,
    /// The differences that go only with a restart, as `plan` shows them.
    restart: &'a [crate::plan::apply::Restart],
}

fn replaced(host: &mut dyn Host, name: &JailName, args: &EditArgs) -> Result<ExitCode, CliError> {
    let req = Replace {
        from: args.from.clone(),
        template: args.template.clone(),
        sets: args.sets.clone(),
        dry_run: args.dry_run,
    };
    let r = replace(host, name, &req, reporter(args.json))?;
    if args.json {
        let (effect, restart) = match &r.effect {
            Edited::Unchanged => ("unchanged", &[][..]),
            Edited::NotRunning => ("not-running", &[][..]),
            Edited::NeedsRestart(restart) => ("needs-restart", restart.as_slice()),
            Edited::Live => ("live", &[][..]),
            Edited::Matches => ("matches", &[][..]),
        };
        print_json(&EditJson {
            jail: name.as_str(),
            changed: r.effect != Edited::Unchanged,
            dry_run: args.dry_run,
            before: &r.before,
            after: &r.after,
            effect,
            restart,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    if r.effect != Edited::Unchanged {
        let shown = host.local_path(&crate::state::layout::definition_path(name));
        let patch = diffy::DiffOptions::new()
            .set_original_filename(shown.display().to_string())
            .set_modified_filename(shown.display().to_string())
            .create_patch(&r.before, &r.after);
        print!("{patch}");
    }
    println!("{}", sentence(name, &r.effect, if args.dry_run { "would update" } else { "updated" }));
    Ok(ExitCode::SUCCESS)
}

/// What an edit did to the definition (`done`: "updated", "would update")
/// and what the running jail needs for it.
fn sentence(name: &JailName, edited: &Edited, done: &str) -> String {
    match edited {
        Edited::Unchanged => format!("no changes to {name}"),
        Edited::NotRunning => format!("{done} {name}; the change applies when it next starts"),
        Edited::NeedsRestart(restart) => format!(
            "{done} {name}; it is running and needs a restart for {}: `brig apply --restart {name}`",
            restart.iter().map(|r| r.param.as_str()).collect::<Vec<_>>().join(", ")
        ),
        Edited::Live => {
            format!("{done} {name}; `brig apply {name}` changes the running jail live (`brig plan {name}` shows how)")
        }
        Edited::Matches => format!(
            "{done} {name}; the running jail already matches it (command changes apply at its next start or stop)"
        ),
    }
}

/// VISUAL, else EDITOR, else vi; a variable that is set but empty (or
/// blank) is passed over, as if unset: `eval ""` would run the copy of
/// the definition itself as a shell script.
fn editor() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".into())
}
