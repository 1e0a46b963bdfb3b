//! The health table: each target's last known health, kept in memory only (never in DuckDB).
//! Written by the prober; read by `DescribeTargetHealth` ([`HealthTable::get_for`]) and, through
//! each target's [`TargetCell`], by the data planes without a lock.

use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

/// Identifies a target within a target group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetKey {
    pub tg_arn: String,
    pub id: String,
    pub port: i32,
}

/// The health of one target, in AWS's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub state: &'static str,
    pub reason: Option<&'static str>,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
struct Entry {
    health: Health,
    /// The registration (`TargetRec::registered_ms`) this health belongs to; None = any.
    epoch: Option<i64>,
}

/// `TargetCell::healthy_epoch` when the target is not healthy.
const NOT_HEALTHY: i64 = i64::MIN;
/// `TargetCell::healthy_epoch` for health recorded without a registration (any counts).
const ANY_EPOCH: i64 = i64::MIN + 1;
/// `TargetCell::slow_since_ms` when the target is not in slow start.
/// `TargetCell::slow_since_ms` when the target is not in slow start.
pub const NOT_SLOW: i64 = i64::MIN;

/// One target's health as the data plane reads it: atomics the prober updates in place, so a
/// request decides eligibility without a lock or an allocation. Routing snapshots hold the
/// cell of each target they route to; it is the same truth `DescribeTargetHealth` reads.
#[derive(Debug)]
pub struct TargetCell {
    /// The registration the target is healthy for, [`ANY_EPOCH`], or [`NOT_HEALTHY`].
    healthy_epoch: AtomicI64,
    /// When the target entered slow start (Unix ms), or [`NOT_SLOW`].
    slow_since_ms: AtomicI64,
    /// Requests (or streams) in progress to the target, across routing rebuilds.
    in_flight: AtomicUsize,
}

impl Default for TargetCell {
    fn default() -> Self {
        TargetCell {
            healthy_epoch: AtomicI64::new(NOT_HEALTHY),
            slow_since_ms: AtomicI64::new(NOT_SLOW),
            in_flight: AtomicUsize::new(0),
        }
    }
}

/// Counts one request in progress to a target until dropped.
#[derive(Debug)]
pub struct InFlight(Arc<TargetCell>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl TargetCell {
    /// Whether the registration `registered_ms` of this target is healthy.
    pub fn healthy_for(&self, registered_ms: i64) -> bool {
        let e = self.healthy_epoch.load(Ordering::Relaxed);
        e == registered_ms || e == ANY_EPOCH
    }
    /// When the target entered slow start, or [`NOT_SLOW`].
    pub fn slow_since_ms(&self) -> i64 {
        self.slow_since_ms.load(Ordering::Relaxed)
    }
    /// Requests in progress to the target.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
    /// Marks a request to the target as in progress until the guard drops.
    pub fn start(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }
    fn publish(&self, h: &Health, epoch: Option<i64>) {
        let healthy = h.state == "healthy";
        let e = match (healthy, epoch) {
            (false, _) => NOT_HEALTHY,
            (true, Some(e)) => e,
            (true, None) => ANY_EPOCH,
        };
        if !healthy {
            // A target leaves slow start when it stops being healthy.
            self.slow_since_ms.store(NOT_SLOW, Ordering::Relaxed);
        }
        self.healthy_epoch.store(e, Ordering::Relaxed);
    }
    fn reset(&self) {
        self.healthy_epoch.store(NOT_HEALTHY, Ordering::Relaxed);
        self.slow_since_ms.store(NOT_SLOW, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Slot {
    entry: Option<Entry>,
    cell: Arc<TargetCell>,
}

/// target → health, written by the prober, read by DescribeTargetHealth and (through each
/// target's [`TargetCell`]) the data plane.
#[derive(Default)]
pub struct HealthTable {
    map: RwLock<HashMap<TargetKey, Slot>>,
    /// Bumped whenever a target's state changes or is forgotten (data planes that render the
    /// health, like Traefik's, re-render on it).
    changes: watch::Sender<u64>,
}

impl HealthTable {
    /// The last known health of a target.
    pub fn get(&self, k: &TargetKey) -> Option<Health> {
        let map = self.map.read();
        map.get(k)?.entry.as_ref().map(|e| e.health.clone())
    }
    /// Records a target's health.
    pub fn set(&self, k: TargetKey, h: Health) {
        self.put(k, h, None);
    }
    fn put(&self, k: TargetKey, h: Health, epoch: Option<i64>) {
        let mut map = self.map.write();
        let slot = map.entry(k).or_default();
        slot.cell.publish(&h, epoch);
        let changed = slot
            .entry
            .as_ref()
            .is_none_or(|o| o.health.state != h.state || o.epoch != epoch);
        slot.entry = Some(Entry { health: h, epoch });
        if changed {
            self.changed();
        }
    }
    /// Forgets everything (reset).
    pub fn clear(&self) {
        let mut map = self.map.write();
        for s in map.values_mut() {
            s.entry = None;
            s.cell.reset();
        }
        map.retain(|_, s| Arc::strong_count(&s.cell) > 1);
        self.changed();
    }
    /// The health of a target for one registration (`registered_ms`); health recorded for an
    /// earlier registration of the same id and port does not count.
    pub fn get_for(&self, k: &TargetKey, registered_ms: i64) -> Option<Health> {
        let map = self.map.read();
        let e = map.get(k)?.entry.as_ref()?;
        (e.epoch.is_none() || e.epoch == Some(registered_ms)).then(|| e.health.clone())
    }
    /// Records a target's health for one registration.
    pub fn set_for(&self, k: TargetKey, registered_ms: i64, h: Health) {
        self.put(k, h, Some(registered_ms));
    }
    /// The data plane's view of a target (created empty if the prober has not seen it yet).
    pub fn cell(&self, k: &TargetKey) -> Arc<TargetCell> {
        if let Some(s) = self.map.read().get(k) {
            return s.cell.clone();
        }
        self.map.write().entry(k.clone()).or_default().cell.clone()
    }
    /// Puts a healthy target in slow start from `now_ms`.
    pub fn enter_slow_start(&self, k: &TargetKey, now_ms: i64) {
        if let Some(s) = self.map.read().get(k) {
            s.cell.slow_since_ms.store(now_ms, Ordering::Relaxed);
        }
    }
    /// Forgets one target.
    pub fn remove(&self, k: &TargetKey) {
        let mut map = self.map.write();
        if let Some(s) = map.get_mut(k) {
            let had = s.entry.take().is_some();
            s.cell.reset();
            if Arc::strong_count(&s.cell) == 1 {
                map.remove(k);
            }
            if had {
                self.changed();
            }
        }
    }
    /// Drops cells no routing snapshot holds for targets without health.
    pub(super) fn prune(&self) {
        self.map
            .write()
            .retain(|_, s| s.entry.is_some() || Arc::strong_count(&s.cell) > 1);
    }
    /// Forgets a target's health if it was recorded for another registration.
    pub(super) fn remove_stale(&self, k: &TargetKey, registered_ms: i64) {
        let mut map = self.map.write();
        if let Some(s) = map.get_mut(k) {
            if s.entry
                .as_ref()
                .is_some_and(|e| e.epoch.is_some_and(|ep| ep != registered_ms))
            {
                s.entry = None;
                s.cell.reset();
                self.changed();
            }
        }
    }
    /// Called with the map's write lock held, so a reader that saw a new state also sees the
    /// bumped version.
    fn changed(&self) {
        self.changes.send_modify(|v| *v += 1);
    }
    /// The change counter, to wait for state changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
    /// The current change count.
    pub fn version(&self) -> u64 {
        *self.changes.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::probe::Outcome;
    use crate::health::thresholds::{initial_checking, unhealthy_for};

    #[test]
    fn epochs_hide_stale_health() {
        let t = HealthTable::default();
        let k = TargetKey {
            tg_arn: "a".into(),
            id: "1.2.3.4".into(),
            port: 80,
        };
        t.set_for(k.clone(), 1, initial_checking());
        assert!(t.get_for(&k, 1).is_some());
        assert!(t.get_for(&k, 2).is_none());
        t.remove_stale(&k, 2);
        assert!(t.get(&k).is_none());
        t.set(k.clone(), initial_checking());
        assert!(t.get_for(&k, 7).is_some());
    }

    #[test]
    fn cells_follow_the_table() {
        let t = HealthTable::default();
        let k = TargetKey {
            tg_arn: "tg".into(),
            id: "10.0.0.1".into(),
            port: 80,
        };
        let cell = t.cell(&k);
        assert!(!cell.healthy_for(5));
        let healthy = Health {
            state: "healthy",
            reason: None,
            description: None,
        };
        t.set_for(k.clone(), 5, healthy.clone());
        assert!(cell.healthy_for(5) && !cell.healthy_for(6));
        t.enter_slow_start(&k, 1234);
        assert_eq!(cell.slow_since_ms(), 1234);
        t.set_for(k.clone(), 5, unhealthy_for(Outcome::Failed));
        assert!(!cell.healthy_for(5));
        assert_eq!(cell.slow_since_ms(), NOT_SLOW);
        // Removal keeps a referenced cell (reset), so a snapshot never holds an orphan.
        t.set_for(k.clone(), 5, healthy);
        t.remove(&k);
        assert!(!cell.healthy_for(5));
        assert!(Arc::ptr_eq(&cell, &t.cell(&k)));
        drop(cell);
        t.prune();
        assert!(t.map.read().is_empty());
    }
}
