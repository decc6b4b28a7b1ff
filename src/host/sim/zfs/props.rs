//! Properties: the native ones with their kinds, inheritance and defaults,
//! user properties, and `zfs get`/`set`/`list` over them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use nix::errno::Errno;

use super::files::{mount_at, none_busy, other_mount_dirs, should_mount, tree_size, unique_size, unmount_ds};
use super::names::{check_name, is_descendant, parent_name};
use super::ops::{checked_props, clones_of};
use super::{no, Paths};
use crate::host::sim::config::SimConfig;
use crate::host::sim::fs;
use crate::host::sim::jail::Refusal;
use crate::host::sim::state::State;
use crate::host::{DatasetInfo, DatasetKind};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    OnOff,
    Size,
    Choice(&'static [&'static str]),
    Mountpoint,
    Number,
    ReadOnly,
}

/// (name, kind, inherited by children, default)
pub(super) const NATIVE: &[(&str, Kind, bool, &str)] = &[
    ("type", Kind::ReadOnly, false, ""),
    ("name", Kind::ReadOnly, false, ""),
    ("creation", Kind::ReadOnly, false, ""),
    ("createtxg", Kind::ReadOnly, false, ""),
    ("used", Kind::ReadOnly, false, ""),
    ("available", Kind::ReadOnly, false, ""),
    ("referenced", Kind::ReadOnly, false, ""),
    ("mounted", Kind::ReadOnly, false, ""),
    ("origin", Kind::ReadOnly, false, ""),
    ("guid", Kind::ReadOnly, false, ""),
    ("clones", Kind::ReadOnly, false, ""),
    ("compressratio", Kind::ReadOnly, false, ""),
    ("mountpoint", Kind::Mountpoint, true, ""),
    ("canmount", Kind::Choice(&["on", "off", "noauto"]), false, "on"),
    ("readonly", Kind::OnOff, true, "off"),
    ("jailed", Kind::OnOff, true, "off"),
    ("atime", Kind::OnOff, true, "on"),
    ("exec", Kind::OnOff, true, "on"),
    ("setuid", Kind::OnOff, true, "on"),
    ("devices", Kind::OnOff, true, "on"),
    ("quota", Kind::Size, false, "0"),
    ("refquota", Kind::Size, false, "0"),
    ("reservation", Kind::Size, false, "0"),
    ("refreservation", Kind::Size, false, "0"),
    ("compression", Kind::Choice(&["on", "off", "lz4", "zstd", "gzip", "lzjb", "zle"]), true, "off"),
    ("recordsize", Kind::Size, true, "131072"),
    ("snapdir", Kind::Choice(&["hidden", "visible"]), true, "hidden"),
    ("sync", Kind::Choice(&["standard", "always", "disabled"]), true, "standard"),
    ("copies", Kind::Number, true, "1"),
];

pub(super) fn native(name: &str) -> Option<(Kind, bool, &'static str)> {
    NATIVE.iter().find(|(n, ..)| *n == name).map(|(_, k, i, d)| (*k, *i, *d))
}

/// User properties: a colon, then lowercase letters, digits and `:-._`,
/// at most 256 characters.
pub(super) fn is_user_prop(name: &str) -> bool {
    name.contains(':')
        && name.len() <= 256
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, ':' | '-' | '.' | '_'))
}

/// A size property's value as zprop_parse_value reads it: `none` is 0 for
/// the properties that take it (quota, reservation and their ref
/// variants), anything else goes through zfs_nicestrtonum
/// (kernel::zfs::parse_size, the one brig uses everywhere).
pub fn parse_size(v: &str) -> Option<u64> {
    if v == "none" {
        return Some(0);
    }
    crate::kernel::zfs::parse_size(v)
}

/// Checks one `PROP=VALUE` the way `zfs set` does and returns the value to
/// store (sizes normalised to bytes).
pub(super) fn check_prop(name: &str, value: &str) -> Result<String, Refusal> {
    if is_user_prop(name) {
        if value.len() > 8192 {
            return Err(no(Errno::E2BIG, format!("property '{name}': value is too long")));
        }
        return Ok(value.to_string());
    }
    let Some((kind, ..)) = native(name) else {
        return Err(no(Errno::EINVAL, format!("invalid property '{name}'")));
    };
    let bad = || no(Errno::EINVAL, format!("bad value '{value}' for property '{name}'"));
    match kind {
        Kind::ReadOnly => Err(no(Errno::EINVAL, format!("property '{name}' is read-only"))),
        Kind::OnOff => matches!(value, "on" | "off").then(|| value.to_string()).ok_or_else(bad),
        Kind::Choice(c) => c.contains(&value).then(|| value.to_string()).ok_or_else(bad),
        Kind::Size => parse_size(value).map(|n| n.to_string()).ok_or_else(bad),
        Kind::Number => value.parse::<u64>().map(|n| n.to_string()).map_err(|_| bad()),
        Kind::Mountpoint => {
            if matches!(value, "none" | "legacy") || (value.starts_with('/') && !value.contains('\0')) {
                Ok(value.to_string())
            } else {
                Err(bad())
            }
        }
    }
}

/// A property's effective value: local, else inherited, else the default.
pub(super) fn effective(st: &State, cfg: &SimConfig, name: &str, prop: &str) -> String {
    if prop == "mountpoint" {
        return mountpoint_prop(st, cfg, name);
    }
    let mut cur = Some(name);
    let inherits = native(prop).is_some_and(|(_, i, _)| i);
    while let Some(n) = cur {
        if let Some(v) = st.datasets.get(n).and_then(|d| d.props.get(prop)) {
            return v.clone();
        }
        if !inherits {
            break;
        }
        cur = parent_name(n);
    }
    native(prop).map(|(_, _, d)| d.to_string()).unwrap_or_default()
}

/// `zfs get mountpoint`: the path, or `none`/`legacy` as inherited.
pub(super) fn mountpoint_prop(st: &State, cfg: &SimConfig, name: &str) -> String {
    match mountpoint(st, cfg, name) {
        Some(p) => p.to_string_lossy().into_owned(),
        None => {
            let mut cur = Some(name);
            while let Some(n) = cur {
                if let Some(v) = st.datasets.get(n).and_then(|d| d.props.get("mountpoint")) {
                    return v.clone();
                }
                cur = parent_name(n);
            }
            "none".into()
        }
    }
}

/// The effective mountpoint: local, or the parent's plus this component, or
/// `/POOL` for the pool's root. None for `none`/`legacy`.
pub fn mountpoint(st: &State, cfg: &SimConfig, name: &str) -> Option<PathBuf> {
    if let Some(v) = st.datasets.get(name).and_then(|d| d.props.get("mountpoint")) {
        return match v.as_str() {
            "none" | "legacy" => None,
            p => Some(PathBuf::from(p)),
        };
    }
    match name.rfind('/') {
        Some(i) => mountpoint(st, cfg, &name[..i]).map(|p| p.join(&name[i + 1..])),
        None => Some(PathBuf::from(format!("/{}", cfg.pool))),
    }
}

/// A dataset's `used`: what it references, but for a clone only what
/// it holds that its origin does not; and its children's.
pub(super) fn used(st: &State, paths: &Paths, name: &str) -> u64 {
    let origin = st.datasets.get(name).and_then(|d| d.origin.as_ref()).and_then(|o| st.datasets.get(o));
    let own = match (st.datasets.get(name), origin) {
        (Some(d), Some(o)) if !d.snapshot => {
            let files = super::ops::dataset_files(paths, d);
            let skip = d.mounted.as_ref().map(|mp| other_mount_dirs(st, paths, mp)).unwrap_or_default();
            unique_size(&files, &paths.snapshot_store(o.guid), &skip)
        }
        _ => referenced(st, paths, name),
    };
    let kids: u64 = st
        .datasets
        .keys()
        .filter(|n| is_descendant(n, name) && !n[name.len() + 1..].contains(['/', '@']))
        .map(|n| used(st, paths, n))
        .sum();
    own + kids
}

pub(super) fn referenced(st: &State, paths: &Paths, name: &str) -> u64 {
    let Some(d) = st.datasets.get(name) else { return 0 };
    if d.snapshot {
        return tree_size(&paths.snapshot_store(d.guid), &[]);
    }
    match &d.mounted {
        Some(mp) => tree_size(&fs::local(paths.root, mp), &other_mount_dirs(st, paths, mp)),
        None => tree_size(&paths.stash(d.guid), &[]),
    }
}

/// One property in `zfs get -Hp` form. None: an unset user property.
pub(super) fn prop_value(
    st: &State,
    cfg: &SimConfig,
    paths: &Paths,
    name: &str,
    prop: &str,
) -> Result<Option<String>, Refusal> {
    let d = st.datasets.get(name).ok_or_else(|| no(Errno::ENOENT, format!("dataset does not exist: {name}")))?;
    if is_user_prop(prop) {
        let mut cur = Some(name.split('@').next().unwrap_or(name));
        if d.snapshot {
            return Ok(d.props.get(prop).cloned());
        }
        while let Some(n) = cur {
            if let Some(v) = st.datasets.get(n).and_then(|x| x.props.get(prop)) {
                return Ok(Some(v.clone()));
            }
            cur = parent_name(n);
        }
        return Ok(None);
    }
    if native(prop).is_none() {
        return Err(no(Errno::EINVAL, format!("bad property list: invalid property '{prop}'")));
    }
    let fs_only = |v: String| if d.snapshot { "-".to_string() } else { v };
    Ok(Some(match prop {
        "type" => (if d.snapshot { "snapshot" } else { "filesystem" }).to_string(),
        "name" => name.to_string(),
        "creation" => d.creation.to_string(),
        "guid" => d.guid.to_string(),
        // The sim's guids grow as transaction groups do: they order
        // snapshots as createtxg orders them (snapshots of one dataset
        // never share a txg, dsl_dataset_snapshot_check_impl).
        "createtxg" => d.guid.to_string(),
        "origin" => d.origin.clone().unwrap_or_else(|| "-".into()),
        "used" => {
            if d.snapshot {
                "0".into()
            } else {
                used(st, paths, name).to_string()
            }
        }
        "referenced" => referenced(st, paths, name).to_string(),
        "compressratio" => "1.00".into(),
        "available" => {
            let pool_used = used(st, paths, &cfg.pool);
            let mut avail = cfg.pool_size.saturating_sub(pool_used);
            let mut cur = Some(name.split('@').next().unwrap_or(name));
            while let Some(n) = cur {
                let q = effective(st, cfg, n, "quota").parse::<u64>().unwrap_or(0);
                if q > 0 {
                    avail = avail.min(q.saturating_sub(used(st, paths, n)));
                }
                cur = parent_name(n);
            }
            fs_only(avail.to_string())
        }
        "mounted" => fs_only((if d.mounted.is_some() { "yes" } else { "no" }).to_string()),
        "clones" => {
            if d.snapshot {
                clones_of(st, name).join(",")
            } else {
                "-".into()
            }
        }
        "mountpoint" => fs_only(effective(st, cfg, name, prop)),
        _ => fs_only(effective(st, cfg, name, prop)),
    }))
}

pub fn get(
    st: &State,
    cfg: &SimConfig,
    paths: &Paths,
    name: &str,
    props: &[&str],
) -> Result<BTreeMap<String, String>, Refusal> {
    check_name(name)?;
    let mut out = BTreeMap::new();
    for p in props {
        if let Some(v) = prop_value(st, cfg, paths, name, p)? {
            out.insert(p.to_string(), v);
        }
    }
    Ok(out)
}

pub fn set(
    st: &mut State,
    cfg: &SimConfig,
    paths: &Paths,
    name: &str,
    props: &[(String, String)],
) -> Result<(), Refusal> {
    check_name(name)?;
    if !st.datasets.contains_key(name) {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {name}")));
    }
    let checked = checked_props(props)?;
    if checked.contains_key("mountpoint") && effective(st, cfg, name, "jailed") == "on" {
        // libzfs zfs_valid_proplist, from the host.
        return Err(no(Errno::EPERM, format!("'mountpoint' cannot be set on dataset in a non-global zone ({name})")));
    }
    for (k, v) in &checked {
        if matches!(k.as_str(), "quota" | "refquota") && v != "0" {
            let q = v.parse::<u64>().unwrap_or(0);
            if q < used(st, paths, name) {
                return Err(no(Errno::ENOSPC, format!("size is less than current used or reserved space ({k})")));
            }
        }
    }
    let remount = checked.keys().any(|k| matches!(k.as_str(), "mountpoint" | "canmount" | "jailed"));
    let affected: Vec<String> = st
        .datasets
        .iter()
        .filter(|(n, d)| (*n == name || is_descendant(n, name)) && !d.snapshot && d.mounted.is_some())
        .map(|(n, _)| n.clone())
        .collect();
    if remount {
        // As for rename: nothing changes while one of them is busy.
        none_busy(st, paths, &affected)?;
    }
    if remount {
        let mut deepest = affected.clone();
        deepest.sort_by_key(|n| std::cmp::Reverse(n.matches('/').count()));
        for n in &deepest {
            unmount_ds(st, paths, n)?;
        }
    }
    if let Some(d) = st.datasets.get_mut(name) {
        d.props.extend(checked);
    }
    if remount {
        let mut order = affected;
        if !order.iter().any(|n| n == name) {
            order.push(name.to_string());
        }
        order.sort_by_key(|n| n.matches('/').count());
        for n in order {
            if let Some(mp) = should_mount(st, cfg, &n) {
                mount_at(st, paths, &n, &mp)?;
            }
        }
    }
    Ok(())
}

pub fn list(
    st: &State,
    cfg: &SimConfig,
    paths: &Paths,
    root: &str,
    props: &[&str],
) -> Result<Vec<DatasetInfo>, Refusal> {
    check_name(root)?;
    if !st.datasets.contains_key(root) {
        return Err(no(Errno::ENOENT, format!("dataset does not exist: {root}")));
    }
    let mut out = Vec::new();
    for (n, d) in st.datasets.iter().filter(|(n, _)| *n == root || is_descendant(n, root)) {
        let mut values = BTreeMap::new();
        for p in props {
            let v = prop_value(st, cfg, paths, n, p)?.unwrap_or_else(|| "-".into());
            values.insert(p.to_string(), v);
        }
        let kind = if d.snapshot { DatasetKind::Snapshot } else { DatasetKind::Filesystem };
        out.push(DatasetInfo { name: n.clone(), kind, props: values });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("1.5K"), Some(1536));
        assert_eq!(parse_size("10GB"), Some(10 << 30));
        assert_eq!(parse_size("none"), Some(0));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("-1"), None);
    }

    #[test]
    fn user_property_names() {
        assert!(is_user_prop("brig:release"));
        assert!(!is_user_prop("brig"));
        assert!(!is_user_prop("Brig:Release"));
    }
}
