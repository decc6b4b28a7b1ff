//! The catalogue of bad inputs: each, through the CLI, gets its exact
//! sentence and exit code, and changes nothing on disk.

use crate::common::Sim;

/// A sim with the test release fetched and a jail `web` on 192.0.2.10.
fn base() -> Sim {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let m = crate::release::mirror(&crate::release::base_entries(), None);
    sim.brig(&["release", "fetch", "14.3-RELEASE", "--from", &m.path().display().to_string()]).ok();
    sim.brig(&["create", "web", "--release", "14.3-RELEASE", "--ip4", "192.0.2.10/24", "--interface", "em0"]).ok();
    sim
}

/// Everything a command could have changed: the machine (crash::state)
/// and every file, without brig's lock files and the sim's counters.
fn everything(sim: &Sim) -> String {
    let files: Vec<String> = crate::common::tree(sim.path())
        .into_iter()
        .filter(|f| !f.starts_with(".sim/stats") && !f.starts_with("var/db/brig/locks"))
        .collect();
    format!("{}\n{files:#?}", crate::crash::state(sim))
}

const DEF: &str = "/usr/local/etc/brig/jails";

struct Case {
    args: &'static [&'static str],
    /// A file to write first (machine path, contents).
    file: Option<(&'static str, &'static [u8])>,
    code: i32,
    /// `{DIR}` stands for the sim's directory.
    stderr: &'static str,
}

const fn case(args: &'static [&'static str], code: i32, stderr: &'static str) -> Case {
    Case { args, file: None, code, stderr }
}

const fn with_file(
    path: &'static str,
    text: &'static [u8],
    args: &'static [&'static str],
    code: i32,
    stderr: &'static str,
) -> Case {
    Case { args, file: Some((path, text)), code, stderr }
}

const CASES: &[Case] = &[
    case(&["create", ""], 2, "invalid jail name '': it is empty"),
    case(&["create", "../etc"], 2, "invalid jail name '../etc': only one level of nesting (parent.child) is supported"),
    case(&["create", "123"], 2, "invalid jail name '123': it cannot be all digits (the kernel would read it as a jail id)"),
    case(&["create", "a/b"], 2, "invalid jail name 'a/b': '/' is not allowed; use letters, digits, '-' and '_'"),
    case(&["create", "a.b", "--release", "14.3-RELEASE"], 2, "brig create a.b: the definition: a.b names a jail inside jail a, which that jail's root makes; a definition is for a jail of this host, without '.'"),
    case(&["create", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], 2, "invalid jail name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': each part must be at most 63 characters"),
    case(&["create", "web", "--release", "14.3-RELEASE"], 1, "jail web already exists ({DIR}/usr/local/etc/brig/jails/web.toml); destroy it first"),
    case(&["create", "x", "--release", "14.3-RELEASE", "--ip4", "192.0.2.10/24"], 1, "jail x: 192.0.2.10 is used by jail web (defined); choose another address"),
    case(&["create", "x", "--type", "empty", "--ip4", "192.0.2.1/24", "--interface", "em0"], 1, "jail x: 192.0.2.1 is em0's own address; choose another address"),
    case(&["create", "x", "--type", "empty", "--ip4", "127.0.0.1/8", "--interface", "lo0"], 1, "jail x: 127.0.0.1 is lo0's own address; choose another address"),
    case(&["create", "x", "--release", "99.0-RELEASE"], 1, "release 99.0-RELEASE is not fetched; run `brig release fetch 99.0-RELEASE` first"),
    case(&["create", "x", "--release", "foo"], 2, "brig create x: release: invalid release 'foo': expected MAJOR.MINOR-RELEASE, -RCn, -BETAn or -ALPHAn, such as 14.3-RELEASE or 15.1-RC1"),
    case(&["create", "x"], 2, "brig create x: the definition: release is required for a thin jail, such as release = \"14.3-RELEASE\""),
    case(&["create", "x", "--type", "fat"], 2, "--type fat: expected thin, thick or empty"),
    case(&["create", "x", "--release", "14.3-RELEASE", "--ip4", "300.1.1.1/24"], 2, "brig create x: network.ip4: '300.1.1.1/24' is not an IPv4 address such as 192.0.2.10/24"),
    case(&["create", "x", "--release", "14.3-RELEASE", "--ip6", "2001:db8::zz/64"], 2, "brig create x: network.ip6: '2001:db8::zz/64' is not an IPv6 address such as 2001:db8::10/64"),
    case(&["create", "x", "--release", "14.3-RELEASE", "--hostname", "bad_host!"], 2, "brig create x: hostname: 'bad_host!' is not valid: use dot-separated labels of letters, digits and '-', each 1 to 63 characters"),
    case(&["create", "x", "--release", "14.3-RELEASE", "--interface", "em0;rm"], 2, "brig create x: network.interface: 'em0;rm' is not an interface name: up to 15 letters, digits, '.', '_' and '-', starting with a letter"),
    case(&["create", "x", "--release", "14.3-RELEASE", "--param", "allow.teleport=true"], 2, "brig create x: params.allow.teleport: parameter allow.teleport is not a jail parameter FreeBSD knows (see jail(8))"),
    case(&["create", "x", "--release", "14.3-RELEASE", "--param", "securelevel=abc"], 2, "brig create x: params.securelevel: parameter securelevel takes an integer"),
    case(&["create", "x", "--release", "14.3-RELEASE", "--param", "children.max=-5"], 2, "brig create x: params.children.max: parameter children.max cannot be negative; 0 forbids child jails"),
    case(&["create", "x", "--release", "14.3-RELEASE", "--param", "nopersist=true"], 2, "brig create x: params.nopersist: parameter nopersist is written as persist = false here, not with the 'no' prefix"),
    case(&["create", "x", "--release", "14.3-RELEASE", "--depends", "nosuch"], 1, "jail x depends on nosuch, which is not defined"),
    case(&["create", "x", "--release", "14.3-RELEASE", "--priority", "5000"], 2, "brig create x: priority: must be between 0 and 999"),
    case(&["create", "x", "--from", "/nonexistent.toml"], 2, "/nonexistent.toml: No such file or directory (os error 2)"),
    case(&["create", "x", "--release", "14.3-RELEASE", "--set", "limits.maxproc=-1"], 2, "brig create x: limits.maxproc: cannot be negative"),
    case(&["create", "x", "--template", "nosuch"], 3, "no template named nosuch; `brig template list` shows them"),
    case(&["start", "nosuch"], 3, "jail nosuch is not defined; `brig list` shows the jails"),
    case(&["stop", "nosuch"], 3, "jail nosuch is not defined; `brig list` shows the jails"),
    case(&["destroy", "nosuch"], 3, "jail nosuch does not exist; `brig list` shows the jails"),
    case(&["exec", "web", "--", "true"], 1, "jail web is not running; start it first"),
    case(&["info", "../x"], 2, "invalid jail name '../x': only one level of nesting (parent.child) is supported"),
    case(&["limits", "web", "set", "maxproc=-1"], 2, "{DIR}/usr/local/etc/brig/jails/web.toml: limits.maxproc: cannot be negative"),
    case(&["limits", "web", "unset", "nthreads"], 1, "jail web: nthreads is no limit brig knows (an rctl resource, cpus, bandwidth_in or bandwidth_out); `brig limits web` shows the jail's"),
    case(&["release", "fetch", "foo"], 2, "invalid release 'foo': expected MAJOR.MINOR-RELEASE, -RCn, -BETAn or -ALPHAn, such as 14.3-RELEASE or 15.1-RC1"),
    case(&["release", "fetch", "14.3-RELEASE", "--sha256", "zz"], 2, "--sha256 'zz' is not 64 hexadecimal digits"),
    case(&["release", "destroy", "14.3-RELEASE"], 1, "release 14.3-RELEASE is the origin of a jail: web; destroy it first"),
    with_file("/usr/local/etc/brig/jails/bad.toml", b"relase = \"14.3-RELEASE\"\n", &["validate", "bad"], 2, "{DIR}/usr/local/etc/brig/jails/bad.toml:1:1: unknown field `relase`, expected one of `release`, `type`, `hostname`, `boot`, `priority`, `ready`, `ready_timeout`, `depends`, `network`, `params`, `exec`, `mount`, `zfs`, `firewall`, `expose`, `limits`, `snapshots`, `vars`, `provision`, `provision_on_create`, `image`, `health`"),
    with_file("/usr/local/etc/brig/jails/bad.toml", b"release = \"14.3-RELEASE\xff\"\n", &["validate", "bad"], 2, "{DIR}/usr/local/etc/brig/jails/bad.toml:1:24: not UTF-8 text (invalid byte at offset 23)"),
    with_file("/usr/local/etc/brig/jails/bad.toml", b"release = \"14.3-RELEASE\"\npriority = \"high\"\n", &["validate", "bad"], 2, "{DIR}/usr/local/etc/brig/jails/bad.toml:2:12: priority must be a number such as 50, not the string \"high\""),
    with_file("/usr/local/etc/brig/jails/bad.toml", b"", &["validate", "bad"], 2, "{DIR}/usr/local/etc/brig/jails/bad.toml:1:1: release is required for a thin jail, such as release = \"14.3-RELEASE\""),
    with_file("/usr/local/etc/brig/jails/bad.toml", b"release = \"14.3-RELEASE\"\n[[mount]]\nsource = \"/data\"\ntarget = \"../etc\"\n", &["validate", "bad"], 2, "{DIR}/usr/local/etc/brig/jails/bad.toml:4:10: target '../etc' must be an absolute path inside the jail of plain names (no '.', '..', '//' or control characters), not /"),
    with_file("/usr/local/etc/brig/jails/bad.toml", b"release = \"14.3-RELEASE\"\n[[mount]]\nsource = \"/data\"\ntarget = \"/mnt/./x\"\n", &["validate", "bad"], 2, "{DIR}/usr/local/etc/brig/jails/bad.toml:4:10: target '/mnt/./x' must be an absolute path inside the jail of plain names (no '.', '..', '//' or control characters), not /"),
    with_file("/usr/local/etc/brig/jails/bad.toml", b"release = \"14.3-RELEASE\"\n[[mount]]\nsource = \"/data\"\ntarget = \"/mnt//x\"\n", &["validate", "bad"], 2, "{DIR}/usr/local/etc/brig/jails/bad.toml:4:10: target '/mnt//x' must be an absolute path inside the jail of plain names (no '.', '..', '//' or control characters), not /"),
    with_file("/usr/local/etc/brig/jails/bad.toml", b"release = \"14.3-RELEASE\"\n[[mount]]\nsource = \"/a/../etc\"\ntarget = \"/mnt\"\n", &["validate", "bad"], 2, "{DIR}/usr/local/etc/brig/jails/bad.toml:3:10: source '/a/../etc' must be an absolute host path of plain names (no '.', '..', '//' or control characters)"),
    with_file("/usr/local/etc/brig/jails/bad.toml", b"release = \"14.3-RELEASE\"\n[limits]\nmemoryuse = \"-1G\"\n", &["validate", "bad"], 2, "{DIR}/usr/local/etc/brig/jails/bad.toml:3:13: limits.memoryuse: '-1G' is not an amount; write a whole number with an optional K, M, G or T suffix, such as \"512M\""),
    with_file("/usr/local/etc/brig/jails/bad.toml", b"release = \"14.3-RELEASE\"\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.10/24\"]\n", &["validate"], 2, "{DIR}/usr/local/etc/brig/jails/web.toml: jail web uses address 192.0.2.10, which jail bad already has"),
    with_file("/usr/local/etc/brig/jails/bad.toml", b"type = \"empty\"\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.1/24\"]\n", &["validate", "bad"], 2, "{DIR}/usr/local/etc/brig/jails/bad.toml: jail bad: 192.0.2.1 is em0's own address; choose another address"),
    with_file("/usr/local/etc/brig/jails/bad.toml", b"release = \"15.0-RELEASE\"\n", &["apply", "bad"], 1, "jail bad has no root dataset and release 15.0-RELEASE is not fetched; run `brig release fetch 15.0-RELEASE` first"),
    with_file("/usr/local/etc/brig/jails/bad.toml", b"release = \"14.3-RELEASE\"\nhostname = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n", &["validate", "bad"], 2, "{DIR}/usr/local/etc/brig/jails/bad.toml:2:12: hostname 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…' (73 bytes) is not valid: use dot-separated labels of letters, digits and '-', each 1 to 63 characters"),
    with_file("/usr/local/etc/brig/jails/bad.toml", b"release = \"14.3-RELEASE\"\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.1\\n0\"]\n", &["validate", "bad"], 2, "{DIR}/usr/local/etc/brig/jails/bad.toml:4:8: '192.0.2.1\\n0' is not an IPv4 address such as 192.0.2.10/24"),
    with_file("/usr/local/etc/brig/jails/bad.toml", b"release = \"14.3-RELEASE\"\n[zfs]\ndelegate = [\"../up\"]\n", &["validate", "bad"], 2, "{DIR}/usr/local/etc/brig/jails/bad.toml:3:13: delegated dataset '../up' must be 1 to 64 letters, digits, '_', '-', '.' or ':', not starting with '.' or '-'"),
];

#[test]
fn every_bad_input_gets_its_sentence_and_changes_nothing() {
    assert!(CASES.len() >= 40, "the catalogue has {} entries", CASES.len());
    let sim = base();
    let dir = sim.path().display().to_string();
    let mut wrong = Vec::new();
    for c in CASES {
        if let Some((path, text)) = c.file {
            std::fs::write(sim.file(path), text).expect("write");
        }
        let before = everything(&sim);
        let r = sim.brig(c.args);
        let want = format!("brig: {}\n", c.stderr.replace("{DIR}", &dir));
        if (r.code, r.stderr.as_str()) != (Some(c.code), want.as_str()) {
            wrong.push(format!(
                "brig {}\n  got  {:?} {:?}\n  want {} {want:?}",
                c.args.join(" "),
                r.code,
                r.stderr,
                c.code
            ));
        }
        if everything(&sim) != before {
            wrong.push(format!("brig {} changed something", c.args.join(" ")));
        }
        if let Some((path, _)) = c.file {
            std::fs::remove_file(sim.file(path)).expect("rm");
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_directory_where_a_definition_should_be_is_named() {
    let sim = base();
    std::fs::create_dir(sim.file(&format!("{DEF}/dir.toml"))).expect("mkdir");
    let r = sim.brig(&["validate", "dir"]);
    r.fails(2);
    assert!(r.stderr.contains("dir.toml: is a directory, not a regular file"), "{}", r.stderr);
}
