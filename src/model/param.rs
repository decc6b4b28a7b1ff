//! Jail parameters written in TOML (`[params]`, `[defaults.params]`),
//! checked against the kernel's table before anything reaches jail_set(2).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::kernel::params::{self, Access, ParamType};
use crate::kernel::{JailParam, JailSys, ParamValue};

/// Parameters brig sets itself from other keys of a definition; writing
/// them under `[params]` would fight brig.
pub const MANAGED: &[&str] = &["name", "path", "jid", "persist", "host.hostname", "ip4.addr", "ip6.addr", "ip4", "ip6"];

/// Why a `[params]` entry is refused: the sentence after "parameter NAME".
pub fn check(name: &str, value: &toml::Value) -> Result<JailParam, String> {
    let look = params::lookup(name).ok_or_else(|| "is not a jail parameter FreeBSD knows (see jail(8))".to_string())?;
    if look.negated {
        return Err(format!("is written as {} = false here, not with the 'no' prefix", look.def.name));
    }
    let def = look.def;
    if def.access == Access::ReadOnly {
        return Err("is read-only; the kernel reports it but nobody sets it".into());
    }
    if MANAGED.contains(&def.name) {
        return Err("is set by brig from the definition; use the matching key instead".into());
    }
    let v = match (def.ty, value) {
        (ParamType::Bool, toml::Value::Boolean(b)) => ParamValue::Bool(*b),
        (ParamType::Bool, _) => return Err("takes true or false".into()),
        (ParamType::Int { min, max }, toml::Value::Integer(i)) => {
            let i = i32::try_from(*i).ok().filter(|i| *i >= min && *i <= max).ok_or_else(|| {
                if min == i32::MIN {
                    "is out of range for a 32-bit integer".to_string()
                } else {
                    format!("must be between {min} and {max}")
                }
            })?;
            // A count of jails: the kernel has no use for a negative one.
            if def.name == "children.max" && i < 0 {
                return Err("cannot be negative; 0 forbids child jails".into());
            }
            ParamValue::Int(i)
        }
        (ParamType::Int { .. }, _) => return Err("takes an integer".into()),
        (ParamType::ULong, toml::Value::Integer(i)) if *i >= 0 => ParamValue::ULong(*i as u64),
        (ParamType::ULong, _) => return Err("takes a non-negative integer".into()),
        (ParamType::Str { max }, toml::Value::String(s)) => {
            if s.len() + 1 > max {
                return Err(format!("must be at most {} bytes", max - 1));
            }
            if s.contains('\0') {
                return Err("must not contain a NUL byte".into());
            }
            ParamValue::Str(s.clone())
        }
        (ParamType::Str { .. }, _) => return Err("takes a string".into()),
        (ParamType::JailSys { disable }, toml::Value::String(s)) => match s.as_str() {
            "new" => ParamValue::JailSys(JailSys::New),
            "inherit" => ParamValue::JailSys(JailSys::Inherit),
            "disable" if disable => ParamValue::JailSys(JailSys::Disable),
            _ if disable => return Err("takes \"disable\", \"new\" or \"inherit\"".into()),
            _ => return Err("takes \"new\" or \"inherit\"".into()),
        },
        (ParamType::JailSys { .. }, _) => return Err("takes a string: \"new\" or \"inherit\"".into()),
        (ParamType::Ip4List, toml::Value::Array(a)) => ParamValue::Ip4(
            a.iter()
                .map(|x| x.as_str().and_then(|s| s.parse::<Ipv4Addr>().ok()))
                .collect::<Option<_>>()
                .ok_or("takes a list of IPv4 addresses")?,
        ),
        (ParamType::Ip6List, toml::Value::Array(a)) => ParamValue::Ip6(
            a.iter()
                .map(|x| x.as_str().and_then(|s| s.parse::<Ipv6Addr>().ok()))
                .collect::<Option<_>>()
                .ok_or("takes a list of IPv6 addresses")?,
        ),
        (ParamType::Ip4List | ParamType::Ip6List, _) => return Err("takes a list of addresses".into()),
    };
    Ok(JailParam::new(def.name, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> toml::Value {
        toml::from_str::<toml::Table>(&format!("x = {s}")).expect("toml")["x"].clone()
    }

    #[test]
    fn typed_values() {
        assert_eq!(check("securelevel", &v("2")), Ok(JailParam::int("securelevel", 2)));
        assert_eq!(check("allow.raw_sockets", &v("false")), Ok(JailParam::bool("allow.raw_sockets", false)));
        assert_eq!(
            check("host.domainname", &v("\"example.org\"")),
            Ok(JailParam::str("host.domainname", "example.org"))
        );
        assert_eq!(check("sysvshm", &v("\"new\"")), Ok(JailParam::new("sysvshm", ParamValue::JailSys(JailSys::New))));
    }

    #[test]
    fn refusals_say_what_to_write() {
        assert_eq!(check("bogus", &v("1")).unwrap_err(), "is not a jail parameter FreeBSD knows (see jail(8))");
        assert_eq!(check("enforce_statfs", &v("3")).unwrap_err(), "must be between 0 and 2");
        assert_eq!(check("securelevel", &v("\"2\"")).unwrap_err(), "takes an integer");
        assert_eq!(
            check("allow.noraw_sockets", &v("true")).unwrap_err(),
            "is written as allow.raw_sockets = false here, not with the 'no' prefix"
        );
        assert_eq!(
            check("children.cur", &v("1")).unwrap_err(),
            "is read-only; the kernel reports it but nobody sets it"
        );
        assert_eq!(
            check("path", &v("\"/x\"")).unwrap_err(),
            "is set by brig from the definition; use the matching key instead"
        );
        assert_eq!(check("vnet", &v("\"disable\"")).unwrap_err(), "takes \"new\" or \"inherit\"");
        assert!(check("securelevel", &v("9999999999")).is_err());
    }
}
