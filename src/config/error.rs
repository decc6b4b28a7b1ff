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

    /// This error of the definition text `text`, told by the key at its
    /// line rather than the line, for a text that is not the file's as
    /// written: the TOML made of a JSON definition, or a file or template
    /// with `--set`s and options applied. Other errors are as they were.
    pub fn by_key(self, text: &str) -> ConfigError {
        match self {
            ConfigError::Invalid { path, line, col, msg } => {
                // An error of the whole definition sits at its start, where
                // the first line's key is: that key only if it is named.
                let key = key_at(text, line)
                    .filter(|k| (line, col) != (1, 1) || msg.contains(k.rsplit('.').next().unwrap_or(k)))
                    .unwrap_or_else(|| "the definition".into());
                // A message that leads with its key needs it once.
                let msg = msg.strip_prefix(&format!("{key} ")).map_or_else(|| msg.clone(), str::to_string);
                ConfigError::AtKey { path, key, msg }
            }
            other => other,
        }
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

/// The dotted key of line `line` (1-based) of the TOML `text`: the key of
/// a `key = value` line with the tables around it (`network.ip4`), or the
/// table a header names; an array of tables told by its index
/// (`mount[1].target`, `provision[2].service.action`). Lines inside a
/// multi-line string are its value's, never a header. A line of neither
/// has none.
pub fn key_at(text: &str, line: usize) -> Option<String> {
    let mut table = String::new();
    // Each array of tables seen, and its last index.
    let mut arrays: Vec<(String, usize)> = Vec::new();
    let mut in_string: Option<&str> = None;
    let mut found = None;
    for (n, raw) in text.lines().enumerate().take(line) {
        let text = raw.trim();
        let inside = in_string.is_some();
        for quote in [r#"""""#, "'''"] {
            if in_string.is_none_or(|q| q == quote) && text.matches(quote).count() % 2 == 1 {
                in_string = if in_string.is_some() { None } else { Some(quote) };
            }
        }
        found = None;
        if inside {
            continue;
        }
        // `[a.b]` under the array `[[a]]` is a table of its last element.
        let indexed = |name: &str, arrays: &[(String, usize)]| match arrays
            .iter()
            .rfind(|(a, _)| name == a || name.starts_with(&format!("{a}.")))
        {
            Some((a, i)) => format!("{a}[{i}]{}", &name[a.len()..]),
            None => name.to_string(),
        };
        if let Some(name) = text.strip_prefix("[[").and_then(|t| t.strip_suffix("]]")) {
            let name = name.trim().to_string();
            match arrays.iter_mut().find(|(a, _)| *a == name) {
                Some((_, i)) => *i += 1,
                None => arrays.push((name.clone(), 0)),
            }
            table = indexed(&name, &arrays);
            found = Some(table.clone());
        } else if let Some(name) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            table = indexed(name.trim(), &arrays);
            found = Some(table.clone());
        } else if let Some((key, _)) = text.split_once('=').filter(|_| n + 1 == line) {
            let key = key.trim().trim_matches('"');
            found =
                (!key.is_empty()).then(|| if table.is_empty() { key.to_string() } else { format!("{table}.{key}") });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_key_of_a_line() {
        let text = "boot = true\n\n[limits]\nmaxproc = 200\n\n[[mount]]\ntarget = \"/a\"\n\n[[mount]]\ntarget = \"/b\"\n\n[[provision]]\npkg = [\"a\"]\n\n[[provision]]\n\n[provision.service]\naction = \"x\"\n\n[exec]\nstart = \"\"\"\na\n[zzz]\nb\"\"\"\nstop = 5\n\"allow.raw_sockets\" = true\n";
        let at = |line| super::key_at(text, line);
        assert_eq!(at(1).as_deref(), Some("boot"));
        assert_eq!(at(2), None);
        assert_eq!(at(4).as_deref(), Some("limits.maxproc"));
        assert_eq!(at(9).as_deref(), Some("mount[1]"));
        assert_eq!(at(10).as_deref(), Some("mount[1].target"));
        assert_eq!(at(13).as_deref(), Some("provision[0].pkg"));
        assert_eq!(at(18).as_deref(), Some("provision[1].service.action"));
        assert_eq!(at(23), None, "a line of a multi-line string");
        assert_eq!(at(25).as_deref(), Some("exec.stop"));
        assert_eq!(at(26).as_deref(), Some("exec.allow.raw_sockets"));
        assert_eq!(at(99), None);
    }

    #[test]
    fn an_error_of_a_changed_text_is_told_by_its_key() {
        let text = "boot = true\n\n[limits]\nmaxproc = -1\n";
        let at = |line, msg: &str| {
            super::ConfigError::Invalid { path: "web.json".into(), line, col: 3, msg: msg.into() }
                .by_key(text)
                .to_string()
        };
        assert_eq!(at(1, "bad"), "web.json: boot: bad");
        assert_eq!(at(4, "limits.maxproc cannot be negative"), "web.json: limits.maxproc: cannot be negative");
        assert_eq!(at(40, "bad"), "web.json: the definition: bad");
        let start = |msg: &str| {
            super::ConfigError::Invalid { path: "x".into(), line: 1, col: 1, msg: msg.into() }.by_key(text).to_string()
        };
        assert_eq!(start("a.b names a jail inside jail a"), "x: the definition: a.b names a jail inside jail a");
        assert_eq!(start("unknown field `boot`"), "x: boot: unknown field `boot`");
    }

    #[test]
    fn line_and_column() {
        assert_eq!(super::line_col("a = 1\nbb = 2\n", 0), (1, 1));
        assert_eq!(super::line_col("a = 1\nbb = 2\n", 9), (2, 4));
    }
}
