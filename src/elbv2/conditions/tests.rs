use super::*;

fn limits() -> ConditionLimits {
    ConditionLimits {
        values: 5,
        wildcards: 5,
    }
}

fn cond(field: &str) -> m::RuleCondition {
    m::RuleCondition {
        field: Some(field.into()),
        ..Default::default()
    }
}

#[test]
fn legacy_values_are_mirrored_into_typed_config_and_back() {
    let mut c = cond("host-header");
    c.values = Some(vec!["*.example.com".into()]);
    let out = normalize_conditions(&[c], limits()).unwrap();
    assert_eq!(
        out[0].host_header_config.as_ref().unwrap().values,
        Some(vec!["*.example.com".to_string()])
    );
    let mut p = cond("path-pattern");
    p.path_pattern_config = Some(m::PathPatternConditionConfig {
        values: Some(vec!["/a/*".into(), "/b".into()]),
        regex_values: None,
    });
    let out = normalize_conditions(&[p], limits()).unwrap();
    assert_eq!(out[0].values.as_ref().unwrap().len(), 2);
}

#[test]
fn condition_errors() {
    let e = |c: m::RuleCondition| {
        normalize_conditions(&[c], limits())
            .unwrap_err()
            .message()
            .to_string()
    };
    assert!(e(cond("cookie")).starts_with("Condition field 'cookie' must be one of"));
    let mut c = cond("http-header");
    c.values = Some(vec!["x".into()]);
    assert_eq!(
        e(c),
        "The 'Values' field is not compatible with 'http-header'"
    );
    let mut c = cond("host-header");
    c.values = Some(vec!["a.com".into(), "b.com".into()]);
    assert_eq!(
        e(c),
        "The 'host-header' field contains too many values; the limit is '1'"
    );
    let mut c = cond("path-pattern");
    c.values = Some(vec!["x".repeat(129)]);
    assert_eq!(
        e(c),
        "The 'path-pattern' value is too long; the limit is '128'"
    );
    assert_eq!(
        e(cond("source-ip")),
        "A 'SourceIpConfig' must be specified with 'source-ip'"
    );
    let mut c = cond("source-ip");
    c.source_ip_config = Some(m::SourceIpConditionConfig {
        values: Some(vec!["10.0.0.0".into()]),
        ip_address_type: None,
    });
    assert!(e(c).contains("CIDR"));
    let mut c = cond("http-request-method");
    c.http_request_method_config = Some(m::HttpRequestMethodConditionConfig {
        values: Some(vec!["get".into()]),
    });
    assert!(e(c).contains("A-Z"));
    let mut c = cond("http-header");
    c.http_header_config = Some(m::HttpHeaderConditionConfig {
        http_header_name: Some("X".repeat(41)),
        values: Some(vec!["v".into()]),
        regex_values: None,
    });
    assert_eq!(
        e(c),
        "The 'HttpHeaderName' value is too long; the limit is '40'"
    );
    let mut c = cond("host-header");
    c.values = Some(vec!["localhost".into()]);
    assert!(e(c).contains("not valid"));
    assert!(normalize_conditions(&[], limits()).is_err());
}

#[test]
fn per_rule_value_and_wildcard_quotas() {
    let mut q = cond("query-string");
    q.query_string_config = Some(m::QueryStringConditionConfig {
        values: Some(
            (0..3)
                .map(|i| m::QueryStringKeyValuePair {
                    key: Some(format!("k{i}")),
                    value: Some("v".into()),
                })
                .collect(),
        ),
    });
    let mut s = cond("source-ip");
    s.source_ip_config = Some(m::SourceIpConditionConfig {
        values: Some(vec!["10.0.0.0/8".into(), "::/0".into()]),
        ip_address_type: None,
    });
    assert!(normalize_conditions(&[q.clone(), s.clone()], limits()).is_ok());
    let mut m3 = cond("http-request-method");
    m3.http_request_method_config = Some(m::HttpRequestMethodConditionConfig {
        values: Some(vec!["GET".into()]),
    });
    let e = normalize_conditions(&[q, s, m3], limits()).unwrap_err();
    assert!(e.message().contains("'5' condition values"));
    let mut p = cond("path-pattern");
    p.path_pattern_config = Some(m::PathPatternConditionConfig {
        values: Some(vec!["/*/*/*".into(), "/?/?/?".into()]),
        regex_values: None,
    });
    assert!(normalize_conditions(&[p], limits())
        .unwrap_err()
        .message()
        .contains("wildcards"));
    let mut h = cond("http-header");
    h.http_header_config = Some(m::HttpHeaderConditionConfig {
        http_header_name: Some("X-Env".into()),
        values: None,
        regex_values: Some(vec!["^(dev|prod)$".into()]),
    });
    assert!(normalize_conditions(&[h], limits()).is_ok());
}
