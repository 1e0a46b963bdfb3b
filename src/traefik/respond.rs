//! `/_localelb/respond/<rule id>`: the responder the Traefik configuration routes
//! fixed-response rules to. It answers exactly what the native data plane would for the rule:
//! the fixed response (status, Content-Type, body), or 501 for actions localelb does not
//! perform (authenticate-*, jwt-validation).

use crate::state::World;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use translators::routing::RouteAction;

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
    let actions = rule.rule.actions.as_deref().unwrap_or_default();
    match RouteAction::from_actions(actions) {
        RouteAction::NotPerformed(t) => {
            return (
                StatusCode::NOT_IMPLEMENTED,
                format!("localelb does not perform {t} actions\n"),
            )
                .into_response();
        }
        RouteAction::Fixed(c) => {
            let status = StatusCode::from_u16(c.status).unwrap_or(StatusCode::OK);
            let mut r = (status, c.body).into_response();
            if let Ok(v) = HeaderValue::from_str(&c.content_type) {
                r.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            r.headers_mut()
                .insert(header::SERVER, HeaderValue::from_static("awselb/2.0"));
            return r;
        }
        _ => {}
    }
    (
        StatusCode::NOT_FOUND,
        "the rule has no response for the responder\n",
    )
        .into_response()
}
