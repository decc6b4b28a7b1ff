//! `[limits]` of a jail definition: rctl rules and the CPUs a jail may
//! run on. Checked here against the kernel's rules (`host::rctl`, from
//! kern_rctl.c), so a bad limit is refused with the file's line before
//! anything reaches rctl_add_rule(2).

use super::quoted;
use serde::Serialize;
use toml::Spanned;

use crate::kernel::rctl_rules::{self as rctl, Resource};
use crate::model::JailName;

/// One rctl rule of a jail: `jail:NAME:RESOURCE:ACTION=AMOUNT[/process]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Limit {
    pub resource: &'static str,
    pub action: String,
    pub amount: u64,
    /// Counted per process of the jail instead of for the jail as a whole.
    pub per_process: bool,
}

impl Limit {
    /// The rule rctl_add_rule(2) takes.
    pub fn rule(&self, jail: &JailName) -> rctl::Rule {
        rctl::Rule::jail(jail.as_str(), self.resource, &self.action, self.amount, self.per_process)
    }
}

/// Every limit of a jail, in resource order (the kernel's), its CPUs and
/// its bandwidth.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub rules: Vec<Limit>,
    /// CPU numbers the jail is pinned to (`cpus = "0-3,6"`), sorted.
    pub cpus: Option<Vec<u32>>,
    /// `bandwidth_in`, `bandwidth_out`: None for neither.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<Bandwidth>,
}

/// A jail's bandwidth in bit/s through two dummynet(4) pipes, one a
/// direction; 0: that direction is not limited (dummynet's `bw 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Bandwidth {
    /// What reaches the jail.
    #[serde(rename = "in")]
    pub inbound: u32,
    /// What the jail sends.
    #[serde(rename = "out")]
    pub outbound: u32,
}

/// `100M`, `1500k`, or bit/s as they are; `none` for no limit.
fn show_bits(bits: u32) -> String {
    match bits {
        0 => "none".into(),
        b if b % 1_000_000_000 == 0 => format!("{}G", b / 1_000_000_000),
        b if b % 1_000_000 == 0 => format!("{}M", b / 1_000_000),
        b if b % 1_000 == 0 => format!("{}k", b / 1_000),
        b => b.to_string(),
    }
}

impl std::fmt::Display for Bandwidth {
    /// `in 100M, out none`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "in {}, out {}", show_bits(self.inbound), show_bits(self.outbound))
    }
}

/// `100M`, `1500k`, `1G`, `64000`: bit/s, with dnctl(8)'s decimal K, M
/// and G (read_bandwidth in sbin/ipfw/dummynet.c), up to what it takes:
/// its bandwidth is an `int`, and a larger one "too large".
pub fn parse_bandwidth(text: &str) -> Result<u32, String> {
    const UNITS: &[(char, u64)] = &[('k', 1_000), ('m', 1_000_000), ('g', 1_000_000_000)];
    let too_large =
        || format!("{} is more than dummynet(4) can limit to (2147M); leave the key out for no limit", quoted(text));
    let bits = scaled(text, UNITS).map_err(|bad| match bad {
        Bad::NotANumber => format!(
            "{} is not a bandwidth; write bit/s as a whole number with an optional K, M or G suffix, such as \"100M\"",
            quoted(text)
        ),
        Bad::TooLarge => too_large(),
    })?;
    if bits == 0 {
        return Err(format!("{} limits the jail to nothing; leave the key out for no limit", quoted(text)));
    }
    u32::try_from(bits).ok().filter(|b| *b <= MAX_BANDWIDTH).ok_or_else(too_large)
}

/// The most bit/s dummynet takes (`int bw` in read_bandwidth and struct
/// dn_link).
pub const MAX_BANDWIDTH: u32 = i32::MAX as u32;

/// Why a number with a suffix does not read.
enum Bad {
    NotANumber,
    TooLarge,
}

/// A whole number with an optional one-letter suffix of `units` (in
/// lower case, with its multiplier), either case.
fn scaled(text: &str, units: &[(char, u64)]) -> Result<u64, Bad> {
    let t = text.trim();
    let last = t.chars().last().map(|c| c.to_ascii_lowercase());
    let (digits, factor) = match units.iter().find(|(u, _)| Some(*u) == last) {
        Some((_, f)) => (&t[..t.len() - 1], *f),
        None => (t, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Bad::NotANumber);
    }
    // Digits that do not fit a u64 are a number too large.
    let n: u64 = digits.parse().map_err(|_| Bad::TooLarge)?;
    n.checked_mul(factor).ok_or(Bad::TooLarge)
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.cpus.is_none() && self.bandwidth.is_none()
    }
}

/// The most CPUs a cpuset can name (CPU_MAXSIZE on amd64).
pub const MAX_CPUS: u32 = 1024;

/// A validation error at a byte offset of the definition.
type Invalid = (usize, String);

fn at<T>(v: &Spanned<T>, msg: impl Into<String>) -> Invalid {
    (v.span().start, msg.into())
}

/// `1G`, `512m`, `100`: a number with an optional K, M, G, T, P or E
/// suffix meaning powers of 1024, as rctl(8) reads amounts.
pub fn parse_amount(text: &str) -> Result<u64, String> {
    const UNITS: &[(char, u64)] =
        &[('k', 1 << 10), ('m', 1 << 20), ('g', 1 << 30), ('t', 1 << 40), ('p', 1 << 50), ('e', 1 << 60)];
    scaled(text, UNITS).map_err(|bad| match bad {
        Bad::NotANumber => format!(
            "{} is not an amount; write a whole number with an optional K, M, G or T suffix, such as \"512M\"",
            quoted(text)
        ),
        Bad::TooLarge => format!("{} is too large", quoted(text)),
    })
}

/// The actions a resource allows, for error messages.
fn allowed(res: &Resource) -> String {
    let mut a: Vec<&str> = Vec::new();
    if res.deny {
        a.push("deny");
    }
    if res.throttle {
        a.push("throttle");
    }
    a.extend(["log", "devctl", "a signal such as sigterm"]);
    a.join(", ")
}

/// What a plain amount means: `deny` where the kernel allows it,
/// `throttle` for the I/O rates, where deny is refused.
fn natural_action(res: &Resource) -> Option<&'static str> {
    if res.deny {
        Some("deny")
    } else if res.throttle {
        Some("throttle")
    } else {
        None
    }
}

fn amount_of(key: &str, v: &Spanned<toml::Value>) -> Result<u64, Invalid> {
    match v.get_ref() {
        toml::Value::Integer(i) => u64::try_from(*i).map_err(|_| at(v, format!("limits.{key} cannot be negative"))),
        toml::Value::String(s) => parse_amount(s).map_err(|e| at(v, format!("limits.{key}: {e}"))),
        _ => Err(at(v, format!("limits.{key}: expected an amount such as 100 or \"1G\""))),
    }
}

fn limit(key: &str, res: &'static Resource, v: &Spanned<toml::Value>) -> Result<Limit, Invalid> {
    let (amount, action, per_process) = match v.get_ref() {
        toml::Value::Table(t) => {
            if let Some(k) = t.keys().find(|k| !["amount", "action", "per"].contains(&k.as_str())) {
                return Err(at(v, format!("limits.{key}: unknown key {}; expected amount, action and per", quoted(k))));
            }
            let amount = match t.get("amount") {
                Some(a) => amount_of(key, &Spanned::new(v.span(), a.clone()))?,
                None => return Err(at(v, format!("limits.{key}: amount is missing"))),
            };
            let action = match t.get("action") {
                Some(toml::Value::String(a)) => a.to_ascii_lowercase(),
                Some(_) => return Err(at(v, format!("limits.{key}: action must be a string such as \"deny\""))),
                None => natural_action(res).map(str::to_string).ok_or_else(|| {
                    at(v, format!("limits.{key}: {key} has no default action; give one of {}", allowed(res)))
                })?,
            };
            let per_process = match t.get("per").map(|p| p.as_str()) {
                None | Some(Some("jail")) => false,
                Some(Some("process")) => true,
                Some(_) => return Err(at(v, format!("limits.{key}: per must be \"jail\" or \"process\""))),
            };
            (amount, action, per_process)
        }
        _ => {
            let action = natural_action(res).ok_or_else(|| {
                at(
                    v,
                    format!(
                        "limits.{key}: {key} cannot be denied or throttled; write {{ amount = ..., action = \"...\" }} with one of {}",
                        allowed(res)
                    ),
                )
            })?;
            (amount_of(key, v)?, action.to_string(), false)
        }
    };
    if !rctl::is_action(&action) {
        return Err(at(v, format!("limits.{key}: unknown action {}; {key} allows {}", quoted(&action), allowed(res))));
    }
    let l = Limit { resource: res.name, action, amount, per_process };
    // The kernel's own checks, on the rule it will be given.
    rctl::check_add(l.rule(&JailName::parse("x").map_err(|e| (0, e.to_string()))?).as_str())
        .map_err(|(_, why)| at(v, format!("limits.{key}: {why}; {key} allows {}", allowed(res))))?;
    Ok(l)
}

/// `0-3,6`: CPU numbers and ranges.
pub fn parse_cpus(text: &str) -> Result<Vec<u32>, String> {
    let bad = |why: &str| format!("cpus {}: {why}; write CPU numbers and ranges such as \"0-3,6\"", quoted(text));
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let num = |s: &str| s.parse::<u32>().ok().filter(|_| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
        let (Some(lo), Some(hi)) = (num(lo), num(hi)) else { return Err(bad("not a number")) };
        if lo > hi {
            return Err(bad("a range must go upwards"));
        }
        if hi >= MAX_CPUS {
            return Err(bad(&format!("CPU numbers go up to {}", MAX_CPUS - 1)));
        }
        out.extend(lo..=hi);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Validates `[limits]`.
pub fn validate(raw: &std::collections::BTreeMap<Spanned<String>, Spanned<toml::Value>>) -> Result<Limits, Invalid> {
    let mut limits = Limits::default();
    for (k, v) in raw {
        let key = k.get_ref().as_str();
        if key == "cpus" {
            let text = match v.get_ref() {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                _ => return Err(at(v, "cpus must be a string such as \"0-3,6\"")),
            };
            limits.cpus = Some(parse_cpus(&text).map_err(|e| at(v, e))?);
            continue;
        }
        if let Some(inbound) = match key {
            "bandwidth_in" => Some(true),
            "bandwidth_out" => Some(false),
            _ => None,
        } {
            let bits = match v.get_ref() {
                toml::Value::String(s) => parse_bandwidth(s),
                toml::Value::Integer(i) => parse_bandwidth(&i.to_string()),
                _ => Err("expected bit/s such as \"100M\"".to_string()),
            }
            .map_err(|e| at(v, format!("limits.{key}: {e}")))?;
            let b = limits.bandwidth.get_or_insert(Bandwidth { inbound: 0, outbound: 0 });
            if inbound {
                b.inbound = bits;
            } else {
                b.outbound = bits;
            }
            continue;
        }
        let res = rctl::resource(key).filter(|r| r.name == key).ok_or_else(|| {
            at(
                k,
                format!(
                    "unknown limit {}; the rctl(8) resources are {}, and cpus, bandwidth_in and bandwidth_out",
                    quoted(key),
                    resource_names()
                ),
            )
        })?;
        limits.rules.push(limit(key, res, v)?);
    }
    let order = |l: &Limit| rctl::RESOURCES.iter().position(|r| r.name == l.resource);
    limits.rules.sort_by_key(order);
    Ok(limits)
}

fn resource_names() -> String {
    rctl::RESOURCES.iter().map(|r| r.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(text: &str) -> Result<Limits, String> {
        #[derive(serde::Deserialize)]
        struct Doc {
            limits: std::collections::BTreeMap<Spanned<String>, Spanned<toml::Value>>,
        }
        let doc: Doc = toml::from_str(text).expect("toml");
        validate(&doc.limits).map_err(|(_, m)| m)
    }

    fn rules(text: &str) -> Vec<String> {
        let web = JailName::parse("web").expect("name");
        limits(text).expect("valid").rules.iter().map(|l| l.rule(&web).to_string()).collect()
    }

    #[test]
    fn amounts_take_rctl_suffixes() {
        assert_eq!(parse_amount("100"), Ok(100));
        assert_eq!(parse_amount("1G"), Ok(1 << 30));
        assert_eq!(parse_amount("512m"), Ok(512 << 20));
        assert_eq!(parse_amount("10K"), Ok(10240));
        assert_eq!(parse_amount("2T"), Ok(2 << 40));
        assert!(parse_amount("1.5G").is_err());
        assert!(parse_amount("-1").is_err());
        assert!(parse_amount("G").is_err());
        assert_eq!(parse_amount("99999999999E"), Err("'99999999999E' is too large".into()));
    }

    #[test]
    fn bandwidth_is_bits_with_dnctls_decimal_suffixes() {
        assert_eq!(parse_bandwidth("100M"), Ok(100_000_000));
        assert_eq!(parse_bandwidth("1500k"), Ok(1_500_000));
        assert_eq!(parse_bandwidth("2G"), Ok(2_000_000_000));
        assert_eq!(parse_bandwidth("2147483647"), Ok(2_147_483_647));
        assert!(parse_bandwidth("2147483648").is_err(), "dnctl's int");
        assert_eq!(parse_bandwidth("64000"), Ok(64_000));
        assert!(parse_bandwidth("3G").expect_err("past an int").contains("more than dummynet(4) can limit to (2147M)"));
        assert!(parse_bandwidth("0").expect_err("nothing").contains("leave the key out"));
        assert!(parse_bandwidth("1.5M").expect_err("not whole").contains("is not a bandwidth"));
        assert!(parse_bandwidth("99999999999999999999999").expect_err("huge").contains("more than dummynet(4)"));
        let l = limits("[limits]\nbandwidth_out = \"20M\"\n").expect("valid");
        assert_eq!(l.bandwidth, Some(Bandwidth { inbound: 0, outbound: 20_000_000 }));
        assert_eq!(l.bandwidth.expect("set").to_string(), "in none, out 20M");
        assert!(limits("[limits]\nbandwidth_in = true\n")
            .expect_err("a bool")
            .contains("limits.bandwidth_in: expected bit/s"));
    }

    #[test]
    fn golden_rules_for_each_form() {
        assert_eq!(
            rules("[limits]\nmemoryuse = \"1G\"\nmaxproc = 200\npcpu = 50\nreadbps = \"10M\"\nwritebps = \"10M\"\nreadiops = 100\nwriteiops = 100\nopenfiles = 1024\n"),
            vec![
                "jail:web:memoryuse:deny=1073741824",
                "jail:web:maxproc:deny=200",
                "jail:web:openfiles:deny=1024",
                "jail:web:pcpu:deny=50",
                "jail:web:readbps:throttle=10485760",
                "jail:web:writebps:throttle=10485760",
                "jail:web:readiops:throttle=100",
                "jail:web:writeiops:throttle=100",
            ]
        );
        assert_eq!(
            rules("[limits]\nvmemoryuse = { amount = \"2G\", action = \"log\" }\nnthr = { amount = 500, action = \"sigterm\", per = \"process\" }\ncputime = { amount = 3600, action = \"sigxcpu\" }\nswapuse = { amount = \"1G\", action = \"devctl\", per = \"jail\" }\n"),
            vec![
                "jail:web:cputime:sigxcpu=3600",
                "jail:web:vmemoryuse:log=2147483648",
                "jail:web:swapuse:devctl=1073741824",
                "jail:web:nthr:sigterm=500/process",
            ]
        );
    }

    #[test]
    fn refusals_name_the_limit_and_what_is_allowed() {
        let err = |t: &str| limits(t).expect_err(t);
        assert!(err("[limits]\nmemory = \"1G\"\n")
            .starts_with("unknown limit 'memory'; the rctl(8) resources are cputime,"));
        assert_eq!(
            err("[limits]\nreadbps = { amount = 1, action = \"deny\" }\n"),
            "limits.readbps: readbps cannot be denied; readbps allows throttle, log, devctl, a signal such as sigterm"
        );
        assert!(err("[limits]\ncputime = 10\n").starts_with("limits.cputime: cputime cannot be denied or throttled;"));
        assert_eq!(err("[limits]\nmaxproc = -1\n"), "limits.maxproc cannot be negative");
        assert!(err("[limits]\nmemoryuse = \"lots\"\n").contains("'lots' is not an amount"));
        assert!(
            err("[limits]\nswapuse = { amount = 1, per = \"process\" }\n").contains("cannot be accounted per process")
        );
        assert!(err("[limits]\nmaxproc = { amount = 1, action = \"explode\" }\n").contains("unknown action 'explode'"));
        assert!(err("[limits]\npcpu = 99999999999999\n").contains("out of range"));
        assert!(err("[limits]\nmaxproc = { amount = 1, actoin = \"deny\" }\n").contains("unknown key 'actoin'"));
    }

    #[test]
    fn cpus_are_numbers_and_ranges() {
        assert_eq!(parse_cpus("0-3,6"), Ok(vec![0, 1, 2, 3, 6]));
        assert_eq!(parse_cpus("5, 1,1"), Ok(vec![1, 5]));
        assert!(parse_cpus("3-1").is_err());
        assert!(parse_cpus("a").is_err());
        assert!(parse_cpus("0-1024").is_err());
        assert!(parse_cpus("").is_err());
        assert_eq!(limits("[limits]\ncpus = \"2-3\"\n").expect("valid").cpus, Some(vec![2, 3]));
        assert_eq!(limits("[limits]\ncpus = 1\n").expect("one CPU").cpus, Some(vec![1]));
        assert!(limits("[limits]\ncpus = -1\n").is_err());
    }
}
