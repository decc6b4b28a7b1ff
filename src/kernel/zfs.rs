//! The ZFS side of the FreeBSD backend that needs no pool, kept apart from
//! the calls so it is tested everywhere: the nvlist values libzfs would hand to
//! lzc_create()/lzc_clone() for the properties brig sets, whether zfs(8)
//! would mount a new filesystem, the parsing of `zfs get -Hp`,
//! `zfs list -Hp` and `zfs diff -FH`, and the errno a zfs(8) failure
//! stands for.

use std::collections::BTreeMap;

use nix::errno::Errno;

use super::types::{Change, DatasetInfo, DatasetKind, DiffEntry, FileKind};

/// A property value as the kernel takes it in the props nvlist of
/// lzc_create()/lzc_clone(): strings for string and user properties,
/// `uint64` for numbers and for index properties (`on`/`off`, `lz4`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NativeValue {
    Str(String),
    U64(u64),
}

/// `off`/`on` of every boolean index property (zfs_prop.c boolean_table).
fn on_off(v: &str) -> Option<u64> {
    match v {
        "off" => Some(0),
        "on" => Some(1),
        _ => None,
    }
}

/// The index of a `compression` value: `enum zio_compress` of zio.h, which
/// is on-disk format and does not change. zstd levels encode the level in
/// high bits and are left to zfs(8).
fn compression(v: &str) -> Option<u64> {
    match v {
        "on" => Some(1),
        "off" => Some(2),
        "lzjb" => Some(3),
        "gzip" => Some(10),
        "zle" => Some(14),
        "lz4" => Some(15),
        _ => {
            let level: u64 = v.strip_prefix("gzip-")?.parse().ok()?;
            (1..=9).contains(&level).then_some(4 + level)
        }
    }
}

/// zfs_nicestrtonum() of libzfs_util.c: a number starting with a digit or
/// `.` (no leading blank), then an optional suffix from `BKMGTPEZ`, alone,
/// with `B` or with `iB` (`G`, `GB`, `GiB`, any case; not `BB` or `BiB`),
/// meaning powers of 1024; a fraction is computed in floating point. An
/// overflow is refused. `none` is not a number: the property code maps it
/// to 0 for the properties that take it (zprop_parse_value).
pub fn parse_size(s: &str) -> Option<u64> {
    if !s.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (int, rest) = s.split_at(split);
    let (frac, suffix) = match rest.strip_prefix('.') {
        Some(r) => {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            (Some(&r[..end]), &r[end..])
        }
        None => (None, rest),
    };
    let shift = suffix_shift(suffix)?;
    match frac {
        Some(f) => {
            let v: f64 = format!("{int}.{f}").parse().ok()?;
            let v = v * f64::from(2u32).powi(i32::try_from(shift).ok()?);
            // 2^64 as f64 is exact; anything at or above it does not fit.
            (0.0..18_446_744_073_709_551_616.0).contains(&v).then_some(v as u64)
        }
        None => {
            let n: u64 = int.parse().ok()?;
            if shift >= 64 || (n << shift) >> shift != n {
                return None;
            }
            Some(n << shift)
        }
    }
}

/// str2shift() of libzfs_util.c.
fn suffix_shift(suffix: &str) -> Option<u32> {
    let mut chars = suffix.chars().map(|c| c.to_ascii_uppercase());
    let Some(first) = chars.next() else { return Some(0) };
    let i = "BKMGTPEZ".find(first)?;
    let rest: String = chars.collect();
    let ok = rest.is_empty() || (first != 'B' && (rest == "B" || rest == "IB"));
    ok.then_some(10 * i as u32)
}

/// The property's own name for one of zfs(8)'s short column names. The
/// kernel matches only full names (the column-name match in zprop_common.c
/// is compiled for userland only), so `compress` sent in the props nvlist
/// of lzc_create()/lzc_clone() is EINVAL; libzfs renames it first, and so
/// must brig.
pub fn canonical_name(name: &str) -> &str {
    match name {
        "compress" => "compression",
        "recsize" => "recordsize",
        "refreserv" => "refreservation",
        "reserv" => "reservation",
        other => other,
    }
}

/// The native encoding of one `name=value`, or `None` where brig does not
/// know it (or the value is not valid): the caller then leaves the whole
/// request to zfs(8), which knows every property and explains bad values.
/// `name` is the property's full name (see [`canonical_name`]).
pub fn native_prop(name: &str, value: &str) -> Option<NativeValue> {
    let u = NativeValue::U64;
    if name.contains(':') {
        // User property (`brig:release`): always a string.
        return Some(NativeValue::Str(value.to_string()));
    }
    match name {
        "mountpoint" => (value == "none" || value == "legacy" || value.starts_with('/'))
            .then(|| NativeValue::Str(value.to_string())),
        "quota" | "refquota" | "reservation" | "refreservation" => {
            if value == "none" {
                Some(u(0))
            } else {
                parse_size(value).map(u)
            }
        }
        "recordsize" => parse_size(value).map(u),
        "filesystem_limit" | "snapshot_limit" => {
            if value == "none" {
                Some(u(u64::MAX))
            } else {
                value.parse().ok().map(u)
            }
        }
        "atime" | "relatime" | "devices" | "exec" | "setuid" | "readonly" | "jailed" => on_off(value).map(u),
        "canmount" => match value {
            "off" => Some(u(0)),
            "on" => Some(u(1)),
            "noauto" => Some(u(2)),
            _ => None,
        },
        "compression" => compression(value).map(u),
        "sync" => match value {
            "standard" => Some(u(0)),
            "always" => Some(u(1)),
            "disabled" => Some(u(2)),
            _ => None,
        },
        "snapdir" => match value {
            "hidden" => Some(u(0)),
            "visible" => Some(u(1)),
            _ => None,
        },
        _ => None,
    }
}

/// Native encodings of all properties under their full names, or `None`
/// if any one is unknown.
pub fn native_props(props: &[(String, String)]) -> Option<Vec<(String, NativeValue)>> {
    props
        .iter()
        .map(|(k, v)| {
            let name = canonical_name(k);
            native_prop(name, v).map(|n| (name.to_string(), n))
        })
        .collect()
}

/// Which snapshot failed, and why, from what lzc_snapshot() returned: its
/// error list names each snapshot that failed with its errno, but many
/// failures (ENOSPC, EXDEV, the handler's EINVAL) come with an empty list
/// and only the ioctl's return code says why. None when it succeeded.
pub fn snapshot_failure(rc: i32, listed: Option<(String, i32)>, snapshot: &str) -> Option<(String, i32)> {
    if rc == 0 {
        return None;
    }
    Some(listed.unwrap_or_else(|| (snapshot.to_string(), rc)))
}

/// Whether `zfs create`/`zfs clone` would mount a filesystem with these
/// property values: `canmount=on` (the default), a mountpoint that is not
/// `none` or `legacy`, and not `jailed=on`. Absent properties count as
/// their defaults.
pub fn auto_mounts<'a>(props: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
    props.into_iter().all(|(k, v)| match k {
        "canmount" => v == "on",
        "mountpoint" => v != "none" && v != "legacy",
        "jailed" => v != "on",
        _ => true,
    })
}

/// Parses `zfs get -Hp -o property,value,source`. A user property that is
/// not set (value and source `-`) is left out, as the trait promises.
pub fn parse_get(out: &str) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for line in out.lines().filter(|l| !l.is_empty()) {
        let (prop, rest) = line.split_once('\t').ok_or_else(|| format!("unexpected zfs get line: {line:?}"))?;
        let (value, source) = rest.rsplit_once('\t').ok_or_else(|| format!("unexpected zfs get line: {line:?}"))?;
        if prop.contains(':') && source == "-" {
            continue;
        }
        map.insert(prop.to_string(), value.to_string());
    }
    Ok(map)
}

fn kind(s: &str) -> Result<Option<DatasetKind>, String> {
    match s {
        "filesystem" => Ok(Some(DatasetKind::Filesystem)),
        "snapshot" => Ok(Some(DatasetKind::Snapshot)),
        "volume" => Ok(Some(DatasetKind::Volume)),
        "bookmark" => Ok(None),
        other => Err(format!("unknown dataset type {other:?}")),
    }
}

/// Parses `zfs list -Hp -o name,type,PROPS`: one tab-separated line per
/// dataset; bookmarks (which `-t all` includes) are skipped.
pub fn parse_list(out: &str, props: &[&str]) -> Result<Vec<DatasetInfo>, String> {
    let mut list = Vec::new();
    for line in out.lines().filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != props.len() + 2 {
            return Err(format!("expected {} fields in zfs list line {line:?}", props.len() + 2));
        }
        let Some(kind) = kind(fields[1])? else { continue };
        let props = props.iter().zip(&fields[2..]).map(|(p, v)| (p.to_string(), v.to_string())).collect();
        list.push(DatasetInfo { name: fields[0].to_string(), kind, props });
    }
    Ok(list)
}

/// The errno a zfs(8) failure stands for, from its message (zfs(8) prints
/// libzfs's text, not the errno). Checked from the most to the least
/// specific; EIO when nothing matches.
/// A path as `zfs diff` prints it, unescaped: libzfs_diff.c's
/// stream_bytes() writes every byte that is not a printable ASCII
/// character other than space and backslash as `\` and four octal
/// digits (`\0040` for a space).
fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let digits = b.get(i + 1..i + 5).ok_or_else(|| format!("a cut escape in {s:?}"))?;
            let text = std::str::from_utf8(digits).map_err(|_| format!("a bad escape in {s:?}"))?;
            let v = u32::from_str_radix(text, 8).map_err(|_| format!("a bad escape in {s:?}"))?;
            out.push(u8::try_from(v).map_err(|_| format!("a bad escape in {s:?}"))?);
            i += 5;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// A printed path relative to `mountpoint` (the TO dataset's, which
/// print_cmn() puts before each path; `/` is printed as nothing).
fn relative(s: &str, mountpoint: &str) -> Result<std::path::PathBuf, String> {
    use std::os::unix::ffi::OsStrExt;
    let raw = unescape(s)?;
    let mp = mountpoint.trim_end_matches('/').as_bytes();
    let rest = raw.strip_prefix(mp).filter(|r| r.is_empty() || r.starts_with(b"/"));
    let rest = rest.ok_or_else(|| format!("{s:?} is not under {mountpoint}"))?;
    let rest = rest.strip_prefix(b"/").unwrap_or(rest);
    Ok(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(rest)))
}

/// The lines of `zfs diff -FH FROM TO` (libzfs_diff.c print_file and
/// its kin): `CHANGE\tTYPE\tPATH`, `R\tTYPE\tOLD\tNEW` for a rename,
/// and `M\tTYPE\tPATH\t(+N)` for a changed link count. Paths are made
/// relative to `mountpoint`; an object on the delete queue, which has no
/// path (`MOUNTPOINT(on_delete_queue)`), is skipped.
pub fn parse_diff(out: &str, mountpoint: &str) -> Result<Vec<DiffEntry>, String> {
    let mut entries = Vec::new();
    for line in out.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let (Some(change), Some(kind), Some(path)) = (f.first(), f.get(1), f.get(2)) else {
            return Err(format!("zfs diff printed {line:?}, not CHANGE TYPE PATH"));
        };
        // An object on the delete queue has no path: zfs prints the
        // mountpoint and "(on_delete_queue)", in either path field.
        if f[2..].iter().any(|p| p.ends_with("(on_delete_queue)")) {
            continue;
        }
        let kind = match *kind {
            "F" => FileKind::File,
            "/" => FileKind::Dir,
            "@" => FileKind::Symlink,
            "B" | "C" | ">" | "|" | "P" | "=" | "?" => FileKind::Other,
            k => return Err(format!("zfs diff printed the unknown type {k:?} in {line:?}")),
        };
        let change = match *change {
            "+" => Change::Added,
            "-" => Change::Removed,
            "M" => Change::Modified,
            "R" => Change::Renamed(relative(
                f.get(3).ok_or_else(|| format!("a rename without its new path: {line:?}"))?,
                mountpoint,
            )?),
            c => return Err(format!("zfs diff printed the unknown change {c:?} in {line:?}")),
        };
        entries.push(DiffEntry { change, kind, path: relative(path, mountpoint)? });
    }
    Ok(entries)
}

pub fn errno_for(stderr: &str) -> Errno {
    let s = stderr.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| s.contains(n));
    if has(&["not an earlier snapshot"]) {
        // dmu_diff and dmu_send: FROM is not in TO's history.
        Errno::EXDEV
    } else if has(&["does not exist", "no such pool", "no such file"]) {
        Errno::ENOENT
    } else if has(&["already exists"]) {
        Errno::EEXIST
    } else if has(&["dependent clones", "has children"]) {
        // dsl_destroy.c: a snapshot that is a clone origin, or a dataset
        // with child datasets, is EEXIST (dsl_destroy_head_check_impl,
        // dsl_destroy_snapshot_check_impl).
        Errno::EEXIST
    } else if has(&["busy"]) {
        Errno::EBUSY
    } else if has(&["permission denied", "jailed", "zone"]) {
        Errno::EPERM
    } else if has(&["read-only"]) {
        Errno::EROFS
    } else if has(&["quota exceeded"]) {
        Errno::EDQUOT
    } else if has(&["out of space", "no space"]) {
        Errno::ENOSPC
    } else if has(&["too long"]) {
        Errno::ENAMETOOLONG
    } else if has(&["not supported"]) {
        Errno::EOPNOTSUPP
    } else if has(&["invalid", "bad property", "must be", "cannot be", "missing", "usage:"]) {
        Errno::EINVAL
    } else {
        Errno::EIO
    }
}

/// zfs(8)'s stderr as one line for a message.
pub fn stderr_detail(stderr: &str) -> String {
    stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zfs_diff_lines_read_as_libzfs_prints_them() {
        let out = "M\t/\t/jails/web/root/\n\
                   +\tF\t/jails/web/root/usr/local/etc/app\\0040name.conf\n\
                   -\t@\t/jails/web/root/sys\n\
                   R\tF\t/jails/web/root/etc/a\t/jails/web/root/etc/b\n\
                   M\tF\t/jails/web/root/bin/sh\t(+1)\n\
                   -\tF\t/jails/web/root(on_delete_queue)\n\
                   R\tF\t/jails/web/root/a\t/jails/web/root(on_delete_queue)\n";
        let d = parse_diff(out, "/jails/web/root").expect("parses");
        let shown: Vec<(Change, FileKind, String)> =
            d.into_iter().map(|e| (e.change, e.kind, e.path.display().to_string())).collect();
        assert_eq!(
            shown,
            [
                (Change::Modified, FileKind::Dir, "".to_string()),
                (Change::Added, FileKind::File, "usr/local/etc/app name.conf".into()),
                (Change::Removed, FileKind::Symlink, "sys".into()),
                (Change::Renamed("etc/b".into()), FileKind::File, "etc/a".into()),
                (Change::Modified, FileKind::File, "bin/sh".into()),
            ]
        );
        // A mountpoint of / prints paths as they are.
        assert_eq!(parse_diff("+\tF\t/etc/x\n", "/").expect("parses")[0].path, std::path::PathBuf::from("etc/x"));
        // A path with a backslash and a high byte, escaped.
        let odd = parse_diff("+\tF\t/m/a\\0134b\\0303\\0251\n", "/m").expect("parses");
        assert_eq!(odd[0].path.as_os_str().as_encoded_bytes(), b"a\\b\xc3\xa9");
        for bad in ["+\tF\n", "X\tF\t/m/a\n", "+\tQ\t/m/a\n", "+\tF\t/other/a\n", "+\tF\t/m/a\\01\n", "+\tF\t/mx/a\n"] {
            assert!(parse_diff(bad, "/m").is_err(), "{bad:?}");
        }
        assert_eq!(errno_for("Not an earlier snapshot from the same fs"), Errno::EXDEV);
    }

    #[test]
    fn sizes_are_powers_of_1024() {
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("10G"), Some(10 << 30));
        assert_eq!(parse_size("10g"), Some(10 << 30));
        assert_eq!(parse_size("100MB"), Some(100 << 20));
        assert_eq!(parse_size("1.5T"), Some(3 << 39));
        assert_eq!(parse_size("512B"), Some(512));
        assert_eq!(parse_size("16E"), None);
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("1X"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_size("1.5K"), Some(1536));
        assert_eq!(parse_size(".5M"), Some(512 << 10));
        assert_eq!(parse_size("1BB"), None, "BB is refused");
        assert_eq!(parse_size("1BiB"), None);
        assert_eq!(parse_size(" 1G"), None, "no leading blank");
        assert_eq!(parse_size("1G "), None);
        assert_eq!(parse_size("none"), None, "zprop_parse_value's word, not a number");
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("1Z"), None, "2^70 overflows");
    }

    #[test]
    fn native_encoding_of_known_properties() {
        assert_eq!(native_prop("brig:release", "14.1-RELEASE"), Some(NativeValue::Str("14.1-RELEASE".into())));
        assert_eq!(native_prop("mountpoint", "/jails/web"), Some(NativeValue::Str("/jails/web".into())));
        assert_eq!(native_prop("mountpoint", "none"), Some(NativeValue::Str("none".into())));
        assert_eq!(native_prop("mountpoint", "relative"), None);
        assert_eq!(native_prop("quota", "10G"), Some(NativeValue::U64(10 << 30)));
        assert_eq!(native_prop("quota", "none"), Some(NativeValue::U64(0)));
        assert_eq!(native_prop("canmount", "noauto"), Some(NativeValue::U64(2)));
        assert_eq!(native_prop("jailed", "on"), Some(NativeValue::U64(1)));
        assert_eq!(native_prop("atime", "off"), Some(NativeValue::U64(0)));
        assert_eq!(native_prop("compression", "lz4"), Some(NativeValue::U64(15)));
        assert_eq!(native_prop("compression", "gzip-9"), Some(NativeValue::U64(13)));
        assert_eq!(native_prop("compression", "zstd"), None);
        assert_eq!(native_prop("atime", "yes"), None);
        assert_eq!(native_prop("sharenfs", "on"), None);
    }

    #[test]
    fn short_names_are_sent_under_the_full_name() {
        let props = vec![("compress".to_string(), "lz4".to_string()), ("recsize".to_string(), "1M".to_string())];
        assert_eq!(
            native_props(&props),
            Some(vec![
                ("compression".to_string(), NativeValue::U64(15)),
                ("recordsize".to_string(), NativeValue::U64(1 << 20))
            ])
        );
        assert_eq!(native_prop("compress", "lz4"), None, "the kernel knows no `compress`");
    }

    #[test]
    fn a_snapshot_failure_without_a_list_is_the_return_code() {
        assert_eq!(snapshot_failure(0, None, "z/a@s"), None);
        assert_eq!(snapshot_failure(28, None, "z/a@s"), Some(("z/a@s".to_string(), 28)), "ENOSPC");
        assert_eq!(snapshot_failure(17, Some(("z/b@s".to_string(), 17)), "z/a@s"), Some(("z/b@s".to_string(), 17)));
    }

    #[test]
    fn one_unknown_property_sends_the_request_to_zfs8() {
        let ok = vec![("mountpoint".to_string(), "/j".to_string()), ("brig:x".to_string(), "1".to_string())];
        assert_eq!(native_props(&ok).map(|v| v.len()), Some(2));
        let mut bad = ok.clone();
        bad.push(("casesensitivity".to_string(), "mixed".to_string()));
        assert_eq!(native_props(&bad), None);
    }

    #[test]
    fn mounting_follows_canmount_mountpoint_and_jailed() {
        assert!(auto_mounts([("mountpoint", "/j"), ("brig:x", "1")]));
        assert!(auto_mounts([]));
        assert!(!auto_mounts([("canmount", "off")]));
        assert!(!auto_mounts([("canmount", "noauto")]));
        assert!(!auto_mounts([("mountpoint", "none")]));
        assert!(!auto_mounts([("mountpoint", "legacy")]));
        assert!(!auto_mounts([("jailed", "on")]));
    }

    #[test]
    fn get_skips_unset_user_properties() {
        let out = "mountpoint\t/jails/web\tlocal\nbrig:release\t-\t-\norigin\t-\t-\nbrig:note\ta\tb\tlocal\n";
        let map = parse_get(out).expect("parses");
        assert_eq!(map.get("mountpoint").map(String::as_str), Some("/jails/web"));
        assert_eq!(map.get("origin").map(String::as_str), Some("-"));
        assert!(!map.contains_key("brig:release"));
        assert_eq!(map.get("brig:note").map(String::as_str), Some("a\tb"));
        assert!(parse_get("garbage\n").is_err());
    }

    #[test]
    fn list_parses_kinds_and_skips_bookmarks() {
        let out = "zroot/jails\tfilesystem\t/jails\t-\nzroot/jails@a\tsnapshot\t-\t-\nzroot/jails#b\tbookmark\t-\t-\nzroot/vol\tvolume\t-\tx\n";
        let list = parse_list(out, &["mountpoint", "brig:release"]).expect("parses");
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].kind, DatasetKind::Filesystem);
        assert_eq!(list[0].props.get("mountpoint").map(String::as_str), Some("/jails"));
        assert_eq!(list[1].kind, DatasetKind::Snapshot);
        assert_eq!(list[2].props.get("brig:release").map(String::as_str), Some("x"));
        assert!(parse_list("a\tfilesystem\n", &["mountpoint"]).is_err());
        assert!(parse_list("a\tpool\t-\n", &["mountpoint"]).is_err());
    }

    #[test]
    fn zfs_messages_map_to_errnos() {
        assert_eq!(errno_for("cannot open 'zroot/x': dataset does not exist"), Errno::ENOENT);
        assert_eq!(errno_for("cannot create 'zroot/x': dataset already exists"), Errno::EEXIST);
        assert_eq!(
            errno_for("cannot destroy 'zroot/r@s': snapshot has dependent clones\nuse '-R' to destroy"),
            Errno::EEXIST
        );
        assert_eq!(errno_for("cannot destroy 'zroot/x': filesystem has children"), Errno::EEXIST);
        assert_eq!(errno_for("cannot unmount '/jails/web': pool or dataset is busy"), Errno::EBUSY);
        assert_eq!(errno_for("cannot set property for 'zroot/x': permission denied"), Errno::EPERM);
        assert_eq!(errno_for("cannot set property for 'zroot/x': out of space"), Errno::ENOSPC);
        assert_eq!(errno_for("bad property list: invalid property 'bogus'"), Errno::EINVAL);
        assert_eq!(errno_for("something new"), Errno::EIO);
    }

    #[test]
    fn detail_is_one_line() {
        assert_eq!(stderr_detail("cannot destroy 'x': busy\n  use -f\n\n"), "cannot destroy 'x': busy; use -f");
    }
}
