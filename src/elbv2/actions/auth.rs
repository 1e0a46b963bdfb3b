//! Authentication actions (OIDC, Cognito, JWT validation): HTTPS endpoints and the OIDC
//! client secret kept across modifies (`UseExistingClientSecret`).

use crate::elbv2::{ApiError, ApiResult};
use api_models as m;

fn https_url(v: &Option<String>, name: &str) -> ApiResult<String> {
    let v = v.clone().unwrap_or_default();
    if !v.starts_with("https://") || v.len() <= "https://".len() {
        return Err(ApiError::validation(format!(
            "The '{name}' must be a full URL that uses HTTPS; '{v}' is not"
        )));
    }
    Ok(v)
}

pub(super) fn oidc(
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

pub(super) fn cognito(
    c: &m::AuthenticateCognitoActionConfig,
) -> m::AuthenticateCognitoActionConfig {
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

pub(super) fn jwt(c: &m::JwtValidationActionConfig) -> ApiResult<m::JwtValidationActionConfig> {
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
