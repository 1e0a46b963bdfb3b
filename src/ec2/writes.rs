//! Write actions: Create*/Delete* and tags.

use super::addressing::*;
use super::codec::*;
use super::common::*;
use super::objects::*;
use super::reads::*;
use super::render::*;

pub(super) fn create_vpc(scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
    let cidr = required(q, "CidrBlock")?;
    let (_, len) = parse_cidr(cidr)
        .ok_or_else(|| Ec2Error::invalid("cidrBlock", cidr, "This is not a valid CIDR block."))?;
    if !(16..=28).contains(&len) {
        return Err(Ec2Error::new(
            "InvalidVpc.Range",
            format!("The CIDR '{cidr}' is invalid."),
        ));
    }
    let tenancy = q.get("InstanceTenancy").unwrap_or("default");
    if !["default", "dedicated"].contains(&tenancy) {
        return Err(Ec2Error::invalid("instanceTenancy", tenancy, ""));
    }
    let tags = tag_specs(q, "vpc")?;
    let id = format!("vpc-{}", random_hex17());
    let seq = scope.seq();
    let vpc = vpc_rec(scope, id.clone(), cidr, tenancy, false, tags, seq);
    scope.ec2.insert(id.clone(), vpc.clone());
    // Every VPC comes with its own `default` group.
    let sg_id = default_security_group_id(&id);
    let seq = scope.seq();
    let sg = sg_rec(
        scope,
        sg_id.clone(),
        "default",
        "default VPC security group",
        &id,
        vec![],
        seq,
    );
    scope.ec2.insert(sg_id, sg);
    Ok(write_one("vpc", &vpc, write_vpc))
}

pub(super) fn delete_vpc(scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
    let id = required(q, "VpcId")?;
    let vpc = find(scope, VPC, id).ok_or_else(|| vpc_not_found(id))?;
    let in_vpc = |r: &Ec2Rec| field(r, "vpcId") == id;
    let has_subnets = objects(scope, SUBNET).iter().any(in_vpc);
    let has_groups = objects(scope, SG)
        .iter()
        .any(|r| in_vpc(r) && field(r, "groupName") != "default");
    let has_lbs = scope
        .load_balancers
        .values()
        .any(|l| l.lb.vpc_id.as_deref() == Some(id));
    if has_subnets || has_groups || has_lbs {
        return Err(Ec2Error::new(
            "DependencyViolation",
            format!("The vpc '{id}' has dependencies and cannot be deleted."),
        ));
    }
    for sg in objects(scope, SG).iter().filter(|r| in_vpc(r)) {
        remove(scope, sg);
    }
    remove(scope, &vpc);
    Ok("<return>true</return>".into())
}

pub(super) fn create_subnet(scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
    let vpc_id = required(q, "VpcId")?;
    let cidr = required(q, "CidrBlock")?;
    let vpc = find(scope, VPC, vpc_id).ok_or_else(|| vpc_not_found(vpc_id))?;
    let net = parse_cidr(cidr)
        .ok_or_else(|| Ec2Error::invalid("cidrBlock", cidr, "This is not a valid CIDR block."))?;
    let vpc_net = parse_cidr(field(&vpc, "cidrBlock")).unwrap_or((0, 0));
    if !(16..=28).contains(&net.1) || !cidr_contains(vpc_net, net) {
        return Err(Ec2Error::new(
            "InvalidSubnet.Range",
            format!("The CIDR '{cidr}' is invalid."),
        ));
    }
    let conflict = objects(scope, SUBNET)
        .iter()
        .filter(|s| field(s, "vpcId") == vpc_id)
        .any(|s| parse_cidr(field(s, "cidrBlock")).is_some_and(|c| cidr_overlaps(c, net)));
    if conflict {
        return Err(Ec2Error::new(
            "InvalidSubnet.Conflict",
            format!("The CIDR '{cidr}' conflicts with another subnet"),
        ));
    }
    let region = scope.region.clone();
    let names = zone_names(&region);
    let az = match (q.get("AvailabilityZone"), q.get("AvailabilityZoneId")) {
        (Some(az), _) => az.to_string(),
        (None, Some(zid)) => names
            .iter()
            .find(|z| zone_id(&region, z).as_deref() == Some(zid))
            .cloned()
            .ok_or_else(|| Ec2Error::invalid("availabilityZoneId", zid, ""))?,
        (None, None) => names[0].clone(),
    };
    if !names.contains(&az) {
        let why = format!(
            "Subnets can currently only be created in the following availability zones: {}.",
            names.join(", ")
        );
        return Err(Ec2Error::invalid("availabilityZone", &az, &why));
    }
    let tags = tag_specs(q, "subnet")?;
    let id = format!("subnet-{}", random_hex17());
    let seq = scope.seq();
    let subnet = subnet_rec(scope, id.clone(), vpc_id, cidr, &az, false, tags, seq);
    scope.ec2.insert(id, subnet.clone());
    Ok(write_one("subnet", &subnet, write_subnet))
}

pub(super) fn delete_subnet(scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
    let id = required(q, "SubnetId")?;
    let subnet = find(scope, SUBNET, id).ok_or_else(|| subnet_not_found(id))?;
    let used = scope.load_balancers.values().any(|l| {
        l.lb.availability_zones
            .iter()
            .flatten()
            .any(|z| z.subnet_id.as_deref() == Some(id))
    });
    if used {
        return Err(Ec2Error::new(
            "DependencyViolation",
            format!("The subnet '{id}' has dependencies and cannot be deleted."),
        ));
    }
    remove(scope, &subnet);
    Ok("<return>true</return>".into())
}

pub(super) fn create_security_group(scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
    let name = required(q, "GroupName")?;
    let description = required(q, "GroupDescription")?;
    if name.len() > 255 || description.len() > 255 {
        return Err(Ec2Error::invalid(
            "groupName",
            name,
            "Length exceeds maximum of 255.",
        ));
    }
    if name.starts_with("sg-") {
        return Err(Ec2Error::new(
            "InvalidParameterValue",
            "Group names may not be in the format sg-*",
        ));
    }
    let vpc_id = match q.get("VpcId") {
        Some(v) => v.to_string(),
        None => default_vpc_id(&scope.account, &scope.region),
    };
    if find(scope, VPC, &vpc_id).is_none() {
        return Err(match q.get("VpcId") {
            Some(_) => vpc_not_found(&vpc_id),
            None => Ec2Error::new("VPCIdNotSpecified", "No default VPC for this user"),
        });
    }
    if objects(scope, SG)
        .iter()
        .any(|r| field(r, "vpcId") == vpc_id && field(r, "groupName") == name)
    {
        return Err(Ec2Error::new(
            "InvalidGroup.Duplicate",
            format!("The security group '{name}' already exists for VPC '{vpc_id}'"),
        ));
    }
    let tags = tag_specs(q, "security-group")?;
    let id = format!("sg-{}", random_hex17());
    let seq = scope.seq();
    let sg = sg_rec(scope, id.clone(), name, description, &vpc_id, tags, seq);
    scope.ec2.insert(id.clone(), sg.clone());
    let mut w = XmlWriter::new();
    w.text("return", "true");
    w.text("groupId", &id);
    if !sg.tags.is_empty() {
        write_tags(&mut w, &sg.tags);
    }
    w.text("securityGroupArn", field(&sg, "securityGroupArn"));
    Ok(w.finish())
}

pub(super) fn delete_security_group(scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
    let sg = match (q.get("GroupId"), q.get("GroupName")) {
        (Some(id), _) => {
            if !id.starts_with("sg-") {
                return Err(Ec2Error::new(
                    "InvalidGroupId.Malformed",
                    format!("Invalid id: \"{id}\" (expecting \"sg-...\")"),
                ));
            }
            find(scope, SG, id).ok_or_else(|| group_not_found(id))?
        }
        (None, Some(name)) => {
            let default_vpc = default_vpc_id(&scope.account, &scope.region);
            objects(scope, SG)
                .into_iter()
                .find(|r| field(r, "vpcId") == default_vpc && field(r, "groupName") == name)
                .ok_or_else(|| {
                    Ec2Error::new(
                        "InvalidGroup.NotFound",
                        format!("The security group '{name}' does not exist in default VPC '{default_vpc}'"),
                    )
                })?
        }
        (None, None) => return Err(Ec2Error::missing("groupName or groupId")),
    };
    if field(&sg, "groupName") == "default" {
        return Err(Ec2Error::new(
            "CannotDelete",
            format!(
                "the specified group: \"{}\" name: \"default\" cannot be deleted by a user",
                sg.id
            ),
        ));
    }
    let used = scope
        .load_balancers
        .values()
        .any(|l| l.lb.security_groups.iter().flatten().any(|g| *g == sg.id));
    if used {
        return Err(Ec2Error::new(
            "DependencyViolation",
            format!("resource {} has a dependent object", sg.id),
        ));
    }
    remove(scope, &sg);
    let mut w = XmlWriter::new();
    w.text("return", "true");
    w.text("groupId", &sg.id);
    Ok(w.finish())
}

/// The taggable object `id` (VPC, subnet or group), or the not-found error its prefix implies.
pub(super) fn taggable(scope: &Scope, id: &str) -> Result<Ec2Rec, Ec2Error> {
    if let Some(r) = [VPC, SUBNET, SG].iter().find_map(|k| find(scope, k, id)) {
        return Ok(r);
    }
    Err(if id.starts_with("vpc-") {
        vpc_not_found(id)
    } else if id.starts_with("subnet-") {
        subnet_not_found(id)
    } else if id.starts_with("sg-") {
        group_not_found(id)
    } else {
        Ec2Error::new("InvalidID", format!("The ID '{id}' is not valid"))
    })
}

pub(super) fn tagged_resources(scope: &Scope, q: &QueryMap) -> Result<Vec<Ec2Rec>, Ec2Error> {
    let ids = list(q, "ResourceId");
    if ids.is_empty() {
        return Err(Ec2Error::missing("resourceIdSet"));
    }
    ids.iter().map(|id| taggable(scope, id)).collect()
}

pub(super) fn create_tags(scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
    let recs = tagged_resources(scope, q)?;
    let tags = tag_list(q, "Tag")?;
    for mut r in recs {
        for (k, v) in &tags {
            match r.tags.iter_mut().find(|(tk, _)| tk == k) {
                Some(t) => t.1 = v.clone(),
                None => r.tags.push((k.clone(), v.clone())),
            }
        }
        // A default object is stored from now on, keeping `seq` 0.
        scope.ec2.insert(r.id.clone(), r);
    }
    Ok("<return>true</return>".into())
}

pub(super) fn delete_tags(scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
    let recs = tagged_resources(scope, q)?;
    // `Tag.N.Key` alone deletes the key; with `Tag.N.Value` only when the value matches.
    let specs: Vec<(String, Option<String>)> = (1..=count(q, "Tag"))
        .filter_map(|n| {
            let k = q.get(&format!("Tag.{n}.Key"))?;
            Some((
                k.to_string(),
                q.get(&format!("Tag.{n}.Value")).map(str::to_string),
            ))
        })
        .collect();
    for mut r in recs {
        r.tags.retain(|(k, v)| {
            let hit = specs.is_empty()
                || specs
                    .iter()
                    .any(|(sk, sv)| sk == k && sv.as_ref().is_none_or(|sv| sv == v));
            !hit
        });
        scope.ec2.insert(r.id.clone(), r);
    }
    Ok("<return>true</return>".into())
}
