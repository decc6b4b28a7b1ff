//! A definition written as a JSON object, which is how configuration
//! management (an Ansible dict, a script) holds one, turned into the TOML
//! text brig keeps. Only the form changes: the keys and values are the
//! TOML definition's, and the result is validated like any definition.

use std::path::Path;

use super::ConfigError;

/// Whether `path` names a JSON definition (`NAME.json`) rather than TOML.
pub fn is_json(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// The TOML text of the JSON object `text`, read from `path`. JSON has
/// `null`, TOML does not: a null is refused with its key, rather than
/// dropped, so nothing the caller wrote is silently lost.
pub fn to_toml(path: &Path, text: &str) -> Result<String, ConfigError> {
    let invalid = |line, col, msg: String| ConfigError::Invalid { path: path.into(), line, col, msg };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        // serde_json's sentence ends with its own position; ours leads.
        let msg = e.to_string();
        let msg = msg.strip_suffix(&format!(" at line {} column {}", e.line(), e.column())).unwrap_or(&msg);
        invalid(e.line(), e.column(), format!("not JSON: {msg}"))
    })?;
    if !value.is_object() {
        return Err(invalid(1, 1, "a JSON definition is one object, such as {\"release\": \"14.3-RELEASE\"}".into()));
    }
    if let Some(key) = null_at(&value, "") {
        return Err(invalid(1, 1, format!("{key} is null, which TOML cannot hold: leave the key out instead")));
    }
    let table = toml::Table::try_from(&value).map_err(|e| invalid(1, 1, format!("cannot be TOML: {e}")))?;
    toml::to_string(&table).map_err(|e| invalid(1, 1, format!("cannot be TOML: {e}")))
}

/// `err`, found in the TOML text `toml` made of the JSON definition it
/// names, told by the key at its line: the TOML's lines are not the JSON
/// file's, so a line number would send the reader to the wrong place.
pub fn at_key(err: ConfigError, toml: &str) -> ConfigError {
    match err {
        ConfigError::Invalid { path, line, msg, .. } if is_json(&path) => {
            let key = key_at(toml, line).unwrap_or_else(|| "the definition".into());
            ConfigError::AtKey { path, key, msg }
        }
        other => other,
    }
}

/// The dotted key of line `line` (1-based) of TOML as `to_toml` writes it:
/// `key = value` lines under `[table]` and `[[array]]` headers, an array
/// of tables told by its index (`mount[1].target`).
fn key_at(toml: &str, line: usize) -> Option<String> {
    let mut table = String::new();
    let mut seen: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for text in toml.lines().take(line) {
        let text = text.trim();
        if let Some(name) = text.strip_prefix("[[").and_then(|t| t.strip_suffix("]]")) {
            let n = seen.entry(name.to_string()).and_modify(|n| *n += 1).or_insert(0);
            table = format!("{name}[{n}]");
        } else if let Some(name) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            table = name.to_string();
        }
    }
    let text = toml.lines().nth(line.checked_sub(1)?)?.trim();
    if text.starts_with('[') {
        return Some(table);
    }
    let key = text.split_once('=')?.0.trim();
    Some(if table.is_empty() { key.to_string() } else { format!("{table}.{key}") })
}

/// The dotted key of the first null in `v`, if any (`network.ip4[1]`).
fn null_at(v: &serde_json::Value, at: &str) -> Option<String> {
    match v {
        serde_json::Value::Null => Some(at.to_string()),
        serde_json::Value::Object(m) => m.iter().find_map(|(k, v)| {
            let key = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
            null_at(v, &key)
        }),
        serde_json::Value::Array(a) => a.iter().enumerate().find_map(|(i, v)| null_at(v, &format!("{at}[{i}]"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{is_json, to_toml};

    fn convert(json: &str) -> Result<String, String> {
        to_toml(Path::new("web.json"), json).map_err(|e| e.to_string())
    }

    #[test]
    fn values_before_tables_and_arrays_of_tables() {
        let toml = convert(
            r#"{"release": "14.3-RELEASE", "network": {"ip4": ["10.0.0.5/24"]}, "boot": true,
                "mount": [{"source": "/a", "target": "/b"}], "limits": {"maxproc": 200}}"#,
        )
        .unwrap();
        assert_eq!(
            toml,
            "boot = true\nrelease = \"14.3-RELEASE\"\n\n[limits]\nmaxproc = 200\n\n[[mount]]\nsource = \"/a\"\ntarget = \"/b\"\n\n[network]\nip4 = [\"10.0.0.5/24\"]\n"
        );
    }

    #[test]
    fn errors_name_the_file_and_what_is_wrong() {
        assert_eq!(convert("{\"a\": 1,\n}").unwrap_err(), "web.json:2:1: not JSON: trailing comma");
        assert_eq!(
            convert("[1]").unwrap_err(),
            "web.json:1:1: a JSON definition is one object, such as {\"release\": \"14.3-RELEASE\"}"
        );
        assert_eq!(
            convert(r#"{"network": {"ip4": ["10.0.0.5/24", null]}}"#).unwrap_err(),
            "web.json:1:1: network.ip4[1] is null, which TOML cannot hold: leave the key out instead"
        );
        assert!(convert(r#"{"a": 18446744073709551615}"#).unwrap_err().starts_with("web.json:1:1: cannot be TOML: "));
    }

    #[test]
    fn an_error_in_the_toml_made_of_json_is_told_by_its_key() {
        let toml =
            "boot = true\n\n[limits]\nmaxproc = 200\n\n[[mount]]\ntarget = \"/a\"\n\n[[mount]]\ntarget = \"/b\"\n";
        let at = |line| {
            let err = super::ConfigError::Invalid { path: "web.json".into(), line, col: 3, msg: "bad".into() };
            super::at_key(err, toml).to_string()
        };
        assert_eq!(at(1), "web.json: boot: bad");
        assert_eq!(at(4), "web.json: limits.maxproc: bad");
        assert_eq!(at(10), "web.json: mount[1].target: bad");
        assert_eq!(at(9), "web.json: mount[1]: bad");
        assert_eq!(at(40), "web.json: the definition: bad");
        // A TOML file keeps its lines.
        let err = super::ConfigError::Invalid { path: "web.toml".into(), line: 4, col: 3, msg: "bad".into() };
        assert_eq!(super::at_key(err, toml).to_string(), "web.toml:4:3: bad");
    }

    #[test]
    fn json_is_told_by_the_extension() {
        assert!(is_json(Path::new("/tmp/web.json")) && is_json(Path::new("W.JSON")));
        assert!(!is_json(Path::new("web.toml")) && !is_json(Path::new("json")));
    }
}
