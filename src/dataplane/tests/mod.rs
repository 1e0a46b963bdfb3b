//! In-process tests of the data plane: state records built directly (no API server), real
//! tokio backends on 127.0.0.1:0, and the proxy driven either through its listener sockets or
//! by calling it with a request.

mod listeners;
mod proxy;
mod snapshot;

use super::error::ProxyBody;
use super::snapshot::{BuildCtx, Routing};
use super::{DataPlane, Settings};
use crate::health::{Health, HealthTable, TargetKey};
use crate::state::{
    ListenerRec, LoadBalancerRec, RuleRec, Scope, TargetGroupRec, TargetRec, World,
};
use api_models as m;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// One scope of state records, built the way the ELBv2 calls leave them.
pub struct TestWorld {
    scope: Scope,
}

impl TestWorld {
    pub fn new() -> TestWorld {
        TestWorld {
            scope: Scope::new(ACCOUNT, REGION),
        }
    }

    fn arn(kind: &str, name: &str) -> String {
        format!("arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:{kind}/{name}")
    }

    /// An application load balancer `name` whose DNS name is `<name>.elb.test`.
    pub fn lb(&mut self, name: &str) -> String {
        let arn = Self::arn("loadbalancer/app", &format!("{name}/0000000000000001"));
        let seq = self.scope.seq();
        self.scope.load_balancers.insert(
            arn.clone(),
            LoadBalancerRec {
                lb: m::LoadBalancer {
                    load_balancer_arn: Some(arn.clone()),
                    load_balancer_name: Some(name.into()),
                    dns_name: Some(dns(name)),
                    type_: Some("application".into()),
                    ..Default::default()
                },
                attributes: BTreeMap::new(),
                tags: Vec::new(),
                seq,
                capacity_units: None,
                capacity_modified: None,
                capacity_decreases: 0,
            },
        );
        arn
    }

    /// A target group `name` of `target_type` with `targets` (id, port) registered.
    pub fn tg(&mut self, name: &str, target_type: &str, targets: &[(&str, u16)]) -> String {
        let arn = Self::arn("targetgroup", &format!("{name}/0000000000000002"));
        let seq = self.scope.seq();
        self.scope.target_groups.insert(
            arn.clone(),
            TargetGroupRec {
                tg: m::TargetGroup {
                    target_group_arn: Some(arn.clone()),
                    target_group_name: Some(name.into()),
                    target_type: Some(target_type.into()),
                    protocol: Some("HTTP".into()),
                    ..Default::default()
                },
                attributes: BTreeMap::new(),
                tags: Vec::new(),
                targets: targets
                    .iter()
                    .map(|(id, port)| TargetRec {
                        id: id.to_string(),
                        port: i32::from(*port),
                        availability_zone: None,
                        quic_server_id: None,
                        registered_ms: REGISTERED_MS,
                    })
                    .collect(),
                draining: Vec::new(),
                seq,
            },
        );
        arn
    }

    /// Sets a target group attribute.
    pub fn tg_attr(&mut self, tg: &str, key: &str, value: &str) {
        let rec = self.scope.target_groups.get_mut(tg).unwrap();
        rec.attributes.insert(key.into(), value.into());
    }

    /// A listener of `lb` on `port` whose default rule does `default`.
    pub fn listener(&mut self, lb: &str, protocol: &str, port: u16, default: m::Action) -> String {
        let seq = self.scope.seq();
        let arn = format!("{}/{seq:016}", lb.replace(":loadbalancer/", ":listener/"));
        self.scope.listeners.insert(
            arn.clone(),
            ListenerRec {
                listener: m::Listener {
                    listener_arn: Some(arn.clone()),
                    load_balancer_arn: Some(lb.into()),
                    port: Some(i32::from(port)),
                    protocol: Some(protocol.into()),
                    default_actions: Some(vec![default.clone()]),
                    ..Default::default()
                },
                attributes: BTreeMap::new(),
                tags: Vec::new(),
                extra_certificates: Vec::new(),
                seq,
            },
        );
        self.insert_rule(&arn, "default", Vec::new(), default);
        arn
    }

    /// Moves a listener to another port (ModifyListener).
    pub fn set_port(&mut self, listener: &str, port: u16) {
        let rec = self.scope.listeners.get_mut(listener).unwrap();
        rec.listener.port = Some(i32::from(port));
    }

    /// A rule of `listener` at `priority`.
    pub fn rule(
        &mut self,
        listener: &str,
        priority: u32,
        conditions: Vec<m::RuleCondition>,
        action: m::Action,
    ) -> String {
        self.insert_rule(listener, &priority.to_string(), conditions, action)
    }

    fn insert_rule(
        &mut self,
        listener: &str,
        priority: &str,
        conditions: Vec<m::RuleCondition>,
        action: m::Action,
    ) -> String {
        let seq = self.scope.seq();
        let arn = format!(
            "{}/{seq:016}",
            listener.replace(":listener/", ":listener-rule/")
        );
        self.scope.rules.insert(
            arn.clone(),
            RuleRec {
                rule: m::Rule {
                    rule_arn: Some(arn.clone()),
                    priority: Some(priority.into()),
                    is_default: Some(priority == "default"),
                    conditions: Some(conditions),
                    actions: Some(vec![action]),
                    ..Default::default()
                },
                listener_arn: listener.into(),
                tags: Vec::new(),
                seq,
            },
        );
        arn
    }

    pub fn world(&self) -> World {
        let mut w = World::default();
        *w.scope_mut(ACCOUNT, REGION) = Arc::new(self.scope.clone());
        w
    }
}

/// The registration time of every target [`TestWorld`] registers.
pub const REGISTERED_MS: i64 = 1_000;

/// A load balancer's DNS name.
pub fn dns(name: &str) -> String {
    format!("{name}.elb.test")
}

/// A forward action to target groups with weights.
pub fn forward(tgs: &[(&str, i32)]) -> m::Action {
    m::Action {
        type_: Some("forward".into()),
        forward_config: Some(m::ForwardActionConfig {
            target_groups: Some(
                tgs.iter()
                    .map(|(arn, w)| m::TargetGroupTuple {
                        target_group_arn: Some(arn.to_string()),
                        weight: Some(*w),
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A fixed-response action.
pub fn fixed(status: u16, body: &str) -> m::Action {
    m::Action {
        type_: Some("fixed-response".into()),
        fixed_response_config: Some(m::FixedResponseActionConfig {
            status_code: Some(status.to_string()),
            message_body: Some(body.into()),
            content_type: Some("text/plain".into()),
        }),
        ..Default::default()
    }
}

/// A `path-pattern` condition.
pub fn path_is(pattern: &str) -> m::RuleCondition {
    m::RuleCondition {
        field: Some("path-pattern".into()),
        values: Some(vec![pattern.into()]),
        ..Default::default()
    }
}

/// Records a target's health as the prober would.
pub fn set_health(health: &HealthTable, tg: &str, id: &str, port: u16, healthy: bool) {
    let key = TargetKey {
        tg_arn: tg.into(),
        id: id.into(),
        port: i32::from(port),
    };
    let state = if healthy { "healthy" } else { "unhealthy" };
    let h = Health {
        state,
        reason: None,
        description: None,
    };
    health.set_for(key, REGISTERED_MS, h);
}

/// A data plane on 127.0.0.1 with one proxy worker and no port offset.
pub fn data_plane(health: &Arc<HealthTable>) -> Arc<DataPlane> {
    let settings = Settings {
        bind: [127, 0, 0, 1].into(),
        port_offset: 0,
        proxy_threads: 1,
        health_time_scale: 1.0,
        certificates: BTreeMap::new(),
    };
    DataPlane::new(settings, health.clone()).unwrap()
}

/// The routing snapshot of `world` (generation 1).
pub fn routing(world: &World, health: &HealthTable) -> Routing {
    let ctx = BuildCtx {
        health,
        time_scale: 1.0,
    };
    Routing::build(world, 1, &ctx)
}

/// A request for `path` with `Host: host`.
pub fn request(host: &str, path: &str) -> Request<ProxyBody> {
    Request::builder()
        .uri(path)
        .header("host", host)
        .body(Empty::new().map_err(|e| match e {}).boxed_unsync())
        .unwrap()
}

/// Status, `X-Localelb-Error` and body of a response.
pub async fn read(resp: Response<ProxyBody>) -> (StatusCode, Option<String>, String) {
    let status = resp.status();
    let error = resp
        .headers()
        .get("x-localelb-error")
        .map(|v| v.to_str().unwrap().to_string());
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, error, String::from_utf8_lossy(&body).into_owned())
}

/// How a test backend behaves.
#[derive(Clone, Copy)]
pub enum Backend {
    /// Answers every request 200 with this body.
    Ok(&'static str),
    /// Reads the request, then resets the connection (no response).
    Reset,
    /// Reads the request and never answers.
    Silent,
}

/// Starts a backend on 127.0.0.1:0 on the current runtime; returns its address.
pub async fn backend(kind: Backend) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(serve_backend(kind, s));
        }
    });
    addr
}

async fn serve_backend(kind: Backend, mut s: tokio::net::TcpStream) {
    match kind {
        Backend::Ok(body) => {
            let svc = hyper::service::service_fn(move |_req| async move {
                Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from_static(
                    body.as_bytes(),
                ))))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(s), svc)
                .await;
        }
        Backend::Reset => {
            read_head(&mut s).await;
            // SO_LINGER 0: closing sends RST instead of FIN.
            let _ = socket2::SockRef::from(&s).set_linger(Some(std::time::Duration::ZERO));
            drop(s);
        }
        Backend::Silent => {
            read_head(&mut s).await;
            std::future::pending::<()>().await;
        }
    }
}

/// Reads until the end of a request head.
async fn read_head(s: &mut tokio::net::TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// GET `path` from `addr` with `Host: host` over a fresh connection.
pub async fn get(addr: SocketAddr, host: &str) -> (StatusCode, String) {
    let s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::builder()
        .uri("/")
        .header("host", host)
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = tx.send_request(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// `n` distinct ports nothing listens on now (bound together on 127.0.0.1:0, then released).
pub fn free_ports<const N: usize>() -> [u16; N] {
    let held: Vec<std::net::TcpListener> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| held[i].local_addr().unwrap().port())
}
