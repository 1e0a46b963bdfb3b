//! Targets: RegisterTargets, DeregisterTargets and DescribeTargetHealth. Health comes from the
//! in-memory [`HealthTable`](crate::health::HealthTable) the prober fills; everything that does
//! not need a probe (unused, draining, not registered, checks disabled) is decided here.

use super::arn::{kind_of, ArnKind};
use super::{ApiError, ApiResult, Service};
use crate::health::{Health, TargetKey};
use crate::state::{DrainingTarget, TargetRec};
use api_models as m;
use api_models::ModeledError as E;
use std::net::IpAddr;

/// Targets per target group (AWS's ALB quota) unless `--quota targets-per-target-group=N`.
pub const DEFAULT_TARGETS_QUOTA: i64 = 1000;

/// `Target.NotInUse`: the target group is used by no listener or rule.
pub fn not_in_use() -> Health {
    Health {
        state: "unused",
        reason: Some("Target.NotInUse"),
        description: Some(
            "Target group is not configured to receive traffic from the load balancer".into(),
        ),
    }
}
/// `Elb.RegistrationInProgress`: registered, no health check has started yet.
pub fn registration_in_progress() -> Health {
    Health {
        state: "initial",
        reason: Some("Elb.RegistrationInProgress"),
        description: Some("Target registration is in progress".into()),
    }
}
/// `Target.HealthCheckDisabled`.
pub fn health_check_disabled() -> Health {
    Health {
        state: "unavailable",
        reason: Some("Target.HealthCheckDisabled"),
        description: Some("Health checks are disabled".into()),
    }
}
/// `Target.DeregistrationInProgress`.
pub fn deregistration_in_progress() -> Health {
    Health {
        state: "draining",
        reason: Some("Target.DeregistrationInProgress"),
        description: Some("Target deregistration is in progress".into()),
    }
}
/// `Target.NotRegistered`.
pub fn not_registered() -> Health {
    Health {
        state: "unused",
        reason: Some("Target.NotRegistered"),
        description: Some("Target is not registered to the target group".into()),
    }
}

/// The health of a registered target: unused if no listener routes to its group, unavailable
/// if checks are off, else what the prober last saw (or registration in progress).
pub fn registered_health(in_use: bool, hc_enabled: bool, probed: Option<Health>) -> Health {
    if !in_use {
        not_in_use()
    } else if !hc_enabled {
        health_check_disabled()
    } else {
        probed.unwrap_or_else(registration_in_progress)
    }
}

/// Checks a target id against the group's target type.
pub fn check_target_id(target_type: &str, ip_type: &str, id: &str) -> ApiResult<()> {
    let invalid = |msg: String| ApiError::modeled(E::InvalidTarget, msg);
    match target_type {
        "ip" => {
            let ip: IpAddr = id
                .parse()
                .map_err(|_| invalid(format!("The IP address '{id}' is not a valid IP address")))?;
            if ip_type == "ipv6" && !ip.is_ipv6() {
                return Err(invalid(format!(
                    "The IP address '{id}' is not a valid IPv6 address"
                )));
            }
            if ip_type != "ipv6" && !ip.is_ipv4() {
                return Err(invalid(format!(
                    "The IP address '{id}' is not a valid IPv4 address"
                )));
            }
        }
        "lambda" => {
            let ok = id.starts_with("arn:")
                && id.split(':').nth(2) == Some("lambda")
                && id.contains(":function:");
            if !ok {
                return Err(invalid(format!(
                    "The target '{id}' is not a valid Lambda function ARN"
                )));
            }
        }
        "alb" => {
            if kind_of(id) != ArnKind::LoadBalancer || !id.contains(":loadbalancer/app/") {
                return Err(invalid(format!(
                    "The target '{id}' is not a valid Application Load Balancer ARN"
                )));
            }
        }
        _ => {
            let rest = id.strip_prefix("i-").unwrap_or("");
            if rest.is_empty() || !rest.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(invalid(format!(
                    "The following targets are not valid instance IDs: '{id}'"
                )));
            }
        }
    }
    Ok(())
}

fn target_api(t: &TargetRec, lambda: bool) -> m::TargetDescription {
    m::TargetDescription {
        id: Some(t.id.clone()),
        port: (!lambda).then_some(t.port),
        availability_zone: t.availability_zone.clone(),
        quic_server_id: t.quic_server_id.clone(),
    }
}

/// One target's entry in DescribeTargetHealth: its health, the port it is checked on (none
/// while not in use), and the fields AWS always adds.
fn description(
    t: &TargetRec,
    h: Health,
    lambda: bool,
    hc_port: Option<&str>,
    anomaly: bool,
) -> m::TargetHealthDescription {
    let resolved_port = match hc_port {
        _ if lambda => None,
        Some("traffic-port") | None => Some(t.port.to_string()),
        Some(p) => Some(p.to_string()),
    };
    let not_in_use = h.reason == Some("Target.NotInUse");
    m::TargetHealthDescription {
        target: Some(target_api(t, lambda)),
        health_check_port: if not_in_use { None } else { resolved_port },
        target_health: Some(m::TargetHealth {
            state: Some(h.state.to_string()),
            reason: h.reason.map(String::from),
            description: h.description,
        }),
        anomaly_detection: anomaly.then(|| m::AnomalyDetection {
            result: Some("normal".into()),
            mitigation_in_effect: Some("no".into()),
        }),
        // AWS returns this on every description (moto's AWS-verified test pops it).
        administrative_override: Some(m::AdministrativeOverride {
            state: Some("no_override".into()),
            reason: Some("AdministrativeOverride.NoOverride".into()),
            description: Some("No override is currently active on target".into()),
        }),
    }
}

impl Service<'_> {
    /// AWS counts targets per load balancer (`targets-per-application-load-balancer`, …) over
    /// every target group the load balancer's listeners and rules forward to.
    fn check_targets_per_lb(&self, tg_arn: &str) -> ApiResult<()> {
        for lb_arn in self.lbs_using_tg(tg_arn) {
            let lb_type = self.lb(&lb_arn)?.lb.type_.clone().unwrap_or_default();
            let quota = match lb_type.as_str() {
                "network" => "targets-per-network-load-balancer",
                "gateway" => continue,
                _ => "targets-per-application-load-balancer",
            };
            let limit = super::limits::quota(&self.ctx.config, quota);
            let total: usize = self
                .tgs_of_lb(&lb_arn)
                .iter()
                .filter_map(|tg| self.scope().target_groups.get(tg))
                .map(|t| t.targets.len())
                .sum();
            if total as i64 > limit {
                return Err(ApiError::modeled(
                    E::TooManyTargets,
                    format!("You've reached the limit on the number of targets for load balancer '{lb_arn}'"),
                ));
            }
        }
        Ok(())
    }
}

impl m::Targets for Service<'_> {
    /// RegisterTargets: re-registering is a no-op; a draining target comes back.
    fn register_targets(
        &mut self,
        i: m::RegisterTargetsInput,
    ) -> ApiResult<m::RegisterTargetsOutput> {
        let arn = i.target_group_arn.unwrap_or_default();
        let rec = self.tg(&arn)?;
        let tt = rec
            .tg
            .target_type
            .clone()
            .unwrap_or_else(|| "instance".into());
        let ip_type = rec.tg.ip_address_type.clone().unwrap_or_default();
        let tg_port = rec.tg.port.unwrap_or(0);
        let lambda = tt == "lambda";
        let now = self.ctx.now_ms;
        let mut wanted: Vec<TargetRec> = Vec::new();
        for t in i.targets.unwrap_or_default() {
            let id = t.id.unwrap_or_default();
            if id.is_empty() {
                return Err(ApiError::modeled(
                    E::InvalidTarget,
                    "A target ID must be specified",
                ));
            }
            check_target_id(&tt, &ip_type, &id)?;
            if tt == "alb" && !self.scope().load_balancers.contains(&id) {
                return Err(ApiError::modeled(
                    E::InvalidTarget,
                    format!("The load balancer '{id}' does not exist"),
                ));
            }
            let port = if lambda { 0 } else { t.port.unwrap_or(tg_port) };
            if !lambda && !(1..=65535).contains(&port) {
                return Err(ApiError::validation(format!(
                    "Port '{port}' must be between 1 and 65535"
                )));
            }
            if !wanted.iter().any(|w| w.id == id && w.port == port) {
                wanted.push(TargetRec {
                    id,
                    port,
                    availability_zone: t.availability_zone,
                    quic_server_id: t.quic_server_id,
                    registered_ms: now,
                });
            }
        }
        let limit = self
            .ctx
            .config
            .quotas
            .get("targets-per-target-group")
            .copied()
            .unwrap_or(DEFAULT_TARGETS_QUOTA);
        let rec = self.tg_mut(&arn)?;
        for w in wanted {
            if rec.targets.iter().any(|t| t.id == w.id && t.port == w.port) {
                continue;
            }
            rec.draining
                .retain(|d| !(d.target.id == w.id && d.target.port == w.port));
            rec.targets.push(w);
        }
        let single = lambda || tt == "alb";
        if single && rec.targets.len() > 1 {
            return Err(ApiError::modeled(
                E::TooManyTargets,
                format!(
                    "A target group with target type '{tt}' can have only one registered target"
                ),
            ));
        }
        if rec.targets.len() as i64 > limit {
            return Err(ApiError::modeled(
                E::TooManyTargets,
                "You've reached the limit on the number of targets per target group",
            ));
        }
        self.check_targets_per_lb(&arn)?;
        Ok(m::RegisterTargetsOutput {})
    }

    /// DeregisterTargets: unknown targets succeed. A target of a group in use drains for
    /// `deregistration_delay.timeout_seconds` × the health time scale; otherwise it is gone.
    fn deregister_targets(
        &mut self,
        i: m::DeregisterTargetsInput,
    ) -> ApiResult<m::DeregisterTargetsOutput> {
        let arn = i.target_group_arn.unwrap_or_default();
        let rec = self.tg(&arn)?;
        let lambda = rec.tg.target_type.as_deref() == Some("lambda");
        let tg_port = rec.tg.port.unwrap_or(0);
        let delay_s: f64 = rec
            .attributes
            .get("deregistration_delay.timeout_seconds")
            .and_then(|v| v.parse().ok())
            .unwrap_or(if lambda { 0.0 } else { 300.0 });
        let in_use = !self.lbs_using_tg(&arn).is_empty();
        let now = self.ctx.now_ms;
        let until = now + (delay_s * 1000.0 * self.ctx.config.health_time_scale).round() as i64;
        let drain = in_use && until > now;
        let rec = self.tg_mut(&arn)?;
        for t in i.targets.unwrap_or_default() {
            let id = t.id.unwrap_or_default();
            let port = if lambda { 0 } else { t.port.unwrap_or(tg_port) };
            let Some(pos) = rec
                .targets
                .iter()
                .position(|r| r.id == id && r.port == port)
            else {
                continue;
            };
            let target = rec.targets.remove(pos);
            if drain {
                rec.draining
                    .retain(|d| !(d.target.id == id && d.target.port == port));
                rec.draining.push(DrainingTarget {
                    target,
                    until_ms: until,
                });
            }
        }
        Ok(m::DeregisterTargetsOutput {})
    }

    /// DescribeTargetHealth: every registered and draining target, or the requested ones.
    fn describe_target_health(
        &mut self,
        i: m::DescribeTargetHealthInput,
    ) -> ApiResult<m::DescribeTargetHealthOutput> {
        let arn = i.target_group_arn.unwrap_or_default();
        let rec = self.tg(&arn)?;
        let tg = &rec.tg;
        let lambda = tg.target_type.as_deref() == Some("lambda");
        let tg_port = tg.port.unwrap_or(0);
        let in_use = !self.lbs_using_tg(&arn).is_empty();
        let hc_enabled = tg.health_check_enabled.unwrap_or(true);
        let hc_port = tg.health_check_port.clone();
        let now = self.ctx.now_ms;
        let include = i.include.unwrap_or_default();
        let anomaly = include
            .iter()
            .any(|s| s == "All" || s == "AnomalyDetection");
        let draining: Vec<&DrainingTarget> =
            rec.draining.iter().filter(|d| d.until_ms > now).collect();

        let describe =
            |t: &TargetRec, h: Health| description(t, h, lambda, hc_port.as_deref(), anomaly);
        let of_registered = |t: &TargetRec| {
            let key = TargetKey {
                tg_arn: arn.clone(),
                id: t.id.clone(),
                port: t.port,
            };
            let probed = self.ctx.health.get_for(&key, t.registered_ms);
            describe(t, registered_health(in_use, hc_enabled, probed))
        };

        let mut out = Vec::new();
        let requested = i.targets.unwrap_or_default();
        if requested.is_empty() {
            out.extend(rec.targets.iter().map(of_registered));
            out.extend(
                draining
                    .iter()
                    .map(|d| describe(&d.target, deregistration_in_progress())),
            );
        } else {
            for t in requested {
                let id = t.id.unwrap_or_default();
                let port_matches = |p: i32| lambda || t.port.map_or(true, |want| want == p);
                let regs: Vec<&TargetRec> = rec
                    .targets
                    .iter()
                    .filter(|r| r.id == id && port_matches(r.port))
                    .collect();
                if !regs.is_empty() {
                    out.extend(regs.into_iter().map(of_registered));
                    continue;
                }
                let drains: Vec<&&DrainingTarget> = draining
                    .iter()
                    .filter(|d| d.target.id == id && port_matches(d.target.port))
                    .collect();
                if !drains.is_empty() {
                    out.extend(
                        drains
                            .into_iter()
                            .map(|d| describe(&d.target, deregistration_in_progress())),
                    );
                    continue;
                }
                let port = if lambda { 0 } else { t.port.unwrap_or(tg_port) };
                let ghost = TargetRec {
                    id,
                    port,
                    availability_zone: t.availability_zone,
                    quic_server_id: t.quic_server_id,
                    registered_ms: 0,
                };
                out.push(describe(&ghost, not_registered()));
            }
        }
        Ok(m::DescribeTargetHealthOutput {
            target_health_descriptions: Some(out),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_health_precedence() {
        let healthy = Health {
            state: "healthy",
            reason: None,
            description: None,
        };
        assert_eq!(
            registered_health(false, true, Some(healthy.clone())).reason,
            Some("Target.NotInUse")
        );
        assert_eq!(
            registered_health(true, false, Some(healthy.clone())).reason,
            Some("Target.HealthCheckDisabled")
        );
        assert_eq!(
            registered_health(true, true, None).reason,
            Some("Elb.RegistrationInProgress")
        );
        assert_eq!(
            registered_health(true, true, Some(healthy.clone())),
            healthy
        );
    }

    #[test]
    fn target_ids_match_target_type() {
        assert!(check_target_id("ip", "ipv4", "127.0.0.1").is_ok());
        assert!(check_target_id("ip", "ipv4", "10.1.2.3").is_ok());
        assert!(check_target_id("ip", "ipv4", "::1").is_err());
        assert!(check_target_id("ip", "ipv6", "::1").is_ok());
        assert_eq!(
            check_target_id("ip", "ipv4", "i-123").unwrap_err().code(),
            "InvalidTarget"
        );
        assert!(check_target_id("instance", "ipv4", "i-0123456789abcdef0").is_ok());
        assert!(check_target_id("instance", "ipv4", "10.0.0.1").is_err());
        assert!(check_target_id(
            "lambda",
            "",
            "arn:aws:lambda:us-east-1:123456789012:function:f"
        )
        .is_ok());
        assert!(check_target_id("lambda", "", "arn:aws:s3:::b").is_err());
        assert!(check_target_id(
            "alb",
            "ipv4",
            "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/a/0123"
        )
        .is_ok());
        assert!(check_target_id(
            "alb",
            "ipv4",
            "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/a/0123"
        )
        .is_err());
    }
}
