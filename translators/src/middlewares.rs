//! Traefik middlewares both renderers share (file provider and CRDs): the `redirectRegex` for an
//! ALB redirect action and the middlewares for rule transforms. Each returns the middleware specs
//! and the notes (feature, message) the caller turns into warnings on the rule.

use crate::model::{Listener, Rule};
use api_models as m;
use serde_json::{json, Value};

/// ALB's redirect templates → a `redirectRegex` over Traefik's `scheme://host[:port]/path[?query]`:
/// `${1}` scheme, `${2}` host, `${3}` path without its leading slash, `${4}` `?query` (or
/// nothing), `${5}` the query alone.
pub const REDIRECT_REGEX: &str = r"^(https?)://([^/:]+)(?::[0-9]+)?/([^?]*)(\?(.*))?$";

/// A note about what a middleware cannot reproduce: (feature, message).
pub type Note = (&'static str, String);

/// The `redirectRegex` middleware spec for a redirect action on listener `l`.
pub fn redirect(cfg: &m::RedirectActionConfig, l: &Listener) -> (Value, Vec<Note>) {
    let mut notes = Vec::new();
    let proto = if matches!(l.protocol.as_str(), "HTTPS" | "TLS") {
        "https"
    } else {
        "http"
    };
    let port = l.port.to_string();
    let sub = |t: &str| {
        t.replace('$', "$$")
            .replace("#{protocol}", proto)
            .replace("#{host}", "${2}")
            .replace("#{port}", &port)
            .replace("#{path}", "${3}")
            .replace("#{query}", "${5}")
    };
    let scheme = sub(cfg.protocol.as_deref().unwrap_or("#{protocol}")).to_ascii_lowercase();
    let host = sub(cfg.host.as_deref().unwrap_or("#{host}"));
    let p = sub(cfg.port.as_deref().unwrap_or("#{port}"));
    let path = sub(cfg.path.as_deref().unwrap_or("/#{path}"));
    let query = cfg.query.as_deref().unwrap_or("#{query}");
    let default_port = (scheme == "http" && p == "80") || (scheme == "https" && p == "443");
    let mut rep = format!("{scheme}://{host}");
    if !default_port {
        rep.push(':');
        rep.push_str(&p);
    }
    rep.push_str(&path);
    if query == "#{query}" {
        rep.push_str("${4}");
    } else if !query.is_empty() {
        if query.contains("#{query}") {
            notes.push((
                "redirect.query",
                "a query template around #{query} keeps its literal part when the request has no query"
                    .into(),
            ));
        }
        rep.push('?');
        rep.push_str(&sub(query));
    }
    let permanent = cfg.status_code.as_deref() != Some("HTTP_302");
    notes.push((
        "redirect.status_code",
        if permanent {
            "Traefik answers 301 to GET only; other methods (HEAD too) get 308"
        } else {
            "Traefik answers 302 to GET only; other methods (HEAD too) get 307"
        }
        .into(),
    ));
    let spec = json!({"redirectRegex": {"regex": REDIRECT_REGEX, "replacement": rep, "permanent": permanent}});
    (spec, notes)
}

/// ALB rewrite replacements use `$1`; Go's need `${1}` (so `$1a` is not read as `$1a`).
pub fn go_replacement(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '$' && it.peek().is_some_and(char::is_ascii_digit) {
            let mut n = String::new();
            while let Some(d) = it.peek().copied().filter(char::is_ascii_digit) {
                n.push(d);
                it.next();
            }
            out.push_str(&format!("${{{n}}}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// The middlewares (name, spec) for a rule's transforms, in order; `id` names them.
pub fn transforms(r: &Rule, id: &str) -> (Vec<(String, Value)>, Vec<Note>) {
    let mut mws = Vec::new();
    let mut notes = Vec::new();
    for t in &r.transforms {
        match t.type_.as_deref() {
            Some("url-rewrite") => {
                let rewrites = t
                    .url_rewrite_config
                    .as_ref()
                    .and_then(|c| c.rewrites.clone())
                    .unwrap_or_default();
                for (i, rw) in rewrites.iter().enumerate() {
                    mws.push((
                        format!("rewrite-{id}-{i}"),
                        json!({"replacePathRegex": {
                            "regex": rw.regex.clone().unwrap_or_default(),
                            "replacement": go_replacement(rw.replace.as_deref().unwrap_or("")),
                        }}),
                    ));
                }
                notes.push((
                    "transform.url-rewrite",
                    "rendered as replacePathRegex: rewrites the path only (the query string is kept)"
                        .into(),
                ));
            }
            Some("host-header-rewrite") => {
                let rewrites = t
                    .host_header_rewrite_config
                    .as_ref()
                    .and_then(|c| c.rewrites.clone())
                    .unwrap_or_default();
                let constant = match rewrites.as_slice() {
                    [rw] if matches!(rw.regex.as_deref(), Some(".*" | "^.*$" | "^(.*)$"))
                        && !rw.replace.as_deref().unwrap_or("").contains('$') =>
                    {
                        rw.replace.clone()
                    }
                    _ => None,
                };
                match constant {
                    Some(host) => mws.push((
                        format!("host-{id}"),
                        json!({"headers": {"customRequestHeaders": {"Host": host}}}),
                    )),
                    None => notes.push((
                        "transform.host-header-rewrite",
                        "only a constant host (regex .*) is expressible (headers middleware); not rendered"
                            .into(),
                    )),
                }
            }
            other => notes.push((
                "transform",
                format!("transform {other:?} is not expressible; not rendered"),
            )),
        }
    }
    (mws, notes)
}

#[cfg(test)]
mod tests {
    use super::go_replacement;

    #[test]
    fn go_replacements_are_braced() {
        assert_eq!(go_replacement("/v2/$1a$$"), "/v2/${1}a$$");
        assert_eq!(go_replacement("$12"), "${12}");
    }
}
