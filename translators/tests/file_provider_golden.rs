//! Golden renders of the file provider: a State fixture covering every condition, action,
//! weights, stickiness, health states and several listeners, compared with
//! `testdata/traefik-file/*.yaml`. `UPDATE_GOLDEN=1 cargo test -p translators` rewrites them.

mod common {
    pub mod golden;
}

use api_models as m;
use common::golden::{comments, golden};
use std::collections::BTreeMap;
use translators::file_provider;
use translators::model::*;

const LB: &str =
    "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/aaaaaaaaaaaaaaaa";

fn listener_arn(id: &str) -> String {
    format!("arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/web/aaaaaaaaaaaaaaaa/{id}")
}
fn rule_arn(l: &str, id: &str) -> String {
    format!("arn:aws:elasticloadbalancing:us-east-1:000000000000:listener-rule/app/web/aaaaaaaaaaaaaaaa/{l}/{id}")
}
fn tg_arn(name: &str, id: &str) -> String {
    format!("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/{name}/{id}")
}

fn cond(field: &str) -> m::RuleCondition {
    m::RuleCondition {
        field: Some(field.into()),
        ..Default::default()
    }
}
fn strings(v: &[&str]) -> Option<Vec<String>> {
    Some(v.iter().map(|s| s.to_string()).collect())
}
fn host(v: &[&str]) -> m::RuleCondition {
    m::RuleCondition {
        host_header_config: Some(m::HostHeaderConditionConfig {
            values: strings(v),
            ..Default::default()
        }),
        ..cond("host-header")
    }
}
fn path(v: &[&str]) -> m::RuleCondition {
    m::RuleCondition {
        path_pattern_config: Some(m::PathPatternConditionConfig {
            values: strings(v),
            ..Default::default()
        }),
        ..cond("path-pattern")
    }
}
fn forward(tg: &str) -> m::Action {
    m::Action {
        type_: Some("forward".into()),
        target_group_arn: Some(tg.into()),
        order: Some(1),
        ..Default::default()
    }
}
fn weighted(tgs: &[(&str, i32)], sticky: Option<i32>) -> m::Action {
    m::Action {
        type_: Some("forward".into()),
        forward_config: Some(m::ForwardActionConfig {
            target_groups: Some(
                tgs.iter()
                    .map(|(a, w)| m::TargetGroupTuple {
                        target_group_arn: Some(a.to_string()),
                        weight: Some(*w),
                    })
                    .collect(),
            ),
            target_group_stickiness_config: sticky.map(|d| m::TargetGroupStickinessConfig {
                enabled: Some(true),
                duration_seconds: Some(d),
            }),
        }),
        ..Default::default()
    }
}
fn fixed(status: &str, body: &str) -> m::Action {
    m::Action {
        type_: Some("fixed-response".into()),
        fixed_response_config: Some(m::FixedResponseActionConfig {
            status_code: Some(status.into()),
            content_type: Some("text/plain".into()),
            message_body: Some(body.into()),
        }),
        ..Default::default()
    }
}
fn redirect(cfg: m::RedirectActionConfig) -> m::Action {
    m::Action {
        type_: Some("redirect".into()),
        redirect_config: Some(cfg),
        ..Default::default()
    }
}
fn rule(l: &str, id: &str, prio: Option<u32>, conds: Vec<m::RuleCondition>, a: m::Action) -> Rule {
    Rule {
        arn: rule_arn(l, id),
        priority: prio,
        conditions: conds,
        actions: vec![a],
        transforms: vec![],
    }
}
fn target(port: u16, state: TargetState) -> Target {
    Target {
        id: "127.0.0.1".into(),
        port,
        address: Some(([127, 0, 0, 1], port).into()),
        state,
        registered_ms: (state != TargetState::Draining).then_some(0),
    }
}
fn tg(name: &str, id: &str, attrs: &[(&str, &str)], targets: Vec<Target>) -> TargetGroup {
    TargetGroup {
        arn: tg_arn(name, id),
        name: name.into(),
        protocol: Some("HTTP".into()),
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

fn scenario() -> (State, Options) {
    use TargetState::*;
    let a = tg_arn("a", "1111111111111111");
    let b = tg_arn("b", "2222222222222222");
    let sticky = tg_arn("sticky", "3333333333333333");
    let down = tg_arn("down", "4444444444444444");
    let empty = tg_arn("empty", "5555555555555555");
    let lor = tg_arn("lor", "6666666666666666");
    let tcp = tg_arn("tcp", "7777777777777777");
    let app = tg_arn("app", "8888888888888888");
    let l1 = "1000000000000001";
    let header = m::RuleCondition {
        http_header_config: Some(m::HttpHeaderConditionConfig {
            http_header_name: Some("X-Env".into()),
            values: strings(&["beta*", "42"]),
            ..Default::default()
        }),
        ..cond("http-header")
    };
    let method = |v: &[&str]| m::RuleCondition {
        http_request_method_config: Some(m::HttpRequestMethodConditionConfig {
            values: strings(v),
        }),
        ..cond("http-request-method")
    };
    let query = |pairs: &[(Option<&str>, &str)]| m::RuleCondition {
        query_string_config: Some(m::QueryStringConditionConfig {
            values: Some(
                pairs
                    .iter()
                    .map(|(k, v)| m::QueryStringKeyValuePair {
                        key: k.map(str::to_string),
                        value: Some(v.to_string()),
                    })
                    .collect(),
            ),
        }),
        ..cond("query-string")
    };
    let source = m::RuleCondition {
        source_ip_config: Some(m::SourceIpConditionConfig {
            values: strings(&["127.0.0.0/8", "::1/128"]),
            ..Default::default()
        }),
        ..cond("source-ip")
    };
    let mut rewrite = rule(
        l1,
        "r000000000000011",
        Some(11),
        vec![path(&["/old-api/*"])],
        forward(&a),
    );
    rewrite.transforms = vec![m::RuleTransform {
        type_: Some("url-rewrite".into()),
        url_rewrite_config: Some(m::UrlRewriteConfig {
            rewrites: Some(vec![m::RewriteConfig {
                regex: Some("^/old-api/(.*)$".into()),
                replace: Some("/api/$1".into()),
            }]),
        }),
        ..Default::default()
    }];
    let mut auth = rule(
        l1,
        "r000000000000012",
        Some(12),
        vec![path(&["/login"])],
        forward(&a),
    );
    auth.actions.insert(
        0,
        m::Action {
            type_: Some("authenticate-oidc".into()),
            order: Some(0),
            ..Default::default()
        },
    );
    let http = Listener {
        arn: listener_arn(l1),
        port: 80,
        protocol: "HTTP".into(),
        rules: vec![
            rule(
                l1,
                "r000000000000001",
                Some(1),
                vec![host(&["*.example.com"]), path(&["/api/v?/*"])],
                forward(&a),
            ),
            rule(
                l1,
                "r000000000000002",
                Some(2),
                vec![header, method(&["POST", "PUT"])],
                forward(&b),
            ),
            rule(
                l1,
                "r000000000000003",
                Some(3),
                vec![query(&[(Some("mode"), "fast"), (Some("v"), "1*")])],
                forward(&b),
            ),
            rule(
                l1,
                "r000000000000004",
                Some(4),
                vec![source.clone()],
                forward(&sticky),
            ),
            rule(
                l1,
                "r000000000000005",
                Some(5),
                vec![path(&["/w"])],
                weighted(&[(&a, 3), (&b, 1), (&down, 0)], Some(600)),
            ),
            rule(
                l1,
                "r000000000000006",
                Some(6),
                vec![path(&["/r"])],
                redirect(m::RedirectActionConfig {
                    protocol: Some("HTTPS".into()),
                    port: Some("443".into()),
                    path: Some("/new/#{path}".into()),
                    status_code: Some("HTTP_301".into()),
                    ..Default::default()
                }),
            ),
            rule(
                l1,
                "r000000000000007",
                Some(7),
                vec![path(&["/fixed"])],
                fixed("503", "maintenance"),
            ),
            rule(
                l1,
                "r000000000000008",
                Some(8),
                vec![path(&["/down/*"])],
                forward(&down),
            ),
            rule(
                l1,
                "r000000000000009",
                Some(9),
                vec![path(&["/empty"])],
                weighted(&[(&empty, 1)], None),
            ),
            rule(
                l1,
                "r000000000000010",
                Some(10),
                vec![method(&["get"])],
                forward(&a),
            ),
            rewrite,
            auth,
            rule(
                l1,
                "r000000000000013",
                Some(13),
                vec![query(&[(None, "orphan")])],
                forward(&a),
            ),
            rule(
                l1,
                "r000000000000014",
                Some(14),
                vec![path(&["/lor"])],
                weighted(&[(&lor, 1), (&app, 1)], None),
            ),
            rule(
                l1,
                "r000000000000015",
                Some(15),
                vec![path(&["/keep"])],
                redirect(m::RedirectActionConfig {
                    host: Some("other.example.com".into()),
                    query: Some("from=#{host}&#{query}".into()),
                    status_code: Some("HTTP_302".into()),
                    ..Default::default()
                }),
            ),
            rule(
                l1,
                "default0000000001",
                None,
                vec![],
                fixed("404", "not here"),
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
            vec![],
            forward(&sticky),
        )],
        ..Default::default()
    };
    let l3 = "3000000000000003";
    let tcpl = Listener {
        arn: listener_arn(l3),
        port: 5432,
        protocol: "TCP".into(),
        rules: vec![rule(l3, "default0000000003", None, vec![], forward(&tcp))],
        ..Default::default()
    };
    let l4 = "4000000000000004";
    let udp = Listener {
        arn: listener_arn(l4),
        port: 53,
        protocol: "UDP".into(),
        rules: vec![rule(l4, "default0000000004", None, vec![], forward(&tcp))],
        ..Default::default()
    };
    let l5 = "5000000000000005";
    let unassigned = Listener {
        arn: listener_arn(l5),
        port: 8080,
        protocol: "HTTP".into(),
        rules: vec![rule(l5, "default0000000005", None, vec![], forward(&a))],
        ..Default::default()
    };
    let state = State {
        load_balancers: vec![LoadBalancer {
            arn: LB.into(),
            name: "web".into(),
            dns_name: "web-1.us-east-1.elb.localhost".into(),
            type_: "application".into(),
            attributes: [(
                "routing.http.xff_header_processing.mode".to_string(),
                "preserve".to_string(),
            )]
            .into(),
            listeners: vec![http, https, tcpl, udp, unassigned],
        }],
        target_groups: vec![
            tg(
                "a",
                "1111111111111111",
                &[],
                vec![
                    target(9001, Healthy),
                    target(9002, Healthy),
                    target(9003, Unhealthy),
                    target(9004, Draining),
                ],
            ),
            tg(
                "b",
                "2222222222222222",
                &[],
                vec![target(9011, Healthy), target(9012, Initial)],
            ),
            tg(
                "sticky",
                "3333333333333333",
                &[
                    ("stickiness.enabled", "true"),
                    ("stickiness.type", "lb_cookie"),
                    ("stickiness.lb_cookie.duration_seconds", "120"),
                ],
                vec![target(9021, Healthy), target(9022, Healthy)],
            ),
            tg(
                "down",
                "4444444444444444",
                &[],
                vec![
                    target(9031, Unhealthy),
                    target(9032, Initial),
                    target(9033, Draining),
                ],
            ),
            tg("empty", "5555555555555555", &[], vec![]),
            tg(
                "lor",
                "6666666666666666",
                &[
                    (
                        "load_balancing.algorithm.type",
                        "least_outstanding_requests",
                    ),
                    ("slow_start.duration_seconds", "30"),
                ],
                vec![target(9051, Healthy)],
            ),
            tg(
                "tcp",
                "7777777777777777",
                &[],
                vec![target(9061, Healthy), target(9062, Unavailable)],
            ),
            tg(
                "app",
                "8888888888888888",
                &[
                    ("stickiness.enabled", "true"),
                    ("stickiness.type", "app_cookie"),
                    ("load_balancing.algorithm.type", "weighted_random"),
                ],
                vec![target(9071, Healthy)],
            ),
        ],
    };
    let ep = |name: &str, port: u16| EntryPoint {
        name: name.into(),
        address: format!("127.0.0.1:{port}"),
    };
    let options = Options {
        entry_points: BTreeMap::from([
            (listener_arn(l1), ep("ep-0", 30000)),
            (listener_arn(l2), ep("ep-1", 30001)),
            (listener_arn(l3), ep("ep-2", 30002)),
            (listener_arn(l4), ep("ep-3", 30003)),
        ]),
        responder_url: "http://127.0.0.1:4566".into(),
        namespace: "elbv2".into(),
        generation: Some(7),
        certificates: BTreeMap::from([(
            "web-1.us-east-1.elb.localhost".to_string(),
            CertFiles {
                cert_file: "certs/web-1.us-east-1.elb.localhost.crt".into(),
                key_file: "certs/web-1.us-east-1.elb.localhost.key".into(),
            },
        )]),
    };
    (state, options)
}

#[test]
fn scenarios_render_as_golden() {
    let (state, opts) = scenario();
    let r = file_provider::render(&state, &opts);
    golden(
        "traefik-file",
        "scenarios.yaml",
        &translators::yaml::to_yaml(&r.value, &comments(&r)),
    );
}

#[test]
fn empty_state_renders_only_the_marker() {
    let r = file_provider::render(
        &State::default(),
        &Options {
            generation: Some(1),
            ..Default::default()
        },
    );
    assert!(r.warnings.is_empty());
    golden(
        "traefik-file",
        "empty.yaml",
        &translators::yaml::to_yaml(&r.value, &comments(&r)),
    );
}

#[test]
fn health_states_pick_servers_like_alb() {
    let (state, opts) = scenario();
    let r = file_provider::render(&state, &opts);
    let servers = |svc: &str| -> Vec<String> {
        r.value["http"]["services"][svc]["loadBalancer"]["servers"]
            .as_array()
            .unwrap_or_else(|| panic!("{svc}"))
            .iter()
            .map(|s| s["url"].as_str().unwrap().to_string())
            .collect()
    };
    // Healthy only (unhealthy and draining left out).
    assert_eq!(
        servers("tg-1111111111111111"),
        ["http://127.0.0.1:9001", "http://127.0.0.1:9002"]
    );
    // None healthy: fail open over unhealthy and initial, never draining.
    assert_eq!(
        servers("tg-4444444444444444"),
        ["http://127.0.0.1:9031", "http://127.0.0.1:9032"]
    );
    // No targets: an empty server list (Traefik answers 503).
    assert!(servers("tg-5555555555555555").is_empty());
}

#[test]
fn priorities_weights_and_stickiness() {
    let (state, opts) = scenario();
    let r = file_provider::render(&state, &opts);
    let routers = &r.value["http"]["routers"];
    assert_eq!(
        routers["l-1000000000000001-r-r000000000000001"]["priority"],
        99_999
    );
    assert_eq!(
        routers["l-1000000000000001-r-default0000000001"]["priority"],
        1
    );
    assert_eq!(
        routers["l-1000000000000001-r-default0000000001"]["rule"],
        "PathPrefix(`/`)"
    );
    let w = &r.value["http"]["services"]["fwd-r000000000000005"]["weighted"];
    assert_eq!(w["sticky"]["cookie"]["name"], "AWSALBTG");
    assert_eq!(w["sticky"]["cookie"]["maxAge"], 600);
    // The weight-0 child is left out (Traefik would drop it too).
    assert_eq!(w["services"].as_array().unwrap().len(), 2);
    let s = &r.value["http"]["services"]["tg-3333333333333333"]["loadBalancer"]["sticky"];
    assert_eq!(s["cookie"]["name"], "AWSALB");
    // Inexpressible rules are left out and warned about.
    assert!(routers
        .get("l-1000000000000001-r-r000000000000010")
        .is_none());
    assert!(routers
        .get("l-1000000000000001-r-r000000000000013")
        .is_none());
    for feature in [
        "http-request-method",
        "query-string",
        "stickiness.app_cookie",
        "slow_start.duration_seconds",
        "load_balancing.algorithm.type",
        "listener.protocol",
        "listener",
        "authenticate-oidc",
        "transform.url-rewrite",
        "routing.http.xff_header_processing.mode",
    ] {
        assert!(
            r.warnings.iter().any(|w| w.feature == feature),
            "no warning for {feature}: {:#?}",
            r.warnings
        );
    }
}
