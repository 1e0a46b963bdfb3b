//! Objects: the synthesized default VPC, subnets and security group, and stored rows.

use super::addressing::*;
use super::common::*;

pub(super) fn rec(
    kind: &str,
    id: String,
    fields: &[(&str, String)],
    tags: Tags,
    seq: u64,
) -> Ec2Rec {
    let fields = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Ec2Rec {
        kind: kind.into(),
        id,
        fields,
        tags,
        seq,
    }
}

pub(super) fn vpc_rec(
    scope: &Scope,
    id: String,
    cidr: &str,
    tenancy: &str,
    is_default: bool,
    tags: Tags,
    seq: u64,
) -> Ec2Rec {
    let fields = [
        ("ownerId", scope.account.clone()),
        ("state", "available".into()),
        ("cidrBlock", cidr.into()),
        (
            "associationId",
            format!("vpc-cidr-assoc-{}", hex17(&format!("assoc|{id}"))),
        ),
        (
            "dhcpOptionsId",
            format!(
                "dopt-{}",
                hex17(&format!("dopt|{}|{}", scope.account, scope.region))
            ),
        ),
        ("instanceTenancy", tenancy.into()),
        ("isDefault", is_default.to_string()),
    ];
    rec(VPC, id, &fields, tags, seq)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn subnet_rec(
    scope: &Scope,
    id: String,
    vpc: &str,
    cidr: &str,
    az: &str,
    default: bool,
    tags: Tags,
    seq: u64,
) -> Ec2Rec {
    let len = parse_cidr(cidr).map(|c| c.1).unwrap_or(32);
    let arn = format!(
        "arn:{}:ec2:{}:{}:subnet/{id}",
        partition(&scope.region),
        scope.region,
        scope.account
    );
    let fields = [
        ("ownerId", scope.account.clone()),
        ("state", "available".into()),
        ("vpcId", vpc.into()),
        ("cidrBlock", cidr.into()),
        ("availabilityZone", az.into()),
        (
            "availabilityZoneId",
            zone_id(&scope.region, az).unwrap_or_default(),
        ),
        ("availableIpAddressCount", usable_ips(len).to_string()),
        ("defaultForAz", default.to_string()),
        ("mapPublicIpOnLaunch", default.to_string()),
        ("subnetArn", arn),
    ];
    rec(SUBNET, id, &fields, tags, seq)
}

pub(super) fn sg_rec(
    scope: &Scope,
    id: String,
    name: &str,
    description: &str,
    vpc: &str,
    tags: Tags,
    seq: u64,
) -> Ec2Rec {
    let arn = format!(
        "arn:{}:ec2:{}:{}:security-group/{id}",
        partition(&scope.region),
        scope.region,
        scope.account
    );
    let fields = [
        ("ownerId", scope.account.clone()),
        ("groupName", name.into()),
        ("groupDescription", description.into()),
        ("vpcId", vpc.into()),
        ("securityGroupArn", arn),
    ];
    rec(SG, id, &fields, tags, seq)
}

/// The synthesized default VPC, its subnets and its `default` group (all with `seq` 0).
pub(super) fn defaults(scope: &Scope) -> Vec<Ec2Rec> {
    let (account, region) = (scope.account.as_str(), scope.region.as_str());
    let vpc = default_vpc_id(account, region);
    let mut out = vec![vpc_rec(
        scope,
        vpc.clone(),
        DEFAULT_VPC_CIDR,
        "default",
        true,
        vec![],
        0,
    )];
    for (zone, cidr) in zone_names(region).iter().zip(DEFAULT_SUBNET_CIDRS) {
        out.push(subnet_rec(
            scope,
            default_subnet_id(account, region, zone),
            &vpc,
            cidr,
            zone,
            true,
            vec![],
            0,
        ));
    }
    out.push(sg_rec(
        scope,
        default_security_group_id(&vpc),
        "default",
        "default VPC security group",
        &vpc,
        vec![],
        0,
    ));
    out
}

/// Every live object of `kind`: the defaults (as overridden by stored rows), then the created
/// ones in creation order.
pub(super) fn objects(scope: &Scope, kind: &str) -> Vec<Ec2Rec> {
    let mut out: Vec<Ec2Rec> = defaults(scope)
        .into_iter()
        .filter(|d| d.kind == kind)
        .filter_map(|d| match scope.ec2.get(&d.id) {
            Some(r) if r.kind == DELETED => None,
            Some(r) => Some(r.clone()),
            None => Some(d),
        })
        .collect();
    let mut created: Vec<Ec2Rec> = scope
        .ec2
        .values()
        .filter(|r| r.kind == kind && r.seq > 0)
        .cloned()
        .collect();
    created.sort_by_key(|r| r.seq);
    out.extend(created);
    out
}

/// The live object `id` of `kind`, default or created.
pub(super) fn find(scope: &Scope, kind: &str, id: &str) -> Option<Ec2Rec> {
    match scope.ec2.get(id) {
        Some(r) => (r.kind == kind).then(|| r.clone()),
        None => defaults(scope)
            .into_iter()
            .find(|r| r.kind == kind && r.id == id),
    }
}

/// Deletes an object: created rows go away, defaults get a tombstone.
pub(super) fn remove(scope: &mut Scope, r: &Ec2Rec) {
    if r.seq == 0 {
        let tomb = Ec2Rec {
            kind: DELETED.into(),
            id: r.id.clone(),
            fields: BTreeMap::new(),
            tags: vec![],
            seq: 0,
        };
        scope.ec2.insert(r.id.clone(), tomb);
    } else {
        scope.ec2.remove(&r.id);
    }
}

pub(super) fn field<'a>(r: &'a Ec2Rec, k: &str) -> &'a str {
    r.fields.get(k).map(String::as_str).unwrap_or("")
}

/// The VPC and AZ of a subnet, for ELBv2: a subnet known here answers with its own; any other id
/// gets the account's default VPC and an AZ picked by a stable hash of the id (so load balancers
/// can name subnets this endpoint never saw, as the Terraform provider's users do).
pub fn subnet_info(scope: &Scope, region: &str, subnet_id: &str) -> (String, String) {
    if let Some(s) = find(scope, SUBNET, subnet_id) {
        return (
            field(&s, "vpcId").to_string(),
            field(&s, "availabilityZone").to_string(),
        );
    }
    let digest = sha256(subnet_id.as_bytes());
    let idx = usize::from(digest.as_ref()[0]) % AZ_LETTERS.len();
    (
        default_vpc_id(&scope.account, region),
        format!("{region}{}", AZ_LETTERS[idx]),
    )
}
