//! The routing snapshot build: rule order, forward weights, and target choice by health.

use super::*;
use crate::dataplane::choose::choose_target_at;
use crate::dataplane::snapshot::{ActionRoute, ForwardRoute};
use crate::dataplane::sticky::Hints;

fn forward_of(r: &Routing, port: u16, rule: usize) -> &ForwardRoute {
    match &r.ports[&port][0].rules[rule].action {
        ActionRoute::Forward(f) => f,
        _ => panic!("rule {rule} does not forward"),
    }
}

/// The target group ARN and target port of `n` picks for the default rule of port 80.
fn picks(r: &Routing, n: usize) -> Vec<(String, u16)> {
    let fwd = forward_of(r, 80, r.ports[&80][0].rules.len() - 1);
    (0..n)
        .map(|_| {
            let (tg, t) =
                choose_target_at(r, fwd, &Hints::default(), &hyper::HeaderMap::new(), 0).unwrap();
            (tg.arn.clone(), tg.targets[t].addr.port())
        })
        .collect()
}

#[test]
fn rules_are_ordered_by_numeric_priority_then_the_default() {
    let mut w = TestWorld::new();
    let lb = w.lb("web");
    let tg = w.tg("tg", "ip", &[]);
    let l = w.listener(&lb, "HTTP", 80, forward(&[(&tg, 1)]));
    // Created out of order; "10" and "100" sort before "2" as strings, not as priorities.
    let p10 = w.rule(&l, 10, vec![path_is("/10")], fixed(200, "10"));
    let p2 = w.rule(&l, 2, vec![path_is("/2")], fixed(200, "2"));
    let p100 = w.rule(&l, 100, vec![path_is("/100")], fixed(200, "100"));
    let health = HealthTable::default();
    let r = routing(&w.world(), &health);
    let listener = &r.ports[&80][0];
    let order: Vec<&str> = listener.rules.iter().map(|x| x.arn.as_str()).collect();
    assert_eq!(order.len(), 4);
    assert_eq!(&order[..3], [p2.as_str(), p10.as_str(), p100.as_str()]);
    assert!(matches!(listener.rules[3].action, ActionRoute::Forward(_)));
    assert!(listener.rules[3].conditions.is_empty());
}

#[test]
fn forward_weights_split_requests_between_groups() {
    let mut w = TestWorld::new();
    let lb = w.lb("web");
    let a = w.tg("a", "ip", &[("127.0.0.1", 1001)]);
    let b = w.tg("b", "ip", &[("127.0.0.1", 1002)]);
    let c = w.tg("c", "ip", &[("127.0.0.1", 1003)]);
    w.listener(&lb, "HTTP", 80, forward(&[(&a, 3), (&b, 1), (&c, 0)]));
    let health = HealthTable::default();
    let r = routing(&w.world(), &health);
    let fwd = forward_of(&r, 80, 0);
    assert_eq!(fwd.tgs, [a.clone(), b.clone(), c.clone()]);
    assert_eq!(fwd.weights, [3, 1, 0]);
    let got = picks(&r, 8);
    let count = |arn: &str| got.iter().filter(|(g, _)| g == arn).count();
    // Smooth weighted round robin: exactly 3:1 over every 4 picks; weight 0 gets nothing.
    assert_eq!((count(&a), count(&b), count(&c)), (6, 2, 0), "{got:?}");
}

#[test]
fn unhealthy_targets_are_skipped_until_none_is_healthy_then_all_serve() {
    let mut w = TestWorld::new();
    let lb = w.lb("web");
    let tg = w.tg("tg", "ip", &[("127.0.0.1", 1001), ("127.0.0.1", 1002)]);
    w.listener(&lb, "HTTP", 80, forward(&[(&tg, 1)]));
    let health = HealthTable::default();
    let r = routing(&w.world(), &health);
    // Health reaches a built snapshot through the targets' cells (no rebuild).
    set_health(&health, &tg, "127.0.0.1", 1001, true);
    set_health(&health, &tg, "127.0.0.1", 1002, false);
    let ports: Vec<u16> = picks(&r, 4).into_iter().map(|(_, p)| p).collect();
    assert_eq!(ports, [1001; 4]);
    // Fail open: with no healthy target, every registered one takes traffic.
    set_health(&health, &tg, "127.0.0.1", 1001, false);
    let mut ports: Vec<u16> = picks(&r, 4).into_iter().map(|(_, p)| p).collect();
    ports.sort();
    assert_eq!(ports, [1001, 1001, 1002, 1002]);
}

#[test]
fn target_group_attributes_set_stickiness_and_the_algorithm() {
    use crate::dataplane::select::Algorithm;
    use crate::dataplane::snapshot::TargetStickiness;
    let mut w = TestWorld::new();
    let lb = w.lb("web");
    let plain = w.tg("plain", "ip", &[("127.0.0.1", 1001)]);
    let tuned = w.tg("tuned", "ip", &[("127.0.0.1", 1002)]);
    w.tg_attr(&tuned, "stickiness.enabled", "true");
    w.tg_attr(&tuned, "stickiness.type", "lb_cookie");
    w.tg_attr(&tuned, "stickiness.lb_cookie.duration_seconds", "120");
    w.tg_attr(
        &tuned,
        "load_balancing.algorithm.type",
        "least_outstanding_requests",
    );
    w.listener(&lb, "HTTP", 80, forward(&[(&plain, 1), (&tuned, 1)]));
    let health = HealthTable::default();
    let r = routing(&w.world(), &health);
    let (plain, tuned) = (&r.tgs[&plain], &r.tgs[&tuned]);
    assert_eq!(plain.stickiness, None);
    assert_eq!(plain.picker.algorithm(), Algorithm::RoundRobin);
    assert_eq!(
        tuned.stickiness,
        Some(TargetStickiness::LbCookie { duration_s: 120 })
    );
    assert_eq!(tuned.picker.algorithm(), Algorithm::LeastOutstanding);
}
