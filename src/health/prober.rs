//! The prober: one tokio task that keeps the health table current. It wakes on every published
//! generation and on a timer, reads the published state, and checks every registered target of
//! every target group that a listener or rule forwards to and whose health checks are enabled.
//!
//! A target is `initial` until it reaches a threshold ([`super::thresholds`]). At most one check
//! per target is in flight and at most [`MAX_CONCURRENT_CHECKS`] run at once. State of targets or
//! groups that disappear, stop being used or turn health checks off is dropped. Draining targets
//! are not checked (they are no longer in the target group's `targets`). A target that turns
//! healthy may enter slow start ([`start_slow_start`]).
//!
//! The prober reads what it is given ([`Inputs`]) and writes only the health table; it never
//! runs API code.

use super::probe::{check_spec, run_check, CheckSpec, Outcome};
use super::table::{HealthTable, TargetKey};
use super::thresholds::{initial_checking, Phase, Tracker};
use crate::state::{TargetGroupRec, World};
use crate::writer::Published;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;

/// Checks running at once, across all targets.
pub const MAX_CONCURRENT_CHECKS: usize = 64;

/// How long the prober waits for the data plane to apply a generation before it reads where
/// alb targets are served (the same bound API writes wait).
const APPLIED_WAIT: Duration = Duration::from_secs(5);

/// Where the listener of load balancer `lb_arn` on `port` is served, if it is (alb targets).
pub type AlbListenerAddr = Arc<dyn Fn(&str, u16) -> Option<SocketAddr> + Send + Sync>;

/// What the prober reads and writes.
pub struct Inputs {
    /// The published state; the prober stops when it is dropped.
    pub published: Weak<Published>,
    /// Where results go.
    pub health: Arc<HealthTable>,
    /// `--health-check-time-scale`.
    pub time_scale: f64,
    /// The last generation the data plane applied (where alb targets are served follows it).
    pub applied: watch::Receiver<u64>,
    pub alb_listener_addr: AlbListenerAddr,
}

/// Starts the health prober; it stops when the published state is dropped.
pub fn spawn(inputs: Inputs) -> tokio::task::JoinHandle<()> {
    let Some(published) = inputs.published.upgrade() else {
        return tokio::spawn(async {});
    };
    let generation = published.generation.subscribe();
    drop(published);
    tokio::spawn(run(inputs, generation))
}

/// Every target that should be checked now, with its check.
fn desired(
    world: &World,
    time_scale: f64,
    alb_addr: &dyn Fn(&str, u16) -> Option<SocketAddr>,
) -> HashMap<TargetKey, CheckSpec> {
    let mut out = HashMap::new();
    for scope in world.scopes.values() {
        for rec in scope.target_groups.values() {
            let tg = &rec.tg;
            if !tg.health_check_enabled.unwrap_or(true) || rec.targets.is_empty() {
                continue;
            }
            let arn = tg.target_group_arn.clone().unwrap_or_default();
            if crate::elbv2::lookup::lbs_using_tg(scope, &arn).is_empty() {
                continue;
            }
            add_targets(&mut out, rec, &arn, time_scale, alb_addr);
        }
    }
    out
}

/// The checks of one target group's registered targets.
fn add_targets(
    out: &mut HashMap<TargetKey, CheckSpec>,
    rec: &TargetGroupRec,
    arn: &str,
    time_scale: f64,
    alb_addr: &dyn Fn(&str, u16) -> Option<SocketAddr>,
) {
    let tg = &rec.tg;
    let slow_start_s = rec
        .attributes
        .get("slow_start.duration_seconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for t in &rec.targets {
        let Some(mut spec) = check_spec(tg, t, time_scale, slow_start_s) else {
            continue;
        };
        // An alb target is checked where that load balancer's listener is served.
        if tg.target_type.as_deref() == Some("alb") {
            if let Some(addr) = u16::try_from(spec.addr.port())
                .ok()
                .and_then(|p| alb_addr(&t.id, p))
            {
                spec.addr = addr;
            }
        }
        let key = TargetKey {
            tg_arn: arn.to_string(),
            id: t.id.clone(),
            port: t.port,
        };
        out.insert(key, spec);
    }
}

struct Probe {
    spec: CheckSpec,
    tracker: Tracker,
    next_due: Instant,
    in_flight: bool,
    /// Changes whenever the spec does, so results of an older spec are ignored.
    token: u64,
    /// When the target entered slow start (Unix ms), if it did.
    slow_since_ms: Option<i64>,
}

struct Done {
    key: TargetKey,
    token: u64,
    outcome: Outcome,
}

fn reconcile(
    probes: &mut HashMap<TargetKey, Probe>,
    want: HashMap<TargetKey, CheckSpec>,
    health: &HealthTable,
    token: &mut u64,
) {
    probes.retain(|k, _| {
        let keep = want.contains_key(k);
        if !keep {
            health.remove(k);
        }
        keep
    });
    let now = Instant::now();
    for (k, spec) in want {
        health.remove_stale(&k, spec.epoch);
        match probes.get_mut(&k) {
            Some(p) if p.spec == spec => {}
            Some(p) => {
                *token += 1;
                p.token = *token;
                if p.spec.epoch != spec.epoch {
                    p.tracker = Tracker::new();
                }
                p.spec = spec;
                p.next_due = now;
            }
            None => {
                *token += 1;
                probes.insert(
                    k,
                    Probe {
                        spec,
                        tracker: Tracker::new(),
                        next_due: now,
                        in_flight: false,
                        token: *token,
                        slow_since_ms: None,
                    },
                );
            }
        }
    }
}

/// AWS rule: a target that turns healthy enters slow start (when the group has a window) only
/// if another target of the group is healthy and not itself in slow start; it leaves slow start
/// when the window ends or it stops being healthy.
fn start_slow_start(probes: &mut HashMap<TargetKey, Probe>, key: &TargetKey, health: &HealthTable) {
    let Some(window) = probes.get(key).map(|p| p.spec.slow_start) else {
        return;
    };
    if window.is_zero() {
        return;
    }
    let now = api_models::Timestamp::now().millis();
    let window_ms = window.as_millis() as i64;
    let warm_peer = probes.iter().any(|(k, p)| {
        k != key
            && k.tg_arn == key.tg_arn
            && p.tracker.phase == Phase::Healthy
            && p.slow_since_ms.is_none_or(|s| now - s >= window_ms)
    });
    if warm_peer {
        if let Some(p) = probes.get_mut(key) {
            p.slow_since_ms = Some(now);
        }
        health.enter_slow_start(key, now);
    }
}

/// The prober's running state.
struct Prober {
    inputs: Inputs,
    probes: HashMap<TargetKey, Probe>,
    token: u64,
    tx: mpsc::UnboundedSender<Done>,
    permits: Arc<Semaphore>,
}

impl Prober {
    /// Re-derives the checks from generation `g`; false when the published state is gone.
    async fn refresh(&mut self, g: u64) -> bool {
        // Where alb targets are served is known once the data plane applied this generation.
        let _ = tokio::time::timeout(APPLIED_WAIT, self.inputs.applied.wait_for(|a| *a >= g)).await;
        let Some(published) = self.inputs.published.upgrade() else {
            return false;
        };
        let world = published.world.load_full();
        drop(published);
        let want = desired(
            &world,
            self.inputs.time_scale,
            &*self.inputs.alb_listener_addr,
        );
        reconcile(&mut self.probes, want, &self.inputs.health, &mut self.token);
        self.inputs.health.prune();
        true
    }

    /// Starts every check that is due; returns when the next one is (at most a second away).
    fn launch_due(&mut self) -> Instant {
        let now = Instant::now();
        for (k, p) in self.probes.iter_mut() {
            if p.in_flight || p.next_due > now {
                continue;
            }
            p.in_flight = true;
            if p.tracker.is_fresh() {
                self.inputs
                    .health
                    .set_for(k.clone(), p.spec.epoch, initial_checking());
            }
            let (spec, key, token) = (p.spec.clone(), k.clone(), p.token);
            let (tx, permits) = (self.tx.clone(), self.permits.clone());
            tokio::spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else {
                    return;
                };
                let outcome = run_check(&spec).await;
                let _ = tx.send(Done {
                    key,
                    token,
                    outcome,
                });
            });
        }
        let idle = now + Duration::from_secs(1);
        self.probes
            .values()
            .filter(|p| !p.in_flight)
            .map(|p| p.next_due)
            .min()
            .unwrap_or(idle)
            .min(idle)
    }

    /// Records one finished check (ignored when its spec changed meanwhile).
    fn record(&mut self, done: Done) {
        let health = &self.inputs.health;
        let became_healthy = match self.probes.get_mut(&done.key) {
            Some(p) if p.token == done.token => {
                p.in_flight = false;
                let was = p.tracker.phase;
                let h = p
                    .tracker
                    .record(done.outcome, p.spec.healthy, p.spec.unhealthy);
                health.set_for(done.key.clone(), p.spec.epoch, h);
                p.next_due = Instant::now() + p.spec.interval;
                if p.tracker.phase != Phase::Healthy {
                    p.slow_since_ms = None;
                }
                was != Phase::Healthy && p.tracker.phase == Phase::Healthy
            }
            Some(p) => {
                p.in_flight = false;
                p.next_due = Instant::now();
                false
            }
            None => false,
        };
        if became_healthy {
            start_slow_start(&mut self.probes, &done.key, health);
        }
    }
}

async fn run(inputs: Inputs, mut generation: watch::Receiver<u64>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Done>();
    let mut prober = Prober {
        inputs,
        probes: HashMap::new(),
        token: 0,
        tx,
        permits: Arc::new(Semaphore::new(MAX_CONCURRENT_CHECKS)),
    };
    let mut dirty = true;
    loop {
        if dirty {
            let g = *generation.borrow();
            if !prober.refresh(g).await {
                return;
            }
            dirty = false;
        }
        let wake = prober.launch_due();
        tokio::select! {
            changed = generation.changed() => {
                if changed.is_err() {
                    return;
                }
                dirty = true;
            }
            Some(done) = rx.recv() => prober.record(done),
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}
