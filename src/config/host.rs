//! `/usr/local/etc/brig/brig.toml`: where brig keeps its datasets, where it
//! fetches releases from, and the defaults every new jail starts from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::host::{Host, JailParam};
use crate::model::jail::JailType;
use crate::model::{param, DatasetName, ModelError};

pub const DEFAULT_DATASET: &str = "zroot/brig";
pub const DEFAULT_MOUNTPOINT: &str = "/usr/local/brig";
pub const DEFAULT_MIRROR: &str = "https://download.freebsd.org/releases";

/// Defaults for new jails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    #[serde(rename = "type", default)]
    pub jail_type: JailType,
    /// The interface new jails' addresses are aliased on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Jail parameters every new jail starts with (jail(8) names).
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
}

impl Default for Defaults {
    fn default() -> Defaults {
        let mut params = BTreeMap::new();
        // Tighter than jail(8): what a sysadmin expects of a fresh jail.
        params.insert("securelevel".into(), toml::Value::Integer(2));
        params.insert("enforce_statfs".into(), toml::Value::Integer(2));
        params.insert("devfs_ruleset".into(), toml::Value::Integer(4));
        params.insert("children.max".into(), toml::Value::Integer(0));
        Defaults { jail_type: JailType::Thin, interface: None, params }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Root dataset: `<dataset>/releases`, `<dataset>/jails` live below.
    pub dataset: DatasetName,
    /// Where the root dataset is mounted.
    pub mountpoint: PathBuf,
    /// Base URL of FreeBSD release directories.
    #[serde(default = "default_mirror")]
    pub mirror: String,
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub fetch: FetchLimits,
}

/// What `brig release fetch` accepts at most, so that a mirror that never
/// stops sending, or an archive that unpacks without end, is refused
/// instead of filling the disk. A FreeBSD release fits with room to spare
/// (base.txz of 14.3 is about 190 MB, 1 GB and 25,000 entries unpacked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchLimits {
    /// Bytes of one downloaded file.
    #[serde(default = "FetchLimits::default_download", with = "amount")]
    pub max_download: u64,
    /// Bytes of the files one release unpacks to.
    #[serde(default = "FetchLimits::default_unpacked", with = "amount")]
    pub max_unpacked: u64,
    /// Entries (files, directories, links) one release unpacks to.
    #[serde(default = "FetchLimits::default_entries")]
    pub max_entries: u64,
}

impl FetchLimits {
    fn default_download() -> u64 {
        4 << 30
    }
    fn default_unpacked() -> u64 {
        16 << 30
    }
    fn default_entries() -> u64 {
        1_000_000
    }
}

impl Default for FetchLimits {
    fn default() -> FetchLimits {
        FetchLimits {
            max_download: FetchLimits::default_download(),
            max_unpacked: FetchLimits::default_unpacked(),
            max_entries: FetchLimits::default_entries(),
        }
    }
}

/// An amount of bytes written as a number or as `"4G"`.
mod amount {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(*v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match toml::Value::deserialize(d)? {
            toml::Value::Integer(n) => u64::try_from(n).map_err(|_| serde::de::Error::custom("cannot be negative")),
            toml::Value::String(s) => crate::model::limits::parse_amount(&s).map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom("expected a number of bytes or an amount such as \"4G\"")),
        }
    }
}

fn default_mirror() -> String {
    DEFAULT_MIRROR.to_string()
}

/// Checks a mountpoint: absolute, no `.` or `..`, no trailing slash.
pub fn check_mountpoint(p: &str) -> Result<PathBuf, ModelError> {
    let bad = |why: &str| ModelError::Path { path: p.to_string(), why: why.to_string() };
    if !p.starts_with('/') {
        return Err(bad("it must be absolute"));
    }
    if p == "/" {
        return Err(bad("brig's datasets cannot be mounted over /"));
    }
    if p.ends_with('/') || p.contains("//") {
        return Err(bad("remove the trailing or doubled '/'"));
    }
    if p.split('/').any(|c| c == "." || c == "..") {
        return Err(bad("'.' and '..' are not allowed"));
    }
    if p.contains('\0') || p.len() > 200 {
        return Err(bad("it must be a plain path of at most 200 bytes"));
    }
    let path = Path::new(p);
    if let Some(sys) = SYSTEM_DIRS.iter().find(|d| path == Path::new(d)) {
        return Err(bad(&format!("{sys} is a system directory, and a dataset mounted there would hide it")));
    }
    if let Some(sys) = SYSTEM_TREES.iter().find(|d| path.starts_with(d)) {
        return Err(bad(&format!("it is inside {sys}, which belongs to the system")));
    }
    // brig's own configuration and records must stay visible.
    for own in
        [Path::new(crate::state::layout::CONFIG_PATH).parent().unwrap_or(Path::new("/")), Path::new("/var/db/brig")]
    {
        if own.starts_with(path) || path.starts_with(own) {
            return Err(bad(&format!("it would cover or sit in {}, where brig keeps its own files", own.display())));
        }
    }
    Ok(PathBuf::from(p))
}

/// Directories a dataset must never be mounted over: it would hide them.
const SYSTEM_DIRS: &[&str] = &[
    "/etc",
    "/usr",
    "/usr/local",
    "/boot",
    "/dev",
    "/var",
    "/bin",
    "/sbin",
    "/lib",
    "/libexec",
    "/root",
    "/tmp",
    "/home",
    "/usr/home",
    "/proc",
    "/rescue",
];

/// Trees whose every directory belongs to the system.
const SYSTEM_TREES: &[&str] = &["/boot", "/dev", "/proc", "/etc", "/bin", "/sbin", "/lib", "/libexec", "/rescue"];

impl HostConfig {
    pub fn new(dataset: DatasetName, mountpoint: PathBuf) -> HostConfig {
        HostConfig {
            dataset,
            mountpoint,
            mirror: default_mirror(),
            defaults: Defaults::default(),
            fetch: FetchLimits::default(),
        }
    }

    pub fn releases(&self) -> DatasetName {
        self.dataset.child("releases")
    }

    pub fn jails(&self) -> DatasetName {
        self.dataset.child("jails")
    }

    /// The jails directory (mode 0700: no host user may reach a jail's
    /// setuid files through it).
    pub fn jails_dir(&self) -> PathBuf {
        self.mountpoint.join("jails")
    }

    /// Parses and validates the text of brig.toml; errors name the file,
    /// line and column.
    pub fn parse(path: &Path, text: &str) -> Result<HostConfig, ConfigError> {
        let cfg: HostConfig = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            ConfigError::at(path, text, offset, super::jail::explain(text, offset, e.message()))
        })?;
        let find = |needle: &str| text.find(needle).unwrap_or(0);
        if let Err(e) = check_mountpoint(&cfg.mountpoint.to_string_lossy()) {
            return Err(ConfigError::at(path, text, find("mountpoint"), e.to_string()));
        }
        if !(cfg.mirror.starts_with("https://")
            || cfg.mirror.starts_with("http://")
            || cfg.mirror.starts_with("file://"))
        {
            return Err(ConfigError::at(
                path,
                text,
                find("mirror"),
                "mirror must be an https://, http:// or file:// URL",
            ));
        }
        cfg.default_params().map_err(|(name, why)| ConfigError::at(path, text, find(&name), why))?;
        Ok(cfg)
    }

    /// `[defaults.params]` as typed jail parameters; the error is the
    /// parameter's name and the sentence about it.
    pub fn default_params(&self) -> Result<Vec<JailParam>, (String, String)> {
        self.defaults
            .params
            .iter()
            .map(|(k, v)| param::check(k, v).map_err(|why| (k.clone(), format!("parameter {k} {why}"))))
            .collect()
    }

    /// The file brig writes: commented, so it explains itself.
    pub fn render(&self) -> String {
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut out = String::new();
        out.push_str("# brig host configuration (see brig.toml(5)). Written by `brig init`.\n\n");
        out.push_str("# Root dataset: releases and jails live below it.\n");
        out.push_str(&format!("dataset = {}\n", q(self.dataset.as_str())));
        out.push_str("# Where the root dataset is mounted.\n");
        out.push_str(&format!("mountpoint = {}\n", q(&self.mountpoint.to_string_lossy())));
        out.push_str("# Where `brig release fetch` downloads FreeBSD releases from.\n");
        out.push_str(&format!("mirror = {}\n\n", q(&self.mirror)));
        out.push_str("# Every new jail starts from these.\n[defaults]\n");
        out.push_str(&format!("type = {}\n", q(self.defaults.jail_type.as_str())));
        if let Some(i) = &self.defaults.interface {
            out.push_str(&format!("interface = {}\n", q(i)));
        }
        out.push_str("\n[defaults.params]\n");
        for (k, v) in &self.defaults.params {
            let key = if k.contains('.') { q(k) } else { k.clone() };
            out.push_str(&format!("{key} = {v}\n"));
        }
        out
    }

    /// Reads brig.toml from the managed machine. `Ok(None)` when brig has
    /// not been initialised.
    pub fn load(host: &dyn Host) -> Result<Option<HostConfig>, ConfigError> {
        let path = Path::new(crate::state::layout::CONFIG_PATH);
        match super::read_machine_text(host, path) {
            Ok(text) => HostConfig::parse(&host.local_path(path), &text).map(Some),
            Err(ConfigError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> HostConfig {
        HostConfig::new(DatasetName::parse("zroot/brig").expect("valid"), PathBuf::from("/usr/local/brig"))
    }

    #[test]
    fn rendered_config_parses_back_to_itself() {
        let cfg = sample();
        let text = cfg.render();
        assert_eq!(HostConfig::parse(Path::new("brig.toml"), &text).expect("parses"), cfg);
        assert!(text.contains("\"children.max\" = 0"));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let text = "dataset = \"zroot/brig\"\nmountpoint = \"/usr/local/brig\"\ncolour = \"blue\"\n";
        let e = HostConfig::parse(Path::new("/etc/brig.toml"), text).expect_err("unknown key");
        assert!(e.to_string().starts_with("/etc/brig.toml:3:1: unknown field `colour`"), "{e}");
        let text = "dataset = \"zroot/brig\"\nmountpoint = \"relative\"\n";
        let e = HostConfig::parse(Path::new("b.toml"), text).expect_err("relative");
        assert_eq!(e.to_string(), "b.toml:2:1: invalid path 'relative': it must be absolute");
        let text = "dataset = \"zroot/brig\"\nmountpoint = \"/b\"\n[defaults.params]\nsecurelevel = \"high\"\n";
        let e = HostConfig::parse(Path::new("b.toml"), text).expect_err("bad param");
        assert_eq!(e.to_string(), "b.toml:4:1: parameter securelevel takes an integer");
        let text = "dataset = \"zroot/../x\"\nmountpoint = \"/b\"\n";
        let e = HostConfig::parse(Path::new("b.toml"), text).expect_err("bad dataset");
        assert!(e.to_string().starts_with("b.toml:1:11: invalid dataset name 'zroot/../x'"), "{e}");
    }

    #[test]
    fn mountpoints() {
        assert!(check_mountpoint("/usr/local/brig").is_ok());
        for bad in ["usr/local", "/", "/a/", "/a//b", "/a/../b", "/a/./b"] {
            assert!(check_mountpoint(bad).is_err(), "{bad}");
        }
    }
}
