//! The HTTP proxy: match a listener's rules, then forward, redirect or answer, as ALB does.

use super::rule_match::{self, RequestView};
use super::snapshot::{
    ActionRoute, ListenerRoute, Routing, TargetKind, TargetStickiness, TgRoute, XffMode,
};
use crate::App;
use bytes::Bytes;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, HOST, LOCATION};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

/// The error type of proxied bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Bodies in both directions, streamed.
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

fn full(body: impl Into<Bytes>) -> ProxyBody {
    Full::new(body.into())
        .map_err(|e: Infallible| match e {})
        .boxed_unsync()
}

/// ALB-style error page.
pub fn error_page(status: StatusCode) -> Response<ProxyBody> {
    let text = format!(
        "<html>\r\n<head><title>{s}</title></head>\r\n<body>\r\n<center><h1>{s}</h1></center>\r\n</body>\r\n</html>\r\n",
        s = format_args!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or(""))
    );
    let mut r = Response::new(full(text));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/html"));
    r.headers_mut()
        .insert("server", HeaderValue::from_static("awselb/2.0"));
    r
}

/// Accepts connections on one worker's share of a listener socket until the task is aborted
/// or the socket is closed. TLS (HTTPS) is terminated with the port's current acceptor.
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
        move |stream, peer| serve_connection(plain_app.clone(), port, peer, stream, false),
        move |tls, peer| {
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            serve_connection(tls_app.clone(), port, peer, tls, h2)
        },
    )
    .await;
}

/// Serves one accepted connection: HTTP/2 when TLS negotiated it (ALPN), else HTTP/1.1 with
/// upgrades. Plain HTTP listeners speak HTTP/1.1 only, as ALB's do.
async fn serve_connection<S>(app: Arc<App>, port: u16, peer: SocketAddr, io: S, h2: bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        async move {
            let req = req.map(|b| b.map_err(|e| Box::new(e) as BoxError).boxed_unsync());
            Ok::<_, Infallible>(handle(&app, port, peer, req).await)
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
    app: &Arc<App>,
    port: u16,
    peer: SocketAddr,
    req: Request<ProxyBody>,
) -> Response<ProxyBody> {
    let routing = app.dataplane.routing.load_full();
    let host = host_of(&req);
    // Borrowed from the snapshot this request holds: no shared reference count touched.
    let Some(listener) = routing.listener_for(port, host) else {
        return error_page(StatusCode::SERVICE_UNAVAILABLE);
    };
    route(app, &routing, listener, peer, req).await
}

/// Routes a request to a known listener (also used for `Host: <DNSName>` on the API port).
pub async fn route(
    app: &Arc<App>,
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
        return error_page(StatusCode::SERVICE_UNAVAILABLE);
    };
    match &rule.action {
        ActionRoute::Fixed {
            status,
            content_type,
            body,
        } => {
            let mut r = Response::new(full(body.clone()));
            *r.status_mut() = *status;
            if let Some(v) = content_type {
                r.headers_mut().insert("content-type", v.clone());
            }
            r
        }
        ActionRoute::Redirect(cfg) => redirect(cfg, &host, listener, req.uri()),
        ActionRoute::Unsupported(msg) => {
            let mut r = Response::new(full(format!("{msg}\n")));
            *r.status_mut() = StatusCode::NOT_IMPLEMENTED;
            r
        }
        ActionRoute::Forward {
            tgs,
            weights,
            picker,
            stickiness_s,
        } => {
            let hints = super::sticky::Hints::from_request(req.headers(), stickiness_s.is_some());
            let now = api_models::Timestamp::now().millis();
            let Some((tg, t)) =
                choose_target_at(routing, tgs, weights, picker, &hints, req.headers(), now)
            else {
                return error_page(StatusCode::SERVICE_UNAVAILABLE);
            };
            let addr = match target_address(app, routing, &tg, t) {
                Ok(a) => a,
                Err(reason) => return error_page_because(StatusCode::BAD_GATEWAY, &reason),
            };
            let _inflight = tg.start(t);
            let proto = if listener.protocol == "HTTPS" {
                "https"
            } else {
                "http"
            };
            let started = std::time::Instant::now();
            let bytes_in = content_length(req.headers());
            let app_stuck = app_cookie_stuck(&tg, t, &hints, now);
            let resp = forward(addr, listener, proto, peer, req, now).await;
            let target = &tg.targets[t];
            app.dataplane.metrics.record(
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
            let mut resp = resp;
            if let Some(d) = stickiness_s {
                super::sticky::set(
                    resp.headers_mut(),
                    super::sticky::TG_COOKIE,
                    &tg.token,
                    *d,
                    now,
                );
            }
            match &tg.stickiness {
                Some(TargetStickiness::LbCookie { duration_s }) => super::sticky::set(
                    resp.headers_mut(),
                    super::sticky::TARGET_COOKIE,
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
                    let value = if super::sticky::response_sets(resp.headers(), cookie_name) {
                        Some(super::sticky::app_value(
                            &target.token,
                            now / 1000 + duration_s,
                        ))
                    } else {
                        app_stuck.then(|| hints.app.clone()).flatten()
                    };
                    super::sticky::set_app(resp.headers_mut(), value.as_deref(), now);
                }
                None => {}
            }
            resp
        }
    }
}

/// ALB-style error page whose body also names the reason (for errors that are localelb's own,
/// such as a target type it cannot reach).
pub fn error_page_because(status: StatusCode, reason: &str) -> Response<ProxyBody> {
    let mut r = error_page(status);
    let page = format!(
        "<html>\r\n<head><title>{s}</title></head>\r\n<body>\r\n<center><h1>{s}</h1></center>\r\n<p>{reason}</p>\r\n</body>\r\n</html>\r\n",
        s = format_args!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or(""))
    );
    *r.body_mut() = full(page);
    if let Ok(v) = HeaderValue::from_str(reason) {
        r.headers_mut().insert("x-localelb-error", v);
    }
    r
}

/// Where target `t` of `tg` is reached: its address, or for an `alb` target the address that
/// load balancer's listener on the target's port is served on. Lambda functions are not
/// invoked locally.
pub fn target_address(
    app: &App,
    routing: &Routing,
    tg: &TgRoute,
    t: usize,
) -> Result<SocketAddr, String> {
    let target = &tg.targets[t];
    match tg.kind {
        TargetKind::Address => Ok(target.addr),
        TargetKind::Lambda => Err(format!(
            "Target group {} has target type lambda: localelb does not invoke Lambda functions",
            tg.name
        )),
        TargetKind::Alb => {
            let port = u16::try_from(target.key.port).unwrap_or(0);
            alb_listener_addr(&app.dataplane, routing, &target.key.id, port).ok_or_else(|| {
                format!(
                    "Target {} of target group {} has no served listener on port {port}",
                    target.key.id, tg.name
                )
            })
        }
    }
}

/// The address the listener of load balancer `lb_arn` on `port` is served on (alb targets).
pub fn alb_listener_addr(
    dp: &super::listeners::DataPlane,
    routing: &Routing,
    lb_arn: &str,
    port: u16,
) -> Option<SocketAddr> {
    let listener = routing
        .ports
        .get(&port)?
        .iter()
        .find(|l| l.lb_arn == lb_arn)?;
    dp.endpoints
        .load()
        .iter()
        .find(|e| e.listener_arn == listener.arn)?
        .address
        .as_deref()?
        .parse()
        .ok()
}

/// Whether the request was routed by a valid `AWSALBAPP-0` cookie to target `t`.
fn app_cookie_stuck(tg: &TgRoute, t: usize, hints: &Hints, now_ms: i64) -> bool {
    matches!(tg.stickiness, Some(TargetStickiness::AppCookie { .. }))
        && hints
            .app
            .as_deref()
            .and_then(|v| super::sticky::app_target(v, now_ms / 1000))
            == Some(tg.targets[t].token.as_str())
}

fn content_length(h: &hyper::HeaderMap) -> u64 {
    h.get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub use super::sticky::Hints;

/// Picks a target group by weight (or the one the client is stuck to, if it still has weight),
/// then a target in it (the stuck one if still eligible, else healthy ones, failing open when
/// none is). None when the group is gone or has no registered targets.
pub fn choose_target(
    _app: &App,
    routing: &Routing,
    tgs: &[String],
    weights: &[u32],
    picker: &super::select::WeightedPicker,
    hints: &Hints,
) -> Option<(Arc<TgRoute>, usize)> {
    let now = api_models::Timestamp::now().millis();
    choose_target_at(
        routing,
        tgs,
        weights,
        picker,
        hints,
        &hyper::HeaderMap::new(),
        now,
    )
    .map(|(tg, t)| (tg.clone(), t))
}

/// [`choose_target`] at `now_ms`, with the request's headers for app_cookie stickiness. Reads
/// health from the targets' cells: no lock and no allocation on this path; the group is
/// borrowed from `routing` (no shared reference count touched per request).
pub fn choose_target_at<'r>(
    routing: &'r Routing,
    tgs: &[String],
    weights: &[u32],
    picker: &super::select::WeightedPicker,
    hints: &Hints,
    headers: &hyper::HeaderMap,
    now_ms: i64,
) -> Option<(&'r Arc<TgRoute>, usize)> {
    let stuck_tg = hints.tg.as_deref().and_then(|h| {
        tgs.iter()
            .zip(weights)
            .position(|(arn, w)| *w > 0 && routing.tgs.get(arn).is_some_and(|g| g.token == h))
    });
    let i = match stuck_tg {
        Some(i) => i,
        None => picker.pick()?,
    };
    let tg = routing.tgs.get(&tgs[i])?;
    if tg.targets.is_empty() {
        return None;
    }
    let stuck_token = match &tg.stickiness {
        Some(TargetStickiness::LbCookie { .. }) => hints.target.as_deref(),
        // ALB: the client must send back both its application cookie and AWSALBAPP.
        Some(TargetStickiness::AppCookie { cookie_name, .. })
            if super::sticky::has_cookie(headers, cookie_name) =>
        {
            hints
                .app
                .as_deref()
                .and_then(|v| super::sticky::app_target(v, now_ms / 1000))
        }
        _ => None,
    };
    if let Some(h) = stuck_token {
        if let Some(t) = tg.targets.iter().position(|x| x.token == h) {
            // A stuck target that is no longer healthy loses its clients, unless no target is
            // healthy (fail open).
            if tg.targets[t].healthy() || !tg.targets.iter().any(|x| x.healthy()) {
                return Some((tg, t));
            }
        }
    }
    let t = tg.pick(now_ms)?;
    Some((tg, t))
}

const HOP_BY_HOP: [hyper::header::HeaderName; 7] = [
    hyper::header::CONNECTION,
    hyper::header::HeaderName::from_static("keep-alive"),
    hyper::header::HeaderName::from_static("proxy-connection"),
    hyper::header::TE,
    hyper::header::TRAILER,
    hyper::header::TRANSFER_ENCODING,
    hyper::header::UPGRADE,
];

/// Drops the hop-by-hop headers. One pass over the (few) headers first: most messages carry
/// none or only `Connection`, and a scan is cheaper than seven hashed removals.
fn remove_hop_by_hop(headers: &mut hyper::HeaderMap) {
    if headers.keys().any(|k| HOP_BY_HOP.contains(k)) {
        for h in &HOP_BY_HOP {
            headers.remove(h);
        }
    }
}

/// Whether an HTTP/1.1 request asks to switch protocols (WebSocket and the like): its Upgrade
/// and Connection headers are then forwarded and the two upgraded connections spliced.
fn is_upgrade<B>(req: &Request<B>) -> bool {
    req.version() == hyper::Version::HTTP_11
        && req.headers().contains_key(hyper::header::UPGRADE)
        && req
            .headers()
            .get_all(hyper::header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

async fn forward(
    addr: SocketAddr,
    listener: &ListenerRoute,
    proto: &'static str,
    peer: SocketAddr,
    mut req: Request<ProxyBody>,
    now_ms: i64,
) -> Response<ProxyBody> {
    let upgrade = is_upgrade(&req).then(|| hyper::upgrade::on(&mut req));
    let (mut parts, body) = req.into_parts();
    // HTTP/2 clients carry the host in :authority; targets get it as Host.
    if !parts.headers.contains_key(HOST) {
        if let Some(a) = parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        {
            parts.headers.insert(HOST, a);
        }
    }
    if !parts.headers.contains_key(HOST) {
        // An HTTP/1.0 request without Host: name the target, as a client would.
        if let Ok(v) = HeaderValue::from_str(&addr.to_string()) {
            parts.headers.insert(HOST, v);
        }
    }
    // Targets get the origin form (path and query) on their own connection.
    let pq = std::mem::take(&mut parts.uri)
        .into_parts()
        .path_and_query
        .unwrap_or_else(|| hyper::http::uri::PathAndQuery::from_static("/"));
    parts.uri = hyper::Uri::from(pq);
    parts.version = hyper::Version::HTTP_11;
    let upgrade_headers = upgrade.as_ref().map(|_| {
        (
            parts.headers.get(hyper::header::UPGRADE).cloned(),
            HeaderValue::from_static("upgrade"),
        )
    });
    remove_hop_by_hop(&mut parts.headers);
    if let Some((Some(up), conn)) = upgrade_headers {
        parts.headers.insert(hyper::header::UPGRADE, up);
        parts.headers.insert(hyper::header::CONNECTION, conn);
    }
    set_forwarded(&mut parts.headers, listener, proto, peer, now_ms);
    let upstream = Request::from_parts(parts, body);
    let upgrading = upgrade.is_some();
    match tokio::time::timeout(
        listener.idle_timeout,
        super::upstream::send(addr, upstream, upgrading),
    )
    .await
    {
        Err(_) => error_page(StatusCode::GATEWAY_TIMEOUT),
        Ok(Err(_)) => error_page(StatusCode::BAD_GATEWAY),
        Ok(Ok(mut resp)) => {
            let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
            if let (true, Some(client_side)) = (switching, upgrade) {
                let target_side = hyper::upgrade::on(&mut resp);
                tokio::spawn(splice(client_side, target_side));
            }
            if !switching {
                remove_hop_by_hop(resp.headers_mut());
            }
            resp
        }
    }
}

/// Copies bytes both ways between the client's and the target's upgraded connections.
async fn splice(client: hyper::upgrade::OnUpgrade, target: hyper::upgrade::OnUpgrade) {
    let (Ok(client), Ok(target)) = tokio::join!(client, target) else {
        return;
    };
    let mut client = TokioIo::new(client);
    let mut target = TokioIo::new(target);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut target).await;
}

/// X-Forwarded-For (by the load balancer's mode), -Proto, -Port and X-Amzn-Trace-Id.
fn set_forwarded(
    headers: &mut hyper::HeaderMap,
    listener: &ListenerRoute,
    proto: &'static str,
    peer: SocketAddr,
    now_ms: i64,
) {
    use std::fmt::Write as _;
    const XFF: hyper::header::HeaderName =
        hyper::header::HeaderName::from_static("x-forwarded-for");
    // The String becomes the header value's buffer as is (no copy).
    let mut value = String::with_capacity(48);
    match (
        listener.xff,
        headers.get(&XFF).and_then(|v| v.to_str().ok()),
    ) {
        (XffMode::Remove, _) => {}
        (XffMode::Preserve, Some(prev)) => value.push_str(prev),
        (XffMode::Append, Some(prev)) => {
            value.push_str(prev);
            value.push_str(", ");
        }
        (_, None) => {}
    }
    let add_client = match listener.xff {
        XffMode::Remove => false,
        XffMode::Preserve => value.is_empty(),
        XffMode::Append => true,
    };
    if add_client {
        let _ = if listener.xff_client_port {
            write!(value, "{peer}")
        } else {
            write!(value, "{}", peer.ip())
        };
    }
    if value.is_empty() {
        headers.remove(&XFF);
    } else {
        match HeaderValue::from_maybe_shared(Bytes::from(value)) {
            Ok(v) => {
                headers.insert(XFF, v);
            }
            Err(_) => {
                headers.remove(&XFF);
            }
        }
    }
    headers.insert(
        hyper::header::HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static(proto),
    );
    headers.insert(
        hyper::header::HeaderName::from_static("x-forwarded-port"),
        HeaderValue::from(listener.port),
    );
    super::trace_id::apply(headers, u64::try_from(now_ms / 1000).unwrap_or(0));
}

/// Builds ALB's redirect `Location` from the template and the request.
fn redirect(
    cfg: &api_models::RedirectActionConfig,
    host: &str,
    listener: &ListenerRoute,
    uri: &hyper::Uri,
) -> Response<ProxyBody> {
    let proto = if listener.protocol == "HTTPS" {
        "https"
    } else {
        "http"
    };
    let req_host = rule_match::strip_port(host);
    let port = listener.port.to_string();
    let path = uri.path().trim_start_matches('/');
    let query = uri.query().unwrap_or("");
    let sub = |t: &str| {
        t.replace("#{protocol}", proto)
            .replace("#{host}", req_host)
            .replace("#{port}", &port)
            .replace("#{path}", path)
            .replace("#{query}", query)
    };
    let scheme = sub(cfg.protocol.as_deref().unwrap_or("#{protocol}")).to_ascii_lowercase();
    let h = sub(cfg.host.as_deref().unwrap_or("#{host}"));
    let p = sub(cfg.port.as_deref().unwrap_or("#{port}"));
    let pa = sub(cfg.path.as_deref().unwrap_or("/#{path}"));
    let q = sub(cfg.query.as_deref().unwrap_or("#{query}"));
    let default_port = (scheme == "http" && p == "80") || (scheme == "https" && p == "443");
    let mut loc = format!("{scheme}://{h}");
    if !default_port {
        loc.push(':');
        loc.push_str(&p);
    }
    loc.push_str(&pa);
    if !q.is_empty() {
        loc.push('?');
        loc.push_str(&q);
    }
    let status = if cfg.status_code.as_deref() == Some("HTTP_302") {
        StatusCode::FOUND
    } else {
        StatusCode::MOVED_PERMANENTLY
    };
    let mut r = error_page(status);
    if let Ok(v) = HeaderValue::from_str(&loc) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}
