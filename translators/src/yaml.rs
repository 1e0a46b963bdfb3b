//! A small YAML emitter for JSON values: block style, every string double-quoted with JSON
//! escapes (a JSON string is a valid YAML double-quoted scalar), so the output is readable and
//! parses back to the same value.

use serde_json::Value;

/// `value` as a YAML document, preceded by `comments` (one `# ` line each).
pub fn to_yaml(value: &Value, comments: &[String]) -> String {
    let mut out = String::new();
    for c in comments {
        for line in c.lines() {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
    }
    match value {
        Value::Object(m) if !m.is_empty() => emit_map(m, 0, &mut out),
        Value::Array(a) if !a.is_empty() => emit_seq(a, 0, &mut out),
        v => {
            out.push_str(&scalar(v));
            out.push('\n');
        }
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(m) if m.is_empty() => "{}".into(),
        _ => unreachable!("collections are emitted in block style"),
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Keys that need no quotes: identifiers YAML cannot read as anything but a string.
fn key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'))
        && k.starts_with(|c: char| c.is_ascii_alphabetic())
        && !matches!(
            k.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        k.to_string()
    } else {
        quote(k)
    }
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    }
}

fn indent(n: usize, out: &mut String) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn emit_map(m: &serde_json::Map<String, Value>, ind: usize, out: &mut String) {
    for (k, v) in m {
        indent(ind, out);
        out.push_str(&key(k));
        out.push(':');
        match v {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                emit_map(inner, ind + 2, out);
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                emit_seq(a, ind + 2, out);
            }
            v => {
                out.push(' ');
                out.push_str(&scalar(v));
                out.push('\n');
            }
        }
    }
}

fn emit_seq(a: &[Value], ind: usize, out: &mut String) {
    for v in a {
        indent(ind, out);
        out.push('-');
        match v {
            Value::Object(m) if !m.is_empty() => {
                // The first key shares the dash's line; the others align with it.
                let mut first = String::new();
                emit_map(m, ind + 2, &mut first);
                out.push(' ');
                out.push_str(&first[ind + 2..]);
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                emit_seq(inner, ind + 2, out);
            }
            v if !is_block(v) => {
                out.push(' ');
                out.push_str(&scalar(v));
                out.push('\n');
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn block_style_with_quoted_strings() {
        let v = json!({
            "http": {
                "routers": {
                    "r1": {"entryPoints": ["ep-0"], "rule": "Host(`a`) && PathRegexp(`^/a\\.b$`)", "priority": 99990, "tls": {}},
                },
                "services": {"s": {"loadBalancer": {"servers": [{"url": "http://127.0.0.1:1"}, {"url": "http://x"}], "passHostHeader": true}}}
            },
            "empty": [],
            "true": "yes",
            "tab": "a\tb\"c"
        });
        let y = to_yaml(&v, &["warning: one".into()]);
        let want = r#"# warning: one
empty: []
http:
  routers:
    r1:
      entryPoints:
        - "ep-0"
      priority: 99990
      rule: "Host(`a`) && PathRegexp(`^/a\\.b$`)"
      tls: {}
  services:
    s:
      loadBalancer:
        passHostHeader: true
        servers:
          - url: "http://127.0.0.1:1"
          - url: "http://x"
tab: "a\tb\"c"
"true": "yes"
"#;
        assert_eq!(y, want);
    }

    #[test]
    fn nested_maps_in_sequences() {
        let v = json!({"a": [{"b": {"c": 1}, "d": [1, 2]}, [3]]});
        assert_eq!(
            to_yaml(&v, &[]),
            "a:\n  - b:\n      c: 1\n    d:\n      - 1\n      - 2\n  -\n    - 3\n"
        );
    }
}
