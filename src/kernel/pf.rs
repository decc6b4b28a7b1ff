//! The subset of pf.conf(5) brig writes into a jail's anchor, read back
//! by a grammar of its own: the simulated host refuses what pfctl(8)
//! would refuse in it, and the tests read the rules brig made. The
//! grammar is pf.conf's (sbin/pfctl/parse.y: natrule, pfrule, hosts,
//! port_item), restricted to the forms below; anything else is a syntax
//! error, as pfctl reports it (`stdin:LINE: syntax error`).
//!
//! ```text
//! nat on IF (inet|inet6) from HOSTS to any [tag TAG] -> (IF[:0])
//! rdr [pass] (inet|inet6) proto (tcp|udp) from any to ADDRESS port N -> ADDRESS port N
//! match (in|out) on IF (inet|inet6) (from HOSTS to HOSTS | all tagged TAG) dnpipe (N, M)
//! (pass|block drop) [in|out] quick [on IF] [inet|inet6] [proto P]
//!     (all | from HOSTS to HOSTS [port PORTS]) [keep state]
//! HOSTS: any | ADDRESS[/LEN] | { ADDRESS[/LEN], ... }
//! PORTS: N | N:M
//! ```

use std::net::IpAddr;

use ipnet::IpNet;

/// The rules pf.conf needs once so that pf evaluates brig's anchors
/// (`brig/NAME`, one a jail): translation, redirection, filtering.
pub const BRIG_ANCHORS: [&str; 3] = ["nat-anchor \"brig/*\"", "rdr-anchor \"brig/*\"", "anchor \"brig/*\""];

/// Whether pf runs, and the anchors its main ruleset evaluates.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PfStatus {
    pub enabled: bool,
    /// `nat-anchor "NAME"`, `rdr-anchor "NAME"` and `anchor "NAME"`
    /// rules of the main ruleset, as pfctl prints them without `all`.
    pub anchors: Vec<String>,
}

/// The anchor rules among pfctl's listing of the main ruleset
/// (`pfctl -sn`, `pfctl -sr`: `anchor "brig/*" all`).
pub fn anchor_rules(listing: &str) -> Vec<String> {
    listing
        .lines()
        .map(str::trim)
        .filter(|l| ["nat-anchor ", "rdr-anchor ", "anchor "].iter().any(|k| l.starts_with(k)))
        .map(|l| l.strip_suffix(" all").unwrap_or(l).to_string())
        .collect()
}

/// One rule of an anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PfRule {
    Nat { interface: String, from: Vec<IpNet>, tag: Option<String> },
    Rdr { proto: String, to: IpAddr, port: u16, target: IpAddr, target_port: u16 },
    Filter(Filter),
    Match(Match),
}

/// A `match` rule giving the connections it matches dummynet pipes: the
/// first for packets the way the connection's first one went, the second
/// for its replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub direction: Direction,
    pub on: String,
    pub from: Option<Vec<IpNet>>,
    pub to: Option<Vec<IpNet>>,
    pub tagged: Option<String>,
    pub pipes: (u16, u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub pass: bool,
    /// `in` or `out`; None: both directions.
    pub direction: Option<Direction>,
    /// `on IF`: only packets through that interface.
    pub on: Option<String>,
    pub proto: Option<String>,
    /// None: any.
    pub from: Option<Vec<IpNet>>,
    pub to: Option<Vec<IpNet>>,
    pub port: Option<(u16, u16)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

/// A rule pfctl would not load: `stdin:LINE: syntax error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stdin:{line}: syntax error")]
pub struct PfSyntax {
    pub line: usize,
}

/// Reads an anchor's rules.
pub fn parse(text: &str) -> Result<Vec<PfRule>, PfSyntax> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let words = tokens(line);
        let rule = Words { w: &words, at: 0 }.rule().filter(|(_, rest)| rest.at == words.len());
        out.push(rule.map(|(r, _)| r).ok_or(PfSyntax { line: i + 1 })?);
    }
    Ok(out)
}

/// Words, with `{`, `}`, `,`, `(`, `)` as words of their own.
fn tokens(line: &str) -> Vec<String> {
    let mut spaced = String::new();
    for c in line.chars() {
        if "{},()".contains(c) {
            spaced.push(' ');
            spaced.push(c);
            spaced.push(' ');
        } else {
            spaced.push(c);
        }
    }
    spaced.split_whitespace().map(str::to_string).collect()
}

#[derive(Clone, Copy)]
struct Words<'a> {
    w: &'a [String],
    at: usize,
}

impl<'a> Words<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.w.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Option<&'a str> {
        let w = self.peek()?;
        self.at += 1;
        Some(w)
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.peek() == Some(word) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, word: &str) -> Option<()> {
        self.eat(word).then_some(())
    }

    fn family(&mut self) -> Option<&'a str> {
        ["inet", "inet6"].into_iter().find(|f| self.eat(f))
    }

    fn addr(&mut self) -> Option<IpNet> {
        let w = self.next()?;
        w.parse::<IpNet>().ok().or_else(|| w.parse::<IpAddr>().ok().map(IpNet::from))
    }

    /// HOSTS: None for `any`.
    fn hosts(&mut self) -> Option<Option<Vec<IpNet>>> {
        if self.eat("any") {
            return Some(None);
        }
        if !self.eat("{") {
            return Some(Some(vec![self.addr()?]));
        }
        let mut list = vec![self.addr()?];
        while self.eat(",") {
            list.push(self.addr()?);
        }
        self.expect("}")?;
        Some(Some(list))
    }

    fn port(&mut self) -> Option<u16> {
        self.next()?.parse().ok()
    }

    fn ports(&mut self) -> Option<(u16, u16)> {
        let w = self.next()?;
        match w.split_once(':') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => {
                let p = w.parse().ok()?;
                Some((p, p))
            }
        }
    }

    fn rule(mut self) -> Option<(PfRule, Words<'a>)> {
        let rule = match self.next()? {
            "nat" => {
                self.expect("on")?;
                let interface = self.next()?.to_string();
                self.family()?;
                self.expect("from")?;
                let from = self.hosts()??;
                self.expect("to")?;
                self.expect("any")?;
                let tag = if self.eat("tag") { Some(self.next()?.to_string()) } else { None };
                self.expect("->")?;
                self.expect("(")?;
                let to = self.next()?;
                (to == interface || to == format!("{interface}:0")).then_some(())?;
                self.expect(")")?;
                PfRule::Nat { interface, from, tag }
            }
            "rdr" => {
                self.eat("pass");
                self.family()?;
                self.expect("proto")?;
                let proto = self.next().filter(|p| *p == "tcp" || *p == "udp")?.to_string();
                self.expect("from")?;
                self.expect("any")?;
                self.expect("to")?;
                let to = self.addr()?.addr();
                self.expect("port")?;
                let port = self.port()?;
                self.expect("->")?;
                let target = self.addr()?.addr();
                self.expect("port")?;
                let target_port = self.port()?;
                PfRule::Rdr { proto, to, port, target, target_port }
            }
            verb @ ("pass" | "block") => {
                let pass = verb == "pass";
                if !pass {
                    self.expect("drop")?;
                }
                let direction = if self.eat("in") {
                    Some(Direction::In)
                } else if self.eat("out") {
                    Some(Direction::Out)
                } else {
                    None
                };
                self.expect("quick")?;
                let on = if self.eat("on") { Some(self.next()?.to_string()) } else { None };
                self.family();
                let proto = if self.eat("proto") { Some(self.next()?.to_string()) } else { None };
                let (from, to, port) = if self.eat("all") {
                    (None, None, None)
                } else {
                    self.expect("from")?;
                    let from = self.hosts()?;
                    self.expect("to")?;
                    let to = self.hosts()?;
                    (from, to, if self.eat("port") { Some(self.ports()?) } else { None })
                };
                if self.eat("keep") {
                    self.expect("state")?;
                }
                PfRule::Filter(Filter { pass, direction, on, proto, from, to, port })
            }
            "match" => {
                let direction = if self.eat("in") {
                    Direction::In
                } else {
                    self.expect("out")?;
                    Direction::Out
                };
                self.expect("on")?;
                let on = self.next()?.to_string();
                self.family()?;
                let (from, to, tagged) = if self.eat("all") {
                    self.expect("tagged")?;
                    (None, None, Some(self.next()?.to_string()))
                } else {
                    self.expect("from")?;
                    let from = self.hosts()?;
                    self.expect("to")?;
                    (from, self.hosts()?, None)
                };
                self.expect("dnpipe")?;
                self.expect("(")?;
                let forward = self.port()?;
                self.expect(",")?;
                let reverse = self.port()?;
                self.expect(")")?;
                PfRule::Match(Match { direction, on, from, to, tagged, pipes: (forward, reverse) })
            }
            _ => return None,
        };
        Some((rule, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_brig_writes() {
        let text = "# brig\nnat on em0 inet from { 192.0.2.20 } to any -> (em0:0)\nrdr pass inet proto tcp from any to 198.51.100.7 port 8080 -> 192.0.2.20 port 80\nrdr inet6 proto udp from any to 2001:db8::1 port 53 -> 2001:db8::20 port 53\npass out quick on e0a_web inet proto tcp from any to any port 80 keep state\npass quick inet proto udp from 203.0.113.0/24 to { 192.0.2.20 } port 60000:61000 keep state\nblock drop quick from any to { 192.0.2.20, 2001:db8::20 }\nblock drop in quick on e0a_web all\n";
        let rules = parse(text).expect("parses");
        assert_eq!(rules.len(), 7);
        assert_eq!(
            rules[0],
            PfRule::Nat { interface: "em0".into(), from: vec!["192.0.2.20/32".parse().expect("n")], tag: None }
        );
        assert!(matches!(&rules[2], PfRule::Rdr { port: 53, .. }));
        let PfRule::Filter(o) = &rules[3] else { panic!("a filter") };
        assert_eq!((o.direction, o.on.as_deref(), o.to.is_none()), (Some(Direction::Out), Some("e0a_web"), true));
        let PfRule::Filter(f) = &rules[4] else { panic!("a filter") };
        assert_eq!((f.pass, f.direction, f.port), (true, None, Some((60000, 61000))));
        let PfRule::Filter(b) = &rules[5] else { panic!("a filter") };
        assert_eq!((b.pass, b.from.is_none(), b.to.as_ref().map(Vec::len)), (false, true, Some(2)));
        let PfRule::Filter(all) = &rules[6] else { panic!("a filter") };
        assert_eq!((all.from.is_none(), all.to.is_none(), all.direction), (true, true, Some(Direction::In)));
    }

    #[test]
    fn match_rules_give_connections_pipes() {
        let text = "nat on em0 inet from 10.0.0.5 to any tag brig_dn32769 -> (em0:0)\nmatch in on em0 inet from any to 10.0.0.5 dnpipe (32768, 32769)\nmatch out on em0 inet all tagged brig_dn32769 dnpipe (32769, 32768)\n";
        let rules = parse(text).expect("parses");
        assert!(matches!(&rules[0], PfRule::Nat { tag: Some(t), .. } if t == "brig_dn32769"));
        let PfRule::Match(m) = &rules[1] else { panic!("a match rule") };
        assert_eq!(
            (m.direction, m.on.as_str(), m.pipes, m.from.is_none()),
            (Direction::In, "em0", (32768, 32769), true)
        );
        let PfRule::Match(t) = &rules[2] else { panic!("a match rule") };
        assert_eq!((t.tagged.as_deref(), t.pipes), (Some("brig_dn32769"), (32769, 32768)));
        for bad in [
            "match on em0 inet all tagged x dnpipe (1, 2)",
            "match in on em0 inet from any to 10.0.0.5",
            "match in on em0 inet all dnpipe (1, 2)",
            "match in on em0 inet all tagged x dnpipe (1, 70000)",
        ] {
            assert_eq!(parse(bad), Err(PfSyntax { line: 1 }), "{bad}");
        }
    }

    #[test]
    fn anchor_rules_are_found_in_pfctls_listing() {
        let listing = "nat-anchor \"brig/*\" all\nrdr-anchor \"brig/*\" all\nscrub in all fragment reassemble\nanchor \"brig/*\" all\nblock drop in all\n";
        assert_eq!(anchor_rules(listing), BRIG_ANCHORS.to_vec());
    }

    #[test]
    fn anything_else_is_a_syntax_error_on_its_line() {
        for bad in [
            "pass quick from any to 192.0.2.300",
            "rdr inet proto icmp from any to self port 1 -> 192.0.2.1 port 1",
            "nat on em0 inet from any to any -> (em1)",
            "rdr inet proto tcp from any to self port 1 -> 192.0.2.1 port 1",
            "pass quick on e0a_web all from any to any",
            "block quick from any to any",
            "pass quick from { 192.0.2.1 to any",
            "anchor \"x\"",
        ] {
            assert_eq!(parse(&format!("\n{bad}\n")), Err(PfSyntax { line: 2 }), "{bad}");
        }
    }
}
