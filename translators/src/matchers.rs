//! ALB rule conditions → Traefik v3 rule strings, and ALB priorities → Traefik priorities.
//!
//! Conditions are AND-ed (`&&`), the values of one condition OR-ed (`( … || … )`). Wildcards
//! (`*`, `?`) become anchored Go regexps; host, header and query values are case-insensitive in
//! ALB, so their regexps carry `(?i)`. Values are Go string literals: backticks unless the value
//! holds a backtick. What Traefik cannot match exactly is reported as an [`Issue`].

use crate::routing::{Condition, ConditionError};
use api_models as m;

/// A condition (or one of its values) that Traefik cannot match as ALB does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The ALB feature, e.g. `query-string` or `http-request-method`.
    pub feature: String,
    pub message: String,
}

/// The Traefik rule for a set of ALB conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// The rule string; `None` when a condition has no value Traefik can express, so the rule
    /// can never match as ALB's would (the router must be left out).
    pub rule: Option<String>,
    pub issues: Vec<Issue>,
}

/// The catch-all rule of a listener's default action.
pub const DEFAULT_RULE: &str = "PathPrefix(`/`)";

/// The catch-all rule of a TCP router.
pub const TCP_CATCH_ALL: &str = "HostSNI(`*`)";

/// Traefik priority for an ALB priority (`None` = the default rule → 1).
pub fn priority(alb: Option<u32>) -> i64 {
    match alb {
        Some(p) => 100_000 - i64::from(p),
        None => 1,
    }
}

/// A Go string literal for `s`: raw (backticks) unless `s` holds a backtick.
pub fn go_quote(s: &str) -> String {
    if !s.contains('`') {
        return format!("`{s}`");
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Escapes Go regexp metacharacters.
pub fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One piece of an ALB wildcard pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Lit(char),
    Star,
    One,
}

/// Splits an ALB pattern into literals and wildcards. With `escapes` (query strings), `\*`,
/// `\?` and `\\` are literal characters.
fn pieces(p: &str, escapes: bool) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut it = p.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' if escapes && matches!(it.peek(), Some('*' | '?' | '\\')) => {
                out.push(Piece::Lit(it.next().unwrap_or('\\')));
            }
            '*' => out.push(Piece::Star),
            '?' => out.push(Piece::One),
            c => out.push(Piece::Lit(c)),
        }
    }
    out
}

fn has_wildcard(ps: &[Piece]) -> bool {
    ps.iter().any(|p| !matches!(p, Piece::Lit(_)))
}

fn literal(ps: &[Piece]) -> String {
    ps.iter()
        .map(|p| match p {
            Piece::Lit(c) => *c,
            Piece::Star => '*',
            Piece::One => '?',
        })
        .collect()
}

/// An anchored Go regexp for an ALB wildcard pattern (`(?i)` when case-insensitive).
fn pieces_regex(ps: &[Piece], case_insensitive: bool) -> String {
    let mut re = String::from(if case_insensitive { "(?i)^" } else { "^" });
    for p in ps {
        match p {
            Piece::Lit(c) => re.push_str(&regex_escape(&c.to_string())),
            Piece::Star => re.push_str(".*"),
            Piece::One => re.push('.'),
        }
    }
    re.push('$');
    re
}

/// An anchored Go regexp for an ALB wildcard pattern (`*` any run, `?` one character).
pub fn wildcard_regex(pattern: &str, case_insensitive: bool) -> String {
    pieces_regex(&pieces(pattern, false), case_insensitive)
}

fn host_matcher(v: &str) -> String {
    let ps = pieces(v, false);
    if has_wildcard(&ps) {
        format!("HostRegexp({})", go_quote(&pieces_regex(&ps, true)))
    } else {
        format!("Host({})", go_quote(&v.to_ascii_lowercase()))
    }
}

fn path_matcher(v: &str) -> String {
    let ps = pieces(v, false);
    let body = &ps[..ps.len().saturating_sub(1)];
    if !has_wildcard(&ps) && v.starts_with('/') {
        format!("Path({})", go_quote(v))
    } else if ps.last() == Some(&Piece::Star) && !has_wildcard(body) && v.starts_with('/') {
        format!("PathPrefix({})", go_quote(&literal(body)))
    } else if v == "*" {
        DEFAULT_RULE.to_string()
    } else {
        format!("PathRegexp({})", go_quote(&pieces_regex(&ps, false)))
    }
}

/// Whether a case-insensitive exact match equals a case-sensitive one (no letters).
fn caseless(v: &str) -> bool {
    !v.chars().any(char::is_alphabetic)
}

fn header_matcher(name: &str, v: &str) -> String {
    let ps = pieces(v, false);
    if !has_wildcard(&ps) && caseless(v) {
        format!("Header({}, {})", go_quote(name), go_quote(v))
    } else {
        format!(
            "HeaderRegexp({}, {})",
            go_quote(name),
            go_quote(&pieces_regex(&ps, true))
        )
    }
}

fn or_group(parts: Vec<String>) -> Option<String> {
    match parts.len() {
        0 => None,
        1 => parts.into_iter().next(),
        _ => Some(format!("({})", parts.join(" || "))),
    }
}

fn issue(feature: &str, message: String) -> Issue {
    Issue {
        feature: feature.into(),
        message,
    }
}

/// Adds the matchers for a host-header or path-pattern condition: each plain value through
/// `matcher`, each regex value as `regexp(...)` (e.g. `HostRegexp`).
fn push_patterns(
    parts: &mut Vec<String>,
    values: &[String],
    regexes: &[String],
    matcher: fn(&str) -> String,
    regexp: &str,
) {
    parts.extend(values.iter().map(|v| matcher(v)));
    parts.extend(regexes.iter().map(|r| format!("{regexp}({})", go_quote(r))));
}

/// The Traefik expression for one condition (None when no value is expressible), adding what
/// is approximate or dropped to `issues`.
pub fn condition(c: &Condition, issues: &mut Vec<Issue>) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    match c {
        Condition::HostHeader { values, regexes } => {
            push_patterns(&mut parts, values, regexes, host_matcher, "HostRegexp");
        }
        Condition::PathPattern { values, regexes } => {
            push_patterns(&mut parts, values, regexes, path_matcher, "PathRegexp");
        }
        Condition::HttpHeader {
            name,
            values,
            regexes,
        } => {
            parts.extend(values.iter().map(|v| header_matcher(name, v)));
            parts.extend(
                regexes
                    .iter()
                    .map(|r| format!("HeaderRegexp({}, {})", go_quote(name), go_quote(r))),
            );
        }
        Condition::Method(vals) => {
            for v in vals {
                if v.chars().any(|ch| ch.is_ascii_lowercase()) {
                    // Traefik upper-cases the configured method: `get` would match GET, which
                    // ALB's case-sensitive `get` never does.
                    issues.push(issue(
                        "http-request-method",
                        format!(
                            "method {v:?} is not upper case: Traefik upper-cases methods, so \
                             this value is left out"
                        ),
                    ));
                } else {
                    parts.push(format!("Method({})", go_quote(v)));
                }
            }
        }
        Condition::QueryString(pairs) => {
            for (key, value) in pairs {
                let Some(key) = key.as_deref() else {
                    issues.push(issue(
                        "query-string",
                        format!(
                            "value-only condition {value:?} is not expressible (Traefik \
                             matches query values by key); left out"
                        ),
                    ));
                    continue;
                };
                let kps = pieces(key, true);
                if has_wildcard(&kps) {
                    issues.push(issue(
                        "query-string",
                        format!(
                            "wildcard key {key:?} is not expressible (Traefik looks keys up \
                             exactly); left out"
                        ),
                    ));
                    continue;
                }
                let key = literal(&kps);
                if !caseless(&key) {
                    issues.push(issue(
                        "query-string",
                        format!(
                            "key {key:?} is matched case-sensitively by Traefik (ALB ignores \
                             its case)"
                        ),
                    ));
                }
                let vps = pieces(value, true);
                let lit = literal(&vps);
                if !has_wildcard(&vps) && caseless(&lit) {
                    parts.push(format!("Query({}, {})", go_quote(&key), go_quote(&lit)));
                } else {
                    parts.push(format!(
                        "QueryRegexp({}, {})",
                        go_quote(&key),
                        go_quote(&pieces_regex(&vps, true))
                    ));
                }
            }
        }
        Condition::SourceIp(vals) => {
            parts.extend(
                vals.iter()
                    .map(|v| format!("ClientIP({})", go_quote(v.trim()))),
            );
        }
    }
    or_group(parts)
}

/// A stored condition's expression: its typed form's, or None (with an issue for an unknown
/// field) when it cannot be read.
fn stored_condition(c: &m::RuleCondition, issues: &mut Vec<Issue>) -> Option<String> {
    match Condition::parse(c) {
        Ok(t) => condition(&t, issues),
        Err(e) => {
            let other = match e {
                ConditionError::UnknownField(f) => f,
                ConditionError::NoField => String::new(),
                ConditionError::Missing { .. } => return None,
            };
            issues.push(issue(
                &other,
                format!("condition field {other:?} is not known; the rule is left out"),
            ));
            None
        }
    }
}

/// The Traefik rule for a rule's conditions. No conditions (the default rule) → the catch-all
/// `` PathPrefix(`/`) ``.
pub fn rule(conditions: &[m::RuleCondition]) -> Matcher {
    let mut issues = Vec::new();
    if conditions.is_empty() {
        return Matcher {
            rule: Some(DEFAULT_RULE.into()),
            issues,
        };
    }
    let mut parts = Vec::new();
    let mut expressible = true;
    for c in conditions {
        match stored_condition(c, &mut issues) {
            Some(p) => parts.push(p),
            None => expressible = false,
        }
    }
    if !expressible {
        issues.push(issue(
            "rule",
            "a condition has no value Traefik can express, so the rule is not rendered".into(),
        ));
        return Matcher { rule: None, issues };
    }
    Matcher {
        rule: Some(parts.join(" && ")),
        issues,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(field: &str) -> m::RuleCondition {
        m::RuleCondition {
            field: Some(field.into()),
            ..Default::default()
        }
    }
    fn host(vals: &[&str]) -> m::RuleCondition {
        m::RuleCondition {
            host_header_config: Some(m::HostHeaderConditionConfig {
                values: Some(vals.iter().map(|s| s.to_string()).collect()),
                ..Default::default()
            }),
            ..cond("host-header")
        }
    }
    fn path(vals: &[&str]) -> m::RuleCondition {
        m::RuleCondition {
            path_pattern_config: Some(m::PathPatternConditionConfig {
                values: Some(vals.iter().map(|s| s.to_string()).collect()),
                ..Default::default()
            }),
            ..cond("path-pattern")
        }
    }
    fn header(name: &str, vals: &[&str]) -> m::RuleCondition {
        m::RuleCondition {
            http_header_config: Some(m::HttpHeaderConditionConfig {
                http_header_name: Some(name.into()),
                values: Some(vals.iter().map(|s| s.to_string()).collect()),
                ..Default::default()
            }),
            ..cond("http-header")
        }
    }
    fn method(vals: &[&str]) -> m::RuleCondition {
        m::RuleCondition {
            http_request_method_config: Some(m::HttpRequestMethodConditionConfig {
                values: Some(vals.iter().map(|s| s.to_string()).collect()),
            }),
            ..cond("http-request-method")
        }
    }
    fn query(pairs: &[(Option<&str>, &str)]) -> m::RuleCondition {
        m::RuleCondition {
            query_string_config: Some(m::QueryStringConditionConfig {
                values: Some(
                    pairs
                        .iter()
                        .map(|(k, v)| m::QueryStringKeyValuePair {
                            key: k.map(str::to_string),
                            value: Some(v.to_string()),
                        })
                        .collect(),
                ),
            }),
            ..cond("query-string")
        }
    }
    fn source(vals: &[&str]) -> m::RuleCondition {
        m::RuleCondition {
            source_ip_config: Some(m::SourceIpConditionConfig {
                values: Some(vals.iter().map(|s| s.to_string()).collect()),
                ..Default::default()
            }),
            ..cond("source-ip")
        }
    }

    fn r(cs: Vec<m::RuleCondition>) -> String {
        rule(&cs).rule.expect("expressible")
    }

    #[test]
    fn condition_table() {
        let table: Vec<(m::RuleCondition, &str)> = vec![
            (host(&["Example.COM"]), "Host(`example.com`)"),
            (
                host(&["*.example.com"]),
                r"HostRegexp(`(?i)^.*\.example\.com$`)",
            ),
            (host(&["api-?.x.io"]), r"HostRegexp(`(?i)^api-.\.x\.io$`)"),
            (
                host(&["a.com", "b.com"]),
                "(Host(`a.com`) || Host(`b.com`))",
            ),
            (path(&["/exact"]), "Path(`/exact`)"),
            (path(&["/api/*"]), "PathPrefix(`/api/`)"),
            (path(&["/api*"]), "PathPrefix(`/api`)"),
            (path(&["*"]), "PathPrefix(`/`)"),
            (path(&["/*"]), "PathPrefix(`/`)"),
            (path(&["/api/v?/*"]), r"PathRegexp(`^/api/v./.*$`)"),
            (path(&["*.jpg"]), r"PathRegexp(`^.*\.jpg$`)"),
            (path(&["/a*/b"]), r"PathRegexp(`^/a.*/b$`)"),
            (path(&["/x(1)+[2]"]), r"Path(`/x(1)+[2]`)"),
            (path(&["/x(1)*/y"]), r"PathRegexp(`^/x\(1\).*/y$`)"),
            (path(&["nolead"]), "PathRegexp(`^nolead$`)"),
            (path(&["/Case"]), "Path(`/Case`)"),
            (header("X-Env", &["123"]), "Header(`X-Env`, `123`)"),
            (header("X-Env", &["Beta"]), "HeaderRegexp(`X-Env`, `(?i)^Beta$`)"),
            (
                header("User-Agent", &["*Mobile*", "*iPad*"]),
                "(HeaderRegexp(`User-Agent`, `(?i)^.*Mobile.*$`) || HeaderRegexp(`User-Agent`, `(?i)^.*iPad.*$`))",
            ),
            (method(&["GET"]), "Method(`GET`)"),
            (
                method(&["GET", "HEAD"]),
                "(Method(`GET`) || Method(`HEAD`))",
            ),
            (method(&["CUSTOM_X-1"]), "Method(`CUSTOM_X-1`)"),
            (query(&[(Some("v"), "1")]), "Query(`v`, `1`)"),
            (
                query(&[(Some("mode"), "Fast")]),
                "QueryRegexp(`mode`, `(?i)^Fast$`)",
            ),
            (
                query(&[(Some("v"), "1*")]),
                "QueryRegexp(`v`, `(?i)^1.*$`)",
            ),
            (
                query(&[(Some("v"), r"a\*b")]),
                r"QueryRegexp(`v`, `(?i)^a\*b$`)",
            ),
            (query(&[(Some(r"k\?"), "1")]), r"Query(`k?`, `1`)"),
            (
                query(&[(Some("a"), "1"), (Some("b"), "2")]),
                "(Query(`a`, `1`) || Query(`b`, `2`))",
            ),
            (source(&["10.0.0.0/8"]), "ClientIP(`10.0.0.0/8`)"),
            (
                source(&["192.168.1.0/24", "2001:db8::/32"]),
                "(ClientIP(`192.168.1.0/24`) || ClientIP(`2001:db8::/32`))",
            ),
        ];
        for (c, want) in table {
            assert_eq!(r(vec![c.clone()]), want, "{c:?}");
        }
    }

    #[test]
    fn conditions_are_anded() {
        assert_eq!(
            r(vec![host(&["*.example.com"]), path(&["/api/v?/*"])]),
            r"HostRegexp(`(?i)^.*\.example\.com$`) && PathRegexp(`^/api/v./.*$`)"
        );
        assert_eq!(
            r(vec![
                path(&["/a", "/b"]),
                method(&["POST"]),
                source(&["127.0.0.1/32"])
            ]),
            "(Path(`/a`) || Path(`/b`)) && Method(`POST`) && ClientIP(`127.0.0.1/32`)"
        );
    }

    #[test]
    fn default_rule_is_catch_all() {
        assert_eq!(rule(&[]).rule.as_deref(), Some("PathPrefix(`/`)"));
    }

    #[test]
    fn legacy_values_field() {
        let c = m::RuleCondition {
            values: Some(vec!["/legacy/*".into()]),
            ..cond("path-pattern")
        };
        assert_eq!(r(vec![c]), "PathPrefix(`/legacy/`)");
        let c = m::RuleCondition {
            values: Some(vec!["A.example.com".into()]),
            ..cond("host-header")
        };
        assert_eq!(r(vec![c]), "Host(`a.example.com`)");
    }

    #[test]
    fn regex_values_pass_through() {
        let c = m::RuleCondition {
            path_pattern_config: Some(m::PathPatternConditionConfig {
                regex_values: Some(vec![r"^/v\d+/".into()]),
                ..Default::default()
            }),
            ..cond("path-pattern")
        };
        assert_eq!(r(vec![c]), r"PathRegexp(`^/v\d+/`)");
        let c = m::RuleCondition {
            http_header_config: Some(m::HttpHeaderConditionConfig {
                http_header_name: Some("X-A".into()),
                regex_values: Some(vec!["^a|b$".into()]),
                ..Default::default()
            }),
            ..cond("http-header")
        };
        assert_eq!(r(vec![c]), "HeaderRegexp(`X-A`, `^a|b$`)");
    }

    #[test]
    fn backtick_values_use_double_quotes() {
        assert_eq!(go_quote("a`b"), "\"a`b\"");
        assert_eq!(go_quote(r#"a`"\"#), r#""a`\"\\""#);
        assert_eq!(r(vec![header("X-Q", &["1`2"])]), "Header(`X-Q`, \"1`2\")");
        assert_eq!(
            r(vec![header("X-Q", &["a`*"])]),
            "HeaderRegexp(`X-Q`, \"(?i)^a`.*$\")"
        );
    }

    #[test]
    fn lowercase_method_is_left_out() {
        let m = rule(&[method(&["get"])]);
        assert_eq!(m.rule, None);
        assert!(m.issues.iter().any(|i| i.feature == "http-request-method"));
        let m = rule(&[method(&["get", "POST"])]);
        assert_eq!(m.rule.as_deref(), Some("Method(`POST`)"));
        assert_eq!(m.issues.len(), 1);
    }

    #[test]
    fn value_only_and_wildcard_keys_are_not_expressible() {
        let m = rule(&[query(&[(None, "x")])]);
        assert_eq!(m.rule, None);
        assert!(m.issues.iter().any(|i| i.message.contains("value-only")));
        let m = rule(&[query(&[(Some("k*"), "x")])]);
        assert_eq!(m.rule, None);
        let m = rule(&[query(&[(None, "x"), (Some("k"), "1")])]);
        assert_eq!(m.rule.as_deref(), Some("Query(`k`, `1`)"));
        assert_eq!(m.issues.len(), 2, "{:?}", m.issues); // value-only + key case
    }

    #[test]
    fn query_key_case_is_warned() {
        let m = rule(&[query(&[(Some("k"), "1")])]);
        assert_eq!(m.issues.len(), 1);
        let m = rule(&[query(&[(Some("42"), "1")])]);
        assert!(m.issues.is_empty());
    }

    #[test]
    fn exact_rules_have_no_issues() {
        let m = rule(&[
            host(&["*.a.com"]),
            path(&["/x/*"]),
            header("H", &["v*"]),
            method(&["PUT"]),
            source(&["10.0.0.0/8"]),
        ]);
        assert!(m.issues.is_empty(), "{:?}", m.issues);
    }

    #[test]
    fn priorities_are_inverted() {
        assert_eq!(priority(Some(1)), 99_999);
        assert_eq!(priority(Some(10)), 99_990);
        assert_eq!(priority(Some(50_000)), 50_000);
        assert_eq!(priority(None), 1);
        assert!(priority(Some(5)) > priority(Some(6)));
    }

    #[test]
    fn unknown_field_is_left_out() {
        let m = rule(&[cond("nope")]);
        assert_eq!(m.rule, None);
    }
}
