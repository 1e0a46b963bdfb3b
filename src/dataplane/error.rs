//! Why the proxy answers a request itself, and what the client then gets: every failure's
//! status, page and `X-Localelb-Error` header are decided here, nowhere else.
//!
//! Failures AWS also has (no target, a target that breaks or stays silent) get ALB's bare
//! error page; failures that are localelb's own (a target type it cannot reach) name the
//! reason in the page and in `X-Localelb-Error`.

use super::upstream::UpstreamError;
use bytes::Bytes;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
use hyper::header::HeaderValue;
use hyper::{Response, StatusCode};
use std::convert::Infallible;
use std::fmt;

/// The error type of proxied bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Bodies in both directions, streamed.
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// A whole body.
pub fn full(body: impl Into<Bytes>) -> ProxyBody {
    Full::new(body.into())
        .map_err(|e: Infallible| match e {})
        .boxed_unsync()
}

/// A request the proxy could not relay to a target.
#[derive(Debug)]
pub enum ProxyError {
    /// No listener is served on the port any more (deleted meanwhile).
    NoListener,
    /// None of the listener's rules matched.
    NoRule,
    /// The chosen target group is gone or has no registered target.
    NoTarget,
    /// The matched rule's action is one localelb does not perform.
    Unsupported(String),
    /// A Lambda target group: functions are not invoked locally.
    LambdaTarget { target_group: String },
    /// An `alb` target whose load balancer has no listener served on the target's port.
    AlbNotServed {
        target: String,
        target_group: String,
        port: u16,
    },
    /// The target sent no response within the load balancer's idle timeout.
    Timeout,
    /// The target could not be reached, or broke the connection before its response.
    Upstream(UpstreamError),
}

impl ProxyError {
    /// The status the client gets.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::NoListener | ProxyError::NoRule | ProxyError::NoTarget => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ProxyError::Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
            ProxyError::LambdaTarget { .. }
            | ProxyError::AlbNotServed { .. }
            | ProxyError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ProxyError::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// Whether the failure is localelb's own (AWS would have routed the request): the client
    /// is told why.
    fn own(&self) -> bool {
        matches!(
            self,
            ProxyError::LambdaTarget { .. } | ProxyError::AlbNotServed { .. }
        )
    }

    /// The answer the client gets.
    pub fn response(&self) -> Response<ProxyBody> {
        match self {
            // As ALB answers an action it cannot perform here: plain text, no page.
            ProxyError::Unsupported(msg) => {
                let mut r = Response::new(full(format!("{msg}\n")));
                *r.status_mut() = self.status();
                r
            }
            e if e.own() => error_page_because(e.status(), &e.to_string()),
            e => error_page(e.status()),
        }
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::NoListener => write!(f, "no listener is served on this port"),
            ProxyError::NoRule => write!(f, "no rule matched the request"),
            ProxyError::NoTarget => write!(f, "the target group has no target"),
            ProxyError::Unsupported(msg) => write!(f, "{msg}"),
            ProxyError::LambdaTarget { target_group } => write!(
                f,
                "Target group {target_group} has target type lambda: localelb does not invoke Lambda functions"
            ),
            ProxyError::AlbNotServed {
                target,
                target_group,
                port,
            } => write!(
                f,
                "Target {target} of target group {target_group} has no served listener on port {port}"
            ),
            ProxyError::Timeout => write!(f, "the target did not answer in time"),
            ProxyError::Upstream(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ProxyError {}

/// The page's title and heading: `503 Service Unavailable`.
fn title(status: StatusCode) -> String {
    format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
}

/// ALB-style page for `status` (error pages, and the body of redirects).
pub fn error_page(status: StatusCode) -> Response<ProxyBody> {
    let text = format!(
        "<html>\r\n<head><title>{s}</title></head>\r\n<body>\r\n<center><h1>{s}</h1></center>\r\n</body>\r\n</html>\r\n",
        s = title(status)
    );
    let mut r = Response::new(full(text));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/html"));
    r.headers_mut()
        .insert("server", HeaderValue::from_static("awselb/2.0"));
    r
}

/// ALB-style error page whose body also names the reason, also sent as `X-Localelb-Error`.
fn error_page_because(status: StatusCode, reason: &str) -> Response<ProxyBody> {
    let mut r = error_page(status);
    let page = format!(
        "<html>\r\n<head><title>{s}</title></head>\r\n<body>\r\n<center><h1>{s}</h1></center>\r\n<p>{reason}</p>\r\n</body>\r\n</html>\r\n",
        s = title(status)
    );
    *r.body_mut() = full(page);
    if let Ok(v) = HeaderValue::from_str(reason) {
        r.headers_mut().insert("x-localelb-error", v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parts(e: ProxyError) -> (u16, Vec<(String, String)>, String) {
        let r = e.response();
        let status = r.status().as_u16();
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        let body = r.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    fn page_headers() -> Vec<(String, String)> {
        vec![
            ("content-type".into(), "text/html".into()),
            ("server".into(), "awselb/2.0".into()),
        ]
    }

    #[tokio::test(flavor = "current_thread")]
    async fn aws_failures_get_alb_s_bare_page() {
        let cases = [
            (ProxyError::NoListener, 503, "503 Service Unavailable"),
            (ProxyError::NoRule, 503, "503 Service Unavailable"),
            (ProxyError::NoTarget, 503, "503 Service Unavailable"),
            (ProxyError::Timeout, 504, "504 Gateway Timeout"),
            (
                ProxyError::Upstream(UpstreamError::ConnectTimeout),
                502,
                "502 Bad Gateway",
            ),
        ];
        for (e, status, title) in cases {
            let (s, h, body) = parts(e).await;
            assert_eq!(s, status);
            assert_eq!(h, page_headers());
            assert_eq!(
                body,
                format!("<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n")
            );
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn localelb_s_own_failures_name_the_reason() {
        let (s, h, body) = parts(ProxyError::LambdaTarget {
            target_group: "fn".into(),
        })
        .await;
        let reason =
            "Target group fn has target type lambda: localelb does not invoke Lambda functions";
        assert_eq!(s, 502);
        let mut want = page_headers();
        want.push(("x-localelb-error".into(), reason.into()));
        assert_eq!(h, want);
        assert!(body.contains(&format!("<p>{reason}</p>")), "{body}");
        let (s, h, _) = parts(ProxyError::AlbNotServed {
            target: "arn:lb".into(),
            target_group: "a".into(),
            port: 81,
        })
        .await;
        assert_eq!(s, 502);
        assert_eq!(
            h.last().unwrap().1,
            "Target arn:lb of target group a has no served listener on port 81"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn unsupported_actions_are_plain_text_501() {
        let (s, h, body) = parts(ProxyError::Unsupported(
            "localelb does not perform jwt-validation actions".into(),
        ))
        .await;
        assert_eq!((s, h.len()), (501, 0));
        assert_eq!(body, "localelb does not perform jwt-validation actions\n");
    }
}
