//! What validating a listener's or rule's actions needs from the scope: the load balancer's
//! type, target-group facts, the per-action quota, and the unique-target-group limit.

use super::Replacing;
use crate::elbv2::actions::{self, ActionCtx, TgInfo};
use crate::elbv2::limits::quota;
use crate::elbv2::{ApiError, ApiResult, Service};
use api_models as m;
use api_models::ModeledError as E;

impl Service<'_> {
    /// The type of a load balancer (application when unknown).
    pub fn lb_type_of(&self, lb_arn: &str) -> String {
        self.scope()
            .load_balancers
            .get(lb_arn)
            .and_then(|l| l.lb.type_.clone())
            .unwrap_or_else(|| "application".into())
    }

    /// What action validation needs to know about a target group.
    pub fn tg_info(&self, arn: &str) -> Option<TgInfo> {
        let tg = self.scope().target_groups.get(arn)?;
        Some(TgInfo {
            protocol: tg.tg.protocol.clone(),
            target_type: tg
                .tg
                .target_type
                .clone()
                .unwrap_or_else(|| "instance".into()),
            load_balancers: self.lbs_using_tg(arn),
        })
    }

    /// The context actions of a listener are validated in.
    pub fn action_ctx<'a>(
        &self,
        lb_arn: &'a str,
        lb_type: &'a str,
        protocol: &'a str,
        port: i32,
        member: &'a str,
    ) -> ActionCtx<'a> {
        let cfg = &self.ctx.config;
        let max_tgs_per_action = match lb_type {
            "application" => quota(cfg, "target-groups-per-action-on-application-load-balancer"),
            "network" => quota(cfg, "target-groups-per-action-on-network-load-balancer"),
            _ => 1,
        };
        ActionCtx {
            lb_arn,
            lb_type,
            protocol,
            port: Some(port),
            member,
            max_tgs_per_action,
        }
    }

    /// Validates and normalises actions for a listener of `lb_arn`.
    pub fn normalize_actions_for(
        &self,
        actions: &[m::Action],
        ctx: &ActionCtx,
        previous: &[m::Action],
    ) -> ApiResult<Vec<m::Action>> {
        actions::normalize_actions(actions, ctx, &|arn: &str| self.tg_info(arn), previous)
    }

    /// `TooManyUniqueTargetGroupsPerLoadBalancer`: the distinct target groups an ALB's listeners
    /// and rules would forward to after the change.
    pub fn check_unique_tgs(
        &self,
        lb_arn: &str,
        lb_type: &str,
        new: &[m::Action],
        replacing: Replacing,
    ) -> ApiResult<()> {
        if lb_type != "application" {
            return Ok(());
        }
        let mut all = actions::target_groups_of(new);
        let mut add = |acts: &[m::Action]| {
            for a in actions::target_groups_of(acts) {
                if !all.contains(&a) {
                    all.push(a);
                }
            }
        };
        for l in self.listeners_of(lb_arn) {
            let l_arn = l.listener.listener_arn.as_deref().unwrap_or_default();
            if !matches!(&replacing, Replacing::ListenerDefaults(a) if *a == l_arn) {
                add(l.listener.default_actions.as_deref().unwrap_or_default());
            }
            for r in self.rules_of(l_arn) {
                let r_arn = r.rule.rule_arn.as_deref().unwrap_or_default();
                if r.rule.is_default != Some(true)
                    && !matches!(&replacing, Replacing::Rule(a) if *a == r_arn)
                {
                    add(r.rule.actions.as_deref().unwrap_or_default());
                }
            }
        }
        if all.len() as i64
            > quota(
                &self.ctx.config,
                "target-groups-per-application-load-balancer",
            )
        {
            return Err(ApiError::modeled(
                E::TooManyUniqueTargetGroupsPerLoadBalancer,
                "You've reached the limit on the number of unique target groups per load balancer",
            ));
        }
        Ok(())
    }
}
