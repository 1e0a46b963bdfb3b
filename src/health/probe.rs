//! One health check of one target: what to check (derived from its target group, including
//! the matcher's codes) and running it.
//!
//! - HTTP/HTTPS: `GET HealthCheckPath` over HTTP/1.1 (HTTPS accepts any certificate); the
//!   status must be in the matcher's codes (`200`, `200-399`, `200,202`).
//! - gRPC (`ProtocolVersion` GRPC with an HTTP/HTTPS check): a gRPC call over HTTP/2; the
//!   `grpc-status` must be in the matcher's `GrpcCode` set.
//! - TCP: a TCP connect.
//! - Lambda targets cannot be invoked locally: with health checks enabled they count as passing.
//!
//! Where a check goes: [`target_addr`]; the port is the target's port for `traffic-port`, else
//! `HealthCheckPort`. Interval and timeout are `HealthCheckIntervalSeconds` and
//! `HealthCheckTimeoutSeconds` multiplied by `--health-check-time-scale`.

use super::target::{slow_start_window, target_addr};
use super::tls::{tls_connect, TLS, TLS_H2};
use crate::elbv2::target_group::{codes_match, parse_codes};
use crate::state::TargetRec;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The result of one health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// An HTTP status outside the matcher.
    Mismatch(u16),
    Timeout,
    /// Connection refused, reset, TLS failure or an unreadable response.
    Failed,
}

/// How one target is checked.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckKind {
    Tcp,
    Http {
        tls: bool,
        path: String,
        codes: Vec<(u16, u16)>,
    },
    /// gRPC over HTTP/2 (`h2c`, or TLS with ALPN h2): `POST path`, and the `grpc-status` of the
    /// answer (headers or trailers) must be in the matcher's `GrpcCode` set.
    Grpc {
        tls: bool,
        path: String,
        codes: Vec<(u16, u16)>,
    },
    /// Cannot be checked locally (lambda): always passes.
    Pass,
}

/// One target's check, as derived from its target group.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSpec {
    /// The registration it belongs to (`registered_ms`).
    pub epoch: i64,
    pub kind: CheckKind,
    pub addr: SocketAddr,
    pub interval: Duration,
    pub timeout: Duration,
    pub healthy: u32,
    pub unhealthy: u32,
    /// The target group's slow-start window (scaled), zero when off.
    pub slow_start: Duration,
}

fn scaled(seconds: i32, scale: f64) -> Duration {
    Duration::from_secs_f64((seconds.max(1) as f64 * scale).max(0.01))
}

/// The check for one target of a target group; None if it cannot be addressed.
pub fn check_spec(
    tg: &api_models::TargetGroup,
    t: &TargetRec,
    scale: f64,
    slow_start_s: i64,
) -> Option<CheckSpec> {
    let tt = tg.target_type.as_deref().unwrap_or("instance");
    let port: i32 = match tg.health_check_port.as_deref() {
        None | Some("traffic-port") => t.port,
        Some(p) => p.parse().ok()?,
    };
    let addr = target_addr(tt, &t.id, port)?;
    let hc = tg.health_check_protocol.as_deref().unwrap_or("TCP");
    let kind = if tt == "lambda" {
        CheckKind::Pass
    } else if hc == "TCP" {
        CheckKind::Tcp
    } else if tg.protocol_version.as_deref() == Some("GRPC") {
        CheckKind::Grpc {
            tls: hc == "HTTPS",
            path: tg
                .health_check_path
                .clone()
                .unwrap_or_else(|| "/AWS.ALB/healthcheck".into()),
            codes: tg
                .matcher
                .as_ref()
                .and_then(|m| m.grpc_code.as_deref())
                .and_then(parse_codes)
                .unwrap_or_else(|| vec![(12, 12)]),
        }
    } else {
        let codes = tg
            .matcher
            .as_ref()
            .and_then(|m| m.http_code.as_deref())
            .and_then(parse_codes)
            .unwrap_or_else(|| vec![(200, 200)]);
        CheckKind::Http {
            tls: hc == "HTTPS",
            path: tg.health_check_path.clone().unwrap_or_else(|| "/".into()),
            codes,
        }
    };
    Some(CheckSpec {
        epoch: t.registered_ms,
        kind,
        addr,
        interval: scaled(tg.health_check_interval_seconds.unwrap_or(30), scale),
        timeout: scaled(tg.health_check_timeout_seconds.unwrap_or(5), scale),
        healthy: tg.healthy_threshold_count.unwrap_or(5).max(1) as u32,
        unhealthy: tg.unhealthy_threshold_count.unwrap_or(2).max(1) as u32,
        slow_start: slow_start_window(slow_start_s, scale),
    })
}

/// Parses `HTTP/1.1 200 OK` → 200.
pub fn parse_status_line(line: &[u8]) -> Option<u16> {
    let s = std::str::from_utf8(line).ok()?;
    let mut it = s.split_whitespace();
    if !it.next()?.starts_with("HTTP/") {
        return None;
    }
    let code = it.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

async fn http_status<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    host: &str,
    path: &str,
) -> Option<u16> {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ELB-HealthChecker/2.0\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
            return parse_status_line(&buf[..end]);
        }
        if buf.len() > 8192 {
            return None;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return parse_status_line(&buf);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn check_once(spec: &CheckSpec) -> Outcome {
    match &spec.kind {
        CheckKind::Pass => Outcome::Pass,
        CheckKind::Tcp => match TcpStream::connect(spec.addr).await {
            Ok(_) => Outcome::Pass,
            Err(_) => Outcome::Failed,
        },
        CheckKind::Http { tls, path, codes } => {
            let Ok(stream) = TcpStream::connect(spec.addr).await else {
                return Outcome::Failed;
            };
            let host = spec.addr.to_string();
            let status = if *tls {
                match tls_connect(&TLS, spec.addr, stream).await {
                    Some(s) => http_status(s, &host, path).await,
                    None => None,
                }
            } else {
                http_status(stream, &host, path).await
            };
            outcome(codes, status)
        }
        CheckKind::Grpc { tls, path, codes } => {
            let Ok(stream) = TcpStream::connect(spec.addr).await else {
                return Outcome::Failed;
            };
            let authority = spec.addr.to_string();
            let status = if *tls {
                match tls_connect(&TLS_H2, spec.addr, stream).await {
                    Some(s) => grpc_status(s, "https", &authority, path).await,
                    None => None,
                }
            } else {
                grpc_status(stream, "http", &authority, path).await
            };
            outcome(codes, status)
        }
    }
}
/// A check's verdict from the status (HTTP or gRPC code) the target answered, if any.
fn outcome(codes: &[(u16, u16)], status: Option<u16>) -> Outcome {
    match status {
        None => Outcome::Failed,
        Some(c) if codes_match(codes, c) => Outcome::Pass,
        Some(c) => Outcome::Mismatch(c),
    }
}

/// One gRPC call over HTTP/2 (prior knowledge); the `grpc-status` from the response headers
/// (a trailers-only answer) or trailers. None when the target does not speak gRPC.
async fn grpc_status<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    io: S,
    scheme: &str,
    authority: &str,
    path: &str,
) -> Option<u16> {
    use http_body_util::{BodyExt, Full};
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(io),
    )
    .await
    .ok()?;
    tokio::spawn(conn);
    // An empty grpc.health.v1.HealthCheckRequest: uncompressed, zero-length message.
    let req = hyper::Request::post(format!("{scheme}://{authority}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("user-agent", "ELB-HealthChecker/2.0")
        .body(Full::new(bytes::Bytes::from_static(&[0, 0, 0, 0, 0])))
        .ok()?;
    let resp = sender.send_request(req).await.ok()?;
    let parse = |h: &hyper::HeaderMap| -> Option<u16> {
        h.get("grpc-status")?.to_str().ok()?.trim().parse().ok()
    };
    if let Some(c) = parse(resp.headers()) {
        return Some(c);
    }
    let body = resp.into_body().collect().await.ok()?;
    parse(body.trailers()?)
}

/// Runs one check within the spec's timeout.
pub async fn run_check(spec: &CheckSpec) -> Outcome {
    tokio::time::timeout(spec.timeout, check_once(spec))
        .await
        .unwrap_or(Outcome::Timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(parse_status_line(b"HTTP/1.1 200 OK"), Some(200));
        assert_eq!(
            parse_status_line(b"HTTP/1.0 503 Service Unavailable"),
            Some(503)
        );
        assert_eq!(parse_status_line(b"SSH-2.0-OpenSSH"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1 20 OK"), None);
    }

    fn tg(protocol: &str, tt: &str, hc: &str) -> api_models::TargetGroup {
        api_models::TargetGroup {
            protocol: Some(protocol.into()),
            target_type: Some(tt.into()),
            health_check_protocol: Some(hc.into()),
            health_check_port: Some("traffic-port".into()),
            health_check_path: Some("/health".into()),
            matcher: Some(api_models::Matcher {
                http_code: Some("200-299".into()),
                grpc_code: None,
            }),
            health_check_interval_seconds: Some(30),
            health_check_timeout_seconds: Some(5),
            ..Default::default()
        }
    }

    #[test]
    fn specs_address_targets() {
        let t = TargetRec {
            id: "i-0abc".into(),
            port: 8080,
            availability_zone: None,
            quic_server_id: None,
            registered_ms: 9,
        };
        let s = check_spec(&tg("HTTP", "instance", "HTTP"), &t, 0.01, 30).unwrap();
        assert_eq!(s.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(s.interval, Duration::from_millis(300));
        // The slow-start window scales like health checks: 30 s at 0.01 → 300 ms.
        assert_eq!(s.slow_start, Duration::from_millis(300));
        assert_eq!(
            s.kind,
            CheckKind::Http {
                tls: false,
                path: "/health".into(),
                codes: vec![(200, 299)]
            }
        );
        let ip = TargetRec {
            id: "127.0.0.2".into(),
            ..t.clone()
        };
        let s = check_spec(&tg("TCP", "ip", "TCP"), &ip, 1.0, 0).unwrap();
        assert_eq!(
            (s.addr, s.kind),
            ("127.0.0.2:8080".parse().unwrap(), CheckKind::Tcp)
        );
        let mut custom = tg("HTTPS", "ip", "HTTPS");
        custom.health_check_port = Some("9000".into());
        assert_eq!(check_spec(&custom, &ip, 1.0, 0).unwrap().addr.port(), 9000);
    }

    #[tokio::test]
    async fn http_and_tcp_checks_against_a_local_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    let ok = String::from_utf8_lossy(&buf[..n]).starts_with("GET /ok ");
                    let resp: &[u8] = if ok {
                        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
                    } else {
                        b"HTTP/1.1 503 No\r\ncontent-length: 0\r\n\r\n"
                    };
                    let _ = s.write_all(resp).await;
                });
            }
        });
        let spec = |path: &str| CheckSpec {
            epoch: 0,
            kind: CheckKind::Http {
                tls: false,
                path: path.into(),
                codes: vec![(200, 200)],
            },
            addr,
            interval: Duration::from_millis(100),
            timeout: Duration::from_secs(2),
            healthy: 2,
            unhealthy: 2,
            slow_start: Duration::ZERO,
        };
        assert_eq!(run_check(&spec("/ok")).await, Outcome::Pass);
        assert_eq!(run_check(&spec("/bad")).await, Outcome::Mismatch(503));
        let tcp = CheckSpec {
            kind: CheckKind::Tcp,
            ..spec("/")
        };
        assert_eq!(run_check(&tcp).await, Outcome::Pass);
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        assert_eq!(
            run_check(&CheckSpec {
                addr: closed,
                ..tcp
            })
            .await,
            Outcome::Failed
        );
    }

    #[test]
    fn specs_take_matcher_lists_ranges_and_grpc_codes() {
        let t = TargetRec {
            id: "10.0.0.1".into(),
            port: 50051,
            availability_zone: None,
            quic_server_id: None,
            registered_ms: 1,
        };
        let mut g = tg("HTTP", "ip", "HTTP");
        g.matcher = Some(api_models::Matcher {
            http_code: Some("200,202,300-399".into()),
            grpc_code: None,
        });
        let CheckKind::Http { codes, .. } = check_spec(&g, &t, 1.0, 0).unwrap().kind else {
            panic!("expected an HTTP check");
        };
        assert!(codes_match(&codes, 202) && codes_match(&codes, 301));
        assert!(!codes_match(&codes, 201) && !codes_match(&codes, 400));
        g.protocol_version = Some("GRPC".into());
        g.matcher = Some(api_models::Matcher {
            http_code: None,
            grpc_code: Some("0-2,12".into()),
        });
        assert_eq!(
            check_spec(&g, &t, 1.0, 0).unwrap().kind,
            CheckKind::Grpc {
                tls: false,
                path: "/health".into(),
                codes: vec![(0, 2), (12, 12)]
            }
        );
        // TCP health checks stay TCP whatever the protocol version.
        g.health_check_protocol = Some("TCP".into());
        assert_eq!(check_spec(&g, &t, 1.0, 0).unwrap().kind, CheckKind::Tcp);
    }

    #[tokio::test]
    async fn grpc_checks_read_grpc_status_from_headers_or_trailers() {
        use http_body_util::{BodyExt, Full, StreamBody};
        use hyper::body::Frame;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                let svc = hyper::service::service_fn(
                    |req: hyper::Request<hyper::body::Incoming>| async move {
                        type B = http_body_util::combinators::BoxBody<
                            bytes::Bytes,
                            std::convert::Infallible,
                        >;
                        let resp: hyper::Response<B> = match req.uri().path() {
                            // Trailers-only answer: grpc-status in the headers.
                            "/serving" => hyper::Response::builder()
                                .header("content-type", "application/grpc")
                                .header("grpc-status", "0")
                                .body(Full::new(bytes::Bytes::new()).boxed())
                                .unwrap(),
                            // A normal answer: grpc-status in the trailers.
                            path => {
                                let code = if path == "/unimplemented" { "12" } else { "5" };
                                let mut tr = hyper::HeaderMap::new();
                                tr.insert("grpc-status", code.parse().unwrap());
                                let frames = vec![
                                    Ok::<_, std::convert::Infallible>(Frame::data(
                                        bytes::Bytes::from_static(&[0, 0, 0, 0, 0]),
                                    )),
                                    Ok(Frame::trailers(tr)),
                                ];
                                hyper::Response::builder()
                                    .header("content-type", "application/grpc")
                                    .body(
                                        StreamBody::new(futures_util::stream::iter(frames)).boxed(),
                                    )
                                    .unwrap()
                            }
                        };
                        Ok::<_, std::convert::Infallible>(resp)
                    },
                );
                tokio::spawn(
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(s), svc),
                );
            }
        });
        let spec = |path: &str, codes: Vec<(u16, u16)>| CheckSpec {
            epoch: 0,
            kind: CheckKind::Grpc {
                tls: false,
                path: path.into(),
                codes,
            },
            addr,
            interval: Duration::from_millis(100),
            timeout: Duration::from_secs(5),
            healthy: 2,
            unhealthy: 2,
            slow_start: Duration::ZERO,
        };
        assert_eq!(
            run_check(&spec("/serving", vec![(0, 0)])).await,
            Outcome::Pass
        );
        assert_eq!(
            run_check(&spec("/unimplemented", vec![(12, 12)])).await,
            Outcome::Pass
        );
        assert_eq!(
            run_check(&spec("/missing", vec![(0, 0), (12, 12)])).await,
            Outcome::Mismatch(5)
        );
        // An HTTP/1-only server is not a gRPC target.
        let h1 = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let h1_addr = h1.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = h1.accept().await {
                let _ = s
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        let mut bad = spec("/serving", vec![(0, 0)]);
        bad.addr = h1_addr;
        assert_eq!(run_check(&bad).await, Outcome::Failed);
    }
}
