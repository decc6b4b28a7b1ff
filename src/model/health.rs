//! `[health]`: how to tell that a running jail still does its job, and
//! what `brig supervise` does when it does not. Pure: the check is turned
//! into the command run inside the jail, nothing is run here.

use std::net::IpAddr;

use serde::Serialize;
use toml::Spanned;

use super::quoted;
use super::raw::RawHealth;

/// What is run inside the jail; it passes when it exits 0 in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Check {
    /// `exec:COMMAND`, run with /bin/sh -c.
    Exec { command: String },
    /// `tcp:PORT` or `tcp:ADDRESS:PORT`: a connection is accepted.
    Tcp { addr: IpAddr, port: u16 },
    /// `http://...` or `https://...`: the URL answers without an error
    /// status.
    Http { url: String },
}

/// The programs of FreeBSD's base system the tcp and http checks run,
/// from inside the jail: the jail's own network stack and addresses
/// answer, as a client of the jail would see them.
pub const NC: &str = "/usr/bin/nc";
pub const FETCH: &str = "/usr/bin/fetch";

impl Check {
    /// The program and arguments that carry the check out in at most
    /// `timeout` seconds.
    pub fn argv(&self, timeout: u32) -> (String, Vec<String>) {
        let secs = timeout.to_string();
        match self {
            Check::Exec { command } => ("/bin/sh".into(), vec!["-c".into(), command.clone()]),
            // nc(1): -z only connects, -w bounds the connect.
            Check::Tcp { addr, port } => {
                (NC.into(), vec!["-z".into(), "-w".into(), secs, addr.to_string(), port.to_string()])
            }
            // fetch(1) exits 1 on an HTTP error status; -T bounds the
            // transfer.
            Check::Http { url } => {
                (FETCH.into(), vec!["-q".into(), "-o".into(), "/dev/null".into(), "-T".into(), secs, url.clone()])
            }
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Check::Exec { command } => write!(f, "exec:{command}"),
            Check::Tcp { addr: IpAddr::V6(a), port } => write!(f, "tcp:[{a}]:{port}"),
            Check::Tcp { addr, port } => write!(f, "tcp:{addr}:{port}"),
            Check::Http { url } => f.write_str(url),
        }
    }
}

/// When `brig supervise` restarts the jail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// Never: the check is reported, nothing more.
    #[default]
    No,
    /// When the check has failed `retries` times in a row.
    OnFailure,
    /// That, and when the jail stopped on its own: brig started it, no
    /// `brig stop` stopped it, and it is gone or has no process left.
    Always,
}

impl Restart {
    pub fn as_str(self) -> &'static str {
        match self {
            Restart::No => "no",
            Restart::OnFailure => "on-failure",
            Restart::Always => "always",
        }
    }
}

/// `[health]`, checked. Times in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// None only with `restart = "always"`, which watches the jail's
    /// processes without a check.
    pub check: Option<Check>,
    pub interval: u32,
    pub timeout: u32,
    /// Failures in a row that make the jail unhealthy.
    pub retries: u32,
    /// After a start, failures do not count for this long.
    pub start_period: u32,
    pub restart: Restart,
    /// The wait before the first restart, doubled for each restart
    /// since within `restart_window`, at most `MAX_DELAY`.
    pub restart_delay: u32,
    /// More restarts than this within `restart_window` and the supervisor
    /// gives up until the window has passed.
    pub max_restarts: u32,
    pub restart_window: u32,
}

pub const DEFAULT_INTERVAL: u32 = 30;
pub const DEFAULT_TIMEOUT: u32 = 5;
pub const DEFAULT_RETRIES: u32 = 3;
pub const DEFAULT_RESTART_DELAY: u32 = 10;
pub const DEFAULT_MAX_RESTARTS: u32 = 5;
pub const DEFAULT_RESTART_WINDOW: u32 = 3600;
/// The longest wait between restarts, however many came before.
pub const MAX_DELAY: u32 = 600;
/// The longest any of the durations may be: a day.
const MAX_SECONDS: u32 = 86_400;

impl Health {
    /// The wait before a restart when `recent` restarts happened within
    /// the window.
    pub fn delay(&self, recent: u32) -> u32 {
        let doubled = u64::from(self.restart_delay) << recent.min(16);
        u32::try_from(doubled.min(u64::from(MAX_DELAY.max(self.restart_delay)))).unwrap_or(MAX_DELAY)
    }
}

type Invalid = (usize, String);

/// Parses `exec:`, `tcp:` and `http(s)://` checks.
pub fn parse_check(text: &str) -> Result<Check, String> {
    if let Some(c) = text.strip_prefix("exec:") {
        if c.trim().is_empty() {
            return Err("exec: needs a command, such as \"exec:/usr/local/bin/check\"".into());
        }
        return Ok(Check::Exec { command: c.to_string() });
    }
    if let Some(t) = text.strip_prefix("tcp:") {
        return tcp(t).ok_or_else(|| {
            format!(
                "{} is not a port: write tcp:PORT (1-65535) or tcp:ADDRESS:PORT, such as \"tcp:80\" or \"tcp:[::1]:80\"",
                quoted(text)
            )
        });
    }
    if text.starts_with("http://") || text.starts_with("https://") {
        let plain = text.len() <= 2048 && text.bytes().all(|b| b.is_ascii_graphic() && !b"\"'\\`<>".contains(&b));
        let host = text.split("://").nth(1).unwrap_or_default();
        if !plain || host.is_empty() || host.starts_with('/') {
            return Err(format!(
                "{} is not a URL fetch(1) can check: write it without spaces or quotes, such as \"http://127.0.0.1/healthz\"",
                quoted(text)
            ));
        }
        return Ok(Check::Http { url: text.to_string() });
    }
    Err(format!("check {} is not one of exec:COMMAND, tcp:PORT, tcp:ADDRESS:PORT or an http:// URL", quoted(text)))
}

/// `PORT`, `ADDRESS:PORT` or `[IPV6]:PORT`; the address defaults to
/// 127.0.0.1, which inside a jail without its own stack is the jail's
/// first address (prison_local_ip4).
fn tcp(text: &str) -> Option<Check> {
    let (addr, port) = match text.rsplit_once(':') {
        None => (IpAddr::from([127, 0, 0, 1]), text),
        Some((a, p)) => {
            let a = a.strip_prefix('[').and_then(|a| a.strip_suffix(']')).unwrap_or(a);
            (a.parse().ok()?, p)
        }
    };
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    Some(Check::Tcp { addr, port })
}

/// A duration as whole seconds or a string with s, m or h, within 1
/// second (0 when `zero` allows it) and a day.
fn seconds(v: &Spanned<toml::Value>, key: &str, zero: bool) -> Result<u32, Invalid> {
    let least = u32::from(!zero);
    let bad = || {
        (
            v.span().start,
            format!("health.{key} must be {least} to {MAX_SECONDS} seconds, written 30 or \"30s\", \"5m\" or \"1h\""),
        )
    };
    let n: u64 = match v.get_ref() {
        toml::Value::Integer(i) => u64::try_from(*i).map_err(|_| bad())?,
        toml::Value::String(s) => {
            let t = s.trim();
            let (digits, unit) = match t.char_indices().last() {
                Some((i, 's')) => (&t[..i], 1),
                Some((i, 'm')) => (&t[..i], 60),
                Some((i, 'h')) => (&t[..i], 3600),
                _ => return Err(bad()),
            };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            digits.parse::<u64>().map_err(|_| bad())?.checked_mul(unit).ok_or_else(bad)?
        }
        _ => return Err(bad()),
    };
    u32::try_from(n).ok().filter(|n| (least..=MAX_SECONDS).contains(n)).ok_or_else(bad)
}

fn count(v: &Spanned<i64>, key: &str, least: u32, most: u32) -> Result<u32, Invalid> {
    u32::try_from(*v.get_ref())
        .ok()
        .filter(|n| (least..=most).contains(n))
        .ok_or_else(|| (v.span().start, format!("health.{key} must be between {least} and {most}")))
}

/// Validates `[health]`.
pub fn validate(raw: Option<&RawHealth>) -> Result<Option<Health>, Invalid> {
    let Some(raw) = raw else { return Ok(None) };
    let dur = |v: &Option<Spanned<toml::Value>>, key: &str, zero: bool, default: u32| match v {
        Some(v) => seconds(v, key, zero),
        None => Ok(default),
    };
    let restart = match &raw.restart {
        None => Restart::No,
        Some(r) => match r.get_ref().as_str() {
            "no" => Restart::No,
            "on-failure" => Restart::OnFailure,
            "always" => Restart::Always,
            other => {
                return Err((
                    r.span().start,
                    format!("health.restart {} is not one of \"no\", \"on-failure\", \"always\"", quoted(other)),
                ))
            }
        },
    };
    let check = match &raw.check {
        Some(c) => Some(parse_check(c.get_ref()).map_err(|why| (c.span().start, why))?),
        None if restart == Restart::Always => None,
        None => {
            // At the first key of the table, when it has one.
            let spans = [&raw.interval, &raw.timeout, &raw.start_period, &raw.restart_delay, &raw.restart_window];
            let first = spans.iter().filter_map(|v| v.as_ref().map(|v| v.span().start));
            let at = first
                .chain(raw.restart.iter().map(|r| r.span().start))
                .chain(raw.retries.iter().chain(&raw.max_restarts).map(|r| r.span().start))
                .min()
                .unwrap_or(0);
            return Err((
                at,
                "[health] needs check = \"exec:COMMAND\", \"tcp:PORT\" or an http:// URL (only restart = \"always\" goes without one)".into(),
            ));
        }
    };
    let interval = dur(&raw.interval, "interval", false, DEFAULT_INTERVAL)?;
    let health = Health {
        check,
        interval,
        // A check never runs past the next one.
        timeout: dur(&raw.timeout, "timeout", false, DEFAULT_TIMEOUT.min(interval))?,
        retries: raw.retries.as_ref().map_or(Ok(DEFAULT_RETRIES), |r| count(r, "retries", 1, 100))?,
        start_period: dur(&raw.start_period, "start_period", true, 0)?,
        restart,
        restart_delay: dur(&raw.restart_delay, "restart_delay", true, DEFAULT_RESTART_DELAY)?,
        max_restarts: raw
            .max_restarts
            .as_ref()
            .map_or(Ok(DEFAULT_MAX_RESTARTS), |r| count(r, "max_restarts", 1, 1000))?,
        restart_window: dur(&raw.restart_window, "restart_window", false, DEFAULT_RESTART_WINDOW)?,
    };
    if health.timeout > health.interval {
        let at = raw.timeout.as_ref().map_or(0, |t| t.span().start);
        return Err((
            at,
            format!(
                "health.timeout ({}s) is longer than health.interval ({}s); make it shorter",
                health.timeout, health.interval
            ),
        ));
    }
    Ok(Some(health))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_parse_into_the_commands_run_inside_the_jail() {
        let argv = |t: &str| parse_check(t).map(|c| c.argv(5));
        assert_eq!(argv("exec:pg_isready -q"), Ok(("/bin/sh".into(), vec!["-c".into(), "pg_isready -q".into()])));
        let nc = |a: &str, p: &str| Ok((NC.to_string(), ["-z", "-w", "5", a, p].map(String::from).to_vec()));
        assert_eq!(argv("tcp:80"), nc("127.0.0.1", "80"));
        assert_eq!(argv("tcp:10.0.0.5:5432"), nc("10.0.0.5", "5432"));
        assert_eq!(argv("tcp:[::1]:80"), nc("::1", "80"));
        let url = "http://127.0.0.1:8080/healthz?deep=1";
        let fetch = ["-q", "-o", "/dev/null", "-T", "5", url].map(String::from).to_vec();
        assert_eq!(argv(url), Ok((FETCH.to_string(), fetch)));
        for bad in ["tcp:0", "tcp:65536", "tcp:web:80", "tcp:", "exec: ", "http://", "http://a b", "ftp://x", "ping"] {
            assert!(parse_check(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_check("tcp:[::1]:80").map(|c| c.to_string()), Ok("tcp:[::1]:80".into()));
    }

    #[test]
    fn the_wait_doubles_with_each_recent_restart_up_to_the_cap() {
        let h = Health {
            check: None,
            interval: 30,
            timeout: 5,
            retries: 3,
            start_period: 0,
            restart: Restart::Always,
            restart_delay: 10,
            max_restarts: 5,
            restart_window: 3600,
        };
        assert_eq!([0, 1, 2, 5, 6, 40].map(|n| h.delay(n)), [10, 20, 40, 320, 600, 600]);
        assert_eq!(Health { restart_delay: 0, ..h.clone() }.delay(3), 0);
        assert_eq!(Health { restart_delay: 900, ..h }.delay(2), 900);
    }
}
