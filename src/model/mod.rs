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
pub mod jail;
pub mod limits;
pub mod name;
pub mod param;
pub mod release;
pub mod zfs;

pub use dataset::DatasetName;
pub use error::ModelError;
pub use name::JailName;
pub use release::{Arch, ReleaseName};
