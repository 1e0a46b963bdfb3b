//! Health-check settings: AWS's per-protocol defaults, matcher syntax and ranges, and the
//! validation of a create or modify call's health-check fields.

use crate::elbv2::{ApiError, ApiResult};
use api_models as m;

/// The unmodeled query-protocol code AWS uses for a malformed matcher.
const INVALID_PARAMETER_VALUE: &str = "InvalidParameterValue";

/// A target group's health-check settings before the caller's overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct HcDefaults {
    pub enabled: bool,
    pub protocol: Option<&'static str>,
    pub port: Option<&'static str>,
    pub path: Option<&'static str>,
    pub interval: i32,
    pub timeout: i32,
    pub healthy: i32,
    pub unhealthy: i32,
    pub matcher: Option<m::Matcher>,
}

pub(super) fn http_matcher(codes: &str) -> Option<m::Matcher> {
    Some(m::Matcher {
        http_code: Some(codes.into()),
        grpc_code: None,
    })
}

pub(super) fn is_http(p: &str) -> bool {
    p == "HTTP" || p == "HTTPS"
}

/// AWS's health-check defaults for a target group of `protocol` ("" for lambda) and
/// `target_type`, health-checked with `hc_protocol` (None = that protocol's default) and
/// protocol version `version` ("" when not HTTP/HTTPS).
// Long: one literal per row of AWS's defaults table (lambda, HTTP/HTTPS, GENEVE, the rest).
pub fn hc_defaults(
    protocol: &str,
    target_type: &str,
    hc_protocol: Option<&str>,
    version: &str,
) -> HcDefaults {
    if target_type == "lambda" {
        return HcDefaults {
            enabled: false,
            protocol: None,
            port: None,
            path: Some("/"),
            interval: 35,
            timeout: 30,
            // The model's CreateTargetGroup docs: "If the target type is lambda, the default is 5."
            healthy: 5,
            unhealthy: 5,
            matcher: http_matcher("200"),
        };
    }
    if is_http(protocol) {
        let hc = match hc_protocol {
            Some("HTTPS") => "HTTPS",
            Some("HTTP") => "HTTP",
            _ if protocol == "HTTPS" => "HTTPS",
            _ => "HTTP",
        };
        let grpc = version == "GRPC";
        return HcDefaults {
            enabled: true,
            protocol: Some(hc),
            port: Some("traffic-port"),
            path: Some(if grpc { "/AWS.ALB/healthcheck" } else { "/" }),
            interval: 30,
            timeout: 5,
            healthy: 5,
            unhealthy: 2,
            matcher: if grpc {
                Some(m::Matcher {
                    http_code: None,
                    grpc_code: Some("12".into()),
                })
            } else {
                http_matcher("200")
            },
        };
    }
    let default_hc = if target_type == "alb" { "HTTP" } else { "TCP" };
    let hc = match hc_protocol {
        Some("HTTP") => "HTTP",
        Some("HTTPS") => "HTTPS",
        Some("TCP") => "TCP",
        _ => default_hc,
    };
    let http_hc = hc != "TCP";
    if protocol == "GENEVE" {
        return HcDefaults {
            enabled: true,
            protocol: Some(hc),
            port: Some("80"),
            path: http_hc.then_some("/"),
            interval: 10,
            timeout: 5,
            healthy: 5,
            unhealthy: 2,
            matcher: if http_hc {
                http_matcher("200-399")
            } else {
                None
            },
        };
    }
    HcDefaults {
        enabled: true,
        protocol: Some(hc),
        port: Some("traffic-port"),
        path: http_hc.then_some("/"),
        interval: 30,
        timeout: if hc == "HTTP" { 6 } else { 10 },
        healthy: 5,
        unhealthy: 2,
        matcher: if http_hc {
            http_matcher("200-399")
        } else {
            None
        },
    }
}

/// Parses a matcher code list: `200`, `200-399`, `200,201` or a mix. None if malformed.
pub fn parse_codes(s: &str) -> Option<Vec<(u16, u16)>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let num = |x: &str| -> Option<u16> {
            if x.is_empty() || x.len() > 3 || !x.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            x.parse().ok()
        };
        let (a, b) = (num(a)?, num(b)?);
        if a > b {
            return None;
        }
        out.push((a, b));
    }
    Some(out)
}

/// Whether `code` is in a parsed code list.
pub fn codes_match(codes: &[(u16, u16)], code: u16) -> bool {
    codes.iter().any(|&(a, b)| a <= code && code <= b)
}

/// The allowed HTTP matcher range for a target group protocol.
pub(super) fn http_code_range(protocol: &str, target_type: &str) -> (u16, u16) {
    if target_type == "lambda" || is_http(protocol) {
        (200, 499)
    } else if protocol == "GENEVE" {
        (200, 399)
    } else {
        (200, 599)
    }
}

/// Validates a matcher for a target group; returns it normalised (empty codes dropped).
pub fn check_matcher(
    mt: &m::Matcher,
    protocol: &str,
    target_type: &str,
    version: &str,
    hc_protocol: Option<&str>,
) -> ApiResult<m::Matcher> {
    let http = mt.http_code.clone().filter(|s| !s.is_empty());
    let grpc = mt.grpc_code.clone().filter(|s| !s.is_empty());
    if hc_protocol == Some("TCP") {
        return Err(ApiError::validation("Custom health check matchers are not supported for health checks with the TCP protocol"));
    }
    let bad = || ApiError::Protocol {
        code: INVALID_PARAMETER_VALUE,
        status: 400,
        message: "HttpCode must be like 200 | 200-399 | 200,201 ...".into(),
    };
    if version == "GRPC" {
        if http.is_some() {
            return Err(ApiError::validation("An HTTP code matcher cannot be used for target groups with the GRPC protocol version"));
        }
        let g = grpc.ok_or_else(|| ApiError::validation("A gRPC code matcher must be specified for target groups with the GRPC protocol version"))?;
        let codes = parse_codes(&g).ok_or_else(|| ApiError::Protocol {
            code: INVALID_PARAMETER_VALUE,
            status: 400,
            message: "GrpcCode must be like 0 | 0-99 | 0,1 ...".into(),
        })?;
        if codes.iter().any(|&(_, b)| b > 99) {
            return Err(ApiError::validation(format!(
                "Health check matcher gRPC code '{g}' must be between '0' and '99'"
            )));
        }
        return Ok(m::Matcher {
            http_code: None,
            grpc_code: Some(g),
        });
    }
    if grpc.is_some() {
        return Err(ApiError::validation(
            "A gRPC code matcher can only be used for target groups with the GRPC protocol version",
        ));
    }
    let h = http.ok_or_else(bad)?;
    let codes = parse_codes(&h).ok_or_else(bad)?;
    let (lo, hi) = http_code_range(protocol, target_type);
    if codes.iter().any(|&(a, b)| a < lo || b > hi) {
        return Err(ApiError::validation(format!(
            "Health check matcher HTTP code '{h}' must be between '{lo}' and '{hi}'"
        )));
    }
    Ok(m::Matcher {
        http_code: Some(h),
        grpc_code: None,
    })
}

/// The health-check fields a create or modify call may set.
#[derive(Debug, Clone, Default)]
pub(super) struct HcReq {
    pub(super) enabled: Option<bool>,
    pub(super) interval: Option<i32>,
    pub(super) path: Option<String>,
    pub(super) port: Option<String>,
    pub(super) protocol: Option<String>,
    pub(super) timeout: Option<i32>,
    pub(super) healthy: Option<i32>,
    pub(super) unhealthy: Option<i32>,
    pub(super) matcher: Option<m::Matcher>,
}

impl From<&m::CreateTargetGroupInput> for HcReq {
    fn from(i: &m::CreateTargetGroupInput) -> Self {
        HcReq {
            enabled: i.health_check_enabled,
            interval: i.health_check_interval_seconds,
            path: i.health_check_path.clone(),
            port: i.health_check_port.clone(),
            protocol: i.health_check_protocol.clone(),
            timeout: i.health_check_timeout_seconds,
            healthy: i.healthy_threshold_count,
            unhealthy: i.unhealthy_threshold_count,
            matcher: i.matcher.clone(),
        }
    }
}

impl From<m::ModifyTargetGroupInput> for HcReq {
    fn from(i: m::ModifyTargetGroupInput) -> Self {
        HcReq {
            enabled: i.health_check_enabled,
            interval: i.health_check_interval_seconds,
            path: i.health_check_path,
            port: i.health_check_port,
            protocol: i.health_check_protocol,
            timeout: i.health_check_timeout_seconds,
            healthy: i.healthy_threshold_count,
            unhealthy: i.unhealthy_threshold_count,
            matcher: i.matcher,
        }
    }
}

pub(super) fn check_hc_protocol(protocol: &str, target_type: &str, hc: &str) -> ApiResult<()> {
    if !matches!(hc, "HTTP" | "HTTPS" | "TCP") {
        return Err(ApiError::validation(format!(
            "Health check protocol '{hc}' is not supported"
        )));
    }
    if hc == "TCP" && (is_http(protocol) || target_type == "lambda") {
        let what = if target_type == "lambda" {
            "target type 'lambda'".to_string()
        } else {
            format!("the {protocol} protocol")
        };
        return Err(ApiError::validation(format!(
            "Health check protocol '{hc}' is not supported for target groups with {what}"
        )));
    }
    Ok(())
}

pub(super) fn check_hc_port(port: &str) -> ApiResult<()> {
    if port == "traffic-port" || port.parse::<u16>().is_ok_and(|p| p >= 1) {
        return Ok(());
    }
    Err(ApiError::validation(format!(
        "Health check port '{port}' must be 'traffic-port' or a port number between 1 and 65535"
    )))
}

/// Applies requested health-check changes to `tg` (whose protocol, target type and version
/// are set), validating the result as AWS does.
pub(super) fn apply_hc(tg: &mut m::TargetGroup, r: &HcReq) -> ApiResult<()> {
    let protocol = tg.protocol.clone().unwrap_or_default();
    let tt = tg.target_type.clone().unwrap_or_default();
    let version = tg.protocol_version.clone().unwrap_or_default();
    if let Some(hp) = r.protocol.as_deref() {
        check_hc_protocol(&protocol, &tt, hp)?;
        if tg.health_check_protocol.as_deref() != Some(hp) {
            switch_hc_protocol(tg, hp, &protocol, &tt, &version);
        }
    }
    let hc_tcp = tg.health_check_protocol.as_deref() == Some("TCP");
    if let Some(e) = r.enabled {
        if !e && tt != "lambda" {
            return Err(ApiError::validation(format!(
                "Health check enabled must be true for target groups with target type '{tt}'"
            )));
        }
        tg.health_check_enabled = Some(e);
    }
    if let Some(v) = r.interval {
        tg.health_check_interval_seconds = Some(v);
    }
    if let Some(v) = r.timeout {
        tg.health_check_timeout_seconds = Some(v);
    }
    if let Some(v) = r.healthy {
        tg.healthy_threshold_count = Some(v);
    }
    if let Some(v) = r.unhealthy {
        tg.unhealthy_threshold_count = Some(v);
    }
    if let Some(p) = r.port.as_deref() {
        check_hc_port(p)?;
        tg.health_check_port = Some(p.to_string());
    }
    if let Some(p) = r.path.as_deref() {
        if hc_tcp {
            return Err(ApiError::validation(
                "Health check path is not supported for health checks with the TCP protocol",
            ));
        }
        if !p.starts_with('/') {
            return Err(ApiError::validation(
                "Health check path must begin with a '/' character",
            ));
        }
        tg.health_check_path = Some(p.to_string());
    }
    if let Some(mt) = &r.matcher {
        let empty = mt.http_code.as_deref().unwrap_or("").is_empty()
            && mt.grpc_code.as_deref().unwrap_or("").is_empty();
        if !empty {
            tg.matcher = Some(check_matcher(
                mt,
                &protocol,
                &tt,
                &version,
                tg.health_check_protocol.as_deref(),
            )?);
        }
    }
    check_timeout_fits_interval(tg, &protocol, r)
}

/// A new health-check protocol: TCP drops the path and matcher; HTTP(S) fills in the
/// protocol's defaults for those not set.
fn switch_hc_protocol(tg: &mut m::TargetGroup, hp: &str, protocol: &str, tt: &str, version: &str) {
    let d = hc_defaults(protocol, tt, Some(hp), version);
    if hp == "TCP" {
        tg.health_check_path = None;
        tg.matcher = None;
    } else {
        if tg.health_check_path.is_none() {
            tg.health_check_path = d.path.map(String::from);
        }
        if tg.matcher.is_none() {
            tg.matcher = d.matcher;
        }
    }
    tg.health_check_protocol = Some(hp.to_string());
}

/// The timeout must be below the interval (HTTP/HTTPS) or at most the interval (others); an
/// HTTP(S) call that sets both to the same value is refused too.
fn check_timeout_fits_interval(tg: &m::TargetGroup, protocol: &str, r: &HcReq) -> ApiResult<()> {
    let (timeout, interval) = (
        tg.health_check_timeout_seconds.unwrap_or(0),
        tg.health_check_interval_seconds.unwrap_or(0),
    );
    if timeout > interval {
        return Err(ApiError::validation(if is_http(protocol) {
            format!(
                "Health check timeout '{timeout}' must be smaller than the interval '{interval}'"
            )
        } else {
            format!("Health check timeout '{timeout}' must be smaller than or equal to the interval '{interval}'")
        }));
    }
    if timeout == interval && is_http(protocol) && r.timeout.is_some() && r.interval.is_some() {
        return Err(ApiError::validation(format!(
            "Health check timeout '{timeout}' must be smaller than the interval '{interval}'"
        )));
    }
    Ok(())
}
