//! Redirect actions: ALB's `Location` template filled from the request.

use super::error::{error_page, ProxyBody};
use super::rule_match;
use super::snapshot::ListenerRoute;
use hyper::header::{HeaderValue, LOCATION};
use hyper::{Response, StatusCode};

/// Builds ALB's redirect `Location` from the template and the request.
pub fn redirect(
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
