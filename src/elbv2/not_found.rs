//! AWS's not-found errors, one per resource kind (below every module that looks resources up).

use super::ApiError;
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
