//! TCP and TLS listeners (NLB): each connection is forwarded, bytes both ways, to one target of
//! the listener's target group. TLS listeners terminate TLS first (same certificates as HTTPS)
//! and send the plain stream on. A target that refuses the connection closes the client's.

use super::choose::{choose_target, target_address};
use super::snapshot::{ActionRoute, Routing, TgRoute};
use super::DataPlane;
use std::sync::Arc;
use std::time::Duration;

/// Accepts connections on one worker's share of a TCP or TLS listener socket until the task
/// is aborted or the socket is closed. `tls` holds the acceptor while the port speaks TLS.
pub async fn serve(
    dp: Arc<DataPlane>,
    listener: std::net::TcpListener,
    port: u16,
    tls: Arc<arc_swap::ArcSwapOption<tokio_rustls::TlsAcceptor>>,
) {
    let (plain_dp, tls_dp) = (dp.clone(), dp.clone());
    super::accept::serve(
        dp.workers(),
        listener,
        tls,
        move |client, _peer| relay(plain_dp.clone(), port, client),
        move |tls, _peer| relay(tls_dp.clone(), port, tls),
    )
    .await;
}

/// The target for a new flow on an NLB listener port: the default rule's target group (NLB
/// listeners have nothing else), then a target as for HTTP (healthy ones, failing open).
pub fn pick(routing: &Routing, port: u16, protocols: &[&str]) -> Option<(Arc<TgRoute>, usize)> {
    let listener = routing
        .ports
        .get(&port)?
        .iter()
        .find(|l| protocols.contains(&l.protocol.as_str()))?;
    let Some(ActionRoute::Forward(fwd)) = listener.rules.last().map(|r| &r.action) else {
        return None;
    };
    choose_target(routing, fwd, &super::sticky::Hints::default())
}

async fn relay<S>(dp: Arc<DataPlane>, port: u16, mut client: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let routing = dp.routing.load_full();
    let Some((tg, t)) = pick(&routing, port, &["TCP", "TLS", "TCP_UDP"]) else {
        return;
    };
    // Lambda targets cannot take a stream; alb targets are this process's listeners.
    let Ok(addr) = target_address(&dp, &routing, &tg, t) else {
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
