//! Another manager's jail as a brig definition: what maps, and each thing
//! that does not with the reason, so that nothing is dropped unsaid.
//! jail.conf(5) jails (`config::jailconf`) for now.

use toml_edit::{value, Array, DocumentMut, Item, Table};

use super::jailconf::ConfJail;

/// A jail converted: its definition, where its root is, what did not map.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Converted {
    pub name: String,
    pub definition: String,
    /// Its root directory on the host (`path`).
    pub root: Option<String>,
    /// `parameter: reason` for each thing left out.
    pub unmapped: Vec<String>,
}

const EXEC: [(&str, &str); 6] = [
    ("exec.prestart", "prestart"),
    ("exec.start", "start"),
    ("exec.poststart", "poststart"),
    ("exec.prestop", "prestop"),
    ("exec.stop", "stop"),
    ("exec.poststop", "poststop"),
];

/// Why a jail(8) parameter has no place in a brig definition.
fn no_place(param: &str) -> Option<&'static str> {
    Some(match param {
        "mount.devfs" => "brig mounts devfs in every jail, with its devfs_ruleset",
        "persist" => "brig keeps every jail it starts persistent",
        "vnet" | "vnet.interface" => {
            "brig makes a VNET jail's epair itself: set [network] mode = \"vnet\" and a bridge by hand"
        }
        "mount.fstab" => "brig reads no fstab: add a [[mount]] for each line of it",
        "exec.jail_user" | "exec.system_user" | "exec.system_jail_user" => "brig runs exec commands as root",
        "exec.consolelog" => "brig keeps no console log yet",
        "exec.prepare" | "exec.release" | "exec.created" => "brig has no such hook",
        "exec.fib" | "exec.setfib" => "brig sets no FIB",
        "allow.dying" => "jail(8)'s own option: brig waits for a dying jail",
        "ip_hostname" => "brig takes addresses from the definition, not from the hostname",
        "command" => "brig starts a jail with exec.start",
        _ => return None,
    })
}

/// `IF|ADDR[/LEN]` of ip4.addr and ip6.addr: the interface, and the
/// address with its prefix length (a host route without one).
fn address(v: &str, v6: bool) -> (Option<&str>, String) {
    let (interface, addr) = match v.split_once('|') {
        Some((i, a)) => (Some(i), a),
        None => (None, v),
    };
    let addr = addr.split_whitespace().next().unwrap_or(addr);
    let full = if addr.contains('/') { addr.to_string() } else { format!("{addr}/{}", if v6 { 128 } else { 32 }) };
    (interface, full)
}

/// One fstab line of `mount` inside the jail's root: a [[mount]].
fn mount(line: &str, root: Option<&str>) -> Result<Table, String> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let [source, target, fstype, options, ..] = f[..] else { return Err(format!("{line:?} is not an fstab line")) };
    let Some(inside) = root.and_then(|r| target.strip_prefix(r.trim_end_matches('/'))).filter(|t| t.starts_with('/'))
    else {
        return Err(format!("{target} is not inside the jail's path"));
    };
    let mut t = Table::new();
    if fstype == "nullfs" {
        t["source"] = value(source);
    }
    t["target"] = value(inside);
    t["fstype"] = value(fstype);
    if options.split(',').any(|o| o == "ro") {
        t["readonly"] = value(true);
    }
    Ok(t)
}

/// A jail(8) value as TOML: a boolean, a number, or text.
fn param_value(v: &str) -> toml_edit::Value {
    match v {
        "true" => true.into(),
        "false" => false.into(),
        _ => v.parse::<i64>().map_or_else(|_| v.into(), Into::into),
    }
}

/// Converts a jail.conf jail. Its root is copied, so it is `type =
/// "empty"` for brig: brig knows no release it was made from.
pub fn jail_conf(jail: &ConfJail) -> Converted {
    let mut doc = DocumentMut::new();
    doc["type"] = value("empty");
    let mut unmapped = Vec::new();
    let p = &jail.params;
    let root = p.get("path").and_then(|v| v.first()).cloned();
    let mut network = Table::new();
    let mut exec = Table::new();
    let mut params = Table::new();
    let mut mounts = toml_edit::ArrayOfTables::new();
    let mut interface: Option<String> = None;
    for (k, values) in p {
        let first = values.first().map(String::as_str).unwrap_or("");
        match k.as_str() {
            "path" | "name" => {}
            "host.hostname" => doc["hostname"] = value(first),
            // A manager's own boot flag (iocage's boot = 1).
            "brig.boot" => doc["boot"] = value(true),
            "ip4.addr" | "ip6.addr" => {
                let v6 = k == "ip6.addr";
                let mut list = Array::new();
                for v in values {
                    let (i, a) = address(v, v6);
                    if let Some(i) = i {
                        match &interface {
                            Some(have) if have != i => {
                                unmapped.push(format!("{k} {v}: brig puts a jail's addresses on one interface, {have}"))
                            }
                            _ => interface = Some(i.to_string()),
                        }
                    }
                    list.push(a);
                }
                network[if v6 { "ip6" } else { "ip4" }] = value(list);
            }
            "interface" => interface = Some(first.to_string()),
            "ip4" | "ip6" if first == "inherit" => network["mode"] = value("inherit"),
            "ip4" | "ip6" => {
                unmapped.push(format!("{k} = {first}: brig's jails have the addresses of their definition"))
            }
            "depend" => doc["depends"] = value(values.iter().collect::<Array>()),
            "exec.clean" => exec["clean"] = value(first == "true"),
            "exec.timeout" | "stop.timeout" => {
                if let Ok(t) = first.parse::<i64>() {
                    exec["timeout"] = value(t);
                }
            }
            "mount" => {
                for line in values {
                    match mount(line, root.as_deref()) {
                        Ok(t) => mounts.push(t),
                        Err(why) => unmapped.push(format!("mount {line:?}: {why}")),
                    }
                }
            }
            e if EXEC.iter().any(|(j, _)| *j == e) => {
                let key = EXEC.iter().find(|(j, _)| *j == e).map_or("", |(_, b)| *b);
                // jail(8) runs each in turn and stops at the first that fails.
                exec[key] = value(values.join(" && "));
            }
            other => match no_place(other) {
                Some(why) => unmapped.push(format!("{other}: {why}")),
                None if crate::kernel::params::lookup(other).is_some() => {
                    params[other] = value(param_value(first));
                }
                None => unmapped.push(format!("{other}: not a jail parameter brig knows")),
            },
        }
    }
    if let Some(i) = interface {
        network["interface"] = value(i);
    }
    for (name, t) in [("network", network), ("exec", exec), ("params", params)] {
        if !t.is_empty() {
            doc[name] = Item::Table(t);
        }
    }
    if !mounts.is_empty() {
        doc["mount"] = Item::ArrayOfTables(mounts);
    }
    if root.is_none() {
        unmapped.push("path: not set, so there is no root to copy".into());
    }
    let header = format!("# converted by brig from jail.conf's jail {}\n", jail.name);
    Converted { name: jail.name.clone(), definition: format!("{header}{doc}"), root, unmapped }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jail_conf_jail_becomes_a_definition_and_says_what_did_not_map() {
        let jails = crate::config::jailconf::parse(
            "path = \"/usr/jails/$name\";\nmount.devfs;\nexec.start = \"/bin/sh /etc/rc\";\nweb {\n host.hostname = web.example.org;\n ip4.addr = \"em0|192.0.2.10/24\", 192.0.2.11;\n ip6.addr = \"em1|2001:db8::10\";\n exec.poststart += \"logger up\", \"touch /var/run/up\";\n allow.raw_sockets;\n securelevel = 2;\n exec.consolelog = /var/log/web;\n mount += \"/data /usr/jails/web/data nullfs ro 0 0\";\n mount += \"/x /elsewhere nullfs rw 0 0\";\n nosuch.param = 1;\n depend = db;\n}\n",
        )
        .expect("reads");
        let c = jail_conf(&jails[0]);
        assert_eq!(c.root.as_deref(), Some("/usr/jails/web"));
        let d = &c.definition;
        for want in [
            "type = \"empty\"",
            "hostname = \"web.example.org\"",
            "ip4 = [\"192.0.2.10/24\", \"192.0.2.11/32\"]",
            "ip6 = [\"2001:db8::10/128\"]",
            "interface = \"em0\"",
            "poststart = \"logger up && touch /var/run/up\"",
            "\"allow.raw_sockets\" = true",
            "securelevel = 2",
            "depends = [\"db\"]",
            "target = \"/data\"",
            "readonly = true",
        ] {
            assert!(d.contains(want), "{want} in {d}");
        }
        let joined = c.unmapped.join("\n");
        for want in [
            "mount.devfs: brig mounts devfs",
            "exec.consolelog",
            "/elsewhere is not inside",
            "nosuch.param: not a jail parameter",
            "ip6.addr em1|2001:db8::10: brig puts a jail's addresses on one interface, em0",
        ] {
            assert!(joined.contains(want), "{want} in {joined}");
        }
        let raw = crate::config::jail::parse(std::path::Path::new("web.toml"), d).expect("a definition that reads");
        crate::model::jail::validate(
            &crate::model::JailName::parse("web").expect("n"),
            &raw,
            &[],
            crate::model::jail::JailType::Thin,
        )
        .expect("and validates");
    }
}
