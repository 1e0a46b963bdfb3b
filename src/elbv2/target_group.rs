//! Target groups: CreateTargetGroup, DescribeTargetGroups, ModifyTargetGroup, DeleteTargetGroup
//! and the target-group attribute calls. Health-check settings get AWS's per-protocol defaults
//! ([`hc_defaults`]) and AWS's validation; messages follow AWS (as moto reproduces them).

use super::attributes::{self, Owner};
use super::lookup::{actions_use_tg, select};
use super::{arn, page::page, tags, ApiError, ApiResult, Service};
use crate::state::TargetGroupRec;
use api_models as m;
use api_models::ModeledError as E;
use std::collections::BTreeMap;

/// The unmodeled query-protocol code AWS uses for a malformed matcher.
const INVALID_PARAMETER_VALUE: &str = "InvalidParameterValue";

const NAME_PATTERN: &str = "(?!.*--)(?!^-)(?!.*-$)^[A-Za-z0-9-]+$";

/// Checks a target group name with AWS's messages.
pub fn check_name(name: &str) -> ApiResult<()> {
    if name.chars().count() > 32 {
        return Err(ApiError::validation(format!(
            "Target group name '{name}' cannot be longer than '32' characters"
        )));
    }
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ApiError::validation(format!(
            "Target group name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )));
    }
    if name.contains("--") || name.starts_with('-') || name.ends_with('-') {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{name}' at 'targetGroup.targetGroupArn.targetGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: {NAME_PATTERN}"
        )));
    }
    Ok(())
}

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

fn http_matcher(codes: &str) -> Option<m::Matcher> {
    Some(m::Matcher {
        http_code: Some(codes.into()),
        grpc_code: None,
    })
}

fn is_http(p: &str) -> bool {
    p == "HTTP" || p == "HTTPS"
}

/// AWS's health-check defaults for a target group of `protocol` ("" for lambda) and
/// `target_type`, health-checked with `hc_protocol` (None = that protocol's default) and
/// protocol version `version` ("" when not HTTP/HTTPS).
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
fn http_code_range(protocol: &str, target_type: &str) -> (u16, u16) {
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
struct HcReq {
    enabled: Option<bool>,
    interval: Option<i32>,
    path: Option<String>,
    port: Option<String>,
    protocol: Option<String>,
    timeout: Option<i32>,
    healthy: Option<i32>,
    unhealthy: Option<i32>,
    matcher: Option<m::Matcher>,
}

fn check_hc_protocol(protocol: &str, target_type: &str, hc: &str) -> ApiResult<()> {
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

fn check_hc_port(port: &str) -> ApiResult<()> {
    if port == "traffic-port" || port.parse::<u16>().is_ok_and(|p| p >= 1) {
        return Ok(());
    }
    Err(ApiError::validation(format!(
        "Health check port '{port}' must be 'traffic-port' or a port number between 1 and 65535"
    )))
}

/// Applies requested health-check changes to `tg` (whose protocol, target type and version
/// are set), validating the result as AWS does.
fn apply_hc(tg: &mut m::TargetGroup, r: &HcReq) -> ApiResult<()> {
    let protocol = tg.protocol.clone().unwrap_or_default();
    let tt = tg.target_type.clone().unwrap_or_default();
    let version = tg.protocol_version.clone().unwrap_or_default();
    if let Some(hp) = r.protocol.as_deref() {
        check_hc_protocol(&protocol, &tt, hp)?;
        if tg.health_check_protocol.as_deref() != Some(hp) {
            let d = hc_defaults(&protocol, &tt, Some(hp), &version);
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
    let (timeout, interval) = (
        tg.health_check_timeout_seconds.unwrap_or(0),
        tg.health_check_interval_seconds.unwrap_or(0),
    );
    if timeout > interval {
        return Err(ApiError::validation(if is_http(&protocol) {
            format!(
                "Health check timeout '{timeout}' must be smaller than the interval '{interval}'"
            )
        } else {
            format!("Health check timeout '{timeout}' must be smaller than or equal to the interval '{interval}'")
        }));
    }
    if timeout == interval && is_http(&protocol) && r.timeout.is_some() && r.interval.is_some() {
        return Err(ApiError::validation(format!(
            "Health check timeout '{timeout}' must be smaller than the interval '{interval}'"
        )));
    }
    Ok(())
}

/// The settings that make two CreateTargetGroup calls "identical" (ARN and name aside).
fn settings_of(tg: &m::TargetGroup) -> m::TargetGroup {
    m::TargetGroup {
        target_group_arn: None,
        target_group_name: None,
        load_balancer_arns: None,
        ..tg.clone()
    }
}

fn tg_not_found_any() -> ApiError {
    ApiError::modeled(
        E::TargetGroupNotFound,
        "One or more target groups not found",
    )
}

/// Attributes as the API lists them.

/// Checks attribute changes for rules that span keys or protocols (AWS's messages), before
/// [`attributes::modify`] checks keys and value shapes.
fn check_tg_attribute_changes(
    tg: &m::TargetGroup,
    current: &BTreeMap<String, String>,
    changes: &[(String, String)],
) -> ApiResult<()> {
    let protocol = tg.protocol.clone().unwrap_or_default();
    let tt = tg.target_type.clone().unwrap_or_default();
    let get = |k: &str| {
        changes
            .iter()
            .rev()
            .find(|(kk, _)| kk == k)
            .map(|(_, v)| v.as_str())
    };
    if let Some(v) = get("deregistration_delay.timeout_seconds") {
        if tt == "lambda" {
            return Err(ApiError::modeled(
                E::InvalidConfigurationRequest,
                "A target group with target type 'lambda' does not support the attribute deregistration_delay.timeout_seconds",
            ));
        }
        if !v.parse::<i64>().is_ok_and(|n| (0..=3600).contains(&n)) {
            return Err(ApiError::validation(format!(
                "'deregistration_delay.timeout_seconds' value '{v}' must be between '0-3600' inclusive"
            )));
        }
    }
    let cookie_name = get("stickiness.app_cookie.cookie_name")
        .or_else(|| {
            current
                .get("stickiness.app_cookie.cookie_name")
                .map(String::as_str)
        })
        .unwrap_or("");
    if let Some(name) = get("stickiness.app_cookie.cookie_name") {
        if ["AWSALB", "AWSALBAPP", "AWSALBTG"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            return Err(ApiError::validation(format!(
                "Application cookie name '{name}' is reserved: names starting with AWSALB, AWSALBAPP or AWSALBTG cannot be used"
            )));
        }
    }
    if let Some(st) = get("stickiness.type") {
        if protocol == "GENEVE" {
            if get("stickiness.app_cookie.cookie_name").is_some() {
                return Err(ApiError::validation("Target group attribute key 'stickiness.app_cookie.cookie_name' is not recognized"));
            }
            if st != "source_ip_dest_ip_proto" && st != "source_ip_dest_ip" {
                return Err(ApiError::validation(format!(
                    "'{st}' must be one of [source_ip_dest_ip_proto, source_ip_dest_ip]"
                )));
            }
        }
        let icr = |msg: String| ApiError::modeled(E::InvalidConfigurationRequest, msg);
        match st {
            "source_ip" if is_http(&protocol) => {
                return Err(icr(format!("Stickiness type 'source_ip' is not supported for target groups with the {protocol} protocol")));
            }
            "source_ip" if protocol == "TLS" => {
                return Err(icr(
                    "You cannot enable stickiness on target groups with the TLS protocol".into(),
                ));
            }
            "lb_cookie"
                if matches!(
                    protocol.as_str(),
                    "TCP" | "TLS" | "UDP" | "TCP_UDP" | "QUIC" | "TCP_QUIC" | "GENEVE"
                ) =>
            {
                return Err(icr(format!("Stickiness type 'lb_cookie' is not supported for target groups with the {protocol} protocol")));
            }
            "app_cookie" => {
                if cookie_name.is_empty() {
                    return Err(icr("You must set an application cookie name to enable stickiness of type 'app_cookie'".into()));
                }
                if !is_http(&protocol) {
                    return Err(icr(format!("Stickiness type 'app_cookie' is not supported for target groups with the {protocol} protocol")));
                }
            }
            "source_ip_dest_ip" | "source_ip_dest_ip_proto" if protocol != "GENEVE" => {
                return Err(ApiError::validation(
                    "'Stickiness type' must be one of [app_cookie, lb_cookie, source_ip]",
                ));
            }
            _ => {}
        }
    }
    if get("stickiness.enabled") == Some("true") && protocol == "TLS" {
        return Err(ApiError::modeled(
            E::InvalidConfigurationRequest,
            "You cannot enable stickiness on target groups with the TLS protocol",
        ));
    }
    Ok(())
}

impl Service<'_> {
    /// A stored target group as the API shows it, with `LoadBalancerArns` computed live.
    pub fn tg_view(&self, tg: &m::TargetGroup) -> m::TargetGroup {
        let arn = tg.target_group_arn.clone().unwrap_or_default();
        m::TargetGroup {
            load_balancer_arns: Some(self.lbs_using_tg(&arn)),
            ..tg.clone()
        }
    }

    /// Whether any listener default action or rule action references the target group
    /// (whether or not its load balancer still exists).
    pub fn tg_referenced(&self, tg_arn: &str) -> bool {
        let s = self.scope();
        s.listeners.values().any(|l| {
            actions_use_tg(
                l.listener.default_actions.as_deref().unwrap_or_default(),
                tg_arn,
            )
        }) || s
            .rules
            .values()
            .any(|r| actions_use_tg(r.rule.actions.as_deref().unwrap_or_default(), tg_arn))
    }
}

impl m::TargetGroups for Service<'_> {
    /// CreateTargetGroup.
    fn create_target_group(
        &mut self,
        i: m::CreateTargetGroupInput,
    ) -> ApiResult<m::CreateTargetGroupOutput> {
        let name = i.name.clone().unwrap_or_default();
        check_name(&name)?;
        let target_type = i.target_type.clone().unwrap_or_else(|| "instance".into());
        let given = |s: &Option<String>| s.as_deref().is_some_and(|v| !v.is_empty());
        let version = i
            .protocol_version
            .as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| v.to_ascii_uppercase());
        let (protocol, port, vpc_id) = if target_type == "lambda" {
            if i.protocol.is_some() {
                return Err(ApiError::validation(
                    "Protocol cannot be specified for target groups with target type 'lambda'",
                ));
            }
            if i.port.is_some() {
                return Err(ApiError::validation(
                    "Port cannot be specified for target groups with target type 'lambda'",
                ));
            }
            if i.vpc_id.is_some() {
                return Err(ApiError::validation(
                    "VPC ID cannot be specified for target groups with target type 'lambda'",
                ));
            }
            if version.is_some() {
                return Err(ApiError::validation("Protocol version cannot be specified for target groups with target type 'lambda'"));
            }
            (None, None, None)
        } else {
            if !given(&i.protocol) {
                return Err(ApiError::validation("A protocol must be specified"));
            }
            let Some(port) = i.port else {
                return Err(ApiError::validation("A port must be specified"));
            };
            if !given(&i.vpc_id) {
                return Err(ApiError::validation("A VPC ID must be specified"));
            }
            (i.protocol.clone(), Some(port), i.vpc_id.clone())
        };
        let p = protocol.clone().unwrap_or_default();
        if target_type == "alb" && p != "TCP" {
            return Err(ApiError::validation(format!(
                "Target group protocol '{p}' is not supported for target type 'alb'; use 'TCP'"
            )));
        }
        if p == "GENEVE" && port != Some(6081) {
            return Err(ApiError::validation(
                "The port for target groups with the GENEVE protocol must be 6081",
            ));
        }
        if let Some(v) = &version {
            if !is_http(&p) {
                return Err(ApiError::validation(format!("Protocol version can only be specified for target groups with the HTTP or HTTPS protocol, not '{p}'")));
            }
            if !matches!(v.as_str(), "HTTP1" | "HTTP2" | "GRPC") {
                return Err(ApiError::validation(format!(
                    "Protocol version '{v}' is not supported; use HTTP1, HTTP2 or GRPC"
                )));
            }
        }
        let version = if is_http(&p) {
            Some(version.unwrap_or_else(|| "HTTP1".into()))
        } else {
            None
        };
        let vstr = version.clone().unwrap_or_default();
        let hc_req = HcReq {
            enabled: i.health_check_enabled,
            interval: i.health_check_interval_seconds,
            path: i.health_check_path.clone(),
            port: i.health_check_port.clone(),
            protocol: i.health_check_protocol.clone(),
            timeout: i.health_check_timeout_seconds,
            healthy: i.healthy_threshold_count,
            unhealthy: i.unhealthy_threshold_count,
            matcher: i.matcher.clone(),
        };
        if let Some(hp) = hc_req.protocol.as_deref() {
            check_hc_protocol(&p, &target_type, hp)?;
        }
        let d = hc_defaults(&p, &target_type, hc_req.protocol.as_deref(), &vstr);
        let mut tg = m::TargetGroup {
            target_group_name: Some(name.clone()),
            protocol: protocol.clone(),
            protocol_version: version,
            port,
            vpc_id,
            target_type: Some(target_type.clone()),
            ip_address_type: Some(i.ip_address_type.clone().unwrap_or_else(|| "ipv4".into())),
            target_control_port: i.target_control_port,
            health_check_enabled: Some(d.enabled),
            health_check_protocol: d.protocol.map(String::from),
            health_check_port: d.port.map(String::from),
            health_check_path: d.path.map(String::from),
            health_check_interval_seconds: Some(d.interval),
            health_check_timeout_seconds: Some(d.timeout),
            healthy_threshold_count: Some(d.healthy),
            unhealthy_threshold_count: Some(d.unhealthy),
            matcher: d.matcher.clone(),
            ..Default::default()
        };
        apply_hc(&mut tg, &hc_req)?;
        let new_tags = tags::check_new(i.tags.as_deref().unwrap_or_default())?;
        let existing = self
            .scope()
            .target_groups
            .values()
            .find(|r| r.tg.target_group_name.as_deref() == Some(name.as_str()))
            .map(|r| r.tg.clone());
        if let Some(ex) = existing {
            if settings_of(&ex) == settings_of(&tg) {
                return Ok(m::CreateTargetGroupOutput {
                    target_groups: Some(vec![self.tg_view(&ex)]),
                });
            }
            return Err(ApiError::modeled(
                E::DuplicateTargetGroupName,
                format!("A target group with the same name '{name}' exists, but with different settings"),
            ));
        }
        let limit = super::limits::quota(&self.ctx.config, "target-groups");
        if self.scope().target_groups.len() as i64 >= limit {
            return Err(ApiError::modeled(
                E::TooManyTargetGroups,
                "You have reached the maximum number of target groups allowed for your account",
            ));
        }
        let tg_arn = arn::arn(
            &self.ctx.region,
            &self.ctx.account,
            &format!("targetgroup/{name}/{}", arn::new_id()),
        );
        tg.target_group_arn = Some(tg_arn.clone());
        let attributes = attributes::tg_defaults(&p, &target_type);
        let scope = self.scope_mut()?;
        let seq = scope.seq();
        scope.target_groups.insert(
            tg_arn,
            TargetGroupRec {
                tg: tg.clone(),
                attributes,
                tags: new_tags,
                targets: Vec::new(),
                draining: Vec::new(),
                seq,
            },
        );
        Ok(m::CreateTargetGroupOutput {
            target_groups: Some(vec![m::TargetGroup {
                load_balancer_arns: Some(Vec::new()),
                ..tg
            }]),
        })
    }

    /// DescribeTargetGroups: by load balancer, ARNs or names (at most one), in creation order.
    fn describe_target_groups(
        &mut self,
        i: m::DescribeTargetGroupsInput,
    ) -> ApiResult<m::DescribeTargetGroupsOutput> {
        let names = i.names.unwrap_or_default();
        let arns = i.target_group_arns.unwrap_or_default();
        let lb = i.load_balancer_arn.filter(|s| !s.is_empty());
        if [!names.is_empty(), !arns.is_empty(), lb.is_some()]
            .iter()
            .filter(|b| **b)
            .count()
            > 1
        {
            return Err(ApiError::validation("Target group names, target group ARNs, and a load balancer ARN cannot be specified at the same time"));
        }
        let mut all: Vec<&TargetGroupRec> = self.scope().target_groups.values().collect();
        all.sort_by_key(|r| r.seq);
        let selected: Vec<&TargetGroupRec> = if let Some(lb) = &lb {
            self.lb(lb)?;
            // One walk over the load balancer's listeners and rules, not one over all of
            // them per target group.
            let used = self.tgs_of_lb(lb);
            all.into_iter()
                .filter(|r| {
                    used.iter()
                        .any(|u| Some(u.as_str()) == r.tg.target_group_arn.as_deref())
                })
                .collect()
        } else if !arns.is_empty() {
            select(&all, &arns, |r| r.tg.target_group_arn.as_deref())
                .map_err(|_| tg_not_found_any())?
        } else if !names.is_empty() {
            select(&all, &names, |r| r.tg.target_group_name.as_deref())
                .map_err(|_| tg_not_found_any())?
        } else {
            all
        };
        let views: Vec<m::TargetGroup> = selected.iter().map(|r| self.tg_view(&r.tg)).collect();
        let (items, next) = page(&views, i.marker.as_deref(), i.page_size)?;
        Ok(m::DescribeTargetGroupsOutput {
            target_groups: Some(items),
            next_marker: next,
        })
    }

    /// ModifyTargetGroup: health-check settings only.
    fn modify_target_group(
        &mut self,
        i: m::ModifyTargetGroupInput,
    ) -> ApiResult<m::ModifyTargetGroupOutput> {
        let arn = i.target_group_arn.clone().unwrap_or_default();
        let mut tg = self.tg(&arn)?.tg.clone();
        let req = HcReq {
            enabled: i.health_check_enabled,
            interval: i.health_check_interval_seconds,
            path: i.health_check_path,
            port: i.health_check_port,
            protocol: i.health_check_protocol,
            timeout: i.health_check_timeout_seconds,
            healthy: i.healthy_threshold_count,
            unhealthy: i.unhealthy_threshold_count,
            matcher: i.matcher,
        };
        apply_hc(&mut tg, &req)?;
        let rec = self.tg_mut(&arn)?;
        rec.tg = tg.clone();
        Ok(m::ModifyTargetGroupOutput {
            target_groups: Some(vec![self.tg_view(&tg)]),
        })
    }

    /// DeleteTargetGroup: an unknown ARN succeeds; one referenced by an action is in use.
    fn delete_target_group(
        &mut self,
        i: m::DeleteTargetGroupInput,
    ) -> ApiResult<m::DeleteTargetGroupOutput> {
        let arn = i.target_group_arn.unwrap_or_default();
        if !self.scope().target_groups.contains(&arn) {
            return Ok(m::DeleteTargetGroupOutput {});
        }
        if self.tg_referenced(&arn) {
            return Err(ApiError::modeled(
                E::ResourceInUse,
                format!("The target group '{arn}' is currently in use by a listener or a rule"),
            ));
        }
        self.scope_mut()?.target_groups.remove(&arn);
        Ok(m::DeleteTargetGroupOutput {})
    }

    /// DescribeTargetGroupAttributes.
    fn describe_target_group_attributes(
        &mut self,
        i: m::DescribeTargetGroupAttributesInput,
    ) -> ApiResult<m::DescribeTargetGroupAttributesOutput> {
        let rec = self.tg(i.target_group_arn.as_deref().unwrap_or_default())?;
        Ok(m::DescribeTargetGroupAttributesOutput {
            attributes: Some(attributes::to_api(&rec.attributes)),
        })
    }

    /// ModifyTargetGroupAttributes: validates every pair first; returns the full set, as AWS does.
    fn modify_target_group_attributes(
        &mut self,
        i: m::ModifyTargetGroupAttributesInput,
    ) -> ApiResult<m::ModifyTargetGroupAttributesOutput> {
        let arn = i.target_group_arn.unwrap_or_default();
        let rec = self.tg(&arn)?;
        let changes: Vec<(String, String)> = attributes::pairs(i.attributes);
        check_tg_attribute_changes(&rec.tg, &rec.attributes, &changes)?;
        let protocol = rec.tg.protocol.clone().unwrap_or_default();
        let mut attrs = rec.attributes.clone();
        attributes::modify(Owner::TargetGroup, &mut attrs, &protocol, &changes)?;
        let rec = self.tg_mut(&arn)?;
        rec.attributes = attrs.clone();
        Ok(m::ModifyTargetGroupAttributesOutput {
            attributes: Some(attributes::to_api(&attrs)),
        })
    }
}

#[cfg(test)]
mod tests {
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
        let e = check_tg_attribute_changes(&http, &cur, &ch("stickiness.type", "app_cookie"))
            .unwrap_err();
        assert_eq!(e.code(), "InvalidConfigurationRequest");
        let mut both = ch("stickiness.type", "app_cookie");
        both.push(("stickiness.app_cookie.cookie_name".into(), "sid".into()));
        assert!(check_tg_attribute_changes(&http, &cur, &both).is_ok());
        assert!(
            check_tg_attribute_changes(&http, &cur, &ch("stickiness.type", "source_ip")).is_err()
        );
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
}
