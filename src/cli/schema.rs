//! `brig schema`: the JSON Schema of every `--json` document, generated
//! from the very types that print it, so a schema cannot drift from its
//! output. `schemas/*.json` in the source tree are these, checked by the
//! tests; a change that breaks one needs a new `JSON_VERSION`.

use std::process::ExitCode;

use clap::Args;
use schemars::{schema_for, Schema};

use super::output::JSON_VERSION;
use super::CliError;

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The output whose schema to print (`brig schema` lists them).
    pub name: Option<String>,
}

/// One `--json` document: its name (and file name in `schemas/`), the
/// command that prints it, its schema.
pub struct Output {
    pub name: &'static str,
    pub command: &'static str,
    pub schema: Schema,
}

/// Every `--json` document brig prints but `debug`'s, which describe the
/// simulated host for brig's own tests and carry no promise.
pub fn outputs() -> Vec<Output> {
    documents()
        .into_iter()
        .map(|(name, command, schema)| Output { name, command, schema: versioned(schema, command) })
        .collect()
}

/// Each document's name, command and schema as its type gives it.
fn documents() -> [(&'static str, &'static str, Schema); 25] {
    [
        ("apply", "brig apply --json", schema_for!(super::apply::ApplyJson<'static>)),
        ("audit", "brig audit --json", schema_for!(crate::app::check::Audit)),
        ("boot-plan", "brig boot plan --json", schema_for!(super::boot::PlanJson)),
        ("commit", "brig commit --json", schema_for!(super::output::Changed<crate::app::image::Committed>)),
        ("create", "brig create --json", schema_for!(super::output::Changed<super::create::CreateJson<'static>>)),
        ("doctor", "brig doctor --json", schema_for!(super::doctor::DoctorJson<'static>)),
        ("edit", "brig edit --from|--template|--set --json", schema_for!(super::edit::EditJson<'static>)),
        ("events", "brig events --json", schema_for!(super::events::EventsJson)),
        ("gc", "brig gc --json", schema_for!(super::gc::GcJson<'static>)),
        ("health", "brig health --json", schema_for!(super::health::HealthJson<'static>)),
        ("image-list", "brig image list --json", schema_for!(crate::app::image::Images)),
        ("info", "brig info NAME --json", schema_for!(crate::app::inspect::JailInfo)),
        ("limits", "brig limits NAME --json", schema_for!(crate::app::limits::Limits)),
        ("limits-change", "brig limits NAME set|unset --json", schema_for!(super::limits::ChangeJson<'static>)),
        ("list", "brig list --json", schema_for!(super::list::ListJson)),
        ("plan", "brig plan --json", schema_for!(super::apply::PlanJson<'static>)),
        (
            "provision",
            "brig provision NAME --json",
            schema_for!(super::output::Changed<crate::app::provision::Provisioned>),
        ),
        ("release-list", "brig release list --json", schema_for!(super::release::ListJson)),
        (
            "release-update",
            "brig release update --json",
            schema_for!(super::output::Changed<crate::app::release::Updated>),
        ),
        ("snapshot-list", "brig snapshot list --json", schema_for!(super::snapshot::ListJson)),
        ("stats", "brig stats --json", schema_for!(super::limits::StatsJson)),
        ("template-list", "brig template list --json", schema_for!(super::template::ListJson)),
        ("upgrade", "brig upgrade --json", schema_for!(super::upgrade::UpgradeJson)),
        ("usage", "brig usage NAME --json", schema_for!(super::usage::UsageJson<'static>)),
        ("validate", "brig validate --json", schema_for!(super::validate::ValidateJson)),
    ]
}

/// The schema as `print_json` prints the document: with `version`, which
/// every document carries, and titled by its command rather than a type.
fn versioned(mut schema: Schema, command: &str) -> Schema {
    schema.insert("title".into(), command.into());
    let version = serde_json::json!({
        "description": "The version of this document's schema; a change that breaks it raises the version.",
        "const": JSON_VERSION,
    });
    let object = schema.ensure_object();
    if let Some(props) = object.get_mut("properties").and_then(|p| p.as_object_mut()) {
        props.insert("version".into(), version);
    }
    if let Some(required) = object.entry("required").or_insert_with(|| serde_json::json!([])).as_array_mut() {
        required.push("version".into());
    }
    schema
}

pub fn run(args: &SchemaArgs) -> Result<ExitCode, CliError> {
    let all = outputs();
    let Some(name) = &args.name else {
        let rows = all.iter().map(|o| vec![o.name.to_string(), o.command.to_string()]).collect();
        println!("{}", super::output::table(&["NAME", "COMMAND"], rows));
        return Ok(ExitCode::SUCCESS);
    };
    let Some(o) = all.iter().find(|o| o.name == name) else {
        let names: Vec<&str> = all.iter().map(|o| o.name).collect();
        return Err(CliError::Usage(format!("no schema {name}: there are {}", names.join(", "))));
    };
    println!("{}", serde_json::to_string_pretty(&o.schema)?);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_document_has_a_key_of_its_own_named_version() {
        // print_json would overwrite it with the schema's version.
        for (name, _, schema) in super::documents() {
            assert!(schema.get("properties").and_then(|p| p.get("version")).is_none(), "{name} has a version key");
        }
    }
}
