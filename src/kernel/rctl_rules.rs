//! The kernel's rctl rule grammar and resource table (kern_rctl.c,
//! kern_racct.c, rctl(8)): which
//! resources exist, which actions each allows, and how a rule string is
//! parsed. Pure, so the simulated kernel enforces it and the model can
//! check a definition before anything reaches a syscall.

use nix::errno::Errno;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    pub name: &'static str,
    /// `deny` accepted (DENIABLE, plus memoryuse and pcpu).
    pub deny: bool,
    /// `throttle` accepted (the decaying I/O rates).
    pub throttle: bool,
    /// SLOPPY: `per=process` refused.
    pub sloppy: bool,
    /// IN_MILLIONS: stored times 1,000,000.
    pub in_millions: bool,
}

const fn r(name: &'static str, deny: bool, throttle: bool, sloppy: bool, in_millions: bool) -> Resource {
    Resource { name, deny, throttle, sloppy, in_millions }
}

/// In RACCT index order, which is also the order of rctl_get_racct output.
pub const RESOURCES: &[Resource] = &[
    r("cputime", false, false, false, true),
    r("datasize", true, false, false, false),
    r("stacksize", true, false, false, false),
    r("coredumpsize", true, false, false, false),
    r("memoryuse", true, false, false, false),
    r("memorylocked", true, false, false, false),
    r("maxproc", true, false, false, false),
    r("openfiles", true, false, false, false),
    r("vmemoryuse", true, false, false, false),
    r("pseudoterminals", true, false, true, false),
    r("swapuse", true, false, true, false),
    r("nthr", true, false, false, false),
    r("msgqqueued", true, false, true, false),
    r("msgqsize", true, false, true, false),
    r("nmsgq", true, false, true, false),
    r("nsem", true, false, true, false),
    r("nsemop", true, false, false, false),
    r("nshm", true, false, true, false),
    r("shmsize", true, false, true, false),
    r("wallclock", false, false, false, true),
    r("pcpu", true, false, false, true),
    r("readbps", false, true, false, false),
    r("writebps", false, true, false, false),
    r("readiops", false, true, false, false),
    r("writeiops", false, true, false, false),
];

/// The signal actions, exactly as kern_rctl.c names them.
pub const SIGNALS: &[&str] = &[
    "sighup",
    "sigint",
    "sigquit",
    "sigill",
    "sigtrap",
    "sigabrt",
    "sigemt",
    "sigfpe",
    "sigkill",
    "sigbus",
    "sigsegv",
    "sigsys",
    "sigpipe",
    "sigalrm",
    "sigterm",
    "sigurg",
    "sigstop",
    "sigtstp",
    "sigchld",
    "sigttin",
    "sigttou",
    "sigio",
    "sigxcpu",
    "sigxfsz",
    "sigvtalrm",
    "sigprof",
    "sigwinch",
    "siginfo",
    "sigusr1",
    "sigusr2",
    "sigthr",
];

pub const SUBJECTS: &[&str] = &["process", "user", "loginclass", "jail"];

pub fn resource(name: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.name.eq_ignore_ascii_case(name))
}

pub fn is_action(name: &str) -> bool {
    ["deny", "log", "devctl", "throttle"].iter().any(|a| a.eq_ignore_ascii_case(name))
        || SIGNALS.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// A rule or filter split into its fields; empty fields are wildcards in a
/// filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleFields {
    pub subject: String,
    pub id: String,
    pub resource: String,
    pub action: String,
    pub amount: Option<u64>,
    pub per: String,
}

/// Refusal with the kernel's errno.
pub type RctlError = (Errno, String);

fn err(errno: Errno, msg: impl Into<String>) -> RctlError {
    (errno, msg.into())
}

/// rctl_string_to_rule: `subject:id:resource:action=amount/per`, every
/// field optional (for filters), names case-insensitive.
pub fn parse(text: &str) -> Result<RuleFields, RctlError> {
    if text.is_empty() {
        return Err(err(Errno::EINVAL, "empty rule"));
    }
    if text.len() > 4096 {
        return Err(err(Errno::E2BIG, "rule longer than 4096 bytes"));
    }
    let (head, amount_per) = match text.split_once('=') {
        Some((h, a)) => (h, Some(a)),
        None => (text, None),
    };
    let mut parts = head.splitn(4, ':');
    let subject = parts.next().unwrap_or("").to_ascii_lowercase();
    let id = parts.next().unwrap_or("").to_string();
    let resource = parts.next().unwrap_or("").to_ascii_lowercase();
    let action = parts.next().unwrap_or("").to_ascii_lowercase();
    if !subject.is_empty() && !SUBJECTS.contains(&subject.as_str()) {
        return Err(err(Errno::EINVAL, format!("unknown subject '{subject}'")));
    }
    if subject.is_empty() && !id.is_empty() {
        return Err(err(Errno::EINVAL, "subject id without a subject"));
    }
    if matches!(subject.as_str(), "process" | "user") && !id.is_empty() && id.parse::<u64>().is_err() {
        return Err(err(Errno::EINVAL, format!("bad {subject} id '{id}'")));
    }
    if matches!(subject.as_str(), "jail" | "loginclass") && id.len() >= 256 {
        return Err(err(Errno::ENAMETOOLONG, format!("{subject} name is too long")));
    }
    if !resource.is_empty() && self::resource(&resource).is_none() {
        return Err(err(Errno::EINVAL, format!("unknown resource '{resource}'")));
    }
    if !action.is_empty() && !is_action(&action) {
        return Err(err(Errno::EINVAL, format!("unknown action '{action}'")));
    }
    let (amount, per) = match amount_per {
        None => (None, String::new()),
        Some(ap) => {
            let (a, p) = match ap.split_once('/') {
                Some((a, p)) => (a, p.to_ascii_lowercase()),
                None => (ap, String::new()),
            };
            let amount = if a.is_empty() {
                None
            } else {
                // strtoul over the whole string: digits only.
                if !a.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err(Errno::EINVAL, format!("bad amount '{a}'")));
                }
                Some(a.parse::<u64>().map_err(|_| err(Errno::ERANGE, format!("amount '{a}' is out of range")))?)
            };
            if !p.is_empty() && !SUBJECTS.contains(&p.as_str()) {
                return Err(err(Errno::EINVAL, format!("unknown per '{p}'")));
            }
            (amount, p)
        }
    };
    Ok(RuleFields { subject, id, resource, action, amount, per })
}

/// rctl_rule_add's checks of a complete rule: every field present, the
/// action allowed for the resource, the amount in range. Returns the rule
/// with `per` defaulted to the subject.
pub fn check_add(text: &str) -> Result<RuleFields, RctlError> {
    let mut f = parse(text)?;
    if f.subject.is_empty() || f.id.is_empty() || f.resource.is_empty() || f.action.is_empty() || f.amount.is_none() {
        return Err(err(Errno::EINVAL, format!("rule '{text}' is not fully specified")));
    }
    if f.per.is_empty() {
        f.per = f.subject.clone();
    }
    let res = resource(&f.resource).ok_or_else(|| err(Errno::EINVAL, "unknown resource"))?;
    if f.action == "deny" && !res.deny {
        return Err(err(Errno::EOPNOTSUPP, format!("{} cannot be denied", res.name)));
    }
    if f.action == "throttle" && !res.throttle {
        return Err(err(Errno::EOPNOTSUPP, format!("{} cannot be throttled", res.name)));
    }
    if res.sloppy && f.per == "process" {
        return Err(err(Errno::EOPNOTSUPP, format!("{} cannot be accounted per process", res.name)));
    }
    if res.in_millions {
        let a = f.amount.unwrap_or(0);
        if a > i64::MAX as u64 / 1_000_000 {
            return Err(err(Errno::ERANGE, format!("amount {a} is out of range for {}", res.name)));
        }
    }
    if f.amount.unwrap_or(0) > i64::MAX as u64 {
        return Err(err(Errno::ERANGE, "amount is out of range"));
    }
    Ok(f)
}

/// One complete rctl rule, `subject:id:resource:action=amount[/per]`, as
/// rctl_add_rule(2) takes it and rctl_get_rules(2) gives it back. Plans
/// hold these, never loose text: each one parses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule(String);

impl Rule {
    /// A rule as the kernel or a person wrote it: every field but `/per`
    /// must be there (a filter is not a rule).
    pub fn parse(text: &str) -> Result<Rule, RctlError> {
        let f = parse(text)?;
        if [&f.subject, &f.id, &f.resource, &f.action].iter().any(|x| x.is_empty()) || f.amount.is_none() {
            return Err(err(Errno::EINVAL, format!("{text}: not a complete rule")));
        }
        Ok(Rule(text.to_string()))
    }

    /// Jail `jail`'s rule for `resource`, in the kernel's form.
    pub fn jail(jail: &str, resource: &str, action: &str, amount: u64, per_process: bool) -> Rule {
        let per = if per_process { "/process" } else { "" };
        Rule(format!("jail:{jail}:{resource}:{action}={amount}{per}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is a rule of jail `name`.
    pub fn is_of_jail(&self, name: &str) -> bool {
        self.0.strip_prefix("jail:").and_then(|r| r.strip_prefix(name)).is_some_and(|r| r.starts_with(':'))
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl RuleFields {
    /// The kernel's form of a rule: `/per` only when it differs from the
    /// subject.
    pub fn to_rule_string(&self) -> String {
        let mut s =
            format!("{}:{}:{}:{}={}", self.subject, self.id, self.resource, self.action, self.amount.unwrap_or(0));
        if !self.per.is_empty() && self.per != self.subject {
            s.push('/');
            s.push_str(&self.per);
        }
        s
    }

    /// Whether this (complete) rule matches a filter.
    pub fn matches(&self, filter: &RuleFields) -> bool {
        (filter.subject.is_empty() || filter.subject == self.subject)
            && (filter.id.is_empty() || filter.id == self.id)
            && (filter.resource.is_empty() || filter.resource == self.resource)
            && (filter.action.is_empty() || filter.action == self.action)
            && filter.amount.is_none_or(|a| Some(a) == self.amount)
            && (filter.per.is_empty() || filter.per == self.per)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errno(text: &str) -> Errno {
        check_add(text).expect_err(text).0
    }

    #[test]
    fn accepts_and_prints_rules_like_the_kernel() {
        let f = check_add("jail:web:memoryuse:deny=1073741824").expect("valid");
        assert_eq!(f.to_rule_string(), "jail:web:memoryuse:deny=1073741824");
        let f = check_add("JAIL:web:MaxProc:Deny=100/process").expect("case-insensitive");
        assert_eq!(f.to_rule_string(), "jail:web:maxproc:deny=100/process");
        assert_eq!(check_add("jail:web:readbps:throttle=1048576").map(|f| f.per), Ok("jail".into()));
    }

    #[test]
    fn refuses_with_the_kernels_errno() {
        assert_eq!(errno("jail:web:readbps:deny=10"), Errno::EOPNOTSUPP);
        assert_eq!(errno("jail:web:cputime:deny=10"), Errno::EOPNOTSUPP);
        assert_eq!(errno("jail:web:memoryuse:throttle=10"), Errno::EOPNOTSUPP);
        assert_eq!(errno("jail:web:pcpu:throttle=10"), Errno::EOPNOTSUPP);
        assert_eq!(errno("jail:web:swapuse:deny=10/process"), Errno::EOPNOTSUPP);
        assert_eq!(errno("jail:web:bogus:deny=10"), Errno::EINVAL);
        assert_eq!(errno("jail:web:memoryuse:explode=10"), Errno::EINVAL);
        assert_eq!(errno("jail:web:memoryuse:deny=1G"), Errno::EINVAL);
        assert_eq!(errno("jail:web:memoryuse:deny=-1"), Errno::EINVAL);
        assert_eq!(errno("jail:web:memoryuse:deny"), Errno::EINVAL);
        assert_eq!(errno("jail::memoryuse:deny=1"), Errno::EINVAL);
        assert_eq!(errno("planet:web:memoryuse:deny=1"), Errno::EINVAL);
        assert_eq!(errno("jail:web:pcpu:deny=99999999999999"), Errno::ERANGE);
        assert_eq!(errno(&format!("jail:{}:maxproc:deny=1", "x".repeat(256))), Errno::ENAMETOOLONG);
    }

    #[test]
    fn filters_match_on_given_fields() {
        let rule = check_add("jail:web:maxproc:deny=100").expect("valid");
        assert!(rule.matches(&parse("jail:web").expect("filter")));
        assert!(rule.matches(&parse(":").expect("filter")));
        assert!(!rule.matches(&parse("jail:db").expect("filter")));
        assert!(!rule.matches(&parse("jail:web:memoryuse").expect("filter")));
    }

    #[test]
    fn a_rule_is_complete_and_knows_its_jail() {
        let r = Rule::parse("jail:web:maxproc:deny=10").expect("complete");
        assert!(r.is_of_jail("web") && !r.is_of_jail("we") && !r.is_of_jail("webby"));
        assert_eq!(Rule::jail("web", "maxproc", "deny", 10, false), r);
        assert_eq!(Rule::jail("web", "readbps", "throttle", 1, true).as_str(), "jail:web:readbps:throttle=1/process");
        for filter in ["jail:web:", "jail:web:maxproc", "jail:web:maxproc:deny", ":web:maxproc:deny=1"] {
            assert_eq!(Rule::parse(filter).map_err(|e| e.0), Err(Errno::EINVAL), "{filter} is a filter, not a rule");
        }
    }
}
