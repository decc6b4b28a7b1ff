use std::path::PathBuf;

use thiserror::Error;

/// A file brig could not read, parse or write. `path` is the file as it
/// exists on the machine brig runs on, so the user can open it.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// `line` and `col` are 1-based.
    #[error("{}:{line}:{col}: {msg}", path.display())]
    Invalid { path: PathBuf, line: usize, col: usize, msg: String },
    /// An error in a file whose lines are not those brig read (a JSON
    /// definition, read as the TOML made of it), told by its key instead.
    #[error("{}: {key}: {msg}", path.display())]
    AtKey { path: PathBuf, key: String, msg: String },
}

impl ConfigError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> ConfigError {
        ConfigError::Io { path: path.into(), source }
    }

    /// An error at a byte offset of `text`, reported as line and column.
    pub fn at(path: impl Into<PathBuf>, text: &str, offset: usize, msg: impl Into<String>) -> ConfigError {
        let (line, col) = line_col(text, offset);
        ConfigError::Invalid { path: path.into(), line, col, msg: msg.into() }
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    #[test]
    fn line_and_column() {
        assert_eq!(super::line_col("a = 1\nbb = 2\n", 0), (1, 1));
        assert_eq!(super::line_col("a = 1\nbb = 2\n", 9), (2, 4));
    }
}
