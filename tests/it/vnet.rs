//! VNET jails through the CLI against the sim: an epair on a bridge, the
//! jail's own stack set up from inside, everything brig made gone at
//! stop, and the refusals that come before anything changes.

use brig::host::{GetFlags, Host, JailKey};

use crate::common::Sim;

pub const ROOT: &str = "/usr/local/brig/jails/box/root";

/// `box`: an empty VNET jail on bridge0 (uplink em0) with the test
/// userland, IPv4 and IPv6 addresses and both default routes; `extra`
/// are more `brig create` arguments.
pub fn defined(extra: &[&str]) -> Sim {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    let mut args = vec![
        "create",
        "box",
        "--type",
        "empty",
        "--vnet",
        "--bridge",
        "bridge0",
        "--ip4",
        "192.0.2.20/24",
        "--ip6",
        "2001:db8::20/64",
        "--set",
        "network.uplink=em0",
        "--set",
        "network.ip4_gateway=192.0.2.1",
        "--set",
        "network.ip6_gateway=fe80::1",
    ];
    args.extend_from_slice(extra);
    sim.brig(&args).ok();
    crate::common::bootable_root(&sim, ROOT, "sleep 300 &\n");
    sim
}

/// The host's interface names.
pub fn host_interfaces(sim: &Sim) -> Vec<String> {
    sim.host().interfaces().expect("ifs").into_iter().map(|i| i.name).collect()
}

#[test]
fn a_vnet_jail_on_a_bridge_gets_its_own_stack_and_leaves_nothing() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    let plan = sim.brig(&["start", "box", "--dry-run"]);
    let steps = plan.ok().stdout.clone();
    crate::common::golden("vnet-start.txt", &steps);
    sim.brig(&["start", "box"]).ok();
    {
        let h = sim.host();
        let ifs = host_interfaces(&sim);
        assert!(ifs.contains(&"bridge0".to_string()) && ifs.contains(&"e0a_box".to_string()), "{ifs:?}");
        assert!(!ifs.contains(&"e0b_box".to_string()), "the jail end is in the jail");
        let mut members = h.bridge_members("bridge0").expect("members");
        members.sort();
        assert_eq!(members, vec!["e0a_box", "em0"]);
    }
    let info = sim.brig(&["info", "box", "--json"]).json();
    assert_eq!(info["definition"]["network"], "vnet");
    assert_eq!(info["definition"]["vnet"]["bridge"], "bridge0");
    let inside = &info["inside"];
    let names: Vec<&str> =
        inside["interfaces"].as_array().expect("ifs").iter().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(names, vec!["e0b_box", "lo0"]);
    let jail_end = &inside["interfaces"][0];
    assert_eq!(jail_end["up"], true);
    assert_eq!(jail_end["addrs"], serde_json::json!(["192.0.2.20/24", "2001:db8::20/64"]));
    assert_eq!(inside["interfaces"][1]["addrs"], serde_json::json!(["127.0.0.1/8", "::1/128"]));
    assert_eq!((inside["ip4_gateway"].as_str(), inside["ip6_gateway"].as_str()), (Some("192.0.2.1"), Some("fe80::1")));
    let text = sim.brig(&["info", "box"]).ok().stdout.clone();
    assert!(text.contains("e0b_box up 192.0.2.20/24 2001:db8::20/64"), "{text}");
    let list = sim.brig(&["list", "--json"]).json();
    assert_eq!(list["jails"][0]["ip"], serde_json::json!(["192.0.2.20", "2001:db8::20"]));

    sim.brig(&["stop", "box"]).ok();
    let ifs = host_interfaces(&sim);
    assert!(!ifs.iter().any(|i| i.starts_with("e0")), "the epair is gone: {ifs:?}");
    assert!(ifs.contains(&"bridge0".to_string()), "the bridge is the host's now and stays");
    assert!(!sim.file("/var/db/brig/started/box.json").exists());
    // And again, on the bridge it left.
    sim.brig(&["restart", "box"]).ok();
    sim.brig(&["stop", "box"]).ok();
    assert_eq!(sim.host().bridge_members("bridge0").expect("members"), vec!["em0"]);
}

#[test]
fn a_jail_that_died_on_its_own_has_its_epair_destroyed_by_stop() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    sim.brig(&["start", "box"]).ok();
    let mut h = sim.host();
    let jid = h.jail_find("box").expect("get").expect("running").jid;
    h.jail_remove(jid).expect("removed behind brig's back");
    // Each look at a dying jail brings it closer to being freed; freed,
    // its stack gives the jail end back to the host.
    let gone = (0..100).any(|_| h.jail_get(&JailKey::Jid(jid), &["jid"], GetFlags::DYING).is_err());
    assert!(gone, "the sim frees a dying jail");
    drop(h);
    assert!(host_interfaces(&sim).contains(&"e0b_box".to_string()), "the jail end came back");
    sim.brig(&["stop", "box"]).ok();
    assert!(!host_interfaces(&sim).iter().any(|i| i.starts_with("e0")));
}

#[test]
fn refusals_come_before_anything_is_left() {
    let sim = defined(&[]);
    // A bridge name that is a physical interface.
    let def = sim.file("/usr/local/etc/brig/jails/box.toml");
    let text = std::fs::read_to_string(&def).expect("definition");
    std::fs::write(&def, text.replace("bridge = \"bridge0\"", "bridge = \"em0\"").replace("uplink = \"em0\"", ""))
        .expect("write");
    let r = sim.brig(&["start", "box"]);
    assert!(
        r.stderr.contains("em0 is an interface of this host that is not a bridge; name a bridge in [network] bridge"),
        "{}",
        r.stderr
    );
    assert_ne!(r.code, Some(0));
    // An uplink the host does not have.
    std::fs::write(&def, text.replace("uplink = \"em0\"", "uplink = \"em9\"")).expect("write");
    let r = sim.brig(&["start", "box"]);
    assert!(r.stderr.contains("uplink em9 is not an interface of this host"), "{}", r.stderr);
    assert_eq!(host_interfaces(&sim), vec!["em0", "lo0"], "no bridge, no epair");
    assert!(!sim.file("/var/db/brig/started/box.json").exists());
    // An MTU the bridge's members do not share.
    std::fs::write(&def, format!("{text}mtu = 9000\n")).expect("write");
    let r = sim.brig(&["start", "box"]);
    assert!(
        r.stderr.contains(
            "mtu 9000 is not bridge0's MTU, 1500, which all its members share; set mtu = 1500, or leave mtu out"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(host_interfaces(&sim), vec!["em0", "lo0"], "the bridge and the epair it made are gone again");
    // A VNET jail's root must be root to set its stack up.
    std::fs::write(&def, format!("{text}\n[params]\n\"allow.suser\" = false\n")).expect("write");
    let r = sim.brig(&["validate", "box"]);
    assert!(r.stderr.contains("a VNET jail needs allow.suser"), "{}", r.stderr);
    // One host interface handed to two jails: create refuses the second;
    // a definition written by hand, validate.
    std::fs::write(&def, &text).expect("write");
    sim.brig(&["create", "p1", "--type", "empty", "--vnet", "--interface", "em1"]).ok();
    let r = sim.brig(&["create", "p2", "--type", "empty", "--vnet", "--interface", "em1"]);
    assert!(r.stderr.contains("jail p2 is handed interface em1, which jail p1 has too"), "{}", r.stderr);
    let p1 = std::fs::read_to_string(sim.file("/usr/local/etc/brig/jails/p1.toml")).expect("p1");
    std::fs::write(sim.file("/usr/local/etc/brig/jails/p2.toml"), p1).expect("p2");
    let v = sim.brig(&["validate"]);
    assert!(
        v.stdout.contains("jail p2 is handed interface em1, which jail p1 has too")
            || v.stderr.contains("jail p2 is handed interface em1, which jail p1 has too"),
        "{}{}",
        v.stdout,
        v.stderr
    );
    assert_ne!(v.code, Some(0));
}

#[test]
fn changing_a_running_vnet_jail_waits_for_a_restart() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    sim.brig(&["start", "box"]).ok();
    let def = sim.file("/usr/local/etc/brig/jails/box.toml");
    let text = std::fs::read_to_string(&def).expect("definition");
    std::fs::write(&def, text.replace("192.0.2.20/24", "192.0.2.21/24")).expect("write");
    let plan = sim.brig(&["plan", "box"]);
    assert!(
        plan.stdout.contains("network e0b_box on bridge0 (uplink em0): 192.0.2.20/24")
            && plan.stdout.contains("-> e0b_box on bridge0 (uplink em0): 192.0.2.21/24"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("a VNET jail's interface and stack are set up when it starts"), "{}", plan.stdout);
}

#[test]
fn an_ipv6_only_jail_works_end_to_end() {
    crate::common::needs_jail_processes!();
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    sim.brig(&[
        "create",
        "six",
        "--type",
        "empty",
        "--vnet",
        "--bridge",
        "bridge6",
        "--ip6",
        "2001:db8:6::10/64",
        "--set",
        "network.ip6_gateway=fe80::1",
        "--set",
        "network.slaac=true",
        "--set",
        "firewall.inbound=[\"tcp/443\"]",
    ])
    .ok();
    let root = "/usr/local/brig/jails/six/root";
    crate::common::bootable_root(&sim, root, "exit 0\n");
    sim.brig(&["start", "six"]).ok();
    let info = sim.brig(&["info", "six", "--json"]).json();
    let inside = &info["inside"];
    assert_eq!(inside["interfaces"][0]["addrs"], serde_json::json!(["2001:db8:6::10/64"]));
    assert_eq!((inside["ip4_gateway"].is_null(), inside["ip6_gateway"].as_str()), (true, Some("fe80::1")));
    let rules = sim.host().pf_rules("brig/six").expect("the anchor");
    assert!(rules.contains("pass out quick on e0a_six inet6 proto tcp from any to any port 443 keep state"), "{rules}");
    assert!(rules.contains("pass in quick on e0a_six inet6 from any to any keep state"), "slaac: any source: {rules}");
    sim.brig(&["stop", "six"]).ok();
    assert!(!host_interfaces(&sim).iter().any(|i| i.starts_with("e0")));
}

#[test]
fn a_host_interface_is_handed_over_whole_and_comes_back() {
    crate::common::needs_jail_processes!();
    let sim = Sim::new();
    // em1: a second NIC the host does not use, there from boot.
    sim.boot_with(|t| t.replace("[interfaces]\n", "[interfaces]\nem1 = []\n"));
    sim.brig(&["init"]).ok();
    let own = |sim: &Sim, name: &str, iface: &str| {
        sim.brig(&["create", name, "--type", "empty", "--vnet", "--interface", iface, "--ip4", "198.51.100.7/24"]).ok();
        let root = format!("/usr/local/brig/jails/{name}/root");
        crate::common::bootable_root(sim, &root, "exit 0\n");
    };
    own(&sim, "nic", "em1");
    sim.brig(&["start", "nic"]).ok();
    assert!(!host_interfaces(&sim).contains(&"em1".to_string()), "em1 is the jail's now");
    let info = sim.brig(&["info", "nic", "--json"]).json();
    assert_eq!(info["inside"]["interfaces"][0]["name"], "em1");
    assert_eq!(info["inside"]["interfaces"][0]["addrs"], serde_json::json!(["198.51.100.7/24"]));
    sim.brig(&["stop", "nic"]).ok();
    assert!(host_interfaces(&sim).contains(&"em1".to_string()), "back once the jail is gone");
    // The host's own interface is not handed over: it would lose its addresses.
    sim.brig(&["destroy", "nic"]).ok();
    own(&sim, "greedy", "em0");
    let r = sim.brig(&["start", "greedy"]);
    assert!(
        r.stderr
            .contains("em0 has the host's address 192.0.2.1, which handing it to jail greedy would take from the host"),
        "{}",
        r.stderr
    );
    assert_eq!(sim.host().jail_find("greedy").expect("get"), None, "the start was taken back");
}

#[test]
fn an_ipv6_address_another_node_has_fails_the_start() {
    crate::common::needs_jail_processes!();
    let sim = defined(&[]);
    sim.configure(|t| t.replace("dad_polls = 2\n", "dad_polls = 2\nduplicate_addresses = [\"2001:db8::20\"]\n"));
    let r = sim.brig(&["start", "box"]);
    assert!(
        r.stderr.contains(
            "2001:db8::20 on e0b_box: another node on the network already has it (duplicate address detection)"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(sim.host().jail_find("box").expect("get"), None, "the start was taken back");
    assert!(!host_interfaces(&sim).iter().any(|i| i.starts_with("e0")), "no epair left");
}

#[test]
fn dhcp_runs_the_jails_own_dhclient_with_bpf_in_its_devfs() {
    crate::common::needs_jail_processes!();
    let sim = Sim::new();
    // A host with the ruleset dhclient needs loaded (devfs.rules' 13).
    sim.boot_with(|t| t.replace("    5,\n]", "    5,\n    13,\n]"));
    sim.brig(&["init"]).ok();
    let args = ["create", "dh", "--type", "empty", "--vnet", "--bridge", "bridge0", "--set", "network.dhcp=true"];
    let r = sim.brig(&args);
    assert!(
        r.stderr.contains("dhcp = true runs dhclient in the jail, which needs /dev/bpf, and devfs ruleset 4 hides it"),
        "{}",
        r.stderr
    );
    let mut with_bpf = args.to_vec();
    with_bpf.extend(["--param", "devfs_ruleset=13"]);
    sim.brig(&with_bpf).ok();
    let root = "/usr/local/brig/jails/dh/root";
    crate::common::bootable_root(&sim, root, "exit 0\n");
    // A stand-in for the jail's dhclient: it notes the interface it got.
    std::fs::create_dir_all(sim.file(&format!("{root}/sbin"))).expect("sbin");
    let dhclient = sim.file(&format!("{root}/sbin/dhclient"));
    std::fs::write(&dhclient, "#!/bin/sh\necho \"$1\" > /tmp/dhclient-ran\n").expect("dhclient");
    std::fs::set_permissions(&dhclient, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    std::fs::create_dir_all(sim.file(&format!("{root}/tmp"))).expect("tmp");
    let plan = sim.brig(&["start", "dh", "--dry-run"]).ok().stdout.clone();
    assert!(plan.contains("dh: dhclient in dh: /sbin/dhclient e0b_dh"), "{plan}");
    sim.brig(&["start", "dh"]).ok();
    assert_eq!(std::fs::read_to_string(sim.file(&format!("{root}/tmp/dhclient-ran"))).expect("ran"), "e0b_dh\n");
    sim.brig(&["stop", "dh"]).ok();
}
