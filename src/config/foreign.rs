//! Other managers' jail settings read as jail(8) parameters, for
//! `config::convert` to map: ezjail's per-jail rc file and iocage's
//! config.json (Bastille keeps a jail.conf, read by `config::jailconf`).
//! What is a manager's own setting, with no jail(8) name, comes back as
//! such, to be listed as not mapped.

use super::jailconf::{ConfJail, Params};

/// A foreign jail: its jail(8) parameters, and the manager's own
/// settings that have no jail(8) name (`key = value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    pub jail: ConfJail,
    pub own: Vec<String>,
}

/// `IF|ADDR,IF|ADDR` lists (ezjail's `ip`, iocage's `ip4_addr`) split by
/// family into ip4.addr and ip6.addr.
fn addresses(params: &mut Params, list: &str) {
    for a in list.split(',').map(str::trim).filter(|a| !a.is_empty() && *a != "none") {
        let addr = a.rsplit('|').next().unwrap_or(a);
        let key = if addr.contains(':') { "ip6.addr" } else { "ip4.addr" };
        params.entry(key.to_string()).or_default().push(a.to_string());
    }
}

/// The jail parameter of iocage's `allow_...` key: its `_`s are dots or
/// underscores (allow_mount_nullfs is allow.mount.nullfs,
/// allow_raw_sockets allow.raw_sockets), whichever names a parameter
/// the kernel table knows; else each a dot.
fn allow_name(key: &str) -> String {
    let gaps = key.matches('_').count().min(8);
    (0..1u32 << gaps)
        .map(|mask| {
            let mut i = 0;
            key.chars()
                .map(|c| match c {
                    '_' => {
                        let dot = i == 0 || mask & (1 << i) != 0;
                        i += 1;
                        if dot {
                            '.'
                        } else {
                            '_'
                        }
                    }
                    c => c,
                })
                .collect::<String>()
        })
        .find(|n| crate::kernel::params::lookup(n).is_some())
        .unwrap_or_else(|| key.replace('_', "."))
}

/// ezjail's `/usr/local/etc/ezjail/NAME`: `export jail_NAME_KEY="VALUE"`
/// lines (NAME with anything but letters and digits as `_`).
pub fn ezjail(name: &str, text: &str) -> Foreign {
    let safe: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let prefix = format!("jail_{safe}_");
    let mut params = Params::new();
    let mut own = Vec::new();
    for line in text.lines().map(str::trim) {
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else { continue };
        let Some(key) = k.trim().strip_prefix(&prefix) else { continue };
        let v = v.trim().trim_matches('"').trim_matches('\'');
        if v.is_empty() {
            continue;
        }
        let mut put = |p: &str| {
            params.insert(p.to_string(), vec![v.to_string()]);
        };
        match key {
            "hostname" => put("host.hostname"),
            "rootdir" => put("path"),
            "exec_start" => put("exec.start"),
            "exec_stop" => put("exec.stop"),
            "ip" => addresses(&mut params, v),
            "devfs_ruleset" if v.bytes().all(|b| b.is_ascii_digit()) => put("devfs_ruleset"),
            "parameters" => {
                for p in v.split_whitespace() {
                    let (pk, pv) = p.split_once('=').unwrap_or((p, "true"));
                    params.insert(pk.to_string(), vec![pv.to_string()]);
                }
            }
            // Defaults that brig has too.
            "devfs_enable" | "mount_enable" if v.eq_ignore_ascii_case("yes") => {}
            "procfs_enable" | "fdescfs_enable" if v.eq_ignore_ascii_case("no") => {}
            other => own.push(format!("{other} = {v:?}")),
        }
    }
    Foreign { jail: ConfJail { name: name.to_string(), params }, own }
}

/// iocage's `jails/NAME/config.json`, its root in `root` beside it.
pub fn iocage(json: &serde_json::Value, root: &str) -> Result<Foreign, String> {
    let obj = json.as_object().ok_or("config.json is not a JSON object")?;
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let name = obj.get("host_hostuuid").map(text).ok_or("config.json has no host_hostuuid (the jail's name)")?;
    let mut params = Params::new();
    params.insert("path".into(), vec![root.to_string()]);
    let mut own = Vec::new();
    for (k, v) in obj {
        let v = text(v);
        if v.is_empty() || v == "none" {
            continue;
        }
        let mut put = |p: &str| {
            params.insert(p.to_string(), vec![v.clone()]);
        };
        match k.as_str() {
            "host_hostuuid" => {}
            "host_hostname" => put("host.hostname"),
            "ip4_addr" | "ip6_addr" => addresses(&mut params, &v),
            "boot" => {
                if v == "1" || v == "on" {
                    put("brig.boot");
                }
            }
            "vnet" => {
                if v == "1" || v == "on" {
                    put("vnet");
                }
            }
            "exec_start" | "exec_stop" | "exec_prestart" | "exec_poststart" | "exec_prestop" | "exec_poststop"
            | "exec_clean" | "exec_timeout" | "stop_timeout" | "mount_devfs" => put(&k.replacen('_', ".", 1)),
            "children_max" => put("children.max"),
            "devfs_ruleset" | "securelevel" | "enforce_statfs" | "sysvmsg" | "sysvsem" | "sysvshm" => put(k),
            a if a.starts_with("allow_") => {
                let value = match v.as_str() {
                    "1" => "true".to_string(),
                    "0" => "false".to_string(),
                    _ => v.clone(),
                };
                params.insert(allow_name(a), vec![value]);
            }
            other => own.push(format!("{other} = {v:?}")),
        }
    }
    Ok(Foreign { jail: ConfJail { name, params }, own })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ezjail_file_reads_as_jail_parameters() {
        let text = "# PROVIDE: standard_ezjail\nexport jail_web_example_hostname=\"web.example.org\"\nexport jail_web_example_ip=\"em0|192.0.2.10,em0|2001:db8::10\"\nexport jail_web_example_rootdir=\"/usr/jails/web.example\"\nexport jail_web_example_exec_start=\"/bin/sh /etc/rc\"\nexport jail_web_example_exec_stop=\"\"\nexport jail_web_example_devfs_enable=\"YES\"\nexport jail_web_example_devfs_ruleset=\"devfsrules_jail\"\nexport jail_web_example_parameters=\"allow.raw_sockets=1 securelevel=2\"\nexport jail_web_example_zfs_datasets=\"tank/data\"\n";
        let f = ezjail("web.example", text);
        let p = &f.jail.params;
        assert_eq!(p["host.hostname"], ["web.example.org"]);
        assert_eq!((p["ip4.addr"][0].as_str(), p["ip6.addr"][0].as_str()), ("em0|192.0.2.10", "em0|2001:db8::10"));
        assert_eq!((p["path"][0].as_str(), p["securelevel"][0].as_str()), ("/usr/jails/web.example", "2"));
        assert!(!p.contains_key("exec.stop"), "empty is unset");
        assert_eq!(f.own, ["devfs_ruleset = \"devfsrules_jail\"", "zfs_datasets = \"tank/data\""]);
    }

    #[test]
    fn an_iocage_config_reads_as_jail_parameters() {
        let json = serde_json::json!({
            "host_hostuuid": "web", "host_hostname": "web.example.org", "ip4_addr": "vnet0|192.0.2.20/24",
            "ip6_addr": "none", "boot": 1, "vnet": "off", "allow_raw_sockets": 1, "allow_mount_nullfs": "0",
            "release": "14.1-RELEASE-p5", "notes": "none", "basejail": 0, "exec_start": "/bin/sh /etc/rc"
        });
        let f = iocage(&json, "/iocage/jails/web/root").expect("reads");
        let p = &f.jail.params;
        assert_eq!(f.jail.name, "web");
        assert_eq!((p["allow.raw_sockets"][0].as_str(), p["allow.mount.nullfs"][0].as_str()), ("true", "false"));
        assert_eq!((p["brig.boot"].len(), p["exec.start"][0].as_str()), (1, "/bin/sh /etc/rc"));
        assert!(!p.contains_key("vnet") && !p.contains_key("ip6.addr"));
        assert_eq!(f.own, ["basejail = \"0\"", "release = \"14.1-RELEASE-p5\""]);
        assert!(iocage(&serde_json::json!([1]), "/x").is_err());
    }
}
