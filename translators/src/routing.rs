//! The typed half of the routing model: what a stored attribute map, condition or action
//! means for routing, decided in one place for every data plane (the native proxy and both
//! Traefik renderers). Attribute keys and their defaults, the algorithm names and the order in
//! which a rule's actions are read exist only here.

use crate::model::{forward_targets, WeightedTg};
use api_models as m;
use std::collections::BTreeMap;

/// An attribute value parsed, or `default` when absent or unparsable (the control plane
/// validates values, so the fallback only guards against stale state).
fn num<T: std::str::FromStr>(attrs: &BTreeMap<String, String>, key: &str, default: T) -> T {
    attrs
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn flag(attrs: &BTreeMap<String, String>, key: &str) -> bool {
    attrs.get(key).map(String::as_str) == Some("true")
}

/// The target group attribute `load_balancing.algorithm.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// `round_robin` (the AWS default).
    #[default]
    RoundRobin,
    /// `least_outstanding_requests`.
    LeastOutstanding,
    /// `weighted_random`.
    WeightedRandom,
}

impl Algorithm {
    /// Parses the attribute value. Anything unrecognised falls back to `round_robin`, the AWS
    /// default; the control plane validates values, so this only guards against stale state.
    pub fn parse(attr: &str) -> Algorithm {
        match attr.trim() {
            "least_outstanding_requests" => Algorithm::LeastOutstanding,
            "weighted_random" => Algorithm::WeightedRandom,
            _ => Algorithm::RoundRobin,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RoundRobin => "round_robin",
            Algorithm::LeastOutstanding => "least_outstanding_requests",
            Algorithm::WeightedRandom => "weighted_random",
        }
    }

    /// The Traefik load-balancing strategy closest to this algorithm, and what is lost on the
    /// way (a render warning), if anything.
    pub fn traefik_strategy(self) -> (&'static str, Option<&'static str>) {
        match self {
            Algorithm::RoundRobin => ("wrr", None),
            Algorithm::LeastOutstanding => (
                "p2c",
                Some("least_outstanding_requests → p2c: the fewer in-flight of two random servers, not the global minimum"),
            ),
            Algorithm::WeightedRandom => (
                "wrr",
                Some("weighted_random → wrr (Traefik has no random weighted strategy; anomaly mitigation is not expressible)"),
            ),
        }
    }
}

/// Target stickiness of a target group (`stickiness.type`, when `stickiness.enabled`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stickiness {
    /// `lb_cookie` (also when no type is stored): the load balancer's `AWSALB` cookie, valid
    /// this many seconds.
    LbCookie { duration_s: u32 },
    /// `app_cookie`: follows the target's own cookie `cookie_name` (possibly empty in stale
    /// state); `AWSALBAPP-0` keeps the client on the target for `duration_s` seconds.
    AppCookie {
        cookie_name: String,
        duration_s: u32,
    },
    /// `source_ip`, `source_ip_dest_ip`, … (network and gateway load balancers).
    Other(String),
}

/// The target group attributes routing reads, with AWS's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TgAttributes {
    pub algorithm: Algorithm,
    /// `load_balancing.algorithm.anomaly_mitigation` = `on` (weighted_random only).
    pub anomaly_mitigation: bool,
    /// None unless `stickiness.enabled`.
    pub stickiness: Option<Stickiness>,
    /// `slow_start.duration_seconds` (0 = off).
    pub slow_start_s: u32,
    /// `deregistration_delay.timeout_seconds`.
    pub deregistration_delay_s: u32,
}

/// One day: the default duration of both stickiness cookies.
const STICKY_DEFAULT_S: u32 = 86_400;

impl TgAttributes {
    /// Reads a target group's stored attribute map.
    pub fn from_map(attrs: &BTreeMap<String, String>) -> TgAttributes {
        let stickiness = flag(attrs, "stickiness.enabled").then(|| {
            match attrs.get("stickiness.type").map(String::as_str) {
                None | Some("lb_cookie") => Stickiness::LbCookie {
                    duration_s: num(
                        attrs,
                        "stickiness.lb_cookie.duration_seconds",
                        STICKY_DEFAULT_S,
                    ),
                },
                Some("app_cookie") => Stickiness::AppCookie {
                    cookie_name: attrs
                        .get("stickiness.app_cookie.cookie_name")
                        .cloned()
                        .unwrap_or_default(),
                    duration_s: num(
                        attrs,
                        "stickiness.app_cookie.duration_seconds",
                        STICKY_DEFAULT_S,
                    ),
                },
                Some(other) => Stickiness::Other(other.to_string()),
            }
        });
        TgAttributes {
            algorithm: Algorithm::parse(
                attrs
                    .get("load_balancing.algorithm.type")
                    .map_or("round_robin", String::as_str),
            ),
            anomaly_mitigation: attrs
                .get("load_balancing.algorithm.anomaly_mitigation")
                .is_some_and(|v| v == "on"),
            stickiness,
            slow_start_s: num(attrs, "slow_start.duration_seconds", 0),
            deregistration_delay_s: num(attrs, "deregistration_delay.timeout_seconds", 300),
        }
    }

    /// The `AWSALB` cookie lifetime when lb_cookie stickiness is on.
    pub fn lb_cookie_seconds(&self) -> Option<u32> {
        match self.stickiness {
            Some(Stickiness::LbCookie { duration_s }) => Some(duration_s),
            _ => None,
        }
    }
}

/// ALB's X-Forwarded-For processing modes (`routing.http.xff_header_processing.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XffMode {
    /// Append the client address to what the client sent (the default).
    #[default]
    Append,
    /// Forward the client's header unchanged (add one if absent).
    Preserve,
    /// Remove the header.
    Remove,
}

/// The load balancer attributes routing reads, with AWS's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbAttributes {
    pub xff: XffMode,
    /// `routing.http.xff_client_port.enabled`.
    pub xff_client_port: bool,
    /// `idle_timeout.timeout_seconds`: a target silent that long gets a 504.
    pub idle_timeout_s: u64,
}

/// ALB's default idle timeout.
pub const IDLE_TIMEOUT_DEFAULT_S: u64 = 60;

impl LbAttributes {
    /// Reads a load balancer's stored attribute map.
    pub fn from_map(attrs: &BTreeMap<String, String>) -> LbAttributes {
        LbAttributes {
            xff: match attrs
                .get("routing.http.xff_header_processing.mode")
                .map(String::as_str)
            {
                Some("preserve") => XffMode::Preserve,
                Some("remove") => XffMode::Remove,
                _ => XffMode::Append,
            },
            xff_client_port: flag(attrs, "routing.http.xff_client_port.enabled"),
            idle_timeout_s: num(
                attrs,
                "idle_timeout.timeout_seconds",
                IDLE_TIMEOUT_DEFAULT_S,
            ),
        }
    }
}

/// A forward action: its target groups with their weights, and group stickiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub groups: Vec<WeightedTg>,
    /// TargetGroupStickinessConfig duration (seconds), when enabled.
    pub stickiness_s: Option<u32>,
}

/// A fixed response with the defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedResponse {
    /// 200 when the stored code is not a status.
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// What a matched rule does.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteAction {
    Forward(Forward),
    Redirect(m::RedirectActionConfig),
    Fixed(FixedResponse),
    /// An authentication action (`authenticate-oidc`, `authenticate-cognito`,
    /// `jwt-validation`) comes first: localelb does not perform it (501).
    NotPerformed(String),
    /// No forward, redirect or fixed-response action: the rule cannot be routed.
    NoTerminal,
}

impl RouteAction {
    /// Reads a rule's actions in `Order`: the first terminal or authentication action decides.
    pub fn from_actions(actions: &[m::Action]) -> RouteAction {
        let mut sorted: Vec<&m::Action> = actions.iter().collect();
        sorted.sort_by_key(|a| a.order.unwrap_or(i32::MAX));
        for a in sorted {
            match a.type_.as_deref() {
                Some("forward") => {
                    let (groups, stickiness_s) = forward_targets(a);
                    return RouteAction::Forward(Forward {
                        groups,
                        stickiness_s,
                    });
                }
                Some("redirect") => {
                    return RouteAction::Redirect(a.redirect_config.clone().unwrap_or_default())
                }
                Some("fixed-response") => {
                    let c = a.fixed_response_config.clone().unwrap_or_default();
                    return RouteAction::Fixed(FixedResponse {
                        status: c
                            .status_code
                            .as_deref()
                            .and_then(|s| s.parse::<u16>().ok())
                            .filter(|s| (100..1000).contains(s))
                            .unwrap_or(200),
                        content_type: c
                            .content_type
                            .unwrap_or_else(|| "text/plain; charset=utf-8".into()),
                        body: c.message_body.unwrap_or_default(),
                    });
                }
                Some(t @ ("authenticate-oidc" | "authenticate-cognito" | "jwt-validation")) => {
                    return RouteAction::NotPerformed(t.to_string())
                }
                _ => {}
            }
        }
        RouteAction::NoTerminal
    }
}

/// A rule condition, typed: which request field it reads and the values it accepts (ORed).
/// Wildcard `values` and `regexes` (RegexValues) are kept as stored; data planes compile them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    HostHeader {
        values: Vec<String>,
        regexes: Vec<String>,
    },
    PathPattern {
        values: Vec<String>,
        regexes: Vec<String>,
    },
    HttpHeader {
        name: String,
        values: Vec<String>,
        regexes: Vec<String>,
    },
    Method(Vec<String>),
    /// (key, value) wildcards; no key matches any key.
    QueryString(Vec<(Option<String>, String)>),
    /// CIDR blocks as stored.
    SourceIp(Vec<String>),
}

/// Why a stored condition cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionError {
    /// No `Field`.
    NoField,
    /// A `Field` no data plane knows.
    UnknownField(String),
    /// The field's config (or a required part of it) is absent.
    Missing {
        field: &'static str,
        what: &'static str,
    },
}

impl std::fmt::Display for ConditionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConditionError::NoField => f.write_str("condition without a Field"),
            ConditionError::UnknownField(x) => write!(f, "unknown condition field {x:?}"),
            ConditionError::Missing { field, what } => {
                write!(f, "{field} condition without {what}")
            }
        }
    }
}

fn list(v: Option<&Vec<String>>) -> Vec<String> {
    v.cloned().unwrap_or_default()
}

fn missing(field: &'static str, what: &'static str) -> ConditionError {
    ConditionError::Missing { field, what }
}

impl Condition {
    /// Reads a stored condition (its typed config first, the legacy `Values` otherwise).
    pub fn parse(c: &m::RuleCondition) -> Result<Condition, ConditionError> {
        let field = c.field.as_deref().ok_or(ConditionError::NoField)?;
        Ok(match field {
            "host-header" => {
                let cfg = c.host_header_config.as_ref();
                Condition::HostHeader {
                    values: list(cfg.and_then(|h| h.values.as_ref()).or(c.values.as_ref())),
                    regexes: list(
                        cfg.and_then(|h| h.regex_values.as_ref())
                            .or(c.regex_values.as_ref()),
                    ),
                }
            }
            "path-pattern" => {
                let cfg = c.path_pattern_config.as_ref();
                Condition::PathPattern {
                    values: list(cfg.and_then(|h| h.values.as_ref()).or(c.values.as_ref())),
                    regexes: list(
                        cfg.and_then(|h| h.regex_values.as_ref())
                            .or(c.regex_values.as_ref()),
                    ),
                }
            }
            "http-header" => {
                let cfg = c
                    .http_header_config
                    .as_ref()
                    .ok_or_else(|| missing("http-header", "HttpHeaderConfig"))?;
                Condition::HttpHeader {
                    name: cfg
                        .http_header_name
                        .clone()
                        .ok_or_else(|| missing("http-header", "HttpHeaderName"))?,
                    values: list(cfg.values.as_ref()),
                    regexes: list(cfg.regex_values.as_ref()),
                }
            }
            // The legacy `Values` stand in for an absent config, as for host and path.
            "http-request-method" => {
                let cfg = c.http_request_method_config.as_ref();
                if cfg.is_none() && c.values.is_none() {
                    return Err(missing("http-request-method", "HttpRequestMethodConfig"));
                }
                Condition::Method(list(
                    cfg.and_then(|h| h.values.as_ref()).or(c.values.as_ref()),
                ))
            }
            "query-string" => Condition::QueryString(
                c.query_string_config
                    .as_ref()
                    .ok_or_else(|| missing("query-string", "QueryStringConfig"))?
                    .values
                    .iter()
                    .flatten()
                    .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
                    .collect(),
            ),
            "source-ip" => {
                let cfg = c.source_ip_config.as_ref();
                if cfg.is_none() && c.values.is_none() {
                    return Err(missing("source-ip", "SourceIpConfig"));
                }
                Condition::SourceIp(list(
                    cfg.and_then(|s| s.values.as_ref()).or(c.values.as_ref()),
                ))
            }
            other => return Err(ConditionError::UnknownField(other.to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn target_group_defaults() {
        let a = TgAttributes::from_map(&BTreeMap::new());
        assert_eq!(a.algorithm, Algorithm::RoundRobin);
        assert_eq!(a.stickiness, None);
        assert_eq!((a.slow_start_s, a.deregistration_delay_s), (0, 300));
        assert!(!a.anomaly_mitigation);
        let on = TgAttributes::from_map(&attrs(&[("stickiness.enabled", "true")]));
        assert_eq!(
            on.stickiness,
            Some(Stickiness::LbCookie { duration_s: 86_400 })
        );
        assert_eq!(on.lb_cookie_seconds(), Some(86_400));
    }

    #[test]
    fn target_group_attributes_are_typed() {
        let a = TgAttributes::from_map(&attrs(&[
            ("load_balancing.algorithm.type", "weighted_random"),
            ("load_balancing.algorithm.anomaly_mitigation", "on"),
            ("stickiness.enabled", "true"),
            ("stickiness.type", "app_cookie"),
            ("stickiness.app_cookie.cookie_name", "SESSION"),
            ("stickiness.app_cookie.duration_seconds", "60"),
            ("slow_start.duration_seconds", "30"),
            ("deregistration_delay.timeout_seconds", "5"),
        ]));
        assert_eq!(a.algorithm, Algorithm::WeightedRandom);
        assert!(a.anomaly_mitigation);
        assert_eq!(
            a.stickiness,
            Some(Stickiness::AppCookie {
                cookie_name: "SESSION".into(),
                duration_s: 60
            })
        );
        assert_eq!(a.lb_cookie_seconds(), None);
        assert_eq!((a.slow_start_s, a.deregistration_delay_s), (30, 5));
        assert_eq!(Algorithm::LeastOutstanding.traefik_strategy().0, "p2c");
    }

    #[test]
    fn load_balancer_defaults_and_values() {
        let d = LbAttributes::from_map(&BTreeMap::new());
        assert_eq!(
            (d.xff, d.xff_client_port, d.idle_timeout_s),
            (XffMode::Append, false, 60)
        );
        let v = LbAttributes::from_map(&attrs(&[
            ("routing.http.xff_header_processing.mode", "remove"),
            ("routing.http.xff_client_port.enabled", "true"),
            ("idle_timeout.timeout_seconds", "5"),
        ]));
        assert_eq!(
            (v.xff, v.xff_client_port, v.idle_timeout_s),
            (XffMode::Remove, true, 5)
        );
    }

    fn action(t: &str, order: i32) -> m::Action {
        m::Action {
            type_: Some(t.into()),
            order: Some(order),
            ..Default::default()
        }
    }

    #[test]
    fn actions_are_read_in_order() {
        let fixed = m::Action {
            fixed_response_config: Some(m::FixedResponseActionConfig {
                status_code: Some("nope".into()),
                ..Default::default()
            }),
            ..action("fixed-response", 2)
        };
        let got = RouteAction::from_actions(&[fixed.clone(), action("authenticate-oidc", 1)]);
        assert_eq!(got, RouteAction::NotPerformed("authenticate-oidc".into()));
        assert_eq!(
            RouteAction::from_actions(&[fixed]),
            RouteAction::Fixed(FixedResponse {
                status: 200,
                content_type: "text/plain; charset=utf-8".into(),
                body: String::new(),
            })
        );
        assert_eq!(RouteAction::from_actions(&[]), RouteAction::NoTerminal);
    }

    #[test]
    fn conditions_without_their_config_are_errors() {
        let c = m::RuleCondition {
            field: Some("http-header".into()),
            ..Default::default()
        };
        assert!(Condition::parse(&c).is_err());
        let c = m::RuleCondition {
            field: Some("cookie".into()),
            ..Default::default()
        };
        assert_eq!(
            Condition::parse(&c).unwrap_err().to_string(),
            "unknown condition field \"cookie\""
        );
        let c = m::RuleCondition {
            field: Some("path-pattern".into()),
            values: Some(vec!["/a".into()]),
            ..Default::default()
        };
        assert_eq!(
            Condition::parse(&c).unwrap(),
            Condition::PathPattern {
                values: vec!["/a".into()],
                regexes: vec![]
            }
        );
    }
}
