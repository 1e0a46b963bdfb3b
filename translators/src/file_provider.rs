//! ELBv2 state → Traefik v3 file-provider dynamic configuration.
//!
//! Names (stable across renders, derived from the resources' random ids):
//! - router `l-<listener id>-r-<rule id>` (the default rule's too), one per rule;
//! - service `tg-<target group id>` (a `loadBalancer` of the target group's serving targets),
//!   `fwd-<rule id>` (a `weighted` service for several target groups or group stickiness),
//!   `localelb-responder` (localelb itself, answering fixed responses);
//! - middleware `redirect-<rule id>`, `respond-<rule id>`, `rewrite-<rule id>-<n>`,
//!   `host-<rule id>`, and `xfp-<listener id>` (X-Forwarded-Port = the listener's port).
//!
//! Health checks are localelb's (ALB semantics): the server list holds the healthy targets, or
//! every target when none is healthy (ALB fails open), or nothing when none is registered
//! (Traefik then answers 503 as ALB does).

use crate::matchers;
use crate::middlewares;
use crate::model::{
    generation_marker, short_id, Listener, Options, Rendered, Rule, State, TargetGroup, Warning,
};
use crate::routing::{Forward, RouteAction};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// The header the generation marker router matches (with the render's generation).
pub const MARKER_HEADER: &str = "X-Localelb-Generation";

/// The marker router's priority: above every rule's (at most 99999).
pub const MARKER_PRIORITY: i64 = 200_000;

/// The service that forwards to localelb's responder.
pub const RESPONDER_SERVICE: &str = "localelb-responder";

/// The responder path for a rule (the server answers the rule's fixed response there).
pub fn respond_path(rule_arn: &str) -> String {
    format!("/_localelb/respond/{}", short_id(rule_arn))
}

/// Router name of a rule.
pub fn router_name(listener: &Listener, rule: &Rule) -> String {
    format!("l-{}-r-{}", short_id(&listener.arn), short_id(&rule.arn))
}

/// Service name of a target group.
pub fn tg_service(tg_arn: &str) -> String {
    format!("tg-{}", short_id(tg_arn))
}

#[derive(Default)]
struct Out {
    http_routers: Map<String, Value>,
    http_services: Map<String, Value>,
    middlewares: Map<String, Value>,
    tcp_routers: Map<String, Value>,
    tcp_services: Map<String, Value>,
    certificates: Vec<Value>,
    /// Target groups referenced by HTTP / TCP routers.
    http_tgs: BTreeSet<String>,
    tcp_tgs: BTreeSet<String>,
    responder: bool,
    warnings: Vec<Warning>,
}

impl Out {
    fn warn(&mut self, resource: &str, feature: &str, message: impl Into<String>) {
        self.warnings.push(Warning::new(resource, feature, message));
    }
}

/// Renders the dynamic configuration.
pub fn render(state: &State, opts: &Options) -> Rendered {
    let mut out = Out::default();
    for lb in &state.load_balancers {
        out.warnings
            .extend(lb.attribute_warnings("the idle timeout is Traefik's entryPoint/serversTransport setting (static), not rendered"));
        for l in &lb.listeners {
            let Some(ep) = opts.entry_points.get(&l.arn) else {
                out.warn(
                    &l.arn,
                    "listener",
                    "no Traefik entryPoint is assigned to this listener; not rendered",
                );
                continue;
            };
            match l.protocol.as_str() {
                "HTTP" | "HTTPS" => {
                    for r in &l.rules {
                        http_rule(l, r, &ep.name, &mut out);
                    }
                }
                "TCP" | "TLS" => tcp_listener(l, &ep.name, &mut out),
                p => out.warn(
                    &l.arn,
                    "listener.protocol",
                    format!("{p} listeners are not expressible with the pooled TCP entryPoints; not rendered"),
                ),
            }
            if matches!(l.protocol.as_str(), "HTTPS" | "TLS") {
                match opts.certificates.get(&lb.dns_name) {
                    Some(c) => {
                        let v = json!({"certFile": c.cert_file, "keyFile": c.key_file});
                        if !out.certificates.contains(&v) {
                            out.certificates.push(v);
                        }
                    }
                    None => out.warn(
                        &l.arn,
                        "listener.certificates",
                        "no certificate files for this load balancer; Traefik serves its default certificate",
                    ),
                }
                if !l.certificates.is_empty() {
                    out.warn(
                        &l.arn,
                        "listener.certificates",
                        "served with localelb's generated certificate for the DNS name, not the listener's ACM certificates",
                    );
                }
            }
        }
    }
    for arn in out.http_tgs.clone() {
        let svc = match state.target_group(&arn) {
            Some(tg) => http_tg_service(tg, &mut out),
            None => json!({"loadBalancer": {"servers": []}}),
        };
        out.http_services.insert(tg_service(&arn), svc);
    }
    for arn in out.tcp_tgs.clone() {
        let servers: Vec<Value> = state
            .target_group(&arn)
            .map(|tg| {
                tg.serving_targets()
                    .iter()
                    .filter_map(|t| t.address)
                    .map(|a| json!({"address": a.to_string()}))
                    .collect()
            })
            .unwrap_or_default();
        out.tcp_services.insert(
            tg_service(&arn),
            json!({"loadBalancer": {"servers": servers}}),
        );
    }
    if out.responder {
        out.http_services.insert(
            RESPONDER_SERVICE.into(),
            json!({"loadBalancer": {"passHostHeader": false, "servers": [{"url": opts.responder_url}]}}),
        );
    }
    if let Some(g) = opts.generation {
        // Never matched by clients (nobody sends this header); its presence in Traefik's API,
        // and its 418 (noop@internal) on the entryPoints, tell the server that this render is
        // being served. Above every rule's priority, on every entryPoint.
        out.http_routers.insert(
            generation_marker(g),
            json!({
                "rule": format!("Header(`{MARKER_HEADER}`, `{g}`)"),
                "priority": MARKER_PRIORITY,
                "service": "noop@internal",
            }),
        );
    }
    let mut root = Map::new();
    let mut http = Map::new();
    if !out.http_routers.is_empty() {
        http.insert("routers".into(), Value::Object(out.http_routers));
    }
    if !out.http_services.is_empty() {
        http.insert("services".into(), Value::Object(out.http_services));
    }
    if !out.middlewares.is_empty() {
        http.insert("middlewares".into(), Value::Object(out.middlewares));
    }
    if !http.is_empty() {
        root.insert("http".into(), Value::Object(http));
    }
    let mut tcp = Map::new();
    if !out.tcp_routers.is_empty() {
        tcp.insert("routers".into(), Value::Object(out.tcp_routers));
    }
    if !out.tcp_services.is_empty() {
        tcp.insert("services".into(), Value::Object(out.tcp_services));
    }
    if !tcp.is_empty() {
        root.insert("tcp".into(), Value::Object(tcp));
    }
    if !out.certificates.is_empty() {
        root.insert(
            "tls".into(),
            json!({"certificates": Value::Array(out.certificates)}),
        );
    }
    Rendered::new(Value::Object(root), out.warnings)
}

fn http_rule(l: &Listener, r: &Rule, ep: &str, out: &mut Out) {
    let matcher = matchers::rule(&r.conditions);
    for i in &matcher.issues {
        out.warn(&r.arn, &i.feature, i.message.clone());
    }
    let Some(rule) = matcher.rule else {
        return;
    };
    let id = short_id(&r.arn).to_string();
    let mut middlewares: Vec<Value> = Vec::new();
    let (mws, notes) = middlewares::transforms(r, &id);
    for (name, spec) in mws {
        out.middlewares.insert(name.clone(), spec);
        middlewares.push(Value::String(name));
    }
    for (feature, message) in notes {
        out.warn(&r.arn, feature, message);
    }
    let service: String;
    let unsupported: Vec<String> = r
        .non_terminal_actions()
        .filter_map(|a| a.type_.clone())
        .collect();
    if !unsupported.is_empty() {
        // As the native data plane: authentication is not performed, the responder says so.
        out.warn(
            &r.arn,
            &unsupported.join(","),
            "authentication actions are not performed; the responder answers 501",
        );
        service = respond(r, &id, &mut middlewares, out);
    } else {
        match r.action() {
            RouteAction::Forward(f) => {
                service = forward(&f, &id, out);
                // Traefik derives X-Forwarded-Port from the entryPoint; ALB sends the
                // listener's port.
                let name = format!("xfp-{}", short_id(&l.arn));
                out.middlewares.insert(
                    name.clone(),
                    json!({"headers": {"customRequestHeaders": {"X-Forwarded-Port": l.port.to_string()}}}),
                );
                middlewares.insert(0, Value::String(name));
            }
            RouteAction::Redirect(cfg) => {
                let name = format!("redirect-{id}");
                let (mw, notes) = middlewares::redirect(&cfg, l);
                for (feature, message) in notes {
                    out.warn(&r.arn, feature, message);
                }
                out.middlewares.insert(name.clone(), mw);
                middlewares.push(Value::String(name));
                service = "noop@internal".into();
            }
            _ => service = respond(r, &id, &mut middlewares, out),
        }
    }
    let mut router = json!({
        "entryPoints": [ep],
        "rule": rule,
        "priority": r.traefik_priority(),
        "service": service,
    });
    if !middlewares.is_empty() {
        router["middlewares"] = Value::Array(middlewares);
    }
    if l.protocol == "HTTPS" {
        router["tls"] = json!({});
    }
    out.http_routers.insert(router_name(l, r), router);
}

/// Routes the rule to localelb's responder, which answers its fixed response (or 501).
fn respond(r: &Rule, id: &str, middlewares: &mut Vec<Value>, out: &mut Out) -> String {
    let name = format!("respond-{id}");
    out.middlewares.insert(
        name.clone(),
        json!({"replacePath": {"path": respond_path(&r.arn)}}),
    );
    middlewares.push(Value::String(name));
    out.responder = true;
    RESPONDER_SERVICE.into()
}

fn forward(f: &Forward, id: &str, out: &mut Out) -> String {
    let (tgs, sticky) = (&f.groups, f.stickiness_s);
    let live: Vec<_> = tgs.iter().filter(|t| t.weight > 0).collect();
    for t in &live {
        out.http_tgs.insert(t.arn.clone());
    }
    if live.len() == 1 && sticky.is_none() {
        return tg_service(&live[0].arn);
    }
    if live.is_empty() {
        // Every weight is 0: no target group is ever picked (ALB answers 503).
        let name = format!("fwd-{id}");
        out.http_services
            .insert(name.clone(), json!({"loadBalancer": {"servers": []}}));
        return name;
    }
    let mut weighted = json!({
        "services": live
            .iter()
            .map(|t| json!({"name": tg_service(&t.arn), "weight": t.weight}))
            .collect::<Vec<_>>(),
    });
    if let Some(s) = sticky {
        weighted["sticky"] = json!({"cookie": {"name": "AWSALBTG", "maxAge": s}});
    }
    let name = format!("fwd-{id}");
    out.http_services
        .insert(name.clone(), json!({ "weighted": weighted }));
    name
}

fn http_tg_service(tg: &TargetGroup, out: &mut Out) -> Value {
    let mut lb = Map::new();
    let attrs = tg.attrs();
    let (strategy, lost) = attrs.algorithm.traefik_strategy();
    if let Some(lost) = lost {
        out.warn(&tg.arn, "load_balancing.algorithm.type", lost);
    }
    lb.insert("strategy".into(), json!(strategy));
    lb.insert("passHostHeader".into(), json!(true));
    if let Some(s) = attrs.lb_cookie_seconds() {
        lb.insert(
            "sticky".into(),
            json!({"cookie": {"name": "AWSALB", "maxAge": s}}),
        );
    } else if attrs.stickiness.is_some() {
        out.warn(
            &tg.arn,
            "stickiness.app_cookie",
            "application-cookie stickiness is not expressible; no stickiness rendered",
        );
    }
    if attrs.slow_start_s != 0 {
        out.warn(
            &tg.arn,
            "slow_start.duration_seconds",
            "slow start is not expressible; targets get their full share at once",
        );
    }
    if matches!(tg.target_type.as_str(), "lambda" | "alb") {
        out.warn(
            &tg.arn,
            "target_type",
            format!("{} targets are not expressible; no servers", tg.target_type),
        );
    }
    if tg.protocol.as_deref() == Some("HTTPS") {
        out.warn(
            &tg.arn,
            "protocol",
            "Traefik verifies HTTPS target certificates unless a serversTransport skips it (ALB does not verify them)",
        );
    }
    let scheme = if tg.protocol.as_deref() == Some("HTTPS") {
        "https"
    } else {
        "http"
    };
    let servers: Vec<Value> = tg
        .serving_targets()
        .iter()
        .filter_map(|t| t.address)
        .map(|a| json!({"url": format!("{scheme}://{a}")}))
        .collect();
    lb.insert("servers".into(), Value::Array(servers));
    json!({ "loadBalancer": lb })
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
    let live: Vec<_> = f.groups.into_iter().filter(|t| t.weight > 0).collect();
    let service = match live.as_slice() {
        [one] => tg_service(&one.arn),
        [] => {
            out.warn(
                &l.arn,
                "forward",
                "no target group with weight; not rendered",
            );
            return;
        }
        many => {
            let name = format!("fwd-{}", short_id(&r.arn));
            out.tcp_services.insert(
                name.clone(),
                json!({"weighted": {"services": many
                    .iter()
                    .map(|t| json!({"name": tg_service(&t.arn), "weight": t.weight}))
                    .collect::<Vec<_>>()}}),
            );
            name
        }
    };
    for t in &live {
        out.tcp_tgs.insert(t.arn.clone());
    }
    let mut router = json!({
        "entryPoints": [ep],
        "rule": matchers::TCP_CATCH_ALL,
        "priority": 1,
        "service": service,
    });
    if l.protocol == "TLS" {
        router["tls"] = json!({});
    }
    out.tcp_routers.insert(router_name(l, r), router);
}
