//! Typed, validated values: names that are safe to put into a path, a
//! dataset name or a syscall. Pure: nothing here touches the host.

/// The conversions every validated string type shares: `as_str`,
/// `Display`, and serde through `String` (so a bad value in a file fails
/// with the type's own message). `parse` stays the only constructor.
macro_rules! validated_string {
    ($t:ident) => {
        impl $t {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $t {
            type Error = $crate::model::ModelError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $t::parse(&s)
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
    };
}

pub mod dataset;
pub mod error;
pub mod firewall;
pub mod health;
pub mod jail;
pub mod limits;
pub mod name;
pub mod network;
pub mod param;
pub mod provision;
pub mod raw;
pub mod release;
pub mod render;
pub mod snapshot;
pub mod time;
pub mod version;
pub mod zfs;

pub use dataset::DatasetName;

/// Longest part of a user's value an error sentence repeats.
const QUOTED_MAX: usize = 64;

/// A value the user gave, for an error sentence: in quotes, control
/// characters escaped, and cut after its first 64 characters (a 50 MB
/// hostname must not make a 50 MB error).
pub fn quoted(v: &str) -> String {
    let mut out = String::from("'");
    for (i, c) in v.chars().enumerate() {
        if i == QUOTED_MAX {
            out.push_str(&format!("…' ({} bytes)", v.len()));
            return out;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}
pub use error::ModelError;
pub use name::JailName;
pub use release::{Arch, ReleaseName};

#[cfg(test)]
mod tests {
    #[test]
    fn quoted_values_are_short_and_printable() {
        assert_eq!(super::quoted("web"), "'web'");
        assert_eq!(super::quoted("a\nb\u{1b}"), "'a\\nb\\u{1b}'");
        let huge = "x".repeat(50 << 20);
        let q = super::quoted(&huge);
        assert_eq!(q, format!("'{}…' (52428800 bytes)", "x".repeat(64)));
    }
}
