//! Bandwidth limits through the CLI against the sim: a jail's two
//! dummynet pipes taken from brig's own range at start, named by `match`
//! rules of its anchor, changed live by apply, deleted at stop; and the
//! refusals that come before anything changes.

use brig::host::{Errno, Host};

use crate::common::Sim;

const DEF: &str = "/usr/local/etc/brig/jails/box.toml";
const ROOT: &str = "/usr/local/brig/jails/box/root";

/// `box`: an empty alias jail on em0 with the test userland and the
/// limits of `limits`; the host has dummynet.ko when `dummynet`.
pub fn limited(limits: &str, dummynet: bool) -> Sim {
    let sim = Sim::new();
    if dummynet {
        sim.boot_with(|t| t.replace("modules = [", "modules = [\"dummynet\", "));
    }
    sim.brig(&["init"]).ok();
    sim.brig(&[
        "create",
        "box",
        "--type",
        "empty",
        "--ip4",
        "192.0.2.20/24",
        "--ip6",
        "2001:db8::20/64",
        "--interface",
        "em0",
    ])
    .ok();
    crate::common::bootable_root(&sim, ROOT, "sleep 300 &\n");
    let mut text = std::fs::read_to_string(sim.file(DEF)).expect("definition");
    text.push_str(&format!("\n[limits]\n{limits}"));
    std::fs::write(sim.file(DEF), text).expect("write");
    sim
}

fn pipes(sim: &Sim) -> Vec<(u16, u32)> {
    sim.host().dn_pipes().expect("pipes")
}

#[test]
fn a_jail_gets_two_pipes_of_its_own_named_by_its_anchor_until_it_stops() {
    crate::common::needs_jail_processes!();
    let sim = limited("bandwidth_in = \"100M\"\nbandwidth_out = \"20M\"\n", true);
    // The administrator's own pipe stays theirs.
    sim.host().dn_pipe_config(1, 1_000_000).expect("an administrator's pipe");
    let plan = sim.brig(&["start", "box", "--dry-run"]).ok().stdout.clone();
    assert!(plan.contains("box: dnctl pipe 32768 config bw 100000000bit/s"), "{plan}");
    sim.brig(&["start", "box"]).ok();
    assert_eq!(pipes(&sim), vec![(1, 1_000_000), (32768, 100_000_000), (32769, 20_000_000)]);
    let rules = sim.host().pf_rules("brig/box").expect("the anchor");
    assert_eq!(
        rules,
        "match in on em0 inet from any to 192.0.2.20 dnpipe (32768, 32769)\nmatch out on em0 inet from 192.0.2.20 to any dnpipe (32769, 32768)\nmatch in on em0 inet6 from any to 2001:db8::20 dnpipe (32768, 32769)\nmatch out on em0 inet6 from 2001:db8::20 to any dnpipe (32769, 32768)\n"
    );

    // A change of bandwidth: the same pipes, changed in place.
    let text = std::fs::read_to_string(sim.file(DEF)).expect("definition");
    std::fs::write(sim.file(DEF), text.replace("\"20M\"", "\"5M\"")).expect("write");
    let plan = sim.brig(&["plan", "box"]).ok().stdout.clone();
    assert!(plan.contains("dnctl pipe 32769 config bw 5000000bit/s") && !plan.contains("restart"), "{plan}");
    sim.brig(&["apply", "box"]).ok();
    assert_eq!(pipes(&sim), vec![(1, 1_000_000), (32768, 100_000_000), (32769, 5_000_000)]);
    assert!(!sim.brig(&["plan", "box"]).ok().stdout.contains("dnctl"), "in sync");

    // Taking the limits away waits for a restart.
    let text = std::fs::read_to_string(sim.file(DEF)).expect("definition");
    let cut = text.find("\n[limits]").expect("limits");
    std::fs::write(sim.file(DEF), &text[..cut]).expect("write");
    let plan = sim.brig(&["plan", "box"]).ok().stdout.clone();
    assert!(plan.contains("limits.bandwidth in 100M, out 5M -> -"), "{plan}");

    sim.brig(&["stop", "box"]).ok();
    assert_eq!(pipes(&sim), vec![(1, 1_000_000)], "only the administrator's pipe is left");
    assert_eq!(sim.host().pf_rules("brig/box").map_err(|e| e.errno), Err(Errno::EINVAL));
}

#[test]
fn a_natted_jail_is_limited_by_the_tag_of_its_translation() {
    crate::common::needs_jail_processes!();
    let sim = limited("bandwidth_out = \"1G\"\n", true);
    let mut text = std::fs::read_to_string(sim.file(DEF)).expect("definition");
    text.push_str("\n[firewall]\nnat = true\nnat_interface = \"em0\"\n\n[[expose]]\nhost_port = 8080\nport = 80\nhost_address = \"192.0.2.1\"\n");
    std::fs::write(sim.file(DEF), text).expect("write");
    sim.brig(&["start", "box"]).ok();
    assert_eq!(pipes(&sim), vec![(32768, 0), (32769, 1_000_000_000)], "bandwidth_in not given: no limit");
    let rules = sim.host().pf_rules("brig/box").expect("the anchor");
    assert!(rules.contains("nat on em0 inet from 192.0.2.20 to any tag brig_dn32769 -> (em0:0)\n"), "{rules}");
    assert!(rules.contains("match out on em0 inet all tagged brig_dn32769 dnpipe (32769, 32768)\n"), "{rules}");
    // Filtered, so that the limits apply: `rdr pass` would skip them.
    assert!(rules.contains("\nrdr inet proto tcp from any to 192.0.2.1 port 8080 -> 192.0.2.20 port 80\n"), "{rules}");
    sim.brig(&["stop", "box"]).ok();
    assert_eq!(pipes(&sim), Vec::new());
}

#[test]
fn without_dummynet_the_start_is_refused_and_leaves_nothing() {
    crate::common::needs_jail_processes!();
    let sim = limited("bandwidth_in = \"100M\"\n", false);
    let out = sim.brig(&["start", "box"]);
    assert_ne!(out.code, Some(0));
    assert!(
        out.stderr.contains("dummynet(4) is not loaded") && out.stderr.contains("kldload dummynet"),
        "{}",
        out.stderr
    );
    assert!(sim.host_jails().is_empty());
    assert_eq!(sim.host().pf_rules("brig/box").map_err(|e| e.errno), Err(Errno::EINVAL));
    assert!(!sim.file("/var/db/brig/started/box.json").exists(), "nothing recorded");
}

#[test]
fn a_pipe_taken_since_brig_chose_it_is_not_taken_again() {
    let sim = limited("bandwidth_in = \"100M\"\n", true);
    let mut host = sim.host();
    // Taken after brig chose it, by dnctl or another brig.
    host.dn_pipe_config(32768, 64_000).expect("someone else's pipe");
    let take = brig::plan::Op::ConfigurePipe { pipe: 32768, bandwidth: 1_000_000, old: None };
    let e = brig::exec::run(&mut host, &[take]).expect_err("refused");
    assert!(e.to_string().contains("dummynet pipe 32768 was taken while brig started the jail"), "{e}");
    assert_eq!(host.dn_pipes().expect("pipes"), vec![(32768, 64_000)], "theirs, unchanged");
}

#[test]
fn limits_are_refused_where_they_cannot_work() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    for (args, why) in [
        (
            vec![
                "create",
                "v",
                "--type",
                "empty",
                "--vnet",
                "--bridge",
                "bridge0",
                "--ip4",
                "192.0.2.40/24",
                "--set",
                "limits.bandwidth_in=10M",
            ],
            "bandwidth limits are for alias jails",
        ),
        (vec!["create", "n", "--type", "empty", "--set", "limits.bandwidth_out=10M"], "give it ip4 or ip6"),
        (
            vec!["create", "i", "--type", "empty", "--ip4", "192.0.2.41/32", "--set", "limits.bandwidth_out=10M"],
            "name it with interface",
        ),
        (
            vec![
                "create",
                "l",
                "--type",
                "empty",
                "--ip4",
                "10.0.0.41/32",
                "--interface",
                "lo1",
                "--set",
                "limits.bandwidth_out=10M",
            ],
            "need its NAT",
        ),
        (
            vec![
                "create",
                "z",
                "--type",
                "empty",
                "--ip4",
                "192.0.2.42/32",
                "--interface",
                "em0",
                "--set",
                "limits.bandwidth_out=3G",
            ],
            "more than dummynet(4) can limit to",
        ),
        (
            vec![
                "create",
                "y",
                "--type",
                "empty",
                "--ip4",
                "192.0.2.43/32",
                "--interface",
                "em0",
                "--set",
                "limits.bandwidth_out=0",
            ],
            "leave the key out for no limit",
        ),
    ] {
        let out = sim.brig(&args);
        assert_ne!(out.code, Some(0), "{args:?}");
        assert!(out.stderr.contains(why), "{args:?}: {}", out.stderr);
        assert!(!sim.file(&format!("/usr/local/etc/brig/jails/{}.toml", args[1])).exists(), "nothing made");
    }
}

#[test]
fn brig_limits_shows_and_changes_bandwidth_live_or_says_when_it_waits() {
    crate::common::needs_jail_processes!();
    let sim = limited("bandwidth_in = \"100M\"\n", true);
    sim.brig(&["start", "box"]).ok();
    let out = sim.brig(&["limits", "box", "set", "bandwidth_out=3M"]).ok().stdout.clone();
    assert!(out.contains("updated the limits of box, live"), "{out}");
    assert_eq!(pipes(&sim), vec![(32768, 100_000_000), (32769, 3_000_000)]);
    assert!(sim.brig(&["limits", "box"]).ok().stdout.contains("bandwidth: in 100M, out 3M"));
    assert!(!sim.brig(&["plan", "box"]).ok().stdout.contains("dnctl"), "the record follows");
    let view = sim.brig(&["limits", "box", "--json"]).json();
    assert_eq!((&view["bandwidth"]["out"], &view["bandwidth_active"]["out"]), (&3_000_000.into(), &3_000_000.into()));

    let out = sim.brig(&["limits", "box", "unset", "bandwidth_in", "bandwidth_out"]).ok().stdout.clone();
    assert!(out.contains("`brig restart box` applies them"), "{out}");
    assert_eq!(pipes(&sim).len(), 2, "the pipes stay until the jail stops");
    // The definition has none; the pipes still have what they had.
    let view = sim.brig(&["limits", "box", "--json"]).json();
    assert_eq!((&view["bandwidth"], &view["bandwidth_active"]["in"]), (&serde_json::Value::Null, &100_000_000.into()));
    sim.brig(&["restart", "box"]).ok();
    assert_eq!(pipes(&sim), Vec::new());
    assert_eq!(sim.host().pf_rules("brig/box").map_err(|e| e.errno), Err(Errno::EINVAL), "no anchor left");
}

#[test]
fn a_stop_leaves_the_pipes_another_jails_record_names() {
    crate::common::needs_jail_processes!();
    let sim = limited("bandwidth_in = \"100M\"\n", true);
    sim.brig(&["start", "box"]).ok();
    // Another brig chose the same pipes for `other` and was killed before
    // it made them: its record names box's pipes.
    sim.brig(&["create", "other", "--type", "empty", "--ip4", "192.0.2.30/24", "--interface", "em0"]).ok();
    let record = std::fs::read_to_string(sim.file("/var/db/brig/started/box.json")).expect("box's record");
    let others = record.replace("192.0.2.20", "192.0.2.30").replace("2001:db8::20", "2001:db8::30");
    std::fs::write(sim.file("/var/db/brig/started/other.json"), others).expect("other's record");
    sim.brig(&["stop", "other"]).ok();
    assert_eq!(pipes(&sim), vec![(32768, 100_000_000), (32769, 0)], "box's pipes are box's");
    assert!(!sim.file("/var/db/brig/started/other.json").exists());
    sim.brig(&["stop", "box"]).ok();
    assert_eq!(pipes(&sim), Vec::new());
}

#[test]
fn a_restart_without_dummynet_is_refused_before_the_jail_stops() {
    crate::common::needs_jail_processes!();
    let sim = limited("maxproc = 100\n", false);
    sim.brig(&["start", "box"]).ok();
    let text = std::fs::read_to_string(sim.file(DEF)).expect("definition");
    std::fs::write(sim.file(DEF), format!("{text}bandwidth_in = \"10M\"\n")).expect("write");
    let out = sim.brig(&["restart", "box"]);
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("dummynet(4) is not loaded; run `kldload dummynet`"), "{}", out.stderr);
    assert_eq!(sim.host_jails(), vec!["box".to_string()], "still running");
}
