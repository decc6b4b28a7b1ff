//! Jail definitions, `/usr/local/etc/brig/jails/NAME.toml`, as written:
//! every key of brig.toml(5)'s JAIL DEFINITIONS, unknown keys refused, and
//! the position of every value kept so that validation errors can name the
//! file, line and column.

use std::path::Path;

use super::{read_text, ConfigError, HostConfig};
use crate::model::jail::{self as spec, JailSpec};
pub use crate::model::raw::RawJail;
use crate::model::JailName;

/// Parses the text of a definition; syntax errors and unknown keys name
/// the file, line and column.
pub fn parse(path: &Path, text: &str) -> Result<RawJail, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        ConfigError::at(path, text, offset, explain(text, offset, e.message()))
    })
}

/// The TOML reader's words made a sentence about the key: "invalid type:
/// string \"high\", expected i64" at `priority` becomes "priority must be a
/// number such as 50, not the string \"high\"". Messages it does not know
/// are passed on as they are.
pub(super) fn explain(text: &str, offset: usize, message: &str) -> String {
    let Some(key) = super::key_at(text, super::line_col(text, offset).0) else { return message.to_string() };
    if message == "duplicate key" {
        return format!("{key} is given twice; keep one of them");
    }
    let Some((found, expected)) = message.strip_prefix("invalid type: ").and_then(|m| m.split_once(", expected "))
    else {
        return message.to_string();
    };
    let last = key.rsplit('.').next().unwrap_or(&key);
    let form = match expected {
        "i64" | "u64" | "u32" | "u16" | "i32" | "an integer" => {
            let example = match last {
                "priority" => "50",
                "ready_timeout" => "60",
                _ => "10",
            };
            format!("a number such as {example}")
        }
        "a boolean" => "true or false".to_string(),
        "a sequence" => {
            let example = match last {
                "depends" => "[\"db\"]",
                "ip4" => "[\"192.0.2.10/24\"]",
                "ip6" => "[\"2001:db8::10/64\"]",
                _ => "[\"a\", \"b\"]",
            };
            format!("a list such as {example}")
        }
        "a string" => {
            let example = match last {
                "release" => "\"14.3-RELEASE\"",
                "hostname" => "\"web.example.org\"",
                "type" => "\"thin\"",
                "interface" => "\"em0\"",
                _ => "\"text\"",
            };
            format!("a string in quotes such as {example}")
        }
        _ => return message.to_string(),
    };
    let found = match found.split_once(' ') {
        Some(("string", v)) => format!("the string {v}"),
        Some(("integer" | "floating", v)) => format!("the number {}", v.trim_start_matches("point ").trim_matches('`')),
        Some(("boolean", v)) => v.trim_matches('`').to_string(),
        _ if found == "sequence" => "a list".to_string(),
        _ if found == "map" => "a table".to_string(),
        _ => found.to_string(),
    };
    format!("{key} must be {form}, not {found}")
}

/// Every `*.toml` in the jails directory of the managed machine (paths
/// of the machine, in name order), leaving out brig's own dotfiles (edit
/// copies). A missing directory has none.
pub fn definition_files(host: &dyn crate::host::Host) -> Result<Vec<std::path::PathBuf>, ConfigError> {
    let dir = Path::new(crate::state::layout::JAILS_DIR);
    let names = host.list_dir(dir).map_err(|e| ConfigError::io(host.local_path(dir), e))?;
    Ok(names.iter().filter(|n| n.ends_with(".toml") && !n.starts_with('.')).map(|n| dir.join(n)).collect())
}

/// The jail a definition file is for, from its name (`web.toml` -> web).
pub fn name_of(path: &Path) -> Option<JailName> {
    JailName::parse(&path.file_stem()?.to_string_lossy()).ok()
}

/// Reads and validates the definition of jail `name` at `path` (a file
/// on this machine, such as `brig validate FILE` names). Every error
/// names the file, line and column.
pub fn load(path: &Path, name: &JailName, host: &HostConfig) -> Result<JailSpec, ConfigError> {
    check(path, &read_text(path)?, name, host)
}

/// Reads and validates jail `name`'s definition on the managed machine.
pub fn load_defined(host: &dyn crate::host::Host, name: &JailName, cfg: &HostConfig) -> Result<JailSpec, ConfigError> {
    let path = crate::state::layout::definition_path(name);
    let text = super::read_machine_text(host, &path)?;
    check(&host.local_path(&path), &text, name, cfg)
}

/// Validates the text of jail `name`'s definition (shown as `path`), as
/// it would be loaded: an edit is checked with this before it is written.
pub fn check(path: &Path, text: &str, name: &JailName, host: &HostConfig) -> Result<JailSpec, ConfigError> {
    let raw = parse(path, text)?;
    let defaults =
        host.default_params().map_err(|(_, why)| ConfigError::at(path, text, 0, format!("brig.toml: {why}")))?;
    spec::validate(name, &raw, &defaults, host.defaults.jail_type)
        .map_err(|(offset, msg)| ConfigError::at(path, text, offset, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_with_position() {
        let e = parse(Path::new("web.toml"), "release = \"14.3-RELEASE\"\n[network]\nip5 = []\n").expect_err("typo");
        assert!(e.to_string().starts_with("web.toml:3:1: unknown field `ip5`"), "{e}");
        let e = parse(Path::new("web.toml"), "relase = \"14.3-RELEASE\"\n").expect_err("typo");
        assert!(e.to_string().starts_with("web.toml:1:1: unknown field `relase`"), "{e}");
        let e = parse(Path::new("web.toml"), "type = \"thin\"\nboot = \"yes\"\n").expect_err("type");
        assert_eq!(e.to_string(), "web.toml:2:8: boot must be true or false, not the string \"yes\"");
    }

    #[test]
    fn type_errors_name_the_key_and_the_form_it_takes() {
        let err = |t: &str| parse(Path::new("w.toml"), t).expect_err("bad").to_string();
        assert_eq!(
            err("priority = \"high\"\n"),
            "w.toml:1:12: priority must be a number such as 50, not the string \"high\""
        );
        assert_eq!(
            err("depends = \"db\"\n"),
            "w.toml:1:11: depends must be a list such as [\"db\"], not the string \"db\""
        );
        assert_eq!(
            err("release = 14\n"),
            "w.toml:1:11: release must be a string in quotes such as \"14.3-RELEASE\", not the number 14"
        );
        assert_eq!(
            err("[network]\nip4 = \"192.0.2.1\"\n"),
            "w.toml:2:7: network.ip4 must be a list such as [\"192.0.2.10/24\"], not the string \"192.0.2.1\""
        );
        assert_eq!(
            err("hostname = \"a\"\nhostname = \"b\"\n"),
            "w.toml:2:1: hostname is given twice; keep one of them"
        );
    }

    #[test]
    fn a_full_definition_parses() {
        let text = r#"
release = "14.3-RELEASE"
type = "thin"
hostname = "web.example.org"
boot = true
priority = 10
depends = ["db"]

[network]
interface = "em0"
ip4 = ["192.0.2.10/24"]

[params]
"allow.raw_sockets" = false

[exec]
start = "/bin/sh /etc/rc"
timeout = 30

[[mount]]
source = "/data/www"
target = "/usr/local/www"
readonly = true

[limits]
memoryuse = "1G"
"#;
        let raw = parse(Path::new("web.toml"), text).expect("parses");
        assert_eq!(raw.mounts.len(), 1);
        assert!(raw.boot);
        assert_eq!(raw.network.ip4[0].get_ref(), "192.0.2.10/24");
    }
}
