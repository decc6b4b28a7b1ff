//! Rendering for people (tables) and for programs (JSON with a version).

use serde::Serialize;

/// The JSON schema version every `--json` document carries.
pub const JSON_VERSION: u32 = 1;

/// Prints `{"version": 1, ...value}` on stdout.
pub fn print_json<T: Serialize>(value: &T) -> Result<(), super::CliError> {
    let mut v = serde_json::to_value(value).map_err(|e| super::CliError::Failed(format!("cannot encode JSON: {e}")))?;
    if let serde_json::Value::Object(map) = &mut v {
        map.insert("version".into(), serde_json::Value::from(JSON_VERSION));
    }
    let text =
        serde_json::to_string_pretty(&v).map_err(|e| super::CliError::Failed(format!("cannot encode JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// A plain table: a header row and aligned columns, no borders, so it
/// reads like jls(8) and greps well.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut b = tabled::builder::Builder::default();
    b.push_record(header.iter().map(|h| h.to_string()));
    for r in rows {
        b.push_record(r);
    }
    let mut t = b.build();
    t.with(tabled::settings::Style::blank());
    t.with(tabled::settings::Padding::new(0, 2, 0, 0));
    t.to_string().lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}
