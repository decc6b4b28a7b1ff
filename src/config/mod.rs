//! Files: the host config (`brig.toml`), jail definitions and templates.
//! The only module that reads or writes TOML; every write is atomic
//! (`state::atomic`), every read bounded (`read_text`), and edits keep
//! what the user wrote (`edit`).

pub mod convert;
pub mod edit;
mod error;
pub mod foreign;
pub mod host;
pub mod jail;
pub mod jailconf;
pub mod json;
pub mod templates;

pub use error::{key_at, line_col, ConfigError};
pub use host::HostConfig;

/// The text of a file brig reads as configuration: a regular file (not a
/// symbolic link, FIFO or device), UTF-8, at most `bounded::CONFIG_LIMIT`
/// bytes. Anything else is one error naming the file.
pub fn read_text(path: &std::path::Path) -> Result<String, ConfigError> {
    let bytes = crate::state::bounded::read(path, crate::state::bounded::CONFIG_LIMIT)
        .map_err(|e| ConfigError::io(path, e.into()))?;
    text_of(path, bytes)
}

/// A definition file given on the command line (`--from`): TOML, or a
/// JSON object when its name ends in `.json`, as TOML text.
pub fn read_definition(path: &std::path::Path) -> Result<String, ConfigError> {
    let text = read_text(path)?;
    if json::is_json(path) {
        return json::to_toml(path, &text);
    }
    Ok(text)
}

/// `read_text` of a file of the managed machine, read through the host.
/// Errors name it as `Host::local_path` shows it: the file itself on
/// FreeBSD, its place in the directory of a simulated host.
pub fn read_machine_text(host: &dyn crate::host::Host, path: &std::path::Path) -> Result<String, ConfigError> {
    let shown = host.local_path(path);
    let bytes =
        host.read_file(path, crate::state::bounded::CONFIG_LIMIT).map_err(|e| ConfigError::io(&shown, e.into()))?;
    text_of(&shown, bytes)
}

/// The bytes of a configuration file as UTF-8 text, or the error naming
/// the first bad byte.
fn text_of(path: &std::path::Path, bytes: Vec<u8>) -> Result<String, ConfigError> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let before = std::str::from_utf8(&e.as_bytes()[..valid]).unwrap_or_default();
        ConfigError::at(path, before, valid, format!("not UTF-8 text (invalid byte at offset {valid})"))
    })
}
