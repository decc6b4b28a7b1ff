//! A jail's pf anchor through the CLI against the sim: loaded at start,
//! changed live by apply in one transaction, emptied at stop; port
//! conflicts refused by validate.

use brig::host::{Errno, Host};

use crate::common::Sim;
use crate::vnet::defined;

const DEF: &str = "/usr/local/etc/brig/jails/box.toml";
const ANCHOR: &str = "brig/box";

/// `box` (see `vnet::defined`) with a firewall, NAT and an exposed port.
fn guarded() -> Sim {
    let sim = defined(&[]);
    let mut text = std::fs::read_to_string(sim.file(DEF)).expect("definition");
    text.push_str("\n[firewall]\ninbound = [\"tcp/22 from 203.0.113.0/24\"]\nnat = true\nnat_interface = \"em0\"\n\n[[expose]]\nhost_port = 8080\nport = 80\nhost_address = \"192.0.2.1\"\n");
    std::fs::write(sim.file(DEF), text).expect("write");
    sim
}

#[test]
fn the_anchor_is_loaded_at_start_changed_live_and_emptied_at_stop() {
    crate::common::needs_jail_processes!();
    let sim = guarded();
    let plan = sim.brig(&["start", "box", "--dry-run"]).ok().stdout.clone();
    assert!(
        plan.contains("box: pfctl -a brig/box -f -: nat on em0 inet from 192.0.2.20 to any -> (em0:0); rdr pass inet proto tcp from any to 192.0.2.1 port 8080 -> 192.0.2.20 port 80;"),
        "{plan}"
    );
    sim.brig(&["start", "box"]).ok();
    let loaded = sim.host().pf_rules(ANCHOR).expect("the anchor");
    assert!(
        loaded.contains("pass out quick on e0a_box inet proto tcp from 203.0.113.0/24 to any port 22 keep state"),
        "{loaded}"
    );
    let info = sim.brig(&["info", "box", "--json"]).json();
    assert_eq!(info["firewall_loaded"].as_str(), Some(loaded.as_str()));
    assert_eq!(info["definition"]["firewall"], info["firewall_loaded"]);

    // A live change: one transaction, recorded, and then in sync.
    let text = std::fs::read_to_string(sim.file(DEF)).expect("definition");
    std::fs::write(sim.file(DEF), text.replace("tcp/22 from 203.0.113.0/24", "tcp/22 from 198.51.100.0/24"))
        .expect("write");
    let plan = sim.brig(&["plan", "box"]).ok().stdout.clone();
    assert!(plan.contains("pfctl -a brig/box -f -:") && !plan.contains("restart"), "{plan}");
    sim.brig(&["apply", "box"]).ok();
    let now = sim.host().pf_rules(ANCHOR).expect("the anchor");
    assert!(now.contains("from 198.51.100.0/24") && !now.contains("203.0.113.0/24"), "{now}");
    let again = sim.brig(&["plan", "box"]).ok().stdout.clone();
    assert!(!again.contains("pfctl"), "in sync: {again}");

    sim.brig(&["stop", "box"]).ok();
    assert_eq!(sim.host().pf_rules(ANCHOR).map_err(|e| e.errno), Err(Errno::EINVAL), "the anchor is gone");
}

#[test]
fn removing_the_firewall_of_a_running_jail_empties_its_anchor() {
    crate::common::needs_jail_processes!();
    let sim = guarded();
    sim.brig(&["start", "box"]).ok();
    let text = std::fs::read_to_string(sim.file(DEF)).expect("definition");
    let cut = text.find("\n[firewall]").expect("the firewall");
    std::fs::write(sim.file(DEF), &text[..cut]).expect("write");
    sim.brig(&["apply", "box"]).ok();
    assert_eq!(sim.host().pf_rules(ANCHOR).map_err(|e| e.errno), Err(Errno::EINVAL));
    let info = sim.brig(&["info", "box", "--json"]).json();
    assert!(info["firewall_loaded"].is_null(), "{info}");
}

#[test]
fn one_host_port_exposed_by_two_jails_is_refused() {
    let sim = guarded();
    sim.brig(&["create", "other", "--type", "empty", "--ip4", "192.0.2.30/24", "--interface", "em0"]).ok();
    let other = sim.file("/usr/local/etc/brig/jails/other.toml");
    let mut text = std::fs::read_to_string(&other).expect("definition");
    text.push_str("\n[[expose]]\nhost_port = 8080\nhost_address = \"192.0.2.1\"\n");
    std::fs::write(&other, text).expect("write");
    let v = sim.brig(&["validate"]);
    assert_ne!(v.code, Some(0));
    let all = format!("{}{}", v.stdout, v.stderr);
    assert!(
        all.contains("jail other exposes tcp/8080 on 192.0.2.1, which jail box exposes on 192.0.2.1 already"),
        "{all}"
    );
}

#[test]
fn create_refuses_a_port_or_an_interface_another_jail_takes() {
    let sim = guarded();
    let r = sim.brig(&[
        "create",
        "web2",
        "--type",
        "empty",
        "--ip4",
        "192.0.2.40/24",
        "--interface",
        "em0",
        "--set",
        "firewall.nat=true",
        "--set",
        "firewall.nat_interface=em0",
    ]);
    r.ok();
    // [[expose]] cannot be written with --set: a template-less file.
    let file = sim.path().join("web3.toml");
    std::fs::write(
        &file,
        "type = \"empty\"\n[network]\ninterface = \"em0\"\nip4 = [\"192.0.2.41/24\"]\n[[expose]]\nhost_port = 8080\nhost_address = \"192.0.2.1\"\n",
    )
    .expect("write");
    let r = sim.brig(&["create", "web3", "--from", file.to_str().expect("utf-8")]);
    assert_ne!(r.code, Some(0));
    assert!(
        r.stderr.contains("jail web3 exposes tcp/8080 on 192.0.2.1, which jail box exposes on 192.0.2.1 already"),
        "{}",
        r.stderr
    );
    assert!(!sim.file("/usr/local/etc/brig/jails/web3.toml").exists(), "nothing made");
    let r = sim.brig(&["create", "p2", "--type", "empty", "--vnet", "--interface", "em0"]);
    r.ok();
    let r = sim.brig(&["create", "p3", "--type", "empty", "--vnet", "--interface", "em0"]);
    assert!(r.stderr.contains("jail p3 is handed interface em0, which jail p2 has too"), "{}", r.stderr);
}

#[test]
fn a_firewall_needs_what_it_filters_by() {
    let sim = Sim::new();
    sim.brig(&["init"]).ok();
    // No network: nothing to name in the rules.
    let r = sim.brig(&["create", "bare", "--type", "empty", "--set", "firewall.inbound=[\"tcp/22\"]"]);
    assert_ne!(r.code, Some(0));
    assert!(r.stderr.contains("[firewall] and [[expose]] filter by the jail's addresses"), "{}", r.stderr);
    // On a bridge the epair is enough, but NAT translates written addresses.
    let bridged =
        ["create", "slaac", "--type", "empty", "--vnet", "--bridge", "bridge0", "--set", "network.slaac=true"];
    let mut natted = bridged.to_vec();
    natted.extend(["--set", "firewall.nat=true", "--set", "firewall.nat_interface=em0"]);
    let r = sim.brig(&natted);
    assert!(
        r.stderr.contains("nat = true translates the jail's IPv4 addresses, and it has none written"),
        "{}",
        r.stderr
    );
    let mut filtered = bridged.to_vec();
    filtered.extend(["--set", "firewall.inbound=[\"tcp/443\"]"]);
    sim.brig(&filtered).ok();
}

#[test]
fn starting_a_firewall_pf_would_not_use_warns() {
    crate::common::needs_jail_processes!();
    let sim = guarded();
    // pf.conf with only the filter anchor.
    sim.configure(|t| t.replace("    'nat-anchor \"brig/*\"',\n    'rdr-anchor \"brig/*\"',\n", ""));
    let r = sim.brig(&["start", "box"]);
    r.ok();
    assert!(
        r.stderr.contains("brig: warning: pf.conf does not evaluate brig's anchors (nat-anchor \"brig/*\", rdr-anchor \"brig/*\" missing)"),
        "{}",
        r.stderr
    );
    sim.brig(&["stop", "box"]).ok();
    sim.configure(|t| t.replace("pf_enabled = true", "pf_enabled = false"));
    let r = sim.brig(&["start", "box"]);
    assert!(r.stderr.contains("pf is loaded but not enabled"), "{}", r.stderr);
}
