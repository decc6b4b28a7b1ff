//! Property tests over everything that reads untrusted text or bytes:
//! definitions, jail names, parameter values, rctl amounts, cpu lists,
//! template --set assignments and release archives. Whatever the input:
//! no panic, no hang, and a refusal is a sentence. Case counts stay at
//! proptest's bounded default (PROPTEST_CASES to change), so CI runs a
//! fixed, short pass.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use proptest::prelude::*;

use brig::model::jail::JailType;
use brig::model::JailName;

/// TOML-ish text built from the pieces definitions are made of, so the
/// parser gets past the syntax and into validation often.
fn definition_text() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "release",
        "type",
        "hostname",
        "boot",
        "priority",
        "depends",
        "ready",
        "ready_timeout",
        "relase",
        "",
    ]);
    let table = prop::sample::select(vec![
        "",
        "[network]\n",
        "[params]\n",
        "[limits]\n",
        "[zfs]\n",
        "[exec]\n",
        "[[mount]]\n",
        "[snapshots]\n",
    ]);
    let value = prop::sample::select(vec![
        "\"14.3-RELEASE\"",
        "\"thin\"",
        "true",
        "-1",
        "99999999999999999999",
        "\"\"",
        "[\"a\", \"b\"]",
        "{ amount = 1 }",
        "\"exec:true\"",
        "\"0-3\"",
        "\"1G\"",
        "\"../x\"",
        "[[]]",
        "\"\\u0000\"",
    ]);
    let sub = prop::sample::select(vec![
        "ip4",
        "interface",
        "inherit",
        "securelevel",
        "\"allow.mount\"",
        "memoryuse",
        "cpus",
        "quota",
        "delegate",
        "target",
        "source",
        "start",
        "maxproc",
        "bandwidth_in",
        "keep",
        "every",
    ]);
    prop::collection::vec((table, key, sub, value, any::<bool>()), 0..12).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(t, k, s, v, top)| if top { format!("{t}{k} = {v}\n") } else { format!("{t}{s} = {v}\n") })
            .collect()
    })
}

proptest! {
    #[test]
    fn any_definition_is_accepted_or_refused_with_a_position(text in prop_oneof![definition_text(), ".{0,300}"]) {
        let path = Path::new("fuzz.toml");
        match brig::config::jail::parse(path, &text) {
            Err(e) => prop_assert!(e.to_string().starts_with("fuzz.toml"), "{e}"),
            Ok(raw) => {
                let name = JailName::parse("fuzz").expect("name");
                if let Err((offset, msg)) = brig::model::jail::validate(&name, &raw, &[], JailType::Thin) {
                    prop_assert!(offset <= text.len());
                    prop_assert!(!msg.is_empty());
                }
            }
        }
    }

    #[test]
    fn jail_names_are_safe_or_refused(s in prop_oneof![".{0,80}", "[a-zA-Z0-9._-]{0,20}"]) {
        // A name is one part, or `parent.child`: two parts, each safe alone.
        if let Ok(n) = JailName::parse(&s) {
            let parts: Vec<&str> = n.as_str().split('.').collect();
            prop_assert!(parts.len() <= 2);
            for part in parts {
                prop_assert!(!part.is_empty() && part.len() <= 63);
                prop_assert!(part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
                prop_assert!(!part.bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }

    #[test]
    fn parameter_values_never_panic(i in 0usize..brig::kernel::params::PARAMS.len(), v in prop_oneof![
        any::<i64>().prop_map(toml::Value::Integer),
        ".{0,40}".prop_map(toml::Value::String),
        any::<bool>().prop_map(toml::Value::Boolean),
        prop::collection::vec(".{0,20}".prop_map(toml::Value::String), 0..4).prop_map(toml::Value::Array),
    ]) {
        let name = brig::kernel::params::PARAMS[i].name;
        let _ = brig::model::param::check(name, &v);
    }

    #[test]
    fn amounts_and_cpu_lists_never_panic(s in "[0-9kKmMgGtTpPeE,\\- ]{0,30}|.{0,30}") {
        if let Ok(n) = brig::model::limits::parse_amount(&s) {
            if s.trim().bytes().all(|b| b.is_ascii_digit()) {
                prop_assert_eq!(Some(n), s.trim().parse::<u64>().ok());
            }
        }
        if let Ok(cpus) = brig::model::limits::parse_cpus(&s) {
            prop_assert!(cpus.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(cpus.iter().all(|c| *c < brig::model::limits::MAX_CPUS));
        }
    }

    #[test]
    fn set_assignments_never_panic(s in "[a-z.\"=\\[\\]{} 0-9]{0,40}") {
        let mut doc = toml_edit::DocumentMut::new();
        let _ = brig::config::templates::set(&mut doc, &s);
    }

    #[test]
    fn release_archives_never_panic_or_escape(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root_dir = dir.path().join("root");
        std::fs::create_dir(&root_dir).expect("mkdir");
        let root = brig::state::beneath::Root::open(&root_dir).expect("root");
        let stop = AtomicBool::new(false);
        // Raw bytes as a tar stream: nearly always a refusal, never a panic.
        let budget = brig::model::release::Budget { bytes: 1 << 20, entries: 1000 };
        let _ = brig::release::extract::extract_tar(bytes.as_slice(), "fuzz.tar", &root, &mut budget.clone(), &stop);
        let archive = dir.path().join("fuzz.txz");
        std::fs::write(&archive, &bytes).expect("write");
        prop_assert!(brig::release::extract::extract_txz(&archive, &root, &mut budget.clone(), &stop).is_err() || bytes.is_empty());
        // Nothing was written beside the root.
        let beside: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").flatten().map(|e| e.file_name()).collect();
        prop_assert_eq!(beside.len(), 2);
    }
}

/// A table of a definition: its name, keys with integer values, and the
/// form it is written in: 0 `[table]`, 1 inline, 2 dotted keys.
type Written = (String, Vec<(String, i64)>, u8);

fn tables() -> impl Strategy<Value = Vec<Written>> {
    let table = prop::sample::select(vec!["limits", "network", "params", "zfs", "exec"]);
    let entries = prop::collection::btree_map("[a-z]{1,6}", any::<i64>(), 0..4);
    prop::collection::btree_map(table, (entries, 0u8..3), 0..4)
        .prop_map(|m| m.into_iter().map(|(t, (e, form))| (t.to_string(), e.into_iter().collect(), form)).collect())
}

fn render(tables: &[Written]) -> String {
    let mut top = String::from("release = \"14.3-RELEASE\" # kept\n");
    let mut sections = String::new();
    for (t, entries, form) in tables {
        let pairs: Vec<String> = entries.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        match form {
            0 => sections.push_str(&format!("[{t}]\n{}\n", pairs.join("\n"))),
            1 => top.push_str(&format!("{t} = {{ {} }}\n", pairs.join(", "))),
            _ => top.extend(pairs.iter().map(|p| format!("{t}.{p}\n"))),
        }
    }
    top + &sections
}

proptest! {
    #[test]
    fn an_edit_changes_only_the_key_it_names(tables in tables(), which in any::<prop::sample::Index>(), key in "[a-z]{1,6}", value in any::<i64>(), unset in any::<bool>()) {
        let text = render(&tables);
        let mut doc: toml_edit::DocumentMut = text.parse().expect("generated TOML parses");
        let mut want: toml::Table = toml::from_str(&text).expect("generated TOML parses");
        let table = tables.get(which.index(tables.len().max(1))).map_or("limits", |t| t.0.as_str());
        if unset {
            let had = brig::config::edit::remove(&mut doc, &[table], &key).expect("a table");
            let gone = want.get_mut(table).and_then(|t| t.as_table_mut()).and_then(|t| t.remove(&key));
            prop_assert_eq!(had, gone.is_some());
            // A table written only as dotted keys (`limits.y = 0`) is gone
            // with its last key: there is nothing left to write it with.
            let dotted = tables.iter().any(|(t, _, form)| t == table && *form == 2);
            if dotted && want.get(table).and_then(|t| t.as_table()).is_some_and(|t| t.is_empty()) {
                want.remove(table);
            }
        } else {
            brig::config::edit::set(&mut doc, &[table], &key, value.into()).expect("a table");
            let t = want.entry(table).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            t.as_table_mut().expect("a table").insert(key.clone(), toml::Value::Integer(value));
        }
        let out = doc.to_string();
        let got: toml::Table = toml::from_str(&out).map_err(|e| TestCaseError::fail(format!("{e}\n{out}")))?;
        prop_assert_eq!(got, want, "{} ->\n{}", text, out);
        prop_assert!(out.contains("# kept"));
    }
}
