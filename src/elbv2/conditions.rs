//! Validation and normalisation of rule conditions: the six condition fields, their typed configs
//! and legacy `Values`, and the per-rule value and wildcard quotas.

use super::{ApiError, ApiResult};
use api_models as m;

/// Per-rule condition quotas (`condition-values-per-alb-rule`, `condition-wildcards-per-alb-rule`).
#[derive(Debug, Clone, Copy)]
pub struct ConditionLimits {
    pub values: i64,
    pub wildcards: i64,
}

const FIELDS: [&str; 6] = [
    "http-header",
    "http-request-method",
    "host-header",
    "path-pattern",
    "query-string",
    "source-ip",
];
/// Fields a rule may have at most one condition of.
const SINGLE_USE: [&str; 4] = [
    "http-request-method",
    "host-header",
    "path-pattern",
    "source-ip",
];

fn cond_err(msg: impl Into<String>) -> ApiError {
    ApiError::validation(msg)
}

/// Counts `*` and `?` (the ones not escaped with `\`).
fn wildcards(s: &str) -> i64 {
    let mut n = 0;
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '*' || c == '?' {
            n += 1;
        }
    }
    n
}

fn check_len(field: &str, v: &str) -> ApiResult<()> {
    if v.is_empty() {
        return Err(cond_err(format!(
            "A '{field}' condition value cannot be empty"
        )));
    }
    if v.chars().count() > 128 {
        return Err(cond_err(format!(
            "The '{field}' value is too long; the limit is '128'"
        )));
    }
    Ok(())
}

fn check_host(v: &str) -> ApiResult<()> {
    check_len("host-header", v)?;
    let ok_chars = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-.*?".contains(c));
    let tail_ok = v
        .rsplit_once('.')
        .is_some_and(|(_, tail)| !tail.is_empty() && tail.chars().all(|c| c.is_ascii_alphabetic()));
    if !ok_chars || !tail_ok {
        return Err(cond_err(format!(
            "The 'host-header' value '{v}' is not valid: it can contain A-Z, a-z, 0-9, '-', '.', '*' and '?', must include a '.', and only letters can follow the last '.'"
        )));
    }
    Ok(())
}

fn check_path(v: &str) -> ApiResult<()> {
    check_len("path-pattern", v)?;
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.$/~\"'@:+&*?".contains(c))
    {
        return Err(cond_err(format!(
            "The 'path-pattern' value '{v}' is not valid: it can contain A-Z, a-z, 0-9, and _ - . $ / ~ \" ' @ : + & * ?"
        )));
    }
    Ok(())
}

fn check_regex(field: &str, v: &str) -> ApiResult<()> {
    check_len(field, v)?;
    regex::Regex::new(v).map_err(|_| {
        cond_err(format!(
            "The '{field}' regular expression '{v}' is not valid"
        ))
    })?;
    Ok(())
}

fn check_cidr(v: &str) -> ApiResult<()> {
    let bad = || {
        cond_err(format!(
            "The 'source-ip' value '{v}' is not a valid CIDR block"
        ))
    };
    let (ip, bits) = v.split_once('/').ok_or_else(bad)?;
    let bits: u8 = bits.parse().map_err(|_| bad())?;
    match ip.parse::<std::net::IpAddr>().map_err(|_| bad())? {
        std::net::IpAddr::V4(_) if bits <= 32 => Ok(()),
        std::net::IpAddr::V6(_) if bits <= 128 => Ok(()),
        _ => Err(bad()),
    }
}

fn non_empty(v: &Option<Vec<String>>) -> Vec<String> {
    v.clone().unwrap_or_default()
}

/// Values and regex values of a host-header, path-pattern or http-header condition, with
/// the legacy top-level members folded in.
fn values_and_regex(
    c: &m::RuleCondition,
    field: &str,
    cfg_name: &str,
    cfg_values: Option<&Option<Vec<String>>>,
    cfg_regex: Option<&Option<Vec<String>>>,
) -> ApiResult<(Vec<String>, Vec<String>)> {
    let legacy = non_empty(&c.values);
    let legacy_regex = non_empty(&c.regex_values);
    if cfg_values.is_some() && !legacy.is_empty() {
        return Err(cond_err(format!(
            "You cannot provide both Values and '{cfg_name}' for a condition of type '{field}'"
        )));
    }
    if cfg_regex.is_some_and(|r| r.as_ref().is_some_and(|r| !r.is_empty()))
        && !legacy_regex.is_empty()
    {
        return Err(cond_err(format!("You cannot provide both RegexValues and '{cfg_name}.RegexValues' for a condition of type '{field}'")));
    }
    if cfg_values.is_none() && legacy.len() > 1 {
        return Err(cond_err(format!(
            "The '{field}' field contains too many values; the limit is '1'"
        )));
    }
    let values = match cfg_values {
        Some(v) => non_empty(v),
        None => legacy,
    };
    let regex = match cfg_regex.map(non_empty) {
        Some(r) if !r.is_empty() => r,
        _ => legacy_regex,
    };
    if values.is_empty() && regex.is_empty() {
        return Err(cond_err("A condition value must be specified"));
    }
    if !values.is_empty() && !regex.is_empty() {
        return Err(cond_err(format!(
            "You cannot specify both Values and RegexValues for a condition of type '{field}'"
        )));
    }
    for r in &regex {
        check_regex(field, r)?;
    }
    Ok((values, regex))
}

fn opt(v: Vec<String>) -> Option<Vec<String>> {
    (!v.is_empty()).then_some(v)
}

/// Running totals over a rule's conditions, for the per-rule quotas.
#[derive(Default)]
struct Counts {
    values: i64,
    wildcards: i64,
}

/// Validates and normalises a rule's conditions (AWS's per-field rules and the per-rule quotas).
pub fn normalize_conditions(
    conds: &[m::RuleCondition],
    limits: ConditionLimits,
) -> ApiResult<Vec<m::RuleCondition>> {
    if conds.is_empty() {
        return Err(cond_err("A rule must have at least one condition"));
    }
    let mut out = Vec::with_capacity(conds.len());
    let mut counts = Counts::default();
    let mut seen: Vec<&str> = Vec::new();
    for c in conds {
        let field = check_shape(c, &seen)?;
        seen.push(field);
        out.push(normalize_condition(c, field, &mut counts)?);
    }
    if counts.values > limits.values {
        return Err(cond_err(format!(
            "A rule can have at most '{}' condition values",
            limits.values
        )));
    }
    if counts.wildcards > limits.wildcards {
        return Err(cond_err(format!(
            "A rule can have at most '{}' wildcards",
            limits.wildcards
        )));
    }
    Ok(out)
}

/// The condition's field, checked for what does not depend on its values: a known field, used
/// once where AWS allows one, and only the members that field takes.
fn check_shape<'a>(c: &'a m::RuleCondition, seen: &[&str]) -> ApiResult<&'a str> {
    let field = c
        .field
        .as_deref()
        .ok_or_else(|| cond_err("A condition field must be specified"))?;
    if !FIELDS.contains(&field) {
        return Err(cond_err(format!(
            "Condition field '{field}' must be one of '[{}]'",
            FIELDS.join(", ")
        )));
    }
    if SINGLE_USE.contains(&field) && seen.contains(&field) {
        return Err(cond_err(format!(
            "A rule can have only one '{field}' condition"
        )));
    }
    if c.values.is_some() && !matches!(field, "host-header" | "path-pattern") {
        return Err(cond_err(format!(
            "The 'Values' field is not compatible with '{field}'"
        )));
    }
    if c.regex_values.is_some() && !matches!(field, "host-header" | "path-pattern" | "http-header")
    {
        return Err(cond_err(format!(
            "The 'RegexValues' field is not compatible with '{field}'"
        )));
    }
    let configs = [
        (
            "HostHeaderConfig",
            "host-header",
            c.host_header_config.is_some(),
        ),
        (
            "PathPatternConfig",
            "path-pattern",
            c.path_pattern_config.is_some(),
        ),
        (
            "HttpHeaderConfig",
            "http-header",
            c.http_header_config.is_some(),
        ),
        (
            "HttpRequestMethodConfig",
            "http-request-method",
            c.http_request_method_config.is_some(),
        ),
        (
            "QueryStringConfig",
            "query-string",
            c.query_string_config.is_some(),
        ),
        ("SourceIpConfig", "source-ip", c.source_ip_config.is_some()),
    ];
    if let Some((name, owner, _)) = configs
        .iter()
        .find(|(_, owner, given)| *given && *owner != field)
    {
        return Err(cond_err(format!(
            "A '{name}' can be specified only with '{owner}', not with '{field}'"
        )));
    }
    Ok(field)
}

/// One condition, normalised to what AWS returns.
fn normalize_condition(
    c: &m::RuleCondition,
    field: &str,
    counts: &mut Counts,
) -> ApiResult<m::RuleCondition> {
    let mut n = m::RuleCondition {
        field: Some(field.to_string()),
        ..Default::default()
    };
    match field {
        "host-header" | "path-pattern" => host_or_path(c, field, &mut n, counts)?,
        "http-header" => http_header(c, field, &mut n, counts)?,
        "http-request-method" => http_request_method(c, field, &mut n, counts)?,
        "query-string" => query_string(c, field, &mut n, counts)?,
        _ => source_ip(c, field, &mut n, counts)?,
    }
    Ok(n)
}

/// An error unless the field's config member was given.
fn require(given: bool, name: &str, field: &str) -> ApiResult<()> {
    if given {
        Ok(())
    } else {
        Err(cond_err(format!(
            "A '{name}' must be specified with '{field}'"
        )))
    }
}

/// `host-header` / `path-pattern`: values (legacy and typed) or regexes, with wildcards counted.
fn host_or_path(
    c: &m::RuleCondition,
    field: &str,
    n: &mut m::RuleCondition,
    counts: &mut Counts,
) -> ApiResult<()> {
    let host = field == "host-header";
    let (cfg_name, cfg_v, cfg_r) = if host {
        let c = c.host_header_config.as_ref();
        (
            "HostHeaderConfig",
            c.map(|c| &c.values),
            c.map(|c| &c.regex_values),
        )
    } else {
        let c = c.path_pattern_config.as_ref();
        (
            "PathPatternConfig",
            c.map(|c| &c.values),
            c.map(|c| &c.regex_values),
        )
    };
    let (values, regex) = values_and_regex(c, field, cfg_name, cfg_v, cfg_r)?;
    for v in &values {
        if host {
            check_host(v)?
        } else {
            check_path(v)?
        }
        counts.wildcards += wildcards(v);
    }
    counts.values += (values.len() + regex.len()) as i64;
    n.values = opt(values.clone());
    n.regex_values = c.regex_values.clone().filter(|r| !r.is_empty());
    if host {
        n.host_header_config = Some(m::HostHeaderConditionConfig {
            values: opt(values),
            regex_values: opt(regex),
        });
    } else {
        n.path_pattern_config = Some(m::PathPatternConditionConfig {
            values: opt(values),
            regex_values: opt(regex),
        });
    }
    Ok(())
}

/// `http-header`: a valid header name other than Host, and its values or regexes.
fn http_header(
    c: &m::RuleCondition,
    field: &str,
    n: &mut m::RuleCondition,
    counts: &mut Counts,
) -> ApiResult<()> {
    require(c.http_header_config.is_some(), "HttpHeaderConfig", field)?;
    let cfg = c.http_header_config.as_ref().expect("checked");
    let name = cfg.http_header_name.clone().unwrap_or_default();
    if name.is_empty() {
        return Err(cond_err(
            "A 'HttpHeaderName' must be specified with 'http-header'",
        ));
    }
    if name.chars().count() > 40 {
        return Err(cond_err(
            "The 'HttpHeaderName' value is too long; the limit is '40'",
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "!#$%&'+-.^_`|~".contains(c))
    {
        return Err(cond_err(format!(
            "The 'HttpHeaderName' value '{name}' is not a valid HTTP header name"
        )));
    }
    if name.eq_ignore_ascii_case("host") {
        return Err(cond_err("You cannot use an 'http-header' condition on the host header; use a 'host-header' condition"));
    }
    let (values, regex) = values_and_regex(
        c,
        field,
        "HttpHeaderConfig",
        Some(&cfg.values),
        Some(&cfg.regex_values),
    )?;
    for v in &values {
        check_len(field, v)?;
        counts.wildcards += wildcards(v);
    }
    counts.values += (values.len() + regex.len()) as i64;
    n.regex_values = c.regex_values.clone().filter(|r| !r.is_empty());
    n.http_header_config = Some(m::HttpHeaderConditionConfig {
        http_header_name: Some(name),
        values: opt(values),
        regex_values: opt(regex),
    });
    Ok(())
}

/// `http-request-method`: upper-case method names.
fn http_request_method(
    c: &m::RuleCondition,
    field: &str,
    n: &mut m::RuleCondition,
    counts: &mut Counts,
) -> ApiResult<()> {
    require(
        c.http_request_method_config.is_some(),
        "HttpRequestMethodConfig",
        field,
    )?;
    let values = non_empty(
        &c.http_request_method_config
            .as_ref()
            .expect("checked")
            .values,
    );
    if values.is_empty() {
        return Err(cond_err("A condition value must be specified"));
    }
    for v in &values {
        if v.chars().count() > 40 {
            return Err(cond_err(
                "The 'http-request-method' value is too long; the limit is '40'",
            ));
        }
        if v.is_empty()
            || !v
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c == '-')
        {
            return Err(cond_err(
                    "The 'http-request-method' value is invalid; the allowed characters are A-Z, hyphen and underscore",
                ));
        }
    }
    counts.values += values.len() as i64;
    n.http_request_method_config = Some(m::HttpRequestMethodConditionConfig {
        values: Some(values),
    });
    Ok(())
}

/// `query-string`: key/value pairs (key optional), wildcards counted in both.
fn query_string(
    c: &m::RuleCondition,
    field: &str,
    n: &mut m::RuleCondition,
    counts: &mut Counts,
) -> ApiResult<()> {
    require(c.query_string_config.is_some(), "QueryStringConfig", field)?;
    let pairs = c
        .query_string_config
        .as_ref()
        .expect("checked")
        .values
        .clone()
        .unwrap_or_default();
    if pairs.is_empty() {
        return Err(cond_err("A condition value must be specified"));
    }
    for p in &pairs {
        let v = p
            .value
            .as_deref()
            .ok_or_else(|| cond_err("A 'Value' must be specified in 'QueryStringKeyValuePair'"))?;
        if let Some(k) = &p.key {
            if k.is_empty() {
                return Err(cond_err(
                    "A 'Key' in 'QueryStringKeyValuePair' cannot be empty",
                ));
            }
            if k.chars().count() > 128 {
                return Err(cond_err("The 'Key' value is too long; the limit is '128'"));
            }
            counts.wildcards += wildcards(k);
        }
        if v.is_empty() {
            return Err(cond_err(
                "A 'Value' in 'QueryStringKeyValuePair' cannot be empty",
            ));
        }
        if v.chars().count() > 128 {
            return Err(cond_err(
                "The 'Value' value is too long; the limit is '128'",
            ));
        }
        counts.wildcards += wildcards(v);
    }
    counts.values += pairs.len() as i64;
    n.query_string_config = Some(m::QueryStringConditionConfig {
        values: Some(pairs),
    });
    Ok(())
}

/// `source-ip`: CIDR blocks; `IpAddressType` is for NLB rules only.
fn source_ip(
    c: &m::RuleCondition,
    field: &str,
    n: &mut m::RuleCondition,
    counts: &mut Counts,
) -> ApiResult<()> {
    require(c.source_ip_config.is_some(), "SourceIpConfig", field)?;
    let cfg = c.source_ip_config.as_ref().expect("checked");
    if cfg.ip_address_type.is_some() {
        return Err(cond_err(
            "'IpAddressType' can be specified only for Network Load Balancer listener rules",
        ));
    }
    let values = non_empty(&cfg.values);
    if values.is_empty() {
        return Err(cond_err("A 'source-ip' value must be specified"));
    }
    for v in &values {
        check_cidr(v)?;
    }
    counts.values += values.len() as i64;
    n.source_ip_config = Some(m::SourceIpConditionConfig {
        values: Some(values),
        ip_address_type: None,
    });
    Ok(())
}

#[cfg(test)]
mod tests;
