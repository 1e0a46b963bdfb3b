//! Root `metadata`, checked as the API server checks ObjectMeta for what localelb writes:
//! DNS-1123 names and namespaces, qualified label keys, label values.

use super::{err, SchemaError};
use serde_json::Value;

/// `name`: DNS-1123 subdomain (≤253, lowercase alphanumerics, `-`, `.`).
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns1123_label_chars)
}

/// `namespace` and Service names: DNS-1123 label (≤63, lowercase alphanumerics and `-`).
pub fn is_dns1123_label(s: &str) -> bool {
    s.len() <= 63 && is_dns1123_label_chars(s)
}

fn is_dns1123_label_chars(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Label values: ≤63 chars, empty or alphanumeric at both ends with `-_.` inside.
pub fn is_label_value(s: &str) -> bool {
    let b = s.as_bytes();
    s.is_empty()
        || (b.len() <= 63
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric())
}

/// Label keys: optional DNS-subdomain prefix and `/`, then a name like a label value (non-empty).
pub fn is_label_key(s: &str) -> bool {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    prefix.is_none_or(is_dns1123_subdomain) && !name.is_empty() && is_label_value(name)
}

pub(super) fn check_metadata(m: &Value, namespaced: bool, errs: &mut Vec<SchemaError>) {
    let Some(o) = m.as_object() else {
        errs.push(err("metadata", "must be object"));
        return;
    };
    for (k, v) in o {
        let p = format!("metadata.{k}");
        match k.as_str() {
            "name" => match v.as_str() {
                Some(n) if is_dns1123_subdomain(n) => {}
                _ => errs.push(err(&p, format!("{v} is not a DNS-1123 subdomain"))),
            },
            "namespace" => match v.as_str() {
                Some(n) if is_dns1123_label(n) => {}
                _ => errs.push(err(&p, format!("{v} is not a DNS-1123 label"))),
            },
            "labels" | "annotations" => {
                let Some(map) = v.as_object() else {
                    errs.push(err(&p, "must be object"));
                    continue;
                };
                for (lk, lv) in map {
                    let lp = format!("{p}.{lk}");
                    if !is_label_key(lk) {
                        errs.push(err(&lp, "invalid key"));
                    }
                    match lv.as_str() {
                        Some(val) if k == "annotations" || is_label_value(val) => {}
                        Some(_) => errs.push(err(&lp, "invalid label value")),
                        None => errs.push(err(&lp, "must be string")),
                    }
                }
            }
            _ => errs.push(err(&p, "unknown or unsupported metadata field")),
        }
    }
    if !o.contains_key("name") {
        errs.push(err("metadata.name", "required field is missing"));
    }
    if !namespaced && o.contains_key("namespace") {
        errs.push(err("metadata.namespace", "set on a cluster-scoped kind"));
    }
}
