//! A routing scenario for renderer tests: every condition type, every action (forward, weighted
//! forward with group stickiness and a weight-0 group, redirect, fixed response, authenticate),
//! transforms, lb_cookie/app_cookie stickiness, algorithms, slow start, every health state,
//! targets sharing one IP on several ports, distinct-IP and IPv6 targets, an HTTPS target group,
//! and HTTP, HTTPS, TCP, UDP and unassigned listeners. Rule conditions and actions are written in
//! the API's own JSON shapes.

use api_models as m;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use translators::model::*;

pub const ACCOUNT_PREFIX: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000";
pub const LB_PATH: &str = "app/web/aaaaaaaaaaaaaaaa";

pub fn listener_arn(id: &str) -> String {
    format!("{ACCOUNT_PREFIX}:listener/{LB_PATH}/{id}")
}
pub fn rule_arn(listener: &str, id: &str) -> String {
    format!("{ACCOUNT_PREFIX}:listener-rule/{LB_PATH}/{listener}/{id}")
}
pub fn tg_arn(name: &str, id: &str) -> String {
    format!("{ACCOUNT_PREFIX}:targetgroup/{name}/{id}")
}

/// A rule from the API's JSON shapes (`Conditions`, `Actions`, `Transforms`).
fn rule(
    listener: &str,
    id: &str,
    priority: Option<u32>,
    conditions: Value,
    actions: Value,
) -> Rule {
    rule_t(listener, id, priority, conditions, actions, json!([]))
}

fn rule_t(
    listener: &str,
    id: &str,
    priority: Option<u32>,
    conditions: Value,
    actions: Value,
    transforms: Value,
) -> Rule {
    Rule {
        arn: rule_arn(listener, id),
        priority,
        conditions: serde_json::from_value::<Vec<m::RuleCondition>>(conditions).unwrap(),
        actions: serde_json::from_value::<Vec<m::Action>>(actions).unwrap(),
        transforms: serde_json::from_value::<Vec<m::RuleTransform>>(transforms).unwrap(),
    }
}

fn forward(tg: &str) -> Value {
    json!([{"Type": "forward", "TargetGroupArn": tg, "Order": 1}])
}

fn target(addr: &str, state: TargetState) -> Target {
    let a: SocketAddr = addr.parse().unwrap();
    Target {
        id: a.ip().to_string(),
        port: a.port(),
        address: Some(a),
        state,
        registered_ms: (state != TargetState::Draining).then_some(0),
    }
}

fn tg(
    name: &str,
    id: &str,
    protocol: &str,
    attrs: &[(&str, &str)],
    targets: Vec<Target>,
) -> TargetGroup {
    TargetGroup {
        arn: tg_arn(name, id),
        name: name.into(),
        protocol: Some(protocol.into()),
        port: Some(80),
        target_type: "ip".into(),
        attributes: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        health_check: HealthCheck {
            enabled: true,
            path: Some("/".into()),
            ..Default::default()
        },
        targets,
    }
}

pub fn scenario() -> (State, Options) {
    use TargetState::*;
    let a = tg_arn("a", "1111111111111111");
    let b = tg_arn("b", "2222222222222222");
    let sticky = tg_arn("sticky", "3333333333333333");
    let down = tg_arn("down", "4444444444444444");
    let empty = tg_arn("empty", "5555555555555555");
    let lor = tg_arn("lor", "6666666666666666");
    let tcp = tg_arn("tcp", "7777777777777777");
    let app = tg_arn("app", "8888888888888888");
    let pods = tg_arn("pods", "9999999999999999");
    let l1 = "1000000000000001";
    let path = |v: &[&str]| json!([{"Field": "path-pattern", "PathPatternConfig": {"Values": v}}]);
    let http = Listener {
        arn: listener_arn(l1),
        port: 80,
        protocol: "HTTP".into(),
        rules: vec![
            rule(
                l1,
                "r000000000000001",
                Some(1),
                json!([
                    {"Field": "host-header", "HostHeaderConfig": {"Values": ["*.example.com"]}},
                    {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/v?/*"]}}
                ]),
                forward(&a),
            ),
            rule(
                l1,
                "r000000000000002",
                Some(2),
                json!([
                    {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["beta*", "42"]}},
                    {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST", "PUT"]}}
                ]),
                forward(&b),
            ),
            rule(
                l1,
                "r000000000000003",
                Some(3),
                json!([
                    {"Field": "query-string", "QueryStringConfig": {"Values": [
                        {"Key": "mode", "Value": "fast"}, {"Key": "v", "Value": "1*"}]}}
                ]),
                forward(&b),
            ),
            rule(
                l1,
                "r000000000000004",
                Some(4),
                json!([
                    {"Field": "source-ip", "SourceIpConfig": {"Values": ["127.0.0.0/8", "::1/128"]}}
                ]),
                forward(&sticky),
            ),
            rule(
                l1,
                "r000000000000005",
                Some(5),
                path(&["/w"]),
                json!([{"Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [{"TargetGroupArn": a, "Weight": 3},
                                     {"TargetGroupArn": b, "Weight": 1},
                                     {"TargetGroupArn": down, "Weight": 0}],
                    "TargetGroupStickinessConfig": {"Enabled": true, "DurationSeconds": 600}}}]),
            ),
            rule(
                l1,
                "r000000000000006",
                Some(6),
                path(&["/r"]),
                json!([{"Type": "redirect",
                "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "Path": "/new/#{path}",
                                   "StatusCode": "HTTP_301"}}]),
            ),
            rule(
                l1,
                "r000000000000007",
                Some(7),
                path(&["/fixed"]),
                json!([{"Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": "503", "ContentType": "text/plain",
                                        "MessageBody": "maintenance"}}]),
            ),
            rule(
                l1,
                "r000000000000008",
                Some(8),
                path(&["/down/*"]),
                forward(&down),
            ),
            rule(
                l1,
                "r000000000000009",
                Some(9),
                path(&["/empty"]),
                json!([{"Type": "forward",
                "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": empty, "Weight": 1}]}}]),
            ),
            rule(
                l1,
                "r000000000000010",
                Some(10),
                json!([
                    {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["get"]}}
                ]),
                forward(&a),
            ),
            rule_t(
                l1,
                "r000000000000011",
                Some(11),
                path(&["/old-api/*"]),
                forward(&a),
                json!([
                    {"Type": "url-rewrite", "UrlRewriteConfig": {"Rewrites": [
                        {"Regex": "^/old-api/(.*)$", "Replace": "/api/$1"}]}},
                    {"Type": "host-header-rewrite", "HostHeaderRewriteConfig": {"Rewrites": [
                        {"Regex": ".*", "Replace": "internal.example.com"}]}}
                ]),
            ),
            rule(
                l1,
                "r000000000000012",
                Some(12),
                path(&["/login"]),
                json!([
                    {"Type": "authenticate-oidc", "Order": 0},
                    {"Type": "forward", "TargetGroupArn": a, "Order": 1}
                ]),
            ),
            rule(
                l1,
                "r000000000000013",
                Some(13),
                json!([
                    {"Field": "query-string", "QueryStringConfig": {"Values": [{"Value": "orphan"}]}}
                ]),
                forward(&a),
            ),
            rule(
                l1,
                "r000000000000014",
                Some(14),
                path(&["/lor"]),
                json!([{"Type": "forward",
                "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": lor, "Weight": 1},
                                                   {"TargetGroupArn": app, "Weight": 1}]}}]),
            ),
            rule(
                l1,
                "r000000000000015",
                Some(15),
                path(&["/keep"]),
                json!([{"Type": "redirect",
                "RedirectConfig": {"Host": "other.example.com", "Query": "from=#{host}&#{query}",
                                   "StatusCode": "HTTP_302"}}]),
            ),
            rule(
                l1,
                "default0000000001",
                None,
                json!([]),
                json!([{"Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain",
                                        "MessageBody": "not here"}}]),
            ),
        ],
        ..Default::default()
    };
    let l2 = "2000000000000002";
    let https = Listener {
        arn: listener_arn(l2),
        port: 443,
        protocol: "HTTPS".into(),
        certificates: vec!["arn:aws:acm:us-east-1:000000000000:certificate/abc".into()],
        rules: vec![rule(
            l2,
            "default0000000002",
            None,
            json!([]),
            forward(&pods),
        )],
        ..Default::default()
    };
    let l3 = "3000000000000003";
    let tcpl = Listener {
        arn: listener_arn(l3),
        port: 5432,
        protocol: "TCP".into(),
        rules: vec![rule(
            l3,
            "default0000000003",
            None,
            json!([]),
            forward(&tcp),
        )],
        ..Default::default()
    };
    let l4 = "4000000000000004";
    let udp = Listener {
        arn: listener_arn(l4),
        port: 53,
        protocol: "UDP".into(),
        rules: vec![rule(
            l4,
            "default0000000004",
            None,
            json!([]),
            forward(&tcp),
        )],
        ..Default::default()
    };
    let l5 = "5000000000000005";
    let unassigned = Listener {
        arn: listener_arn(l5),
        port: 8080,
        protocol: "HTTP".into(),
        rules: vec![rule(
            l5,
            "default0000000005",
            None,
            json!([]),
            forward(&sticky),
        )],
        ..Default::default()
    };
    let lb_cookie = [
        ("stickiness.enabled", "true"),
        ("stickiness.type", "lb_cookie"),
        ("stickiness.lb_cookie.duration_seconds", "120"),
    ];
    let state = State {
        load_balancers: vec![LoadBalancer {
            arn: format!("{ACCOUNT_PREFIX}:loadbalancer/{LB_PATH}"),
            name: "web".into(),
            dns_name: "web-1.us-east-1.elb.localhost".into(),
            type_: "application".into(),
            attributes: BTreeMap::from([
                (
                    "routing.http.xff_header_processing.mode".into(),
                    "preserve".into(),
                ),
                ("idle_timeout.timeout_seconds".into(), "120".into()),
            ]),
            listeners: vec![http, https, tcpl, udp, unassigned],
        }],
        target_groups: vec![
            tg(
                "a",
                "1111111111111111",
                "HTTP",
                &lb_cookie,
                vec![
                    target("127.0.0.1:9001", Healthy),
                    target("127.0.0.1:9002", Healthy),
                    target("127.0.0.1:9003", Unhealthy),
                    target("127.0.0.1:9004", Draining),
                ],
            ),
            tg(
                "b",
                "2222222222222222",
                "HTTP",
                &[],
                vec![
                    target("127.0.0.1:9011", Healthy),
                    target("127.0.0.1:9012", Initial),
                ],
            ),
            tg(
                "sticky",
                "3333333333333333",
                "HTTP",
                &lb_cookie,
                vec![
                    target("172.18.0.1:9021", Healthy),
                    target("172.18.0.2:9021", Healthy),
                ],
            ),
            tg(
                "down",
                "4444444444444444",
                "HTTP",
                &[],
                vec![
                    target("127.0.0.1:9031", Unhealthy),
                    target("127.0.0.1:9032", Initial),
                    target("127.0.0.1:9033", Draining),
                ],
            ),
            tg("empty", "5555555555555555", "HTTP", &[], vec![]),
            tg(
                "lor",
                "6666666666666666",
                "HTTP",
                &[
                    (
                        "load_balancing.algorithm.type",
                        "least_outstanding_requests",
                    ),
                    ("slow_start.duration_seconds", "30"),
                ],
                vec![target("172.18.0.1:9051", Healthy)],
            ),
            tg(
                "tcp",
                "7777777777777777",
                "TCP",
                &[],
                vec![
                    target("172.18.0.1:9061", Healthy),
                    target("172.18.0.1:9062", Unavailable),
                ],
            ),
            tg(
                "app",
                "8888888888888888",
                "HTTP",
                &[
                    ("stickiness.enabled", "true"),
                    ("stickiness.type", "app_cookie"),
                    ("load_balancing.algorithm.type", "weighted_random"),
                ],
                vec![target("172.18.0.1:9071", Healthy)],
            ),
            tg(
                "pods",
                "9999999999999999",
                "HTTPS",
                &[],
                vec![
                    target("10.244.0.7:8443", Healthy),
                    target("10.244.0.8:8443", Unhealthy),
                    target("[fd00::7]:8443", Healthy),
                ],
            ),
        ],
    };
    let ep = |name: &str, port: u16| EntryPoint {
        name: name.into(),
        address: format!(":{port}"),
    };
    let options = Options {
        entry_points: BTreeMap::from([
            (listener_arn(l1), ep("lb-00", 30000)),
            (listener_arn(l2), ep("lb-01", 30001)),
            (listener_arn(l3), ep("lb-02", 30002)),
            (listener_arn(l4), ep("lb-03", 30003)),
        ]),
        responder_url: "http://172.18.0.1:4566".into(),
        namespace: "elbv2".into(),
        generation: Some(7),
        certificates: BTreeMap::new(),
    };
    (state, options)
}
