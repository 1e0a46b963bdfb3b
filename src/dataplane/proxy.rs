//! The HTTP proxy: match a listener's rules, then forward, redirect or answer, as ALB does.
//! Target choice is `choose.rs`, the upstream exchange `forward.rs`, redirects `redirect.rs`,
//! and what a client gets when the proxy cannot relay a target's response `error.rs`.

use super::rule_match::{self, RequestView};
use super::snapshot::{ActionRoute, ForwardRoute, ListenerRoute, Routing, TargetStickiness};
use super::sticky;
use super::DataPlane;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, HOST};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

pub use super::choose::{alb_listener_addr, choose_target, choose_target_at, target_address};
pub use super::error::{error_page, full, BoxError, ProxyBody, ProxyError};
pub use super::sticky::Hints;

/// Accepts connections on one worker's share of a listener socket until the task is aborted
/// or the socket is closed. TLS (HTTPS) is terminated with the port's current acceptor.
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
        move |stream, peer| serve_connection(plain_dp.clone(), port, peer, stream, false),
        move |tls, peer| {
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            serve_connection(tls_dp.clone(), port, peer, tls, h2)
        },
    )
    .await;
}

/// Serves one accepted connection: HTTP/2 when TLS negotiated it (ALPN), else HTTP/1.1 with
/// upgrades. Plain HTTP listeners speak HTTP/1.1 only, as ALB's do.
async fn serve_connection<S>(dp: Arc<DataPlane>, port: u16, peer: SocketAddr, io: S, h2: bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let dp = dp.clone();
        async move {
            let req = req.map(|b| b.map_err(|e| Box::new(e) as BoxError).boxed_unsync());
            Ok::<_, Infallible>(handle(&dp, port, peer, req).await)
        }
    });
    if h2 {
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(io), svc)
            .await;
    } else {
        // Flattened writes (head and small body copied into one buffer, one write(2)) cost
        // less per request than queued writev for the short responses a proxy mostly relays.
        let _ = hyper::server::conn::http1::Builder::new()
            .writev(false)
            .serve_connection(TokioIo::new(io), svc)
            .with_upgrades()
            .await;
    }
}

fn host_of<B>(req: &Request<B>) -> &str {
    req.headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or_default()
}

/// Routes one request that arrived on listener port `port`.
pub async fn handle(
    dp: &DataPlane,
    port: u16,
    peer: SocketAddr,
    req: Request<ProxyBody>,
) -> Response<ProxyBody> {
    let routing = dp.routing.load_full();
    let host = host_of(&req);
    // Borrowed from the snapshot this request holds: no shared reference count touched.
    let Some(listener) = routing.listener_for(port, host) else {
        return ProxyError::NoListener.response();
    };
    route(dp, &routing, listener, peer, req).await
}

/// Routes a request to a known listener (also used for `Host: <DNSName>` on the API port).
pub async fn route(
    dp: &DataPlane,
    routing: &Routing,
    listener: &ListenerRoute,
    peer: SocketAddr,
    req: Request<ProxyBody>,
) -> Response<ProxyBody> {
    let host = host_of(&req);
    let view = RequestView {
        host: &host,
        path: req.uri().path(),
        query: req.uri().query().unwrap_or(""),
        method: req.method().as_str(),
        headers: req.headers(),
        client_ip: peer.ip(),
    };
    let Some(rule) = listener
        .rules
        .iter()
        .find(|r| rule_match::all_match(&r.conditions, &view))
    else {
        return ProxyError::NoRule.response();
    };
    match &rule.action {
        ActionRoute::Fixed {
            status,
            content_type,
            body,
        } => fixed(*status, content_type.as_ref(), body),
        ActionRoute::Redirect(cfg) => super::redirect::redirect(cfg, host, listener, req.uri()),
        ActionRoute::Unsupported(msg) => ProxyError::Unsupported(msg.clone()).response(),
        ActionRoute::Forward(fwd) => forward_to_target(dp, routing, listener, fwd, peer, req)
            .await
            .unwrap_or_else(|e| e.response()),
    }
}

/// A fixed-response action's answer.
fn fixed(
    status: StatusCode,
    content_type: Option<&HeaderValue>,
    body: &Bytes,
) -> Response<ProxyBody> {
    let mut r = Response::new(full(body.clone()));
    *r.status_mut() = status;
    if let Some(v) = content_type {
        r.headers_mut().insert("content-type", v.clone());
    }
    r
}

/// A forward action: picks a target and relays the request to it. The target's answer, or
/// the page for a target that failed, is counted and carries the stickiness cookies; a
/// request no target can take is an error.
async fn forward_to_target(
    dp: &DataPlane,
    routing: &Routing,
    listener: &ListenerRoute,
    fwd: &ForwardRoute,
    peer: SocketAddr,
    req: Request<ProxyBody>,
) -> Result<Response<ProxyBody>, ProxyError> {
    let hints = Hints::from_request(req.headers(), fwd.stickiness_s.is_some());
    let now = api_models::Timestamp::now().millis();
    let (tg, t) =
        choose_target_at(routing, fwd, &hints, req.headers(), now).ok_or(ProxyError::NoTarget)?;
    let addr = target_address(dp, routing, tg, t)?;
    let _inflight = tg.start(t);
    let proto = if listener.protocol == "HTTPS" {
        "https"
    } else {
        "http"
    };
    let started = std::time::Instant::now();
    let bytes_in = content_length(req.headers());
    let app_stuck = super::choose::app_cookie_stuck(tg, t, &hints, now);
    let mut resp = super::forward::forward(addr, listener, proto, peer, req, now)
        .await
        .unwrap_or_else(|e| e.response());
    let target = &tg.targets[t];
    dp.metrics.record(
        super::metrics::Labels {
            load_balancer: &listener.lb_name,
            listener: &listener.arn,
            target_group: &tg.arn,
            target: target.addr,
        },
        super::metrics::Sample {
            status: resp.status().as_u16(),
            bytes_in,
            bytes_out: content_length(resp.headers()),
            latency_s: started.elapsed().as_secs_f64(),
        },
    );
    if let Some(d) = fwd.stickiness_s {
        sticky::set(resp.headers_mut(), sticky::TG_COOKIE, &tg.token, d, now);
    }
    match &tg.stickiness {
        Some(TargetStickiness::LbCookie { duration_s }) => sticky::set(
            resp.headers_mut(),
            sticky::TARGET_COOKIE,
            &target.token,
            *duration_s,
            now,
        ),
        Some(TargetStickiness::AppCookie {
            cookie_name,
            duration_s,
        }) => {
            // A new application cookie starts (or restarts) the stickiness duration; a
            // request that was stuck keeps its value; otherwise the cookies are cleared.
            let value = if sticky::response_sets(resp.headers(), cookie_name) {
                Some(sticky::app_value(&target.token, now / 1000 + duration_s))
            } else {
                app_stuck.then(|| hints.app.clone()).flatten()
            };
            sticky::set_app(resp.headers_mut(), value.as_deref(), now);
        }
        None => {}
    }
    Ok(resp)
}

fn content_length(h: &hyper::HeaderMap) -> u64 {
    h.get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
