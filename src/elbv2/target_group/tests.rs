use super::attribute_checks::*;
use super::health_check::*;
use super::*;

fn hm(s: &str) -> Option<m::Matcher> {
    http_matcher(s)
}

#[test]
fn defaults_follow_protocol_and_target_type() {
    let h = hc_defaults("HTTP", "instance", None, "HTTP1");
    assert_eq!(
        (
            h.protocol,
            h.path,
            h.interval,
            h.timeout,
            h.healthy,
            h.unhealthy
        ),
        (Some("HTTP"), Some("/"), 30, 5, 5, 2)
    );
    assert_eq!(h.matcher, hm("200"));
    assert_eq!(h.port, Some("traffic-port"));
    assert_eq!(
        hc_defaults("HTTPS", "ip", None, "HTTP1").protocol,
        Some("HTTPS")
    );
    let g = hc_defaults("HTTP", "ip", None, "GRPC");
    assert_eq!(g.path, Some("/AWS.ALB/healthcheck"));
    assert_eq!(g.matcher.unwrap().grpc_code.as_deref(), Some("12"));
    for p in ["TCP", "TLS", "UDP", "TCP_UDP"] {
        let t = hc_defaults(p, "instance", None, "");
        assert_eq!(
            (
                t.protocol,
                t.path,
                t.interval,
                t.timeout,
                t.healthy,
                t.unhealthy
            ),
            (Some("TCP"), None, 30, 10, 5, 2)
        );
        assert_eq!(t.matcher, None);
    }
    let n = hc_defaults("TCP", "ip", Some("HTTP"), "");
    assert_eq!((n.path, n.timeout), (Some("/"), 6));
    assert_eq!(n.matcher, hm("200-399"));
    let gw = hc_defaults("GENEVE", "ip", None, "");
    assert_eq!(
        (gw.protocol, gw.port, gw.interval, gw.timeout),
        (Some("TCP"), Some("80"), 10, 5)
    );
    let l = hc_defaults("", "lambda", None, "");
    assert_eq!(
        (
            l.enabled,
            l.protocol,
            l.interval,
            l.timeout,
            l.healthy,
            l.unhealthy,
            l.path
        ),
        (false, None, 35, 30, 5, 5, Some("/"))
    );
    let a = hc_defaults("TCP", "alb", None, "");
    assert_eq!(
        (a.protocol, a.path, a.timeout),
        (Some("HTTP"), Some("/"), 6)
    );
    assert_eq!(a.matcher, hm("200-399"));
}

#[test]
fn matcher_syntax_and_ranges() {
    assert_eq!(parse_codes("200"), Some(vec![(200, 200)]));
    assert_eq!(parse_codes("200-399"), Some(vec![(200, 399)]));
    assert_eq!(
        parse_codes("200,201,300-302"),
        Some(vec![(200, 200), (201, 201), (300, 302)])
    );
    for bad in ["", "abc", "200-", "-200", "300-200", "200,,201", "2000"] {
        assert_eq!(parse_codes(bad), None, "{bad}");
    }
    let c = parse_codes("200,300-302").unwrap();
    assert!(codes_match(&c, 301) && !codes_match(&c, 303) && !codes_match(&c, 201));
    let mt = |s: &str| m::Matcher {
        http_code: Some(s.into()),
        grpc_code: None,
    };
    assert!(check_matcher(&mt("200-499"), "HTTP", "ip", "HTTP1", Some("HTTP")).is_ok());
    assert!(check_matcher(&mt("200-500"), "HTTP", "ip", "HTTP1", Some("HTTP")).is_err());
    assert!(check_matcher(&mt("200-599"), "TCP", "ip", "", Some("HTTP")).is_ok());
    assert!(check_matcher(&mt("200-599"), "GENEVE", "ip", "", Some("HTTP")).is_err());
    let e = check_matcher(&mt("2x"), "HTTP", "ip", "HTTP1", Some("HTTP")).unwrap_err();
    assert_eq!(e.code(), "InvalidParameterValue");
    assert!(check_matcher(&mt("200"), "TCP", "ip", "", Some("TCP")).is_err());
    let g = m::Matcher {
        http_code: None,
        grpc_code: Some("0-99".into()),
    };
    assert!(check_matcher(&g, "HTTP", "ip", "GRPC", Some("HTTP")).is_ok());
    assert!(check_matcher(&g, "HTTP", "ip", "HTTP1", Some("HTTP")).is_err());
}

#[test]
fn names_follow_aws_rules() {
    assert!(check_name("my-tg-1").is_ok());
    assert!(check_name(&"a".repeat(32)).is_ok());
    assert!(check_name(&"a".repeat(33))
        .unwrap_err()
        .message()
        .contains("cannot be longer than '32'"));
    assert!(check_name("my_tg")
        .unwrap_err()
        .message()
        .contains("alphanumeric"));
    for n in ["-name", "name-", "Na--me"] {
        assert!(
            check_name(n)
                .unwrap_err()
                .message()
                .starts_with("1 validation error detected"),
            "{n}"
        );
    }
}

fn tg(protocol: &str, tt: &str) -> m::TargetGroup {
    let d = hc_defaults(
        protocol,
        tt,
        None,
        if is_http(protocol) { "HTTP1" } else { "" },
    );
    m::TargetGroup {
        protocol: Some(protocol.into()),
        target_type: Some(tt.into()),
        protocol_version: is_http(protocol).then(|| "HTTP1".into()),
        health_check_protocol: d.protocol.map(String::from),
        health_check_path: d.path.map(String::from),
        health_check_interval_seconds: Some(d.interval),
        health_check_timeout_seconds: Some(d.timeout),
        matcher: d.matcher,
        ..Default::default()
    }
}

#[test]
fn timeout_must_fit_interval() {
    let mut t = tg("HTTP", "ip");
    let r = HcReq {
        interval: Some(10),
        timeout: Some(10),
        ..Default::default()
    };
    assert!(apply_hc(&mut t, &r)
        .unwrap_err()
        .message()
        .contains("must be smaller than the interval '10'"));
    let mut t = tg("TCP", "ip");
    assert!(apply_hc(&mut t, &r).is_ok());
    let r = HcReq {
        interval: Some(10),
        timeout: Some(11),
        ..Default::default()
    };
    assert!(apply_hc(&mut t, &r)
        .unwrap_err()
        .message()
        .contains("smaller than or equal to"));
}

#[test]
fn switching_health_check_protocol_fills_or_clears_http_fields() {
    let mut t = tg("TCP", "ip");
    apply_hc(
        &mut t,
        &HcReq {
            protocol: Some("HTTP".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(t.health_check_path.as_deref(), Some("/"));
    assert_eq!(t.matcher, hm("200-399"));
    apply_hc(
        &mut t,
        &HcReq {
            protocol: Some("TCP".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!((t.health_check_path, t.matcher), (None, None));
    let mut h = tg("HTTP", "ip");
    assert!(apply_hc(
        &mut h,
        &HcReq {
            protocol: Some("TCP".into()),
            ..Default::default()
        }
    )
    .is_err());
    assert!(apply_hc(
        &mut h,
        &HcReq {
            enabled: Some(false),
            ..Default::default()
        }
    )
    .is_err());
}

#[test]
fn stickiness_rules() {
    let cur = attributes::tg_defaults("HTTP", "instance");
    let ch = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    let http = tg("HTTP", "instance");
    let e =
        check_tg_attribute_changes(&http, &cur, &ch("stickiness.type", "app_cookie")).unwrap_err();
    assert_eq!(e.code(), "InvalidConfigurationRequest");
    let mut both = ch("stickiness.type", "app_cookie");
    both.push(("stickiness.app_cookie.cookie_name".into(), "sid".into()));
    assert!(check_tg_attribute_changes(&http, &cur, &both).is_ok());
    assert!(check_tg_attribute_changes(&http, &cur, &ch("stickiness.type", "source_ip")).is_err());
    assert!(check_tg_attribute_changes(
        &tg("TCP", "ip"),
        &cur,
        &ch("stickiness.type", "lb_cookie")
    )
    .is_err());
    assert!(check_tg_attribute_changes(
        &http,
        &cur,
        &ch("deregistration_delay.timeout_seconds", "3601")
    )
    .is_err());
    assert!(check_tg_attribute_changes(
        &http,
        &cur,
        &ch("deregistration_delay.timeout_seconds", "0")
    )
    .is_ok());
}
