//! `import --from`: another manager's jails as brig jails, each with its
//! definition converted (what does not map said, nothing dropped unsaid)
//! and its root copied into a dataset of brig's; the original is left as
//! it was. jail.conf(5), Bastille (a jail.conf and an fstab a jail),
//! ezjail (an rc file a jail) and iocage (a config.json a jail).

use super::guard::guard;
use super::{Error, Event, Refused, Report};
use crate::config::convert::{self, Converted};
use crate::config::{foreign, jail, jailconf, ConfigError};
use crate::host::Host;
use crate::model::jail::validate;
use crate::model::JailName;
use crate::plan::jail as jail_plan;
use crate::plan::Op;
use crate::state::journal::{self, Action};
use crate::state::layout::definition_path;

/// Whose jails a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// jail.conf(5): any number of jails.
    JailConf,
    /// Bastille's `jails/NAME/jail.conf`, with the fstab it names.
    Bastille,
    /// ezjail's `/usr/local/etc/ezjail/NAME`.
    Ezjail,
    /// iocage's `jails/NAME/config.json`, the root beside it.
    Iocage,
}

/// The jails of `path` (a path of the managed machine) converted.
fn read(host: &dyn Host, source: Source, path: &std::path::Path) -> Result<Vec<Converted>, Error> {
    let text = crate::config::read_machine_text(host, path)?;
    let shown = host.local_path(path);
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let with_own = |f: foreign::Foreign, whose: &str| {
        let mut c = convert::jail_conf(&f.jail);
        c.unmapped.extend(f.own.iter().map(|o| format!("{o}: {whose}'s own setting, which brig has no place for")));
        c
    };
    match source {
        Source::JailConf | Source::Bastille => {
            let mut jails = jailconf::parse(&text)
                .map_err(|e| ConfigError::at(&shown, &text, line_offset(&text, e.line), e.why))?;
            if source == Source::Bastille {
                // Bastille mounts from the fstab beside jail.conf.
                for j in &mut jails {
                    if let Some(fstab) = j.params.remove("mount.fstab").and_then(|v| v.into_iter().next()) {
                        let lines = crate::config::read_machine_text(host, std::path::Path::new(&fstab))?;
                        let entries = lines.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
                        j.params.entry("mount".into()).or_default().extend(entries.map(str::to_string));
                    }
                }
            }
            let mut converted: Vec<Converted> = jails.iter().map(convert::jail_conf).collect();
            // Bastille keeps a jail's rctl rules beside its jail.conf.
            let rctl = path.parent().map(|d| d.join("rctl.conf"));
            if source == Source::Bastille && rctl.as_deref().is_some_and(|r| host.exists(r)) {
                for c in &mut converted {
                    c.unmapped.push("rctl.conf: Bastille's rctl rules; write them as [limits] (brig limits NAME set RESOURCE=AMOUNT)".into());
                }
            }
            Ok(converted)
        }
        Source::Ezjail => Ok(vec![with_own(foreign::ezjail(&file_name, &text), "ezjail")]),
        Source::Iocage => {
            let json: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| ConfigError::at(&shown, &text, 0, format!("not JSON: {e}")))?;
            let root = path.parent().unwrap_or(std::path::Path::new("/")).join("root");
            let f = foreign::iocage(&json, &root.display().to_string())
                .map_err(|why| ConfigError::at(&shown, &text, 0, why))?;
            Ok(vec![with_own(f, "iocage")])
        }
    }
}

/// Converts the jails of `path` (`only` those named, when any are), and
/// unless `dry_run` makes each a brig jail. A jail that cannot be made
/// does not stop the others.
pub fn import_from(
    host: &mut dyn Host,
    source: Source,
    path: &std::path::Path,
    only: &[String],
    dry_run: bool,
    report: &dyn Report,
) -> Result<Vec<Converted>, Error> {
    let cfg = super::config(host)?;
    let jails = read(host, source, path)?;
    let mut done = Vec::new();
    let mut failed = Vec::new();
    if let Some(missing) = only.iter().find(|n| !jails.iter().any(|j| &j.name == *n)) {
        return Err(Error::Usage(format!("{}: no jail {missing} in it", host.local_path(path).display())));
    }
    for c in jails.into_iter().filter(|j| only.is_empty() || only.contains(&j.name)) {
        let outcome = JailName::new_jail(&c.name)
            .map_err(Error::from)
            .and_then(|name| make(host, &cfg, &name, &c, dry_run, report));
        match outcome {
            Ok(()) => {
                report.event(&Event::Converted { jail: &c.name, unmapped: &c.unmapped, dry_run });
                done.push(c);
            }
            Err(e) => failed.push((c.name.clone(), e)),
        }
    }
    let total = done.len() + failed.len();
    match failed.len() {
        0 => Ok(done),
        1 if total == 1 => Err(failed.remove(0).1),
        _ => {
            // A name brig cannot take has its own sentence; the batch
            // counts it.
            let mut named = Vec::new();
            for (n, e) in failed {
                match JailName::parse(&n) {
                    Ok(n) => named.push((n, e)),
                    Err(_) => report.event(&Event::NotConverted { jail: &n, error: &e }),
                }
            }
            match named.is_empty() {
                true => Err(Error::Usage(format!("{} of {total} jails were not converted", total - done.len()))),
                false => Err(super::Batch { verb: Some(super::Verb::Convert), total, failed: named }.into()),
            }
        }
    }
}

/// The byte offset of line `line` (1-based) of `text`.
fn line_offset(text: &str, line: usize) -> usize {
    text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum()
}

/// Checks converted jail `c` and, unless `dry_run`, makes it.
fn make(
    host: &mut dyn Host,
    cfg: &crate::config::HostConfig,
    name: &JailName,
    c: &Converted,
    dry_run: bool,
    report: &dyn Report,
) -> Result<(), Error> {
    let _lock = if dry_run { Vec::new() } else { guard(host, cfg, &[name], report)? };
    let shown = std::path::PathBuf::from(format!("{name} (converted)"));
    let raw = jail::parse(&shown, &c.definition)?;
    let defaults = cfg.default_params().map_err(|(_, why)| Refused::Defaults(why))?;
    let spec = validate(name, &raw, &defaults, cfg.defaults.jail_type)
        .map_err(|(offset, msg)| ConfigError::at(&shown, &c.definition, offset, msg))?;
    if dry_run {
        report.event(&Event::Definition { jail: name, text: &c.definition });
        return Ok(());
    }
    let Some(root) = c.root.as_deref().map(std::path::PathBuf::from).filter(|r| host.exists(r)) else {
        return Err(Refused::NoRootToCopy { jail: name.clone(), path: c.root.clone().unwrap_or_default() }.into());
    };
    // Its root changes under a running jail; and a jail of that name in
    // the kernel is jail(8)'s, which brig must not take.
    if let Some(j) = host.jail_find(name.as_str())? {
        return Err(Refused::ConvertRunning { jail: name.clone(), jid: j.jid }.into());
    }
    if host.exists(&definition_path(name)) {
        return Err(Refused::Exists { path: host.local_path(&definition_path(name)), jail: name.clone() }.into());
    }
    let jail_ds = jail_plan::dataset(cfg, name);
    if super::observe::dataset_exists(host, jail_ds.as_str())? {
        return Err(Refused::OrphanDataset { jail: name.clone(), dataset: jail_ds.to_string() }.into());
    }
    let _addresses = crate::state::lock::addresses(host)?;
    super::create::check_addresses(host, cfg, &spec)?;
    let root_ds = jail_plan::root_dataset(cfg, name);
    let mut ops = vec![jail_plan::jail_dataset(cfg, &spec)];
    ops.push(Op::CreateDataset { name: root_ds.clone(), props: jail_plan::root_props(&spec) });
    ops.push(Op::CopyDir { from: root, to: root_ds });
    ops.push(Op::WriteFile { path: definition_path(name), contents: c.definition.clone(), mode: 0o600 });
    journal::around(host, name, Action::Create, |h| crate::exec::run(h, &ops).map(drop).map_err(Error::from))
}
