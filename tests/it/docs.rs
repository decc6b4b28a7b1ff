//! The man pages stay true to the program: every subcommand and long
//! option in brig.8, every configuration key in brig.toml.5, both clean
//! under mandoc's own rules (checked in CI with `mandoc -T lint`).

use clap::CommandFactory;

fn read(p: &str) -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_string() + p).expect(p)
}

/// (command path, long options) for every subcommand, depth first.
fn commands(cmd: &clap::Command, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Vec<String>)>) {
    let longs = cmd.get_arguments().filter_map(|a| a.get_long().map(str::to_string)).collect();
    out.push((path.clone(), longs));
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        path.push(sub.get_name().to_string());
        commands(sub, path, out);
        path.pop();
    }
}

#[test]
fn brig_8_documents_every_subcommand_and_long_option() {
    let page = read("man/brig.8");
    let mut all = Vec::new();
    commands(&brig::cli::Cli::command(), &mut Vec::new(), &mut all);
    assert!(all.len() > 4, "the walk found the subcommands");
    for (path, longs) in all {
        if !path.is_empty() {
            let cmd = path.join(" ");
            // `Cm release fetch`, or `Cm limits Ar NAME Cm set` where an
            // argument comes before the subcommand.
            let split = page.lines().any(|l| {
                let mut rest = l;
                path.iter().all(|part| match rest.find(&format!("Cm {part}")) {
                    Some(i) => {
                        rest = &rest[i + part.len() + 3..];
                        true
                    }
                    None => false,
                })
            });
            assert!(page.contains(&format!("Cm {cmd}")) || split, "brig.8 does not document `brig {cmd}`");
        }
        for long in longs {
            assert!(
                page.contains(&format!("Fl -{long}")),
                "brig.8 does not document --{long} of `brig {}`",
                path.join(" ")
            );
        }
    }
}

#[test]
fn brig_toml_5_documents_every_host_config_key() {
    let page = read("man/brig.toml.5");
    let cfg = brig::config::HostConfig::new(
        brig::model::DatasetName::parse("zroot/brig").expect("valid"),
        "/usr/local/brig".into(),
    );
    let mut value = toml::Value::try_from(&cfg).expect("serialises");
    if let Some(d) = value.get_mut("defaults").and_then(|d| d.as_table_mut()) {
        d.insert("interface".into(), toml::Value::String("em0".into()));
    }
    let table = value.as_table().expect("table");
    for (key, v) in table {
        assert!(
            page.contains(&format!("Ic {key} ")) || page.contains(&format!("Ss [{key}]")),
            "brig.toml.5 lacks {key}"
        );
        if let (Some(sub), false) = (v.as_table(), key == "params") {
            for (k, vv) in sub {
                if vv.is_table() {
                    assert!(page.contains(&format!("Ss [{key}.{k}]")), "brig.toml.5 lacks [{key}.{k}]");
                } else {
                    assert!(page.contains(&format!("Ic {k} ")), "brig.toml.5 lacks {key}.{k}");
                }
            }
        }
    }
}

/// The keys a definition table accepts, from serde's own "expected one of"
/// list, so a new key cannot be missed here.
fn accepted_keys(prefix: &str) -> Vec<String> {
    let text = format!("{prefix}zzz_not_a_key = 1\n");
    let err =
        brig::config::jail::parse(std::path::Path::new("probe.toml"), &text).expect_err("unknown key").to_string();
    // serde says "expected one of `a`, `b`", or for two "expected `a` or `b`".
    let list = err.split("expected").nth(1).unwrap_or_else(|| panic!("no key list in {err}"));
    list.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

#[test]
fn brig_toml_5_documents_every_definition_key() {
    let page = read("man/brig.toml.5");
    let tables = [
        ("", ""),
        ("[network]\n", "network"),
        ("[exec]\n", "exec"),
        ("[[mount]]\ntarget = \"/x\"\n", "mount"),
        ("[zfs]\n", "zfs"),
        ("[firewall]\n", "firewall"),
        ("[[expose]]\nhost_port = 1\n", "expose"),
        ("[snapshots]\n", "snapshots"),
    ];
    for (prefix, table) in tables {
        let keys = accepted_keys(prefix);
        assert!(!keys.is_empty(), "found the keys of [{table}]");
        for key in keys {
            let as_table = format!("Ss [{key}]");
            let as_array = format!("Ss [[{key}]]");
            let as_key = format!("Ic {key} ");
            let as_listed = format!("Ic {key} ,");
            assert!(
                page.contains(&as_table)
                    || page.contains(&as_array)
                    || page.contains(&as_key)
                    || page.contains(&as_listed),
                "brig.toml.5 does not document {}{key}",
                if table.is_empty() { String::new() } else { format!("{table}.") }
            );
        }
    }
}

#[test]
fn brig_8_lists_every_op_brig_sim_fail_accepts() {
    let page = read("man/brig.8").replace("\n", " ");
    for op in brig::host::sim::OPS {
        assert!(page.contains(&format!(" {op},")) || page.contains(&format!(" {op}.")), "brig.8 does not list {op}");
    }
}

#[test]
fn brig_toml_5_documents_every_rctl_resource() {
    let page = read("man/brig.toml.5");
    for r in brig::host::rctl::RESOURCES {
        assert!(
            page.contains(&format!("Ic {} ", r.name)) || page.contains(&format!("Ic {}\n", r.name)),
            "brig.toml.5 lacks limit {}",
            r.name
        );
    }
}

#[test]
fn brig_toml_5_says_which_kernels_have_each_jail_parameter() {
    let page = read("man/brig.toml.5");
    for def in brig::kernel::params::PARAMS {
        assert!(
            page.lines().any(|l| l == format!(".Va {}", def.name) || l.starts_with(&format!(".Va {} ", def.name))),
            "brig.toml.5 does not list the jail parameter {}",
            def.name
        );
    }
}

#[test]
fn the_freebsd_port_installs_every_man_page_template_and_rc_script() {
    let plist = read("packaging/freebsd/sysutils/brig/pkg-plist");
    let dir = |d: &str| -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(d);
        let mut v: Vec<String> = std::fs::read_dir(&path)
            .expect(d)
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    for page in dir("man") {
        let section = page.rsplit('.').next().expect("a section");
        assert!(plist.contains(&format!("share/man/man{section}/{page}.gz")), "pkg-plist lacks {page}");
    }
    for t in dir("templates") {
        assert!(plist.contains(&format!("%%DATADIR%%/templates/{t}")), "pkg-plist lacks {t}");
    }
    for s in dir("rc.d") {
        assert!(plist.contains(&format!("etc/rc.d/{s}")), "pkg-plist lacks {s}");
    }
    for s in dir("periodic/daily") {
        assert!(plist.contains(&format!("etc/periodic/daily/{s}")), "pkg-plist lacks {s}");
    }
    for s in dir("newsyslog") {
        assert!(plist.contains(&format!("etc/newsyslog.conf.d/{s}")), "pkg-plist lacks {s}");
    }
}
