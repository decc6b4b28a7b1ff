use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::CliError;
use crate::config::{edit, jail, ConfigError, HostConfig};
use crate::host::Host;
use crate::model::jail::JailType;
use crate::model::jail::{validate, JailSpec};
use crate::model::JailName;
use crate::plan::jail as plan;
use crate::plan::release::{self as release_plan, BASE_SNAPSHOT};

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The jail's name: letters, digits, '-' and '_', not all digits, at most 63 characters.
    pub name: String,
    /// The base release, such as 14.3-RELEASE.
    #[arg(long)]
    pub release: Option<String>,
    /// thin (a ZFS clone of the release), thick (a copy) or empty.
    #[arg(long = "type", value_name = "TYPE")]
    pub jail_type: Option<String>,
    /// An IPv4 address with prefix length, such as 192.0.2.10/24 (repeatable).
    #[arg(long, value_name = "ADDR/LEN")]
    pub ip4: Vec<String>,
    /// An IPv6 address with prefix length (repeatable).
    #[arg(long, value_name = "ADDR/LEN")]
    pub ip6: Vec<String>,
    /// The host interface the addresses are added to.
    #[arg(long, value_name = "IF")]
    pub interface: Option<String>,
    /// The jail's hostname [default: its name].
    #[arg(long)]
    pub hostname: Option<String>,
    /// Start the jail at boot.
    #[arg(long)]
    pub boot: bool,
    /// Start order among independent jails, 0 to 999 (lower first).
    #[arg(long)]
    pub priority: Option<i64>,
    /// Jails that must run before this one.
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub depends: Vec<String>,
    /// A jail parameter, such as allow.raw_sockets=false (repeatable).
    #[arg(long = "param", value_name = "K=V")]
    pub params: Vec<String>,
    /// Start from this definition file (on this machine); the options above override it.
    #[arg(long, value_name = "FILE.toml", conflicts_with = "template")]
    pub from: Option<PathBuf>,
    /// Start from a template (`brig template list`); --set and the options above override it.
    #[arg(long, value_name = "NAME")]
    pub template: Option<String>,
    /// Set a key of the definition, such as limits.memoryuse=4G or zfs.quota=50G (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

/// `V` of `--param K=V` as TOML: `true`, `2`, `"text"`, or bare text.
fn param_value(v: &str) -> toml_edit::Value {
    match edit::parse_value(v) {
        toml_edit::Value::InlineTable(_) => toml_edit::Value::from(v),
        val => val,
    }
}

/// The definition text: the --from file or the --template with its
/// --set values, with the options applied on top.
fn definition(host: &dyn Host, args: &CreateArgs) -> Result<(String, PathBuf), CliError> {
    let (mut doc, shown) = match (&args.template, &args.from) {
        (Some(t), _) => {
            let t = crate::config::templates::find(host, t).map_err(template_error)?;
            let doc = crate::config::templates::instantiate(&t, &[]).map_err(template_error)?;
            (doc, PathBuf::from(format!("brig create {} --template {}", args.name, t.name)))
        }
        (None, Some(p)) => {
            let text = crate::config::read_text(p)?;
            let doc = text.parse::<toml_edit::DocumentMut>().map_err(|e| {
                let offset = e.span().map_or(0, |s| s.start);
                CliError::Config(ConfigError::at(p, &text, offset, e.message().to_string()))
            })?;
            (doc, p.clone())
        }
        (None, None) => (toml_edit::DocumentMut::new(), PathBuf::from(format!("brig create {}", args.name))),
    };
    for assignment in &args.sets {
        crate::config::templates::set(&mut doc, assignment).map_err(template_error)?;
    }
    let mut set = |k: &str, v: toml_edit::Value| {
        doc[k] = toml_edit::value(v);
    };
    if let Some(r) = &args.release {
        set("release", r.as_str().into());
    }
    if let Some(t) = &args.jail_type {
        set("type", t.as_str().into());
    }
    if let Some(h) = &args.hostname {
        set("hostname", h.as_str().into());
    }
    if args.boot {
        set("boot", true.into());
    }
    if let Some(p) = args.priority {
        set("priority", p.into());
    }
    if !args.depends.is_empty() {
        set("depends", args.depends.iter().map(String::as_str).collect::<toml_edit::Array>().into());
    }
    // Into [network] and [params] in whatever form the file wrote them.
    let array = |v: &[String]| toml_edit::Value::from(v.iter().map(String::as_str).collect::<toml_edit::Array>());
    let not_a_table = |e: edit::NotATable| CliError::Failed(format!("{}: {e}", shown.display()));
    if let Some(i) = &args.interface {
        edit::set(&mut doc, &["network"], "interface", i.as_str().into()).map_err(not_a_table)?;
    }
    if !args.ip4.is_empty() {
        edit::set(&mut doc, &["network"], "ip4", array(&args.ip4)).map_err(not_a_table)?;
    }
    if !args.ip6.is_empty() {
        edit::set(&mut doc, &["network"], "ip6", array(&args.ip6)).map_err(not_a_table)?;
    }
    for kv in &args.params {
        let (k, v) = kv.split_once('=').ok_or_else(|| {
            CliError::Usage(format!("--param {kv}: expected NAME=VALUE, such as allow.raw_sockets=false"))
        })?;
        edit::set(&mut doc, &["params"], k.trim(), param_value(v.trim())).map_err(not_a_table)?;
    }
    Ok((doc.to_string(), shown))
}

fn template_error(e: crate::config::templates::TemplateError) -> CliError {
    match e {
        crate::config::templates::TemplateError::Unknown(_) => CliError::NotFound(e.to_string()),
        _ => CliError::Usage(e.to_string()),
    }
}

/// Refuses addresses of `spec` that the host, a running jail or another
/// definition has. The caller holds `lock::addresses` from here until the
/// definition is written.
pub(super) fn check_addresses(host: &dyn Host, cfg: &HostConfig, spec: &JailSpec) -> Result<(), CliError> {
    if crate::plan::addresses::of(spec).is_empty() {
        return Ok(());
    }
    super::run::addresses_free(host, spec, &others(host, cfg, &spec.name))
}

pub fn run(host: &mut dyn Host, args: &CreateArgs) -> Result<ExitCode, CliError> {
    let cfg = super::require_config(host)?;
    let name = JailName::parse(&args.name)?;
    let _lock = super::guard::guard(host, &cfg, &[&name])?;
    if let Some(t) = &args.jail_type {
        if !["thin", "thick", "empty"].contains(&t.as_str()) {
            return Err(CliError::Usage(format!("--type {t}: expected thin, thick or empty")));
        }
    }
    let (text, shown) = definition(host, args)?;
    let raw = jail::parse(&shown, &text)?;
    let defaults = cfg.default_params().map_err(|(_, why)| CliError::Failed(format!("brig.toml: {why}")))?;
    let spec = validate(&name, &raw, &defaults, cfg.defaults.jail_type)
        .map_err(|(offset, msg)| CliError::Config(ConfigError::at(&shown, &text, offset, msg)))?;

    let def_path = host.local_path(&crate::state::layout::definition_path(&name));
    if def_path.exists() {
        return Err(CliError::Failed(format!("jail {name} already exists ({}); destroy it first", def_path.display())));
    }
    if let Some(j) = host.jail_find(name.as_str())? {
        return Err(CliError::Failed(format!(
            "a jail named {name} is already running (jid {}), not managed by brig",
            j.jid
        )));
    }
    if let (Some(r), JailType::Thin | JailType::Thick) = (&spec.release, spec.jail_type) {
        if !crate::app::observe::dataset_exists(host, &format!("{}@{BASE_SNAPSHOT}", release_plan::dataset(&cfg, r)))? {
            return Err(CliError::Failed(format!("release {r} is not fetched; run `brig release fetch {r}` first")));
        }
    }
    if crate::app::observe::dataset_exists(host, plan::dataset(&cfg, &name).as_str())? {
        return Err(CliError::Failed(format!(
            "dataset {} already exists without a definition; destroy it with `brig destroy {name}` first",
            plan::dataset(&cfg, &name)
        )));
    }
    // Other jails: dependencies must exist, addresses must not be shared.
    let mine = crate::plan::addresses::of(&spec);
    for dep in &spec.depends {
        if !host.local_path(&crate::state::layout::definition_path(dep)).exists() {
            return Err(CliError::Failed(format!("jail {name} depends on {dep}, which is not defined")));
        }
    }
    // Held until the definition is written: two creates cannot both
    // take one address.
    let _addresses = if mine.is_empty() { None } else { Some(crate::state::lock::addresses(host)?) };
    check_addresses(host, &cfg, &spec)?;
    let ops = plan::create(&cfg, &spec, &text);
    super::guard::journaled(host, &name, crate::state::journal::Action::Create, |h| Ok(crate::exec::run(h, &ops)?))?;
    println!(
        "created jail {name} ({}{}), root {}",
        spec.jail_type.as_str(),
        spec.release.as_ref().map(|r| format!(" of {r}")).unwrap_or_default(),
        plan::root_path(&cfg, &name).display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Every other valid definition (invalid ones cannot hold addresses).
fn others(host: &dyn Host, cfg: &HostConfig, me: &JailName) -> Vec<JailSpec> {
    jail::definition_files(host)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| jail::name_of(&p).filter(|n| n != me).map(|n| (p, n)))
        .filter_map(|(p, n)| jail::load(&p, &n, cfg).ok())
        .collect()
}
