//! FreeBSD's MANIFEST: one line per distribution set,
//! `base.txz<TAB>SHA256<TAB>FILES<TAB>base<TAB>"Description"<TAB>on`.

use super::ReleaseError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `base.txz`
    pub file: String,
    /// Lowercase hex.
    pub sha256: String,
    /// The set's name, `base`.
    pub set: String,
    /// How many entries `tar tvf` lists in it (make-manifest.sh), when
    /// MANIFEST gives a number.
    pub entries: Option<u64>,
}

/// Parses a MANIFEST; `path` names it in errors.
pub fn parse(path: &str, text: &str) -> Result<Vec<Entry>, ReleaseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: &str| ReleaseError::Manifest { path: path.to_string(), line: i + 1, why: why.to_string() };
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() < 4 {
            return Err(bad("expected FILE, SHA256, COUNT and SET separated by tabs"));
        }
        let (file, sha, set) = (fields[0], fields[1].to_ascii_lowercase(), fields[3]);
        if !file.ends_with(".txz") || file.contains('/') || file.starts_with('.') {
            return Err(bad(&format!("'{file}' is not a distribution file name")));
        }
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(&format!("'{}' is not a SHA-256", fields[1])));
        }
        let entries = fields[2].trim().parse().ok();
        out.push(Entry { file: file.to_string(), sha256: sha, set: set.to_string(), entries });
    }
    if out.is_empty() {
        return Err(ReleaseError::Manifest {
            path: path.to_string(),
            line: 1,
            why: "lists no distribution sets".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_freebsd_manifest_lines() {
        let text = format!("base.txz\t{SHA}\t31016\tbase\t\"Base system (MANDATORY)\"\ton\nlib32.txz\t{}\t1028\tlib32\t\"32-bit\"\ton\n", SHA.to_uppercase());
        let m = parse("MANIFEST", &text).expect("parses");
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].file.as_str(), m[0].set.as_str()), ("base.txz", "base"));
        assert_eq!(m[1].sha256, SHA);
    }

    #[test]
    fn refuses_malformed_lines_with_their_number() {
        let e = parse("M", &format!("base.txz\t{SHA}\t1\tbase\n../x.txz\t{SHA}\t1\tx\n")).expect_err("traversal");
        assert_eq!(e.to_string(), "M:2: '../x.txz' is not a distribution file name");
        assert!(parse("M", "base.txz\tnothex\t1\tbase\n").is_err());
        assert!(parse("M", "base.txz sha\n").is_err());
        assert!(parse("M", "\n").is_err());
    }
}
