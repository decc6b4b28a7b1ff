//! Templates: jail definitions with defaults, instantiated by
//! `brig create NAME --template T [--set KEY=VALUE]...`. Shipped ones are
//! built into the binary (so they exist wherever brig runs); a file
//! `/usr/local/etc/brig/templates/NAME.toml` adds one or replaces a
//! shipped one of the same name. A template is a definition plus an
//! optional `[template]` table (`description`), which is not copied, and
//! may come with files for its provision steps (`templates/NAME/...`),
//! which `create` puts beside the new definition (`jails/JAIL/...`).

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::host::Host;
use crate::model::JailName;

/// A template built into brig: its name, text and files (paths relative
/// to its directory).
pub struct Shipped {
    pub name: &'static str,
    pub text: &'static str,
    pub files: &'static [(&'static str, &'static str)],
}

/// The templates that ship with brig.
pub const SHIPPED: &[Shipped] = &[
    Shipped {
        name: "nginx",
        text: include_str!("../../templates/nginx.toml"),
        files: &[
            ("files/nginx.conf.in", include_str!("../../templates/nginx/files/nginx.conf.in")),
            ("files/index.html", include_str!("../../templates/nginx/files/index.html")),
        ],
    },
    Shipped {
        name: "postgresql",
        text: include_str!("../../templates/postgresql.toml"),
        files: &[("files/pginit", include_str!("../../templates/postgresql/files/pginit"))],
    },
    Shipped { name: "tenant", text: include_str!("../../templates/tenant.toml"), files: &[] },
    Shipped {
        name: "unbound",
        text: include_str!("../../templates/unbound.toml"),
        files: &[("files/unbound.conf.in", include_str!("../../templates/unbound/files/unbound.conf.in"))],
    },
];

/// The most files, and the deepest directories, a local template's
/// directory may hold.
const MAX_FILES: usize = 256;
const MAX_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub name: String,
    /// `shipped`, or the file it was read from.
    pub source: String,
    pub description: String,
    pub text: String,
    /// Its files, by path relative to its directory.
    pub files: Vec<(PathBuf, Vec<u8>)>,
}

#[derive(Debug, Error)]
pub enum TemplateError {
    #[error("no template named {0}; `brig template list` shows them")]
    Unknown(String),
    #[error("{path}: {why}")]
    Bad { path: String, why: String },
    #[error("--set {set}: {why}")]
    Set { set: String, why: String },
}

fn description(text: &str) -> String {
    text.parse::<toml_edit::DocumentMut>()
        .ok()
        .and_then(|d| d.get("template")?.get("description")?.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The administrator's template files (paths of the managed machine, in
/// name order).
fn local_files(host: &dyn Host) -> Vec<PathBuf> {
    let dir = Path::new(crate::state::layout::TEMPLATES_DIR);
    let names = host.list_dir(dir).unwrap_or_default();
    names.iter().filter(|n| n.ends_with(".toml")).map(|n| dir.join(n)).collect()
}

/// Every template, by name; a local file hides a shipped template of the
/// same name.
pub fn list(host: &dyn Host) -> Vec<Template> {
    let mut out: Vec<Template> = Vec::new();
    for p in local_files(host) {
        let Some(name) = p.file_stem().map(|s| s.to_string_lossy().into_owned()) else { continue };
        // Bounded, and never through a symlink, as every configuration file.
        let text = super::read_machine_text(host, &p).unwrap_or_default();
        let source = host.local_path(&p).display().to_string();
        let entries = |d: &Path| host.is_dir(d).then(|| host.list_dir(d).unwrap_or_default());
        let read = |f: &Path| host.read_file(f, crate::model::provision::SOURCE_LIMIT).ok();
        let files = files_under(&TreeReader { entries: &entries, read: &read }, &p.with_extension(""));
        out.push(Template { description: description(&text), name, source, text, files });
    }
    for s in SHIPPED {
        if !out.iter().any(|t| t.name == s.name) {
            out.push(Template {
                name: s.name.to_string(),
                source: "shipped".into(),
                description: description(s.text),
                text: s.text.to_string(),
                files: s.files.iter().map(|(p, c)| (PathBuf::from(p), c.as_bytes().to_vec())).collect(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// How `files_under` reads a directory: its entries (None when it is
/// not a directory) and a file's bytes.
pub struct TreeReader<'a> {
    pub entries: &'a dyn Fn(&Path) -> Option<Vec<String>>,
    pub read: &'a dyn Fn(&Path) -> Option<Vec<u8>>,
}

/// The files under a definition's or template's own directory
/// (`NAME/` beside `NAME.toml`), by path relative to it, bounded in
/// number, depth and size.
pub fn files_under(reader: &TreeReader, dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    walk(reader, dir, Path::new(""), 0, &mut out);
    out
}

fn walk(reader: &TreeReader, dir: &Path, rel: &Path, depth: usize, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Some(mut names) = (reader.entries)(&dir.join(rel)).filter(|_| depth <= MAX_DEPTH) else { return };
    names.sort();
    for n in names {
        if out.len() >= MAX_FILES {
            return;
        }
        let r = rel.join(&n);
        if (reader.entries)(&dir.join(&r)).is_some() {
            walk(reader, dir, &r, depth + 1, out);
        } else if let Some(bytes) = (reader.read)(&dir.join(&r)) {
            out.push((r, bytes));
        }
    }
}

pub fn find(host: &dyn Host, name: &str) -> Result<Template, TemplateError> {
    // Validated like a jail name: it becomes a file name.
    JailName::parse(name).map_err(|_| TemplateError::Unknown(name.to_string()))?;
    list(host).into_iter().find(|t| t.name == name).ok_or_else(|| TemplateError::Unknown(name.to_string()))
}

/// Sets a dotted key (`limits.memoryuse`, `zfs.quota`, `hostname`) in a
/// document, making the tables on the way.
pub fn set(doc: &mut toml_edit::DocumentMut, assignment: &str) -> Result<(), TemplateError> {
    let bad = |why: &str| TemplateError::Set { set: assignment.to_string(), why: why.to_string() };
    let (key, v) = assignment.split_once('=').ok_or_else(|| bad("expected KEY=VALUE, such as limits.memoryuse=4G"))?;
    let parts: Vec<&str> = key.trim().split('.').collect();
    // Quoted parameter names keep their dots: params."allow.mount"=true
    // is written params.allow.mount=true here, so [params] takes the rest.
    let (path, last) = match parts.as_slice() {
        ["params", rest @ ..] if !rest.is_empty() => (vec!["params"], rest.join(".")),
        [.., last] if parts.iter().all(|p| !p.is_empty()) => (parts[..parts.len() - 1].to_vec(), last.to_string()),
        _ => return Err(bad("the key is empty")),
    };
    // In whatever form the definition wrote the table (inline, dotted).
    crate::config::edit::set(doc, &path, &last, crate::config::edit::parse_value(v.trim()))
        .map_err(|e| bad(&e.to_string()))
}

/// The definition a template gives: its text without `[template]`, with
/// each `--set` applied in order.
pub fn instantiate(t: &Template, sets: &[String]) -> Result<toml_edit::DocumentMut, TemplateError> {
    let mut doc = t
        .text
        .parse::<toml_edit::DocumentMut>()
        .map_err(|e| TemplateError::Bad { path: t.source.clone(), why: e.message().to_string() })?;
    doc.remove("template");
    for s in sets {
        set(&mut doc, s)?;
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(name: &str) -> Template {
        let s = SHIPPED.iter().find(|s| s.name == name).expect("shipped");
        Template {
            name: name.into(),
            source: "shipped".into(),
            description: String::new(),
            text: s.text.into(),
            files: Vec::new(),
        }
    }

    fn tenant() -> Template {
        shipped("tenant")
    }

    #[test]
    fn every_shipped_template_is_a_valid_definition_with_the_files_its_steps_read() {
        for s in SHIPPED {
            let doc = instantiate(&shipped(s.name), &["release=14.3-RELEASE".into()]).expect("instantiates");
            let raw = crate::config::jail::parse(Path::new(s.name), &doc.to_string()).expect("parses");
            let spec = crate::model::jail::validate(
                &JailName::parse("j").expect("name"),
                &raw,
                &[],
                crate::model::jail::JailType::Thin,
            )
            .unwrap_or_else(|e| panic!("{}: {e:?}", s.name));
            for step in &spec.provision.steps {
                use crate::model::provision::Action;
                let (Action::Copy(f) | Action::Render { file: f, .. }) = &step.action else { continue };
                assert!(s.files.iter().any(|(p, _)| Path::new(p) == f.from), "{}: {}", s.name, f.from.display());
            }
            assert!(!description(s.text).is_empty(), "{}", s.name);
        }
    }

    #[test]
    fn the_shipped_tenant_template_is_a_valid_definition() {
        let doc = instantiate(&tenant(), &["release=14.3-RELEASE".into()]).expect("instantiates");
        let raw = crate::config::jail::parse(Path::new("tenant"), &doc.to_string()).expect("parses");
        let spec = crate::model::jail::validate(
            &JailName::parse("c1").expect("name"),
            &raw,
            &[],
            crate::model::jail::JailType::Thin,
        )
        .expect("valid");
        assert_eq!(spec.zfs.delegate[0].name, "data");
        assert!(spec.limits.rules.iter().any(|l| l.resource == "memoryuse"));
        assert!(description(tenant().text.as_str()).starts_with("customer jail"));
    }

    #[test]
    fn sets_reach_nested_keys_and_quoted_parameters() {
        let doc = instantiate(
            &tenant(),
            &["limits.memoryuse=4G".into(), "params.allow.mount.nullfs=true".into(), "hostname=c1.example.org".into()],
        )
        .expect("instantiates");
        let text = doc.to_string();
        assert!(text.contains("memoryuse = \"4G\""), "{text}");
        assert!(text.contains("\"allow.mount.nullfs\" = true") || text.contains("allow.mount.nullfs = true"), "{text}");
        assert!(text.contains("hostname = \"c1.example.org\""));
        assert!(!text.contains("[template]") && !text.contains("description"), "{text}");
        let e = instantiate(&tenant(), &["type.x=1".into()]).expect_err("type is not a table");
        assert_eq!(
            e.to_string(),
            "--set type.x=1: type is a string in the definition, not a table; write it as [type] or type = { ... }"
        );
        assert!(instantiate(&tenant(), &["novalue".into()]).is_err());
    }
}
