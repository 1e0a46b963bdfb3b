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

use super::snapshot::{ListenerRoute, Routing};
use super::tls::{self, ListenerCerts};
use super::{DataPlane, Endpoint, Settings};
use arc_swap::ArcSwapOption;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

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

/// The bound ports, by listener port.
#[derive(Default)]
pub(super) struct Sockets(Mutex<HashMap<u16, Bound>>);

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
    cfg: &Settings,
    port: u16,
    try_bind: impl Fn(u16) -> std::io::Result<T>,
) -> Result<T, String> {
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
fn bind(cfg: &Settings, port: u16, kind: Kind, b: &mut Bound) -> Result<SocketAddr, String> {
    let ip = cfg.bind;
    if kind.tcp() && b.tcp.is_none() {
        b.tcp = Some(bind_rule(cfg, port, |p| bind_tcp(ip, p))?);
    }
    if kind.udp() && b.udp.is_none() {
        let udp = match &b.tcp {
            // TCP_UDP: the same port number as the TCP socket got.
            Some(t) => {
                let p = t.local_addr().map_err(|e| e.to_string())?.port();
                bind_udp(ip, p).map_err(|e| format!("cannot bind UDP {ip}:{p}: {e}"))?
            }
            None => bind_rule(cfg, port, |p| bind_udp(ip, p))?,
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
fn start(dp: &Arc<DataPlane>, port: u16, b: &mut Bound) -> Result<(), String> {
    let workers = dp.workers();
    if let Some(l) = &b.tcp {
        let clones: Vec<std::net::TcpListener> = (0..workers.len())
            .map(|_| l.try_clone())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("cannot share the socket of port {port}: {e}"))?;
        let mut clones = clones.into_iter();
        let tls = b.tls.clone();
        let kind = b.kind;
        b.tasks = workers.spawn_each(|_| {
            let (dp, tls) = (dp.clone(), tls.clone());
            let l = clones.next();
            async move {
                let Some(l) = l else { return };
                match kind {
                    Kind::Http => super::proxy::serve(dp, l, port, tls).await,
                    _ => super::stream::serve(dp, l, port, tls).await,
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
            .push(workers.spawn_on(usize::from(port), super::udp::serve(dp.clone(), u, port)));
    }
    Ok(())
}

/// The TLS acceptor for a port, if it terminates TLS.
fn port_acceptor(
    dp: &DataPlane,
    ls: &[Arc<ListenerRoute>],
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
            arns: l.certificate_arns.clone(),
        })
        .collect();
    let protocols = if proto == "HTTPS" {
        tls::https_alpn()
    } else {
        tls::nlb_alpn(ls.first().and_then(|l| l.alpn_policy.as_deref()))
    };
    tls::acceptor(&dp.certs, &listeners, protocols)
        .map(|a| Some(Arc::new(a)))
        .map_err(|e| format!("cannot set up TLS: {e}"))
}

impl Sockets {
    /// Binds the ports `routing` serves and closes the others; returns where each listener is
    /// served, or why not.
    pub(super) fn reconcile(&self, dp: &Arc<DataPlane>, routing: &Routing) -> Vec<Endpoint> {
        let mut sockets = self.0.lock();
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
            match port_acceptor(dp, &routing.ports[port]) {
                Ok(acceptor) => serve_port(dp, &mut sockets, *port, *kind, acceptor),
                Err(e) => {
                    tls_errors.insert(*port, e);
                    if let Some(mut b) = sockets.remove(port) {
                        b.close();
                    }
                }
            }
        }
        endpoints(routing, &sockets, &tls_errors)
    }
}

/// Makes `port` serve `kind` with `acceptor`: a bound port keeps its sockets (and swaps the
/// acceptor), one whose kind changed rebinds what it lacks, a new one is bound.
fn serve_port(
    dp: &Arc<DataPlane>,
    sockets: &mut HashMap<u16, Bound>,
    port: u16,
    kind: Kind,
    acceptor: Option<Arc<TlsAcceptor>>,
) {
    if let Some(b) = sockets.get_mut(&port).filter(|b| b.addr.is_ok()) {
        b.tls.store(acceptor);
        if b.kind != kind {
            change_kind(dp, port, kind, b);
        }
        return;
    }
    let mut b = Bound {
        kind,
        addr: Err("not bound".into()),
        tcp: None,
        udp: None,
        tasks: Vec::new(),
        tls: Arc::new(ArcSwapOption::new(acceptor)),
    };
    bind_and_start(dp, port, &mut b);
    sockets.insert(port, b);
}

/// The port changed kind (ModifyListener): keep the sockets that still fit, bind what is
/// missing, restart the loops.
fn change_kind(dp: &Arc<DataPlane>, port: u16, kind: Kind, b: &mut Bound) {
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
    b.kind = kind;
    bind_and_start(dp, port, b);
}

fn bind_and_start(dp: &Arc<DataPlane>, port: u16, b: &mut Bound) {
    b.addr = bind(&dp.settings, port, b.kind, b).and_then(|a| start(dp, port, b).map(|()| a));
    if let Err(e) = &b.addr {
        tracing::warn!("listener port {port}: {e}");
        b.close();
    }
}

/// Where each listener of `routing` is served, or why not.
fn endpoints(
    routing: &Routing,
    sockets: &HashMap<u16, Bound>,
    tls_errors: &HashMap<u16, String>,
) -> Vec<Endpoint> {
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
                rule_arn: None,
            });
        }
    }
    eps
}
