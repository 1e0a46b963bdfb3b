//! ALB rule conditions, compiled once per snapshot and matched per request.
//!
//! Semantics (AWS "Listener rules for your Application Load Balancer"):
//! - host-header: case-insensitive, `*` (any run) and `?` (one char) wildcards, port ignored;
//! - path-pattern: case-sensitive wildcards against the path (no query string);
//! - http-header: header name case-insensitive, values case-insensitive wildcards;
//! - http-request-method: exact, case-sensitive;
//! - query-string: key/value pairs (key optional), case-insensitive wildcards, percent-decoded;
//! - source-ip: CIDRs against the client address;
//! values are ORed within a condition, conditions are ANDed; RegexValues are regexes.

use regex::{Regex, RegexBuilder};
use std::net::IpAddr;
use translators::routing;

/// What a rule looks at in a request.
pub struct RequestView<'a> {
    pub host: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub method: &'a str,
    /// Request headers (names are lowercase in `http`).
    pub headers: &'a hyper::HeaderMap,
    pub client_ip: IpAddr,
}

/// One compiled value matcher.
#[derive(Debug, Clone)]
pub struct Pattern(Regex);

impl Pattern {
    /// An ALB wildcard pattern (`*`, `?`), anchored.
    pub fn wildcard(p: &str, case_insensitive: bool) -> Pattern {
        let mut re = String::from("^");
        for c in p.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push('$');
        Pattern(
            RegexBuilder::new(&re)
                .case_insensitive(case_insensitive)
                .dot_matches_new_line(true)
                .build()
                .expect("escaped pattern compiles"),
        )
    }
    /// A user regex (RegexValues); None if it does not compile.
    pub fn regex(p: &str) -> Option<Pattern> {
        Regex::new(p).ok().map(Pattern)
    }
    /// Whether `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        self.0.is_match(s)
    }
}

/// A CIDR block.
#[derive(Debug, Clone, Copy)]
pub struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` or `x::/n` (a bare address is a /32 or /128).
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, bits) = match s.split_once('/') {
            Some((a, b)) => (a, Some(b.parse::<u8>().ok()?)),
            None => (s, None),
        };
        let net: IpAddr = addr.trim().parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        (bits <= max).then_some(Cidr { net, bits })
    }
    /// Whether `ip` is inside (IPv4-mapped IPv6 clients match IPv4 blocks).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.bits)
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.bits)
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Condition {
    Host(Vec<Pattern>),
    Path(Vec<Pattern>),
    Header { name: String, values: Vec<Pattern> },
    Method(Vec<String>),
    Query(Vec<(Option<Pattern>, Pattern)>),
    SourceIp(Vec<Cidr>),
}

fn patterns(values: &[String], regexes: &[String], ci: bool) -> Vec<Pattern> {
    let mut out: Vec<Pattern> = values.iter().map(|v| Pattern::wildcard(v, ci)).collect();
    out.extend(regexes.iter().filter_map(|r| Pattern::regex(r)));
    out
}

/// Compiles a typed condition of the routing model.
pub fn compile(c: &routing::Condition) -> Condition {
    use routing::Condition as C;
    match c {
        C::HostHeader { values, regexes } => Condition::Host(patterns(values, regexes, true)),
        C::PathPattern { values, regexes } => Condition::Path(patterns(values, regexes, false)),
        C::HttpHeader {
            name,
            values,
            regexes,
        } => Condition::Header {
            name: name.to_ascii_lowercase(),
            values: patterns(values, regexes, true),
        },
        C::Method(ms) => Condition::Method(ms.clone()),
        C::QueryString(pairs) => Condition::Query(
            pairs
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_deref().map(|k| Pattern::wildcard(k, true)),
                        Pattern::wildcard(v, true),
                    )
                })
                .collect(),
        ),
        C::SourceIp(cidrs) => {
            Condition::SourceIp(cidrs.iter().filter_map(|v| Cidr::parse(v)).collect())
        }
    }
}

/// Percent-decodes a query component (`+` is a space).
fn unescape(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

impl Condition {
    /// Whether the request satisfies this condition (any value matches).
    pub fn matches(&self, r: &RequestView<'_>) -> bool {
        match self {
            Condition::Host(ps) => {
                let host = strip_port(r.host);
                ps.iter().any(|p| p.is_match(host))
            }
            Condition::Path(ps) => ps.iter().any(|p| p.is_match(r.path)),
            Condition::Header { name, values } => r
                .headers
                .get_all(name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| values.iter().any(|p| p.is_match(v))),
            Condition::Method(ms) => ms.iter().any(|m| m == r.method),
            Condition::Query(pairs) => {
                let q: Vec<(String, String)> = r
                    .query
                    .split('&')
                    .filter(|s| !s.is_empty())
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                        (unescape(k), unescape(v))
                    })
                    .collect();
                pairs.iter().any(|(kp, vp)| {
                    q.iter()
                        .any(|(k, v)| kp.as_ref().is_none_or(|kp| kp.is_match(k)) && vp.is_match(v))
                })
            }
            Condition::SourceIp(cidrs) => cidrs.iter().any(|c| c.contains(r.client_ip)),
        }
    }
}

/// `host:port` → `host` (IPv6 literals keep their brackets).
pub fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map(|(h, _)| &host[..h.len() + 1])
            .unwrap_or(host);
    }
    host.rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map(|(h, _)| h)
        .unwrap_or(host)
}

/// All conditions of a rule hold.
pub fn all_match(conds: &[Condition], r: &RequestView<'_>) -> bool {
    conds.iter().all(|c| c.matches(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_models as m;

    fn req<'a>(
        host: &'a str,
        path: &'a str,
        query: &'a str,
        headers: &'a [(String, String)],
    ) -> RequestView<'a> {
        // Tests only: a leaked map keeps the helper's signature simple.
        let mut map = hyper::HeaderMap::new();
        for (n, v) in headers {
            map.append(
                hyper::header::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                hyper::header::HeaderValue::from_str(v).unwrap(),
            );
        }
        let headers: &'a hyper::HeaderMap = Box::leak(Box::new(map));
        RequestView {
            host,
            path,
            query,
            method: "GET",
            headers,
            client_ip: "10.1.2.3".parse().unwrap(),
        }
    }

    fn cond(field: &str, f: impl FnOnce(&mut m::RuleCondition)) -> Condition {
        let mut c = m::RuleCondition {
            field: Some(field.into()),
            ..Default::default()
        };
        f(&mut c);
        compile(&routing::Condition::parse(&c).unwrap())
    }

    #[test]
    fn host_is_case_insensitive_with_wildcards_and_ignores_port() {
        let c = cond("host-header", |c| {
            c.host_header_config = Some(m::HostHeaderConditionConfig {
                values: Some(vec!["*.Example.com".into()]),
                regex_values: None,
            })
        });
        assert!(c.matches(&req("api.example.COM:8080", "/", "", &[])));
        assert!(!c.matches(&req("example.com", "/", "", &[])));
        let q = cond("host-header", |c| c.values = Some(vec!["a?.x.io".into()]));
        assert!(q.matches(&req("ab.x.io", "/", "", &[])));
        assert!(!q.matches(&req("abc.x.io", "/", "", &[])));
    }

    #[test]
    fn path_is_case_sensitive() {
        let c = cond("path-pattern", |c| {
            c.path_pattern_config = Some(m::PathPatternConditionConfig {
                values: Some(vec!["/img/*".into()]),
                regex_values: None,
            })
        });
        assert!(c.matches(&req("h", "/img/a.png", "", &[])));
        assert!(!c.matches(&req("h", "/IMG/a.png", "", &[])));
    }

    #[test]
    fn headers_query_method_and_source_ip() {
        let hs = vec![("user-agent".to_string(), "Mozilla/5.0 (iPhone)".to_string())];
        let h = cond("http-header", |c| {
            c.http_header_config = Some(m::HttpHeaderConditionConfig {
                http_header_name: Some("User-Agent".into()),
                values: Some(vec!["*iphone*".into()]),
                regex_values: None,
            })
        });
        assert!(h.matches(&req("h", "/", "", &hs)));
        let q = cond("query-string", |c| {
            c.query_string_config = Some(m::QueryStringConditionConfig {
                values: Some(vec![m::QueryStringKeyValuePair {
                    key: Some("version".into()),
                    value: Some("v2*".into()),
                }]),
            })
        });
        assert!(q.matches(&req("h", "/", "a=1&Version=V2.1", &[])));
        assert!(!q.matches(&req("h", "/", "version=v1", &[])));
        let any_key = cond("query-string", |c| {
            c.query_string_config = Some(m::QueryStringConditionConfig {
                values: Some(vec![m::QueryStringKeyValuePair {
                    key: None,
                    value: Some("hello world".into()),
                }]),
            })
        });
        assert!(any_key.matches(&req("h", "/", "x=hello+world", &[])));
        let mth = cond("http-request-method", |c| {
            c.http_request_method_config = Some(m::HttpRequestMethodConditionConfig {
                values: Some(vec!["GET".into()]),
            })
        });
        assert!(mth.matches(&req("h", "/", "", &[])));
        let ip = cond("source-ip", |c| {
            c.source_ip_config = Some(m::SourceIpConditionConfig {
                values: Some(vec!["10.0.0.0/8".into()]),
                ip_address_type: None,
            })
        });
        assert!(ip.matches(&req("h", "/", "", &[])));
        assert!(!Cidr::parse("192.168.0.0/16")
            .unwrap()
            .contains("10.1.2.3".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/8")
            .unwrap()
            .contains("::ffff:10.9.9.9".parse().unwrap()));
    }

    #[test]
    fn strips_ports() {
        assert_eq!(strip_port("a.b:80"), "a.b");
        assert_eq!(strip_port("[::1]:80"), "[::1]");
        assert_eq!(strip_port("a.b"), "a.b");
    }
}
