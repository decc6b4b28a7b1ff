//! `brig edit`.

use std::process::ExitCode;

use clap::Args;

use super::report::Printer;
use super::CliError;
use crate::app::edit::{edit, Edited};
use crate::host::Host;
use crate::model::JailName;

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The jail whose definition to edit with $VISUAL or $EDITOR.
    pub name: String,
}

pub fn run(host: &mut dyn Host, args: &EditArgs) -> Result<ExitCode, CliError> {
    let name = JailName::parse(&args.name)?;
    match edit(host, &name, &editor(), &Printer)? {
        Edited::Unchanged => println!("no changes to {name}"),
        Edited::NotRunning => println!("updated {name}; the change applies when it next starts"),
        Edited::NeedsRestart(params) => println!(
            "updated {name}; it is running and needs a restart for {}: `brig apply --restart {name}`",
            params.join(", ")
        ),
        Edited::Live => {
            println!("updated {name}; `brig apply {name}` changes the running jail live (`brig plan {name}` shows how)")
        }
        Edited::Matches => println!(
            "updated {name}; the running jail already matches it (command changes apply at its next start or stop)"
        ),
    }
    Ok(ExitCode::SUCCESS)
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
