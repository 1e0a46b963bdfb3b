//! Listener sockets: one per listener port, bound when the routing table gains the port and
//! closed when it loses it. HTTP listeners of several load balancers on one port share the
//! socket and are told apart by Host.
//!
//! Port rule (documented in the README): a listener on port P is served on `--bind` at
//! P + `--port-offset`; if that port is privileged (<1024) and may not be bound, P + 8000 is
//! used instead (80 → 8080). A port another process holds is reported, never shared.
//!
//! Each port's socket is bound once, here, without SO_REUSEPORT (so a port another process
//! holds fails to bind and is reported); every proxy worker then accepts on its own duplicate
//! of that one socket (`workers.rs`) and deals connections out round robin (`accept.rs`).

use super::proxy;
use super::snapshot::{ListenerRoute, Routing};
use super::tls::{self, ListenerCerts};
use super::workers::Workers;
use crate::state::World;
use crate::App;
use arc_swap::{ArcSwap, ArcSwapOption};
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

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

/// What serves a port, from the protocol of its oldest load balancer's listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// HTTP or HTTPS: the HTTP proxy (TLS terminated first for HTTPS).
    Http,
    /// TCP or TLS: the stream relay (TLS terminated first for TLS).
    Stream,
    /// UDP datagrams.
    Udp,
    /// TCP and UDP on the same port number.
    TcpUdp,
}

impl Kind {
    fn of(protocol: &str) -> Option<Kind> {
        match protocol {
            "HTTP" | "HTTPS" => Some(Kind::Http),
            "TCP" | "TLS" => Some(Kind::Stream),
            "UDP" => Some(Kind::Udp),
            "TCP_UDP" => Some(Kind::TcpUdp),
            _ => None,
        }
    }
    fn tcp(self) -> bool {
        !matches!(self, Kind::Udp)
    }
    fn udp(self) -> bool {
        matches!(self, Kind::Udp | Kind::TcpUdp)
    }
}

struct Bound {
    kind: Kind,
    addr: Result<SocketAddr, String>,
    /// The listening socket; workers accept on duplicates of it.
    tcp: Option<std::net::TcpListener>,
    udp: Option<std::net::UdpSocket>,
    /// Every worker's accept loop (and the UDP relay).
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Set while the port terminates TLS; swapped when its listeners or certificates change.
    tls: Arc<ArcSwapOption<TlsAcceptor>>,
}

impl Bound {
    /// Stops accepting at once: the socket is shut down (so new connections are refused even
    /// before every worker has dropped its duplicate) and the accept loops are aborted.
    fn close(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        if let Some(l) = self.tcp.take() {
            let _ = socket2::SockRef::from(&l).shutdown(std::net::Shutdown::Read);
        }
        self.udp = None;
    }
}

/// The data plane's shared state.
pub struct DataPlane {
    pub routing: ArcSwap<Routing>,
    /// The last writer generation the sockets and routing reflect.
    pub applied: watch::Sender<u64>,
    sockets: Mutex<HashMap<u16, Bound>>,
    pub endpoints: ArcSwap<Vec<Endpoint>>,
    certs: tls::CertStore,
    pub metrics: super::metrics::Metrics,
    /// The proxy's worker threads (thread per core).
    pub workers: Workers,
}

impl DataPlane {
    /// A data plane with `threads` proxy workers (0 = one per core) and the user-supplied
    /// certificates (ARN → certificate and key PEM files).
    pub fn new(
        threads: usize,
        certificates: &std::collections::BTreeMap<String, (std::path::PathBuf, std::path::PathBuf)>,
    ) -> Result<Arc<DataPlane>, String> {
        Ok(Arc::new(DataPlane {
            routing: ArcSwap::from_pointee(Routing::default()),
            applied: watch::Sender::new(0),
            sockets: Mutex::new(HashMap::new()),
            endpoints: ArcSwap::from_pointee(Vec::new()),
            certs: tls::CertStore::load(certificates)?,
            metrics: super::metrics::Metrics::default(),
            workers: Workers::start(threads),
        }))
    }

    /// Waits until the sockets and routing reflect writer generation `g` (bounded).
    pub async fn wait_applied(&self, g: u64) {
        let mut rx = self.applied.subscribe();
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(5), rx.wait_for(|a| *a >= g)).await;
    }
}

/// A port speaks the protocol of its oldest load balancer's listener.
fn port_protocol(ls: &[Arc<ListenerRoute>]) -> &str {
    ls.first().map(|l| l.protocol.as_str()).unwrap_or("")
}

fn socket(ip: std::net::IpAddr, ty: socket2::Type) -> std::io::Result<socket2::Socket> {
    let domain = if ip.is_ipv4() {
        socket2::Domain::IPV4
    } else {
        socket2::Domain::IPV6
    };
    socket2::Socket::new(domain, ty, None)
}

/// Binds port `want` per the port rule with `try_bind`, falling back to P+8000 for a
/// privileged port we may not bind.
fn bind_rule<T>(
    app: &App,
    port: u16,
    try_bind: impl Fn(u16) -> std::io::Result<T>,
) -> Result<T, String> {
    let cfg = &app.config;
    let want = port
        .checked_add(cfg.port_offset)
        .ok_or("port out of range")?;
    match try_bind(want) {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && want < 1024 => {
            try_bind(want + 8000)
                .map_err(|e| format!("cannot bind {}:{}: {e}", cfg.bind, want + 8000))
        }
        Err(e) => Err(format!("cannot bind {}:{want}: {e}", cfg.bind)),
    }
}

fn bind_tcp(ip: std::net::IpAddr, p: u16) -> std::io::Result<std::net::TcpListener> {
    let sock = socket(ip, socket2::Type::STREAM)?;
    // SO_REUSEADDR only (restart after TIME_WAIT); never SO_REUSEPORT, so a port another
    // process holds fails here instead of being silently shared.
    sock.set_reuse_address(true)?;
    sock.bind(&SocketAddr::new(ip, p).into())?;
    sock.listen(4096)?;
    sock.set_nonblocking(true)?;
    Ok(sock.into())
}

fn bind_udp(ip: std::net::IpAddr, p: u16) -> std::io::Result<std::net::UdpSocket> {
    let sock = socket(ip, socket2::Type::DGRAM)?;
    sock.bind(&SocketAddr::new(ip, p).into())?;
    sock.set_nonblocking(true)?;
    Ok(sock.into())
}

/// Binds what `kind` needs on `port`: TCP, UDP, or both on the same port number.
fn bind(app: &App, port: u16, kind: Kind, b: &mut Bound) -> Result<SocketAddr, String> {
    let ip = app.config.bind;
    if kind.tcp() && b.tcp.is_none() {
        b.tcp = Some(bind_rule(app, port, |p| bind_tcp(ip, p))?);
    }
    if kind.udp() && b.udp.is_none() {
        let udp = match &b.tcp {
            // TCP_UDP: the same port number as the TCP socket got.
            Some(t) => {
                let p = t.local_addr().map_err(|e| e.to_string())?.port();
                bind_udp(ip, p).map_err(|e| format!("cannot bind UDP {ip}:{p}: {e}"))?
            }
            None => bind_rule(app, port, |p| bind_udp(ip, p))?,
        };
        b.udp = Some(udp);
    }
    match (&b.tcp, &b.udp) {
        (Some(t), _) => t.local_addr(),
        (None, Some(u)) => u.local_addr(),
        (None, None) => return Err("not bound".into()),
    }
    .map_err(|e| e.to_string())
}

/// Starts the accept loops (one per worker) and the UDP relay of a bound port.
fn start(app: &Arc<App>, port: u16, b: &mut Bound) -> Result<(), String> {
    let workers = &app.dataplane.workers;
    if let Some(l) = &b.tcp {
        let clones: Vec<std::net::TcpListener> = (0..workers.len())
            .map(|_| l.try_clone())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("cannot share the socket of port {port}: {e}"))?;
        let mut clones = clones.into_iter();
        let tls = b.tls.clone();
        let kind = b.kind;
        b.tasks = workers.spawn_each(|_| {
            let (app, tls) = (app.clone(), tls.clone());
            let l = clones.next();
            async move {
                let Some(l) = l else { return };
                match kind {
                    Kind::Http => proxy::serve(app, l, port, tls).await,
                    _ => super::stream::serve(app, l, port, tls).await,
                }
            }
        });
    }
    if let Some(u) = &b.udp {
        let u = u
            .try_clone()
            .map_err(|e| format!("cannot share the socket of port {port}: {e}"))?;
        // Datagrams of one port are relayed by one worker (ports spread over the workers).
        b.tasks
            .push(workers.spawn_on(usize::from(port), super::udp::serve(app.clone(), u, port)));
    }
    Ok(())
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

/// Each TLS-terminating listener's certificate ARNs (default first, then added ones).
fn certificate_arns(world: &World) -> HashMap<String, Vec<String>> {
    let mut out = HashMap::new();
    for scope in world.scopes.values() {
        for l in scope.listeners.values() {
            let Some(arn) = l.listener.listener_arn.clone() else {
                continue;
            };
            let mut arns: Vec<String> = l
                .listener
                .certificates
                .iter()
                .flatten()
                .filter_map(|c| c.certificate_arn.clone())
                .take(1)
                .collect();
            arns.extend(l.extra_certificates.iter().cloned());
            out.insert(arn, arns);
        }
    }
    out
}

/// Each listener's AlpnPolicy (TLS listeners).
fn alpn_policies(world: &World) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for scope in world.scopes.values() {
        for l in scope.listeners.values() {
            if let (Some(arn), Some(p)) = (
                l.listener.listener_arn.clone(),
                l.listener.alpn_policy.as_ref().and_then(|p| p.first()),
            ) {
                out.insert(arn, p.clone());
            }
        }
    }
    out
}

/// The TLS acceptor for a port, if it terminates TLS.
fn port_acceptor(
    dp: &DataPlane,
    ls: &[Arc<ListenerRoute>],
    certs: &HashMap<String, Vec<String>>,
    alpn: &HashMap<String, String>,
) -> Result<Option<Arc<TlsAcceptor>>, String> {
    let proto = port_protocol(ls);
    if !matches!(proto, "HTTPS" | "TLS") {
        return Ok(None);
    }
    let listeners: Vec<ListenerCerts> = ls
        .iter()
        .filter(|l| l.protocol == proto)
        .map(|l| ListenerCerts {
            dns_name: l.dns_name.clone(),
            arns: certs.get(&l.arn).cloned().unwrap_or_default(),
        })
        .collect();
    let protocols = if proto == "HTTPS" {
        tls::https_alpn()
    } else {
        tls::nlb_alpn(
            ls.first()
                .and_then(|l| alpn.get(&l.arn))
                .map(String::as_str),
        )
    };
    tls::acceptor(&dp.certs, &listeners, protocols)
        .map(|a| Some(Arc::new(a)))
        .map_err(|e| format!("cannot set up TLS: {e}"))
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
    let certs = certificate_arns(&world);
    let alpn = alpn_policies(&world);
    let mut sockets = dp.sockets.lock().unwrap();
    // Ports to serve, with what serves them.
    let wanted: HashMap<u16, Kind> = routing
        .ports
        .iter()
        .filter_map(|(p, ls)| Some((*p, Kind::of(port_protocol(ls))?)))
        .collect();
    sockets.retain(|port, b| {
        let keep = wanted.contains_key(port);
        if !keep {
            b.close();
        }
        keep
    });
    let mut tls_errors: HashMap<u16, String> = HashMap::new();
    for (port, kind) in &wanted {
        let ls = &routing.ports[port];
        let acceptor = match port_acceptor(dp, ls, &certs, &alpn) {
            Ok(a) => a,
            Err(e) => {
                tls_errors.insert(*port, e);
                if let Some(mut b) = sockets.remove(port) {
                    b.close();
                }
                continue;
            }
        };
        if let Some(b) = sockets.get_mut(port).filter(|b| b.addr.is_ok()) {
            b.tls.store(acceptor);
            if b.kind == *kind {
                continue;
            }
            // The port changed kind (ModifyListener): keep the sockets that still fit, bind
            // what is missing, restart the loops.
            for t in b.tasks.drain(..) {
                t.abort();
            }
            if !kind.tcp() {
                if let Some(l) = b.tcp.take() {
                    let _ = socket2::SockRef::from(&l).shutdown(std::net::Shutdown::Read);
                }
            }
            if !kind.udp() {
                b.udp = None;
            }
            b.kind = *kind;
            b.addr = bind(app, *port, *kind, b).and_then(|a| start(app, *port, b).map(|()| a));
            if let Err(e) = &b.addr {
                tracing::warn!("listener port {port}: {e}");
                b.close();
            }
            continue;
        }
        let mut b = Bound {
            kind: *kind,
            addr: Err("not bound".into()),
            tcp: None,
            udp: None,
            tasks: Vec::new(),
            tls: Arc::new(ArcSwapOption::new(acceptor)),
        };
        b.addr =
            bind(app, *port, *kind, &mut b).and_then(|a| start(app, *port, &mut b).map(|()| a));
        if let Err(e) = &b.addr {
            tracing::warn!("listener port {port}: {e}");
            b.close();
        }
        sockets.insert(*port, b);
    }
    let mut eps = Vec::new();
    for (port, ls) in &routing.ports {
        for l in ls {
            let (address, error) = if Kind::of(&l.protocol).is_none() {
                (
                    None,
                    Some(format!(
                        "{} listeners are not served by the native data plane",
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
