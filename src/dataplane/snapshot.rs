//! The routing table: an immutable view of the committed state, rebuilt on every change and
//! swapped atomically. Wildcards, regexes and CIDRs are compiled here, never per request.

use super::rule_match::{self, Condition};
use super::select::{Algorithm, SlowStart, TargetPicker, WeightedPicker};
use crate::health::{HealthTable, TargetCell, TargetKey};
use crate::state::{Scope, World};
use api_models as m;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

/// What a matched rule does.
pub enum ActionRoute {
    /// Forward to one of the target groups, picked by weight.
    Forward(ForwardRoute),
    /// An HTTP redirect built from the rule's template.
    Redirect(m::RedirectActionConfig),
    /// A fixed response.
    Fixed {
        status: hyper::StatusCode,
        /// None when the stored content type is not a valid header value (no header then).
        content_type: Option<hyper::header::HeaderValue>,
        /// Shared with every response: no copy per request.
        body: bytes::Bytes,
    },
    /// An action this data plane does not perform (authenticate-*, jwt-validation).
    Unsupported(String),
}

/// A forward action: its target groups with their weights.
pub struct ForwardRoute {
    pub tgs: Vec<String>,
    pub weights: Vec<u32>,
    pub picker: WeightedPicker,
    /// TargetGroupStickinessConfig duration, when enabled.
    pub stickiness_s: Option<i64>,
}

/// One rule, compiled.
pub struct RuleRoute {
    pub arn: String,
    pub conditions: Vec<Condition>,
    pub action: ActionRoute,
}

/// One listener with its rules in evaluation order (priority, default last).
pub struct ListenerRoute {
    pub arn: String,
    pub lb_arn: String,
    pub lb_name: String,
    pub dns_name: String,
    pub protocol: String,
    pub port: u16,
    pub rules: Vec<RuleRoute>,
    /// How X-Forwarded-For is handled (`routing.http.xff_header_processing.mode`).
    pub xff: XffMode,
    /// Append the client port to X-Forwarded-For (`routing.http.xff_client_port.enabled`).
    pub xff_client_port: bool,
    /// The load balancer's `idle_timeout.timeout_seconds`: a target silent that long gets a 504.
    pub idle_timeout: std::time::Duration,
    /// Certificate ARNs a TLS-terminating listener presents: the default one, then added ones.
    pub certificate_arns: Vec<String>,
    /// The listener's AlpnPolicy (TLS listeners).
    pub alpn_policy: Option<String>,
}

/// ALB's X-Forwarded-For processing modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XffMode {
    /// Append the client address to what the client sent (the default).
    Append,
    /// Forward the client's header unchanged (add one if absent).
    Preserve,
    /// Remove the header.
    Remove,
}

/// One registered target as the proxy sees it.
pub struct TargetRoute {
    pub key: TargetKey,
    /// The registration (`TargetRec::registered_ms`) health must belong to.
    pub registered_ms: i64,
    /// Where traffic goes (the same rule as health checks, `health::target_addr`).
    pub addr: SocketAddr,
    /// Health and slow start, updated in place by the prober.
    pub cell: Arc<TargetCell>,
    /// The stickiness token naming this target in `AWSALB` / `AWSALBAPP-0` cookies.
    pub token: String,
}

impl TargetRoute {
    /// Whether the prober last saw this registration healthy.
    pub fn healthy(&self) -> bool {
        self.cell.healthy_for(self.registered_ms)
    }
}

/// Target stickiness of a target group (`stickiness.type` with `stickiness.enabled`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetStickiness {
    /// `lb_cookie`: the load balancer's `AWSALB` cookie, valid this many seconds.
    LbCookie { duration_s: i64 },
    /// `app_cookie`: follows the target's own cookie `cookie_name`; the load balancer's
    /// `AWSALBAPP-0` cookie keeps the client on the target for `duration_s` seconds.
    AppCookie {
        cookie_name: String,
        duration_s: i64,
    },
}

/// What kind of targets a target group has, as far as the proxy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// `instance` / `ip`: HTTP or bytes to the target's address.
    Address,
    /// `lambda`: functions are not invoked locally.
    Lambda,
    /// `alb`: an Application Load Balancer (ARN) of this process, reached on its listener
    /// with the target's port.
    Alb,
}

/// A target group's targets and how to pick among them.
pub struct TgRoute {
    pub arn: String,
    pub name: String,
    /// The `AWSALBTG` value naming this group (target-group stickiness).
    pub token: String,
    pub kind: TargetKind,
    pub targets: Vec<TargetRoute>,
    pub picker: TargetPicker,
    pub stickiness: Option<TargetStickiness>,
}

impl TgRoute {
    /// Picks a target among the healthy ones (all of them when none is: fail open), with slow
    /// start; reads the targets' cells in place.
    pub fn pick(&self, now_ms: i64) -> Option<usize> {
        self.picker.pick_by(
            |i| self.targets[i].healthy(),
            |i| self.targets[i].cell.slow_since_ms(),
            |i| self.targets[i].cell.in_flight(),
            now_ms,
        )
    }

    /// Counts a request to target `t` as in progress until the guard drops. The count lives in
    /// the target's cell, so it survives routing rebuilds (least outstanding requests).
    pub fn start(&self, t: usize) -> Option<crate::health::InFlight> {
        self.targets.get(t).map(|x| x.cell.start())
    }
}

/// The whole routing table.
#[derive(Default)]
pub struct Routing {
    pub generation: u64,
    /// Listener port → listeners on it (one per load balancer), oldest load balancer first.
    pub ports: BTreeMap<u16, Vec<Arc<ListenerRoute>>>,
    /// Load balancer DNS name → its listeners.
    pub by_dns: HashMap<String, Vec<Arc<ListenerRoute>>>,
    /// Looked up on every forwarded request: foldhash, far cheaper than SipHash on ARNs.
    pub tgs: HashMap<String, Arc<TgRoute>, foldhash::fast::RandomState>,
}

fn action_route(actions: &[m::Action]) -> ActionRoute {
    let mut sorted: Vec<&m::Action> = actions.iter().collect();
    sorted.sort_by_key(|a| a.order.unwrap_or(i32::MAX));
    for a in sorted {
        match a.type_.as_deref() {
            Some("forward") => {
                let (tgs, sticky) = translators::model::forward_targets(a);
                let weights: Vec<u32> = tgs.iter().map(|t| t.weight).collect();
                return ActionRoute::Forward(ForwardRoute {
                    tgs: tgs.into_iter().map(|t| t.arn).collect(),
                    picker: WeightedPicker::new(&weights),
                    weights,
                    // ForwardConfig validation keeps the duration in 1..=604800.
                    stickiness_s: sticky.map(i64::from),
                });
            }
            Some("redirect") => {
                return ActionRoute::Redirect(a.redirect_config.clone().unwrap_or_default())
            }
            Some("fixed-response") => {
                let c = a.fixed_response_config.clone().unwrap_or_default();
                return ActionRoute::Fixed {
                    status: c
                        .status_code
                        .as_deref()
                        .and_then(|s| s.parse().ok())
                        .and_then(|s| hyper::StatusCode::from_u16(s).ok())
                        .unwrap_or(hyper::StatusCode::OK),
                    content_type: hyper::header::HeaderValue::from_str(
                        c.content_type
                            .as_deref()
                            .unwrap_or("text/plain; charset=utf-8"),
                    )
                    .ok(),
                    body: c.message_body.unwrap_or_default().into(),
                };
            }
            // Authentication runs before the terminal action; it is not performed locally.
            Some(t @ ("authenticate-oidc" | "authenticate-cognito" | "jwt-validation")) => {
                return ActionRoute::Unsupported(format!("localelb does not perform {t} actions"));
            }
            _ => {}
        }
    }
    ActionRoute::Unsupported("the rule has no terminal action".into())
}

/// A listener's certificate ARNs: its default certificate, then the added ones.
fn certificate_arns(l: &crate::state::ListenerRec) -> Vec<String> {
    let mut arns: Vec<String> = l
        .listener
        .certificates
        .iter()
        .flatten()
        .filter_map(|c| c.certificate_arn.clone())
        .take(1)
        .collect();
    arns.extend(l.extra_certificates.iter().cloned());
    arns
}

/// What a routing build needs besides the committed state.
pub struct BuildCtx<'a> {
    /// The prober's table: each target's cell comes from it.
    pub health: &'a HealthTable,
    /// `--health-check-time-scale`: slow-start windows scale with it.
    pub time_scale: f64,
}

fn add_scope(
    scope: &Scope,
    r: &mut Routing,
    lb_order: &mut Vec<(u64, String)>,
    ctx: &BuildCtx<'_>,
) {
    for l in scope.listeners.values() {
        let li = &l.listener;
        let (Some(arn), Some(lb_arn)) = (li.listener_arn.clone(), li.load_balancer_arn.clone())
        else {
            continue;
        };
        let Some(lb) = scope.load_balancers.get(&lb_arn) else {
            continue;
        };
        let port = li.port.and_then(|p| u16::try_from(p).ok()).unwrap_or(6081);
        let mut rules: Vec<&crate::state::RuleRec> = scope
            .rules
            .values()
            .filter(|x| x.listener_arn == arn)
            .collect();
        // Priority order, the default rule last.
        rules.sort_by_key(|x| {
            x.rule
                .priority
                .as_deref()
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(u32::MAX)
        });
        let rules = rules
            .into_iter()
            .map(|x| RuleRoute {
                arn: x.rule.rule_arn.clone().unwrap_or_default(),
                conditions: x
                    .rule
                    .conditions
                    .iter()
                    .flatten()
                    .filter_map(rule_match::compile)
                    .collect(),
                action: action_route(x.rule.actions.as_deref().unwrap_or_default()),
            })
            .collect();
        let lb_attr = |k: &str| lb.attributes.get(k).map(String::as_str);
        let route = Arc::new(ListenerRoute {
            arn,
            lb_arn: lb_arn.clone(),
            lb_name: lb.lb.load_balancer_name.clone().unwrap_or_default(),
            dns_name: lb
                .lb
                .dns_name
                .clone()
                .unwrap_or_default()
                .to_ascii_lowercase(),
            protocol: li.protocol.clone().unwrap_or_else(|| "GENEVE".into()),
            port,
            rules,
            xff: match lb_attr("routing.http.xff_header_processing.mode") {
                Some("preserve") => XffMode::Preserve,
                Some("remove") => XffMode::Remove,
                _ => XffMode::Append,
            },
            xff_client_port: lb_attr("routing.http.xff_client_port.enabled") == Some("true"),
            idle_timeout: std::time::Duration::from_secs(
                lb_attr("idle_timeout.timeout_seconds")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(60),
            ),
            certificate_arns: certificate_arns(l),
            alpn_policy: li.alpn_policy.as_ref().and_then(|p| p.first()).cloned(),
        });
        lb_order.push((lb.seq, route.arn.clone()));
        r.ports.entry(port).or_default().push(route.clone());
        r.by_dns
            .entry(route.dns_name.clone())
            .or_default()
            .push(route);
    }
    for tg in scope.target_groups.values() {
        let Some(arn) = tg.tg.target_group_arn.clone() else {
            continue;
        };
        let tt = tg.tg.target_type.as_deref().unwrap_or("instance");
        let targets: Vec<TargetRoute> = tg
            .targets
            .iter()
            .filter_map(|t| {
                // Lambda targets have no address; they are answered with an error page.
                let addr = crate::health::target_addr(tt, &t.id, t.port)
                    .or_else(|| (tt == "lambda").then(|| SocketAddr::from(([0, 0, 0, 0], 0))))?;
                let key = TargetKey {
                    tg_arn: arn.clone(),
                    id: t.id.clone(),
                    port: t.port,
                };
                Some(TargetRoute {
                    cell: ctx.health.cell(&key),
                    token: super::sticky::token(&format!("{arn}|{addr}")),
                    key,
                    registered_ms: t.registered_ms,
                    addr,
                })
            })
            .collect();
        let attr = |k: &str| tg.attributes.get(k).map(String::as_str);
        let algorithm =
            Algorithm::parse(attr("load_balancing.algorithm.type").unwrap_or("round_robin"));
        let slow_start_s: i64 = attr("slow_start.duration_seconds")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let window = crate::health::slow_start_window(slow_start_s, ctx.time_scale);
        let slow_start = (!window.is_zero()).then(|| SlowStart {
            duration_ms: (window.as_millis() as i64).max(1),
        });
        let picker = TargetPicker::new(targets.len(), algorithm, slow_start);
        let stickiness = if attr("stickiness.enabled") != Some("true") {
            None
        } else {
            match attr("stickiness.type") {
                Some("lb_cookie") => Some(TargetStickiness::LbCookie {
                    duration_s: attr("stickiness.lb_cookie.duration_seconds")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(86_400),
                }),
                Some("app_cookie") => attr("stickiness.app_cookie.cookie_name")
                    .filter(|n| !n.is_empty())
                    .map(|n| TargetStickiness::AppCookie {
                        cookie_name: n.to_string(),
                        duration_s: attr("stickiness.app_cookie.duration_seconds")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(86_400),
                    }),
                _ => None,
            }
        };
        r.tgs.insert(
            arn.clone(),
            Arc::new(TgRoute {
                name: tg.tg.target_group_name.clone().unwrap_or_default(),
                token: super::sticky::token(&arn),
                kind: match tt {
                    "lambda" => TargetKind::Lambda,
                    "alb" => TargetKind::Alb,
                    _ => TargetKind::Address,
                },
                arn,
                targets,
                picker,
                stickiness,
            }),
        );
    }
}

impl Routing {
    /// Builds the table from a committed world.
    pub fn build(world: &World, generation: u64, ctx: &BuildCtx<'_>) -> Routing {
        let mut r = Routing {
            generation,
            ..Default::default()
        };
        let mut order = Vec::new();
        for scope in world.scopes.values() {
            add_scope(scope, &mut r, &mut order, ctx);
        }
        // Listeners sharing a port: the oldest load balancer is the default for unknown hosts.
        let rank: HashMap<String, u64> = order.into_iter().map(|(s, a)| (a, s)).collect();
        for v in r.ports.values_mut() {
            v.sort_by_key(|l| rank.get(&l.arn).copied().unwrap_or(u64::MAX));
        }
        r
    }

    /// The listener on `port` for a request with `host`: the load balancer whose DNS name is the
    /// host, else the oldest load balancer listening there.
    pub fn listener_for(&self, port: u16, host: &str) -> Option<&Arc<ListenerRoute>> {
        let list = self.ports.get(&port)?;
        let host = rule_match::strip_port(host);
        list.iter()
            .find(|l| l.dns_name.eq_ignore_ascii_case(host))
            .or_else(|| list.first())
    }
}
