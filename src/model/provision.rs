//! `[[provision]]` steps and `[vars]`, validated: every `{{ NAME }}` in a
//! step's values replaced, every path, package, service, user and rc.conf
//! name checked before a step can run, and each step keeps the offset of
//! its key for file:line in progress and errors. Also the layer keys: a
//! step's key hashes the key before it, the step as it will run and the
//! bytes it writes, so a changed step changes its key and every key after
//! it. Pure.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::jail::{Invalid, Mount};
use super::quoted;
use super::raw::{RawCopy, RawJail, RawRender, RawStep};
use super::render::{self, is_var_name};

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// `pkg -j JID install -y PACKAGE...`, the host's pkg(8).
    Pkg(Vec<String>),
    /// A file of the definition's directory, written beneath the root.
    Copy(FileStep),
    /// A template of the definition's directory, rendered, then written
    /// as `Copy` writes. Its key hashes what it renders to, not every
    /// variable there is (`jail.name` differs between jails that render
    /// the same text).
    Render {
        file: FileStep,
        #[serde(skip)]
        vars: BTreeMap<String, String>,
    },
    /// rc.conf variables, written into the root's /etc/rc.conf.
    Sysrc(BTreeMap<String, String>),
    /// `service NAME ACTION` inside the jail.
    Service { name: String, action: String },
    /// `/bin/sh -c COMMAND` inside the jail; skipped when `creates`
    /// exists in the root.
    Run { command: String, creates: Option<PathBuf> },
    /// `pw useradd` inside the jail, unless the user exists.
    User(User),
    /// A host path mounted into the jail for the steps after it.
    Mount(MountStep),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileStep {
    /// Relative to the definition's own directory (`jails/NAME/`).
    pub from: PathBuf,
    /// Inside the jail: absolute, plain names.
    pub to: PathBuf,
    pub mode: u32,
    pub owner: String,
    pub group: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: String,
    pub uid: Option<u32>,
    pub groups: Vec<String>,
    pub home: Option<PathBuf>,
    pub shell: Option<PathBuf>,
}

/// `Mount` with the fields a key hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MountStep {
    pub source: String,
    pub target: PathBuf,
    pub fstype: String,
    pub readonly: bool,
}

impl From<&MountStep> for Mount {
    fn from(m: &MountStep) -> Mount {
        Mount { source: m.source.clone(), target: m.target.clone(), fstype: m.fstype.clone(), readonly: m.readonly }
    }
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Pkg(_) => "pkg",
            Action::Copy(_) => "copy",
            Action::Render { .. } => "render",
            Action::Sysrc(_) => "sysrc",
            Action::Service { .. } => "service",
            Action::Run { .. } => "run",
            Action::User(_) => "user",
            Action::Mount(_) => "mount",
        }
    }

    /// One line for progress and plans: `pkg nginx py311-certbot`.
    pub fn summary(&self) -> String {
        let what = match self {
            Action::Pkg(p) => p.join(" "),
            Action::Copy(f) | Action::Render { file: f, .. } => format!("{} -> {}", f.from.display(), f.to.display()),
            Action::Sysrc(v) => v.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "),
            Action::Service { name, action } => format!("{name} {action}"),
            Action::Run { command, .. } => command.clone(),
            Action::User(u) => u.name.clone(),
            Action::Mount(m) => format!("{} -> {}", m.source, m.target.display()),
        };
        format!("{} {what}", self.kind())
    }

    /// Whether it needs the jail running (a process inside, or pkg -j).
    pub fn needs_jail(&self) -> bool {
        !matches!(self, Action::Copy(_) | Action::Render { .. } | Action::Sysrc(_) | Action::Mount(_))
    }
}

/// One validated step and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Byte offset of the step's key in the definition.
    pub offset: usize,
    pub action: Action,
}

/// A definition's provisioning.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Provision {
    pub steps: Vec<Step>,
    /// `[vars]` and the jail's own (`jail.name`, `jail.hostname`), for
    /// `render` templates.
    pub vars: BTreeMap<String, String>,
    /// Provision at the first start after create.
    pub on_create: bool,
}

/// The largest file a `copy` or `render` step reads.
pub const SOURCE_LIMIT: u64 = 64 << 20;

/// Service actions a step may take.
pub const SERVICE_ACTIONS: &[&str] =
    &["start", "stop", "restart", "reload", "enable", "disable", "onestart", "onestop", "onerestart"];

const STEP_KINDS: &str = "pkg, copy, render, sysrc, service, run, user or mount";

fn at<T>(s: &Spanned<T>, msg: impl Into<String>) -> Invalid {
    (s.span().start, msg.into())
}

/// A TOML scalar as the text a variable or rc.conf value holds: booleans
/// as rc.conf spells them.
fn scalar(v: &Spanned<toml::Value>, what: &str) -> Result<String, Invalid> {
    match v.get_ref() {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(if *b { "YES" } else { "NO" }.into()),
        _ => Err(at(v, format!("{what} must be a string, a number or true/false"))),
    }
}

fn vars_of(raw: &BTreeMap<Spanned<String>, Spanned<toml::Value>>) -> Result<BTreeMap<String, String>, Invalid> {
    let mut out = BTreeMap::new();
    for (k, v) in raw {
        if !is_var_name(k.get_ref()) || k.get_ref().starts_with("jail.") {
            return Err(at(
                k,
                format!(
                    "variable {} must be a letter or '_' then letters, digits and '_' (jail.* are brig's)",
                    quoted(k.get_ref())
                ),
            ));
        }
        out.insert(k.get_ref().clone(), scalar(v, &format!("variable {}", k.get_ref()))?);
    }
    Ok(out)
}

/// A string value with its placeholders replaced.
fn text(s: &Spanned<String>, vars: &BTreeMap<String, String>) -> Result<String, Invalid> {
    render::render(s.get_ref(), vars).map_err(|e| at(s, e.why))
}

/// A name of letters, digits and `_-.`, as pw(8), rc.d and pkg take it.
fn plain_name(n: &str, extra: &[char]) -> bool {
    !n.is_empty()
        && n.len() <= 128
        && !n.starts_with('-')
        && n.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c) || extra.contains(&c))
}

fn absolute(s: &Spanned<String>, vars: &BTreeMap<String, String>, what: &str) -> Result<PathBuf, Invalid> {
    let v = text(s, vars)?;
    super::jail::plain_absolute(&v).filter(|p| p.as_os_str() != "/").ok_or_else(|| {
        at(s, format!("{what} {} must be an absolute path of plain names (no '.', '..' or '//'), not /", quoted(&v)))
    })
}

/// A path relative to the definition's directory, without `..`.
fn relative(s: &Spanned<String>, vars: &BTreeMap<String, String>, what: &str) -> Result<PathBuf, Invalid> {
    let v = text(s, vars)?;
    let ok = !v.is_empty()
        && !v.starts_with('/')
        && !v.chars().any(char::is_control)
        && v.split('/').all(|p| !p.is_empty() && p != "." && p != "..");
    if !ok {
        return Err(at(
            s,
            format!(
                "{what} {} must be a path relative to the definition's directory, of plain names (no '..')",
                quoted(&v)
            ),
        ));
    }
    Ok(PathBuf::from(v))
}

fn owner(s: &Option<Spanned<String>>, vars: &BTreeMap<String, String>, what: &str) -> Result<String, Invalid> {
    let Some(s) = s else { return Ok(if what == "owner" { "root" } else { "wheel" }.into()) };
    let v = text(s, vars)?;
    if !plain_name(&v, &[]) || v.len() > 32 {
        return Err(at(s, format!("{what} {} must be a user or group name or number", quoted(&v))));
    }
    Ok(v)
}

fn mode(s: &Option<Spanned<String>>) -> Result<u32, Invalid> {
    let Some(s) = s else { return Ok(0o644) };
    u32::from_str_radix(s.get_ref(), 8)
        .ok()
        .filter(|m| *m <= 0o7777 && !s.get_ref().is_empty())
        .ok_or_else(|| at(s, format!("mode {} must be octal such as \"0644\"", quoted(s.get_ref()))))
}

fn file_step(
    from: &Spanned<String>,
    to: &Spanned<String>,
    m: &Option<Spanned<String>>,
    (o, g): (&Option<Spanned<String>>, &Option<Spanned<String>>),
    vars: &BTreeMap<String, String>,
    what: &str,
) -> Result<FileStep, Invalid> {
    Ok(FileStep {
        from: relative(from, vars, what)?,
        to: absolute(to, vars, "to")?,
        mode: mode(m)?,
        owner: owner(o, vars, "owner")?,
        group: owner(g, vars, "group")?,
    })
}

fn copy(c: &RawCopy, vars: &BTreeMap<String, String>) -> Result<Action, Invalid> {
    Ok(Action::Copy(file_step(&c.from, &c.to, &c.mode, (&c.owner, &c.group), vars, "from")?))
}

fn render_step(r: &RawRender, vars: &BTreeMap<String, String>) -> Result<Action, Invalid> {
    let file = file_step(&r.template, &r.to, &r.mode, (&r.owner, &r.group), vars, "template")?;
    let mut own = vars.clone();
    own.extend(vars_of(&r.vars)?);
    Ok(Action::Render { file, vars: own })
}

/// The kind a step is, at the span of its key; exactly one.
fn action(step: &RawStep, vars: &BTreeMap<String, String>) -> Result<Step, Invalid> {
    let mut kinds: Vec<(usize, &str)> = Vec::new();
    let mut note = |span: Option<std::ops::Range<usize>>, kind: &'static str| {
        if let Some(s) = span {
            kinds.push((s.start, kind));
        }
    };
    note(step.pkg.as_ref().map(Spanned::span), "pkg");
    note(step.copy.as_ref().map(Spanned::span), "copy");
    note(step.render.as_ref().map(Spanned::span), "render");
    note(step.sysrc.as_ref().map(Spanned::span), "sysrc");
    note(step.service.as_ref().map(Spanned::span), "service");
    note(step.run.as_ref().map(Spanned::span), "run");
    note(step.user.as_ref().map(Spanned::span), "user");
    note(step.mount.as_ref().map(Spanned::span), "mount");
    kinds.sort();
    let offset = match kinds.as_slice() {
        [] => {
            let span = step.creates.as_ref().map_or(0, |c| c.span().start);
            return Err((span, format!("a [[provision]] step needs one of {STEP_KINDS}")));
        }
        [(offset, _)] => *offset,
        [(_, a), (offset, b), ..] => {
            return Err((
                *offset,
                format!("a [[provision]] step does one thing, but this one has {a} and {b}; make two steps"),
            ))
        }
    };
    if let (Some(c), None) = (&step.creates, &step.run) {
        return Err(at(c, "creates goes with run, the command that makes that path"));
    }
    let action = if let Some(p) = &step.pkg {
        if p.get_ref().is_empty() {
            return Err(at(p, "pkg needs at least one package, such as pkg = [\"nginx\"]"));
        }
        let mut names = Vec::new();
        for n in p.get_ref() {
            let v = text(n, vars)?;
            if !plain_name(&v, &['+', '/', '@']) {
                return Err(at(
                    n,
                    format!("package {} must be a package name or origin such as nginx or www/nginx", quoted(&v)),
                ));
            }
            names.push(v);
        }
        Action::Pkg(names)
    } else if let Some(c) = &step.copy {
        copy(c.get_ref(), vars)?
    } else if let Some(r) = &step.render {
        render_step(r.get_ref(), vars)?
    } else if let Some(s) = &step.sysrc {
        if s.get_ref().is_empty() {
            return Err(at(s, "sysrc needs at least one variable, such as sysrc = { nginx_enable = \"YES\" }"));
        }
        let mut out = BTreeMap::new();
        for (k, v) in s.get_ref() {
            let ok = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(at(v, format!("{} is not an rc.conf variable name (letters, digits and '_')", quoted(k))));
            }
            let value = match v.get_ref() {
                toml::Value::String(t) => render::render(t, vars).map_err(|e| at(v, e.why))?,
                _ => scalar(v, &format!("sysrc {k}"))?,
            };
            if value.chars().any(|c| c.is_control() || c == '"' || c == '\\' || c == '$' || c == '`') {
                return Err(at(
                    v,
                    format!("sysrc {k}: the value cannot hold control characters, '\"', '\\\\', '$' or '`'"),
                ));
            }
            out.insert(k.clone(), value);
        }
        Action::Sysrc(out)
    } else if let Some(s) = &step.service {
        let svc = s.get_ref();
        let name = svc.name.as_ref().ok_or_else(|| {
            at(s, "a service step needs name, such as service = { name = \"nginx\", action = \"start\" }")
        })?;
        let n = text(name, vars)?;
        if !plain_name(&n, &[]) {
            return Err(at(name, format!("service {} must be an rc.d script name", quoted(&n))));
        }
        let action = match &svc.action {
            Some(a) if SERVICE_ACTIONS.contains(&a.get_ref().as_str()) => a.get_ref().clone(),
            Some(a) => {
                return Err(at(
                    a,
                    format!("action {} is not one of {}", quoted(a.get_ref()), SERVICE_ACTIONS.join(", ")),
                ))
            }
            None => "start".into(),
        };
        Action::Service { name: n, action }
    } else if let Some(r) = &step.run {
        let command = text(r, vars)?;
        if command.trim().is_empty() {
            return Err(at(r, "run needs a command"));
        }
        let creates = step.creates.as_ref().map(|c| absolute(c, vars, "creates")).transpose()?;
        Action::Run { command, creates }
    } else if let Some(u) = &step.user {
        let u = u.get_ref();
        let name = text(&u.name, vars)?;
        let valid = |n: &str| plain_name(n, &[]) && n.len() <= 32 && !n.contains('.');
        if !valid(&name) {
            return Err(at(
                &u.name,
                format!("user {} must be letters, digits, '_' and '-', at most 32", quoted(&name)),
            ));
        }
        let uid = match &u.uid {
            Some(i) => Some(
                u32::try_from(*i.get_ref())
                    .ok()
                    .filter(|v| (1..65535).contains(v))
                    .ok_or_else(|| at(i, "uid must be between 1 and 65534"))?,
            ),
            None => None,
        };
        let mut groups = Vec::new();
        for g in &u.groups {
            let v = text(g, vars)?;
            if !valid(&v) {
                return Err(at(g, format!("group {} must be letters, digits, '_' and '-'", quoted(&v))));
            }
            groups.push(v);
        }
        Action::User(User {
            name,
            uid,
            groups,
            home: u.home.as_ref().map(|h| absolute(h, vars, "home")).transpose()?,
            shell: u.shell.as_ref().map(|s| absolute(s, vars, "shell")).transpose()?,
        })
    } else if let Some(m) = &step.mount {
        let m = super::jail::mount(m.get_ref())?;
        Action::Mount(MountStep { source: m.source, target: m.target, fstype: m.fstype, readonly: m.readonly })
    } else {
        unreachable!("one kind was found above")
    };
    Ok(Step { offset, action })
}

/// Validates `[vars]` and `[[provision]]` of a definition for jail
/// `name` with `hostname`.
pub fn validate(raw: &RawJail, name: &str, hostname: &str) -> Result<Provision, Invalid> {
    let mut vars = vars_of(&raw.vars)?;
    vars.insert("jail.name".into(), name.into());
    vars.insert("jail.hostname".into(), hostname.into());
    let mut steps = Vec::with_capacity(raw.provision.len());
    let mut targets = std::collections::HashSet::new();
    for s in &raw.provision {
        let step = action(s, &vars)?;
        if let Action::Mount(m) = &step.action {
            if !targets.insert(m.target.clone()) {
                return Err((step.offset, format!("{} is mounted by two steps", m.target.display())));
            }
        }
        steps.push(step);
    }
    if let (Some(on), true) = (&raw.provision_on_create, steps.is_empty()) {
        if *on.get_ref() {
            return Err(at(on, "provision_on_create = true, but there is no [[provision]] step"));
        }
    }
    Ok(Provision { steps, vars, on_create: raw.provision_on_create.as_ref().is_some_and(|o| *o.get_ref()) })
}

/// The layer key everything starts from: the snapshot the jail's root
/// was first cloned from (`14.3-RELEASE@p5`), or the jail itself for a
/// root of its own.
pub fn base_key(base: &str) -> String {
    hex(&Sha256::digest(format!("brig-provision-1\0{base}")))
}

/// The key after `step`: the key before it, the step as it runs, and for
/// `copy` and `render` the bytes written.
pub fn step_key(before: &str, step: &Action, content: Option<&[u8]>) -> String {
    let mut h = Sha256::new();
    h.update(before.as_bytes());
    h.update(b"\0");
    h.update(serde_json::to_vec(step).unwrap_or_default());
    if let Some(c) = content {
        h.update(b"\0");
        h.update(Sha256::digest(c));
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How a layer's key is written in a snapshot name: `l-` and the first
/// 24 hex digits (96 bits).
pub fn layer_name(key: &str) -> String {
    format!("{LAYER_PREFIX}{}", &key[..24.min(key.len())])
}

pub const LAYER_PREFIX: &str = "l-";

#[cfg(test)]
mod tests {
    use super::*;

    fn provision(text: &str) -> Result<Provision, String> {
        let raw = crate::config::jail::parse(std::path::Path::new("t.toml"), text).map_err(|e| e.to_string())?;
        validate(&raw, "web", "web.example.org").map_err(|(offset, msg)| {
            let (line, col) = crate::config::line_col(text, offset);
            format!("{line}:{col}: {msg}")
        })
    }

    const SIX: &str = r#"release = "14.3-RELEASE"
[vars]
port = 8080
[[provision]]
pkg = ["nginx", "py311-certbot"]
[[provision]]
copy = { from = "files/nginx.conf", to = "/usr/local/etc/nginx/nginx.conf", mode = "0640", owner = "www" }
[[provision]]
render = { template = "files/site.conf.in", to = "/usr/local/etc/nginx/site.conf", vars = { root = "/srv" } }
[[provision]]
sysrc = { nginx_enable = true, nginx_flags = "-p {{ port }}" }
[[provision]]
run = "mkdir -p /srv/www"
creates = "/srv/www"
[[provision]]
service = { name = "nginx", action = "start" }
"#;

    #[test]
    fn six_steps_are_typed_with_their_lines() {
        let p = provision(SIX).expect("valid");
        let kinds: Vec<&str> = p.steps.iter().map(|s| s.action.kind()).collect();
        assert_eq!(kinds, ["pkg", "copy", "render", "sysrc", "run", "service"]);
        let lines: Vec<usize> = p.steps.iter().map(|s| crate::config::line_col(SIX, s.offset).0).collect();
        assert_eq!(lines, [5, 7, 9, 11, 13, 16]);
        let Action::Copy(f) = &p.steps[1].action else { panic!("copy") };
        assert_eq!((f.mode, f.owner.as_str(), f.group.as_str()), (0o640, "www", "wheel"));
        let Action::Sysrc(v) = &p.steps[3].action else { panic!("sysrc") };
        assert_eq!(v["nginx_enable"], "YES");
        assert_eq!(v["nginx_flags"], "-p 8080");
        let Action::Render { vars, .. } = &p.steps[2].action else { panic!("render") };
        assert_eq!((vars["root"].as_str(), vars["jail.name"].as_str(), vars["port"].as_str()), ("/srv", "web", "8080"));
        assert_eq!(
            p.steps[4].action,
            Action::Run { command: "mkdir -p /srv/www".into(), creates: Some("/srv/www".into()) }
        );
        assert!(!p.on_create);
    }

    #[test]
    fn bad_steps_are_named_at_their_value() {
        let base = "release = \"14.3-RELEASE\"\n";
        let err = |s: &str| provision(&format!("{base}{s}")).expect_err("invalid");
        assert_eq!(
            err("[[provision]]\ncreates = \"/x\"\n"),
            "3:11: a [[provision]] step needs one of pkg, copy, render, sysrc, service, run, user or mount"
        );
        assert_eq!(
            err("[[provision]]\nrun = \"true\"\npkg = [\"x\"]\n"),
            "4:7: a [[provision]] step does one thing, but this one has run and pkg; make two steps"
        );
        assert_eq!(
            err("[[provision]]\nservice = { action = \"start\" }\n"),
            "3:11: a service step needs name, such as service = { name = \"nginx\", action = \"start\" }"
        );
        assert!(err("[[provision]]\ncopy = { from = \"../etc/master.passwd\", to = \"/x\" }\n")
            .starts_with("3:17: from '../etc/master.passwd' must be a path relative"));
        assert!(err("[[provision]]\ncopy = { from = \"a\", to = \"/etc/../x\" }\n")
            .contains(" to '/etc/../x' must be an absolute path"));
        assert_eq!(err("[[provision]]\npkg = [\"{{ nope }}\"]\n"), "3:8: {{ nope }} names no variable; define it in [vars] or the step's vars (known: jail.hostname, jail.name)");
        assert!(err("[[provision]]\npkg = [\"-f\"]\n").contains("package '-f'"));
        assert!(err("[[provision]]\nsysrc = { x = \"$(reboot)\" }\n").contains("cannot hold"));
        assert!(err("[[provision]]\nservice = { name = \"nginx\", action = \"explode\" }\n")
            .contains("action 'explode' is not one of"));
        assert!(err("[[provision]]\ncopy = { from = \"a\", to = \"/b\", mode = \"999\" }\n").contains("must be octal"));
        assert!(err("[[provision]]\nuser = { name = \"web\", uid = 0 }\n").contains("uid must be between 1"));
        assert!(err("[[provision]]\nbogus = 1\n").contains("unknown field `bogus`"));
        assert_eq!(
            err("provision_on_create = true\n"),
            "2:23: provision_on_create = true, but there is no [[provision]] step"
        );
        assert!(err("[vars]\n\"jail.name\" = \"x\"\n").contains("jail.* are brig's"));
    }

    #[test]
    fn a_changed_step_changes_its_key_and_every_key_after_it() {
        let p = provision(SIX).expect("valid");
        let keys = |steps: &[Step]| {
            let mut k = base_key("14.3-RELEASE@base");
            steps
                .iter()
                .map(|s| {
                    k = step_key(&k, &s.action, None);
                    k.clone()
                })
                .collect::<Vec<_>>()
        };
        let before = keys(&p.steps);
        let changed =
            provision(&SIX.replace("nginx_flags = \"-p {{ port }}\"", "nginx_flags = \"-q\"")).expect("valid");
        let after = keys(&changed.steps);
        assert_eq!(before[..3], after[..3]);
        assert!(before[3..].iter().zip(&after[3..]).all(|(a, b)| a != b));
        let content = step_key(&before[0], &p.steps[1].action, Some(b"a"));
        assert_ne!(content, step_key(&before[0], &p.steps[1].action, Some(b"b")));
        assert_eq!(layer_name(&before[0]).len(), 26);
        assert_ne!(base_key("14.3-RELEASE@base"), base_key("14.3-RELEASE@p1"));
    }
}
