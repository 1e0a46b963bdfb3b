//! The in-memory ELBv2 state: one [`Scope`] per (account, region), each a set of [`Table`]s
//! keyed by ARN. Tables remember which keys changed, so the writer commits exactly those rows.

use api_models as m;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Rows of one resource kind, keyed by ARN (or id). Values are `Arc` so snapshots share them.
#[derive(Debug, Clone)]
pub struct Table<T> {
    rows: BTreeMap<String, Arc<T>>,
    dirty: BTreeSet<String>,
    /// Changed keys that are not in the store yet: a plain INSERT is half the cost of an upsert.
    fresh: BTreeSet<String>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            rows: BTreeMap::new(),
            dirty: BTreeSet::new(),
            fresh: BTreeSet::new(),
        }
    }
}

impl<T: Clone> Table<T> {
    /// The row at `key`.
    pub fn get(&self, key: &str) -> Option<&T> {
        self.rows.get(key).map(|a| a.as_ref())
    }
    /// Whether `key` exists.
    pub fn contains(&self, key: &str) -> bool {
        self.rows.contains_key(key)
    }
    /// A mutable row; marks it changed.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut T> {
        let row = self.rows.get_mut(key)?;
        self.dirty.insert(key.to_string());
        Some(Arc::make_mut(row))
    }
    /// Inserts or replaces a row.
    pub fn insert(&mut self, key: String, v: T) {
        // Absent and unchanged since the last commit means absent from the store too.
        if !self.rows.contains_key(&key) && !self.dirty.contains(&key) {
            self.fresh.insert(key.clone());
        }
        self.dirty.insert(key.clone());
        self.rows.insert(key, Arc::new(v));
    }
    /// Removes a row.
    pub fn remove(&mut self, key: &str) -> Option<T> {
        let v = self.rows.remove(key)?;
        self.dirty.insert(key.to_string());
        Some(Arc::unwrap_or_clone(v))
    }
    /// All rows, in key order.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.rows.values().map(|a| a.as_ref())
    }
    /// All keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.rows.keys()
    }
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// Loads a row from the store without marking it changed.
    pub fn restore(&mut self, key: String, v: T) {
        self.rows.insert(key, Arc::new(v));
    }
    /// The changed keys: (key, current row or None if deleted, whether the store lacks it);
    /// clears the change set. A row created and deleted since the last commit is skipped.
    pub fn take_changes(&mut self) -> Vec<(String, Option<Arc<T>>, bool)> {
        let dirty = std::mem::take(&mut self.dirty);
        let fresh = std::mem::take(&mut self.fresh);
        dirty
            .into_iter()
            .filter_map(|k| {
                let v = self.rows.get(&k).cloned();
                let new = fresh.contains(&k);
                (v.is_some() || !new).then_some((k, v, new))
            })
            .collect()
    }
}

/// A tag list in the order keys were first added.
pub type Tags = Vec<(String, String)>;

/// A load balancer and everything stored with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadBalancerRec {
    pub lb: m::LoadBalancer,
    pub attributes: BTreeMap<String, String>,
    pub tags: Tags,
    pub seq: u64,
    #[serde(default)]
    pub capacity_units: Option<i32>,
    #[serde(default)]
    pub capacity_modified: Option<m::Timestamp>,
    #[serde(default)]
    pub capacity_decreases: i32,
}

/// A registered target.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetRec {
    pub id: String,
    pub port: i32,
    #[serde(default)]
    pub availability_zone: Option<String>,
    #[serde(default)]
    pub quic_server_id: Option<String>,
    pub registered_ms: i64,
}

/// A target on its way out: draining until `until_ms`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DrainingTarget {
    pub target: TargetRec,
    pub until_ms: i64,
}

/// A target group, its attributes, tags and targets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetGroupRec {
    pub tg: m::TargetGroup,
    pub attributes: BTreeMap<String, String>,
    pub tags: Tags,
    pub targets: Vec<TargetRec>,
    #[serde(default)]
    pub draining: Vec<DrainingTarget>,
    pub seq: u64,
}

/// A listener; `certificates` holds the default certificate first, then added ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListenerRec {
    pub listener: m::Listener,
    pub attributes: BTreeMap<String, String>,
    pub tags: Tags,
    #[serde(default)]
    pub extra_certificates: Vec<String>,
    pub seq: u64,
}

/// A rule (including each listener's default rule).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleRec {
    pub rule: m::Rule,
    pub listener_arn: String,
    pub tags: Tags,
    pub seq: u64,
}

/// A trust store, its CA bundle and revocation lists.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrustStoreRec {
    pub ts: m::TrustStore,
    pub bundle_pem: String,
    pub tags: Tags,
    #[serde(default)]
    pub revocations: Vec<RevocationRec>,
    pub seq: u64,
}

/// One revocation list added to a trust store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevocationRec {
    pub id: i64,
    pub revocation_type: String,
    pub content: String,
    pub entries: i64,
    pub s3_bucket: String,
    pub s3_key: String,
}

/// A resource policy attached to an ARN.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyRec {
    pub arn: String,
    pub policy: String,
}

/// An EC2 object kept for the minimal EC2 endpoint (VPC, subnet, security group).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ec2Rec {
    pub kind: String,
    pub id: String,
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: Tags,
    pub seq: u64,
}

/// All resources of one account in one region.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub account: String,
    pub region: String,
    pub load_balancers: Table<LoadBalancerRec>,
    pub target_groups: Table<TargetGroupRec>,
    pub listeners: Table<ListenerRec>,
    pub rules: Table<RuleRec>,
    pub trust_stores: Table<TrustStoreRec>,
    pub policies: Table<PolicyRec>,
    pub ec2: Table<Ec2Rec>,
    /// Monotonic counter for creation order (`seq`).
    pub next_seq: u64,
}

/// A changed row on its way to the store.
pub struct RowChange {
    pub key: String,
    pub kind: &'static str,
    pub account: String,
    pub region: String,
    /// JSON body; None deletes the row.
    pub body: Option<String>,
    /// The store does not have this key yet (INSERT instead of upsert).
    pub new: bool,
}

fn changes_of<T: Serialize + Clone>(
    t: &mut Table<T>,
    kind: &'static str,
    s: (&str, &str),
    out: &mut Vec<RowChange>,
) {
    for (k, v, new) in t.take_changes() {
        out.push(RowChange {
            new,
            key: format!("{kind}|{}|{}|{k}", s.0, s.1),
            kind,
            account: s.0.to_string(),
            region: s.1.to_string(),
            body: v.map(|v| serde_json::to_string(&*v).expect("state serializes")),
        });
    }
}

fn restore_into<T: DeserializeOwned + Clone>(
    t: &mut Table<T>,
    key: &str,
    body: &str,
) -> Result<(), String> {
    let v: T = serde_json::from_str(body).map_err(|e| format!("row {key}: {e}"))?;
    // The table key is the part after `kind|account|region|`.
    let k = key.splitn(4, '|').nth(3).unwrap_or(key).to_string();
    t.restore(k, v);
    Ok(())
}

impl Scope {
    /// An empty scope.
    pub fn new(account: &str, region: &str) -> Self {
        Scope {
            account: account.into(),
            region: region.into(),
            ..Default::default()
        }
    }
    /// The next creation sequence number.
    pub fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
    /// Collects (and clears) every changed row.
    pub fn take_changes(&mut self, out: &mut Vec<RowChange>) {
        let s = (self.account.clone(), self.region.clone());
        let s = (s.0.as_str(), s.1.as_str());
        changes_of(&mut self.load_balancers, "lb", s, out);
        changes_of(&mut self.target_groups, "tg", s, out);
        changes_of(&mut self.listeners, "listener", s, out);
        changes_of(&mut self.rules, "rule", s, out);
        changes_of(&mut self.trust_stores, "truststore", s, out);
        changes_of(&mut self.policies, "policy", s, out);
        changes_of(&mut self.ec2, "ec2", s, out);
    }
    /// Loads one stored row.
    pub fn restore(&mut self, kind: &str, key: &str, body: &str) -> Result<(), String> {
        match kind {
            "lb" => restore_into(&mut self.load_balancers, key, body),
            "tg" => restore_into(&mut self.target_groups, key, body),
            "listener" => restore_into(&mut self.listeners, key, body),
            "rule" => restore_into(&mut self.rules, key, body),
            "truststore" => restore_into(&mut self.trust_stores, key, body),
            "policy" => restore_into(&mut self.policies, key, body),
            "ec2" => restore_into(&mut self.ec2, key, body),
            other => Err(format!("row {key}: unknown kind {other}")),
        }
    }
    /// Recomputes `next_seq` after loading.
    pub fn fix_seq(&mut self) {
        let max = [
            self.load_balancers.values().map(|r| r.seq).max(),
            self.target_groups.values().map(|r| r.seq).max(),
            self.listeners.values().map(|r| r.seq).max(),
            self.rules.values().map(|r| r.seq).max(),
            self.trust_stores.values().map(|r| r.seq).max(),
            self.ec2.values().map(|r| r.seq).max(),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
        self.next_seq = max;
    }
}

/// Every scope. Snapshots of it are shared with readers and the data plane.
#[derive(Debug, Clone, Default)]
pub struct World {
    pub scopes: HashMap<(String, String), Arc<Scope>>,
}

impl World {
    /// The scope for (account, region), created on first use.
    pub fn scope_mut(&mut self, account: &str, region: &str) -> &mut Arc<Scope> {
        self.scopes
            .entry((account.to_string(), region.to_string()))
            .or_insert_with(|| Arc::new(Scope::new(account, region)))
    }
    /// The scope for (account, region), if it has ever been written.
    pub fn scope(&self, account: &str, region: &str) -> Option<&Arc<Scope>> {
        self.scopes.get(&(account.to_string(), region.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::Table;

    fn changes(t: &mut Table<u32>) -> Vec<(String, Option<u32>, bool)> {
        t.take_changes()
            .into_iter()
            .map(|(k, v, n)| (k, v.map(|v| *v), n))
            .collect()
    }

    #[test]
    fn new_rows_insert_existing_rows_upsert() {
        let mut t: Table<u32> = Table::default();
        t.insert("a".into(), 1);
        assert_eq!(changes(&mut t), vec![("a".into(), Some(1), true)]);
        // Committed now: a later replace is an upsert, even after a delete in the same batch.
        t.remove("a");
        t.insert("a".into(), 2);
        assert_eq!(changes(&mut t), vec![("a".into(), Some(2), false)]);
        // Created and deleted between two commits: the store never hears of it.
        t.insert("b".into(), 3);
        t.remove("b");
        assert_eq!(changes(&mut t), vec![]);
        t.remove("a");
        assert_eq!(changes(&mut t), vec![("a".into(), None, false)]);
    }
}
