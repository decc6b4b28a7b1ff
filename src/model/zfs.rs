//! `[zfs]` of a jail definition: the quota and reservation of its root
//! dataset, and datasets delegated to the jail (`zfs jail`), which its
//! root manages itself: snapshots, children, mounts.

use super::quoted;
use std::path::PathBuf;

use toml::Spanned;

use super::limits::parse_amount;
use super::raw::RawZfs;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZfsSpec {
    /// Bytes; on the jail's root dataset.
    pub quota: Option<u64>,
    pub reservation: Option<u64>,
    pub delegate: Vec<Delegated>,
}

/// `<root>/jails/NAME/<name>`, created `jailed=on` and attached to the
/// running jail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegated {
    pub name: String,
    pub quota: Option<u64>,
    /// Where the jail mounts it, inside the jail.
    pub mountpoint: PathBuf,
}

type Invalid = (usize, String);

fn at<T>(v: &Spanned<T>, msg: impl Into<String>) -> Invalid {
    (v.span().start, msg.into())
}

fn bytes(what: &str, v: &toml::Value, span: &Spanned<toml::Value>) -> Result<u64, Invalid> {
    match v {
        toml::Value::Integer(i) => u64::try_from(*i).map_err(|_| at(span, format!("{what} cannot be negative"))),
        toml::Value::String(s) => parse_amount(s).map_err(|e| at(span, format!("{what}: {e}"))),
        _ => Err(at(span, format!("{what}: expected a size such as \"20G\""))),
    }
}

/// A dataset name component ZFS and brig both accept, and not `root`,
/// which is the jail's own root.
fn check_name(n: &str) -> Result<(), String> {
    let ok = !n.is_empty()
        && n.len() <= 64
        && !n.starts_with(['.', '-'])
        && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b));
    if !ok {
        return Err(format!(
            "delegated dataset {} must be 1 to 64 letters, digits, '_', '-', '.' or ':', not starting with '.' or '-'",
            quoted(n)
        ));
    }
    // root.next and root.prev are the roots an upgrade builds and keeps.
    if n == "root" || n.starts_with("root.") {
        return Err(format!(
            "{} is a name brig keeps for the jail's own root (root, and root.next and root.prev while upgrading); give the delegated dataset another name",
            quoted(n)
        ));
    }
    Ok(())
}

pub fn validate(raw: &RawZfs, plain_absolute: impl Fn(&str) -> Option<PathBuf>) -> Result<ZfsSpec, Invalid> {
    let mut z = ZfsSpec {
        quota: raw.quota.as_ref().map(|q| bytes("zfs.quota", q.get_ref(), q)).transpose()?,
        reservation: raw.reservation.as_ref().map(|r| bytes("zfs.reservation", r.get_ref(), r)).transpose()?,
        delegate: Vec::new(),
    };
    for d in &raw.delegate {
        let (name, quota, mountpoint) = match d.get_ref() {
            toml::Value::String(n) => (n.clone(), None, None),
            toml::Value::Table(t) => {
                if let Some(k) = t.keys().find(|k| !["name", "quota", "mountpoint"].contains(&k.as_str())) {
                    return Err(at(
                        d,
                        format!("zfs.delegate: unknown key {}; expected name, quota and mountpoint", quoted(k)),
                    ));
                }
                let name = t
                    .get("name")
                    .and_then(|n| n.as_str())
                    .ok_or_else(|| at(d, "zfs.delegate: each table needs name = \"...\""))?;
                let quota = t.get("quota").map(|q| bytes("zfs.delegate quota", q, d)).transpose()?;
                let mp = match t.get("mountpoint") {
                    Some(toml::Value::String(m)) => Some(m.clone()),
                    Some(_) => return Err(at(d, "zfs.delegate: mountpoint must be a string")),
                    None => None,
                };
                (name.to_string(), quota, mp)
            }
            _ => {
                return Err(at(
                    d,
                    "zfs.delegate: expected a name such as \"data\" or { name = \"data\", quota = \"10G\" }",
                ))
            }
        };
        check_name(&name).map_err(|e| at(d, e))?;
        let mountpoint = match mountpoint {
            Some(m) => plain_absolute(&m).filter(|p| p != &PathBuf::from("/")).ok_or_else(|| {
                at(
                    d,
                    format!("zfs.delegate: mountpoint {} must be an absolute path inside the jail, not /", quoted(&m)),
                )
            })?,
            None => PathBuf::from("/").join(&name),
        };
        if z.delegate.iter().any(|x| x.name == name) {
            return Err(at(d, format!("zfs.delegate: {name} is listed twice")));
        }
        z.delegate.push(Delegated { name, quota, mountpoint });
    }
    Ok(z)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zfs(text: &str) -> Result<ZfsSpec, String> {
        #[derive(serde::Deserialize)]
        struct Doc {
            zfs: RawZfs,
        }
        let doc: Doc = toml::from_str(text).expect("toml");
        validate(&doc.zfs, |p: &str| p.starts_with('/').then(|| PathBuf::from(p))).map_err(|(_, m)| m)
    }

    #[test]
    fn quotas_and_delegated_datasets() {
        let z = zfs("[zfs]\nquota = \"20G\"\nreservation = 1024\ndelegate = [\"data\", { name = \"db\", quota = \"5G\", mountpoint = \"/var/db/pg\" }]\n")
            .expect("valid");
        assert_eq!((z.quota, z.reservation), (Some(20 << 30), Some(1024)));
        assert_eq!(z.delegate[0], Delegated { name: "data".into(), quota: None, mountpoint: "/data".into() });
        assert_eq!(
            z.delegate[1],
            Delegated { name: "db".into(), quota: Some(5 << 30), mountpoint: "/var/db/pg".into() }
        );
    }

    #[test]
    fn bad_values_are_refused() {
        let err = |t: &str| zfs(t).expect_err(t);
        assert!(err("[zfs]\nquota = -1\n").contains("zfs.quota cannot be negative"));
        assert!(err("[zfs]\ndelegate = [\"root\"]\n").contains("a name brig keeps for the jail's own root"));
        assert!(err("[zfs]\ndelegate = [\"root.next\"]\n").contains("a name brig keeps"));
        assert!(err("[zfs]\ndelegate = [\"../x\"]\n").contains("must be 1 to 64 letters"));
        assert!(err("[zfs]\ndelegate = [\"a\", \"a\"]\n").contains("listed twice"));
        assert!(err("[zfs]\ndelegate = [{ name = \"a\", mountpoint = \"rel\" }]\n").contains("absolute path"));
        assert!(err("[zfs]\ndelegate = [{ nam = \"a\" }]\n").contains("unknown key 'nam'"));
    }
}
