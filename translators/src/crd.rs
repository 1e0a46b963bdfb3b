//! ELBv2 state → Kubernetes objects for Traefik's `kubernetescrd` provider (`traefik.io/v1alpha1`).
//!
//! [`render`] returns a `v1` `List` of every object, sorted by kind and name, each labelled
//! `app.kubernetes.io/managed-by: localelb` (the applier prunes by that label) and annotated with
//! the ARN it comes from. Names are DNS-1123 labels derived from the resources' random ids, so
//! they are stable across renders:
//!
//! | object | name | for |
//! |---|---|---|
//! | IngressRoute / IngressRouteTCP | `l-<listener id>` | a listener; one route per rule, ALB priority inverted |
//! | Middleware | `redirect-<rule id>`, `respond-<rule id>`, `rewrite-<rule id>-<n>`, `host-<rule id>` | redirect, fixed response, transforms (names as in the file provider) |
//! | TraefikService | `fwd-<rule id>` | a forward to several target groups or with group stickiness (`AWSALBTG`) |
//! | TraefikService | `tg-<tg id>` | a target group whose targets use more than one port |
//! | Service + EndpointSlice | `tg-<tg id>-p<port>`, `…-ipv4`/`…-ipv6` | the targets of a target group on one port |
//! | Service (+ EndpointSlice) | `localelb-responder` | localelb's API port, answering fixed responses |
//! | Service | `localelb-empty` | no endpoints: Traefik (`allowEmptyServices`) answers 503 |
//! | ServersTransport | `localelb-insecure-tls` | HTTPS target groups (ALB does not verify target certificates) |
//!
//! Targets: selectorless Services with EndpointSlices written here. Traefik de-duplicates the
//! endpoints of one Service by IP across all its slices, and local targets usually share one IP
//! (the host) on different ports, so a target group gets **one Service per distinct target
//! port**: inside such a Service every endpoint is a distinct IP, hence a distinct target. A
//! target group with one port is referenced as that Service; with several ports, as a weighted
//! TraefikService over its port Services, each weighted by its number of serving targets (so each
//! target gets about an equal share, as ALB's round robin gives).
//!
//! Health is localelb's (ALB semantics), published as endpoint conditions: healthy →
//! `ready, serving`; unhealthy or initial → `serving: false` (Traefik skips it); when no target is
//! healthy ALB fails open, so every unhealthy/initial target is published serving; draining →
//! `serving, terminating` (Traefik's "fenced": no new picks, sticky clients stay).

use crate::file_provider::{respond_path, RESPONDER_SERVICE};
use crate::matchers;
use crate::middlewares;
use crate::model::{
    short_id, Listener, Options, Rendered, Rule, State, Target, TargetGroup, TargetState, Warning,
};
use crate::routing::{Forward, RouteAction};
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

mod services;
use services::*;

/// The label every rendered object carries (and the applier prunes by).
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Its value.
pub const MANAGED_BY: &str = "localelb";
/// The annotation naming the ARN an object was rendered from.
pub const ARN_ANNOTATION: &str = "localelb/arn";
/// `apiVersion` of the Traefik objects.
pub const TRAEFIK_API_VERSION: &str = "traefik.io/v1alpha1";
/// A Service without endpoints: Traefik answers 503 (as ALB with no target to pick).
pub const EMPTY_SERVICE: &str = "localelb-empty";
/// ServersTransport that skips target certificate verification (ALB does not verify).
pub const INSECURE_TRANSPORT: &str = "localelb-insecure-tls";
/// Namespace when [`Options::namespace`] is empty.
pub const DEFAULT_NAMESPACE: &str = "elbv2";
/// The port name shared by every Service and its EndpointSlices (Traefik matches them by name).
const PORT_NAME: &str = "tg";
/// Cookie choosing among the port Services of a multi-port target group with lb_cookie
/// stickiness (`AWSALB` then pins the target inside the chosen Service).
pub const PORT_COOKIE: &str = "AWSALBPORT";

/// Every (apiVersion, kind) [`render`] may produce, in apply order (dependencies first). The
/// applier prunes objects of these kinds that carry the managed-by label and are not rendered.
pub const KINDS: &[(&str, &str)] = &[
    ("v1", "Service"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
    (TRAEFIK_API_VERSION, "ServersTransport"),
    (TRAEFIK_API_VERSION, "Middleware"),
    (TRAEFIK_API_VERSION, "TraefikService"),
    (TRAEFIK_API_VERSION, "IngressRoute"),
    (TRAEFIK_API_VERSION, "IngressRouteTCP"),
];

/// The namespace objects are rendered into.
pub fn namespace(opts: &Options) -> &str {
    if opts.namespace.is_empty() {
        DEFAULT_NAMESPACE
    } else {
        &opts.namespace
    }
}

/// An id made safe for a DNS-1123 label (ARN ids are lowercase hex already).
fn dns_id(arn: &str) -> String {
    short_id(arn)
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// IngressRoute(TCP) name of a listener.
pub fn listener_name(listener_arn: &str) -> String {
    format!("l-{}", dns_id(listener_arn))
}

/// Service name of a target group's targets on `port`.
pub fn port_service(tg_arn: &str, port: u16) -> String {
    format!("tg-{}-p{port}", dns_id(tg_arn))
}

/// What a route or weighted child points at for a target group.
#[derive(Debug, Clone)]
struct TgPlan {
    /// Port Services that can take new requests, with their serving-target counts.
    live: Vec<(String, u16, u32)>,
    sticky_seconds: Option<u32>,
    strategy: &'static str,
    https: bool,
}

struct Out<'a> {
    state: &'a State,
    opts: &'a Options,
    ns: String,
    /// (kind order, kind, name) → object.
    objects: BTreeMap<(u8, &'static str, String), Value>,
    plans: BTreeMap<String, TgPlan>,
    warnings: Vec<Warning>,
    responder_port: Option<u16>,
    empty_service: bool,
}

fn kind_order(kind: &str) -> u8 {
    KINDS
        .iter()
        .position(|(_, k)| *k == kind)
        .map_or(u8::MAX, |i| i as u8)
}

impl Out<'_> {
    fn warn(&mut self, resource: &str, feature: &str, message: impl Into<String>) {
        self.warnings.push(Warning::new(resource, feature, message));
    }

    fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string())])
    }

    fn meta(&self, name: &str, arn: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(self.ns.clone()),
            labels: Some(self.labels()),
            annotations: arn.map(|a| BTreeMap::from([(ARN_ANNOTATION.to_string(), a.to_string())])),
            ..Default::default()
        }
    }

    fn insert_k8s<T: serde::Serialize>(&mut self, kind: &'static str, name: &str, obj: &T) {
        let v = serde_json::to_value(obj).expect("k8s-openapi objects serialize");
        self.objects
            .insert((kind_order(kind), kind, name.to_string()), v);
    }

    /// A Traefik custom resource.
    fn insert_crd(&mut self, kind: &'static str, name: &str, arn: Option<&str>, spec: Value) {
        let meta = serde_json::to_value(self.meta(name, arn)).expect("ObjectMeta serializes");
        self.objects.insert(
            (kind_order(kind), kind, name.to_string()),
            json!({"apiVersion": TRAEFIK_API_VERSION, "kind": kind, "metadata": meta, "spec": spec}),
        );
    }
}

/// Renders the Kubernetes objects for `state`.
pub fn render(state: &State, opts: &Options) -> Rendered {
    let mut out = Out {
        state,
        opts,
        ns: namespace(opts).to_string(),
        objects: BTreeMap::new(),
        plans: BTreeMap::new(),
        warnings: Vec::new(),
        responder_port: None,
        empty_service: false,
    };
    for lb in &state.load_balancers {
        out.warnings.extend(lb.attribute_warnings(
            "the idle timeout is Traefik's entryPoint setting (static configuration), not rendered",
        ));
        for l in &lb.listeners {
            let Some(ep) = opts.entry_points.get(&l.arn) else {
                out.warn(
                    &l.arn,
                    "listener",
                    "no Traefik entryPoint is assigned to this listener; not rendered",
                );
                continue;
            };
            let ep = ep.name.clone();
            match l.protocol.as_str() {
                "HTTP" | "HTTPS" => http_listener(l, &ep, &mut out),
                "TCP" | "TLS" => tcp_listener(l, &ep, &mut out),
                p => out.warn(
                    &l.arn,
                    "listener.protocol",
                    format!("{p} listeners are not expressible with the pooled TCP entryPoints; not rendered"),
                ),
            }
            if matches!(l.protocol.as_str(), "HTTPS" | "TLS") {
                out.warn(
                    &l.arn,
                    "listener.certificates",
                    "TLS is terminated with Traefik's default certificate (no Secret is rendered for the listener's certificates)",
                );
            }
        }
    }
    if let Some(port) = out.responder_port {
        responder(port, &mut out);
    }
    if out.empty_service {
        let spec = ServiceSpec {
            ports: Some(vec![ServicePort {
                name: Some(PORT_NAME.into()),
                port: 80,
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let svc = Service {
            metadata: out.meta(EMPTY_SERVICE, None),
            spec: Some(spec),
            ..Default::default()
        };
        out.insert_k8s("Service", EMPTY_SERVICE, &svc);
    }
    let items: Vec<Value> = std::mem::take(&mut out.objects).into_values().collect();
    Rendered::new(
        json!({"apiVersion": "v1", "kind": "List", "items": items}),
        out.warnings,
    )
}

fn http_listener(l: &Listener, ep: &str, out: &mut Out) {
    let mut routes = Vec::new();
    for r in &l.rules {
        if let Some(route) = http_route(l, r, out) {
            routes.push(route);
        }
    }
    if routes.is_empty() {
        out.warn(&l.arn, "listener", "no rule is expressible; not rendered");
        return;
    }
    let mut spec = json!({"entryPoints": [ep], "routes": routes});
    if l.protocol == "HTTPS" {
        spec["tls"] = json!({});
    }
    out.insert_crd("IngressRoute", &listener_name(&l.arn), Some(&l.arn), spec);
}

fn http_route(l: &Listener, r: &Rule, out: &mut Out) -> Option<Value> {
    let matcher = matchers::rule(&r.conditions);
    for i in &matcher.issues {
        out.warn(&r.arn, &i.feature, i.message.clone());
    }
    let rule = matcher.rule?;
    let id = dns_id(&r.arn);
    let mut middlewares: Vec<String> = Vec::new();
    let (mws, notes) = middlewares::transforms(r, &id);
    for (name, spec) in mws {
        out.insert_crd("Middleware", &name, Some(&r.arn), spec);
        middlewares.push(name);
    }
    for (feature, message) in notes {
        out.warn(&r.arn, feature, message);
    }
    let unsupported: Vec<String> = r
        .non_terminal_actions()
        .filter_map(|a| a.type_.clone())
        .collect();
    let service = if !unsupported.is_empty() {
        // As the native data plane: authentication is not performed, the responder says so.
        out.warn(
            &r.arn,
            &unsupported.join(","),
            "authentication actions are not performed; the responder answers 501",
        );
        respond(r, &id, &mut middlewares, out)?
    } else {
        match r.action() {
            RouteAction::Forward(f) => forward(&f, &id, &r.arn, out),
            RouteAction::Redirect(cfg) => {
                let name = format!("redirect-{id}");
                let (spec, notes) = middlewares::redirect(&cfg, l);
                for (feature, message) in notes {
                    out.warn(&r.arn, feature, message);
                }
                out.insert_crd("Middleware", &name, Some(&r.arn), spec);
                middlewares.push(name);
                json!({"name": "noop@internal", "kind": "TraefikService"})
            }
            _ => respond(r, &id, &mut middlewares, out)?,
        }
    };
    let mut route = json!({
        "kind": "Rule",
        "match": rule,
        "priority": r.traefik_priority(),
        "services": [service],
    });
    if !middlewares.is_empty() {
        route["middlewares"] = middlewares.iter().map(|n| json!({ "name": n })).collect();
    }
    Some(route)
}

/// Routes the rule to localelb's responder, which answers its fixed response (or 501 for
/// authentication actions) at [`respond_path`].
fn respond(r: &Rule, id: &str, middlewares: &mut Vec<String>, out: &mut Out) -> Option<Value> {
    let Some(port) = responder_addr(&out.opts.responder_url).map(|(_, p)| p) else {
        out.warn(
            &r.arn,
            "fixed-response",
            format!(
                "the responder URL {:?} is not http://HOST:PORT; the rule is not rendered",
                out.opts.responder_url
            ),
        );
        return None;
    };
    let name = format!("respond-{id}");
    out.insert_crd(
        "Middleware",
        &name,
        Some(&r.arn),
        json!({"replacePath": {"path": respond_path(&r.arn)}}),
    );
    middlewares.push(name);
    out.responder_port = Some(port);
    // The responder must see its own host, not a load balancer's DNS name.
    Some(json!({"name": RESPONDER_SERVICE, "port": port, "passHostHeader": false}))
}

/// `http://HOST:PORT[/]` → (host, port).
fn responder_addr(url: &str) -> Option<(String, u16)> {
    let rest = url.strip_prefix("http://")?.trim_end_matches('/');
    if rest.contains('/') {
        return None;
    }
    let (host, port) = rest.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_string(), port.parse().ok()?))
}

fn forward(f: &Forward, id: &str, rule_arn: &str, out: &mut Out) -> Value {
    let (tgs, sticky) = (&f.groups, f.stickiness_s);
    // Traefik drops children of weight 0 (ALB never picks them either).
    let live: Vec<_> = tgs.iter().filter(|t| t.weight > 0).collect();
    if live.is_empty() {
        out.empty_service = true;
        return json!({"name": EMPTY_SERVICE, "port": 80});
    }
    if live.len() == 1 && sticky.is_none() {
        return tg_ref(&live[0].arn, out);
    }
    let children: Vec<Value> = live
        .iter()
        .map(|t| {
            let mut c = tg_ref(&t.arn, out);
            c["weight"] = json!(t.weight);
            c
        })
        .collect();
    let mut weighted = json!({ "services": children });
    if let Some(s) = sticky {
        weighted["sticky"] = json!({"cookie": {"name": "AWSALBTG", "maxAge": s, "path": "/"}});
        if tgs.iter().any(|t| t.weight == 0) {
            out.warn(
                rule_arn,
                "forward.weight",
                "clients stuck to a target group whose weight is now 0 are re-balanced (Traefik drops weight-0 children)",
            );
        }
    }
    let name = format!("fwd-{id}");
    out.insert_crd(
        "TraefikService",
        &name,
        Some(rule_arn),
        json!({ "weighted": weighted }),
    );
    json!({"name": name, "kind": "TraefikService"})
}

fn tcp_listener(l: &Listener, ep: &str, out: &mut Out) {
    let Some(r) = l.rules.iter().find(|r| r.is_default()) else {
        out.warn(&l.arn, "listener", "no default action; not rendered");
        return;
    };
    let RouteAction::Forward(f) = r.action() else {
        out.warn(
            &l.arn,
            "listener.default_action",
            "a TCP/TLS listener can only forward; not rendered",
        );
        return;
    };
    let mut services = Vec::new();
    for t in f.groups.iter().filter(|t| t.weight > 0) {
        let plan = plan(&t.arn, out);
        let total: u32 = plan.live.iter().map(|(_, _, n)| n).sum();
        for (svc, port, n) in &plan.live {
            // IngressRouteTCP has no nested weighting: spread the target group's weight over
            // its port Services by their serving-target counts.
            let w = (u64::from(t.weight) * u64::from(*n) * 1000 / u64::from(total.max(1))).max(1);
            services.push(json!({"name": svc, "port": port, "weight": w}));
        }
    }
    match services.as_mut_slice() {
        [] => {
            out.empty_service = true;
            services.push(json!({"name": EMPTY_SERVICE, "port": 80}));
        }
        [one] => {
            one.as_object_mut().map(|o| o.remove("weight"));
        }
        _ => {}
    }
    let mut spec = json!({
        "entryPoints": [ep],
        "routes": [{"match": matchers::TCP_CATCH_ALL, "priority": 1, "services": services}],
    });
    if l.protocol == "TLS" {
        spec["tls"] = json!({});
    }
    out.insert_crd(
        "IngressRouteTCP",
        &listener_name(&l.arn),
        Some(&l.arn),
        spec,
    );
}
