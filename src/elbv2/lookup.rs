//! Finding resources by ARN, with AWS's not-found errors.

use super::{ApiError, ApiResult, Service};
use crate::state::{ListenerRec, LoadBalancerRec, RuleRec, TargetGroupRec, TrustStoreRec};
use api_models::ModeledError as E;

/// `LoadBalancerNotFound` for one ARN.
pub fn lb_not_found(arn: &str) -> ApiError {
    ApiError::modeled(
        E::LoadBalancerNotFound,
        format!("Load balancer '{arn}' not found"),
    )
}
/// `TargetGroupNotFound` for one ARN.
pub fn tg_not_found(arn: &str) -> ApiError {
    ApiError::modeled(
        E::TargetGroupNotFound,
        format!("Target group '{arn}' not found"),
    )
}
/// `ListenerNotFound` for one ARN.
pub fn listener_not_found(arn: &str) -> ApiError {
    ApiError::modeled(E::ListenerNotFound, format!("Listener '{arn}' not found"))
}
/// `RuleNotFound` for one ARN.
pub fn rule_not_found(arn: &str) -> ApiError {
    ApiError::modeled(E::RuleNotFound, format!("Rule '{arn}' not found"))
}
/// `TrustStoreNotFound` for one ARN or name.
pub fn ts_not_found(id: &str) -> ApiError {
    ApiError::modeled(
        E::TrustStoreNotFound,
        format!("Trust store '{id}' not found"),
    )
}

impl Service<'_> {
    /// The load balancer at `arn`.
    pub fn lb(&self, arn: &str) -> ApiResult<&LoadBalancerRec> {
        self.scope()
            .load_balancers
            .get(arn)
            .ok_or_else(|| lb_not_found(arn))
    }
    /// The target group at `arn`.
    pub fn tg(&self, arn: &str) -> ApiResult<&TargetGroupRec> {
        self.scope()
            .target_groups
            .get(arn)
            .ok_or_else(|| tg_not_found(arn))
    }
    /// The listener at `arn`.
    pub fn listener(&self, arn: &str) -> ApiResult<&ListenerRec> {
        self.scope()
            .listeners
            .get(arn)
            .ok_or_else(|| listener_not_found(arn))
    }
    /// The rule at `arn`.
    pub fn rule(&self, arn: &str) -> ApiResult<&RuleRec> {
        self.scope()
            .rules
            .get(arn)
            .ok_or_else(|| rule_not_found(arn))
    }
    /// The trust store at `arn`.
    pub fn trust_store(&self, arn: &str) -> ApiResult<&TrustStoreRec> {
        self.scope()
            .trust_stores
            .get(arn)
            .ok_or_else(|| ts_not_found(arn))
    }
    /// The load balancer at `arn`, for writing.
    pub fn lb_mut(&mut self, arn: &str) -> ApiResult<&mut LoadBalancerRec> {
        self.scope_mut()?
            .load_balancers
            .get_mut(arn)
            .ok_or_else(|| lb_not_found(arn))
    }
    /// The target group at `arn`, for writing. Draining entries whose delay has passed are
    /// dropped here: every write to a target group goes through this, so none outlives the next one.
    pub fn tg_mut(&mut self, arn: &str) -> ApiResult<&mut TargetGroupRec> {
        let now = self.ctx.now_ms;
        let rec = self
            .scope_mut()?
            .target_groups
            .get_mut(arn)
            .ok_or_else(|| tg_not_found(arn))?;
        rec.draining.retain(|d| d.until_ms > now);
        Ok(rec)
    }
    /// The listener at `arn`, for writing.
    pub fn listener_mut(&mut self, arn: &str) -> ApiResult<&mut ListenerRec> {
        self.scope_mut()?
            .listeners
            .get_mut(arn)
            .ok_or_else(|| listener_not_found(arn))
    }
    /// The trust store at `arn`, for writing.
    pub fn trust_store_mut(&mut self, arn: &str) -> ApiResult<&mut TrustStoreRec> {
        self.scope_mut()?
            .trust_stores
            .get_mut(arn)
            .ok_or_else(|| ts_not_found(arn))
    }
    /// The target groups a load balancer's listeners and rules forward to.
    pub fn tgs_of_lb(&self, lb_arn: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for l in self.listeners_of(lb_arn) {
            let arn = l.listener.listener_arn.as_deref().unwrap_or_default();
            let rules = self.rules_of(arn);
            let actions =
                std::iter::once(l.listener.default_actions.as_deref().unwrap_or_default()).chain(
                    rules
                        .iter()
                        .map(|r| r.rule.actions.as_deref().unwrap_or_default()),
                );
            for acts in actions {
                for tg in super::actions::target_groups_of(acts) {
                    if !out.contains(&tg) {
                        out.push(tg);
                    }
                }
            }
        }
        out
    }
    /// The listeners of a load balancer, in creation order.
    pub fn listeners_of(&self, lb_arn: &str) -> Vec<&ListenerRec> {
        let mut v: Vec<&ListenerRec> = self
            .scope()
            .listeners
            .values()
            .filter(|l| l.listener.load_balancer_arn.as_deref() == Some(lb_arn))
            .collect();
        v.sort_by_key(|l| l.seq);
        v
    }
    /// The rules of a listener (default rule included), in creation order.
    pub fn rules_of(&self, listener_arn: &str) -> Vec<&RuleRec> {
        let mut v: Vec<&RuleRec> = self
            .scope()
            .rules
            .values()
            .filter(|r| r.listener_arn == listener_arn)
            .collect();
        v.sort_by_key(|r| r.seq);
        v
    }
    /// Load balancers whose listeners or rules forward to the target group, in creation order.
    pub fn lbs_using_tg(&self, tg_arn: &str) -> Vec<String> {
        let scope = self.scope();
        let mut lbs: Vec<(u64, String)> = Vec::new();
        let mut add = |listener_arn: &str| {
            if let Some(l) = scope.listeners.get(listener_arn) {
                if let Some(lb_arn) = &l.listener.load_balancer_arn {
                    if let Some(lb) = scope.load_balancers.get(lb_arn) {
                        if !lbs.iter().any(|(_, a)| a == lb_arn) {
                            lbs.push((lb.seq, lb_arn.clone()));
                        }
                    }
                }
            }
        };
        for l in scope.listeners.values() {
            if actions_use_tg(
                l.listener.default_actions.as_deref().unwrap_or_default(),
                tg_arn,
            ) {
                add(l.listener.listener_arn.as_deref().unwrap_or_default());
            }
        }
        for r in scope.rules.values() {
            if actions_use_tg(r.rule.actions.as_deref().unwrap_or_default(), tg_arn) {
                add(&r.listener_arn);
            }
        }
        lbs.sort();
        lbs.into_iter().map(|(_, a)| a).collect()
    }
}

/// Whether any forward action names the target group (directly or in a ForwardConfig).
pub fn actions_use_tg(actions: &[api_models::Action], tg_arn: &str) -> bool {
    actions.iter().any(|a| {
        a.target_group_arn.as_deref() == Some(tg_arn)
            || a.forward_config
                .as_ref()
                .and_then(|f| f.target_groups.as_ref())
                .is_some_and(|tgs| {
                    tgs.iter()
                        .any(|t| t.target_group_arn.as_deref() == Some(tg_arn))
                })
    })
}

/// The records of `all` (kept in its order) whose `key` is one of `wanted`; or, if some wanted
/// key matches no record, those keys in request order. Describe calls select by ARNs or names
/// with this and answer the missing ones with their resource's not-found error.
pub fn select<'a, 'w, R>(
    all: &[&'a R],
    wanted: &'w [String],
    key: impl Fn(&R) -> Option<&str>,
) -> Result<Vec<&'a R>, Vec<&'w String>> {
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|w| !all.iter().any(|r| key(r) == Some(w.as_str())))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok(all
        .iter()
        .filter(|r| wanted.iter().any(|w| key(r) == Some(w.as_str())))
        .copied()
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn select_keeps_record_order_and_reports_missing_in_request_order() {
        let recs = ["a", "b", "c"];
        let all: Vec<&&str> = recs.iter().collect();
        let wanted = vec!["c".to_string(), "a".to_string()];
        let got = super::select(&all, &wanted, |r| Some(*r)).unwrap();
        assert_eq!(got, vec![&"a", &"c"]);
        let wanted = vec!["x".to_string(), "b".to_string(), "y".to_string()];
        let missing = super::select(&all, &wanted, |r| Some(*r)).unwrap_err();
        assert_eq!(missing, vec!["x", "y"]);
    }
}
