//! The routing model, built once per generation from the published state and target health:
//! load balancers (oldest first) with their listeners, each listener's rules in evaluation
//! order, target groups with their targets, addresses and health. The native data plane
//! (`dataplane/snapshot.rs`) and both Traefik renderers (`translators`) read only this; the
//! model's types are `translators::model` (shapes) and `translators::routing` (typed attributes,
//! conditions and actions), so the renderers stay pure functions of it.
//!
//! A stored rule that cannot be routed is never dropped silently: it is reported in
//! [`Model::unroutable`] (logged here, listed by `/_localelb/endpoints`). A rule with a condition
//! that cannot be read is left out (serving it without that condition would match too much); a
//! rule with no terminal action stays, and is answered with an error page.

#[cfg(test)]
mod tests;

use crate::elbv2::listener::{effective_port, effective_protocol};
use crate::elbv2::targets::registered_health;
use crate::health::{target_addr, HealthTable, TargetKey};
use crate::state::{ListenerRec, LoadBalancerRec, RuleRec, Scope, TargetGroupRec, World};
use translators::model::{
    HealthCheck, Listener, LoadBalancer, Rule, State, Target, TargetGroup, TargetState,
};
use translators::routing::{Condition, RouteAction};

/// A stored rule that cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unroutable {
    pub load_balancer_name: String,
    pub listener_arn: String,
    pub protocol: String,
    pub port: u16,
    pub rule_arn: String,
    /// What is wrong and what the data planes do about it.
    pub message: String,
}

/// The routing model of one generation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    pub state: State,
    /// Rules whose stored conditions or actions cannot be routed.
    pub unroutable: Vec<Unroutable>,
}

fn target_state(s: &str) -> TargetState {
    match s {
        "healthy" => TargetState::Healthy,
        "unhealthy" => TargetState::Unhealthy,
        "initial" => TargetState::Initial,
        "draining" => TargetState::Draining,
        "unused" => TargetState::Unused,
        _ => TargetState::Unavailable,
    }
}

/// Builds the model from a published world: everything that routes, over every account and
/// region, with target health resolved as DescribeTargetHealth reports it at `now_ms`.
pub fn build(world: &World, health: &HealthTable, now_ms: i64) -> Model {
    let mut lbs: Vec<(u64, LoadBalancer)> = Vec::new();
    let mut tgs: Vec<(u64, TargetGroup)> = Vec::new();
    let mut unroutable = Vec::new();
    for scope in world.scopes.values() {
        for lb in scope.load_balancers.values() {
            if let Some(m) = load_balancer(scope, lb, &mut unroutable) {
                lbs.push((lb.seq, m));
            }
        }
        for rec in scope.target_groups.values() {
            if let Some(tg) = target_group(rec, health, now_ms) {
                tgs.push((rec.seq, tg));
            }
        }
    }
    // Oldest first: the oldest load balancer on a shared port takes unknown hosts.
    lbs.sort_by_key(|l| l.0);
    tgs.sort_by_key(|t| t.0);
    for u in &unroutable {
        tracing::warn!(
            listener = %u.listener_arn,
            rule = %u.rule_arn,
            "rule cannot be routed: {}",
            u.message
        );
    }
    Model {
        state: State {
            load_balancers: lbs.into_iter().map(|l| l.1).collect(),
            target_groups: tgs.into_iter().map(|t| t.1).collect(),
        },
        unroutable,
    }
}

fn load_balancer(
    scope: &Scope,
    lb: &LoadBalancerRec,
    unroutable: &mut Vec<Unroutable>,
) -> Option<LoadBalancer> {
    let arn = lb.lb.load_balancer_arn.clone()?;
    let name = lb.lb.load_balancer_name.clone().unwrap_or_default();
    let mut listeners: Vec<(u64, Listener)> = scope
        .listeners
        .values()
        .filter(|l| l.listener.load_balancer_arn.as_deref() == Some(arn.as_str()))
        .filter_map(|l| listener(scope, l, &name, unroutable).map(|x| (l.seq, x)))
        .collect();
    listeners.sort_by_key(|l| l.0);
    Some(LoadBalancer {
        arn,
        name,
        dns_name: lb
            .lb
            .dns_name
            .clone()
            .unwrap_or_default()
            .to_ascii_lowercase(),
        type_: lb.lb.type_.clone().unwrap_or_else(|| "application".into()),
        attributes: lb.attributes.clone(),
        listeners: listeners.into_iter().map(|l| l.1).collect(),
    })
}

fn listener(
    scope: &Scope,
    l: &ListenerRec,
    lb_name: &str,
    unroutable: &mut Vec<Unroutable>,
) -> Option<Listener> {
    let li = &l.listener;
    let arn = li.listener_arn.clone()?;
    let protocol = effective_protocol(li);
    let port = u16::try_from(effective_port(li)).unwrap_or(0);
    let mut stored: Vec<&RuleRec> = scope
        .rules
        .values()
        .filter(|r| r.listener_arn == arn)
        .collect();
    // Evaluation order: ascending numeric priority, the default rule (no priority) last.
    stored.sort_by_key(|r| priority(r).unwrap_or(u32::MAX));
    let mut rules = Vec::with_capacity(stored.len());
    for r in stored {
        let rule = Rule {
            arn: r.rule.rule_arn.clone().unwrap_or_default(),
            priority: priority(r),
            conditions: r.rule.conditions.clone().unwrap_or_default(),
            actions: r.rule.actions.clone().unwrap_or_default(),
            transforms: r.rule.transforms.clone().unwrap_or_default(),
        };
        let mut report = |message: String| {
            unroutable.push(Unroutable {
                load_balancer_name: lb_name.to_string(),
                listener_arn: arn.clone(),
                protocol: protocol.clone(),
                port,
                rule_arn: rule.arn.clone(),
                message,
            })
        };
        if let Some(e) = rule
            .conditions
            .iter()
            .find_map(|c| Condition::parse(c).err())
        {
            report(format!("{e}; the rule is not served"));
            continue;
        }
        if rule.action() == RouteAction::NoTerminal {
            report("no forward, redirect or fixed-response action; matching requests get an error page".into());
        }
        rules.push(rule);
    }
    let mut certificates: Vec<String> = li
        .certificates
        .iter()
        .flatten()
        .filter_map(|c| c.certificate_arn.clone())
        .collect();
    certificates.extend(l.extra_certificates.iter().cloned());
    Some(Listener {
        arn,
        port,
        protocol,
        certificates,
        attributes: l.attributes.clone(),
        rules,
        alpn_policy: li.alpn_policy.as_ref().and_then(|p| p.first()).cloned(),
    })
}

fn priority(r: &RuleRec) -> Option<u32> {
    r.rule.priority.as_deref().and_then(|p| p.parse().ok())
}

fn target_group(rec: &TargetGroupRec, health: &HealthTable, now_ms: i64) -> Option<TargetGroup> {
    let tg = &rec.tg;
    let arn = tg.target_group_arn.clone()?;
    let tt = tg.target_type.clone().unwrap_or_else(|| "instance".into());
    let hc_enabled = tg.health_check_enabled.unwrap_or(true);
    let mut targets: Vec<Target> = rec
        .targets
        .iter()
        .map(|t| {
            let key = TargetKey {
                tg_arn: arn.clone(),
                id: t.id.clone(),
                port: t.port,
            };
            // Health as DescribeTargetHealth reports a target group in use.
            let h = registered_health(true, hc_enabled, health.get_for(&key, t.registered_ms));
            Target {
                id: t.id.clone(),
                port: u16::try_from(t.port).unwrap_or(0),
                address: target_addr(&tt, &t.id, t.port),
                state: target_state(h.state),
                registered_ms: Some(t.registered_ms),
            }
        })
        .collect();
    targets.extend(
        rec.draining
            .iter()
            .filter(|d| d.until_ms > now_ms)
            .map(|d| Target {
                id: d.target.id.clone(),
                port: u16::try_from(d.target.port).unwrap_or(0),
                address: target_addr(&tt, &d.target.id, d.target.port),
                state: TargetState::Draining,
                registered_ms: None,
            }),
    );
    let count = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok());
    Some(TargetGroup {
        arn,
        name: tg.target_group_name.clone().unwrap_or_default(),
        protocol: tg.protocol.clone(),
        port: tg.port.and_then(|p| u16::try_from(p).ok()),
        target_type: tt,
        attributes: rec.attributes.clone(),
        health_check: HealthCheck {
            enabled: hc_enabled,
            protocol: tg.health_check_protocol.clone(),
            port: tg.health_check_port.clone(),
            path: tg.health_check_path.clone(),
            interval_seconds: count(tg.health_check_interval_seconds),
            timeout_seconds: count(tg.health_check_timeout_seconds),
            healthy_threshold: count(tg.healthy_threshold_count),
            unhealthy_threshold: count(tg.unhealthy_threshold_count),
            http_code: tg.matcher.as_ref().and_then(|m| m.http_code.clone()),
        },
        targets,
    })
}
