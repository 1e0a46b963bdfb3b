//! Target health, as the prober last saw it. Kept in memory only (never in DuckDB).
//!
//! The prober ([`spawn_prober`]) is one tokio task. It wakes on every published generation
//! and on a timer, reads the current snapshot, and checks every registered target of every
//! target group that a listener or rule forwards to and whose health checks are enabled:
//!
//! - HTTP/HTTPS: `GET HealthCheckPath` over HTTP/1.1 (HTTPS accepts any certificate); the
//!   status must be in the matcher's codes (`200`, `200-399`, `200,202`).
//! - TCP: a TCP connect.
//! - GRPC target groups (which AWS checks with gRPC over HTTP/2) get a TCP connect check.
//! - Lambda targets cannot be invoked locally: with health checks enabled they count as passing.
//!
//! Where a check goes: `ip` targets use their IP; `instance` targets (`i-…`) and `alb` targets
//! are reached on **127.0.0.1** (there are no EC2 instances locally). The port is the target's
//! port for `traffic-port`, else `HealthCheckPort`.
//!
//! Interval and timeout are `HealthCheckIntervalSeconds` and `HealthCheckTimeoutSeconds`
//! multiplied by `--health-check-time-scale`. A target is `initial` until it reaches a
//! threshold: `HealthyThresholdCount` consecutive successes make it `healthy`,
//! `UnhealthyThresholdCount` consecutive failures make it `unhealthy` (and the reverse
//! transitions need the same streaks). At most one check per target is in flight and at most
//! [`MAX_CONCURRENT_CHECKS`] run at once. State of targets or groups that disappear, stop being
//! used or turn health checks off is dropped. Draining targets are not checked.

use crate::elbv2::target_group::{codes_match, parse_codes};
use crate::elbv2::{CallCtx, Service};
use crate::state::{TargetRec, World};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, RwLock, Weak};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;

/// Identifies a target within a target group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetKey {
    pub tg_arn: String,
    pub id: String,
    pub port: i32,
}

/// The health of one target, in AWS's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub state: &'static str,
    pub reason: Option<&'static str>,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
struct Entry {
    health: Health,
    /// The registration (`TargetRec::registered_ms`) this health belongs to; None = any.
    epoch: Option<i64>,
}

/// `TargetCell::healthy_epoch` when the target is not healthy.
const NOT_HEALTHY: i64 = i64::MIN;
/// `TargetCell::healthy_epoch` for health recorded without a registration (any counts).
const ANY_EPOCH: i64 = i64::MIN + 1;
/// `TargetCell::slow_since_ms` when the target is not in slow start.
pub const NOT_SLOW: i64 = crate::dataplane::select::NOT_SLOW;

/// One target's health as the data plane reads it: atomics the prober updates in place, so a
/// request decides eligibility without a lock or an allocation. Routing snapshots hold the
/// cell of each target they route to; it is the same truth `DescribeTargetHealth` reads.
#[derive(Debug)]
pub struct TargetCell {
    /// The registration the target is healthy for, [`ANY_EPOCH`], or [`NOT_HEALTHY`].
    healthy_epoch: AtomicI64,
    /// When the target entered slow start (Unix ms), or [`NOT_SLOW`].
    slow_since_ms: AtomicI64,
    /// Requests (or streams) in progress to the target, across routing rebuilds.
    in_flight: AtomicUsize,
}

impl Default for TargetCell {
    fn default() -> Self {
        TargetCell {
            healthy_epoch: AtomicI64::new(NOT_HEALTHY),
            slow_since_ms: AtomicI64::new(NOT_SLOW),
            in_flight: AtomicUsize::new(0),
        }
    }
}

/// Counts one request in progress to a target until dropped.
#[derive(Debug)]
pub struct InFlight(Arc<TargetCell>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl TargetCell {
    /// Whether the registration `registered_ms` of this target is healthy.
    pub fn healthy_for(&self, registered_ms: i64) -> bool {
        let e = self.healthy_epoch.load(Ordering::Relaxed);
        e == registered_ms || e == ANY_EPOCH
    }
    /// When the target entered slow start, or [`NOT_SLOW`].
    pub fn slow_since_ms(&self) -> i64 {
        self.slow_since_ms.load(Ordering::Relaxed)
    }
    /// Requests in progress to the target.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
    /// Marks a request to the target as in progress until the guard drops.
    pub fn start(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }
    fn publish(&self, h: &Health, epoch: Option<i64>) {
        let healthy = h.state == "healthy";
        let e = match (healthy, epoch) {
            (false, _) => NOT_HEALTHY,
            (true, Some(e)) => e,
            (true, None) => ANY_EPOCH,
        };
        if !healthy {
            // A target leaves slow start when it stops being healthy.
            self.slow_since_ms.store(NOT_SLOW, Ordering::Relaxed);
        }
        self.healthy_epoch.store(e, Ordering::Relaxed);
    }
    fn reset(&self) {
        self.healthy_epoch.store(NOT_HEALTHY, Ordering::Relaxed);
        self.slow_since_ms.store(NOT_SLOW, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Slot {
    entry: Option<Entry>,
    cell: Arc<TargetCell>,
}

/// target → health, written by the prober, read by DescribeTargetHealth and (through each
/// target's [`TargetCell`]) the data plane.
#[derive(Default)]
pub struct HealthTable {
    map: RwLock<HashMap<TargetKey, Slot>>,
    /// Bumped whenever a target's state changes or is forgotten (data planes that render the
    /// health, like Traefik's, re-render on it).
    changes: watch::Sender<u64>,
}

impl HealthTable {
    /// The last known health of a target.
    pub fn get(&self, k: &TargetKey) -> Option<Health> {
        let map = self.map.read().unwrap();
        map.get(k)?.entry.as_ref().map(|e| e.health.clone())
    }
    /// Records a target's health.
    pub fn set(&self, k: TargetKey, h: Health) {
        self.put(k, h, None);
    }
    fn put(&self, k: TargetKey, h: Health, epoch: Option<i64>) {
        let mut map = self.map.write().unwrap();
        let slot = map.entry(k).or_default();
        slot.cell.publish(&h, epoch);
        let changed = slot
            .entry
            .as_ref()
            .is_none_or(|o| o.health.state != h.state || o.epoch != epoch);
        slot.entry = Some(Entry { health: h, epoch });
        if changed {
            self.changed();
        }
    }
    /// Forgets everything (reset).
    pub fn clear(&self) {
        let mut map = self.map.write().unwrap();
        for s in map.values_mut() {
            s.entry = None;
            s.cell.reset();
        }
        map.retain(|_, s| Arc::strong_count(&s.cell) > 1);
        self.changed();
    }
    /// The health of a target for one registration (`registered_ms`); health recorded for an
    /// earlier registration of the same id and port does not count.
    pub fn get_for(&self, k: &TargetKey, registered_ms: i64) -> Option<Health> {
        let map = self.map.read().unwrap();
        let e = map.get(k)?.entry.as_ref()?;
        (e.epoch.is_none() || e.epoch == Some(registered_ms)).then(|| e.health.clone())
    }
    /// Records a target's health for one registration.
    pub fn set_for(&self, k: TargetKey, registered_ms: i64, h: Health) {
        self.put(k, h, Some(registered_ms));
    }
    /// The data plane's view of a target (created empty if the prober has not seen it yet).
    pub fn cell(&self, k: &TargetKey) -> Arc<TargetCell> {
        if let Some(s) = self.map.read().unwrap().get(k) {
            return s.cell.clone();
        }
        self.map
            .write()
            .unwrap()
            .entry(k.clone())
            .or_default()
            .cell
            .clone()
    }
    /// Puts a healthy target in slow start from `now_ms`.
    pub fn enter_slow_start(&self, k: &TargetKey, now_ms: i64) {
        if let Some(s) = self.map.read().unwrap().get(k) {
            s.cell.slow_since_ms.store(now_ms, Ordering::Relaxed);
        }
    }
    /// Forgets one target.
    pub fn remove(&self, k: &TargetKey) {
        let mut map = self.map.write().unwrap();
        if let Some(s) = map.get_mut(k) {
            let had = s.entry.take().is_some();
            s.cell.reset();
            if Arc::strong_count(&s.cell) == 1 {
                map.remove(k);
            }
            if had {
                self.changed();
            }
        }
    }
    /// Drops cells no routing snapshot holds for targets without health.
    fn prune(&self) {
        self.map
            .write()
            .unwrap()
            .retain(|_, s| s.entry.is_some() || Arc::strong_count(&s.cell) > 1);
    }
    /// Forgets a target's health if it was recorded for another registration.
    fn remove_stale(&self, k: &TargetKey, registered_ms: i64) {
        let mut map = self.map.write().unwrap();
        if let Some(s) = map.get_mut(k) {
            if s.entry
                .as_ref()
                .is_some_and(|e| e.epoch.is_some_and(|ep| ep != registered_ms))
            {
                s.entry = None;
                s.cell.reset();
                self.changed();
            }
        }
    }
    /// Called with the map's write lock held, so a reader that saw a new state also sees the
    /// bumped version.
    fn changed(&self) {
        self.changes.send_modify(|v| *v += 1);
    }
    /// The change counter, to wait for state changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
    /// The current change count.
    pub fn version(&self) -> u64 {
        *self.changes.borrow()
    }
}

// ---------------------------------------------------------------------------------------------
// Threshold state machine (pure)

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

/// Where a target stands between thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Initial,
    Healthy,
    Unhealthy,
}

/// Consecutive-result counting with AWS's thresholds.
#[derive(Debug, Clone)]
pub struct Tracker {
    pub phase: Phase,
    passes: u32,
    failures: u32,
    last_failure: Option<Outcome>,
    checks: u64,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker {
            phase: Phase::Initial,
            passes: 0,
            failures: 0,
            last_failure: None,
            checks: 0,
        }
    }
}

/// `initial` / `Elb.InitialHealthChecking`.
pub fn initial_checking() -> Health {
    Health {
        state: "initial",
        reason: Some("Elb.InitialHealthChecking"),
        description: Some("Initial health checks in progress".into()),
    }
}

/// `unhealthy` with the reason AWS gives for a failed check.
pub fn unhealthy_for(o: Outcome) -> Health {
    let (reason, description) = match o {
        Outcome::Mismatch(c) => (
            "Target.ResponseCodeMismatch",
            format!("Health checks failed with these codes: [{c}]"),
        ),
        Outcome::Timeout => ("Target.Timeout", "Request timed out".to_string()),
        Outcome::Pass | Outcome::Failed => (
            "Target.FailedHealthChecks",
            "Health checks failed".to_string(),
        ),
    };
    Health {
        state: "unhealthy",
        reason: Some(reason),
        description: Some(description),
    }
}

impl Tracker {
    /// A target that has not been checked yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Whether no check has completed yet.
    pub fn is_fresh(&self) -> bool {
        self.checks == 0
    }
    /// Counts one result and returns the health to show.
    pub fn record(
        &mut self,
        o: Outcome,
        healthy_threshold: u32,
        unhealthy_threshold: u32,
    ) -> Health {
        self.checks += 1;
        if o == Outcome::Pass {
            self.passes += 1;
            self.failures = 0;
            if self.passes >= healthy_threshold.max(1) {
                self.phase = Phase::Healthy;
            }
        } else {
            self.failures += 1;
            self.passes = 0;
            self.last_failure = Some(o);
            if self.failures >= unhealthy_threshold.max(1) {
                self.phase = Phase::Unhealthy;
            }
        }
        self.health()
    }
    /// The health for the current phase.
    pub fn health(&self) -> Health {
        match self.phase {
            Phase::Initial => initial_checking(),
            Phase::Healthy => Health {
                state: "healthy",
                reason: None,
                description: None,
            },
            Phase::Unhealthy => unhealthy_for(self.last_failure.unwrap_or(Outcome::Failed)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What to check

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

/// The slow-start window of `slow_start.duration_seconds` = `seconds`, scaled like health
/// checks (`--health-check-time-scale`); zero when off.
pub fn slow_start_window(seconds: i64, scale: f64) -> Duration {
    if seconds <= 0 {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(seconds as f64 * scale)
}

/// Where a target is reached, for health checks and traffic alike: ip targets at their
/// address, everything else (instances, alb targets) on loopback.
pub fn target_addr(target_type: &str, id: &str, port: i32) -> Option<SocketAddr> {
    let ip: IpAddr = match target_type {
        "ip" => id.parse().ok()?,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    Some(SocketAddr::new(ip, u16::try_from(port).ok()?))
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

/// Every target that should be checked now, with its check.
fn desired(world: &World, app: &crate::App) -> HashMap<TargetKey, CheckSpec> {
    let mut out = HashMap::new();
    for scope in world.scopes.values() {
        if scope.target_groups.is_empty() {
            continue;
        }
        let ctx = CallCtx {
            account: scope.account.clone(),
            region: scope.region.clone(),
            config: app.config.clone(),
            health: app.health.clone(),
            now_ms: 0,
        };
        let svc = Service::read(&ctx, scope);
        for rec in scope.target_groups.values() {
            let tg = &rec.tg;
            if !tg.health_check_enabled.unwrap_or(true) || rec.targets.is_empty() {
                continue;
            }
            let arn = tg.target_group_arn.clone().unwrap_or_default();
            if svc.lbs_using_tg(&arn).is_empty() {
                continue;
            }
            let slow_start_s = rec
                .attributes
                .get("slow_start.duration_seconds")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            for t in &rec.targets {
                if let Some(mut spec) =
                    check_spec(tg, t, app.config.health_time_scale, slow_start_s)
                {
                    // An alb target is checked where that load balancer's listener is served.
                    if tg.target_type.as_deref() == Some("alb") {
                        let routing = app.dataplane.routing.load();
                        if let Some(addr) = u16::try_from(spec.addr.port()).ok().and_then(|p| {
                            crate::dataplane::proxy::alb_listener_addr(
                                &app.dataplane,
                                &routing,
                                &t.id,
                                p,
                            )
                        }) {
                            spec.addr = addr;
                        }
                    }
                    out.insert(
                        TargetKey {
                            tg_arn: arn.clone(),
                            id: t.id.clone(),
                            port: t.port,
                        },
                        spec,
                    );
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Running checks

/// Checks running at once, across all targets.
pub const MAX_CONCURRENT_CHECKS: usize = 64;

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

/// Accepts any server certificate (health checks do not validate certificates, as on AWS).
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

static TLS: LazyLock<Option<Arc<rustls::ClientConfig>>> = LazyLock::new(|| {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
        .with_no_client_auth();
    Some(Arc::new(cfg))
});

/// The same, offering HTTP/2 by ALPN (gRPC checks).
static TLS_H2: LazyLock<Option<Arc<rustls::ClientConfig>>> = LazyLock::new(|| {
    let mut cfg = (**TLS.as_ref()?).clone();
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Some(Arc::new(cfg))
});

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

/// TLS over `stream` to the target at `addr` (its certificate is not verified, as ALB's
/// checks do not); None when the handshake fails or no client configuration exists.
async fn tls_connect(
    cfg: &Option<Arc<rustls::ClientConfig>>,
    addr: SocketAddr,
    stream: TcpStream,
) -> Option<tokio_rustls::client::TlsStream<TcpStream>> {
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    tokio_rustls::TlsConnector::from(cfg.clone()?)
        .connect(name, stream)
        .await
        .ok()
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

// ---------------------------------------------------------------------------------------------
// The prober task

struct Probe {
    spec: CheckSpec,
    tracker: Tracker,
    next_due: Instant,
    in_flight: bool,
    /// Changes whenever the spec does, so results of an older spec are ignored.
    token: u64,
    /// When the target entered slow start (Unix ms), if it did.
    slow_since_ms: Option<i64>,
}

struct Done {
    key: TargetKey,
    token: u64,
    outcome: Outcome,
}

fn reconcile(
    probes: &mut HashMap<TargetKey, Probe>,
    want: HashMap<TargetKey, CheckSpec>,
    health: &HealthTable,
    token: &mut u64,
) {
    probes.retain(|k, _| {
        let keep = want.contains_key(k);
        if !keep {
            health.remove(k);
        }
        keep
    });
    let now = Instant::now();
    for (k, spec) in want {
        health.remove_stale(&k, spec.epoch);
        match probes.get_mut(&k) {
            Some(p) if p.spec == spec => {}
            Some(p) => {
                *token += 1;
                p.token = *token;
                if p.spec.epoch != spec.epoch {
                    p.tracker = Tracker::new();
                }
                p.spec = spec;
                p.next_due = now;
            }
            None => {
                *token += 1;
                probes.insert(
                    k,
                    Probe {
                        spec,
                        tracker: Tracker::new(),
                        next_due: now,
                        in_flight: false,
                        token: *token,
                        slow_since_ms: None,
                    },
                );
            }
        }
    }
}

/// AWS rule: a target that turns healthy enters slow start (when the group has a window) only
/// if another target of the group is healthy and not itself in slow start; it leaves slow start
/// when the window ends or it stops being healthy.
fn start_slow_start(probes: &mut HashMap<TargetKey, Probe>, key: &TargetKey, health: &HealthTable) {
    let Some(window) = probes.get(key).map(|p| p.spec.slow_start) else {
        return;
    };
    if window.is_zero() {
        return;
    }
    let now = api_models::Timestamp::now().millis();
    let window_ms = window.as_millis() as i64;
    let warm_peer = probes.iter().any(|(k, p)| {
        k != key
            && k.tg_arn == key.tg_arn
            && p.tracker.phase == Phase::Healthy
            && p.slow_since_ms.is_none_or(|s| now - s >= window_ms)
    });
    if warm_peer {
        if let Some(p) = probes.get_mut(key) {
            p.slow_since_ms = Some(now);
        }
        health.enter_slow_start(key, now);
    }
}

/// Starts the health prober for `app`; it stops when the app is dropped.
pub fn spawn_prober(app: Arc<crate::App>) -> tokio::task::JoinHandle<()> {
    let generation = app.published.generation.subscribe();
    let health = app.health.clone();
    let weak = Arc::downgrade(&app);
    drop(app);
    tokio::spawn(prober(weak, health, generation))
}

async fn prober(
    app: Weak<crate::App>,
    health: Arc<HealthTable>,
    mut generation: watch::Receiver<u64>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Done>();
    let permits = Arc::new(Semaphore::new(MAX_CONCURRENT_CHECKS));
    let mut probes: HashMap<TargetKey, Probe> = HashMap::new();
    let mut token = 0u64;
    let mut dirty = true;
    loop {
        if dirty {
            let Some(a) = app.upgrade() else { return };
            // Where alb targets are served is known once the data plane applied this generation.
            let g = *generation.borrow();
            a.dataplane.wait_applied(g).await;
            let world = a.published.world.load_full();
            let want = desired(&world, &a);
            drop(a);
            reconcile(&mut probes, want, &health, &mut token);
            health.prune();
            dirty = false;
        }
        let now = Instant::now();
        for (k, p) in probes.iter_mut() {
            if p.in_flight || p.next_due > now {
                continue;
            }
            p.in_flight = true;
            if p.tracker.is_fresh() {
                health.set_for(k.clone(), p.spec.epoch, initial_checking());
            }
            let (spec, key, token, tx, permits) = (
                p.spec.clone(),
                k.clone(),
                p.token,
                tx.clone(),
                permits.clone(),
            );
            tokio::spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else {
                    return;
                };
                let outcome = run_check(&spec).await;
                let _ = tx.send(Done {
                    key,
                    token,
                    outcome,
                });
            });
        }
        let idle = now + Duration::from_secs(1);
        let wake = probes
            .values()
            .filter(|p| !p.in_flight)
            .map(|p| p.next_due)
            .min()
            .unwrap_or(idle)
            .min(idle);
        tokio::select! {
            changed = generation.changed() => {
                if changed.is_err() {
                    return;
                }
                dirty = true;
            }
            Some(done) = rx.recv() => {
                let became_healthy = match probes.get_mut(&done.key) {
                    Some(p) if p.token == done.token => {
                        p.in_flight = false;
                        let was = p.tracker.phase;
                        let h = p.tracker.record(done.outcome, p.spec.healthy, p.spec.unhealthy);
                        health.set_for(done.key.clone(), p.spec.epoch, h);
                        p.next_due = Instant::now() + p.spec.interval;
                        if p.tracker.phase != Phase::Healthy {
                            p.slow_since_ms = None;
                        }
                        was != Phase::Healthy && p.tracker.phase == Phase::Healthy
                    }
                    Some(p) => {
                        p.in_flight = false;
                        p.next_due = Instant::now();
                        false
                    }
                    None => false,
                };
                if became_healthy {
                    start_slow_start(&mut probes, &done.key, &health);
                }
            }
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_drive_transitions() {
        let mut t = Tracker::new();
        assert!(t.is_fresh());
        assert_eq!(t.record(Outcome::Pass, 3, 2).state, "initial");
        assert_eq!(t.record(Outcome::Pass, 3, 2).state, "initial");
        assert_eq!(t.record(Outcome::Pass, 3, 2).state, "healthy");
        // One failure below the threshold keeps it healthy; a pass resets the failure streak.
        assert_eq!(t.record(Outcome::Mismatch(503), 3, 2).state, "healthy");
        assert_eq!(t.record(Outcome::Pass, 3, 2).state, "healthy");
        assert_eq!(t.record(Outcome::Mismatch(503), 3, 2).state, "healthy");
        let h = t.record(Outcome::Mismatch(503), 3, 2);
        assert_eq!(
            (h.state, h.reason),
            ("unhealthy", Some("Target.ResponseCodeMismatch"))
        );
        assert_eq!(
            h.description.as_deref(),
            Some("Health checks failed with these codes: [503]")
        );
        // Back to healthy needs the full healthy streak.
        t.record(Outcome::Pass, 3, 2);
        assert_eq!(t.record(Outcome::Pass, 3, 2).state, "unhealthy");
        assert_eq!(t.record(Outcome::Pass, 3, 2).state, "healthy");
    }

    #[test]
    fn new_target_can_go_straight_to_unhealthy() {
        let mut t = Tracker::new();
        assert_eq!(t.record(Outcome::Timeout, 5, 2).state, "initial");
        let h = t.record(Outcome::Timeout, 5, 2);
        assert_eq!(
            (h.state, h.reason, h.description.as_deref()),
            (
                "unhealthy",
                Some("Target.Timeout"),
                Some("Request timed out")
            )
        );
        let f = unhealthy_for(Outcome::Failed);
        assert_eq!(
            (f.reason, f.description.as_deref()),
            (
                Some("Target.FailedHealthChecks"),
                Some("Health checks failed")
            )
        );
    }

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

    #[test]
    fn epochs_hide_stale_health() {
        let t = HealthTable::default();
        let k = TargetKey {
            tg_arn: "a".into(),
            id: "1.2.3.4".into(),
            port: 80,
        };
        t.set_for(k.clone(), 1, initial_checking());
        assert!(t.get_for(&k, 1).is_some());
        assert!(t.get_for(&k, 2).is_none());
        t.remove_stale(&k, 2);
        assert!(t.get(&k).is_none());
        t.set(k.clone(), initial_checking());
        assert!(t.get_for(&k, 7).is_some());
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

    #[test]
    fn cells_follow_the_table() {
        let t = HealthTable::default();
        let k = TargetKey {
            tg_arn: "tg".into(),
            id: "10.0.0.1".into(),
            port: 80,
        };
        let cell = t.cell(&k);
        assert!(!cell.healthy_for(5));
        let healthy = Health {
            state: "healthy",
            reason: None,
            description: None,
        };
        t.set_for(k.clone(), 5, healthy.clone());
        assert!(cell.healthy_for(5) && !cell.healthy_for(6));
        t.enter_slow_start(&k, 1234);
        assert_eq!(cell.slow_since_ms(), 1234);
        t.set_for(k.clone(), 5, unhealthy_for(Outcome::Failed));
        assert!(!cell.healthy_for(5));
        assert_eq!(cell.slow_since_ms(), NOT_SLOW);
        // Removal keeps a referenced cell (reset), so a snapshot never holds an orphan.
        t.set_for(k.clone(), 5, healthy);
        t.remove(&k);
        assert!(!cell.healthy_for(5));
        assert!(Arc::ptr_eq(&cell, &t.cell(&k)));
        drop(cell);
        t.prune();
        assert!(t.map.read().unwrap().is_empty());
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
