//! The text of rctl(8)'s system calls (rctl_add_rule(2) and friends):
//! amounts expanded as rctl(8) does before the call, and the kernel's
//! comma-separated answers parsed.

use std::collections::BTreeMap;

/// expand_number(3) as rctl(8) applies it to an amount: `1g`, `512M`,
/// `10k` (powers of 1024, optional trailing `b`). `None` when the text is
/// not such a number.
fn expand_number(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, suffix) = s.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let suffix = suffix.to_ascii_lowercase();
    let unit = suffix.strip_suffix('b').filter(|u| !u.is_empty()).unwrap_or(&suffix);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        "e" => 60,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

/// A rule or filter as the kernel takes it: rctl(8) expands a humanized
/// amount (`memoryuse:deny=1g`) before the system call, because the kernel
/// only parses plain numbers. Anything else is passed on unchanged for the
/// kernel to judge.
pub fn kernel_rule(rule: &str) -> String {
    let Some((head, tail)) = rule.split_once('=') else {
        return rule.to_string();
    };
    let (amount, per) = match tail.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (tail, None),
    };
    let amount = match expand_number(amount) {
        Some(n) => n.to_string(),
        None => amount.to_string(),
    };
    match per {
        Some(p) => format!("{head}={amount}/{p}"),
        None => format!("{head}={amount}"),
    }
}

pub fn split_rules(out: &str) -> Vec<String> {
    out.split(',').map(str::trim).filter(|r| !r.is_empty()).map(str::to_string).collect()
}

/// Parses `cputime=0,datasize=4096,...`. Amounts are int64 in the kernel;
/// a negative one (never expected) reads as 0.
pub fn parse_usage(out: &str) -> Result<BTreeMap<String, u64>, String> {
    let mut map = BTreeMap::new();
    for item in out.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (k, v) = item.split_once('=').ok_or_else(|| format!("unexpected racct item {item:?}"))?;
        let v: i64 = v.parse().map_err(|_| format!("unexpected racct amount {item:?}"))?;
        map.insert(k.to_string(), u64::try_from(v).unwrap_or(0));
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_expanded_like_rctl8() {
        assert_eq!(kernel_rule("jail:web:memoryuse:deny=1g"), "jail:web:memoryuse:deny=1073741824");
        assert_eq!(kernel_rule("jail:web:memoryuse:deny=512M"), "jail:web:memoryuse:deny=536870912");
        assert_eq!(kernel_rule("jail:web:readbps:throttle=10mb/jail"), "jail:web:readbps:throttle=10485760/jail");
        assert_eq!(kernel_rule("jail:web:maxproc:deny=100"), "jail:web:maxproc:deny=100");
        assert_eq!(kernel_rule("jail:web:pcpu:deny=50/process"), "jail:web:pcpu:deny=50/process");
        assert_eq!(kernel_rule("jail:web"), "jail:web");
        assert_eq!(kernel_rule("jail:web:maxproc:deny=lots"), "jail:web:maxproc:deny=lots");
    }

    #[test]
    fn rules_and_usage_parse() {
        assert_eq!(split_rules(""), Vec::<String>::new());
        assert_eq!(
            split_rules("jail:web:maxproc:deny=100,jail:web:memoryuse:deny=1073741824"),
            vec!["jail:web:maxproc:deny=100", "jail:web:memoryuse:deny=1073741824"]
        );
        let u = parse_usage("cputime=3,datasize=4096,maxproc=2").expect("parses");
        assert_eq!(u.get("datasize"), Some(&4096));
        assert_eq!(u.len(), 3);
        assert!(parse_usage("cputime").is_err());
    }
}
