//! The threshold state machine (pure): consecutive results against `HealthyThresholdCount` and
//! `UnhealthyThresholdCount`, and the health (state, reason, description) AWS shows for them.

use super::probe::Outcome;
use super::table::Health;

/// Where a target stands between thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Initial,
    Healthy,
    Unhealthy,
}

/// Consecutive-result counting with AWS's thresholds.
#[derive(Debug, Clone)]
pub struct Tracker {
    pub phase: Phase,
    passes: u32,
    failures: u32,
    last_failure: Option<Outcome>,
    checks: u64,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker {
            phase: Phase::Initial,
            passes: 0,
            failures: 0,
            last_failure: None,
            checks: 0,
        }
    }
}

/// `initial` / `Elb.InitialHealthChecking`.
pub fn initial_checking() -> Health {
    Health {
        state: "initial",
        reason: Some("Elb.InitialHealthChecking"),
        description: Some("Initial health checks in progress".into()),
    }
}

/// `unhealthy` with the reason AWS gives for a failed check.
pub fn unhealthy_for(o: Outcome) -> Health {
    let (reason, description) = match o {
        Outcome::Mismatch(c) => (
            "Target.ResponseCodeMismatch",
            format!("Health checks failed with these codes: [{c}]"),
        ),
        Outcome::Timeout => ("Target.Timeout", "Request timed out".to_string()),
        Outcome::Pass | Outcome::Failed => (
            "Target.FailedHealthChecks",
            "Health checks failed".to_string(),
        ),
    };
    Health {
        state: "unhealthy",
        reason: Some(reason),
        description: Some(description),
    }
}

impl Tracker {
    /// A target that has not been checked yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Whether no check has completed yet.
    pub fn is_fresh(&self) -> bool {
        self.checks == 0
    }
    /// Counts one result and returns the health to show.
    pub fn record(
        &mut self,
        o: Outcome,
        healthy_threshold: u32,
        unhealthy_threshold: u32,
    ) -> Health {
        self.checks += 1;
        if o == Outcome::Pass {
            self.passes += 1;
            self.failures = 0;
            if self.passes >= healthy_threshold.max(1) {
                self.phase = Phase::Healthy;
            }
        } else {
            self.failures += 1;
            self.passes = 0;
            self.last_failure = Some(o);
            if self.failures >= unhealthy_threshold.max(1) {
                self.phase = Phase::Unhealthy;
            }
        }
        self.health()
    }
    /// The health for the current phase.
    pub fn health(&self) -> Health {
        match self.phase {
            Phase::Initial => initial_checking(),
            Phase::Healthy => Health {
                state: "healthy",
                reason: None,
                description: None,
            },
            Phase::Unhealthy => unhealthy_for(self.last_failure.unwrap_or(Outcome::Failed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_drive_transitions() {
        let mut t = Tracker::new();
        assert!(t.is_fresh());
        assert_eq!(t.record(Outcome::Pass, 3, 2).state, "initial");
        assert_eq!(t.record(Outcome::Pass, 3, 2).state, "initial");
        assert_eq!(t.record(Outcome::Pass, 3, 2).state, "healthy");
        // One failure below the threshold keeps it healthy; a pass resets the failure streak.
        assert_eq!(t.record(Outcome::Mismatch(503), 3, 2).state, "healthy");
        assert_eq!(t.record(Outcome::Pass, 3, 2).state, "healthy");
        assert_eq!(t.record(Outcome::Mismatch(503), 3, 2).state, "healthy");
        let h = t.record(Outcome::Mismatch(503), 3, 2);
        assert_eq!(
            (h.state, h.reason),
            ("unhealthy", Some("Target.ResponseCodeMismatch"))
        );
        assert_eq!(
            h.description.as_deref(),
            Some("Health checks failed with these codes: [503]")
        );
        // Back to healthy needs the full healthy streak.
        t.record(Outcome::Pass, 3, 2);
        assert_eq!(t.record(Outcome::Pass, 3, 2).state, "unhealthy");
        assert_eq!(t.record(Outcome::Pass, 3, 2).state, "healthy");
    }

    #[test]
    fn new_target_can_go_straight_to_unhealthy() {
        let mut t = Tracker::new();
        assert_eq!(t.record(Outcome::Timeout, 5, 2).state, "initial");
        let h = t.record(Outcome::Timeout, 5, 2);
        assert_eq!(
            (h.state, h.reason, h.description.as_deref()),
            (
                "unhealthy",
                Some("Target.Timeout"),
                Some("Request timed out")
            )
        );
        let f = unhealthy_for(Outcome::Failed);
        assert_eq!(
            (f.reason, f.description.as_deref()),
            (
                Some("Target.FailedHealthChecks"),
                Some("Health checks failed")
            )
        );
    }
}
