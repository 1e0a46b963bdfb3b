//! The native data plane: routing snapshots built from the committed state, listener sockets,
//! and the HTTP proxy that serves them.
//!
//! [`DataPlane`] is the whole of it as one value: give it a published generation (or a routing
//! snapshot) and it serves that; it reports where each listener is served ([`Endpoint`]) and
//! counts what it answered ([`metrics::Metrics`]). It needs only the settings below and the
//! health table its targets' cells come from, so a test can run one without the API server.

pub mod accept;
pub mod choose;
pub mod error;
pub mod forward;
pub mod listeners;
pub mod metrics;
pub mod proxy;
pub mod redirect;
pub mod rule_match;
pub mod select;
pub mod snapshot;
pub mod sticky;
pub mod stream;
pub mod tls;
pub mod trace_id;
pub mod udp;
pub mod upstream;
pub mod workers;

#[cfg(test)]
mod tests;

use crate::health::HealthTable;
use crate::state::World;
use crate::writer::Published;
use arc_swap::ArcSwap;
use serde::Serialize;
use snapshot::{BuildCtx, Routing};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;

/// Where one listener is served (the `/_localelb/endpoints` entries).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub listener_arn: String,
    pub load_balancer_name: String,
    pub protocol: String,
    pub port: u16,
    pub address: Option<String>,
    pub error: Option<String>,
    /// Set on the entry for a stored rule the listener cannot route (`error` says why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_arn: Option<String>,
}

impl From<&crate::routing::Unroutable> for Endpoint {
    fn from(u: &crate::routing::Unroutable) -> Endpoint {
        Endpoint {
            listener_arn: u.listener_arn.clone(),
            load_balancer_name: u.load_balancer_name.clone(),
            protocol: u.protocol.clone(),
            port: u.port,
            address: None,
            error: Some(format!("rule {}: {}", u.rule_arn, u.message)),
            rule_arn: Some(u.rule_arn.clone()),
        }
    }
}

/// What the native data plane takes from the server's flags.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--bind`: the address listener sockets are bound on.
    pub bind: IpAddr,
    /// `--port-offset`: listener port P is served on P + offset.
    pub port_offset: u16,
    /// `--proxy-threads` (0 = one per core).
    pub proxy_threads: usize,
    /// `--health-check-time-scale`: slow-start windows scale with it.
    pub health_time_scale: f64,
    /// `--certificate ARN=CERT,KEY`: user-supplied certificate and key PEM files by ARN.
    pub certificates: BTreeMap<String, (PathBuf, PathBuf)>,
}

/// The native data plane.
pub struct DataPlane {
    /// The routing snapshot requests are served from; swapped whole by [`DataPlane::apply`].
    pub routing: ArcSwap<Routing>,
    /// Where each listener is served, or why not.
    pub endpoints: ArcSwap<Vec<Endpoint>>,
    /// Requests answered, by who served them.
    pub metrics: metrics::Metrics,
    /// The last writer generation the sockets and routing (or another data plane) reflect.
    applied: watch::Sender<u64>,
    sockets: listeners::Sockets,
    certs: tls::CertStore,
    /// The proxy's worker threads (thread per core).
    workers: workers::Workers,
    health: Arc<HealthTable>,
    settings: Settings,
}

impl DataPlane {
    /// A data plane with its proxy workers started and the user-supplied certificates read (a
    /// bad file is an error). Nothing is served until the first [`DataPlane::apply`].
    pub fn new(settings: Settings, health: Arc<HealthTable>) -> Result<Arc<DataPlane>, String> {
        Ok(Arc::new(DataPlane {
            routing: ArcSwap::from_pointee(Routing::default()),
            endpoints: ArcSwap::from_pointee(Vec::new()),
            metrics: metrics::Metrics::default(),
            applied: watch::Sender::new(0),
            sockets: listeners::Sockets::default(),
            certs: tls::CertStore::load(&settings.certificates)?,
            workers: workers::Workers::start(settings.proxy_threads),
            health,
            settings,
        }))
    }

    /// Serves writer generation `g` of `world`: builds its routing snapshot and applies it.
    pub fn apply(self: &Arc<Self>, world: &World, g: u64) {
        let ctx = BuildCtx {
            health: &self.health,
            time_scale: self.settings.health_time_scale,
        };
        self.apply_routing(Arc::new(Routing::build(world, g, &ctx)));
    }

    /// Serves a routing snapshot: requests see it at once, listener sockets are bound and
    /// closed to match, the endpoints are reported and its generation counts as applied.
    pub fn apply_routing(self: &Arc<Self>, routing: Arc<Routing>) {
        self.routing.store(routing.clone());
        let mut endpoints = self.sockets.reconcile(self, &routing);
        endpoints.extend(routing.unroutable.iter().map(Endpoint::from));
        self.publish(endpoints, routing.generation);
    }

    /// Follows the writer: applies every published generation until the writer stops.
    pub fn follow(self: &Arc<Self>, published: Arc<Published>) -> tokio::task::JoinHandle<()> {
        let dp = self.clone();
        let mut gen_rx = published.generation.subscribe();
        tokio::spawn(async move {
            loop {
                let g = *gen_rx.borrow_and_update();
                dp.apply(&published.world.load_full(), g);
                if gen_rx.changed().await.is_err() {
                    return;
                }
            }
        })
    }

    /// Reports what another data plane (Traefik) serves for generation `g`; the native one
    /// then serves nothing itself.
    pub fn publish(&self, endpoints: Vec<Endpoint>, g: u64) {
        self.endpoints.store(Arc::new(endpoints));
        self.applied.send_replace(g);
    }

    /// A receiver that sees every applied generation.
    pub fn subscribe_applied(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    /// The last generation applied.
    pub fn applied(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Waits until the sockets and routing reflect writer generation `g` (bounded).
    pub async fn wait_applied(&self, g: u64) {
        let mut rx = self.applied.subscribe();
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(5), rx.wait_for(|a| *a >= g)).await;
    }

    /// The proxy's worker threads.
    pub(crate) fn workers(&self) -> &workers::Workers {
        &self.workers
    }
}

/// Whether a successful call of `op` can change what the data plane serves (so the answer waits
/// for the new routing table). Creating a target group, tags or trust stores cannot.
pub fn affects_routing(op: api_models::Operation) -> bool {
    use api_models::Operation as O;
    !matches!(
        op,
        O::CreateTargetGroup
            | O::AddTags
            | O::RemoveTags
            | O::CreateTrustStore
            | O::ModifyTrustStore
            | O::DeleteTrustStore
            | O::AddTrustStoreRevocations
            | O::RemoveTrustStoreRevocations
            | O::DeleteSharedTrustStoreAssociation
            | O::ModifyCapacityReservation
            | O::ModifyIpPools
            | O::SetSecurityGroups
            | O::SetIpAddressType
            | O::CreateLoadBalancer
    )
}
