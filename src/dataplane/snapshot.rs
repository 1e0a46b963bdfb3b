//! The routing table: the routing model (`crate::routing`) compiled for the proxy, rebuilt on
//! every change and swapped atomically. Wildcards, regexes and CIDRs are compiled here, never
//! per request; target cells (health, in-flight counts) are taken from the health table.

use super::rule_match;
use super::select::{SlowStart, TargetPicker, WeightedPicker};
use crate::health::{HealthTable, TargetCell, TargetKey};
use crate::routing::{Model, Unroutable};
use crate::state::World;
use api_models as m;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use translators::model as tm;
pub use translators::routing::XffMode;
use translators::routing::{Condition, RouteAction, Stickiness};

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
    pub conditions: Vec<rule_match::Condition>,
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
    /// Stored rules the model could not route (reported with the endpoints).
    pub unroutable: Vec<Unroutable>,
}

fn action_route(action: RouteAction) -> ActionRoute {
    match action {
        RouteAction::Forward(f) => {
            let weights: Vec<u32> = f.groups.iter().map(|t| t.weight).collect();
            ActionRoute::Forward(ForwardRoute {
                tgs: f.groups.into_iter().map(|t| t.arn).collect(),
                picker: WeightedPicker::new(&weights),
                weights,
                // ForwardConfig validation keeps the duration in 1..=604800.
                stickiness_s: f.stickiness_s.map(i64::from),
            })
        }
        RouteAction::Redirect(cfg) => ActionRoute::Redirect(cfg),
        RouteAction::Fixed(c) => ActionRoute::Fixed {
            status: hyper::StatusCode::from_u16(c.status).unwrap_or(hyper::StatusCode::OK),
            content_type: hyper::header::HeaderValue::from_str(&c.content_type).ok(),
            body: c.body.into(),
        },
        // Authentication runs before the terminal action; it is not performed locally.
        RouteAction::NotPerformed(t) => {
            ActionRoute::Unsupported(format!("localelb does not perform {t} actions"))
        }
        RouteAction::NoTerminal => {
            ActionRoute::Unsupported("the rule has no terminal action".into())
        }
    }
}

/// What a routing build needs besides the committed state.
pub struct BuildCtx<'a> {
    /// The prober's table: each target's cell comes from it.
    pub health: &'a HealthTable,
    /// `--health-check-time-scale`: slow-start windows scale with it.
    pub time_scale: f64,
}

fn listener_route(lb: &tm::LoadBalancer, l: &tm::Listener) -> ListenerRoute {
    let attrs = lb.attrs();
    ListenerRoute {
        arn: l.arn.clone(),
        lb_arn: lb.arn.clone(),
        lb_name: lb.name.clone(),
        dns_name: lb.dns_name.clone(),
        protocol: l.protocol.clone(),
        port: l.port,
        rules: l
            .rules
            .iter()
            .map(|r| RuleRoute {
                arn: r.arn.clone(),
                // The model holds only rules whose conditions parse (the others are reported).
                conditions: r
                    .conditions
                    .iter()
                    .filter_map(|c| Condition::parse(c).ok())
                    .map(|c| rule_match::compile(&c))
                    .collect(),
                action: action_route(r.action()),
            })
            .collect(),
        xff: attrs.xff,
        xff_client_port: attrs.xff_client_port,
        idle_timeout: std::time::Duration::from_secs(attrs.idle_timeout_s),
        // The default certificate (the model lists it first), then the added ones.
        certificate_arns: l.certificates.clone(),
        alpn_policy: l.alpn_policy.clone(),
    }
}

fn tg_route(tg: &tm::TargetGroup, ctx: &BuildCtx<'_>) -> TgRoute {
    let lambda = tg.target_type == "lambda";
    let targets: Vec<TargetRoute> = tg
        .targets
        .iter()
        .filter_map(|t| {
            // Draining targets take no new requests here (their connections finish).
            let registered_ms = t.registered_ms?;
            // Lambda targets have no address; they are answered with an error page.
            let addr = t
                .address
                .or_else(|| lambda.then(|| SocketAddr::from(([0, 0, 0, 0], 0))))?;
            let key = TargetKey {
                tg_arn: tg.arn.clone(),
                id: t.id.clone(),
                port: i32::from(t.port),
            };
            Some(TargetRoute {
                cell: ctx.health.cell(&key),
                token: super::sticky::token(&format!("{}|{addr}", tg.arn)),
                key,
                registered_ms,
                addr,
            })
        })
        .collect();
    let attrs = tg.attrs();
    let window = crate::health::slow_start_window(i64::from(attrs.slow_start_s), ctx.time_scale);
    let slow_start = (!window.is_zero()).then(|| SlowStart {
        duration_ms: (window.as_millis() as i64).max(1),
    });
    let picker = TargetPicker::new(targets.len(), attrs.algorithm, slow_start);
    let stickiness = match attrs.stickiness {
        Some(Stickiness::LbCookie { duration_s }) => Some(TargetStickiness::LbCookie {
            duration_s: i64::from(duration_s),
        }),
        Some(Stickiness::AppCookie {
            cookie_name,
            duration_s,
        }) if !cookie_name.is_empty() => Some(TargetStickiness::AppCookie {
            cookie_name,
            duration_s: i64::from(duration_s),
        }),
        _ => None,
    };
    TgRoute {
        arn: tg.arn.clone(),
        name: tg.name.clone(),
        token: super::sticky::token(&tg.arn),
        kind: match tg.target_type.as_str() {
            "lambda" => TargetKind::Lambda,
            "alb" => TargetKind::Alb,
            _ => TargetKind::Address,
        },
        targets,
        picker,
        stickiness,
    }
}

impl Routing {
    /// Builds the table from a committed world (through the routing model).
    pub fn build(world: &World, generation: u64, ctx: &BuildCtx<'_>) -> Routing {
        let model = crate::routing::build(world, ctx.health, api_models::Timestamp::now().millis());
        Routing::from_model(&model, generation, ctx)
    }

    /// Builds the table from a routing model.
    pub fn from_model(model: &Model, generation: u64, ctx: &BuildCtx<'_>) -> Routing {
        let mut r = Routing {
            generation,
            unroutable: model.unroutable.clone(),
            ..Default::default()
        };
        // The model lists load balancers oldest first, so each port's list is too: the oldest
        // load balancer there is the default for unknown hosts.
        for lb in &model.state.load_balancers {
            for l in &lb.listeners {
                let route = Arc::new(listener_route(lb, l));
                r.ports.entry(route.port).or_default().push(route.clone());
                r.by_dns
                    .entry(route.dns_name.clone())
                    .or_default()
                    .push(route);
            }
        }
        for tg in &model.state.target_groups {
            r.tgs.insert(tg.arn.clone(), Arc::new(tg_route(tg, ctx)));
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
