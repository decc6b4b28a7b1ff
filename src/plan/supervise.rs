//! What `brig supervise` knows of one jail between its rounds (a
//! [`Watch`], kept on disk so a restarted supervisor goes on where it
//! stopped) and what it decides from it: when the jail is unhealthy,
//! whether to restart it now, later, or no more. Pure: the caller
//! observes the jail, runs the check and carries out the restart.

use serde::{Deserialize, Serialize};

use crate::model::health::{Health, Restart};

/// What a round saw of the jail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// No start record: never started, or stopped by `brig stop`.
    Stopped,
    /// Its start record is there, but the jail is gone or has no process
    /// left: it stopped on its own.
    Died,
    /// Not running, and a restart by the supervisor stopped it but could
    /// not start it again: a start is owed (until `brig stop` says
    /// otherwise).
    Owed,
    /// `started`: when its start record was written, which tells one
    /// start from another where a jid would not (jids begin again at 1
    /// after a reboot).
    Running { jid: i32, started: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Stopped,
    /// Stopped on its own, or not started again after a restart failed.
    Down,
    /// Running, within its start period and not yet healthy.
    Starting,
    Healthy,
    Unhealthy,
    /// Running, and there is no check (`restart = "always"` alone).
    Running,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Stopped => "stopped",
            Status::Down => "down",
            Status::Starting => "starting",
            Status::Healthy => "healthy",
            Status::Unhealthy => "unhealthy",
            Status::Running => "running",
        }
    }
}

/// The longest check output kept, in bytes: its last lines.
pub const OUTPUT_LIMIT: usize = 512;

/// One jail as the supervisor follows it. Unix times in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Watch {
    /// The running jail this is about and when its start record was
    /// written; either changed is a new start.
    pub jid: Option<i32>,
    pub started: u64,
    /// When that jid was first seen: the start period counts from here.
    pub since: u64,
    pub status: Status,
    /// When `status` last changed: a restart's wait counts from here.
    pub changed: u64,
    /// Failed checks in a row.
    pub failures: u32,
    /// The last check's output (its end, at most `OUTPUT_LIMIT` bytes).
    pub output: String,
    /// The restarts within the restart window.
    pub restarts: Vec<u64>,
    /// Every restart since the jail was first supervised.
    pub restarts_total: u64,
    /// The last round saw `Seen::Owed`.
    #[serde(skip)]
    pub owed: bool,
    /// `max_restarts` was reached within the window; said once.
    pub gave_up: bool,
}

/// What to do after a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Nothing,
    /// Restart the jail now, for this reason.
    Restart(String),
    /// Too many restarts within the window: none before it has passed.
    GiveUp(String),
}

impl Watch {
    fn set(&mut self, status: Status, now: u64) {
        if self.status != status {
            self.status = status;
            self.changed = now;
        }
    }

    /// Takes in what the round saw. A new start counts afresh.
    pub fn saw(&mut self, health: &Health, seen: Seen, now: u64) {
        self.owed = seen == Seen::Owed;
        match seen {
            Seen::Stopped => {
                self.jid = None;
                self.failures = 0;
                self.set(Status::Stopped, now);
            }
            Seen::Died | Seen::Owed => {
                self.jid = None;
                self.failures = 0;
                self.set(Status::Down, now);
            }
            Seen::Running { jid, started } if self.jid != Some(jid) || self.started != started => {
                self.jid = Some(jid);
                self.started = started;
                self.since = now;
                self.failures = 0;
                self.set(if health.check.is_some() { Status::Starting } else { Status::Running }, now);
            }
            Seen::Running { .. } => {}
        }
    }

    /// Takes in a check's outcome: a pass makes the jail healthy; a
    /// failure counts, except before the first pass within the start
    /// period (Docker's start_period); `retries` of them in a row make it
    /// unhealthy.
    pub fn checked(&mut self, health: &Health, passed: bool, output: &str, now: u64) {
        self.output = tail(output);
        if passed {
            self.failures = 0;
            self.set(Status::Healthy, now);
            return;
        }
        let starting = self.status == Status::Starting && now < self.since + u64::from(health.start_period);
        if starting {
            return;
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures >= health.retries {
            self.set(Status::Unhealthy, now);
        }
    }

    /// Whether to restart now. A restart waits `Health::delay` after the
    /// jail turned bad; past `max_restarts` within the window there are
    /// none until the oldest of them leaves it.
    pub fn decide(&mut self, health: &Health, now: u64) -> Decision {
        let reason = match (self.status, health.restart) {
            (Status::Unhealthy, Restart::OnFailure | Restart::Always) => {
                let out = self.output.lines().last().unwrap_or_default();
                let out = if out.is_empty() { String::new() } else { format!(": {out}") };
                format!("its check failed {} times in a row{out}", self.failures)
            }
            (Status::Down, Restart::OnFailure | Restart::Always) if self.owed => {
                "its last restart did not start it".to_string()
            }
            (Status::Down, Restart::Always) => "it stopped on its own".to_string(),
            _ => return Decision::Nothing,
        };
        let window = u64::from(health.restart_window);
        self.restarts.retain(|t| now < t.saturating_add(window));
        let recent = u32::try_from(self.restarts.len()).unwrap_or(u32::MAX);
        if recent >= health.max_restarts {
            if self.gave_up {
                return Decision::Nothing;
            }
            self.gave_up = true;
            return Decision::GiveUp(format!(
                "{reason}, and it was restarted {recent} times within {}s; none until that window has passed",
                health.restart_window
            ));
        }
        self.gave_up = false;
        if now < self.changed.saturating_add(u64::from(health.delay(recent))) {
            return Decision::Nothing;
        }
        Decision::Restart(reason)
    }

    /// Records a restart the supervisor made (whether or not it started
    /// the jail again: the caller records a start owed).
    pub fn restarted(&mut self, now: u64) {
        self.restarts.push(now);
        self.restarts_total = self.restarts_total.saturating_add(1);
        self.failures = 0;
        // The next wait counts from this restart.
        self.changed = now;
    }
}

/// The end of `output`, at most `OUTPUT_LIMIT` bytes, cut at a character.
fn tail(output: &str) -> String {
    let t = output.trim_end();
    let mut from = t.len().saturating_sub(OUTPUT_LIMIT);
    while !t.is_char_boundary(from) {
        from += 1;
    }
    t[from..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::health::Check;

    fn health(restart: Restart) -> Health {
        Health {
            check: Some(Check::Exec { command: "true".into() }),
            interval: 10,
            timeout: 5,
            retries: 3,
            start_period: 30,
            restart,
            restart_delay: 10,
            max_restarts: 2,
            restart_window: 600,
        }
    }

    #[test]
    fn failures_in_the_start_period_do_not_count_until_the_first_pass() {
        let h = health(Restart::OnFailure);
        let mut w = Watch::default();
        w.saw(&h, Seen::Running { jid: 4, started: 90 }, 100);
        assert_eq!((w.status, w.since), (Status::Starting, 100));
        for t in [105, 115, 125] {
            w.checked(&h, false, "refused", t);
        }
        assert_eq!((w.status, w.failures), (Status::Starting, 0));
        w.checked(&h, true, "", 127);
        w.checked(&h, false, "x", 128);
        w.checked(&h, false, "x", 129);
        assert_eq!((w.status, w.failures), (Status::Healthy, 2));
        w.checked(&h, false, "connection refused\n", 130);
        assert_eq!((w.status, w.failures, w.changed), (Status::Unhealthy, 3, 130));
        assert_eq!(w.output, "connection refused");
    }

    #[test]
    fn an_unhealthy_jail_is_restarted_after_the_delay_and_given_up_on_past_the_limit() {
        let h = health(Restart::OnFailure);
        let mut w = Watch { jid: Some(4), status: Status::Unhealthy, changed: 200, failures: 3, ..Watch::default() };
        assert_eq!(w.decide(&h, 205), Decision::Nothing);
        assert!(matches!(w.decide(&h, 210), Decision::Restart(r) if r == "its check failed 3 times in a row"));
        w.restarted(210);
        w.saw(&h, Seen::Running { jid: 5, started: 210 }, 211);
        assert_eq!(w.status, Status::Starting);
        w.set(Status::Unhealthy, 300);
        // The second restart waits twice as long.
        assert_eq!(w.decide(&h, 315), Decision::Nothing);
        assert!(matches!(w.decide(&h, 320), Decision::Restart(_)));
        w.restarted(320);
        w.set(Status::Unhealthy, 400);
        assert!(matches!(w.decide(&h, 420), Decision::GiveUp(r) if r.contains("restarted 2 times within 600s")));
        assert_eq!(w.decide(&h, 421), Decision::Nothing);
        assert_eq!(w.decide(&h, 809), Decision::Nothing);
        // Once the first restart has left the window, one more is allowed.
        assert!(matches!(w.decide(&h, 811), Decision::Restart(_)));
        assert_eq!(w.restarts_total, 2);
    }

    #[test]
    fn a_jail_stopped_by_hand_is_left_alone_and_one_that_died_is_restarted_only_always() {
        let mut w = Watch::default();
        w.saw(&health(Restart::Always), Seen::Stopped, 10);
        assert_eq!(w.decide(&health(Restart::Always), 1000), Decision::Nothing);
        w.saw(&health(Restart::Always), Seen::Died, 20);
        assert_eq!(w.decide(&health(Restart::OnFailure), 1000), Decision::Nothing);
        assert!(
            matches!(w.decide(&health(Restart::Always), 1000), Decision::Restart(r) if r == "it stopped on its own")
        );
        // A restart that could not start it is owed, under either policy.
        w.restarted(1000);
        w.saw(&health(Restart::OnFailure), Seen::Owed, 1001);
        assert_eq!(w.status, Status::Down);
        let owed = w.decide(&health(Restart::OnFailure), 1020);
        assert!(matches!(owed, Decision::Restart(r) if r.contains("did not start")));
        // `brig stop` forgave it: stopped, left alone.
        w.saw(&health(Restart::OnFailure), Seen::Stopped, 1030);
        assert_eq!(w.decide(&health(Restart::OnFailure), 2000), Decision::Nothing);
    }

    #[test]
    fn output_is_kept_to_its_last_bytes_at_a_character() {
        let long = format!("{}é", "a".repeat(OUTPUT_LIMIT));
        assert!(tail(&long).len() <= OUTPUT_LIMIT && tail(&long).ends_with('é'));
    }
}
