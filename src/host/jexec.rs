//! The protocol between brig and its own jexec helper: brig runs itself
//! under the name `brig-jexec` to start a command inside a jail.
//!
//! Why a separate process: between fork(2) and exec in a multithreaded
//! program (`brig boot` starts jails from several threads) only
//! async-signal-safe calls are safe, but a command run as a user needs
//! getpwnam(3) in the jail's own databases, login_getpwclass(3),
//! initgroups(3) and setusercontext(3), which read files, allocate and
//! take locks. The helper is a fresh, single-threaded process, as jexec(8)
//! and jail(8) are, so it makes those calls safely and then execs the
//! command in its own place. Failures before that exec come back over a
//! pipe as `STAGE ERRNO`, so brig tells "could not attach" from the
//! command's own exit status.
//!
//! This part is pure and tested everywhere; the helper itself is
//! `host::freebsd::jexec`.

use super::Jid;

/// The name (argv[0]) brig runs itself under to act as the helper.
pub const ARG0: &str = "brig-jexec";

/// One command for the helper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The descriptor the helper reports a failure on.
    pub report_fd: i32,
    /// The jail to attach to; None runs on the host.
    pub jid: Option<Jid>,
    /// Run as this user, looked up inside the jail; None keeps root.
    pub user: Option<String>,
    /// Start from an empty environment (exec.clean).
    pub clean: bool,
    pub env: Vec<(String, String)>,
    pub program: String,
    pub args: Vec<String>,
}

impl Request {
    /// The helper's arguments after argv[0]:
    /// `FD JID|- USER|- 0|1 N K=V... PROGRAM ARGS...`. Every variable
    /// name is non-empty and free of `=`; a user is a name, not `-`.
    pub fn to_args(&self) -> Vec<String> {
        let mut a = vec![
            self.report_fd.to_string(),
            self.jid.map_or_else(|| "-".to_string(), |j| j.to_string()),
            self.user.clone().unwrap_or_else(|| "-".to_string()),
            if self.clean { "1" } else { "0" }.to_string(),
            self.env.len().to_string(),
        ];
        a.extend(self.env.iter().map(|(k, v)| format!("{k}={v}")));
        a.push(self.program.clone());
        a.extend(self.args.iter().cloned());
        a
    }

    /// Reads what `to_args` wrote.
    pub fn parse(args: &[String]) -> Result<Request, String> {
        let mut it = args.iter();
        let mut next = |what: &str| it.next().cloned().ok_or_else(|| format!("missing {what}"));
        let report_fd = next("report descriptor")?.parse().map_err(|_| "bad report descriptor".to_string())?;
        let jid = match next("jid")?.as_str() {
            "-" => None,
            j => Some(j.parse().map_err(|_| format!("bad jid {j:?}"))?),
        };
        let user = Some(next("user")?).filter(|u| u != "-");
        let clean = match next("clean flag")?.as_str() {
            "0" => false,
            "1" => true,
            c => return Err(format!("bad clean flag {c:?}")),
        };
        let n: usize = next("variable count")?.parse().map_err(|_| "bad variable count".to_string())?;
        let mut env = Vec::new();
        for _ in 0..n {
            let kv = next("variable")?;
            let (k, v) = kv.split_once('=').ok_or_else(|| format!("bad variable {kv:?}"))?;
            env.push((k.to_string(), v.to_string()));
        }
        let program = next("program")?;
        let args = it.cloned().collect();
        Ok(Request { report_fd, jid, user, clean, env, program, args })
    }
}

/// The step of the helper that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Attach = 1,
    Chdir = 2,
    User = 3,
    Class = 4,
    Groups = 5,
    SetGid = 6,
    Context = 7,
    Env = 8,
    Exec = 9,
}

impl Stage {
    fn from_number(n: u8) -> Option<Stage> {
        use Stage::*;
        [Attach, Chdir, User, Class, Groups, SetGid, Context, Env, Exec].into_iter().find(|s| *s as u8 == n)
    }

    /// What failed, for an error message.
    pub fn describe(self, jid: Option<Jid>, user: &str, program: &str) -> String {
        let place = jid.map_or_else(|| "on the host".to_string(), |j| format!("in jail {j}"));
        match self {
            Stage::Attach => format!("cannot attach to jail {}", jid.unwrap_or(0)),
            Stage::Chdir => "cannot change to the jail's root directory".to_string(),
            Stage::User => format!("user {user} does not exist {place}"),
            Stage::Class => format!("cannot read the login class of {user} {place}"),
            Stage::Groups | Stage::SetGid | Stage::Context => format!("cannot switch to user {user} {place}"),
            Stage::Env => "cannot set the environment".to_string(),
            Stage::Exec => format!("cannot run {program} {place}"),
        }
    }
}

/// The report of a failed step, as the helper writes it.
pub fn report(stage: Stage, errno: i32) -> String {
    format!("{} {errno}\n", stage as u8)
}

/// A report read back; None when the helper reached its exec (it wrote
/// nothing) or wrote something else.
pub fn parse_report(bytes: &[u8]) -> Option<(Stage, i32)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (stage, errno) = text.trim_end().split_once(' ')?;
    Some((Stage::from_number(stage.parse().ok()?)?, errno.parse().ok()?))
}

/// How the child that signals a jail's processes (jail_attach, then
/// kill(-1)) ended, from its exit code: 0 it signalled some, 3 there was
/// none (ESRCH), `ATTACH_FAILED + errno` jail_attach failed,
/// `KILL_FAILED + errno` kill failed. FreeBSD's errnos stay below 100
/// (ELAST), so both fit an exit code.
pub const ATTACH_FAILED: i32 = 16;
pub const KILL_FAILED: i32 = 128;

/// Why signalling a jail's processes failed, with the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillFailure {
    Attach(i32),
    Kill(i32),
}

/// Ok(true): processes were signalled; Ok(false): there were none.
pub fn kill_outcome(code: i32) -> Result<bool, KillFailure> {
    match code {
        0 => Ok(true),
        3 => Ok(false),
        c if (ATTACH_FAILED..KILL_FAILED).contains(&c) => Err(KillFailure::Attach(c - ATTACH_FAILED)),
        c if c >= KILL_FAILED => Err(KillFailure::Kill(c - KILL_FAILED)),
        c => Err(KillFailure::Kill(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_survives_the_round_trip() {
        let r = Request {
            report_fd: 7,
            jid: Some(3),
            user: Some("www".into()),
            clean: true,
            env: vec![("A".into(), "x=y".into()), ("EMPTY".into(), String::new())],
            program: "/bin/sh".into(),
            args: vec!["-c".into(), "echo -".into(), "".into()],
        };
        assert_eq!(Request::parse(&r.to_args()), Ok(r.clone()));
        let host = Request { jid: None, user: None, clean: false, env: vec![], ..r };
        assert_eq!(host.to_args()[..5], ["7", "-", "-", "0", "0"]);
        assert_eq!(Request::parse(&host.to_args()), Ok(host));
    }

    #[test]
    fn bad_requests_are_refused() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(Request::parse(&s(&["7", "x", "-", "0", "0", "/bin/sh"])).is_err());
        assert!(Request::parse(&s(&["7", "1", "-", "2", "0", "/bin/sh"])).is_err());
        assert!(Request::parse(&s(&["7", "1", "-", "0", "1", "NOEQUALS", "/bin/sh"])).is_err());
        assert!(Request::parse(&s(&["7", "1", "-", "0", "0"])).is_err(), "no program");
    }

    #[test]
    fn the_signalling_child_passes_its_errno_back() {
        assert_eq!(kill_outcome(0), Ok(true));
        assert_eq!(kill_outcome(3), Ok(false));
        assert_eq!(kill_outcome(ATTACH_FAILED + 22), Err(KillFailure::Attach(22)), "EINVAL: missing or dying");
        assert_eq!(kill_outcome(ATTACH_FAILED + 1), Err(KillFailure::Attach(1)), "EPERM");
        assert_eq!(kill_outcome(KILL_FAILED + 1), Err(KillFailure::Kill(1)));
    }

    #[test]
    fn reports_name_the_stage_and_errno() {
        assert_eq!(parse_report(report(Stage::User, 2).as_bytes()), Some((Stage::User, 2)));
        assert_eq!(parse_report(b""), None);
        assert_eq!(parse_report(b"42 1\n"), None);
        assert_eq!(Stage::Attach.describe(Some(4), "root", "/bin/sh"), "cannot attach to jail 4");
    }
}
