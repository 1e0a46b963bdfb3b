//! What validating an action needs: the target-group facts, where the actions go, and the
//! two error shapes every action check answers with.

use crate::elbv2::ApiError;
use api_models::ModeledError as E;

/// What action validation needs to know about a target group.
#[derive(Debug, Clone, Default)]
pub struct TgInfo {
    /// `None` for lambda target groups.
    pub protocol: Option<String>,
    pub target_type: String,
    /// Load balancers whose listeners or rules already forward to it.
    pub load_balancers: Vec<String>,
}

/// Where a list of actions is going to be used.
#[derive(Debug, Clone)]
pub struct ActionCtx<'a> {
    pub lb_arn: &'a str,
    /// `application`, `network` or `gateway`.
    pub lb_type: &'a str,
    /// The listener protocol (`GENEVE` for gateway listeners).
    pub protocol: &'a str,
    /// The listener port, for the redirect-loop check.
    pub port: Option<i32>,
    /// The request member, for messages: `defaultActions` or `actions`.
    pub member: &'a str,
    /// Quota `target-groups-per-action-on-*-load-balancer`.
    pub max_tgs_per_action: i64,
}

pub(super) const CONTENT_TYPES: [&str; 5] = [
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
];

pub(super) fn invalid_action(msg: impl Into<String>) -> ApiError {
    ApiError::modeled(E::InvalidLoadBalancerAction, msg)
}

pub fn constraint(v: impl std::fmt::Display, path: &str, rule: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value '{v}' at '{path}' failed to satisfy constraint: {rule}"
    ))
}
