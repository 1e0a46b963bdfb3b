//! TCP and TLS listeners (NLB): each connection is forwarded, bytes both ways, to one target of
//! the listener's target group. TLS listeners terminate TLS first (same certificates as HTTPS)
//! and send the plain stream on. A target that refuses the connection closes the client's.

use super::proxy::choose_target;
use super::snapshot::{ActionRoute, Routing, TgRoute};
use crate::App;
use std::sync::Arc;
use std::time::Duration;

/// Accepts connections on one worker's share of a TCP or TLS listener socket until the task
/// is aborted or the socket is closed. `tls` holds the acceptor while the port speaks TLS.
pub async fn serve(
    app: Arc<App>,
    listener: std::net::TcpListener,
    port: u16,
    tls: Arc<arc_swap::ArcSwapOption<tokio_rustls::TlsAcceptor>>,
) {
    let (plain_app, tls_app) = (app.clone(), app.clone());
    super::accept::serve(
        &app.dataplane.workers,
        listener,
        tls,
        move |client, _peer| relay(plain_app.clone(), port, client),
        move |tls, _peer| relay(tls_app.clone(), port, tls),
    )
    .await;
}

/// The target for a new flow on an NLB listener port: the default rule's target group (NLB
/// listeners have nothing else), then a target as for HTTP (healthy ones, failing open).
pub fn pick(
    app: &App,
    routing: &Routing,
    port: u16,
    protocols: &[&str],
) -> Option<(Arc<TgRoute>, usize)> {
    let listener = routing
        .ports
        .get(&port)?
        .iter()
        .find(|l| protocols.contains(&l.protocol.as_str()))?;
    let Some(ActionRoute::Forward {
        tgs,
        weights,
        picker,
        ..
    }) = listener.rules.last().map(|r| &r.action)
    else {
        return None;
    };
    let hints = super::proxy::Hints::default();
    choose_target(app, routing, tgs, weights, picker, &hints)
}

async fn relay<S>(app: Arc<App>, port: u16, mut client: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let routing = app.dataplane.routing.load_full();
    let Some((tg, t)) = pick(&app, &routing, port, &["TCP", "TLS", "TCP_UDP"]) else {
        return;
    };
    // Lambda targets cannot take a stream; alb targets are this process's listeners.
    let Ok(addr) = super::proxy::target_address(&app, &routing, &tg, t) else {
        return;
    };
    let _inflight = tg.start(t);
    drop(routing);
    let Ok(Ok(mut upstream)) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    else {
        return;
    };
    let _ = upstream.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}
