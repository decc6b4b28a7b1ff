//! `edit`: the editor works on a copy; the result is validated, checked
//! against the other jails' addresses, and only then replaces the
//! definition (atomically). An invalid edit is kept beside it as
//! NAME.toml.rej and the definition is left as it was.

use std::path::{Path, PathBuf};

use super::guard::{guard, guard_unless, EDIT_COPY_SUFFIX};
use super::{Error, NotFound, Refused, Report};
use crate::config::{jail, ConfigError, HostConfig};
use crate::host::{Command, Host, Place, Stdio};
use crate::model::jail::JailSpec;
use crate::model::JailName;
use crate::plan::apply::Restart;
use crate::state::bounded::CONFIG_LIMIT;
use crate::state::layout::definition_path;

/// What the edit changed, and what the running jail needs for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edited {
    Unchanged,
    /// The jail is not running: the change applies when it next starts.
    NotRunning,
    /// These differences only go with a restart.
    NeedsRestart(Vec<Restart>),
    /// `brig apply` changes the running jail live.
    Live,
    /// The running jail already matches (commands change at its next
    /// start or stop).
    Matches,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| ConfigError::io(path, e).into()
}

/// Edits jail `name`'s definition with `editor`, a shell command line
/// (such as `vi` or `code -w`) that gets the file as its last argument.
pub fn edit(host: &mut dyn Host, name: &JailName, editor: &str, report: &dyn Report) -> Result<Edited, Error> {
    let cfg = super::config(host)?;
    let _lock = guard(host, &cfg, &[name], report)?;
    let path = definition_path(name);
    // Named in errors as the host shows them.
    let shown = host.local_path(&path);
    // A symlinked definition is refused, not replaced by a plain file.
    let original = match host.read_file(&path, CONFIG_LIMIT) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return Err(NotFound::Jail(name.clone()).into()),
        Err(e) => return Err(io(&shown)(e.into())),
    };
    let copy = path.with_file_name(format!(".{name}{EDIT_COPY_SUFFIX}"));
    let copy_shown = host.local_path(&copy);
    host.write_file(&copy, &original, 0o600).map_err(io(&copy_shown))?;
    // Through sh's eval, as git does, so an editor with arguments and
    // quotes (`code -w`, `sed -i 's/a/b/'`) works; the file stays "$1".
    // The editor runs on this machine, so it gets the copy's local path.
    let mut cmd =
        Command::new("/bin/sh").args(["-c", "eval \"$BRIG_EDITOR\" '\"$1\"'", "sh", &copy_shown.to_string_lossy()]);
    cmd.env.push(("BRIG_EDITOR".into(), editor.to_string()));
    cmd.stdio = Stdio::Inherit;
    let status = host.spawn(&cmd, Place::Host)?.status;
    let edited = host.read_file(&copy, CONFIG_LIMIT).map_err(|e| io(&copy_shown)(e.into()))?;
    let _ = host.remove_file(&copy);
    if status != 0 {
        return Err(Refused::EditorFailed { editor: editor.to_string(), status, jail: name.clone() }.into());
    }
    if edited == original {
        return Ok(Edited::Unchanged);
    }
    let rejected: PathBuf = path.with_file_name(format!("{name}.toml.rej"));
    let text = String::from_utf8_lossy(&edited).into_owned();
    // Held until the edit is written: the same address cannot go to two
    // jails at once.
    let _addresses = crate::state::lock::addresses(host)?;
    let spec = match check(host, &cfg, name, &shown, &text, false) {
        Ok(spec) => spec,
        Err(cause) => {
            let kept = host.local_path(&rejected);
            host.write_file(&rejected, &edited, 0o600).map_err(io(&kept))?;
            return Err(Refused::EditRejected { cause: Box::new(cause), kept }.into());
        }
    };
    host.write_file(&path, &edited, 0o600).map_err(io(&shown))?;
    let _ = host.remove_file(&rejected);
    effect(host, &cfg, &spec)
}

/// A definition replaced without an editor: from a file or a template,
/// or the current one, with settings on top.
#[derive(Debug, Clone, Default)]
pub struct Replace {
    /// A definition file (TOML, or JSON when it ends in `.json`).
    pub from: Option<PathBuf>,
    pub template: Option<String>,
    /// `KEY=VALUE` settings, applied last.
    pub sets: Vec<String>,
    /// Say what would change and write nothing.
    pub dry_run: bool,
}

/// What `replace` did (or, dry, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    pub before: String,
    pub after: String,
    pub effect: Edited,
}

/// Replaces jail `name`'s definition as `req` says, validated and checked
/// against the other jails first, atomically; what configuration
/// management calls to converge a definition (`brig edit --from`).
pub fn replace(host: &mut dyn Host, name: &JailName, req: &Replace, report: &dyn Report) -> Result<Replaced, Error> {
    let cfg = super::config(host)?;
    // A dry run only reads, as `plan` does: no lock, nothing recovered.
    let _lock = guard_unless(req.dry_run, host, &cfg, &[name], report)?;
    let path = definition_path(name);
    let shown = host.local_path(&path);
    let before = match crate::config::read_machine_text(host, &path) {
        Err(ConfigError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(NotFound::Jail(name.clone()).into())
        }
        r => r?,
    };
    let command = format!("brig edit {name}");
    let (mut doc, from, files) =
        match super::create::starting_point(host, req.template.as_deref(), req.from.as_deref(), &command)? {
            Some(start) => start,
            None => (crate::config::edit::document(&before, &shown)?, shown.clone(), Vec::new()),
        };
    for assignment in &req.sets {
        crate::config::templates::set(&mut doc, assignment)?;
    }
    let after = doc.to_string();
    // Settings on the definition as it is change it only if they change a
    // value: `hostname = 'a'` is `--set hostname=a` already. A whole new
    // definition replaces it unless it is the same text.
    let whole = req.from.is_some() || req.template.is_some();
    if after == before || (!whole && crate::config::edit::same_values(&before, &after)) {
        return Ok(Replaced { after: before.clone(), before, effect: Edited::Unchanged });
    }
    let _addresses = if req.dry_run { None } else { Some(crate::state::lock::addresses(host)?) };
    // Told by key where the text is not a TOML file as written.
    let by_key = !req.sets.is_empty() || req.from.as_deref().is_none_or(crate::config::json::is_json);
    let spec = check(host, &cfg, name, &from, &after, by_key)?;
    super::create::refuse_other_files(host, name, &files)?;
    // Found before the write, so that a failure to look leaves the
    // definition as it was (its source is still there to run again)
    // rather than changed with an error.
    let effect = effect(host, &cfg, &spec)?;
    if !req.dry_run {
        let written = super::create::write_files(host, name, &files)?;
        if let Err(e) = host.write_file(&path, after.as_bytes(), 0o600) {
            super::create::remove_files(host, &written);
            return Err(io(&shown)(e));
        }
    }
    Ok(Replaced { before, after, effect })
}

/// `text` validated as jail `name`'s definition, its addresses, interface
/// and host ports checked against every other jail's; its errors told by
/// key when `by_key` (a text whose lines are not the file's). The caller
/// holds `lock::addresses` until it writes the definition.
fn check(
    host: &dyn Host,
    cfg: &HostConfig,
    name: &JailName,
    shown: &Path,
    text: &str,
    by_key: bool,
) -> Result<JailSpec, Error> {
    let spec = jail::check(shown, text, name, cfg).map_err(|e| if by_key { e.by_key(text) } else { e })?;
    super::create::check_addresses(host, cfg, &spec)?;
    Ok(spec)
}

/// What the running jail needs for the definition `spec`: the same
/// comparison `brig plan` makes tells live from restart.
fn effect(host: &mut dyn Host, cfg: &HostConfig, spec: &JailSpec) -> Result<Edited, Error> {
    if host.jail_find(spec.name.as_str())?.is_none() {
        return Ok(Edited::NotRunning);
    }
    let plans = super::lifecycle::plans(host, cfg, std::slice::from_ref(spec))?;
    Ok(match plans.first() {
        Some(p) if !p.restart.is_empty() => Edited::NeedsRestart(p.restart.clone()),
        Some(p) if !p.ops.is_empty() => Edited::Live,
        _ => Edited::Matches,
    })
}
