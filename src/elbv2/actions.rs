//! Validation and normalisation of actions (listener default actions and rule actions); rule
//! conditions are in `conditions.rs`, transforms in `transforms.rs`. Everything here is pure:
//! target-group facts come in through a lookup, so AWS's rules can be tested without a scope.
//!
//! Normalisation follows what AWS returns: actions get `Order` 1..n when none was given and
//! are sorted by it; a forward to one target group carries both `TargetGroupArn` and a
//! `ForwardConfig` (weight 1, stickiness off), a weighted forward only the `ForwardConfig`;
//! redirects get their `#{…}` defaults; host-header and path-pattern conditions carry both the
//! typed config and the legacy `Values`.

use super::lookup::tg_not_found;
use super::{ApiError, ApiResult};
use api_models as m;
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

const TERMINAL: [&str; 3] = ["forward", "redirect", "fixed-response"];
const AUTH: [&str; 3] = [
    "authenticate-oidc",
    "authenticate-cognito",
    "jwt-validation",
];
const CONTENT_TYPES: [&str; 5] = [
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
];

fn invalid_action(msg: impl Into<String>) -> ApiError {
    ApiError::modeled(E::InvalidLoadBalancerAction, msg)
}

pub(super) fn constraint(v: impl std::fmt::Display, path: &str, rule: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value '{v}' at '{path}' failed to satisfy constraint: {rule}"
    ))
}

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

const PLACEHOLDERS: [&str; 5] = ["host", "path", "port", "protocol", "query"];

/// The `#{…}` keywords in `s`; errors on one not in `allowed`.
fn check_keywords(s: &str, allowed: &[&str], what: &str) -> ApiResult<()> {
    let mut rest = s;
    while let Some(i) = rest.find("#{") {
        let after = &rest[i + 2..];
        let Some(j) = after.find('}') else { break };
        let kw = &after[..j];
        if !allowed.contains(&kw) {
            let hint = if PLACEHOLDERS.contains(&kw) {
                " in this component"
            } else {
                ""
            };
            return Err(ApiError::validation(format!("The redirect {what} '{s}' contains the keyword '#{{{kw}}}', which is not allowed{hint}")));
        }
        rest = &after[j + 1..];
    }
    Ok(())
}

fn redirect(
    c: &m::RedirectActionConfig,
    ctx: &ActionCtx,
    path: &str,
) -> ApiResult<m::RedirectActionConfig> {
    let status = c.status_code.clone().unwrap_or_default();
    if !matches!(status.as_str(), "HTTP_301" | "HTTP_302") {
        return Err(constraint(
            &status,
            &format!("{path}.statusCode"),
            "Member must satisfy enum value set: [HTTP_301, HTTP_302]",
        ));
    }
    let protocol = c.protocol.clone().unwrap_or_else(|| "#{protocol}".into());
    if !matches!(protocol.as_str(), "HTTP" | "HTTPS" | "#{protocol}") {
        return Err(constraint(
            &protocol,
            &format!("{path}.protocol"),
            "Member must satisfy regular expression pattern: ^(HTTPS?|#\\{protocol\\})$",
        ));
    }
    let port = c.port.clone().unwrap_or_else(|| "#{port}".into());
    if port != "#{port}" && !port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p)) {
        return Err(ApiError::validation(format!(
            "The redirect port '{port}' must be '#{{port}}' or a number from 1 to 65535"
        )));
    }
    let host = c.host.clone().unwrap_or_else(|| "#{host}".into());
    let rpath = c.path.clone().unwrap_or_else(|| "/#{path}".into());
    let query = c.query.clone().unwrap_or_else(|| "#{query}".into());
    for (v, name, min) in [
        (&host, "host", 1),
        (&rpath, "path", 1),
        (&query, "query", 0),
    ] {
        let n = v.chars().count();
        if n < min || n > 128 {
            return Err(constraint(
                v,
                &format!("{path}.{name}"),
                &format!("Member must have length between {min} and 128"),
            ));
        }
    }
    if !rpath.starts_with('/') {
        return Err(ApiError::validation(format!(
            "The redirect path '{rpath}' must start with a '/'"
        )));
    }
    check_keywords(&host, &["host"], "host")?;
    check_keywords(&rpath, &["host", "path", "port"], "path")?;
    check_keywords(&query, &PLACEHOLDERS, "query")?;
    if ctx.protocol == "HTTPS" && protocol == "HTTP" {
        return Err(invalid_action("You cannot redirect HTTPS to HTTP"));
    }
    let same_protocol = protocol == "#{protocol}" || protocol == ctx.protocol;
    let same_port = port == "#{port}" || ctx.port.is_some_and(|p| p.to_string() == port);
    if same_protocol && same_port && host == "#{host}" && rpath == "/#{path}" {
        return Err(invalid_action(
            "The redirect must change at least one of protocol, host, port or path, or it would loop",
        ));
    }
    Ok(m::RedirectActionConfig {
        protocol: Some(protocol),
        port: Some(port),
        host: Some(host),
        path: Some(rpath),
        query: Some(query),
        status_code: Some(status),
    })
}

fn fixed_response(
    c: &m::FixedResponseActionConfig,
    path: &str,
) -> ApiResult<m::FixedResponseActionConfig> {
    let status = c.status_code.clone().unwrap_or_default();
    let b = status.as_bytes();
    if !(b.len() == 3
        && matches!(b[0], b'2' | b'4' | b'5')
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit())
    {
        return Err(constraint(
            &status,
            &format!("{path}.statusCode"),
            "Member must satisfy regular expression pattern: ^(2|4|5)\\d\\d$",
        ));
    }
    if let Some(ct) = &c.content_type {
        if !CONTENT_TYPES.contains(&ct.as_str()) {
            return Err(invalid_action(
                "The ContentType must be one of:'text/html', 'application/json', 'application/javascript', 'text/css', 'text/plain'",
            ));
        }
    }
    if let Some(body) = &c.message_body {
        if body.chars().count() > 1024 {
            return Err(constraint(
                "…",
                &format!("{path}.messageBody"),
                "Member must have length less than or equal to 1024",
            ));
        }
    }
    Ok(m::FixedResponseActionConfig {
        status_code: Some(status),
        content_type: c.content_type.clone(),
        message_body: c.message_body.clone(),
    })
}

fn https_url(v: &Option<String>, name: &str) -> ApiResult<String> {
    let v = v.clone().unwrap_or_default();
    if !v.starts_with("https://") || v.len() <= "https://".len() {
        return Err(ApiError::validation(format!(
            "The '{name}' must be a full URL that uses HTTPS; '{v}' is not"
        )));
    }
    Ok(v)
}

fn oidc(
    c: &m::AuthenticateOidcActionConfig,
    old: Option<&m::AuthenticateOidcActionConfig>,
) -> ApiResult<m::AuthenticateOidcActionConfig> {
    let secret = if c.use_existing_client_secret == Some(true) {
        old.and_then(|o| o.client_secret.clone())
            .ok_or_else(|| ApiError::validation("'UseExistingClientSecret' needs an existing authenticate-oidc action with a client secret"))?
    } else {
        c.client_secret.clone().ok_or_else(|| {
            ApiError::validation("A 'ClientSecret' must be specified for authenticate-oidc actions")
        })?
    };
    if c.client_id.as_deref().unwrap_or_default().is_empty() {
        return Err(ApiError::validation(
            "A 'ClientId' must be specified for authenticate-oidc actions",
        ));
    }
    let params = c.authentication_request_extra_params.clone();
    if params.as_ref().is_some_and(|p| p.len() > 10) {
        return Err(ApiError::validation(
            "At most 10 'AuthenticationRequestExtraParams' can be specified",
        ));
    }
    Ok(m::AuthenticateOidcActionConfig {
        issuer: Some(https_url(&c.issuer, "Issuer")?),
        authorization_endpoint: Some(https_url(
            &c.authorization_endpoint,
            "AuthorizationEndpoint",
        )?),
        token_endpoint: Some(https_url(&c.token_endpoint, "TokenEndpoint")?),
        user_info_endpoint: Some(https_url(&c.user_info_endpoint, "UserInfoEndpoint")?),
        client_id: c.client_id.clone(),
        client_secret: Some(secret),
        session_cookie_name: Some(
            c.session_cookie_name
                .clone()
                .unwrap_or_else(|| "AWSELBAuthSessionCookie".into()),
        ),
        scope: Some(c.scope.clone().unwrap_or_else(|| "openid".into())),
        session_timeout: Some(c.session_timeout.unwrap_or(604_800)),
        authentication_request_extra_params: params,
        on_unauthenticated_request: Some(
            c.on_unauthenticated_request
                .clone()
                .unwrap_or_else(|| "authenticate".into()),
        ),
        use_existing_client_secret: None,
    })
}

fn cognito(c: &m::AuthenticateCognitoActionConfig) -> m::AuthenticateCognitoActionConfig {
    m::AuthenticateCognitoActionConfig {
        user_pool_arn: c.user_pool_arn.clone(),
        user_pool_client_id: c.user_pool_client_id.clone(),
        user_pool_domain: c.user_pool_domain.clone(),
        session_cookie_name: Some(
            c.session_cookie_name
                .clone()
                .unwrap_or_else(|| "AWSELBAuthSessionCookie".into()),
        ),
        scope: Some(c.scope.clone().unwrap_or_else(|| "openid".into())),
        session_timeout: Some(c.session_timeout.unwrap_or(604_800)),
        authentication_request_extra_params: c.authentication_request_extra_params.clone(),
        on_unauthenticated_request: Some(
            c.on_unauthenticated_request
                .clone()
                .unwrap_or_else(|| "authenticate".into()),
        ),
    }
}

fn jwt(c: &m::JwtValidationActionConfig) -> ApiResult<m::JwtValidationActionConfig> {
    let claims = c.additional_claims.clone().unwrap_or_default();
    if claims.len() > 10 {
        return Err(ApiError::validation(
            "At most 10 additional claims can be specified",
        ));
    }
    for cl in &claims {
        let name = cl.name.as_deref().unwrap_or_default();
        if ["exp", "iss", "nbf", "iat"].contains(&name) {
            return Err(ApiError::validation(format!(
                "The claim '{name}' is validated by default and cannot be specified"
            )));
        }
        if cl.values.as_ref().map_or(0, Vec::len) > 10 {
            return Err(ApiError::validation(format!(
                "The claim '{name}' can have at most 10 values"
            )));
        }
    }
    Ok(m::JwtValidationActionConfig {
        jwks_endpoint: Some(https_url(&c.jwks_endpoint, "JwksEndpoint")?),
        issuer: c.issuer.clone(),
        additional_claims: c.additional_claims.clone(),
    })
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
mod tests {
    use super::*;

    const LB: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/lb/0000000000000001";
    const TG1: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/0000000000000001";
    const TG2: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/b/0000000000000002";

    fn alb(protocol: &'static str) -> ActionCtx<'static> {
        ActionCtx {
            lb_arn: LB,
            lb_type: "application",
            protocol,
            port: Some(80),
            member: "actions",
            max_tgs_per_action: 5,
        }
    }

    fn tgs(arn: &str) -> Option<TgInfo> {
        match arn {
            TG1 | TG2 => Some(TgInfo {
                protocol: Some("HTTP".into()),
                target_type: "instance".into(),
                load_balancers: vec![],
            }),
            _ => None,
        }
    }

    fn fwd(arn: &str) -> m::Action {
        m::Action {
            type_: Some("forward".into()),
            target_group_arn: Some(arn.into()),
            ..Default::default()
        }
    }

    #[test]
    fn single_forward_gets_both_forms_and_order() {
        let out = normalize_actions(&[fwd(TG1)], &alb("HTTP"), &tgs, &[]).unwrap();
        let a = &out[0];
        assert_eq!(a.order, Some(1));
        assert_eq!(a.target_group_arn.as_deref(), Some(TG1));
        let fc = a.forward_config.as_ref().unwrap();
        assert_eq!(fc.target_groups.as_ref().unwrap()[0].weight, Some(1));
        assert_eq!(
            fc.target_group_stickiness_config.as_ref().unwrap().enabled,
            Some(false)
        );
    }

    #[test]
    fn weighted_forward_has_no_target_group_arn() {
        let a = m::Action {
            type_: Some("forward".into()),
            forward_config: Some(m::ForwardActionConfig {
                target_groups: Some(vec![
                    m::TargetGroupTuple {
                        target_group_arn: Some(TG1.into()),
                        weight: Some(10),
                    },
                    m::TargetGroupTuple {
                        target_group_arn: Some(TG2.into()),
                        weight: Some(0),
                    },
                ]),
                target_group_stickiness_config: None,
            }),
            ..Default::default()
        };
        let out = normalize_actions(&[a.clone()], &alb("HTTP"), &tgs, &[]).unwrap();
        assert!(out[0].target_group_arn.is_none());
        let mut bad = a;
        bad.forward_config
            .as_mut()
            .unwrap()
            .target_groups
            .as_mut()
            .unwrap()[0]
            .weight = Some(1000);
        assert!(normalize_actions(&[bad], &alb("HTTP"), &tgs, &[])
            .unwrap_err()
            .message()
            .contains("999"));
    }

    #[test]
    fn forward_errors() {
        let e = normalize_actions(&[fwd("arn:nope")], &alb("HTTP"), &tgs, &[]).unwrap_err();
        assert_eq!(e.code(), "TargetGroupNotFound");
        let mut both = fwd(TG1);
        both.forward_config = Some(m::ForwardActionConfig {
            target_groups: Some(vec![m::TargetGroupTuple {
                target_group_arn: Some(TG2.into()),
                weight: None,
            }]),
            target_group_stickiness_config: None,
        });
        assert_eq!(
            normalize_actions(&[both], &alb("HTTP"), &tgs, &[])
                .unwrap_err()
                .code(),
            "ValidationError"
        );
        let mut sticky = fwd(TG1);
        sticky.forward_config = Some(m::ForwardActionConfig {
            target_groups: None,
            target_group_stickiness_config: Some(m::TargetGroupStickinessConfig {
                enabled: Some(true),
                duration_seconds: None,
            }),
        });
        assert!(normalize_actions(&[sticky], &alb("HTTP"), &tgs, &[]).is_err());
        let used = |_: &str| {
            Some(TgInfo {
                protocol: Some("HTTP".into()),
                target_type: "ip".into(),
                load_balancers: vec!["other".into()],
            })
        };
        assert_eq!(
            normalize_actions(&[fwd(TG1)], &alb("HTTP"), &used, &[])
                .unwrap_err()
                .code(),
            "TargetGroupAssociationLimit"
        );
        let tcp = |_: &str| {
            Some(TgInfo {
                protocol: Some("TCP".into()),
                target_type: "ip".into(),
                load_balancers: vec![],
            })
        };
        assert_eq!(
            normalize_actions(&[fwd(TG1)], &alb("HTTP"), &tcp, &[])
                .unwrap_err()
                .code(),
            "IncompatibleProtocols"
        );
        let nlb = ActionCtx {
            lb_type: "network",
            protocol: "TCP",
            ..alb("TCP")
        };
        assert_eq!(
            normalize_actions(&[fwd(TG1)], &nlb, &tgs, &[])
                .unwrap_err()
                .code(),
            "IncompatibleProtocols"
        );
        assert!(normalize_actions(&[fwd(TG1)], &nlb, &tcp, &[]).is_ok());
    }

    #[test]
    fn exactly_one_terminal_action_last() {
        let fixed = m::Action {
            type_: Some("fixed-response".into()),
            fixed_response_config: Some(m::FixedResponseActionConfig {
                status_code: Some("404".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = normalize_actions(&[fwd(TG1), fixed.clone()], &alb("HTTP"), &tgs, &[]).unwrap_err();
        assert_eq!(e.code(), "InvalidLoadBalancerAction");
        let oidc = m::Action {
            type_: Some("authenticate-oidc".into()),
            order: Some(2),
            authenticate_oidc_config: Some(m::AuthenticateOidcActionConfig {
                issuer: Some("https://idp.example.com".into()),
                authorization_endpoint: Some("https://idp.example.com/auth".into()),
                token_endpoint: Some("https://idp.example.com/token".into()),
                user_info_endpoint: Some("https://idp.example.com/me".into()),
                client_id: Some("c".into()),
                client_secret: Some("s".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut f = fwd(TG1);
        f.order = Some(3);
        assert_eq!(
            normalize_actions(&[oidc.clone(), f.clone()], &alb("HTTP"), &tgs, &[])
                .unwrap_err()
                .code(),
            "UnsupportedProtocol"
        );
        let out = normalize_actions(&[f.clone(), oidc.clone()], &alb("HTTPS"), &tgs, &[]).unwrap();
        assert_eq!(out[0].type_.as_deref(), Some("authenticate-oidc"));
        assert_eq!(
            out[0]
                .authenticate_oidc_config
                .as_ref()
                .unwrap()
                .scope
                .as_deref(),
            Some("openid")
        );
        assert!(public_actions(&out)[0]
            .authenticate_oidc_config
            .as_ref()
            .unwrap()
            .client_secret
            .is_none());
        let mut late = oidc;
        late.order = Some(4);
        assert_eq!(
            normalize_actions(&[f, late], &alb("HTTPS"), &tgs, &[])
                .unwrap_err()
                .code(),
            "InvalidLoadBalancerAction"
        );
    }

    #[test]
    fn fixed_response_rules() {
        let fr = |code: &str, ct: Option<&str>| m::Action {
            type_: Some("fixed-response".into()),
            fixed_response_config: Some(m::FixedResponseActionConfig {
                status_code: Some(code.into()),
                content_type: ct.map(Into::into),
                message_body: None,
            }),
            ..Default::default()
        };
        assert!(
            normalize_actions(&[fr("503", Some("text/plain"))], &alb("HTTP"), &tgs, &[]).is_ok()
        );
        assert_eq!(
            normalize_actions(&[fr("302", None)], &alb("HTTP"), &tgs, &[])
                .unwrap_err()
                .code(),
            "ValidationError"
        );
        assert_eq!(
            normalize_actions(&[fr("200", Some("text/xml"))], &alb("HTTP"), &tgs, &[])
                .unwrap_err()
                .code(),
            "InvalidLoadBalancerAction"
        );
    }

    #[test]
    fn redirect_rules() {
        let rd = |proto: Option<&str>, path: Option<&str>| m::Action {
            type_: Some("redirect".into()),
            redirect_config: Some(m::RedirectActionConfig {
                protocol: proto.map(Into::into),
                path: path.map(Into::into),
                status_code: Some("HTTP_301".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let out = normalize_actions(&[rd(Some("HTTPS"), None)], &alb("HTTP"), &tgs, &[]).unwrap();
        let c = out[0].redirect_config.as_ref().unwrap();
        assert_eq!(
            (c.host.as_deref(), c.path.as_deref(), c.port.as_deref()),
            (Some("#{host}"), Some("/#{path}"), Some("#{port}"))
        );
        assert_eq!(c.query.as_deref(), Some("#{query}"));
        // No change at all would loop.
        assert_eq!(
            normalize_actions(&[rd(None, None)], &alb("HTTP"), &tgs, &[])
                .unwrap_err()
                .code(),
            "InvalidLoadBalancerAction"
        );
        assert_eq!(
            normalize_actions(&[rd(Some("HTTP"), None)], &alb("HTTP"), &tgs, &[])
                .unwrap_err()
                .code(),
            "InvalidLoadBalancerAction"
        );
        assert_eq!(
            normalize_actions(&[rd(Some("HTTP"), Some("/x"))], &alb("HTTPS"), &tgs, &[])
                .unwrap_err()
                .code(),
            "InvalidLoadBalancerAction"
        );
        assert!(
            normalize_actions(&[rd(None, Some("/new/#{path}"))], &alb("HTTP"), &tgs, &[]).is_ok()
        );
        assert!(
            normalize_actions(&[rd(None, Some("/#{query}"))], &alb("HTTP"), &tgs, &[]).is_err()
        );
        assert!(
            normalize_actions(&[rd(Some("ftp"), Some("/x"))], &alb("HTTP"), &tgs, &[]).is_err()
        );
    }
}
