//! Traefik data planes: instead of binding listener sockets, localelb renders its state for a
//! Traefik v3 (translators crate) and hands it over — as a file-provider configuration
//! ([`file`]) or as Kubernetes objects applied to a cluster ([`kube`]) — then waits until
//! Traefik serves it (file) or the API server took it (kube).
//!
//! Listeners are served on Traefik entryPoints, which are static configuration: a pool is
//! declared up front (`--traefik-entrypoints` / `--traefik-port-pool`) and each listener takes
//! a free one in creation order, keeping it while it exists.

pub mod file;
pub mod kube;
pub mod render;
pub mod respond;

use crate::config::Config;
use crate::dataplane::DataPlane;
use crate::health::HealthTable;
use crate::writer::Published;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;
use translators::model::{CertFiles, EntryPoint, State};

/// What a Traefik render loop reads, and where it reports what Traefik serves.
#[derive(Clone)]
pub struct Feeds {
    /// The committed state and its generation.
    pub published: Arc<Published>,
    /// Target health, rendered into the configuration.
    pub health: Arc<HealthTable>,
    /// Reports the served generation (write calls wait on it) and the endpoints.
    pub dataplane: Arc<DataPlane>,
}

/// Listener protocols Traefik serves on a pooled (TCP) entryPoint.
pub fn served_protocol(p: &str) -> bool {
    matches!(p, "HTTP" | "HTTPS" | "TCP" | "TLS")
}

/// Why a listener has no address whatever Traefik's configuration says: a protocol Traefik does
/// not serve, or no free entryPoint for it. Both renderers' endpoints start from this.
fn unserved(protocol: &str, has_entry_point: bool) -> Option<String> {
    if !served_protocol(protocol) {
        Some(format!(
            "{protocol} listeners are not served by the Traefik data plane"
        ))
    } else if !has_entry_point {
        Some("no free Traefik entryPoint".to_string())
    } else {
        None
    }
}

/// The Traefik data plane's own state.
pub struct Traefik {
    pool: Vec<EntryPoint>,
    /// Listener ARN → pool index.
    assigned: Mutex<BTreeMap<String, usize>>,
    /// The file provider's directory (traefik-file).
    pub dir: Option<PathBuf>,
    /// Traefik's API base URL.
    pub api: Option<String>,
    /// DNS name → certificate files written for it.
    certs: Mutex<BTreeMap<String, CertFiles>>,
    /// The health-table version the served configuration reflects.
    pub health_applied: watch::Sender<u64>,
}

impl Traefik {
    /// From the server's flags.
    pub fn new(config: &Config) -> Traefik {
        Traefik {
            pool: config
                .traefik_entrypoints
                .iter()
                .map(|(name, address)| EntryPoint {
                    name: name.clone(),
                    address: address.clone(),
                })
                .collect(),
            assigned: Mutex::new(BTreeMap::new()),
            dir: config.traefik_dir.clone(),
            api: config.traefik_api.clone(),
            certs: Mutex::new(BTreeMap::new()),
            health_applied: watch::Sender::new(0),
        }
    }

    /// Listener ARN → entryPoint for every served listener that has one. Listeners keep their
    /// entryPoint while they exist; new ones take the lowest free slot, oldest listener first.
    pub fn entry_points_for(&self, st: &State) -> BTreeMap<String, EntryPoint> {
        let listeners: Vec<&str> = st
            .load_balancers
            .iter()
            .flat_map(|lb| &lb.listeners)
            .filter(|l| served_protocol(&l.protocol))
            .map(|l| l.arn.as_str())
            .collect();
        let mut assigned = self.assigned.lock();
        assigned.retain(|arn, _| listeners.contains(&arn.as_str()));
        for arn in &listeners {
            if assigned.contains_key(*arn) {
                continue;
            }
            let used: Vec<usize> = assigned.values().copied().collect();
            if let Some(free) = (0..self.pool.len()).find(|i| !used.contains(i)) {
                assigned.insert(arn.to_string(), free);
            }
        }
        assigned
            .iter()
            .map(|(arn, i)| (arn.clone(), self.pool[*i].clone()))
            .collect()
    }

    /// Certificate files already written, for the load balancers of `st`.
    pub fn certificates_for(&self, st: &State) -> BTreeMap<String, CertFiles> {
        let certs = self.certs.lock();
        st.load_balancers
            .iter()
            .filter_map(|lb| {
                certs
                    .get(&lb.dns_name)
                    .map(|c| (lb.dns_name.clone(), c.clone()))
            })
            .collect()
    }

    /// Remembers the certificate files of a DNS name.
    fn set_certificate(&self, dns_name: &str, files: CertFiles) {
        self.certs.lock().insert(dns_name.to_string(), files);
    }

    /// Whether certificate files exist for a DNS name.
    fn has_certificate(&self, dns_name: &str) -> bool {
        self.certs.lock().contains_key(dns_name)
    }

    /// Waits (bounded) until the served configuration reflects health-table version `v`.
    pub async fn wait_health_applied(&self, v: u64) {
        let mut rx = self.health_applied.subscribe();
        let _ = tokio::time::timeout(file::SYNC_TIMEOUT, rx.wait_for(|a| *a >= v)).await;
    }
}

impl render::Placement for Traefik {
    fn entry_points_for(&self, st: &State) -> BTreeMap<String, EntryPoint> {
        Traefik::entry_points_for(self, st)
    }
    fn certificates_for(&self, st: &State) -> BTreeMap<String, CertFiles> {
        Traefik::certificates_for(self, st)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use translators::model::{Listener, LoadBalancer};

    fn state(arns: &[(&str, &str)]) -> State {
        State {
            load_balancers: vec![LoadBalancer {
                listeners: arns
                    .iter()
                    .map(|(a, p)| Listener {
                        arn: a.to_string(),
                        protocol: p.to_string(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            target_groups: vec![],
        }
    }

    #[test]
    fn entry_points_are_stable_and_reused() {
        let cfg = Config {
            traefik_entrypoints: vec![
                ("a".into(), "127.0.0.1:1".into()),
                ("b".into(), "127.0.0.1:2".into()),
            ],
            ..Default::default()
        };
        let t = Traefik::new(&cfg);
        let eps = t.entry_points_for(&state(&[("l1", "HTTP"), ("u", "UDP"), ("l2", "TCP")]));
        assert_eq!(eps["l1"].name, "a");
        assert_eq!(eps["l2"].name, "b");
        assert!(!eps.contains_key("u"));
        // The pool is full: l3 gets nothing; l2 keeps b when l1 goes away.
        let eps = t.entry_points_for(&state(&[("l2", "TCP"), ("l3", "HTTP")]));
        assert_eq!(eps["l2"].name, "b");
        assert_eq!(eps["l3"].name, "a");
        let eps = t.entry_points_for(&state(&[("l2", "TCP"), ("l3", "HTTP"), ("l4", "HTTP")]));
        assert!(!eps.contains_key("l4"));
    }
}
