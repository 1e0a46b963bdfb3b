//! Redirect actions: `#{…}` keywords per component, AWS's defaults, and no HTTPS → HTTP or
//! self-redirect loops.

use super::context::{constraint, invalid_action, ActionCtx};
use crate::elbv2::{ApiError, ApiResult};
use api_models as m;

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

pub(super) fn redirect(
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
