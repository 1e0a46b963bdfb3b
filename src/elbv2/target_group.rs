//! Target groups: CreateTargetGroup, DescribeTargetGroups, ModifyTargetGroup, DeleteTargetGroup
//! and the target-group attribute calls. Health-check settings get AWS's per-protocol defaults
//! ([`hc_defaults`]) and AWS's validation; messages follow AWS (as moto reproduces them).

use super::attributes::{self, Owner};
use super::lookup::{actions_use_tg, select};
use super::{arn, page::page, tags, ApiError, ApiResult, Service};
use crate::state::TargetGroupRec;
use api_models as m;
use api_models::ModeledError as E;

mod attribute_checks;
mod health_check;

use attribute_checks::check_tg_attribute_changes;
use health_check::{apply_hc, check_hc_protocol, is_http, HcReq};
pub use health_check::{check_matcher, codes_match, hc_defaults, parse_codes, HcDefaults};

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

/// The protocol, port, VPC and protocol version of a new target group, checked against its
/// target type as AWS does (lambda takes none; HTTP/HTTPS default to `HTTP1`).
fn protocol_settings(
    i: &m::CreateTargetGroupInput,
    target_type: &str,
) -> ApiResult<(Option<String>, Option<i32>, Option<String>, Option<String>)> {
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
            return Err(ApiError::validation(
                "Protocol version cannot be specified for target groups with target type 'lambda'",
            ));
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
    Ok((protocol, port, vpc_id, version))
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
    // Long: defaults, health-check settings, the identical-request answer and the quota, in AWS's order.
    fn create_target_group(
        &mut self,
        i: m::CreateTargetGroupInput,
    ) -> ApiResult<m::CreateTargetGroupOutput> {
        let name = i.name.clone().unwrap_or_default();
        check_name(&name)?;
        let target_type = i.target_type.clone().unwrap_or_else(|| "instance".into());
        let (protocol, port, vpc_id, version) = protocol_settings(&i, &target_type)?;
        let p = protocol.clone().unwrap_or_default();
        let vstr = version.clone().unwrap_or_default();
        let hc_req = HcReq::from(&i);
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
        let req = HcReq::from(i);
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
mod tests;
