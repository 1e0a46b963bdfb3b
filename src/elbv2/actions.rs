//! Validation and normalisation of actions (listener default actions and rule actions); rule
//! conditions are in `conditions.rs`, transforms in `transforms.rs`. Everything here is pure:
//! target-group facts come in through a lookup, so AWS's rules can be tested without a scope.
//!
//! Normalisation follows what AWS returns: actions get `Order` 1..n when none was given and
//! are sorted by it; a forward to one target group carries both `TargetGroupArn` and a
//! `ForwardConfig` (weight 1, stickiness off), a weighted forward only the `ForwardConfig`;
//! redirects get their `#{…}` defaults; host-header and path-pattern conditions carry both the
//! typed config and the legacy `Values`.

use super::not_found::tg_not_found;
use super::{ApiError, ApiResult};
use api_models as m;
use api_models::ModeledError as E;

const TERMINAL: [&str; 3] = ["forward", "redirect", "fixed-response"];
const AUTH: [&str; 3] = [
    "authenticate-oidc",
    "authenticate-cognito",
    "jwt-validation",
];
mod auth;
mod context;
mod fixed_response;
mod redirect;

use context::invalid_action;
pub use context::{constraint, ActionCtx, TgInfo};

use auth::{cognito, jwt, oidc};
use fixed_response::fixed_response;
use redirect::redirect;

/// Validates and normalises a list of actions. `previous` are the actions being replaced
/// (for `UseExistingClientSecret`).
pub fn normalize_actions(
    actions: &[m::Action],
    ctx: &ActionCtx,
    lookup: &dyn Fn(&str) -> Option<TgInfo>,
    previous: &[m::Action],
) -> ApiResult<Vec<m::Action>> {
    if actions.is_empty() {
        return Err(ApiError::validation(format!("1 validation error detected: Value '[]' at '{}' failed to satisfy constraint: Member must have length greater than or equal to 1", ctx.member)));
    }
    let mut out = Vec::with_capacity(actions.len());
    for (i, a) in actions.iter().enumerate() {
        let path = format!("{}.{}.member", ctx.member, i + 1);
        let mut n = normalize_action(a, ctx, &path, lookup, previous)?;
        n.order = Some(a.order.unwrap_or(i as i32 + 1));
        out.push(n);
    }
    let mut orders: Vec<i32> = out.iter().filter_map(|a| a.order).collect();
    orders.sort_unstable();
    if let Some(w) = orders.windows(2).find(|w| w[0] == w[1]) {
        return Err(ApiError::validation(format!(
            "The action order '{}' is specified more than once",
            w[0]
        )));
    }
    out.sort_by_key(|a| a.order);

    let count = |t: &str| out.iter().filter(|a| a.type_.as_deref() == Some(t)).count();
    let terminals = TERMINAL.iter().map(|t| count(t)).sum::<usize>();
    let authenticate = count("authenticate-oidc") + count("authenticate-cognito");
    if authenticate > 1 || count("jwt-validation") > 1 {
        return Err(ApiError::modeled(
            E::TooManyActions,
            "You've reached the limit on the number of actions per rule",
        ));
    }
    if terminals != 1 {
        return Err(invalid_action(
            "Exactly one forward, redirect or fixed-response action must be specified, as the last action",
        ));
    }
    if !TERMINAL.contains(
        &out.last()
            .and_then(|a| a.type_.as_deref())
            .unwrap_or_default(),
    ) {
        return Err(invalid_action(
            "The forward, redirect or fixed-response action must be the last action (by Order)",
        ));
    }
    Ok(out)
}

// Long: the checks common to every action type, then one arm per type, in AWS's order.
fn normalize_action(
    a: &m::Action,
    ctx: &ActionCtx,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<TgInfo>,
    previous: &[m::Action],
) -> ApiResult<m::Action> {
    let t = a.type_.as_deref().unwrap_or_default();
    let all = [
        "forward",
        "authenticate-oidc",
        "authenticate-cognito",
        "redirect",
        "fixed-response",
        "jwt-validation",
    ];
    if !all.contains(&t) {
        return Err(constraint(
            t,
            &format!("{path}.type"),
            &format!("Member must satisfy enum value set: [{}]", all.join(", ")),
        ));
    }
    if ctx.lb_type != "application" && t != "forward" {
        return Err(ApiError::validation(format!(
            "Action type '{t}' must be one of 'forward'"
        )));
    }
    // A config that belongs to another action type.
    let configs: [(&str, &str, bool); 6] = [
        ("TargetGroupArn", "forward", a.target_group_arn.is_some()),
        ("ForwardConfig", "forward", a.forward_config.is_some()),
        ("RedirectConfig", "redirect", a.redirect_config.is_some()),
        (
            "FixedResponseConfig",
            "fixed-response",
            a.fixed_response_config.is_some(),
        ),
        (
            "AuthenticateOidcConfig",
            "authenticate-oidc",
            a.authenticate_oidc_config.is_some(),
        ),
        (
            "AuthenticateCognitoConfig",
            "authenticate-cognito",
            a.authenticate_cognito_config.is_some(),
        ),
    ];
    if let Some((name, _, _)) = configs
        .iter()
        .find(|(_, owner, given)| *given && *owner != t)
    {
        return Err(ApiError::validation(format!(
            "'{name}' cannot be specified for actions of type '{t}'"
        )));
    }
    if a.jwt_validation_config.is_some() && t != "jwt-validation" {
        return Err(ApiError::validation(format!(
            "'JwtValidationConfig' cannot be specified for actions of type '{t}'"
        )));
    }
    if AUTH.contains(&t) && ctx.protocol != "HTTPS" {
        return Err(ApiError::modeled(
            E::UnsupportedProtocol,
            format!(
                "Action type '{t}' is supported only on HTTPS listeners, not on '{}' listeners",
                ctx.protocol
            ),
        ));
    }
    let base = m::Action {
        type_: Some(t.to_string()),
        ..Default::default()
    };
    match t {
        "forward" => forward(a, ctx, path, lookup, base),
        "redirect" => {
            let cfg = a
                .redirect_config
                .as_ref()
                .ok_or_else(|| missing_config("RedirectConfig", t))?;
            Ok(m::Action {
                redirect_config: Some(redirect(cfg, ctx, &format!("{path}.redirectConfig"))?),
                ..base
            })
        }
        "fixed-response" => {
            let cfg = a
                .fixed_response_config
                .as_ref()
                .ok_or_else(|| missing_config("FixedResponseConfig", t))?;
            Ok(m::Action {
                fixed_response_config: Some(fixed_response(
                    cfg,
                    &format!("{path}.fixedResponseConfig"),
                )?),
                ..base
            })
        }
        "authenticate-oidc" => {
            let cfg = a
                .authenticate_oidc_config
                .as_ref()
                .ok_or_else(|| missing_config("AuthenticateOidcConfig", t))?;
            let old = previous
                .iter()
                .find_map(|p| p.authenticate_oidc_config.as_ref());
            Ok(m::Action {
                authenticate_oidc_config: Some(oidc(cfg, old)?),
                ..base
            })
        }
        "authenticate-cognito" => {
            let cfg = a
                .authenticate_cognito_config
                .as_ref()
                .ok_or_else(|| missing_config("AuthenticateCognitoConfig", t))?;
            Ok(m::Action {
                authenticate_cognito_config: Some(cognito(cfg)),
                ..base
            })
        }
        _ => {
            let cfg = a
                .jwt_validation_config
                .as_ref()
                .ok_or_else(|| missing_config("JwtValidationConfig", t))?;
            Ok(m::Action {
                jwt_validation_config: Some(jwt(cfg)?),
                ..base
            })
        }
    }
}

fn missing_config(name: &str, t: &str) -> ApiError {
    ApiError::validation(format!("A '{name}' must be specified with '{t}' actions"))
}

// Long: AWS checks a forward in one pass (ARNs, weights, quota, fit, stickiness) and the
// order of its messages is the order of these checks.
fn forward(
    a: &m::Action,
    ctx: &ActionCtx,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<TgInfo>,
    base: m::Action,
) -> ApiResult<m::Action> {
    let fc = a.forward_config.clone().unwrap_or_default();
    let listed = fc.target_groups.clone().unwrap_or_default();
    let mut tuples: Vec<(String, Option<i32>)> = Vec::new();
    for (j, t) in listed.iter().enumerate() {
        let arn = t.target_group_arn.clone().ok_or_else(|| {
            ApiError::validation(format!(
                "1 validation error detected: Value null at '{path}.forwardConfig.targetGroups.{}.member.targetGroupArn' failed to satisfy constraint: Member must not be null",
                j + 1
            ))
        })?;
        tuples.push((arn, t.weight));
    }
    if let Some(arn) = &a.target_group_arn {
        if tuples.iter().any(|(t, _)| t != arn) {
            return Err(ApiError::validation(
                "If you specify both 'TargetGroupArn' and 'ForwardConfig', 'ForwardConfig' can name only that target group",
            ));
        }
        let weight = tuples.first().and_then(|(_, w)| *w);
        tuples = vec![(arn.clone(), weight)];
    }
    if tuples.is_empty() {
        return Err(ApiError::validation(
            "A target group must be specified for forward actions",
        ));
    }
    if ctx.lb_type != "application" {
        if tuples.len() > 1 {
            return Err(ApiError::validation(format!(
                "You cannot specify multiple target groups in a single action with a load balancer of type '{}'",
                ctx.lb_type
            )));
        }
        if tuples.iter().any(|(_, w)| w.is_some()) {
            return Err(ApiError::validation(format!(
                "You cannot specify a target group weight on load balancers of type '{}'",
                ctx.lb_type
            )));
        }
    }
    if tuples.len() as i64 > ctx.max_tgs_per_action {
        return Err(ApiError::validation(format!(
            "You cannot specify more than '{}' target groups in a single forward action",
            ctx.max_tgs_per_action
        )));
    }
    for (j, (arn, w)) in tuples.iter().enumerate() {
        if tuples[..j].iter().any(|(a, _)| a == arn) {
            return Err(ApiError::validation(format!(
                "Target group '{arn}' is specified more than once in the same forward action"
            )));
        }
        if let Some(w) = *w {
            let p = format!("{path}.forwardConfig.targetGroups.{}.member.weight", j + 1);
            if w < 0 {
                return Err(constraint(
                    w,
                    &p,
                    "Member must have value greater than or equal to 0",
                ));
            }
            if w > 999 {
                return Err(constraint(
                    w,
                    &p,
                    "Member must have value less than or equal to 999",
                ));
            }
        }
        let info = lookup(arn).ok_or_else(|| tg_not_found(arn))?;
        check_tg_fits(arn, &info, ctx)?;
    }
    let sc = fc
        .target_group_stickiness_config
        .clone()
        .unwrap_or_default();
    let enabled = sc.enabled.unwrap_or(false);
    if let Some(d) = sc.duration_seconds {
        if !(1..=604_800).contains(&d) {
            return Err(constraint(
                d,
                &format!("{path}.forwardConfig.targetGroupStickinessConfig.durationSeconds"),
                "Member must have value between 1 and 604800",
            ));
        }
    } else if enabled {
        return Err(ApiError::validation(
            "A duration must be specified when target group stickiness is enabled",
        ));
    }
    let single = (tuples.len() == 1).then(|| tuples[0].0.clone());
    Ok(m::Action {
        target_group_arn: single,
        forward_config: Some(m::ForwardActionConfig {
            target_groups: Some(
                tuples
                    .into_iter()
                    .map(|(arn, w)| m::TargetGroupTuple {
                        target_group_arn: Some(arn),
                        weight: Some(w.unwrap_or(1)),
                    })
                    .collect(),
            ),
            target_group_stickiness_config: Some(m::TargetGroupStickinessConfig {
                enabled: Some(enabled),
                duration_seconds: sc.duration_seconds,
            }),
        }),
        ..base
    })
}

/// Whether a target group can serve a listener of this load balancer: protocol and target type
/// (`IncompatibleProtocols`), and not already bound to another load balancer
/// (`TargetGroupAssociationLimit`).
pub fn check_tg_fits(arn: &str, tg: &TgInfo, ctx: &ActionCtx) -> ApiResult<()> {
    let proto = tg.protocol.as_deref().unwrap_or_default();
    let ok = match ctx.lb_type {
        "application" => tg.target_type == "lambda" || matches!(proto, "HTTP" | "HTTPS"),
        "gateway" => proto == "GENEVE",
        _ => {
            let allowed: &[&str] = match ctx.protocol {
                "TCP" => &["TCP", "TCP_UDP"],
                "TLS" => &["TCP", "TLS"],
                "UDP" => &["UDP", "TCP_UDP"],
                "TCP_UDP" => &["TCP_UDP"],
                "QUIC" => &["QUIC", "TCP_QUIC"],
                "TCP_QUIC" => &["TCP_QUIC"],
                _ => &[],
            };
            let by_type =
                tg.target_type != "lambda" && (tg.target_type != "alb" || ctx.protocol == "TCP");
            by_type && allowed.contains(&proto)
        }
    };
    if !ok {
        let what = if tg.protocol.is_none() {
            format!("the target type '{}'", tg.target_type)
        } else if tg.target_type == "alb" || tg.target_type == "lambda" {
            format!("the target type '{}'", tg.target_type)
        } else {
            format!("the protocol '{proto}'")
        };
        return Err(ApiError::modeled(
            E::IncompatibleProtocols,
            format!(
                "Listener protocol '{}' is not supported with a target group with {what}",
                ctx.protocol
            ),
        ));
    }
    if tg.load_balancers.iter().any(|l| l != ctx.lb_arn) {
        return Err(ApiError::modeled(
            E::TargetGroupAssociationLimit,
            format!("The following target groups cannot be associated with more than one load balancer: {arn}"),
        ));
    }
    Ok(())
}

/// Re-checks stored (already normalised) actions after their listener's protocol or port
/// changed: target groups must still fit, authentication needs HTTPS, and HTTPS must not
/// redirect to HTTP.
pub fn check_still_valid(
    actions: &[m::Action],
    ctx: &ActionCtx,
    lookup: &dyn Fn(&str) -> Option<TgInfo>,
) -> ApiResult<()> {
    for arn in target_groups_of(actions) {
        let info = lookup(&arn).ok_or_else(|| tg_not_found(&arn))?;
        check_tg_fits(&arn, &info, ctx)?;
    }
    for a in actions {
        let t = a.type_.as_deref().unwrap_or_default();
        if AUTH.contains(&t) && ctx.protocol != "HTTPS" {
            return Err(ApiError::modeled(
                E::UnsupportedProtocol,
                format!(
                    "Action type '{t}' is supported only on HTTPS listeners, not on '{}' listeners",
                    ctx.protocol
                ),
            ));
        }
        if ctx.protocol == "HTTPS"
            && a.redirect_config
                .as_ref()
                .and_then(|r| r.protocol.as_deref())
                == Some("HTTP")
        {
            return Err(invalid_action("You cannot redirect HTTPS to HTTP"));
        }
    }
    Ok(())
}

/// Actions as the API shows them: OIDC client secrets are never returned.
pub fn public_actions(actions: &[m::Action]) -> Vec<m::Action> {
    actions
        .iter()
        .map(|a| {
            let mut a = a.clone();
            if let Some(c) = a.authenticate_oidc_config.as_mut() {
                c.client_secret = None;
                c.use_existing_client_secret = None;
            }
            a
        })
        .collect()
}

/// The target groups the actions forward to, in order, without repeats.
pub fn target_groups_of(actions: &[m::Action]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in actions {
        let tgs = a
            .forward_config
            .as_ref()
            .and_then(|f| f.target_groups.as_ref());
        let arns = a.target_group_arn.iter().cloned().chain(
            tgs.into_iter()
                .flatten()
                .filter_map(|t| t.target_group_arn.clone()),
        );
        for arn in arns {
            if !out.contains(&arn) {
                out.push(arn);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
