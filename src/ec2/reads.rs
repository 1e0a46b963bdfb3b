//! Read actions: Describe*.

use super::addressing::*;
use super::codec::*;
use super::common::*;
use super::objects::*;
use super::render::*;

pub(super) fn vpc_not_found(id: &str) -> Ec2Error {
    Ec2Error::new(
        "InvalidVpcID.NotFound",
        format!("The vpc ID '{id}' does not exist"),
    )
}

pub(super) fn subnet_not_found(id: &str) -> Ec2Error {
    Ec2Error::new(
        "InvalidSubnetID.NotFound",
        format!("The subnet ID '{id}' does not exist"),
    )
}

pub(super) fn group_not_found(id: &str) -> Ec2Error {
    Ec2Error::new(
        "InvalidGroup.NotFound",
        format!("The security group '{id}' does not exist"),
    )
}

/// Objects of `kind` selected by ids (each must exist, else `not_found`) and filters.
pub(super) fn select(
    scope: &Scope,
    kind: &str,
    q: &QueryMap,
    id_key: &str,
    not_found: fn(&str) -> Ec2Error,
) -> Result<Vec<Ec2Rec>, Ec2Error> {
    let ids = list(q, id_key);
    let filters = filters(q)?;
    check_filters(kind, &filters)?;
    let all = objects(scope, kind);
    if let Some(missing) = ids.iter().find(|id| !all.iter().any(|r| &r.id == *id)) {
        return Err(not_found(missing));
    }
    Ok(all
        .into_iter()
        .filter(|r| ids.is_empty() || ids.contains(&r.id))
        .filter(|r| matches(r, &filters))
        .collect())
}

pub(super) fn describe_vpcs(scope: &Scope, q: &QueryMap) -> Result<String, Ec2Error> {
    let vpcs = select(scope, VPC, q, "VpcId", vpc_not_found)?;
    Ok(write_set("vpcSet", &vpcs, write_vpc))
}

pub(super) fn describe_subnets(scope: &Scope, q: &QueryMap) -> Result<String, Ec2Error> {
    let subnets = select(scope, SUBNET, q, "SubnetId", subnet_not_found)?;
    Ok(write_set("subnetSet", &subnets, write_subnet))
}

pub(super) fn describe_security_groups(scope: &Scope, q: &QueryMap) -> Result<String, Ec2Error> {
    let mut groups = select(scope, SG, q, "GroupId", group_not_found)?;
    // GroupName.N names groups of the default VPC only, as in AWS.
    let names = list(q, "GroupName");
    if !names.is_empty() {
        let default_vpc = default_vpc_id(&scope.account, &scope.region);
        let in_default =
            |r: &Ec2Rec, n: &str| field(r, "vpcId") == default_vpc && field(r, "groupName") == n;
        let all = objects(scope, SG);
        if let Some(n) = names.iter().find(|n| !all.iter().any(|r| in_default(r, n))) {
            return Err(Ec2Error::new(
                "InvalidGroup.NotFound",
                format!("The security group '{n}' does not exist in default VPC '{default_vpc}'"),
            ));
        }
        let ids = list(q, "GroupId");
        groups.retain(|r| ids.contains(&r.id) || names.iter().any(|n| in_default(r, n)));
    }
    Ok(write_set("securityGroupInfo", &groups, write_sg))
}

pub(super) fn zones(region: &str) -> Vec<Ec2Rec> {
    zone_names(region)
        .into_iter()
        .map(|z| {
            let fields = [
                ("state", "available".to_string()),
                ("regionName", region.to_string()),
                ("zoneId", zone_id(region, &z).unwrap_or_default()),
                ("zoneType", "availability-zone".into()),
                ("groupName", region.to_string()),
                ("optInStatus", "opt-in-not-required".into()),
            ];
            rec(AZ, z, &fields, vec![], 0)
        })
        .collect()
}

pub(super) fn describe_availability_zones(scope: &Scope, q: &QueryMap) -> Result<String, Ec2Error> {
    let filters = filters(q)?;
    check_filters(AZ, &filters)?;
    let (names, ids) = (list(q, "ZoneName"), list(q, "ZoneId"));
    let all = zones(&scope.region);
    let unknown = names
        .iter()
        .find(|n| !all.iter().any(|z| &z.id == *n))
        .or_else(|| {
            ids.iter()
                .find(|i| !all.iter().any(|z| field(z, "zoneId") == i.as_str()))
        });
    if let Some(u) = unknown {
        return Err(Ec2Error::new(
            "InvalidParameterValue",
            format!("Invalid availability zone: [{u}]"),
        ));
    }
    let picked: Vec<Ec2Rec> = all
        .into_iter()
        .filter(|z| {
            (names.is_empty() && ids.is_empty())
                || names.contains(&z.id)
                || ids.iter().any(|i| i == field(z, "zoneId"))
        })
        .filter(|z| matches(z, &filters))
        .collect();
    Ok(write_set("availabilityZoneInfo", &picked, write_az))
}

/// No network interfaces exist here: the Terraform provider polls this while an LB is deleted
/// and waits for an empty set, whatever its filters say.
pub(super) fn describe_network_interfaces(q: &QueryMap) -> Result<String, Ec2Error> {
    if let Some(id) = list(q, "NetworkInterfaceId").first() {
        return Err(Ec2Error::new(
            "InvalidNetworkInterfaceID.NotFound",
            format!("The networkInterface ID '{id}' does not exist"),
        ));
    }
    Ok("<networkInterfaceSet/>".into())
}
