//! Listener sockets: one per listener port, bound when the routing table gains the port and
//! closed when it loses it. HTTP listeners of several load balancers on one port share the
//! socket and are told apart by Host.
//!
//! Port rule (documented in the README): a listener on port P is served on `--bind` at
//! P + `--port-offset`; if that port is privileged (<1024) and may not be bound, P + 8000 is
//! used instead (80 → 8080). A port another process holds is reported, never shared.

use super::proxy;
use super::snapshot::Routing;
use crate::App;
use arc_swap::ArcSwap;
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
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
}

struct Bound {
    addr: Result<SocketAddr, String>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Set while the port serves HTTPS; swapped when its load balancers change.
    tls: Arc<arc_swap::ArcSwapOption<tokio_rustls::TlsAcceptor>>,
}

/// The data plane's shared state.
pub struct DataPlane {
    pub routing: ArcSwap<Routing>,
    /// The last writer generation the sockets and routing reflect.
    pub applied: watch::Sender<u64>,
    sockets: Mutex<HashMap<u16, Bound>>,
    pub endpoints: ArcSwap<Vec<Endpoint>>,
    pub client: proxy::Client,
    certs: super::tls::CertCache,
    pub metrics: super::metrics::Metrics,
}

impl DataPlane {
    /// An empty data plane.
    pub fn new() -> Arc<DataPlane> {
        Arc::new(DataPlane {
            routing: ArcSwap::from_pointee(Routing::default()),
            applied: watch::Sender::new(0),
            sockets: Mutex::new(HashMap::new()),
            endpoints: ArcSwap::from_pointee(Vec::new()),
            client: proxy::client(),
            certs: super::tls::CertCache::default(),
            metrics: super::metrics::Metrics::default(),
        })
    }

    /// Waits until the sockets and routing reflect writer generation `g` (bounded).
    pub async fn wait_applied(&self, g: u64) {
        let mut rx = self.applied.subscribe();
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(5), rx.wait_for(|a| *a >= g)).await;
    }
}

fn served_protocol(p: &str) -> bool {
    matches!(p, "HTTP" | "HTTPS" | "TCP")
}

/// A port speaks the protocol of its oldest load balancer's listener.
fn port_protocol(ls: &[Arc<super::snapshot::ListenerRoute>]) -> &str {
    ls.first().map(|l| l.protocol.as_str()).unwrap_or("")
}

fn bind(app: &App, port: u16) -> Result<std::net::TcpListener, String> {
    let cfg = &app.config;
    let want = port
        .checked_add(cfg.port_offset)
        .ok_or("port out of range")?;
    let try_bind = |p: u16| -> std::io::Result<std::net::TcpListener> {
        let sock = socket2::Socket::new(
            if cfg.bind.is_ipv4() {
                socket2::Domain::IPV4
            } else {
                socket2::Domain::IPV6
            },
            socket2::Type::STREAM,
            None,
        )?;
        // SO_REUSEADDR only (restart after TIME_WAIT); never SO_REUSEPORT, so a port another
        // process holds fails here instead of being silently shared.
        sock.set_reuse_address(true)?;
        sock.bind(&SocketAddr::new(cfg.bind, p).into())?;
        sock.listen(1024)?;
        sock.set_nonblocking(true)?;
        Ok(sock.into())
    };
    match try_bind(want) {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && want < 1024 => {
            try_bind(want + 8000)
                .map_err(|e| format!("cannot bind {}:{}: {e}", cfg.bind, want + 8000))
        }
        Err(e) => Err(format!("cannot bind {}:{want}: {e}", cfg.bind)),
    }
}

/// Rebuilds routing and reconciles sockets on every committed change.
pub fn spawn(app: Arc<App>) -> tokio::task::JoinHandle<()> {
    let mut gen_rx = app.published.generation.subscribe();
    tokio::spawn(async move {
        loop {
            let g = *gen_rx.borrow_and_update();
            reconcile(&app, g);
            if gen_rx.changed().await.is_err() {
                return;
            }
        }
    })
}

fn reconcile(app: &Arc<App>, g: u64) {
    let dp = &app.dataplane;
    let world = app.published.world.load_full();
    let ctx = super::snapshot::BuildCtx {
        health: &app.health,
        time_scale: app.config.health_time_scale,
    };
    let routing = Arc::new(Routing::build(&world, g, &ctx));
    dp.routing.store(routing.clone());
    let mut sockets = dp.sockets.lock().unwrap();
    // Close ports no listener uses any more.
    let wanted: Vec<u16> = routing
        .ports
        .iter()
        .filter(|(_, ls)| ls.iter().any(|l| served_protocol(&l.protocol)))
        .map(|(p, _)| *p)
        .collect();
    sockets.retain(|port, b| {
        let keep = wanted.contains(port);
        if !keep {
            if let Some(t) = b.task.take() {
                t.abort();
            }
        }
        keep
    });
    let mut tls_errors: HashMap<u16, String> = HashMap::new();
    for port in &wanted {
        let ls = &routing.ports[port];
        // HTTPS ports get an acceptor with a certificate per load balancer, chosen by SNI.
        let acceptor = if port_protocol(ls) == "HTTPS" {
            let names: Vec<String> = ls
                .iter()
                .filter(|l| l.protocol == "HTTPS")
                .map(|l| l.dns_name.clone())
                .collect();
            match super::tls::acceptor(&dp.certs, &names) {
                Ok(a) => Some(Arc::new(a)),
                Err(e) => {
                    tls_errors.insert(*port, format!("cannot set up TLS: {e}"));
                    continue;
                }
            }
        } else {
            None
        };
        if let Some(b) = sockets.get(port).filter(|b| b.addr.is_ok()) {
            b.tls.store(acceptor);
            continue;
        }
        let tls = Arc::new(arc_swap::ArcSwapOption::new(acceptor));
        let bound = match bind(app, *port)
            .and_then(|l| tokio::net::TcpListener::from_std(l).map_err(|e| e.to_string()))
        {
            Ok(listener) => {
                let addr = listener.local_addr().map_err(|e| e.to_string());
                let task = if port_protocol(ls) == "TCP" {
                    tokio::spawn(super::stream::serve(app.clone(), listener, *port))
                } else {
                    tokio::spawn(proxy::serve(app.clone(), listener, *port, tls.clone()))
                };
                Bound {
                    addr,
                    task: Some(task),
                    tls,
                }
            }
            Err(e) => {
                tracing::warn!("listener port {port}: {e}");
                Bound {
                    addr: Err(e),
                    task: None,
                    tls,
                }
            }
        };
        sockets.insert(*port, bound);
    }
    let mut eps = Vec::new();
    for (port, ls) in &routing.ports {
        for l in ls {
            let (address, error) = if !served_protocol(&l.protocol) {
                (
                    None,
                    Some(format!(
                        "{} listeners are not served by the native data plane yet",
                        l.protocol
                    )),
                )
            } else if let Some(e) = tls_errors.get(port) {
                (None, Some(e.clone()))
            } else if l.protocol != port_protocol(ls) {
                (
                    None,
                    Some(format!(
                        "port {port} already serves {} for another load balancer",
                        port_protocol(ls)
                    )),
                )
            } else {
                match sockets.get(port).map(|b| &b.addr) {
                    Some(Ok(a)) => (Some(a.to_string()), None),
                    Some(Err(e)) => (None, Some(e.clone())),
                    None => (None, Some("not bound".into())),
                }
            };
            eps.push(Endpoint {
                listener_arn: l.arn.clone(),
                load_balancer_name: l.lb_name.clone(),
                protocol: l.protocol.clone(),
                port: l.port,
                address,
                error,
            });
        }
    }
    drop(sockets);
    dp.endpoints.store(Arc::new(eps));
    dp.applied.send_replace(g);
}
