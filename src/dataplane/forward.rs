//! Forwarding to a target: the request as the target gets it (origin form, Host, hop-by-hop
//! headers dropped, X-Forwarded-* and X-Amzn-Trace-Id), sent on a pooled connection within the
//! listener's idle timeout; upgrades (WebSocket) spliced.

use super::error::{ProxyBody, ProxyError};
use super::snapshot::{ListenerRoute, XffMode};
use bytes::Bytes;
use hyper::header::{HeaderValue, HOST};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;

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

/// Sends `req` to the target at `addr` as the listener forwards it (origin form, Host set,
/// hop-by-hop headers dropped, X-Forwarded-* and X-Amzn-Trace-Id set) and returns the target's
/// response, or why there is none within the listener's idle timeout. An upgrade the target
/// accepts splices the two connections.
pub async fn forward(
    addr: SocketAddr,
    listener: &ListenerRoute,
    proto: &'static str,
    peer: SocketAddr,
    mut req: Request<ProxyBody>,
    now_ms: i64,
) -> Result<Response<ProxyBody>, ProxyError> {
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
        Err(_) => Err(ProxyError::Timeout),
        Ok(Err(e)) => Err(ProxyError::Upstream(e)),
        Ok(Ok(mut resp)) => {
            let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
            if let (true, Some(client_side)) = (switching, upgrade) {
                let target_side = hyper::upgrade::on(&mut resp);
                tokio::spawn(splice(client_side, target_side));
            }
            if !switching {
                remove_hop_by_hop(resp.headers_mut());
            }
            Ok(resp)
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
