//! Fixed-response actions: status code pattern, content types and body length.

use super::context::{constraint, invalid_action, CONTENT_TYPES};
use crate::elbv2::ApiResult;
use api_models as m;

pub(super) fn fixed_response(
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
