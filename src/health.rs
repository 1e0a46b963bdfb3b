//! Target health, as the prober last saw it. Kept in memory only (never in DuckDB).

use std::collections::HashMap;
use std::sync::RwLock;

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

/// target → health, written by the prober, read by DescribeTargetHealth and the data plane.
#[derive(Default)]
pub struct HealthTable {
    map: RwLock<HashMap<TargetKey, Health>>,
}

impl HealthTable {
    /// The last known health of a target.
    pub fn get(&self, k: &TargetKey) -> Option<Health> {
        self.map.read().unwrap().get(k).cloned()
    }
    /// Records a target's health.
    pub fn set(&self, k: TargetKey, h: Health) {
        self.map.write().unwrap().insert(k, h);
    }
    /// Forgets everything (reset).
    pub fn clear(&self) {
        self.map.write().unwrap().clear();
    }
}
