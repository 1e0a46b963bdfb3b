//! The routing model build: rule order, forward weights, attribute defaults, target health,
//! and rules that cannot be routed.

use super::*;
use crate::state::{DrainingTarget, TargetRec};
use api_models as m;
use std::collections::BTreeMap;
use std::sync::Arc;
use translators::routing::{Algorithm, Forward, Stickiness, XffMode};

const LB: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/1";
const LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2";
const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/3";

fn scope() -> Scope {
    let mut s = Scope::new("123456789012", "us-east-1");
    let seq = s.seq();
    s.load_balancers.insert(
        LB.into(),
        LoadBalancerRec {
            lb: m::LoadBalancer {
                load_balancer_arn: Some(LB.into()),
                load_balancer_name: Some("web".into()),
                dns_name: Some("Web.ELB.test".into()),
                ..Default::default()
            },
            attributes: BTreeMap::new(),
            tags: Vec::new(),
            seq,
            capacity_units: None,
            capacity_modified: None,
            capacity_decreases: 0,
        },
    );
    let seq = s.seq();
    s.listeners.insert(
        LISTENER.into(),
        ListenerRec {
            listener: m::Listener {
                listener_arn: Some(LISTENER.into()),
                load_balancer_arn: Some(LB.into()),
                port: Some(80),
                protocol: Some("HTTP".into()),
                ..Default::default()
            },
            attributes: BTreeMap::new(),
            tags: Vec::new(),
            extra_certificates: Vec::new(),
            seq,
        },
    );
    s
}

fn add_rule(s: &mut Scope, priority: &str, conditions: Vec<m::RuleCondition>, a: m::Action) {
    let seq = s.seq();
    let arn = format!("{LISTENER}/rule-{priority}");
    s.rules.insert(
        arn.clone(),
        RuleRec {
            rule: m::Rule {
                rule_arn: Some(arn),
                priority: Some(priority.into()),
                conditions: Some(conditions),
                actions: Some(vec![a]),
                ..Default::default()
            },
            listener_arn: LISTENER.into(),
            tags: Vec::new(),
            seq,
        },
    );
}

fn fixed(body: &str) -> m::Action {
    m::Action {
        type_: Some("fixed-response".into()),
        fixed_response_config: Some(m::FixedResponseActionConfig {
            status_code: Some("200".into()),
            message_body: Some(body.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn path(p: &str) -> m::RuleCondition {
    m::RuleCondition {
        field: Some("path-pattern".into()),
        values: Some(vec![p.into()]),
        ..Default::default()
    }
}

fn world(s: Scope) -> World {
    let mut w = World::default();
    *w.scope_mut("123456789012", "us-east-1") = Arc::new(s);
    w
}

fn rule_arns(model: &Model) -> Vec<String> {
    model.state.load_balancers[0].listeners[0]
        .rules
        .iter()
        .map(|r| r.arn.rsplit('/').next().unwrap().to_string())
        .collect()
}

#[test]
fn rules_are_in_numeric_priority_order_with_the_default_last() {
    let mut s = scope();
    for p in ["default", "10", "2", "100"] {
        add_rule(&mut s, p, vec![path(&format!("/{p}"))], fixed(p));
    }
    let model = build(&world(s), &HealthTable::default(), 0);
    assert_eq!(
        rule_arns(&model),
        ["rule-2", "rule-10", "rule-100", "rule-default"]
    );
    let rules = &model.state.load_balancers[0].listeners[0].rules;
    assert_eq!(rules[0].priority, Some(2));
    assert!(rules[3].is_default());
    assert!(model.unroutable.is_empty());
    assert_eq!(model.state.load_balancers[0].dns_name, "web.elb.test");
}

#[test]
fn forward_weights_and_group_stickiness_are_typed() {
    let mut s = scope();
    let tuple = |arn: &str, w: i32| m::TargetGroupTuple {
        target_group_arn: Some(arn.into()),
        weight: Some(w),
    };
    let forward = m::Action {
        type_: Some("forward".into()),
        forward_config: Some(m::ForwardActionConfig {
            target_groups: Some(vec![tuple("a", 3), tuple("b", 1), tuple("c", 0)]),
            target_group_stickiness_config: Some(m::TargetGroupStickinessConfig {
                enabled: Some(true),
                duration_seconds: None,
            }),
        }),
        ..Default::default()
    };
    add_rule(&mut s, "default", vec![], forward);
    let model = build(&world(s), &HealthTable::default(), 0);
    let RouteAction::Forward(Forward {
        groups,
        stickiness_s,
    }) = model.state.load_balancers[0].listeners[0].rules[0].action()
    else {
        panic!("not a forward")
    };
    let weights: Vec<(&str, u32)> = groups.iter().map(|g| (g.arn.as_str(), g.weight)).collect();
    assert_eq!(weights, [("a", 3), ("b", 1), ("c", 0)]);
    assert_eq!(stickiness_s, Some(3600));
}

#[test]
fn attribute_defaults_and_gateway_listener_defaults() {
    let mut s = scope();
    let seq = s.seq();
    s.target_groups.insert(
        TG.into(),
        TargetGroupRec {
            tg: m::TargetGroup {
                target_group_arn: Some(TG.into()),
                ..Default::default()
            },
            attributes: BTreeMap::new(),
            tags: Vec::new(),
            targets: Vec::new(),
            draining: Vec::new(),
            seq,
        },
    );
    let mut gw = s.listeners.get(LISTENER).unwrap().clone();
    gw.listener.port = None;
    gw.listener.protocol = None;
    s.listeners.insert(LISTENER.into(), gw);
    let model = build(&world(s), &HealthTable::default(), 0);
    let tg = &model.state.target_groups[0];
    assert_eq!(tg.target_type, "instance");
    let a = tg.attrs();
    assert_eq!(a.algorithm, Algorithm::RoundRobin);
    assert_eq!((a.stickiness, a.slow_start_s), (None, 0));
    let lb = &model.state.load_balancers[0];
    let la = lb.attrs();
    assert_eq!((la.xff, la.idle_timeout_s), (XffMode::Append, 60));
    assert_eq!(lb.type_, "application");
    // Gateway listeners store no port or protocol: GENEVE on 6081.
    assert_eq!(
        (lb.listeners[0].protocol.as_str(), lb.listeners[0].port),
        ("GENEVE", 6081)
    );
}

#[test]
fn targets_carry_health_and_draining_targets_no_registration() {
    let mut s = scope();
    let seq = s.seq();
    let target = |port: i32| TargetRec {
        id: "127.0.0.1".into(),
        port,
        availability_zone: None,
        quic_server_id: None,
        registered_ms: 5,
    };
    let mut attributes = BTreeMap::new();
    attributes.insert("stickiness.enabled".to_string(), "true".to_string());
    attributes.insert("stickiness.type".to_string(), "app_cookie".to_string());
    s.target_groups.insert(
        TG.into(),
        TargetGroupRec {
            tg: m::TargetGroup {
                target_group_arn: Some(TG.into()),
                target_type: Some("ip".into()),
                ..Default::default()
            },
            attributes,
            tags: Vec::new(),
            targets: vec![target(81)],
            draining: vec![
                DrainingTarget {
                    target: target(82),
                    until_ms: 100,
                },
                DrainingTarget {
                    target: target(83),
                    until_ms: 10,
                },
            ],
            seq,
        },
    );
    let model = build(&world(s), &HealthTable::default(), 50);
    let tg = &model.state.target_groups[0];
    let got: Vec<(u16, TargetState, Option<i64>)> = tg
        .targets
        .iter()
        .map(|t| (t.port, t.state, t.registered_ms))
        .collect();
    // Not probed yet: initial. The drain that ended at 10 is gone at 50.
    assert_eq!(
        got,
        [
            (81, TargetState::Initial, Some(5)),
            (82, TargetState::Draining, None)
        ]
    );
    assert_eq!(tg.targets[0].address, Some(([127, 0, 0, 1], 81).into()));
    assert_eq!(
        tg.attrs().stickiness,
        Some(Stickiness::AppCookie {
            cookie_name: String::new(),
            duration_s: 86_400
        })
    );
}

#[test]
fn a_condition_that_cannot_be_read_is_reported_and_its_rule_not_served() {
    let mut s = scope();
    let broken = m::RuleCondition {
        field: Some("http-header".into()),
        ..Default::default()
    };
    add_rule(&mut s, "1", vec![path("/ok"), broken], fixed("1"));
    add_rule(&mut s, "2", vec![path("/two")], m::Action::default());
    add_rule(&mut s, "default", vec![], fixed("d"));
    let model = build(&world(s), &HealthTable::default(), 0);
    // Served without the condition it would match far more than stored: left out.
    assert_eq!(rule_arns(&model), ["rule-2", "rule-default"]);
    let got: Vec<(&str, &str)> = model
        .unroutable
        .iter()
        .map(|u| (u.rule_arn.rsplit('/').next().unwrap(), u.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "rule-1",
                "http-header condition without HttpHeaderConfig; the rule is not served"
            ),
            (
                "rule-2",
                "no forward, redirect or fixed-response action; matching requests get an error page"
            ),
        ]
    );
    let u = &model.unroutable[0];
    assert_eq!(
        (
            u.listener_arn.as_str(),
            u.load_balancer_name.as_str(),
            u.port
        ),
        (LISTENER, "web", 80)
    );
}
