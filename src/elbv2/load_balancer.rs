//! Load balancers: create (idempotent), describe, delete (with cascade), subnets, security
//! groups, IP address type and attributes.

use super::arn::{arn, lb_kind, new_id};
use super::attributes::{self, Owner};
use super::lookup::select;
use super::page::page;
use super::{tags, ApiError, ApiResult, Service};
use crate::state::LoadBalancerRec;
use api_models as m;
use api_models::ModeledError as E;

/// AWS's canonical hosted zone ids for us-east-1 (ALB, NLB); other regions reuse them locally.
fn hosted_zone(lb_type: &str) -> &'static str {
    match lb_type {
        "network" | "gateway" => "Z26RNL4JYFTOTI",
        _ => "Z35SXDOTRQ7X7K",
    }
}

/// AWS's rules for load balancer names.
pub fn check_name(name: &str) -> ApiResult<()> {
    if name.chars().count() > 32 {
        return Err(ApiError::validation(format!(
            "Load balancer name '{name}' cannot be longer than '32' characters"
        )));
    }
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ApiError::validation(format!(
            "Load balancer name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(ApiError::validation(format!(
            "Load balancer name '{name}' cannot begin or end with a hyphen"
        )));
    }
    if name.starts_with("internal-") {
        return Err(ApiError::validation(format!(
            "Load balancer name '{name}' cannot begin with 'internal-'"
        )));
    }
    Ok(())
}

/// The DNS name: `NAME-NUM.REGION.<suffix>` (`internal-` first for internal ones). The number
/// comes from the ARN id, so it is stable for the life of the load balancer.
fn dns_name(name: &str, id: &str, region: &str, scheme: &str, suffix: &str) -> String {
    let num = u64::from_str_radix(&id[..8.min(id.len())], 16).unwrap_or(0) % 1_000_000_000;
    let prefix = if scheme == "internal" {
        "internal-"
    } else {
        ""
    };
    format!("{prefix}{name}-{num}.{region}.{suffix}").to_ascii_lowercase()
}

/// The subnets of a create/SetSubnets call as (subnet id, mapping).
fn subnet_list(
    subnets: Option<Vec<String>>,
    mappings: Option<Vec<m::SubnetMapping>>,
) -> ApiResult<Vec<m::SubnetMapping>> {
    match (subnets, mappings) {
        (Some(s), Some(mm)) if !s.is_empty() && !mm.is_empty() => Err(ApiError::validation(
            "You must specify either subnets or subnet mappings, not both",
        )),
        (Some(s), _) if !s.is_empty() => Ok(s
            .into_iter()
            .map(|id| m::SubnetMapping {
                subnet_id: Some(id),
                ..Default::default()
            })
            .collect()),
        (_, Some(mm)) if !mm.is_empty() => Ok(mm),
        _ => Ok(Vec::new()),
    }
}

/// The scheme and IP address type of a new load balancer, with AWS's defaults and the
/// combinations it refuses (gateway options, `dualstack-without-public-ipv4`).
fn scheme_and_ip_type(
    i: &m::CreateLoadBalancerInput,
    lb_type: &str,
) -> ApiResult<(String, String)> {
    if lb_type == "gateway" && i.scheme.is_some() {
        return Err(ApiError::validation(
            "A scheme cannot be specified for a Gateway Load Balancer",
        ));
    }
    if lb_type == "gateway" && i.security_groups.as_ref().is_some_and(|s| !s.is_empty()) {
        return Err(ApiError::validation(
            "Security groups cannot be specified for a Gateway Load Balancer",
        ));
    }
    let scheme = i.scheme.clone().unwrap_or_else(|| "internet-facing".into());
    let ip_type = i.ip_address_type.clone().unwrap_or_else(|| "ipv4".into());
    if ip_type == "dualstack-without-public-ipv4" && lb_type != "application" {
        return Err(ApiError::validation("IP address type 'dualstack-without-public-ipv4' is only supported by Application Load Balancers"));
    }
    if scheme == "internal" && ip_type == "dualstack-without-public-ipv4" {
        return Err(ApiError::validation(
            "Internal load balancers cannot use IP address type 'dualstack-without-public-ipv4'",
        ));
    }
    Ok((scheme, ip_type))
}

/// A new load balancer's security groups: none for gateways, the VPC's default for an ALB
/// given none; each must look like a group id.
fn security_groups_for(
    lb_type: &str,
    vpc: &str,
    given: Option<Vec<String>>,
) -> ApiResult<Vec<String>> {
    let sgs: Vec<String> = match (lb_type, given) {
        ("gateway", _) => Vec::new(),
        (_, Some(s)) if !s.is_empty() => s,
        // ALBs get the VPC's default group when none is given; NLBs stay without.
        ("application", _) => vec![crate::ec2::default_security_group_id(vpc)],
        _ => Vec::new(),
    };
    for sg in &sgs {
        if !sg.starts_with("sg-") {
            return Err(ApiError::modeled(
                E::InvalidSecurityGroup,
                format!("Security group '{sg}' does not exist"),
            ));
        }
    }
    Ok(sgs)
}

/// Whether an existing load balancer has the settings a CreateLoadBalancer asks for (the
/// security groups count only when given).
fn same_settings(
    e: &m::LoadBalancer,
    lb_type: &str,
    scheme: &str,
    ip_type: &str,
    zones: &[m::AvailabilityZone],
    sgs: &[String],
    sgs_given: bool,
) -> bool {
    let mut have: Vec<&str> = e
        .availability_zones
        .iter()
        .flatten()
        .filter_map(|z| z.subnet_id.as_deref())
        .collect();
    let mut want: Vec<&str> = zones
        .iter()
        .filter_map(|z| z.subnet_id.as_deref())
        .collect();
    have.sort();
    want.sort();
    let mut have_sg = e.security_groups.clone().unwrap_or_default();
    let mut want_sg = sgs.to_vec();
    have_sg.sort();
    want_sg.sort();
    e.type_.as_deref() == Some(lb_type)
        && e.scheme.as_deref().unwrap_or("internet-facing") == scheme
        && e.ip_address_type.as_deref() == Some(ip_type)
        && have == want
        && (!sgs_given || have_sg == want_sg)
}

impl Service<'_> {
    /// VPC and AZs for the given subnets; enforces one subnet per AZ and ALB's two-AZ minimum
    /// where the subnets' AZs are known (created through the EC2 API).
    fn zones(
        &self,
        lb_type: &str,
        maps: &[m::SubnetMapping],
    ) -> ApiResult<(String, Vec<m::AvailabilityZone>)> {
        let region = &self.ctx.region;
        let mut vpc = None;
        let mut zones: Vec<m::AvailabilityZone> = Vec::new();
        let mut all_known = true;
        for sm in maps {
            let id = sm.subnet_id.clone().unwrap_or_default();
            if !id.starts_with("subnet-") {
                return Err(ApiError::modeled(
                    E::SubnetNotFound,
                    format!("The subnet ID '{id}' is not valid"),
                ));
            }
            all_known &= self.scope().ec2.contains(&id);
            let (v, az) = crate::ec2::subnet_info(self.scope(), region, &id);
            if let Some(prev) = &vpc {
                if prev != &v {
                    return Err(ApiError::modeled(
                        E::InvalidSubnet,
                        "All subnets must belong to the same VPC",
                    ));
                }
            }
            vpc = Some(v);
            if zones
                .iter()
                .any(|z| z.subnet_id.as_deref() == Some(id.as_str()))
            {
                continue;
            }
            if all_known
                && zones
                    .iter()
                    .any(|z| z.zone_name.as_deref() == Some(az.as_str()))
            {
                return Err(ApiError::modeled(
                    E::InvalidConfigurationRequest,
                    "You can specify only one subnet per Availability Zone",
                ));
            }
            let addr = (sm.allocation_id.is_some()
                || sm.private_ipv4_address.is_some()
                || sm.ipv6_address.is_some())
            .then(|| m::LoadBalancerAddress {
                allocation_id: sm.allocation_id.clone(),
                private_ipv4_address: sm.private_ipv4_address.clone(),
                ipv6_address: sm.ipv6_address.clone(),
                ip_address: None,
            });
            zones.push(m::AvailabilityZone {
                zone_name: Some(az),
                subnet_id: Some(id),
                load_balancer_addresses: Some(addr.into_iter().collect()),
                outpost_id: None,
                source_nat_ipv6_prefixes: None,
            });
        }
        if zones.is_empty() {
            return Err(ApiError::validation(
                "At least one subnet must be specified",
            ));
        }
        if lb_type == "application" && all_known && zones.len() < 2 {
            return Err(ApiError::validation(
                "At least two subnets in two different Availability Zones must be specified",
            ));
        }
        Ok((
            vpc.unwrap_or_else(|| crate::ec2::default_vpc_id(&self.ctx.account, region)),
            zones,
        ))
    }

    /// `TooManyLoadBalancers` once the account has its quota of load balancers of `lb_type`.
    fn check_lb_quota(&self, lb_type: &str) -> ApiResult<()> {
        let quota_name = match lb_type {
            "network" => "network-load-balancers",
            "gateway" => "gateway-load-balancers",
            _ => "application-load-balancers",
        };
        let count = self
            .scope()
            .load_balancers
            .values()
            .filter(|r| r.lb.type_.as_deref() == Some(lb_type))
            .count();
        if count as i64 >= super::limits::quota(&self.ctx.config, quota_name) {
            return Err(ApiError::modeled(
                E::TooManyLoadBalancers,
                "The quota for the number of load balancers has been reached",
            ));
        }
        Ok(())
    }
}

impl m::LoadBalancers for Service<'_> {
    /// CreateLoadBalancer.
    // Long: most of it is the one LoadBalancer record AWS answers with, built field by field.
    fn create_load_balancer(
        &mut self,
        i: m::CreateLoadBalancerInput,
    ) -> ApiResult<m::CreateLoadBalancerOutput> {
        let name = i.name.clone().unwrap_or_default();
        check_name(&name)?;
        let lb_type = i.type_.clone().unwrap_or_else(|| "application".into());
        let (scheme, ip_type) = scheme_and_ip_type(&i, &lb_type)?;
        let maps = subnet_list(i.subnets.clone(), i.subnet_mappings.clone())?;
        let (vpc, zones) = self.zones(&lb_type, &maps)?;
        let sgs = security_groups_for(&lb_type, &vpc, i.security_groups.clone())?;
        let new_tags = tags::check_new(i.tags.as_deref().unwrap_or_default())?;

        // Same name: identical settings return the existing load balancer, anything else fails.
        if let Some(existing) = self
            .scope()
            .load_balancers
            .values()
            .find(|r| r.lb.load_balancer_name.as_deref() == Some(&name))
        {
            let e = &existing.lb;
            let same = same_settings(
                e,
                &lb_type,
                &scheme,
                &ip_type,
                &zones,
                &sgs,
                i.security_groups.is_some(),
            );
            if !same {
                return Err(ApiError::modeled(
                    E::DuplicateLoadBalancerName,
                    format!("A load balancer with the same name '{name}' exists, but with different settings"),
                ));
            }
            return Ok(m::CreateLoadBalancerOutput {
                load_balancers: Some(vec![e.clone()]),
            });
        }

        self.check_lb_quota(&lb_type)?;

        let id = new_id();
        let lb_arn = arn(
            &self.ctx.region,
            &self.ctx.account,
            &format!("loadbalancer/{}/{name}/{id}", lb_kind(&lb_type)),
        );
        let lb = m::LoadBalancer {
            load_balancer_arn: Some(lb_arn.clone()),
            dns_name: Some(dns_name(
                &name,
                &id,
                &self.ctx.region,
                &scheme,
                &self.ctx.config.dns_suffix,
            )),
            canonical_hosted_zone_id: Some(hosted_zone(&lb_type).into()),
            created_time: Some(m::Timestamp::from_millis(self.ctx.now_ms)),
            load_balancer_name: Some(name),
            scheme: (lb_type != "gateway").then(|| scheme.clone()),
            vpc_id: Some(vpc),
            state: Some(m::LoadBalancerState {
                code: Some("active".into()),
                reason: None,
            }),
            type_: Some(lb_type.clone()),
            availability_zones: Some(zones),
            security_groups: Some(sgs),
            ip_address_type: Some(ip_type),
            customer_owned_ipv4_pool: i.customer_owned_ipv4_pool.clone(),
            enable_prefix_for_ipv6_source_nat: i
                .enable_prefix_for_ipv6_source_nat
                .clone()
                .or_else(|| (lb_type == "network").then(|| "off".into())),
            enforce_security_group_inbound_rules_on_private_link_traffic: None,
            ipam_pools: i.ipam_pools.clone(),
        };
        let scope = self.scope_mut()?;
        let seq = scope.seq();
        scope.load_balancers.insert(
            lb_arn,
            LoadBalancerRec {
                lb: lb.clone(),
                attributes: attributes::lb_defaults(&lb_type, &scheme),
                tags: new_tags,
                seq,
                capacity_units: None,
                capacity_modified: None,
                capacity_decreases: 0,
            },
        );
        // Stored as active; the answer to Create says provisioning, as AWS's does.
        let mut answer = lb;
        answer.state = Some(m::LoadBalancerState {
            code: Some("provisioning".into()),
            reason: None,
        });
        Ok(m::CreateLoadBalancerOutput {
            load_balancers: Some(vec![answer]),
        })
    }

    /// DescribeLoadBalancers.
    fn describe_load_balancers(
        &mut self,
        i: m::DescribeLoadBalancersInput,
    ) -> ApiResult<m::DescribeLoadBalancersOutput> {
        let arns = i.load_balancer_arns.unwrap_or_default();
        let names = i.names.unwrap_or_default();
        if !arns.is_empty() && !names.is_empty() {
            return Err(ApiError::validation(
                "Load balancer ARNs and names cannot be specified at the same time",
            ));
        }
        let mut all: Vec<&LoadBalancerRec> = self.scope().load_balancers.values().collect();
        all.sort_by_key(|r| r.seq);
        let selected: Vec<&LoadBalancerRec> = if !arns.is_empty() {
            select(&all, &arns, |r| r.lb.load_balancer_arn.as_deref())
                .map_err(|missing| not_found_list(&missing))?
        } else if !names.is_empty() {
            select(&all, &names, |r| r.lb.load_balancer_name.as_deref())
                .map_err(|missing| not_found_list(&missing))?
        } else {
            all
        };
        let selected: Vec<m::LoadBalancer> = selected.iter().map(|r| r.lb.clone()).collect();
        let (items, next) = page(&selected, i.marker.as_deref(), i.page_size)?;
        Ok(m::DescribeLoadBalancersOutput {
            load_balancers: Some(items),
            next_marker: next,
        })
    }

    /// DeleteLoadBalancer: succeeds for an unknown ARN; removes listeners and rules with it.
    fn delete_load_balancer(
        &mut self,
        i: m::DeleteLoadBalancerInput,
    ) -> ApiResult<m::DeleteLoadBalancerOutput> {
        let lb_arn = i.load_balancer_arn.unwrap_or_default();
        let Some(rec) = self.scope().load_balancers.get(&lb_arn) else {
            return Ok(m::DeleteLoadBalancerOutput {});
        };
        if rec
            .attributes
            .get("deletion_protection.enabled")
            .map(String::as_str)
            == Some("true")
        {
            return Err(ApiError::modeled(
                E::OperationNotPermitted,
                format!("Load balancer '{lb_arn}' cannot be deleted because deletion protection is enabled"),
            ));
        }
        let scope = self.scope_mut()?;
        super::listener::delete_listeners_of_lb(scope, &lb_arn);
        scope.load_balancers.remove(&lb_arn);
        Ok(m::DeleteLoadBalancerOutput {})
    }

    /// SetSubnets.
    fn set_subnets(&mut self, i: m::SetSubnetsInput) -> ApiResult<m::SetSubnetsOutput> {
        let lb_arn = i.load_balancer_arn.clone().unwrap_or_default();
        let rec = self.lb(&lb_arn)?;
        let lb_type = rec.lb.type_.clone().unwrap_or_default();
        let maps = subnet_list(i.subnets, i.subnet_mappings)?;
        let (vpc, zones) = self.zones(&lb_type, &maps)?;
        if rec.lb.vpc_id.as_deref().is_some_and(|v| v != vpc) && self.scope().ec2.contains(&vpc) {
            return Err(ApiError::modeled(
                E::InvalidSubnet,
                "The subnets must belong to the load balancer's VPC",
            ));
        }
        let ip_type = i.ip_address_type.clone();
        let rec = self.lb_mut(&lb_arn)?;
        rec.lb.availability_zones = Some(zones.clone());
        if let Some(t) = ip_type {
            rec.lb.ip_address_type = Some(t);
        }
        if let Some(p) = i.enable_prefix_for_ipv6_source_nat {
            rec.lb.enable_prefix_for_ipv6_source_nat = Some(p);
        }
        Ok(m::SetSubnetsOutput {
            availability_zones: Some(zones),
            ip_address_type: rec.lb.ip_address_type.clone(),
            enable_prefix_for_ipv6_source_nat: rec.lb.enable_prefix_for_ipv6_source_nat.clone(),
        })
    }

    /// SetSecurityGroups.
    fn set_security_groups(
        &mut self,
        i: m::SetSecurityGroupsInput,
    ) -> ApiResult<m::SetSecurityGroupsOutput> {
        let lb_arn = i.load_balancer_arn.clone().unwrap_or_default();
        let rec = self.lb(&lb_arn)?;
        if rec.lb.type_.as_deref() == Some("gateway") {
            return Err(ApiError::modeled(
                E::InvalidConfigurationRequest,
                "Security groups are not supported for Gateway Load Balancers",
            ));
        }
        let sgs = i.security_groups.unwrap_or_default();
        for sg in &sgs {
            if !sg.starts_with("sg-") {
                return Err(ApiError::modeled(
                    E::InvalidSecurityGroup,
                    format!("Security group '{sg}' does not exist"),
                ));
            }
        }
        if sgs.is_empty() && rec.lb.type_.as_deref() == Some("application") {
            return Err(ApiError::validation(
                "At least one security group must be specified for an Application Load Balancer",
            ));
        }
        let rec = self.lb_mut(&lb_arn)?;
        rec.lb.security_groups = Some(sgs.clone());
        if let Some(e) = i.enforce_security_group_inbound_rules_on_private_link_traffic {
            rec.lb
                .enforce_security_group_inbound_rules_on_private_link_traffic = Some(e);
        }
        Ok(m::SetSecurityGroupsOutput {
            security_group_ids: Some(sgs),
            enforce_security_group_inbound_rules_on_private_link_traffic: rec
                .lb
                .enforce_security_group_inbound_rules_on_private_link_traffic
                .clone(),
        })
    }

    /// SetIpAddressType.
    fn set_ip_address_type(
        &mut self,
        i: m::SetIpAddressTypeInput,
    ) -> ApiResult<m::SetIpAddressTypeOutput> {
        let lb_arn = i.load_balancer_arn.clone().unwrap_or_default();
        let rec = self.lb(&lb_arn)?;
        let t = i.ip_address_type.unwrap_or_default();
        if t == "dualstack-without-public-ipv4" && rec.lb.type_.as_deref() != Some("application") {
            return Err(ApiError::validation("IP address type 'dualstack-without-public-ipv4' is only supported by Application Load Balancers"));
        }
        if rec.lb.scheme.as_deref() == Some("internal") && t == "dualstack-without-public-ipv4" {
            return Err(ApiError::validation("Internal load balancers cannot use IP address type 'dualstack-without-public-ipv4'"));
        }
        let rec = self.lb_mut(&lb_arn)?;
        rec.lb.ip_address_type = Some(t.clone());
        Ok(m::SetIpAddressTypeOutput {
            ip_address_type: Some(t),
        })
    }

    /// DescribeLoadBalancerAttributes.
    fn describe_load_balancer_attributes(
        &mut self,
        i: m::DescribeLoadBalancerAttributesInput,
    ) -> ApiResult<m::DescribeLoadBalancerAttributesOutput> {
        let rec = self.lb(i.load_balancer_arn.as_deref().unwrap_or_default())?;
        Ok(m::DescribeLoadBalancerAttributesOutput {
            attributes: Some(attributes::to_api(&rec.attributes)),
        })
    }

    /// ModifyLoadBalancerAttributes: validates every pair first; answers with the full set.
    fn modify_load_balancer_attributes(
        &mut self,
        i: m::ModifyLoadBalancerAttributesInput,
    ) -> ApiResult<m::ModifyLoadBalancerAttributesOutput> {
        let lb_arn = i.load_balancer_arn.clone().unwrap_or_default();
        let changes: Vec<(String, String)> = attributes::pairs(i.attributes);
        let rec = self.lb_mut(&lb_arn)?;
        attributes::modify(Owner::LoadBalancer, &mut rec.attributes, "", &changes)?;
        Ok(m::ModifyLoadBalancerAttributesOutput {
            attributes: Some(attributes::to_api(&rec.attributes)),
        })
    }
}

fn not_found_list(missing: &[&String]) -> ApiError {
    let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
    ApiError::modeled(
        E::LoadBalancerNotFound,
        format!("Load balancers '[{}]' not found", list.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_aws_rules() {
        assert!(check_name("my-lb").is_ok());
        assert!(check_name("-x").is_err());
        assert!(check_name("internal-x").is_err());
        assert!(check_name("a_b").is_err());
        assert!(check_name(&"a".repeat(33)).is_err());
    }

    #[test]
    fn dns_names_are_stable_and_local() {
        let d = dns_name(
            "My-LB",
            "50dc6c495c0c9188",
            "us-east-1",
            "internal",
            "elb.localhost",
        );
        assert!(d.starts_with("internal-my-lb-"));
        assert!(d.ends_with(".us-east-1.elb.localhost"));
        assert_eq!(
            d,
            dns_name(
                "My-LB",
                "50dc6c495c0c9188",
                "us-east-1",
                "internal",
                "elb.localhost"
            )
        );
    }
}
