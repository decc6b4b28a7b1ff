//! The changes brig makes to a definition's text (`create` options on top
//! of a file or template, `--set`, `limits set|unset`): each touches only
//! the key it names, whatever TOML form the user gave the table holding it
//! (a `[table]`, an inline table, dotted keys), and keeps every other key
//! and comment. Replacing a table written inline with a fresh `[table]`
//! silently dropped the user's other keys before.

use thiserror::Error;
use toml_edit::{DocumentMut, InlineTable, Item, TableLike, Value};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{key} is {what} in the definition, not a table; write it as [{key}] or {key} = {{ ... }}")]
pub struct NotATable {
    pub key: String,
    pub what: &'static str,
}

/// A definition's text as a document to edit; `shown` names it in the
/// error, with the line and column.
pub fn document(text: &str, shown: &std::path::Path) -> Result<DocumentMut, super::ConfigError> {
    text.parse::<DocumentMut>()
        .map_err(|e| super::ConfigError::at(shown, text, e.span().map_or(0, |s| s.start), e.message().to_string()))
}

/// A TOML array of strings, such as a list of addresses.
pub fn strings(values: &[String]) -> Value {
    Value::from(values.iter().map(String::as_str).collect::<toml_edit::Array>())
}

/// The table at `path` (such as `["network"]`), in the form it has; a
/// missing one is made, as a `[table]`, or inline inside an inline table.
pub fn table_at<'a>(doc: &'a mut DocumentMut, path: &[&str]) -> Result<&'a mut dyn TableLike, NotATable> {
    let mut table: &mut dyn TableLike = doc.as_table_mut();
    let mut inline = false;
    for (depth, key) in path.iter().enumerate() {
        if table.get(key).is_none() {
            let fresh = if inline { Item::Value(Value::InlineTable(InlineTable::new())) } else { toml_edit::table() };
            table.insert(key, fresh);
        }
        let item = table.get_mut(key).ok_or_else(|| not_a_table(path, depth, "missing"))?;
        inline = inline || matches!(item, Item::Value(Value::InlineTable(_)));
        let what = kind(item);
        table = item.as_table_like_mut().ok_or_else(|| not_a_table(path, depth, what))?;
    }
    Ok(table)
}

fn not_a_table(path: &[&str], depth: usize, what: &'static str) -> NotATable {
    NotATable { key: path[..=depth].join("."), what }
}

fn kind(item: &Item) -> &'static str {
    match item {
        Item::Value(Value::String(_)) => "a string",
        Item::Value(Value::Integer(_)) | Item::Value(Value::Float(_)) => "a number",
        Item::Value(Value::Boolean(_)) => "a boolean",
        Item::Value(Value::Array(_)) | Item::ArrayOfTables(_) => "an array",
        Item::Value(Value::Datetime(_)) => "a date",
        _ => "a table",
    }
}

/// A value given on the command line (`--set K=V`, `limits set R=V`) as
/// TOML: `200`, `true`, `"text"`, `["a"]`, an inline table, or bare text
/// as a string.
pub fn parse_value(v: &str) -> Value {
    v.parse::<Value>().unwrap_or_else(|_| Value::from(v))
}

/// Sets `path`.`key` to `value` (a key with dots, such as a parameter
/// name, stays one key).
pub fn set(doc: &mut DocumentMut, path: &[&str], key: &str, value: Value) -> Result<(), NotATable> {
    let table = table_at(doc, path)?;
    // Keep the decoration (comments, spacing) of a value being replaced.
    match table.get_mut(key) {
        Some(Item::Value(old)) => {
            let decor = old.decor().clone();
            *old = value;
            *old.decor_mut() = decor;
        }
        _ => {
            table.insert(key, Item::Value(value));
        }
    }
    Ok(())
}

/// Removes `path`.`key`; whether it was there. A missing table is not
/// made for this.
pub fn remove(doc: &mut DocumentMut, path: &[&str], key: &str) -> Result<bool, NotATable> {
    let mut table: &mut dyn TableLike = doc.as_table_mut();
    for (depth, k) in path.iter().enumerate() {
        let Some(item) = table.get_mut(k) else { return Ok(false) };
        let what = kind(item);
        table = item.as_table_like_mut().ok_or_else(|| not_a_table(path, depth, what))?;
    }
    Ok(table.remove(key).is_some())
}

/// Whether two definition texts hold the same values however they are
/// written (quotes, spacing, the order of keys); texts that do not parse
/// are compared as text.
pub fn same_values(a: &str, b: &str) -> bool {
    match (a.parse::<toml::Table>(), b.parse::<toml::Table>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> DocumentMut {
        text.parse().expect("toml")
    }

    #[test]
    fn every_form_of_a_table_keeps_its_other_keys() {
        for text in [
            "release = \"14.3-RELEASE\"\n[limits]\nmaxproc = 10 # mine\n",
            "release = \"14.3-RELEASE\"\nlimits = { maxproc = 10 }\n",
            "release = \"14.3-RELEASE\"\nlimits.maxproc = 10\n",
        ] {
            let mut d = doc(text);
            set(&mut d, &["limits"], "memoryuse", "1G".into()).expect("set");
            let back: toml::Table = toml::from_str(&d.to_string()).expect("still TOML");
            assert_eq!(back["limits"]["maxproc"].as_integer(), Some(10), "{text} -> {d}");
            assert_eq!(back["limits"]["memoryuse"].as_str(), Some("1G"), "{text} -> {d}");
            assert_eq!(back["release"].as_str(), Some("14.3-RELEASE"));
            assert!(remove(&mut d, &["limits"], "maxproc").expect("remove"));
            assert!(!remove(&mut d, &["limits"], "maxproc").expect("remove"));
            let back: toml::Table = toml::from_str(&d.to_string()).expect("still TOML");
            assert_eq!(back["limits"].as_table().map(|t| t.len()), Some(1), "{d}");
        }
        let mut d = doc("[limits]\nmaxproc = 10 # the old limit\n");
        set(&mut d, &["limits"], "maxproc", 20.into()).expect("set");
        assert_eq!(d.to_string(), "[limits]\nmaxproc = 20 # the old limit\n");
    }

    #[test]
    fn a_missing_table_is_made_and_a_value_in_the_way_is_named() {
        let mut d = doc("network = { interface = \"em0\" }\n");
        set(&mut d, &["network"], "ip4", toml_edit::Array::from_iter(["192.0.2.10/24"]).into()).expect("set");
        set(&mut d, &["params"], "allow.raw_sockets", false.into()).expect("set");
        let back: toml::Table = toml::from_str(&d.to_string()).expect("TOML");
        assert_eq!(back["network"]["interface"].as_str(), Some("em0"));
        assert_eq!(back["params"]["allow.raw_sockets"].as_bool(), Some(false));
        let mut d = doc("limits = 5\n");
        let e = set(&mut d, &["limits"], "maxproc", 1.into()).expect_err("a number");
        assert_eq!(
            e.to_string(),
            "limits is a number in the definition, not a table; write it as [limits] or limits = { ... }"
        );
    }
}
