//! The simulated kernel's jail_set(2), jail_get(2) and jail_remove(2).
//!
//! Requests arrive as the same iovec byte buffers the FreeBSD host passes to
//! the kernel and are parsed the way kern_jail.c parses them, so an encoding
//! mistake fails here too. The rules and their errnos follow
//! kern_jail_set(), kern_jail_get(), sys_jail_remove() and prison_deref()
//! in sys/kern/kern_jail.c; where the sim differs from the kernel the
//! comment says so.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use nix::errno::Errno;

use super::config::SimConfig;
use super::fs;
use super::state::{SimJail, State};
use super::sysctl;
use crate::host::{GetFlags, JailParam, JailSys, Jid, ParamValue, SetFlags};
use crate::kernel::encode::{self, IovPair};
use crate::kernel::params::{self, Access, ParamType, MAXHOSTNAMELEN, MAX_AF_IPS};

/// The highest jail id (JAIL_MAX).
const JAIL_MAX: Jid = 999_999;

/// A refusal: the errno and the kernel's errmsg text.
pub type Refusal = (Errno, String);

fn no(errno: Errno, msg: impl Into<String>) -> Refusal {
    (errno, msg.into())
}

/// The allow.* flags a new jail gets (JAIL_DEFAULT_ALLOW).
const DEFAULT_ALLOW: &[&str] =
    &["allow.set_hostname", "allow.reserved_ports", "allow.unprivileged_proc_debug", "allow.suser"];

fn c_name(raw: &[u8]) -> Result<String, Refusal> {
    match raw.split_last() {
        Some((0, name)) if !name.contains(&0) => {
            String::from_utf8(name.to_vec()).map_err(|_| no(Errno::EINVAL, "parameter name is not UTF-8"))
        }
        _ => Err(no(Errno::EINVAL, "parameter name is not NUL-terminated")),
    }
}

/// Parses a jail_set(2) request into positive names and typed values.
fn parse_set(cfg: &SimConfig, iov: &[IovPair]) -> Result<BTreeMap<String, ParamValue>, Refusal> {
    let mut out: BTreeMap<String, ParamValue> = BTreeMap::new();
    for pair in iov {
        let name = c_name(&pair.name)?;
        if name == "errmsg" {
            continue;
        }
        let look = params::lookup(&name)
            .filter(|l| l.def.access != Access::ReadOnly && cfg.knows(l.def.name))
            .ok_or_else(|| no(Errno::EINVAL, format!("unknown parameter: {name}")))?;
        let value = if look.def.ty == ParamType::Bool {
            // vfs_flagopt: a boolean is present or not; its value is ignored.
            ParamValue::Bool(!look.negated)
        } else {
            let bytes = pair.value.as_deref().unwrap_or(&[]);
            encode::decode_value(look.def, bytes).map_err(|e| (e.errno, e.detail))?
        };
        if let Some(prev) = out.get(look.def.name) {
            if look.def.ty == ParamType::Bool && prev != &value {
                return Err(no(Errno::EINVAL, format!("{} cannot be both set and cleared", look.def.name)));
            }
        }
        out.insert(look.def.name.to_string(), value);
    }
    Ok(out)
}

fn int_param(p: &BTreeMap<String, ParamValue>, name: &str) -> Option<i32> {
    match p.get(name) {
        Some(ParamValue::Int(v)) => Some(*v),
        _ => None,
    }
}

fn jailsys_param(p: &BTreeMap<String, ParamValue>, name: &str) -> Option<JailSys> {
    match p.get(name) {
        Some(ParamValue::JailSys(v)) => Some(*v),
        _ => None,
    }
}

impl SimJail {
    pub(super) fn int(&self, name: &str) -> i32 {
        match self.params.get(name).map(|p| &p.value) {
            Some(ParamValue::Int(v)) => *v,
            _ => 0,
        }
    }
    pub(super) fn flag(&self, name: &str) -> bool {
        matches!(self.params.get(name).map(|p| &p.value), Some(ParamValue::Bool(true)))
    }
    fn jailsys(&self, name: &str) -> JailSys {
        match self.params.get(name).map(|p| &p.value) {
            Some(ParamValue::JailSys(v)) => *v,
            _ => JailSys::Disable,
        }
    }
    fn ip4(&self) -> Vec<Ipv4Addr> {
        match self.params.get("ip4.addr").map(|p| &p.value) {
            Some(ParamValue::Ip4(v)) => v.clone(),
            _ => Vec::new(),
        }
    }
    fn ip6(&self) -> Vec<Ipv6Addr> {
        match self.params.get("ip6.addr").map(|p| &p.value) {
            Some(ParamValue::Ip6(v)) => v.clone(),
            _ => Vec::new(),
        }
    }
    fn set(&mut self, name: &str, value: ParamValue) {
        self.params.insert(name.to_string(), JailParam::new(name, value));
    }
}

/// What a parent grants: the host itself (prison0) or a jail.
struct Parent {
    jid: Jid,
    securelevel: i32,
    enforce_statfs: i32,
    children_max: i32,
    devfs_ruleset: i32,
    /// None: prison0, which has every allow flag.
    allow: Option<Vec<String>>,
    /// None: unrestricted (prison0 or ip4=inherit up to prison0).
    ip4: Option<Vec<Ipv4Addr>>,
    ip6: Option<Vec<Ipv6Addr>>,
    osrelease: String,
    osreldate: i32,
}

fn parent_of(st: &State, cfg: &SimConfig, jid: Jid) -> Parent {
    match st.jails.get(&jid) {
        None => Parent {
            jid: 0,
            securelevel: i32::try_from(sysctl::int(st, cfg, "kern.securelevel")).unwrap_or(-1),
            enforce_statfs: 0,
            children_max: i32::try_from(sysctl::int(st, cfg, "security.jail.children.max")).unwrap_or(JAIL_MAX),
            devfs_ruleset: 0,
            allow: None,
            ip4: None,
            ip6: None,
            osrelease: cfg.osrelease.clone(),
            osreldate: i32::try_from(cfg.osreldate).unwrap_or(0),
        },
        Some(j) => Parent {
            jid: j.jid,
            securelevel: j.int("securelevel"),
            enforce_statfs: j.int("enforce_statfs"),
            children_max: j.int("children.max"),
            devfs_ruleset: j.int("devfs_ruleset"),
            allow: Some(
                j.params
                    .iter()
                    .filter(|(k, v)| k.starts_with("allow.") && v.value == ParamValue::Bool(true))
                    .map(|(k, _)| k.clone())
                    .collect(),
            ),
            ip4: (j.jailsys("ip4") == JailSys::New).then(|| j.ip4()),
            ip6: (j.jailsys("ip6") == JailSys::New).then(|| j.ip6()),
            osrelease: match j.params.get("osrelease").map(|p| &p.value) {
                Some(ParamValue::Str(s)) => s.clone(),
                _ => cfg.osrelease.clone(),
            },
            osreldate: j.int("osreldate"),
        },
    }
}

/// Whether `jid` is `of` or one of its descendants.
fn descends(st: &State, mut jid: Jid, of: Jid) -> bool {
    while let Some(j) = st.jails.get(&jid) {
        if j.jid == of {
            return true;
        }
        jid = j.parent;
    }
    false
}

/// `children.cur`: every descendant, dying ones included, because
/// pr_childcount is raised for each ancestor when a jail is made and only
/// lowered when it is freed (kern_jail_set, prison_deref;
/// tests/sys/kern/sysctl_security_jail_children.sh counts a grandchild).
pub(super) fn children_cur(st: &State, jid: Jid) -> i32 {
    let n = st.jails.values().filter(|j| j.jid != jid && (jid == 0 || descends(st, j.jid, jid))).count();
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The live jail of that name: dying jails never block a name
/// (prison_find_name prefers a live one; kern_jail_set skips dying ones
/// when it checks for a clash).
fn find_by_name(st: &State, name: &str) -> Option<Jid> {
    st.jails.values().find(|j| j.alive() && j.name == name).map(|j| j.jid)
}

/// As prison_find_name does for jail_get(2) with JAIL_DYING: a live jail
/// of that name, else a dying one.
fn find_by_name_or_dying(st: &State, name: &str) -> Option<Jid> {
    find_by_name(st, name).or_else(|| st.jails.values().find(|j| j.name == name).map(|j| j.jid))
}

fn next_jid(st: &State) -> Result<Jid, Refusal> {
    let mut j = st.last_jid;
    for _ in 0..JAIL_MAX {
        j = if j >= JAIL_MAX { 1 } else { j + 1 };
        if !st.jails.contains_key(&j) {
            return Ok(j);
        }
    }
    Err(no(Errno::EAGAIN, "no available jail IDs"))
}

fn check_ip4(addrs: &[Ipv4Addr]) -> Result<(), Refusal> {
    if addrs.len() > MAX_AF_IPS {
        return Err(no(Errno::EINVAL, "too many IPv4 addresses"));
    }
    for (i, a) in addrs.iter().enumerate() {
        if a.is_unspecified() || a.is_broadcast() || addrs[..i].contains(a) {
            return Err(no(Errno::EINVAL, format!("invalid or duplicate IPv4 address {a}")));
        }
    }
    Ok(())
}

fn check_ip6(addrs: &[Ipv6Addr]) -> Result<(), Refusal> {
    if addrs.len() > MAX_AF_IPS {
        return Err(no(Errno::EINVAL, "too many IPv6 addresses"));
    }
    for (i, a) in addrs.iter().enumerate() {
        if a.is_unspecified() || addrs[..i].contains(a) {
            return Err(no(Errno::EINVAL, format!("invalid or duplicate IPv6 address {a}")));
        }
    }
    Ok(())
}

/// prison_ip_conflict_check: the same address in two live jails is only
/// refused when either jail has more than one address of that family.
fn check_clash(st: &State, me: Jid, ip4: &[Ipv4Addr], ip6: &[Ipv6Addr]) -> Result<(), Refusal> {
    for other in st.jails.values().filter(|j| j.jid != me) {
        let o4 = other.ip4();
        if ip4.iter().any(|a| o4.contains(a)) && (ip4.len() > 1 || o4.len() > 1) {
            return Err(no(Errno::EADDRINUSE, "IPv4 addresses clash"));
        }
        let o6 = other.ip6();
        if ip6.iter().any(|a| o6.contains(a)) && (ip6.len() > 1 || o6.len() > 1) {
            return Err(no(Errno::EADDRINUSE, "IPv6 addresses clash"));
        }
    }
    Ok(())
}

/// The parameters checked against the parent on create and update.
fn check_against_parent(p: &BTreeMap<String, ParamValue>, parent: &Parent, jailed_caller: bool) -> Result<(), Refusal> {
    if let Some(sl) = int_param(p, "securelevel") {
        if sl < parent.securelevel {
            return Err(no(Errno::EPERM, format!("securelevel {sl} is below the parent's {}", parent.securelevel)));
        }
    }
    if let Some(es) = int_param(p, "enforce_statfs") {
        if es < parent.enforce_statfs {
            return Err(no(Errno::EPERM, "enforce_statfs is below the parent's"));
        }
    }
    if parent.jid != 0 {
        if let Some(cm) = int_param(p, "children.max") {
            if cm >= parent.children_max {
                return Err(no(Errno::EPERM, "children.max must be below the parent's"));
            }
        }
    }
    // "Nested jails always inherit parent's devfs ruleset", but only a
    // jailed caller is held to it; the host may set any ruleset on any
    // jail (kern_jail_set).
    if jailed_caller {
        if let Some(rs) = int_param(p, "devfs_ruleset") {
            if rs != 0 && rs != parent.devfs_ruleset {
                return Err(no(Errno::EPERM, "devfs_ruleset differs from the parent's"));
            }
        }
    }
    if let Some(allowed) = &parent.allow {
        for (k, v) in p {
            if k.starts_with("allow.") && *v == ParamValue::Bool(true) && !allowed.contains(k) {
                return Err(no(Errno::EPERM, format!("{k} is not allowed by the parent")));
            }
        }
    }
    if let (Some(allowed), Some(ParamValue::Ip4(want))) = (&parent.ip4, p.get("ip4.addr")) {
        if want.iter().any(|a| !allowed.contains(a)) {
            return Err(no(Errno::EPERM, "IPv4 addresses are not a subset of the parent's"));
        }
    }
    if let (Some(allowed), Some(ParamValue::Ip6(want))) = (&parent.ip6, p.get("ip6.addr")) {
        if want.iter().any(|a| !allowed.contains(a)) {
            return Err(no(Errno::EPERM, "IPv6 addresses are not a subset of the parent's"));
        }
    }
    Ok(())
}

/// jail_set(2).
/// `alive(path)` tells whether processes run with that jail root, for a
/// jail that stops persisting.
pub fn set(
    st: &mut State,
    cfg: &SimConfig,
    root: &Path,
    iov: &[IovPair],
    flags: SetFlags,
    alive: &dyn Fn(&str) -> bool,
) -> Result<Jid, Refusal> {
    let jailed_caller = check_flags(st, cfg, flags)?;
    let mut p = parse_set(cfg, iov)?;
    // kern_jail_set checks this on the flags, before looking anything up:
    // a create (with or without update) that neither persists nor
    // attaches is refused even when the jail exists.
    if flags.create && !flags.attach && p.get("persist") != Some(&ParamValue::Bool(true)) {
        return Err(no(Errno::EINVAL, "new jail must persist or attach"));
    }
    check_values(root, &mut p, flags)?;
    let t = find_target(st, &p, flags)?;
    match t.existing {
        Some(jid) => update(st, cfg, jailed_caller, jid, t.parent_jid, t.name, p, alive),
        None => create(st, cfg, jailed_caller, t.jid, t.parent_jid, t.name, p),
    }
}

/// kern_jail_set's checks of the flags and of the caller, before any
/// parameter is read: whether the caller is jailed.
fn check_flags(st: &State, cfg: &SimConfig, flags: SetFlags) -> Result<bool, Refusal> {
    if !flags.create && !flags.update {
        return Err(no(Errno::EINVAL, "no valid operation (create or update)"));
    }
    if flags.attach {
        // The sim cannot move brig's own process into a jail; brig never
        // asks for it (commands go through Host::spawn).
        return Err(no(Errno::EOPNOTSUPP, "the simulated host does not support JAIL_ATTACH"));
    }
    let jailed_caller = sysctl::int(st, cfg, "security.jail.jailed") == 1;
    if flags.create && jailed_caller {
        let max = sysctl::int(st, cfg, "security.jail.children.max");
        let cur = sysctl::int(st, cfg, "security.jail.children.cur");
        if max == 0 || cur >= max {
            return Err(no(Errno::EPERM, "prison limit exceeded"));
        }
    }
    Ok(jailed_caller)
}

/// kern_jail_set's checks of the values themselves, which need no jail
/// looked up: ranges, create-only parameters on an update, addresses (kept
/// as prison_ip_copyin orders them), the path (resolved as namei would).
fn check_values(root: &Path, p: &mut BTreeMap<String, ParamValue>, flags: SetFlags) -> Result<(), Refusal> {
    if let Some(j) = int_param(p, "jid") {
        if j < 0 {
            return Err(no(Errno::EINVAL, "negative jid"));
        }
    }
    for (name, ty) in params::PARAMS.iter().map(|d| (d.name, d.ty)) {
        match (ty, p.get(name)) {
            (ParamType::Int { min, max }, Some(ParamValue::Int(v))) if *v < min || *v > max => {
                return Err(no(Errno::EINVAL, format!("{name} must be between {min} and {max}")));
            }
            (ParamType::JailSys { disable: false }, Some(ParamValue::JailSys(JailSys::Disable))) => {
                return Err(no(Errno::EINVAL, format!("{name} cannot be disable")));
            }
            _ => {}
        }
    }
    if flags.update {
        // jid selects the jail on update; every other create-only
        // parameter is refused.
        let fixed = params::PARAMS.iter().filter(|d| d.access == Access::CreateOnly && d.name != "jid");
        if let Some(d) = fixed.into_iter().find(|d| p.contains_key(d.name)) {
            return Err(no(Errno::EINVAL, format!("{} cannot be changed after creation", d.name)));
        }
    }
    let vnet_new = jailsys_param(p, "vnet") == Some(JailSys::New);
    if vnet_new && ["ip4", "ip4.addr", "ip6", "ip6.addr"].iter().any(|k| p.contains_key(*k)) {
        return Err(no(Errno::EINVAL, "vnet jails cannot have IP address restrictions"));
    }
    if let Some(ParamValue::Ip4(a)) = p.get_mut("ip4.addr") {
        check_ip4(a)?;
        // prison_ip_copyin: the first address is the primary one, the
        // rest are kept sorted.
        a.get_mut(1..).unwrap_or_default().sort();
    }
    if let Some(ParamValue::Ip6(a)) = p.get_mut("ip6.addr") {
        check_ip6(a)?;
        a.get_mut(1..).unwrap_or_default().sort();
    }
    if let Some(ParamValue::Str(path)) = p.get("path") {
        if path.is_empty() {
            return Err(no(Errno::EINVAL, "path is empty"));
        }
        let resolved = fs::resolve_dir(root, Path::new(path)).map_err(|e| (e, path.clone()))?;
        p.insert("path".into(), ParamValue::Str(resolved.to_string_lossy().into_owned()));
    }
    if int_param(p, "osreldate") == Some(0) {
        return Err(no(Errno::EINVAL, "osreldate cannot be 0"));
    }
    if matches!(p.get("osrelease"), Some(ParamValue::Str(s)) if s.is_empty()) {
        return Err(no(Errno::EINVAL, "osrelease string must be 1-31 bytes long"));
    }
    Ok(())
}

/// The jail a jail_set acts on, as kern_jail_set finds it.
struct Target {
    /// The jid asked for (0: the kernel picks one).
    jid: Jid,
    /// The parent named by the name's prefix (`PARENT.CHILD`), 0 for the
    /// caller's prison.
    parent_jid: Jid,
    name: Option<String>,
    /// The live jail to update, None for a create.
    existing: Option<Jid>,
}

/// Finds the jail: by jid, else by name; a dying jail whose jid a create
/// asks for is renumbered. Refuses what kern_jail_set refuses on the way.
fn find_target(st: &mut State, p: &BTreeMap<String, ParamValue>, flags: SetFlags) -> Result<Target, Refusal> {
    // Find the jail: by jid, else by name.
    let name = match p.get("name") {
        Some(ParamValue::Str(n)) => Some(n.clone()),
        _ => None,
    };
    let mut jid = int_param(p, "jid").unwrap_or(0);
    let mut parent_jid: Jid = 0;
    // Some(v) when the last component is all digits: v is its value when
    // it is in normal form (no leading zero) and fits.
    let mut numeric_name: Option<Option<Jid>> = None;
    if let Some(n) = &name {
        if n.is_empty() {
            return Err(no(Errno::EINVAL, "name is empty"));
        }
        if n.len() + 1 > MAXHOSTNAMELEN {
            return Err(no(Errno::ENAMETOOLONG, format!("name {n} is too long")));
        }
        let (prefix, last) = match n.rfind('.') {
            Some(i) => (Some(&n[..i]), &n[i + 1..]),
            None => (None, n.as_str()),
        };
        if let Some(prefix) = prefix {
            parent_jid = match (find_by_name(st, prefix), find_by_name_or_dying(st, prefix)) {
                (Some(p), _) => p,
                (None, Some(_)) => return Err(no(Errno::ENOENT, format!("jail \"{prefix}\" is dying"))),
                (None, None) => return Err(no(Errno::ENOENT, format!("jail \"{prefix}\" not found"))),
            };
        }
        if last.is_empty() {
            return Err(no(Errno::EINVAL, "name has an empty component"));
        }
        if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
            // kern_jail_set: a plain create without a jid takes it from an
            // all-digit last component, read with strtoul (so "0123" asks
            // for jid 123); the name is refused later unless it is the jid
            // in normal form.
            let v = last.parse::<u64>().ok().and_then(|v| Jid::try_from(v).ok());
            if flags.create && !flags.update && jid == 0 {
                jid = v.unwrap_or(-1);
            }
            numeric_name = Some(v.filter(|_| !last.starts_with('0')));
        }
    }
    if jid < 0 {
        return Err(no(Errno::EINVAL, "negative jid"));
    }
    if jid != 0 && flags.create && st.jails.get(&jid).is_some_and(|j| !j.alive()) {
        // A new jail that asks for the jid of a dying one gets it, and the
        // dying jail a new, high one (get_next_deadid).
        renumber_dying(st, jid)?;
    }
    let existing: Option<Jid> = if jid != 0 {
        match (st.jails.get(&jid).is_some_and(SimJail::alive), flags.create, flags.update) {
            (true, true, false) => return Err(no(Errno::EEXIST, format!("jail {jid} already exists"))),
            (false, false, true) => return Err(no(Errno::ENOENT, format!("jail {jid} not found"))),
            (true, _, _) => Some(jid),
            (false, _, _) => None,
        }
    } else if let Some(n) = &name {
        match (find_by_name(st, n), flags.create, flags.update) {
            (Some(_), true, false) => return Err(no(Errno::EEXIST, format!("jail \"{n}\" already exists"))),
            (None, false, true) => return Err(no(Errno::ENOENT, format!("jail \"{n}\" not found"))),
            (found, _, _) => found,
        }
    } else if !flags.create {
        return Err(no(Errno::ENOENT, "update specified no jail"));
    } else {
        None
    };
    // "name cannot be numeric (unless it is the jid)", checked once the
    // jail is found or its jid chosen.
    let final_jid = existing.unwrap_or(jid);
    if let Some(v) = numeric_name {
        if v != Some(final_jid) || final_jid == 0 {
            return Err(no(Errno::EINVAL, "name cannot be numeric (unless it is the jid)"));
        }
    }
    Ok(Target { jid, parent_jid, name, existing })
}

/// get_next_deadid: the dying jail whose jid a new jail takes moves to the
/// highest free jid, counting down from JAIL_MAX.
fn renumber_dying(st: &mut State, jid: Jid) -> Result<(), Refusal> {
    let new =
        (1..=JAIL_MAX).rev().find(|j| !st.jails.contains_key(j)).ok_or(no(Errno::EAGAIN, "no available jail IDs"))?;
    if let Some(mut j) = st.jails.remove(&jid) {
        j.jid = new;
        for c in st.jails.values_mut().filter(|c| c.parent == jid) {
            c.parent = new;
        }
        st.jails.insert(new, j);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn create(
    st: &mut State,
    cfg: &SimConfig,
    jailed_caller: bool,
    jid: Jid,
    parent_jid: Jid,
    name: Option<String>,
    mut p: BTreeMap<String, ParamValue>,
) -> Result<Jid, Refusal> {
    // The limit is checked along the *caller's* chain (`for (tpr = mypr;
    // tpr != NULL; tpr = tpr->pr_parent)` in kern_jail_set), not the new
    // jail's ancestors: brig calls from the host, whose prison0 allows
    // security.jail.children.max jails in all, so a parent's children.max
    // does not stop the host from creating a jail under it. (A jailed
    // caller's own limit was checked above from its sysctls.)
    let host_max = sysctl::int(st, cfg, "security.jail.children.max");
    if !jailed_caller && i64::from(children_cur(st, 0)) >= host_max {
        return Err(no(Errno::EPERM, "prison limit exceeded"));
    }
    let parent = parent_of(st, cfg, parent_jid);
    check_against_parent(&p, &parent, jailed_caller)?;
    let jid = if jid == 0 { next_jid(st)? } else { jid };
    let name = name.unwrap_or_else(|| jid.to_string());

    // IP modes: addresses given -> new; nothing -> disable; inherit ->
    // the parent's list (empty for an unrestricted parent).
    for (mode, addr) in [("ip4", "ip4.addr"), ("ip6", "ip6.addr")] {
        let m = jailsys_param(&p, mode).unwrap_or(if p.contains_key(addr) { JailSys::New } else { JailSys::Disable });
        if m != JailSys::New && p.contains_key(addr) {
            return Err(no(Errno::EINVAL, format!("{addr} requires {mode}=new")));
        }
        p.insert(mode.to_string(), ParamValue::JailSys(m));
    }
    let ip4 = match p.get("ip4.addr") {
        Some(ParamValue::Ip4(a)) => a.clone(),
        _ => Vec::new(),
    };
    let ip6 = match p.get("ip6.addr") {
        Some(ParamValue::Ip6(a)) => a.clone(),
        _ => Vec::new(),
    };
    check_clash(st, jid, &ip4, &ip6)?;

    let mut j =
        SimJail { jid, name, parent: parent_jid, params: BTreeMap::new(), cpus: None, dying: None, zone: Vec::new() };
    // Defaults of a new prison (kern_jail.c), then what was asked.
    j.set("path", ParamValue::Str("/".into()));
    j.set("securelevel", ParamValue::Int(parent.securelevel));
    j.set("enforce_statfs", ParamValue::Int(2.max(parent.enforce_statfs)));
    j.set("devfs_ruleset", ParamValue::Int(parent.devfs_ruleset));
    j.set("children.max", ParamValue::Int(0));
    j.set("host", ParamValue::JailSys(JailSys::New));
    j.set("host.hostname", ParamValue::Str(String::new()));
    j.set("host.domainname", ParamValue::Str(String::new()));
    j.set("host.hostuuid", ParamValue::Str("00000000-0000-0000-0000-000000000000".into()));
    j.set("host.hostid", ParamValue::ULong(0));
    j.set("osrelease", ParamValue::Str(parent.osrelease.clone()));
    j.set("osreldate", ParamValue::Int(parent.osreldate));
    j.set("vnet", ParamValue::JailSys(JailSys::Inherit));
    j.set("ip4.saddrsel", ParamValue::Bool(true));
    j.set("ip6.saddrsel", ParamValue::Bool(true));
    for s in ["sysvmsg", "sysvsem", "sysvshm"] {
        j.set(s, ParamValue::JailSys(JailSys::Disable));
    }
    for def in params::PARAMS.iter().filter(|d| d.name.starts_with("allow.") && cfg.knows(d.name)) {
        let granted = parent.allow.as_ref().is_none_or(|a| a.iter().any(|x| x == def.name));
        j.set(def.name, ParamValue::Bool(granted && DEFAULT_ALLOW.contains(&def.name)));
    }
    p.remove("jid");
    p.remove("name");
    for (k, v) in p {
        j.set(&k, v);
    }
    st.jails.insert(jid, j);
    st.last_jid = jid;
    Ok(jid)
}

#[allow(clippy::too_many_arguments)]
fn update(
    st: &mut State,
    cfg: &SimConfig,
    jailed_caller: bool,
    jid: Jid,
    named_parent: Jid,
    name: Option<String>,
    mut p: BTreeMap<String, ParamValue>,
    alive: &dyn Fn(&str) -> bool,
) -> Result<Jid, Refusal> {
    let (parent_jid, ip4_mode, ip6_mode) = match st.jails.get(&jid) {
        Some(j) => (j.parent, j.jailsys("ip4"), j.jailsys("ip6")),
        None => return Err(no(Errno::ENOENT, format!("jail {jid} not found"))),
    };
    if name.is_some() && named_parent != parent_jid {
        // A new name may not move the jail under another parent.
        return Err(no(Errno::EINVAL, "cannot change jail's parent"));
    }
    let parent = parent_of(st, cfg, parent_jid);
    check_against_parent(&p, &parent, jailed_caller)?;
    if p.contains_key("ip4.addr") && ip4_mode != JailSys::New {
        return Err(no(Errno::EINVAL, "ip4 cannot be changed after creation"));
    }
    if p.contains_key("ip6.addr") && ip6_mode != JailSys::New {
        return Err(no(Errno::EINVAL, "ip6 cannot be changed after creation"));
    }
    if p.contains_key("ip4.addr") || p.contains_key("ip6.addr") {
        let cur = &st.jails[&jid];
        let ip4 = match p.get("ip4.addr") {
            Some(ParamValue::Ip4(a)) => a.clone(),
            _ => cur.ip4(),
        };
        let ip6 = match p.get("ip6.addr") {
            Some(ParamValue::Ip6(a)) => a.clone(),
            _ => cur.ip6(),
        };
        check_clash(st, jid, &ip4, &ip6)?;
    }
    if let Some(n) = name {
        if let Some(other) = find_by_name(st, &n) {
            if other != jid {
                return Err(no(Errno::EEXIST, format!("jail \"{n}\" already exists")));
            }
        }
        if let Some(j) = st.jails.get_mut(&jid) {
            j.name = n;
        }
    }
    p.remove("jid");
    p.remove("name");
    propagate(st, jid, &p);
    let mut dies = false;
    if let Some(j) = st.jails.get_mut(&jid) {
        for (k, v) in p {
            j.set(&k, v);
        }
        // Without persist, a jail lives only while it has processes.
        let path = match j.params.get("path").map(|p| &p.value) {
            Some(ParamValue::Str(p)) => p.clone(),
            _ => "/".to_string(),
        };
        dies = !j.flag("persist") && !alive(&path);
    }
    if dies {
        kill_tree(st, cfg, jid);
    }
    Ok(jid)
}

/// What a change of a jail's limits does to its live descendants
/// (kern_jail_set): securelevel and enforce_statfs are raised to at least
/// the new value, children.max lowered to the new value minus the depth,
/// devfs_ruleset overwritten.
fn propagate(st: &mut State, jid: Jid, p: &BTreeMap<String, ParamValue>) {
    let below: Vec<(Jid, i32)> = st
        .jails
        .values()
        .filter(|j| j.jid != jid && j.alive() && descends(st, j.jid, jid))
        .map(|j| (j.jid, depth_below(st, j.jid, jid)))
        .collect();
    for (child, level) in below {
        let Some(c) = st.jails.get_mut(&child) else { continue };
        if let Some(v) = int_param(p, "securelevel") {
            if c.int("securelevel") < v {
                c.set("securelevel", ParamValue::Int(v));
            }
        }
        if let Some(v) = int_param(p, "enforce_statfs") {
            if c.int("enforce_statfs") < v {
                c.set("enforce_statfs", ParamValue::Int(v));
            }
        }
        if let Some(v) = int_param(p, "children.max") {
            if c.int("children.max") > v - level {
                c.set("children.max", ParamValue::Int(if v > level { v - level } else { 0 }));
            }
        }
        if let Some(v) = int_param(p, "devfs_ruleset") {
            c.set("devfs_ruleset", ParamValue::Int(v));
        }
    }
}

/// How many generations `jid` is below `of` (1 for a child).
fn depth_below(st: &State, mut jid: Jid, of: Jid) -> i32 {
    let mut n = 0;
    while jid != of {
        match st.jails.get(&jid) {
            Some(j) => {
                jid = j.parent;
                n += 1;
            }
            None => break,
        }
    }
    n
}

/// A jail and all its descendants, parents first.
pub fn tree(st: &State, jid: Jid) -> Vec<Jid> {
    let mut out = vec![jid];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(st.jails.values().filter(|j| j.parent == parent).map(|j| j.jid));
        i += 1;
    }
    out
}

/// prison_deref with PD_KILL: the jail and its live descendants become
/// dying and lose `persist`; they are freed once their last reference goes,
/// which the sim counts in polls (SimConfig::dying_polls; 0 frees them at
/// once).
fn kill_tree(st: &mut State, cfg: &SimConfig, jid: Jid) {
    for j in tree(st, jid) {
        if let Some(x) = st.jails.get_mut(&j).filter(|x| x.alive()) {
            x.dying = Some(cfg.dying_polls);
            x.set("persist", ParamValue::Bool(false));
        }
    }
    if cfg.dying_polls == 0 {
        free_tree(st, jid);
    }
}

/// The last reference is gone: the jail and its descendants leave the
/// kernel, and their attachments with them (the zone is an OSD of the
/// prison, destroyed when it is freed); their interfaces go back to the
/// host (vnet_if_return).
fn free_tree(st: &mut State, jid: Jid) {
    for j in tree(st, jid) {
        st.jails.remove(&j);
        // Its vnet goes with it, and what was moved in comes back.
        super::ifclone::return_from(st, j);
    }
}

/// One look at a jail by jid with JAIL_DYING: a dying jail comes one poll
/// closer to being freed, and is freed (ENOENT from then on) once it has
/// been seen `dying_polls` times. The sim's stand-in for time passing
/// while a killed jail's processes exit.
pub fn poll_dying(st: &mut State, jid: Jid) {
    let left = match st.jails.get_mut(&jid).and_then(|j| j.dying.as_mut()) {
        Some(0) => None,
        Some(n) => {
            *n -= 1;
            Some(*n)
        }
        None => return,
    };
    if left.is_none() {
        free_tree(st, jid);
    }
}

/// jail_remove(2): the jail and all its descendants become dying and
/// their processes are killed (by the caller); their rctl rules, mounts
/// and aliases stay, as on FreeBSD. An unknown jid is EINVAL; a jail
/// already dying is silently ignored (sys_jail_remove).
pub fn remove(st: &mut State, cfg: &SimConfig, jid: Jid) -> Result<(), Refusal> {
    match st.jails.get(&jid) {
        None => Err(no(Errno::EINVAL, format!("jail {jid} not found"))),
        Some(j) if !j.alive() => Ok(()),
        Some(_) => {
            kill_tree(st, cfg, jid);
            Ok(())
        }
    }
}

/// The value of one parameter of a live jail, as jail_get(2) reports it.
fn value_of(st: &State, cfg: &SimConfig, j: &SimJail, name: &str) -> Result<ParamValue, Refusal> {
    let look = params::lookup(name)
        .filter(|l| cfg.knows(l.def.name))
        .ok_or_else(|| no(Errno::EINVAL, format!("unknown parameter: {name}")))?;
    let positive = look.def.name;
    let v = match positive {
        "jid" => ParamValue::Int(j.jid),
        "name" => ParamValue::Str(j.name.clone()),
        "parent" => ParamValue::Int(j.parent),
        "children.cur" => ParamValue::Int(children_cur(st, j.jid)),
        "dying" => ParamValue::Bool(!j.alive()),
        "cpuset.id" => ParamValue::Int(j.jid + 1),
        _ => match j.params.get(positive) {
            Some(p) => p.value.clone(),
            None => match look.def.ty {
                ParamType::Str { .. } => ParamValue::Str(String::new()),
                ParamType::Int { .. } => ParamValue::Int(0),
                ParamType::ULong => ParamValue::ULong(0),
                ParamType::Bool => ParamValue::Bool(false),
                ParamType::JailSys { .. } => ParamValue::JailSys(JailSys::Disable),
                ParamType::Ip4List => ParamValue::Ip4(Vec::new()),
                ParamType::Ip6List => ParamValue::Ip6(Vec::new()),
            },
        },
    };
    Ok(match (look.negated, v) {
        (true, ParamValue::Bool(b)) => ParamValue::Bool(!b),
        (_, v) => v,
    })
}

/// jail_get(2) as kern_jail_get does it: of options with the same name
/// only the last counts (vfs_sanitizeopts); the jail is chosen by
/// `lastjid`, else a non-zero `jid`, else `name` (never read as a number:
/// only libjail's jail_getid does that); a dying jail is found only with
/// JAIL_DYING; every surviving option gets its value, the key included.
/// Returns one value per pair (None for a pair the kernel dropped as a
/// duplicate, or for `lastjid`).
pub fn get(st: &State, cfg: &SimConfig, iov: &[IovPair], flags: GetFlags) -> Result<Vec<Option<ParamValue>>, Refusal> {
    let names: Vec<String> = iov.iter().map(|p| c_name(&p.name)).collect::<Result<_, _>>()?;
    let survives = |i: usize| !names[i + 1..].contains(&names[i]);
    let find = |key: &str| (0..iov.len()).find(|&i| names[i] == key && survives(i));
    let int_of = |i: usize| -> Result<i32, Refusal> {
        let bytes = iov[i].value.as_deref().unwrap_or(&[]);
        <[u8; 4]>::try_from(bytes)
            .map(i32::from_ne_bytes)
            .map_err(|_| no(Errno::EINVAL, format!("{}: expected 4 bytes", names[i])))
    };
    let visible = |j: &&SimJail| flags.dying || j.alive();
    let jail = if let Some(i) = find("lastjid") {
        let last = int_of(i)?;
        st.jails
            .range(last.saturating_add(1)..)
            .map(|(_, j)| j)
            .find(visible)
            .ok_or_else(|| no(Errno::ENOENT, format!("no jail after {last}")))?
    } else if let Some(jid) = find("jid").map(int_of).transpose()?.filter(|j| *j != 0) {
        match st.jails.get(&jid) {
            Some(j) if visible(&j) => j,
            Some(_) => return Err(no(Errno::ENOENT, format!("jail {jid} is dying"))),
            None => return Err(no(Errno::ENOENT, format!("jail {jid} not found"))),
        }
    } else if let Some(i) = find("name") {
        let bytes = iov[i].value.as_deref().unwrap_or(&[]);
        if bytes.last() != Some(&0) {
            return Err(no(Errno::EINVAL, "name is not a NUL-terminated string"));
        }
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(0);
        let n = String::from_utf8_lossy(&bytes[..end]).into_owned();
        match find_by_name_or_dying(st, &n).and_then(|jid| st.jails.get(&jid)) {
            Some(j) if visible(&j) => j,
            Some(_) => return Err(no(Errno::ENOENT, format!("jail \"{n}\" is dying"))),
            None => return Err(no(Errno::ENOENT, format!("jail \"{n}\" not found"))),
        }
    } else {
        return Err(no(Errno::ENOENT, "no jail specified"));
    };
    (0..iov.len())
        .map(|i| match names[i].as_str() {
            _ if !survives(i) => Ok(None),
            "lastjid" | "errmsg" => Ok(None),
            name => value_of(st, cfg, jail, name).map(Some),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::JailKey;

    fn booted() -> (tempfile::TempDir, State, SimConfig) {
        let t = tempfile::tempdir().expect("tempdir");
        let cfg = SimConfig::default();
        let mut st = State::boot(&cfg);
        let iov =
            encode::encode_set(&[JailParam::str("name", "web"), JailParam::bool("persist", true)]).expect("encodes");
        set(&mut st, &cfg, t.path(), &iov, SetFlags::CREATE, &|_| false).expect("created");
        (t, st, cfg)
    }

    #[test]
    fn a_repeated_option_replaces_the_key_as_in_the_kernel() {
        let (_t, st, cfg) = booted();
        // The key, then "name" again as a buffer to fill: the kernel keeps
        // only the last one, an empty name.
        let mut dup = vec![encode::encode_param(&JailParam::str("name", "web")).expect("key")];
        dup.push(IovPair { name: b"name\0".to_vec(), value: Some(vec![0; 256]) });
        assert_eq!(get(&st, &cfg, &dup, GetFlags::ALIVE).map_err(|e| e.0), Err(Errno::ENOENT));
        // The shared encoder answers `name` from the key instead.
        let req = encode::encode_get(&JailKey::Name("web".into()), &["name", "jid"]).expect("encodes");
        let values = get(&st, &cfg, &req.pairs, GetFlags::ALIVE).expect("found");
        assert_eq!(values[req.slots[0]], Some(ParamValue::Str("web".into())));
        assert_eq!(values[req.slots[1]], Some(ParamValue::Int(1)));
    }
}
