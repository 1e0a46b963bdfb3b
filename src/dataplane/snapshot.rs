//! The routing table: an immutable view of the committed state, rebuilt on every change and
//! swapped atomically. Wildcards, regexes and CIDRs are compiled here, never per request.

use super::rule_match::{self, Condition};
use super::select::{Algorithm, TargetPicker, WeightedPicker};
use crate::health::TargetKey;
use crate::state::{Scope, World};
use api_models as m;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

/// What a matched rule does.
pub enum ActionRoute {
    /// Forward to one of the target groups, picked by weight.
    Forward {
        tgs: Vec<String>,
        weights: Vec<u32>,
        picker: WeightedPicker,
        /// TargetGroupStickinessConfig duration, when enabled.
        stickiness_s: Option<i64>,
    },
    /// An HTTP redirect built from the rule's template.
    Redirect(m::RedirectActionConfig),
    /// A fixed response.
    Fixed {
        status: u16,
        content_type: String,
        body: String,
    },
    /// An action this data plane does not perform (authenticate-*, jwt-validation).
    Unsupported(String),
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

/// A target group's targets and how to pick among them.
pub struct TgRoute {
    pub arn: String,
    pub targets: Vec<(TargetKey, i64, SocketAddr)>,
    pub picker: TargetPicker,
    /// lb_cookie stickiness duration, when `stickiness.enabled` with type lb_cookie.
    pub lb_cookie_s: Option<i64>,
}

/// The whole routing table.
#[derive(Default)]
pub struct Routing {
    pub generation: u64,
    /// Listener port → listeners on it (one per load balancer), oldest load balancer first.
    pub ports: BTreeMap<u16, Vec<Arc<ListenerRoute>>>,
    /// Load balancer DNS name → its listeners.
    pub by_dns: HashMap<String, Vec<Arc<ListenerRoute>>>,
    pub tgs: HashMap<String, Arc<TgRoute>>,
}

fn action_route(actions: &[m::Action]) -> ActionRoute {
    let mut sorted: Vec<&m::Action> = actions.iter().collect();
    sorted.sort_by_key(|a| a.order.unwrap_or(i32::MAX));
    for a in sorted {
        match a.type_.as_deref() {
            Some("forward") => {
                let tuples: Vec<(String, u32)> = match a
                    .forward_config
                    .as_ref()
                    .and_then(|f| f.target_groups.as_ref())
                {
                    Some(t) if !t.is_empty() => t
                        .iter()
                        .filter_map(|t| {
                            Some((
                                t.target_group_arn.clone()?,
                                t.weight.unwrap_or(1).max(0) as u32,
                            ))
                        })
                        .collect(),
                    _ => a.target_group_arn.iter().map(|t| (t.clone(), 1)).collect(),
                };
                let weights: Vec<u32> = tuples.iter().map(|t| t.1).collect();
                let stickiness_s = a
                    .forward_config
                    .as_ref()
                    .and_then(|f| f.target_group_stickiness_config.as_ref())
                    .filter(|c| c.enabled == Some(true))
                    .map(|c| i64::from(c.duration_seconds.unwrap_or(3600)));
                return ActionRoute::Forward {
                    tgs: tuples.into_iter().map(|t| t.0).collect(),
                    picker: WeightedPicker::new(&weights),
                    weights,
                    stickiness_s,
                };
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
                        .unwrap_or(200),
                    content_type: c
                        .content_type
                        .unwrap_or_else(|| "text/plain; charset=utf-8".into()),
                    body: c.message_body.unwrap_or_default(),
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

fn add_scope(scope: &Scope, r: &mut Routing, lb_order: &mut Vec<(u64, String)>) {
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
        let targets: Vec<(TargetKey, i64, SocketAddr)> = tg
            .targets
            .iter()
            .filter_map(|t| {
                let addr = crate::health::target_addr(tt, &t.id, t.port)?;
                Some((
                    TargetKey {
                        tg_arn: arn.clone(),
                        id: t.id.clone(),
                        port: t.port,
                    },
                    t.registered_ms,
                    addr,
                ))
            })
            .collect();
        let algorithm = Algorithm::parse(
            tg.attributes
                .get("load_balancing.algorithm.type")
                .map(String::as_str)
                .unwrap_or("round_robin"),
        );
        let picker = TargetPicker::new(targets.len(), algorithm, None);
        let attr = |k: &str| tg.attributes.get(k).map(String::as_str);
        let lb_cookie_s = (attr("stickiness.enabled") == Some("true")
            && attr("stickiness.type") == Some("lb_cookie"))
        .then(|| {
            attr("stickiness.lb_cookie.duration_seconds")
                .and_then(|v| v.parse().ok())
                .unwrap_or(86_400)
        });
        r.tgs.insert(
            arn.clone(),
            Arc::new(TgRoute {
                arn,
                targets,
                picker,
                lb_cookie_s,
            }),
        );
    }
}

impl Routing {
    /// Builds the table from a committed world.
    pub fn build(world: &World, generation: u64) -> Routing {
        let mut r = Routing {
            generation,
            ..Default::default()
        };
        let mut order = Vec::new();
        for scope in world.scopes.values() {
            add_scope(scope, &mut r, &mut order);
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
        let host = rule_match::strip_port(host).to_ascii_lowercase();
        list.iter()
            .find(|l| l.dns_name == host)
            .or_else(|| list.first())
    }
}
