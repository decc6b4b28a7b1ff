//! Jail names. A name becomes a file name (`jails/NAME.toml`), a dataset
//! component (`POOL/brig/jails/NAME`), a kernel jail name and an rctl
//! subject, so it must be safe for all four at once: letters, digits, `_`
//! and `-`, starting with a letter or digit, not all digits (the kernel
//! would take it for a jid), at most 63 bytes. A nested jail is
//! `parent.child`, each part following the same rule.

use serde::{Deserialize, Serialize};

use super::ModelError;

/// Longest name part: short enough for a hostname label and for every
/// path and dataset name built from it.
pub const MAX_PART: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub struct JailName(String);

/// An image's name (`brig commit`): a jail name without '.', which is a
/// dataset of `<root>/images`.
pub fn image_name(s: &str) -> Result<JailName, String> {
    match JailName::parse(s) {
        Ok(n) if !n.as_str().contains('.') => Ok(n),
        Ok(_) => Err(format!("image {} cannot hold '.'", super::quoted(s))),
        Err(e) => Err(format!("image: {e}")),
    }
}

/// Words brig's commands take where a jail's name goes (`brig snapshot
/// list`, `brig limits NAME set`): a jail of that name could not be named
/// there, so no new jail takes one.
const COMMAND_WORDS: &[&str] = &["create", "destroy", "help", "list", "prune", "set", "unset"];

impl JailName {
    /// The name of a jail to be made: a valid name that is none of
    /// `COMMAND_WORDS`. Jails that have one already are still found by
    /// `parse`.
    pub fn new_jail(s: &str) -> Result<JailName, ModelError> {
        let name = JailName::parse(s)?;
        if COMMAND_WORDS.contains(&s) {
            let why =
                "it is a word of brig's commands (brig snapshot list, brig limits NAME set), which could not name it";
            return Err(ModelError::JailName { name: s.to_string(), why: why.into() });
        }
        Ok(name)
    }

    pub fn parse(s: &str) -> Result<JailName, ModelError> {
        let bad = |why: &str| ModelError::JailName { name: s.to_string(), why: why.to_string() };
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        if s.split('.').count() > 2 {
            return Err(bad("only one level of nesting (parent.child) is supported"));
        }
        for part in s.split('.') {
            if part.is_empty() {
                return Err(bad("a '.' must separate two non-empty names (parent.child)"));
            }
            if part.len() > MAX_PART {
                return Err(bad(&format!("each part must be at most {MAX_PART} characters")));
            }
            if let Some(c) = part.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
                return Err(bad(&format!("'{}' is not allowed; use letters, digits, '-' and '_'", c.escape_default())));
            }
            if !part.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                return Err(bad("it must start with a letter or digit"));
            }
            if part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("it cannot be all digits (the kernel would read it as a jail id)"));
            }
        }
        Ok(JailName(s.to_string()))
    }

    /// `Some(parent)` for a nested jail `parent.child`.
    pub fn parent(&self) -> Option<JailName> {
        self.0.split_once('.').map(|(p, _)| JailName(p.to_string()))
    }
}

validated_string!(JailName);

impl std::str::FromStr for JailName {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JailName::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for ok in ["web", "web-1", "db_2", "a", "9lives", "customer1.app", "X"] {
            assert!(JailName::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            JailName::parse("customer1.app").ok().and_then(|n| n.parent()).map(String::from),
            Some("customer1".into())
        );
    }

    #[test]
    fn refuses_names_unsafe_for_paths_datasets_or_the_kernel() {
        for bad in [
            "", "123", "a.123", "../etc", "a/b", "a b", "-web", "_x", "a..b", ".a", "a.", "a.b.c", "wéb", "a\0b",
            "a@b", "a:b", "a%b",
        ] {
            assert!(JailName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(JailName::parse(&"x".repeat(64)).is_err());
        assert!(JailName::parse(&"x".repeat(63)).is_ok());
    }

    #[test]
    fn error_names_the_input_and_the_rule() {
        let e = JailName::parse("123").expect_err("numeric");
        assert_eq!(
            e.to_string(),
            "invalid jail name '123': it cannot be all digits (the kernel would read it as a jail id)"
        );
    }
}
