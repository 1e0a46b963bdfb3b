//! Target-group attribute rules that span keys or protocols (stickiness, deregistration
//! delay), checked before the generic key and value checks of `elbv2::attributes`.

use super::health_check::is_http;
use crate::elbv2::{ApiError, ApiResult};
use api_models as m;
use api_models::ModeledError as E;
use std::collections::BTreeMap;

/// Checks attribute changes for rules that span keys or protocols (AWS's messages), before
/// [`crate::elbv2::attributes::modify`] checks keys and value shapes.
pub(super) fn check_tg_attribute_changes(
    tg: &m::TargetGroup,
    current: &BTreeMap<String, String>,
    changes: &[(String, String)],
) -> ApiResult<()> {
    let protocol = tg.protocol.clone().unwrap_or_default();
    let tt = tg.target_type.clone().unwrap_or_default();
    let get = |k: &str| {
        changes
            .iter()
            .rev()
            .find(|(kk, _)| kk == k)
            .map(|(_, v)| v.as_str())
    };
    if let Some(v) = get("deregistration_delay.timeout_seconds") {
        if tt == "lambda" {
            return Err(ApiError::modeled(
                E::InvalidConfigurationRequest,
                "A target group with target type 'lambda' does not support the attribute deregistration_delay.timeout_seconds",
            ));
        }
        if !v.parse::<i64>().is_ok_and(|n| (0..=3600).contains(&n)) {
            return Err(ApiError::validation(format!(
                "'deregistration_delay.timeout_seconds' value '{v}' must be between '0-3600' inclusive"
            )));
        }
    }
    let cookie_name = get("stickiness.app_cookie.cookie_name")
        .or_else(|| {
            current
                .get("stickiness.app_cookie.cookie_name")
                .map(String::as_str)
        })
        .unwrap_or("");
    if let Some(name) = get("stickiness.app_cookie.cookie_name") {
        if ["AWSALB", "AWSALBAPP", "AWSALBTG"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            return Err(ApiError::validation(format!(
                "Application cookie name '{name}' is reserved: names starting with AWSALB, AWSALBAPP or AWSALBTG cannot be used"
            )));
        }
    }
    if let Some(st) = get("stickiness.type") {
        if protocol == "GENEVE" {
            if get("stickiness.app_cookie.cookie_name").is_some() {
                return Err(ApiError::validation("Target group attribute key 'stickiness.app_cookie.cookie_name' is not recognized"));
            }
            if st != "source_ip_dest_ip_proto" && st != "source_ip_dest_ip" {
                return Err(ApiError::validation(format!(
                    "'{st}' must be one of [source_ip_dest_ip_proto, source_ip_dest_ip]"
                )));
            }
        }
        check_stickiness_type(st, &protocol, cookie_name)?;
    }
    if get("stickiness.enabled") == Some("true") && protocol == "TLS" {
        return Err(ApiError::modeled(
            E::InvalidConfigurationRequest,
            "You cannot enable stickiness on target groups with the TLS protocol",
        ));
    }
    Ok(())
}

/// The protocols each stickiness type works with (AWS's messages); `cookie_name` is the
/// application cookie name after the change.
fn check_stickiness_type(st: &str, protocol: &str, cookie_name: &str) -> ApiResult<()> {
    let icr = |msg: String| ApiError::modeled(E::InvalidConfigurationRequest, msg);
    match st {
        "source_ip" if is_http(protocol) => {
            return Err(icr(format!("Stickiness type 'source_ip' is not supported for target groups with the {protocol} protocol")));
        }
        "source_ip" if protocol == "TLS" => {
            return Err(icr(
                "You cannot enable stickiness on target groups with the TLS protocol".into(),
            ));
        }
        "lb_cookie"
            if matches!(
                protocol,
                "TCP" | "TLS" | "UDP" | "TCP_UDP" | "QUIC" | "TCP_QUIC" | "GENEVE"
            ) =>
        {
            return Err(icr(format!("Stickiness type 'lb_cookie' is not supported for target groups with the {protocol} protocol")));
        }
        "app_cookie" => {
            if cookie_name.is_empty() {
                return Err(icr("You must set an application cookie name to enable stickiness of type 'app_cookie'".into()));
            }
            if !is_http(protocol) {
                return Err(icr(format!("Stickiness type 'app_cookie' is not supported for target groups with the {protocol} protocol")));
            }
        }
        "source_ip_dest_ip" | "source_ip_dest_ip_proto" if protocol != "GENEVE" => {
            return Err(ApiError::validation(
                "'Stickiness type' must be one of [app_cookie, lb_cookie, source_ip]",
            ));
        }
        _ => {}
    }
    Ok(())
}
