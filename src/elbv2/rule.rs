//! Listener rules: create, describe, modify, delete and reprioritise. Rules exist only on
//! Application Load Balancer listeners; each listener's default rule (created with the
//! listener) is listed last, can't be deleted or reprioritised, and its conditions can't change.

use super::actions;
use super::arn;
use super::conditions::{self, ConditionLimits};
use super::limits::quota;
use super::listener::{effective_port, effective_protocol, Replacing};
use super::lookup::rule_not_found;
use super::page::page;
use super::tags;
use super::transforms;
use super::{ApiError, ApiResult, Service};
use crate::state::RuleRec;
use api_models as m;
use api_models::ModeledError as E;
use std::collections::BTreeMap;

/// The rule as the API shows it (no OIDC client secrets).
pub fn public_rule(r: &m::Rule) -> m::Rule {
    let mut r = r.clone();
    r.actions = r.actions.as_deref().map(actions::public_actions);
    r
}

/// Sort key: numeric priorities ascending, the default rule last.
fn priority_key(r: &m::Rule) -> (u8, i64) {
    match r.priority.as_deref().and_then(|p| p.parse::<i64>().ok()) {
        Some(p) if r.is_default != Some(true) => (0, p),
        _ => (1, 0),
    }
}

fn priority_in_use(p: i32) -> ApiError {
    ApiError::modeled(
        E::PriorityInUse,
        format!("Priority '{p}' is currently in use"),
    )
}

fn check_priority(p: i32) -> ApiResult<()> {
    if !(1..=50_000).contains(&p) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{p}' at 'priority' failed to satisfy constraint: Member must have value between 1 and 50000"
        )));
    }
    Ok(())
}

/// The listener a rule operation works on: its ARN parts and protocol.
struct ListenerFacts {
    lb_arn: String,
    lb_type: String,
    protocol: String,
    port: i32,
}

impl Service<'_> {
    fn listener_facts(&self, listener_arn: &str) -> ApiResult<ListenerFacts> {
        let l = &self.listener(listener_arn)?.listener;
        let lb_arn = l.load_balancer_arn.clone().unwrap_or_default();
        Ok(ListenerFacts {
            lb_type: self.lb_type_of(&lb_arn),
            lb_arn,
            protocol: effective_protocol(l),
            port: effective_port(l),
        })
    }

    fn condition_limits(&self) -> ConditionLimits {
        ConditionLimits {
            values: quota(&self.ctx.config, "condition-values-per-alb-rule"),
            wildcards: quota(&self.ctx.config, "condition-wildcards-per-alb-rule"),
        }
    }
}

impl m::Rules for Service<'_> {
    /// CreateRule.
    fn create_rule(&mut self, i: m::CreateRuleInput) -> ApiResult<m::CreateRuleOutput> {
        let listener_arn = i.listener_arn.clone().unwrap_or_default();
        let f = self.listener_facts(&listener_arn)?;
        if f.lb_type != "application" {
            return Err(ApiError::validation(format!(
                "Rules can't be created for {} listeners of a load balancer of type '{}'",
                f.protocol, f.lb_type
            )));
        }
        let priority = i.priority.ok_or_else(|| {
            ApiError::validation("1 validation error detected: Value null at 'priority' failed to satisfy constraint: Member must not be null")
        })?;
        check_priority(priority)?;
        let conditions = conditions::normalize_conditions(
            i.conditions.as_deref().unwrap_or_default(),
            self.condition_limits(),
        )?;
        let ctx = self.action_ctx(&f.lb_arn, &f.lb_type, &f.protocol, f.port, "actions");
        let acts =
            self.normalize_actions_for(i.actions.as_deref().unwrap_or_default(), &ctx, &[])?;
        let transforms =
            transforms::normalize_transforms(i.transforms.as_deref().unwrap_or_default())?;
        let tags = tags::check_new(i.tags.as_deref().unwrap_or_default())?;
        if self
            .rules_of(&listener_arn)
            .iter()
            .any(|r| r.rule.priority.as_deref() == Some(priority.to_string().as_str()))
        {
            return Err(priority_in_use(priority));
        }
        let rules_on_lb: usize = self
            .listeners_of(&f.lb_arn)
            .iter()
            .map(|l| {
                let l_arn = l.listener.listener_arn.as_deref().unwrap_or_default();
                self.rules_of(l_arn)
                    .iter()
                    .filter(|r| r.rule.is_default != Some(true))
                    .count()
            })
            .sum();
        if rules_on_lb as i64 >= quota(&self.ctx.config, "rules-per-application-load-balancer") {
            return Err(ApiError::modeled(
                E::TooManyRules,
                "You've reached the limit on the number of rules per load balancer",
            ));
        }
        self.check_unique_tgs(&f.lb_arn, &f.lb_type, &acts, Replacing::Nothing)?;

        let rule_arn = arn::rule_arn(&listener_arn, &arn::new_id());
        let rule = m::Rule {
            rule_arn: Some(rule_arn.clone()),
            priority: Some(priority.to_string()),
            conditions: Some(conditions),
            actions: Some(acts),
            is_default: Some(false),
            transforms: (!transforms.is_empty()).then_some(transforms),
        };
        let scope = self.scope_mut()?;
        let seq = scope.seq();
        scope.rules.insert(
            rule_arn,
            RuleRec {
                rule: rule.clone(),
                listener_arn,
                tags,
                seq,
            },
        );
        Ok(m::CreateRuleOutput {
            rules: Some(vec![public_rule(&rule)]),
        })
    }

    /// DescribeRules: a listener's rules by priority (default last), or the given rules in
    /// request order; paged.
    fn describe_rules(&mut self, i: m::DescribeRulesInput) -> ApiResult<m::DescribeRulesOutput> {
        let arns = i.rule_arns.clone().unwrap_or_default();
        let items: Vec<m::Rule> =
            match (arns.is_empty(), i.listener_arn.as_deref()) {
                (false, Some(_)) => return Err(ApiError::validation(
                    "Listener rule ARNs and a listener ARN cannot be specified at the same time",
                )),
                (false, None) => arns
                    .iter()
                    .map(|a| self.rule(a).map(|r| public_rule(&r.rule)))
                    .collect::<ApiResult<_>>()?,
                (true, Some(l)) => {
                    self.listener(l)?;
                    let mut rules: Vec<&m::Rule> =
                        self.rules_of(l).into_iter().map(|r| &r.rule).collect();
                    rules.sort_by_key(|r| priority_key(r));
                    rules.into_iter().map(public_rule).collect()
                }
                (true, None) => {
                    return Err(ApiError::validation(
                        "You must specify either listener rule ARNs or a listener ARN",
                    ))
                }
            };
        let (rules, next_marker) = page(&items, i.marker.as_deref(), i.page_size)?;
        Ok(m::DescribeRulesOutput {
            rules: Some(rules),
            next_marker,
        })
    }

    /// ModifyRule: replaces conditions, actions and/or transforms. New actions on the default
    /// rule are the listener's new default actions.
    fn modify_rule(&mut self, i: m::ModifyRuleInput) -> ApiResult<m::ModifyRuleOutput> {
        let arn = i.rule_arn.clone().unwrap_or_default();
        let rec = self.rule(&arn)?.clone();
        let reset = i.reset_transforms == Some(true);
        if i.conditions.is_none() && i.actions.is_none() && i.transforms.is_none() && !reset {
            return Err(ApiError::validation(
                "Either conditions or actions must be specified",
            ));
        }
        if i.transforms.is_some() && reset {
            return Err(ApiError::validation(
                "'Transforms' and 'ResetTransforms' cannot be specified together",
            ));
        }
        let is_default = rec.rule.is_default == Some(true);
        if is_default && i.conditions.is_some() {
            return Err(ApiError::modeled(
                E::OperationNotPermitted,
                "The conditions of a default rule cannot be modified",
            ));
        }
        if is_default && (i.transforms.is_some() || reset) {
            return Err(ApiError::modeled(
                E::OperationNotPermitted,
                "A default rule cannot have transforms",
            ));
        }
        let f = self.listener_facts(&rec.listener_arn)?;
        let mut rule = rec.rule.clone();
        if let Some(c) = &i.conditions {
            rule.conditions = Some(conditions::normalize_conditions(
                c,
                self.condition_limits(),
            )?);
        }
        if let Some(a) = &i.actions {
            let ctx = self.action_ctx(&f.lb_arn, &f.lb_type, &f.protocol, f.port, "actions");
            let n = self.normalize_actions_for(
                a,
                &ctx,
                rec.rule.actions.as_deref().unwrap_or_default(),
            )?;
            let replacing = if is_default {
                Replacing::ListenerDefaults(&rec.listener_arn)
            } else {
                Replacing::Rule(&arn)
            };
            self.check_unique_tgs(&f.lb_arn, &f.lb_type, &n, replacing)?;
            rule.actions = Some(n);
        }
        if let Some(t) = &i.transforms {
            let t = transforms::normalize_transforms(t)?;
            rule.transforms = (!t.is_empty()).then_some(t);
        }
        if reset {
            rule.transforms = None;
        }
        let scope = self.scope_mut()?;
        scope
            .rules
            .get_mut(&arn)
            .ok_or_else(|| rule_not_found(&arn))?
            .rule = rule.clone();
        if is_default && i.actions.is_some() {
            if let Some(l) = scope.listeners.get_mut(&rec.listener_arn) {
                l.listener.default_actions = rule.actions.clone();
            }
        }
        Ok(m::ModifyRuleOutput {
            rules: Some(vec![public_rule(&rule)]),
        })
    }

    /// DeleteRule: the default rule can't be deleted.
    fn delete_rule(&mut self, i: m::DeleteRuleInput) -> ApiResult<m::DeleteRuleOutput> {
        let arn = i.rule_arn.unwrap_or_default();
        if self.rule(&arn)?.rule.is_default == Some(true) {
            return Err(ApiError::modeled(
                E::OperationNotPermitted,
                "Default rule cannot be deleted",
            ));
        }
        self.scope_mut()?.rules.remove(&arn);
        Ok(m::DeleteRuleOutput {})
    }

    /// SetRulePriorities: all or nothing; returns the changed rules in request order.
    fn set_rule_priorities(
        &mut self,
        i: m::SetRulePrioritiesInput,
    ) -> ApiResult<m::SetRulePrioritiesOutput> {
        let pairs = i.rule_priorities.unwrap_or_default();
        // (rule ARN, new priority, listener ARN)
        let mut changes: Vec<(String, i32, String)> = Vec::new();
        for p in &pairs {
            let arn = p.rule_arn.clone().unwrap_or_default();
            let rec = self.rule(&arn)?;
            if rec.rule.is_default == Some(true) {
                return Err(ApiError::modeled(
                    E::OperationNotPermitted,
                    "The priority of a default rule cannot be changed",
                ));
            }
            let priority = p.priority.ok_or_else(|| {
                ApiError::validation("1 validation error detected: Value null at 'rulePriorities.member.priority' failed to satisfy constraint: Member must not be null")
            })?;
            check_priority(priority)?;
            if changes.iter().any(|(a, _, _)| *a == arn) {
                return Err(ApiError::validation(format!(
                    "Rule '{arn}' was provided multiple times"
                )));
            }
            if changes
                .iter()
                .any(|(_, q, l)| *q == priority && *l == rec.listener_arn)
            {
                return Err(ApiError::validation(format!(
                    "Priority '{priority}' was provided multiple times"
                )));
            }
            changes.push((arn, priority, rec.listener_arn.clone()));
        }
        // Against the rules that keep their priority.
        let mut by_listener: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (_, p, l) in &changes {
            by_listener.entry(l.as_str()).or_default().push(*p);
        }
        for (l, wanted) in &by_listener {
            for r in self.rules_of(l) {
                let r_arn = r.rule.rule_arn.as_deref().unwrap_or_default();
                if r.rule.is_default == Some(true) || changes.iter().any(|(a, _, _)| a == r_arn) {
                    continue;
                }
                if let Some(p) = wanted
                    .iter()
                    .find(|p| r.rule.priority.as_deref() == Some(p.to_string().as_str()))
                {
                    return Err(priority_in_use(*p));
                }
            }
        }
        let scope = self.scope_mut()?;
        let mut out = Vec::with_capacity(changes.len());
        for (arn, p, _) in changes {
            let rec = scope
                .rules
                .get_mut(&arn)
                .ok_or_else(|| rule_not_found(&arn))?;
            rec.rule.priority = Some(p.to_string());
            out.push(public_rule(&rec.rule));
        }
        Ok(m::SetRulePrioritiesOutput { rules: Some(out) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rule_sorts_last() {
        let r = |p: &str, d: bool| m::Rule {
            priority: Some(p.into()),
            is_default: Some(d),
            ..Default::default()
        };
        let mut v = [r("default", true), r("10", false), r("2", false)];
        v.sort_by_key(priority_key);
        let order: Vec<_> = v.iter().map(|r| r.priority.clone().unwrap()).collect();
        assert_eq!(order, ["2", "10", "default"]);
    }

    #[test]
    fn priority_bounds() {
        assert!(check_priority(1).is_ok() && check_priority(50_000).is_ok());
        assert!(check_priority(0).is_err() && check_priority(50_001).is_err());
        assert_eq!(
            priority_in_use(7).message(),
            "Priority '7' is currently in use"
        );
    }
}
