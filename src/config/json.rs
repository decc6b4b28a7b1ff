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
    let value = serde_json::from_str::<Unique>(text).map(|u| u.0).map_err(|e| {
        // serde_json's sentence ends with its own position; ours leads.
        let msg = e.to_string();
        let msg = msg.strip_suffix(&format!(" at line {} column {}", e.line(), e.column())).unwrap_or(&msg);
        ConfigError::Invalid { path: path.into(), line: e.line(), col: e.column(), msg: format!("not JSON: {msg}") }
    })?;
    // Past JSON's own syntax, a line of it is nothing to point at.
    let whole = |msg: String| ConfigError::AtKey { path: path.into(), key: "the definition".into(), msg };
    if !value.is_object() {
        return Err(whole("is one object in JSON, such as {\"release\": \"14.3-RELEASE\"}".into()));
    }
    if let Some(key) = null_at(&value, "") {
        let msg = "is null, which TOML cannot hold: leave the key out instead".into();
        return Err(ConfigError::AtKey { path: path.into(), key, msg });
    }
    let table = toml::Table::try_from(&value).map_err(|e| whole(format!("cannot be TOML: {e}")))?;
    toml::to_string(&table).map_err(|e| whole(format!("cannot be TOML: {e}")))
}

/// A JSON value whose objects name each key once. serde_json keeps the
/// last of a key given twice; a definition is refused instead, so no value
/// the caller wrote is silently dropped.
struct Unique(serde_json::Value);

impl<'de> serde::Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Unique, E> {
        Ok(Unique(v.into()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Unique, E> {
        Ok(Unique(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Unique, E> {
        Ok(Unique(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Unique, E> {
        Ok(Unique(v.into()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Unique, E> {
        Ok(Unique(v.into()))
    }

    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique(serde_json::Value::Null))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Unique(items.into()))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("key {key:?} is given twice")));
            }
            let Unique(v) = map.next_value()?;
            object.insert(key, v);
        }
        Ok(Unique(object.into()))
    }
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
            convert("{\"limits\": {\"maxproc\": 1,\n \"maxproc\": 2}}").unwrap_err(),
            "web.json:2:10: not JSON: key \"maxproc\" is given twice"
        );
        // Floats and nested arrays come through as they are.
        assert_eq!(convert(r#"{"a": [[1.5, -2]], "b": "x"}"#).unwrap(), "a = [[1.5, -2]]\nb = \"x\"\n");
        assert_eq!(
            convert("[1]").unwrap_err(),
            "web.json: the definition: is one object in JSON, such as {\"release\": \"14.3-RELEASE\"}"
        );
        assert_eq!(
            convert(r#"{"network": {"ip4": ["10.0.0.5/24", null]}}"#).unwrap_err(),
            "web.json: network.ip4[1]: is null, which TOML cannot hold: leave the key out instead"
        );
        let big = convert(r#"{"a": 18446744073709551615}"#).unwrap_err();
        assert!(big.starts_with("web.json: the definition: cannot be TOML: "), "{big}");
    }

    #[test]
    fn json_is_told_by_the_extension() {
        assert!(is_json(Path::new("/tmp/web.json")) && is_json(Path::new("W.JSON")));
        assert!(!is_json(Path::new("web.toml")) && !is_json(Path::new("json")));
    }
}
