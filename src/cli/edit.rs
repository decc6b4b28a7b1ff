use std::process::ExitCode;

use clap::Args;

use super::CliError;
use crate::config::{jail, ConfigError};
use crate::host::{Command, Host, Place, Stdio};
use crate::model::JailName;
use crate::state::atomic;
use crate::state::layout::definition_path;

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The jail whose definition to edit with $VISUAL or $EDITOR.
    pub name: String,
}

fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |e| CliError::Config(ConfigError::io(path, e))
}

/// Opens the editor on a copy, validates the result and only then
/// replaces the definition (atomically); an invalid edit is kept beside it
/// as NAME.toml.rej and the definition is left as it was.
pub fn run(host: &mut dyn Host, args: &EditArgs) -> Result<ExitCode, CliError> {
    let cfg = super::require_config(host)?;
    let name = JailName::parse(&args.name)?;
    let _lock = super::guard::guard(host, &cfg, &[&name])?;
    let path = host.local_path(&definition_path(&name));
    // A symlinked definition is refused, not replaced by a plain file.
    let original = match crate::state::bounded::read(&path, crate::state::bounded::CONFIG_LIMIT) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => {
            return Err(CliError::NotFound(format!("jail {name} is not defined; `brig list` shows the jails")))
        }
        Err(e) => return Err(io(&path)(e.into())),
    };
    let copy = copy_path(&path, &name);
    atomic::write(&copy, &original, 0o600).map_err(io(&copy))?;
    let editor = editor();
    // Through sh's eval, as git does, so an editor with arguments and
    // quotes (`code -w`, `sed -i 's/a/b/'`) works; the file stays "$1".
    let mut cmd = Command::new("/bin/sh").args(["-c", "eval \"$BRIG_EDITOR\" '\"$1\"'", "sh", &copy.to_string_lossy()]);
    cmd.env.push(("BRIG_EDITOR".into(), editor.clone()));
    cmd.stdio = Stdio::Inherit;
    let status = host.spawn(&cmd, Place::Host)?.status;
    let edited = crate::state::bounded::read(&copy, crate::state::bounded::CONFIG_LIMIT);
    let edited = edited.map_err(|e| io(&copy)(e.into()))?;
    let _ = std::fs::remove_file(&copy);
    if status != 0 {
        return Err(CliError::Failed(format!(
            "{editor} exited with status {status}; the definition of {name} is unchanged"
        )));
    }
    if edited == original {
        println!("no changes to {name}");
        return Ok(ExitCode::SUCCESS);
    }
    let rejected = path.with_file_name(format!("{name}.toml.rej"));
    let text = String::from_utf8_lossy(&edited).into_owned();
    // Held until the edit is written: the same address cannot go to two
    // jails at once.
    let _addresses = crate::state::lock::addresses(host)?;
    let check = jail::check(&path, &text, &name, &cfg)
        .map_err(CliError::from)
        .and_then(|spec| super::create::check_addresses(host, &cfg, &spec).map(|()| spec));
    let spec = match check {
        Ok(spec) => spec,
        Err(e) => {
            atomic::write(&rejected, &edited, 0o600).map_err(io(&rejected))?;
            return Err(CliError::Failed(format!(
                "{e}; the definition is unchanged and your edit is kept in {}",
                rejected.display()
            )));
        }
    };
    atomic::write(&path, &edited, 0o600).map_err(io(&path))?;
    let _ = std::fs::remove_file(&rejected);
    if host.jail_find(name.as_str())?.is_none() {
        println!("updated {name}; the change applies when it next starts");
        return Ok(ExitCode::SUCCESS);
    }
    // The same comparison `brig plan` makes tells live from restart.
    let plans = super::apply::plans(host, &cfg, std::slice::from_ref(&spec))?;
    let plan = plans.first();
    match plan {
        Some(p) if !p.restart.is_empty() => {
            let params: Vec<&str> = p.restart.iter().map(|r| r.param.as_str()).collect();
            println!(
                "updated {name}; it is running and needs a restart for {}: `brig apply --restart {name}`",
                params.join(", ")
            );
        }
        Some(p) if !p.ops.is_empty() => {
            println!("updated {name}; `brig apply {name}` changes the running jail live (`brig plan {name}` shows how)")
        }
        _ => println!(
            "updated {name}; the running jail already matches it (command changes apply at its next start or stop)"
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// The copy of definition `path` an edit works on.
fn copy_path(path: &std::path::Path, name: &JailName) -> std::path::PathBuf {
    path.with_file_name(format!(".{name}{COPY_SUFFIX}"))
}

/// The end of the name of an edit's copy, `.NAME.edit.toml`.
pub(super) const COPY_SUFFIX: &str = ".edit.toml";

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
