//! `/_localelb/respond/<rule id>`: the responder the Traefik configuration routes
//! fixed-response rules to. It answers exactly what the native data plane would for the rule:
//! the fixed response (status, Content-Type, body), or 501 for actions localelb does not
//! perform (authenticate-*, jwt-validation).

use crate::state::World;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The answer for the rule whose ARN ends in `/<id>`, from the committed state.
pub fn answer(world: &World, id: &str) -> Response {
    let rule = world
        .scopes
        .values()
        .flat_map(|s| s.rules.values())
        .find(|r| {
            r.rule
                .rule_arn
                .as_deref()
                .is_some_and(|a| translators::model::short_id(a) == id)
        });
    let Some(rule) = rule else {
        return (StatusCode::NOT_FOUND, "no such rule\n").into_response();
    };
    let mut actions: Vec<&api_models::Action> = rule.rule.actions.iter().flatten().collect();
    actions.sort_by_key(|a| a.order.unwrap_or(i32::MAX));
    for a in actions {
        match a.type_.as_deref() {
            Some(t @ ("authenticate-oidc" | "authenticate-cognito" | "jwt-validation")) => {
                return (
                    StatusCode::NOT_IMPLEMENTED,
                    format!("localelb does not perform {t} actions\n"),
                )
                    .into_response();
            }
            Some("fixed-response") => {
                let c = a.fixed_response_config.clone().unwrap_or_default();
                let status = c
                    .status_code
                    .as_deref()
                    .and_then(|s| s.parse::<u16>().ok())
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .unwrap_or(StatusCode::OK);
                let ct = c
                    .content_type
                    .unwrap_or_else(|| "text/plain; charset=utf-8".into());
                let mut r = (status, c.message_body.unwrap_or_default()).into_response();
                if let Ok(v) = HeaderValue::from_str(&ct) {
                    r.headers_mut().insert(header::CONTENT_TYPE, v);
                }
                r.headers_mut()
                    .insert(header::SERVER, HeaderValue::from_static("awselb/2.0"));
                return r;
            }
            _ => {}
        }
    }
    (
        StatusCode::NOT_FOUND,
        "the rule has no response for the responder\n",
    )
        .into_response()
}
