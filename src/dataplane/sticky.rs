//! Stickiness cookies as ALB sets them: `AWSALBTG`/`AWSALBTGCORS` pin a client to a target group
//! of a weighted forward (TargetGroupStickinessConfig), `AWSALB`/`AWSALBCORS` pin it to a target
//! (target group attribute `stickiness.type=lb_cookie`), `AWSALBAPP-0` pins it to a target
//! while the target's own cookie does (`stickiness.type=app_cookie`). Values are opaque to
//! clients; ours are stable hashes of the target group ARN (and target address), so they
//! survive routing rebuilds. Request cookies reach targets unchanged, as on ALB.

use hyper::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};

/// Target-group stickiness cookie.
pub const TG_COOKIE: &str = "AWSALBTG";
/// Target stickiness cookie (lb_cookie).
pub const TARGET_COOKIE: &str = "AWSALB";

/// Application-based stickiness cookie (ALB splits a long value over `-0` … `-3`; ours fits
/// in `-0` and the others are always cleared).
pub const APP_COOKIES: [&str; 4] = ["AWSALBAPP-0", "AWSALBAPP-1", "AWSALBAPP-2", "AWSALBAPP-3"];
/// The value ALB gives `AWSALBAPP-n` cookies it does not use.
pub const REMOVE: &str = "_remove_";
/// Lifetime of the `AWSALBAPP-n` cookies themselves (ALB: 7 days, not configurable); the
/// stickiness duration is carried inside the value.
pub const APP_COOKIE_LIFETIME_S: i64 = 7 * 86_400;

/// Stickiness the client asked for: the `AWSALBTG`, `AWSALB` and `AWSALBAPP-0` cookie values.
#[derive(Default)]
pub struct Hints {
    pub tg: Option<String>,
    pub target: Option<String>,
    pub app: Option<String>,
}

impl Hints {
    /// The stickiness cookies of a request; the target-group one only counts where the rule
    /// has target-group stickiness.
    pub fn from_request(headers: &HeaderMap, tg_sticky: bool) -> Hints {
        Hints {
            tg: tg_sticky.then(|| get(headers, TG_COOKIE)).flatten(),
            target: get(headers, TARGET_COOKIE),
            app: get_exact(headers, APP_COOKIES[0]).filter(|v| v != REMOVE),
        }
    }
}

/// The `AWSALBAPP-0` value: the target's token and when stickiness ends (Unix seconds).
pub fn app_value(target_token: &str, until_s: i64) -> String {
    format!("{target_token}.{until_s:x}")
}

/// The target token of an `AWSALBAPP-0` value still valid at `now_s`.
pub fn app_target(value: &str, now_s: i64) -> Option<&str> {
    let (token, until) = value.split_once('.')?;
    let until = i64::from_str_radix(until, 16).ok()?;
    (until > now_s).then_some(token)
}

/// Whether the request carries cookie `name`.
pub fn has_cookie(headers: &HeaderMap, name: &str) -> bool {
    get_exact(headers, name).is_some()
}

/// Whether a response sets cookie `name` (the target's application cookie).
pub fn response_sets(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .any(|(k, _)| k.trim() == name)
}

/// Sets `AWSALBAPP-0` to `value` (or clears it with `_remove_`) and clears `-1` … `-3`.
pub fn set_app(headers: &mut HeaderMap, value: Option<&str>, now_ms: i64) {
    let expires = http_date(now_ms / 1000 + APP_COOKIE_LIFETIME_S);
    for (i, name) in APP_COOKIES.iter().enumerate() {
        let v = if i == 0 {
            value.unwrap_or(REMOVE)
        } else {
            REMOVE
        };
        if let Ok(h) = HeaderValue::from_str(&format!("{name}={v}; Expires={expires}; Path=/")) {
            headers.append(SET_COOKIE, h);
        }
    }
}

/// The value of the first request cookie whose name `is_name` accepts.
fn find(headers: &HeaderMap, is_name: impl Fn(&str) -> bool) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| is_name(k))
        .map(|(_, v)| v.to_string())
}

/// The value of exactly cookie `name` in the request.
fn get_exact(headers: &HeaderMap, name: &str) -> Option<String> {
    find(headers, |k| k == name)
}

/// A stable opaque token for a string (FNV-1a, 64 bits).
pub fn token(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The value of cookie `name` in the request (the plain one or its CORS twin).
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    find(headers, |k| {
        k.strip_prefix(name)
            .is_some_and(|r| r.is_empty() || r == "CORS")
    })
}

/// Adds `name` and `nameCORS` cookies valid for `duration_s` seconds from `now_ms`.
pub fn set(headers: &mut HeaderMap, name: &str, value: &str, duration_s: i64, now_ms: i64) {
    let expires = http_date(now_ms / 1000 + duration_s);
    for c in [
        format!("{name}={value}; Expires={expires}; Path=/"),
        format!("{name}CORS={value}; Expires={expires}; Path=/; SameSite=None; Secure"),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            headers.append(SET_COOKIE, v);
        }
    }
}

/// `Thu, 01 Jan 1970 00:00:00 GMT` for Unix seconds `secs` (times before 1970 clamp to it).
fn http_date(secs: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
    httpdate::fmt_http_date(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_round_trip_and_dates_are_http_dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_458_941_388), "Fri, 25 Mar 2016 21:29:48 GMT");
        let mut h = HeaderMap::new();
        set(&mut h, TG_COOKIE, &token("arn:tg"), 60, 0);
        assert_eq!(h.get_all(SET_COOKIE).iter().count(), 2);
        let mut req = HeaderMap::new();
        req.insert(
            COOKIE,
            HeaderValue::from_str(&format!("a=b; AWSALBTGCORS={}", token("arn:tg"))).unwrap(),
        );
        assert_eq!(get(&req, TG_COOKIE), Some(token("arn:tg")));
        assert_eq!(get(&req, TARGET_COOKIE), None);
        assert_ne!(token("a"), token("b"));
    }

    #[test]
    fn app_cookies() {
        let v = app_value(&token("t"), 100);
        assert_eq!(app_target(&v, 99), Some(token("t").as_str()));
        assert_eq!(app_target(&v, 100), None); // expired
        assert_eq!(app_target("garbage", 0), None);
        let mut h = HeaderMap::new();
        set_app(&mut h, Some(&v), 0);
        let set: Vec<_> = h
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        assert_eq!(set.len(), 4);
        assert!(
            set[0].starts_with(&format!("AWSALBAPP-0={v}; Expires=Thu, 08 Jan 1970")),
            "{set:?}"
        );
        assert!(set[3].starts_with("AWSALBAPP-3=_remove_;"), "{set:?}");
        let mut resp = HeaderMap::new();
        resp.append(SET_COOKIE, HeaderValue::from_static("other=1"));
        resp.append(
            SET_COOKIE,
            HeaderValue::from_static("sid=abc; Path=/; HttpOnly"),
        );
        assert!(response_sets(&resp, "sid") && !response_sets(&resp, "si"));
        let mut req = HeaderMap::new();
        req.insert(
            COOKIE,
            HeaderValue::from_static("sid=abc; AWSALBAPP-0=_remove_"),
        );
        let hints = Hints::from_request(&req, false);
        assert_eq!(hints.app, None);
        assert!(has_cookie(&req, "sid") && !has_cookie(&req, "AWSALB"));
    }
}
