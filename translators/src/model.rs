//! The routing model: the ELBv2 state reduced to what routing needs, built once per
//! generation by the server (`src/routing/`) with rules in evaluation order and target addresses
//! and health resolved; read by the native data plane and both Traefik renderers. What stored
//! attributes, conditions and actions mean is typed in [`crate::routing`]. Also the options and
//! output shared by every renderer.

use crate::routing::{LbAttributes, RouteAction, TgAttributes, XffMode, IDLE_TIMEOUT_DEFAULT_S};
use api_models as m;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Everything that routes traffic, over all accounts and regions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    /// Load balancers, oldest first.
    pub load_balancers: Vec<LoadBalancer>,
    /// Target groups (attached or not), in a stable order.
    pub target_groups: Vec<TargetGroup>,
}

/// A load balancer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    /// Lowercase DNS name.
    pub dns_name: String,
    /// `application`, `network` or `gateway`.
    pub type_: String,
    pub attributes: BTreeMap<String, String>,
    /// Listeners in creation order.
    pub listeners: Vec<Listener>,
}

/// A listener.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listener {
    pub arn: String,
    pub port: u16,
    /// `HTTP`, `HTTPS`, `TCP`, `TLS`, `UDP`, `TCP_UDP`, `GENEVE`, `QUIC`, `TCP_QUIC`.
    pub protocol: String,
    /// Certificate ARNs (the default one first).
    pub certificates: Vec<String>,
    pub attributes: BTreeMap<String, String>,
    /// Rules in evaluation order: ascending priority, the default rule last.
    pub rules: Vec<Rule>,
    /// The listener's AlpnPolicy (TLS listeners).
    pub alpn_policy: Option<String>,
}

/// A listener rule (or the listener's default rule).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rule {
    pub arn: String,
    /// ALB priority 1–50000; `None` for the default rule.
    pub priority: Option<u32>,
    pub conditions: Vec<m::RuleCondition>,
    pub actions: Vec<m::Action>,
    pub transforms: Vec<m::RuleTransform>,
}

/// Health-check settings of a target group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthCheck {
    pub enabled: bool,
    pub protocol: Option<String>,
    /// A port number or `traffic-port`.
    pub port: Option<String>,
    pub path: Option<String>,
    pub interval_seconds: Option<u32>,
    pub timeout_seconds: Option<u32>,
    pub healthy_threshold: Option<u32>,
    pub unhealthy_threshold: Option<u32>,
    /// `Matcher.HttpCode` (e.g. `200`, `200-299`, `200,302`).
    pub http_code: Option<String>,
}

/// A target group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    pub protocol: Option<String>,
    pub port: Option<u16>,
    /// `instance`, `ip`, `lambda` or `alb`.
    pub target_type: String,
    pub attributes: BTreeMap<String, String>,
    pub health_check: HealthCheck,
    /// Registered targets in registration order.
    pub targets: Vec<Target>,
}

/// A registered target.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub id: String,
    pub port: u16,
    /// Where traffic goes (resolved by the server); `None` if it has no reachable address.
    pub address: Option<SocketAddr>,
    pub state: TargetState,
    /// When the target was registered (health belongs to one registration); `None` for a
    /// deregistered target still draining.
    pub registered_ms: Option<i64>,
}

/// ALB's target health states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetState {
    Healthy,
    Unhealthy,
    Initial,
    Draining,
    Unused,
    Unavailable,
}

/// Where a listener is served by Traefik.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPoint {
    /// The entryPoint name in Traefik's static configuration.
    pub name: String,
    /// Its address (`host:port`).
    pub address: String,
}

/// Certificate and key files for a DNS name, written by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    pub cert_file: String,
    pub key_file: String,
}

/// How to render.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// Listener ARN → its entryPoint. A listener without one is not rendered (warning).
    pub entry_points: BTreeMap<String, EntryPoint>,
    /// Base URL of localelb's responder (its API port), e.g. `http://127.0.0.1:4566`, used for
    /// fixed responses.
    pub responder_url: String,
    /// Kubernetes namespace for the CRD renderer.
    pub namespace: String,
    /// When set, a marker router `localelb-generation-<g>` is added so the server can tell
    /// when Traefik serves this render.
    pub generation: Option<u64>,
    /// Load balancer DNS name → certificate files for HTTPS/TLS listeners.
    pub certificates: BTreeMap<String, CertFiles>,
}

/// Something the renderer could not express exactly.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Warning {
    /// ARN of the rule, listener, target group or load balancer concerned.
    pub resource: String,
    /// The ALB feature (e.g. `query-string`, `stickiness.app_cookie`).
    pub feature: String,
    pub message: String,
}

/// A render: the Traefik document(s) and what could not be expressed.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub value: serde_json::Value,
    pub warnings: Vec<Warning>,
}

impl Warning {
    pub fn new(resource: &str, feature: &str, message: impl Into<String>) -> Self {
        Warning {
            resource: resource.into(),
            feature: feature.into(),
            message: message.into(),
        }
    }
}

impl Rendered {
    /// A render whose warnings are sorted and deduplicated (stable output for diffs).
    pub fn new(value: serde_json::Value, mut warnings: Vec<Warning>) -> Self {
        warnings.sort();
        warnings.dedup();
        Rendered { value, warnings }
    }
}

impl LoadBalancer {
    /// The attributes routing reads, typed.
    pub fn attrs(&self) -> LbAttributes {
        LbAttributes::from_map(&self.attributes)
    }
    /// Warnings for the attributes Traefik cannot express. Where the idle timeout lives
    /// depends on the renderer, so it says so in `idle_timeout_message`.
    pub fn attribute_warnings(&self, idle_timeout_message: &str) -> Vec<Warning> {
        let attrs = self.attrs();
        let mut w = Vec::new();
        let mode = match attrs.xff {
            XffMode::Append => None,
            XffMode::Preserve => Some("preserve"),
            XffMode::Remove => Some("remove"),
        };
        if let Some(mode) = mode {
            w.push(Warning::new(
                &self.arn,
                "routing.http.xff_header_processing.mode",
                format!(
                    "{mode} is not expressible; Traefik appends the client address (append mode)"
                ),
            ));
        }
        if attrs.xff_client_port {
            w.push(Warning::new(
                &self.arn,
                "routing.http.xff_client_port.enabled",
                "Traefik does not add the client port to X-Forwarded-For",
            ));
        }
        if attrs.idle_timeout_s != IDLE_TIMEOUT_DEFAULT_S {
            w.push(Warning::new(
                &self.arn,
                "idle_timeout.timeout_seconds",
                idle_timeout_message,
            ));
        }
        w
    }
}

/// The last segment of an ARN (the random resource id), used to build short stable names.
pub fn short_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The marker router name for a generation.
pub fn generation_marker(generation: u64) -> String {
    format!("localelb-generation-{generation}")
}

impl Rule {
    /// Whether this is the listener's default rule.
    pub fn is_default(&self) -> bool {
        self.priority.is_none()
    }
    /// Traefik priority: ALB's lowest-wins 1–50000 becomes highest-wins 99999–50000; the
    /// default rule gets 1 (below every rule).
    pub fn traefik_priority(&self) -> i64 {
        crate::matchers::priority(self.priority)
    }
    /// What the rule does (its actions read in `Order`).
    pub fn action(&self) -> RouteAction {
        RouteAction::from_actions(&self.actions)
    }
    /// Actions other than the terminal one (authenticate-*, jwt-validation).
    pub fn non_terminal_actions(&self) -> impl Iterator<Item = &m::Action> {
        self.actions.iter().filter(|a| {
            !matches!(
                a.type_.as_deref(),
                Some("forward" | "redirect" | "fixed-response")
            )
        })
    }
}

/// One target group of a forward action with its weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedTg {
    pub arn: String,
    pub weight: u32,
}

/// A forward action's target groups (ForwardConfig, else TargetGroupArn with weight 1) and
/// group stickiness duration (seconds) when enabled.
pub fn forward_targets(a: &m::Action) -> (Vec<WeightedTg>, Option<u32>) {
    let tgs: Vec<WeightedTg> = match a
        .forward_config
        .as_ref()
        .and_then(|f| f.target_groups.as_ref())
    {
        Some(t) if !t.is_empty() => t
            .iter()
            .filter_map(|t| {
                Some(WeightedTg {
                    arn: t.target_group_arn.clone()?,
                    weight: t.weight.unwrap_or(1).max(0) as u32,
                })
            })
            .collect(),
        _ => a
            .target_group_arn
            .iter()
            .map(|t| WeightedTg {
                arn: t.clone(),
                weight: 1,
            })
            .collect(),
    };
    let sticky = a
        .forward_config
        .as_ref()
        .and_then(|f| f.target_group_stickiness_config.as_ref())
        .filter(|c| c.enabled == Some(true))
        .map(|c| c.duration_seconds.unwrap_or(3600).max(1) as u32);
    (tgs, sticky)
}

impl TargetGroup {
    /// An attribute value.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
    /// The targets that receive traffic, as ALB picks them: the healthy ones; if none is
    /// healthy, every registered target (ALB fails open), draining ones excepted; none when no
    /// target is registered.
    pub fn serving_targets(&self) -> Vec<&Target> {
        let with_addr = || self.targets.iter().filter(|t| t.address.is_some());
        let healthy: Vec<&Target> = with_addr()
            .filter(|t| t.state == TargetState::Healthy)
            .collect();
        if !healthy.is_empty() {
            return healthy;
        }
        with_addr()
            .filter(|t| t.state != TargetState::Draining)
            .collect()
    }
    /// The attributes routing reads, typed.
    pub fn attrs(&self) -> TgAttributes {
        TgAttributes::from_map(&self.attributes)
    }
}

impl State {
    /// The target group with `arn`.
    pub fn target_group(&self, arn: &str) -> Option<&TargetGroup> {
        self.target_groups.iter().find(|t| t.arn == arn)
    }
}
