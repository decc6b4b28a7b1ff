//! Rendering for people (tables) and for programs (JSON with a version).

use serde::Serialize;

/// The JSON schema version every `--json` document carries.
pub const JSON_VERSION: u32 = 1;

/// Prints `{"version": 1, ...value}` on stdout.
pub fn print_json<T: Serialize>(value: &T) -> Result<(), super::CliError> {
    let mut v = serde_json::to_value(value)?;
    if let serde_json::Value::Object(map) = &mut v {
        map.insert("version".into(), serde_json::Value::from(JSON_VERSION));
    }
    let text = serde_json::to_string_pretty(&v)?;
    println!("{text}");
    Ok(())
}

/// The document of a command that changes things: whether it changed
/// anything (what Ansible's `changed` needs), then what it reports.
#[derive(Serialize, schemars::JsonSchema)]
pub struct Changed<T> {
    pub changed: bool,
    #[serde(flatten)]
    pub outcome: T,
}

/// A size as people read it, the way zfs list prints one: bytes below
/// 1 KiB, then three significant digits with K, M, G, T, P or E (`1.92G`,
/// `19.2G`, `192G`), a whole number without decimals (`50G`).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["K", "M", "G", "T", "P", "E"];
    if bytes < 1024 {
        return format!("{bytes}B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    let unit = UNITS[u];
    if bytes.is_multiple_of(1u64 << (10 * (u + 1))) {
        format!("{v:.0}{unit}")
    } else if v < 10.0 {
        format!("{:.2}{unit}", (v * 100.0).floor() / 100.0)
    } else if v < 100.0 {
        format!("{:.1}{unit}", (v * 10.0).floor() / 10.0)
    } else {
        format!("{:.0}{unit}", v.floor())
    }
}

/// A quota or reservation: `none` when there is none (0).
pub fn quota(bytes: u64) -> String {
    if bytes == 0 {
        "none".into()
    } else {
        size(bytes)
    }
}

/// An rctl amount or usage: sizes for the resources counted in bytes
/// (rctl(8)), the number itself for counts, percentages and seconds.
pub fn rctl_amount(resource: &str, n: u64) -> String {
    const BYTES: &[&str] = &[
        "datasize",
        "stacksize",
        "coredumpsize",
        "memoryuse",
        "memorylocked",
        "vmemoryuse",
        "swapuse",
        "shmsize",
        "msgqsize",
        "readbps",
        "writebps",
    ];
    if BYTES.contains(&resource) {
        size(n)
    } else {
        n.to_string()
    }
}

/// A plain table: a header row and aligned columns, no borders, so it
/// reads like jls(8) and greps well.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut b = tabled::builder::Builder::default();
    b.push_record(header.iter().map(|h| h.to_string()));
    for r in rows {
        b.push_record(r);
    }
    let mut t = b.build();
    t.with(tabled::settings::Style::blank());
    t.with(tabled::settings::Padding::new(0, 2, 0, 0));
    t.to_string().lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_zfs_list() {
        assert_eq!(size(512), "512B");
        assert_eq!(size(1536), "1.50K");
        assert_eq!(size(50 << 30), "50G");
        assert_eq!(size(2_061_584_302), "1.91G");
        assert_eq!(size(20_615_843_020), "19.1G");
        assert_eq!(size(206_158_430_208), "192G");
        assert_eq!(quota(0), "none");
        assert_eq!(rctl_amount("memoryuse", 1 << 30), "1G");
        assert_eq!(rctl_amount("maxproc", 100), "100");
    }
}

/// `text` with the control characters a jail could use to drive the
/// terminal (escape sequences, carriage returns, C1 controls) shown as
/// `?`: for what came from inside a jail, on a table's one line.
pub fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() && c != '\t' { '?' } else { c }).collect()
}

/// A writer to a terminal that passes text and newlines and turns every
/// other control byte (ESC, CR, C1 controls encoded as UTF-8) into `?`,
/// so a log a jail wrote cannot drive the terminal of whoever reads it.
pub struct TerminalSafe<W: std::io::Write> {
    inner: W,
    /// A 0xC2 at the end of the last write: the first byte of a C1
    /// control or of a character, told by the next byte.
    held: bool,
}

impl<W: std::io::Write> TerminalSafe<W> {
    pub fn new(inner: W) -> TerminalSafe<W> {
        TerminalSafe { inner, held: false }
    }
}

impl<W: std::io::Write> std::io::Write for TerminalSafe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len() + 1);
        for &b in buf {
            if std::mem::take(&mut self.held) {
                if (0x80..=0x9f).contains(&b) {
                    out.push(b'?');
                    continue;
                }
                out.push(0xc2);
            }
            match b {
                0xc2 => self.held = true,
                b'\n' | b'\t' => out.push(b),
                0..=0x1f | 0x7f => out.push(b'?'),
                _ => out.push(b),
            }
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    /// A held 0xC2 stays held: `logs -f` flushes after every read, and a
    /// jail that split a C1 control across two writes must not get it
    /// through. A lone 0xC2 at the very end is no text anyway.
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod terminal_tests {
    use std::io::Write;

    #[test]
    fn control_bytes_from_a_jail_do_not_reach_the_terminal() {
        let mut t = super::TerminalSafe::new(Vec::new());
        t.write_all(b"ok\t1\n\x1b[2J\rfake\xc2").expect("write");
        t.flush().expect("flush");
        t.write_all(b"\x9b31m \xc2\xa0caf\xc3\xa9\n").expect("write");
        t.flush().expect("flush");
        assert_eq!(String::from_utf8(t.inner).expect("utf-8"), "ok\t1\n?[2J?fake?31m \u{a0}café\n");
        assert_eq!(super::printable("a\x1b]0;x\x07b\u{9b}"), "a?]0;x?b?");
    }
}
