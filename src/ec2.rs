//! The minimal EC2 subset on the same endpoint: VPCs, subnets, security groups, availability
//! zones and (always empty) network interfaces.
//!
//! EC2 speaks its own `ec2` protocol, not ELBv2's query protocol: requests are form pairs with
//! flat `X.N` lists, `Filter.N.Name` / `Filter.N.Value.M` and
//! `TagSpecification.N.{ResourceType,Tag.M.Key,Tag.M.Value}`; answers are
//! `<{Action}Response xmlns=…><requestId>…</requestId>…</{Action}Response>` with lowerCamel
//! elements, lists as `<xSet><item>…</item></xSet>` and no Result wrapper; errors are
//! `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`.
//!
//! Every account/region has a default VPC (172.31.0.0/16) with one default subnet per AZ
//! (a/b/c) and a `default` security group. They are synthesized with ids derived from
//! (account, region), so they cost no storage; a stored row with the same id (tags added) or a
//! `deleted` tombstone overrides them. Stored rows are [`Ec2Rec`]s keyed by id, their
//! `fields` holding the wire (lowerCamel) values.

use crate::api::respond;
use crate::elbv2::{ApiError, CallCtx};
use crate::state::{Ec2Rec, Scope, Tags};
use crate::App;
use api_models::query::QueryMap;
use api_models::xml::XmlWriter;
use axum::response::Response;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// EC2's query API version.
pub const API_VERSION: &str = "2016-11-15";
/// The XML namespace of every EC2 answer.
pub const XML_NAMESPACE: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

const VPC: &str = "vpc";
const SUBNET: &str = "subnet";
const SG: &str = "sg";
const AZ: &str = "az";
/// A tombstone hiding a deleted default object.
const DELETED: &str = "deleted";
const AZ_LETTERS: [char; 3] = ['a', 'b', 'c'];
const DEFAULT_VPC_CIDR: &str = "172.31.0.0/16";
const DEFAULT_SUBNET_CIDRS: [&str; 3] = ["172.31.0.0/20", "172.31.16.0/20", "172.31.32.0/20"];

const READS: [&str; 5] = [
    "DescribeVpcs",
    "DescribeSubnets",
    "DescribeSecurityGroups",
    "DescribeAvailabilityZones",
    "DescribeNetworkInterfaces",
];
const WRITES: [&str; 8] = [
    "CreateVpc",
    "DeleteVpc",
    "CreateSubnet",
    "DeleteSubnet",
    "CreateSecurityGroup",
    "DeleteSecurityGroup",
    "CreateTags",
    "DeleteTags",
];

// ---------------------------------------------------------------------------------------------
// Errors and envelopes

/// An EC2 error: wire code, message and HTTP status (400 unless said otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Error {
    pub code: &'static str,
    pub message: String,
    pub status: u16,
}

impl Ec2Error {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Ec2Error {
            code,
            message: message.into(),
            status: 400,
        }
    }
    /// `MissingParameter`, worded as AWS does.
    fn missing(param: &str) -> Self {
        Self::new(
            "MissingParameter",
            format!("The request must contain the parameter {param}"),
        )
    }
    /// `InvalidParameterValue` for one parameter's value.
    fn invalid(param: &str, value: &str, why: &str) -> Self {
        let msg = format!("Value ({value}) for parameter {param} is invalid. {why}");
        Self::new("InvalidParameterValue", msg.trim_end())
    }
}

impl From<Ec2Error> for ApiError {
    fn from(e: Ec2Error) -> Self {
        ApiError::Protocol {
            code: e.code,
            status: e.status,
            message: e.message,
        }
    }
}

impl From<ApiError> for Ec2Error {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Protocol {
                code,
                status,
                message,
            } => Ec2Error {
                code,
                message,
                status,
            },
            other => {
                tracing::error!("EC2 call failed: {other:?}");
                Ec2Error {
                    code: "InternalError",
                    message: "An internal error has occurred".into(),
                    status: 500,
                }
            }
        }
    }
}

fn envelope(action: &str, inner: &str, rid: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{XML_NAMESPACE}\"><requestId>{rid}</requestId>{inner}</{action}Response>"
    )
}

fn error_document(e: &Ec2Error, rid: &str) -> String {
    let mut w = XmlWriter::new();
    w.open("Response");
    w.open("Errors");
    w.open("Error");
    w.text("Code", e.code);
    w.text("Message", &e.message);
    w.close("Error");
    w.close("Errors");
    w.text("RequestID", rid);
    w.close("Response");
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}", w.finish())
}

// ---------------------------------------------------------------------------------------------
// Entry point

/// Answers one EC2 call: reads on the published snapshot, writes through the writer.
pub async fn handle(app: &App, ctx: CallCtx, action: &str, q: QueryMap, rid: &str) -> Response {
    match run(app, &ctx, action, q).await {
        Ok(inner) => respond::xml(200, envelope(action, &inner, rid), rid),
        Err(e) => respond::xml(e.status, error_document(&e, rid), rid),
    }
}

async fn run(app: &App, ctx: &CallCtx, action: &str, q: QueryMap) -> Result<String, Ec2Error> {
    let is_read = READS.contains(&action);
    if !is_read && !WRITES.contains(&action) {
        return Err(Ec2Error::new(
            "InvalidAction",
            format!("The action {action} is not valid for this web service."),
        ));
    }
    if q.get("DryRun") == Some("true") {
        return Err(Ec2Error {
            code: "DryRunOperation",
            message: "Request would have succeeded, but DryRun flag is set.".into(),
            status: 412,
        });
    }
    if is_read {
        let world = app.published.world.load_full();
        let empty;
        let scope = match world.scope(&ctx.account, &ctx.region) {
            Some(s) => s.as_ref(),
            None => {
                empty = Scope::new(&ctx.account, &ctx.region);
                &empty
            }
        };
        read_op(action, scope, &q)
    } else {
        let action = action.to_string();
        app.writer
            .call(&ctx.account, &ctx.region, move |scope| {
                write_op(&action, scope, &q).map_err(ApiError::from)
            })
            .await
            .map_err(Ec2Error::from)
    }
}

/// Runs a read action; the answer is the XML inside `<{Action}Response>` after `requestId`.
fn read_op(action: &str, scope: &Scope, q: &QueryMap) -> Result<String, Ec2Error> {
    match action {
        "DescribeVpcs" => describe_vpcs(scope, q),
        "DescribeSubnets" => describe_subnets(scope, q),
        "DescribeSecurityGroups" => describe_security_groups(scope, q),
        "DescribeAvailabilityZones" => describe_availability_zones(scope, q),
        "DescribeNetworkInterfaces" => describe_network_interfaces(q),
        _ => Err(Ec2Error::new(
            "InvalidAction",
            format!("The action {action} is not valid for this web service."),
        )),
    }
}

/// Runs a write action on the writer's scope. It validates before it changes anything.
fn write_op(action: &str, scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
    match action {
        "CreateVpc" => create_vpc(scope, q),
        "DeleteVpc" => delete_vpc(scope, q),
        "CreateSubnet" => create_subnet(scope, q),
        "DeleteSubnet" => delete_subnet(scope, q),
        "CreateSecurityGroup" => create_security_group(scope, q),
        "DeleteSecurityGroup" => delete_security_group(scope, q),
        "CreateTags" => create_tags(scope, q),
        "DeleteTags" => delete_tags(scope, q),
        _ => Err(Ec2Error::new(
            "InvalidAction",
            format!("The action {action} is not valid for this web service."),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Request codec

/// The values of an EC2 flat list `Key.1`, `Key.2`, … in order, up to the first missing index.
pub fn list(q: &QueryMap, key: &str) -> Vec<String> {
    (1..)
        .map_while(|n| q.get(&format!("{key}.{n}")).map(str::to_string))
        .collect()
}

/// How many structured entries `Key.1.*`, `Key.2.*`, … are present (up to the first gap).
fn count(q: &QueryMap, key: &str) -> usize {
    (1..)
        .take_while(|n| q.has_prefix(&format!("{key}.{n}")))
        .count()
}

/// One `Filter.N`: a name and the values any of which may match (`*` and `?` are wildcards).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

/// `Filter.N.Name` / `Filter.N.Value.M`, in order.
pub fn filters(q: &QueryMap) -> Result<Vec<Filter>, Ec2Error> {
    (1..=count(q, "Filter"))
        .map(|n| {
            let key = format!("Filter.{n}");
            let name = q
                .get(&format!("{key}.Name"))
                .ok_or_else(|| Ec2Error::missing(&format!("{key}.Name")))?;
            Ok(Filter {
                name: name.to_string(),
                values: list(q, &format!("{key}.Value")),
            })
        })
        .collect()
}

/// `{key}.N.Key` / `{key}.N.Value` pairs; a repeated key keeps its place and takes the last value.
pub fn tag_list(q: &QueryMap, key: &str) -> Result<Tags, Ec2Error> {
    let mut tags: Tags = Vec::new();
    for n in 1..=count(q, key) {
        let k = q
            .get(&format!("{key}.{n}.Key"))
            .ok_or_else(|| Ec2Error::missing(&format!("{key}.{n}.Key")))?;
        if k.starts_with("aws:") {
            return Err(Ec2Error::new(
                "InvalidParameterValue",
                "Tag keys starting with 'aws:' are reserved for internal use",
            ));
        }
        let v = q.get(&format!("{key}.{n}.Value")).unwrap_or("").to_string();
        match tags.iter_mut().find(|(tk, _)| tk == k) {
            Some(t) => t.1 = v,
            None => tags.push((k.to_string(), v)),
        }
    }
    Ok(tags)
}

/// The tags of `TagSpecification.N` entries for `resource_type`; another type is an error.
pub fn tag_specs(q: &QueryMap, resource_type: &str) -> Result<Tags, Ec2Error> {
    let mut tags: Tags = Vec::new();
    for n in 1..=count(q, "TagSpecification") {
        let key = format!("TagSpecification.{n}");
        let rt = q.get(&format!("{key}.ResourceType")).unwrap_or("");
        if rt != resource_type {
            return Err(Ec2Error::new(
                "InvalidParameterValue",
                format!("'{rt}' is not a valid taggable resource type for this operation."),
            ));
        }
        for (k, v) in tag_list(q, &format!("{key}.Tag"))? {
            match tags.iter_mut().find(|(tk, _)| *tk == k) {
                Some(t) => t.1 = v,
                None => tags.push((k, v)),
            }
        }
    }
    Ok(tags)
}

/// EC2 filter wildcards: `*` is any run of characters, `?` exactly one.
pub fn glob(pattern: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The values a filter name reads from an object; None when the name is not a filter of its kind.
fn attr_values(rec: &Ec2Rec, name: &str) -> Option<Vec<String>> {
    if let Some(k) = name.strip_prefix("tag:") {
        return Some(
            rec.tags
                .iter()
                .filter(|(tk, _)| tk == k)
                .map(|(_, v)| v.clone())
                .collect(),
        );
    }
    match name {
        "tag-key" => return Some(rec.tags.iter().map(|(k, _)| k.clone()).collect()),
        "tag-value" => return Some(rec.tags.iter().map(|(_, v)| v.clone()).collect()),
        _ => {}
    }
    let field = match (rec.kind.as_str(), name) {
        (VPC, "vpc-id") | (SUBNET, "subnet-id") | (SG, "group-id") | (AZ, "zone-name") => {
            return Some(vec![rec.id.clone()])
        }
        (VPC | SUBNET | SG, "owner-id") => "ownerId",
        (VPC | SUBNET | AZ, "state") => "state",
        (SUBNET | SG, "vpc-id") => "vpcId",
        (
            VPC | SUBNET,
            "cidr" | "cidr-block" | "cidrBlock" | "cidr-block-association.cidr-block",
        ) => "cidrBlock",
        (VPC, "is-default") => "isDefault",
        (VPC, "dhcp-options-id") => "dhcpOptionsId",
        (VPC, "instance-tenancy") => "instanceTenancy",
        (SUBNET, "availability-zone" | "availabilityZone") => "availabilityZone",
        (SUBNET, "availability-zone-id" | "availabilityZoneId") => "availabilityZoneId",
        (SUBNET, "default-for-az" | "defaultForAz") => "defaultForAz",
        (SUBNET, "map-public-ip-on-launch") => "mapPublicIpOnLaunch",
        (SUBNET, "available-ip-address-count" | "availableIpAddressCount") => {
            "availableIpAddressCount"
        }
        (SUBNET, "subnet-arn") => "subnetArn",
        (SG, "group-name") => "groupName",
        (SG, "description") => "groupDescription",
        (AZ, "zone-id") => "zoneId",
        (AZ, "region-name") => "regionName",
        (AZ, "zone-type") => "zoneType",
        (AZ, "group-name") => "groupName",
        (AZ, "opt-in-status") => "optInStatus",
        _ => return None,
    };
    Some(rec.fields.get(field).cloned().into_iter().collect())
}

/// Fails with AWS's `InvalidParameterValue` for a filter name `kind` does not know.
fn check_filters(kind: &str, filters: &[Filter]) -> Result<(), Ec2Error> {
    let probe = Ec2Rec {
        kind: kind.into(),
        id: String::new(),
        fields: BTreeMap::new(),
        tags: vec![],
        seq: 0,
    };
    match filters
        .iter()
        .find(|f| attr_values(&probe, &f.name).is_none())
    {
        Some(f) => Err(Ec2Error::new(
            "InvalidParameterValue",
            format!("The filter '{}' is invalid", f.name),
        )),
        None => Ok(()),
    }
}

/// Whether an object passes every filter (filters AND, values OR).
pub fn matches(rec: &Ec2Rec, filters: &[Filter]) -> bool {
    filters.iter().all(|f| {
        let have = attr_values(rec, &f.name).unwrap_or_default();
        f.values.iter().any(|pat| have.iter().any(|v| glob(pat, v)))
    })
}

fn required<'a>(q: &'a QueryMap, key: &str) -> Result<&'a str, Ec2Error> {
    q.get(key)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Ec2Error::missing(key))
}

// ---------------------------------------------------------------------------------------------
// Ids, zones and CIDRs

fn hex17(seed: &str) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))[..17].to_string()
}

fn random_hex17() -> String {
    format!("{:032x}", rand::random::<u128>())[..17].to_string()
}

/// The default VPC of (account, region): `vpc-` + 17 hex digits derived from both.
pub fn default_vpc_id(account: &str, region: &str) -> String {
    format!("vpc-{}", hex17(&format!("default-vpc|{account}|{region}")))
}

fn default_subnet_id(account: &str, region: &str, zone: &str) -> String {
    format!(
        "subnet-{}",
        hex17(&format!("default-subnet|{account}|{region}|{zone}"))
    )
}

/// The `default` security group of a VPC (every VPC has one): `sg-` + 17 hex digits derived
/// from the VPC id, so ELBv2 can name it without a lookup.
pub fn default_security_group_id(vpc_id: &str) -> String {
    format!("sg-{}", hex17(&format!("default-sg|{vpc_id}")))
}

/// The AZ names of a region: `{region}a`, `{region}b`, `{region}c`.
pub fn zone_names(region: &str) -> Vec<String> {
    AZ_LETTERS.iter().map(|l| format!("{region}{l}")).collect()
}

/// AWS's short region code used in zone ids: `us-east-1` → `use1`, `ap-southeast-2` → `apse2`.
fn region_code(region: &str) -> String {
    let parts: Vec<&str> = region.split('-').collect();
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i == 0 || i == parts.len() - 1 {
                return p.to_string();
            }
            match *p {
                "northeast" => "ne".into(),
                "northwest" => "nw".into(),
                "southeast" => "se".into(),
                "southwest" => "sw".into(),
                other => other.chars().next().map(String::from).unwrap_or_default(),
            }
        })
        .collect()
}

/// The zone id of one of the region's zones: `us-east-1b` → `use1-az2`.
pub fn zone_id(region: &str, zone: &str) -> Option<String> {
    let idx = zone_names(region).iter().position(|z| z == zone)?;
    Some(format!("{}-az{}", region_code(region), idx + 1))
}

fn partition(region: &str) -> &'static str {
    crate::elbv2::arn::partition(region)
}

/// `a.b.c.d/p` with zero host bits → (network, prefix length).
fn parse_cidr(s: &str) -> Option<(u32, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
    let net = u32::from(ip);
    (net & mask(len) == net).then_some((net, len))
}

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

fn cidr_contains(outer: (u32, u8), inner: (u32, u8)) -> bool {
    inner.1 >= outer.1 && inner.0 & mask(outer.1) == outer.0
}

fn cidr_overlaps(a: (u32, u8), b: (u32, u8)) -> bool {
    cidr_contains(a, b) || cidr_contains(b, a)
}

/// Addresses AWS leaves usable in a subnet: all but the first four and the last.
fn usable_ips(len: u8) -> u64 {
    (1u64 << (32 - u32::from(len))).saturating_sub(5)
}

// ---------------------------------------------------------------------------------------------
// Objects: synthesized defaults and stored rows

fn rec(kind: &str, id: String, fields: &[(&str, String)], tags: Tags, seq: u64) -> Ec2Rec {
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

fn vpc_rec(
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
fn subnet_rec(
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

fn sg_rec(
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
fn defaults(scope: &Scope) -> Vec<Ec2Rec> {
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
fn objects(scope: &Scope, kind: &str) -> Vec<Ec2Rec> {
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
fn find(scope: &Scope, kind: &str, id: &str) -> Option<Ec2Rec> {
    match scope.ec2.get(id) {
        Some(r) => (r.kind == kind).then(|| r.clone()),
        None => defaults(scope)
            .into_iter()
            .find(|r| r.kind == kind && r.id == id),
    }
}

/// Deletes an object: created rows go away, defaults get a tombstone.
fn remove(scope: &mut Scope, r: &Ec2Rec) {
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

fn field<'a>(r: &'a Ec2Rec, k: &str) -> &'a str {
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
    let digest = Sha256::digest(subnet_id.as_bytes());
    let idx = usize::from(digest[0]) % AZ_LETTERS.len();
    (
        default_vpc_id(&scope.account, region),
        format!("{region}{}", AZ_LETTERS[idx]),
    )
}

// ---------------------------------------------------------------------------------------------
// Response items

fn write_tags(w: &mut XmlWriter, tags: &Tags) {
    if tags.is_empty() {
        w.empty("tagSet");
        return;
    }
    w.open("tagSet");
    for (k, v) in tags {
        w.open("item");
        w.text("key", k);
        w.text("value", v);
        w.close("item");
    }
    w.close("tagSet");
}

fn write_vpc(w: &mut XmlWriter, r: &Ec2Rec) {
    w.text("vpcId", &r.id);
    w.text("ownerId", field(r, "ownerId"));
    w.text("state", field(r, "state"));
    w.text("cidrBlock", field(r, "cidrBlock"));
    w.open("cidrBlockAssociationSet");
    w.open("item");
    w.text("associationId", field(r, "associationId"));
    w.text("cidrBlock", field(r, "cidrBlock"));
    w.open("cidrBlockState");
    w.text("state", "associated");
    w.close("cidrBlockState");
    w.close("item");
    w.close("cidrBlockAssociationSet");
    w.empty("ipv6CidrBlockAssociationSet");
    w.text("dhcpOptionsId", field(r, "dhcpOptionsId"));
    write_tags(w, &r.tags);
    w.text("instanceTenancy", field(r, "instanceTenancy"));
    w.text("isDefault", field(r, "isDefault"));
}

fn write_subnet(w: &mut XmlWriter, r: &Ec2Rec) {
    w.text("subnetId", &r.id);
    w.text("subnetArn", field(r, "subnetArn"));
    w.text("state", field(r, "state"));
    w.text("ownerId", field(r, "ownerId"));
    w.text("vpcId", field(r, "vpcId"));
    w.text("cidrBlock", field(r, "cidrBlock"));
    w.empty("ipv6CidrBlockAssociationSet");
    w.text(
        "availableIpAddressCount",
        field(r, "availableIpAddressCount"),
    );
    w.text("availabilityZone", field(r, "availabilityZone"));
    w.text("availabilityZoneId", field(r, "availabilityZoneId"));
    w.text("defaultForAz", field(r, "defaultForAz"));
    w.text("mapPublicIpOnLaunch", field(r, "mapPublicIpOnLaunch"));
    w.text("mapCustomerOwnedIpOnLaunch", "false");
    w.text("assignIpv6AddressOnCreation", "false");
    w.text("enableDns64", "false");
    w.text("ipv6Native", "false");
    w.open("privateDnsNameOptionsOnLaunch");
    w.text("hostnameType", "ip-name");
    w.text("enableResourceNameDnsARecord", "false");
    w.text("enableResourceNameDnsAAAARecord", "false");
    w.close("privateDnsNameOptionsOnLaunch");
    write_tags(w, &r.tags);
}

fn write_sg(w: &mut XmlWriter, r: &Ec2Rec) {
    w.text("ownerId", field(r, "ownerId"));
    w.text("groupId", &r.id);
    w.text("groupName", field(r, "groupName"));
    w.text("groupDescription", field(r, "groupDescription"));
    w.text("vpcId", field(r, "vpcId"));
    w.text("securityGroupArn", field(r, "securityGroupArn"));
    w.empty("ipPermissions");
    // A new group allows all egress, as AWS's do.
    w.open("ipPermissionsEgress");
    w.open("item");
    w.text("ipProtocol", "-1");
    w.empty("groups");
    w.open("ipRanges");
    w.open("item");
    w.text("cidrIp", "0.0.0.0/0");
    w.close("item");
    w.close("ipRanges");
    w.empty("ipv6Ranges");
    w.empty("prefixListIds");
    w.close("item");
    w.close("ipPermissionsEgress");
    write_tags(w, &r.tags);
}

fn write_az(w: &mut XmlWriter, r: &Ec2Rec) {
    w.text("zoneName", &r.id);
    w.text("zoneState", field(r, "state"));
    w.text("regionName", field(r, "regionName"));
    w.text("zoneId", field(r, "zoneId"));
    w.text("zoneType", field(r, "zoneType"));
    w.text("groupName", field(r, "groupName"));
    w.text("networkBorderGroup", field(r, "groupName"));
    w.text("optInStatus", field(r, "optInStatus"));
    w.empty("messageSet");
}

/// `<{set}><item>…</item>…</{set}>`, or `<{set}/>` when empty.
fn write_set(set: &str, recs: &[Ec2Rec], item: fn(&mut XmlWriter, &Ec2Rec)) -> String {
    let mut w = XmlWriter::new();
    if recs.is_empty() {
        w.empty(set);
        return w.finish();
    }
    w.open(set);
    for r in recs {
        w.open("item");
        item(&mut w, r);
        w.close("item");
    }
    w.close(set);
    w.finish()
}

fn write_one(tag: &str, r: &Ec2Rec, item: fn(&mut XmlWriter, &Ec2Rec)) -> String {
    let mut w = XmlWriter::new();
    w.open(tag);
    item(&mut w, r);
    w.close(tag);
    w.finish()
}

// ---------------------------------------------------------------------------------------------
// Reads

fn vpc_not_found(id: &str) -> Ec2Error {
    Ec2Error::new(
        "InvalidVpcID.NotFound",
        format!("The vpc ID '{id}' does not exist"),
    )
}

fn subnet_not_found(id: &str) -> Ec2Error {
    Ec2Error::new(
        "InvalidSubnetID.NotFound",
        format!("The subnet ID '{id}' does not exist"),
    )
}

fn group_not_found(id: &str) -> Ec2Error {
    Ec2Error::new(
        "InvalidGroup.NotFound",
        format!("The security group '{id}' does not exist"),
    )
}

/// Objects of `kind` selected by ids (each must exist, else `not_found`) and filters.
fn select(
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

fn describe_vpcs(scope: &Scope, q: &QueryMap) -> Result<String, Ec2Error> {
    let vpcs = select(scope, VPC, q, "VpcId", vpc_not_found)?;
    Ok(write_set("vpcSet", &vpcs, write_vpc))
}

fn describe_subnets(scope: &Scope, q: &QueryMap) -> Result<String, Ec2Error> {
    let subnets = select(scope, SUBNET, q, "SubnetId", subnet_not_found)?;
    Ok(write_set("subnetSet", &subnets, write_subnet))
}

fn describe_security_groups(scope: &Scope, q: &QueryMap) -> Result<String, Ec2Error> {
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

fn zones(region: &str) -> Vec<Ec2Rec> {
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

fn describe_availability_zones(scope: &Scope, q: &QueryMap) -> Result<String, Ec2Error> {
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
fn describe_network_interfaces(q: &QueryMap) -> Result<String, Ec2Error> {
    if let Some(id) = list(q, "NetworkInterfaceId").first() {
        return Err(Ec2Error::new(
            "InvalidNetworkInterfaceID.NotFound",
            format!("The networkInterface ID '{id}' does not exist"),
        ));
    }
    Ok("<networkInterfaceSet/>".into())
}

// ---------------------------------------------------------------------------------------------
// Writes

fn create_vpc(scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
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

fn delete_vpc(scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
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

fn create_subnet(scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
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

fn delete_subnet(scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
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

fn create_security_group(scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
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

fn delete_security_group(scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
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
fn taggable(scope: &Scope, id: &str) -> Result<Ec2Rec, Ec2Error> {
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

fn tagged_resources(scope: &Scope, q: &QueryMap) -> Result<Vec<Ec2Rec>, Ec2Error> {
    let ids = list(q, "ResourceId");
    if ids.is_empty() {
        return Err(Ec2Error::missing("resourceIdSet"));
    }
    ids.iter().map(|id| taggable(scope, id)).collect()
}

fn create_tags(scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
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

fn delete_tags(scope: &mut Scope, q: &QueryMap) -> Result<String, Ec2Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn qm(pairs: &[(&str, &str)]) -> QueryMap {
        QueryMap::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn scope() -> Scope {
        Scope::new("123456789012", "us-east-1")
    }

    fn is_id(id: &str, prefix: &str) -> bool {
        id.strip_prefix(prefix)
            .is_some_and(|h| h.len() == 17 && h.chars().all(|c| c.is_ascii_hexdigit()))
    }

    /// Pulls the text of the first `<tag>` out of a document.
    fn text_of<'a>(doc: &'a str, tag: &str) -> &'a str {
        let open = format!("<{tag}>");
        let start = doc.find(&open).expect("tag present") + open.len();
        &doc[start..start + doc[start..].find('<').unwrap()]
    }

    #[test]
    fn flat_lists_are_numbered_from_one_in_order() {
        let q = qm(&[
            ("VpcId.2", "vpc-b"),
            ("VpcId.1", "vpc-a"),
            ("VpcId.10", "vpc-j"),
            ("Other.1", "x"),
        ]);
        assert_eq!(list(&q, "VpcId"), vec!["vpc-a", "vpc-b"]);
        assert!(list(&q, "SubnetId").is_empty());
    }

    #[test]
    fn filters_decode_names_and_values() {
        let q = qm(&[
            ("Filter.1.Name", "vpc-id"),
            ("Filter.1.Value.1", "vpc-1"),
            ("Filter.1.Value.2", "vpc-2"),
            ("Filter.2.Name", "tag:Name"),
            ("Filter.2.Value.1", "web*"),
        ]);
        let f = filters(&q).unwrap();
        assert_eq!(
            f[0],
            Filter {
                name: "vpc-id".into(),
                values: vec!["vpc-1".into(), "vpc-2".into()]
            }
        );
        assert_eq!(
            f[1],
            Filter {
                name: "tag:Name".into(),
                values: vec!["web*".into()]
            }
        );
        let err = filters(&qm(&[("Filter.1.Value.1", "x")])).unwrap_err();
        assert_eq!(err.code, "MissingParameter");
    }

    #[test]
    fn tag_specifications_keep_only_the_named_resource_type() {
        let q = qm(&[
            ("TagSpecification.1.ResourceType", "vpc"),
            ("TagSpecification.1.Tag.1.Key", "Name"),
            ("TagSpecification.1.Tag.1.Value", "main"),
            ("TagSpecification.1.Tag.2.Key", "empty"),
        ]);
        assert_eq!(
            tag_specs(&q, "vpc").unwrap(),
            vec![
                ("Name".into(), "main".into()),
                ("empty".into(), String::new())
            ]
        );
        assert_eq!(
            tag_specs(&q, "subnet").unwrap_err().code,
            "InvalidParameterValue"
        );
        assert!(tag_specs(&qm(&[]), "vpc").unwrap().is_empty());
    }

    #[test]
    fn glob_supports_star_and_question_mark() {
        assert!(glob("web*", "web-1"));
        assert!(glob("*", ""));
        assert!(glob("us-east-1?", "us-east-1b"));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("web", "web-1"));
        assert!(!glob("us-east-1?", "us-east-1"));
    }

    #[test]
    fn cidrs_parse_and_nest() {
        assert_eq!(parse_cidr("10.0.0.0/16"), Some((0x0a00_0000, 16)));
        assert_eq!(parse_cidr("10.0.0.1/16"), None);
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
        assert_eq!(parse_cidr("nope"), None);
        let vpc = parse_cidr("10.0.0.0/16").unwrap();
        assert!(cidr_contains(vpc, parse_cidr("10.0.1.0/24").unwrap()));
        assert!(!cidr_contains(vpc, parse_cidr("10.1.0.0/24").unwrap()));
        assert!(cidr_overlaps(
            parse_cidr("10.0.0.0/20").unwrap(),
            parse_cidr("10.0.15.0/24").unwrap()
        ));
        assert!(!cidr_overlaps(
            parse_cidr("10.0.0.0/20").unwrap(),
            parse_cidr("10.0.16.0/24").unwrap()
        ));
        assert_eq!(usable_ips(24), 251);
    }

    #[test]
    fn zone_ids_use_aws_region_codes() {
        assert_eq!(
            zone_id("us-east-1", "us-east-1a").as_deref(),
            Some("use1-az1")
        );
        assert_eq!(
            zone_id("ap-southeast-2", "ap-southeast-2c").as_deref(),
            Some("apse2-az3")
        );
        assert_eq!(
            zone_id("eu-central-1", "eu-central-1b").as_deref(),
            Some("euc1-az2")
        );
        assert_eq!(
            zone_id("us-gov-west-1", "us-gov-west-1a").as_deref(),
            Some("usgw1-az1")
        );
        assert_eq!(zone_id("us-east-1", "us-east-1z"), None);
    }

    #[test]
    fn default_ids_are_deterministic_and_aws_shaped() {
        let a = default_vpc_id("123456789012", "us-east-1");
        assert_eq!(a, default_vpc_id("123456789012", "us-east-1"));
        assert_ne!(a, default_vpc_id("123456789012", "us-west-2"));
        assert_ne!(a, default_vpc_id("000000000000", "us-east-1"));
        assert!(is_id(&a, "vpc-"));
        assert!(is_id(&format!("sg-{}", random_hex17()), "sg-"));
        let s = scope();
        let subnets = objects(&s, SUBNET);
        assert_eq!(subnets.len(), 3);
        assert!(subnets
            .iter()
            .all(|r| is_id(&r.id, "subnet-") && field(r, "vpcId") == a));
        assert_eq!(objects(&s, SG)[0].id, default_security_group_id(&a));
        assert!(is_id(&default_security_group_id(&a), "sg-"));
    }

    #[test]
    fn subnet_info_of_unknown_subnets_is_stable_and_spread() {
        let s = scope();
        let vpc = default_vpc_id("123456789012", "us-east-1");
        let first = subnet_info(&s, "us-east-1", "subnet-12345678");
        assert_eq!(first, subnet_info(&s, "us-east-1", "subnet-12345678"));
        assert_eq!(first.0, vpc);
        let zones: std::collections::BTreeSet<String> = (0..30)
            .map(|i| subnet_info(&s, "us-east-1", &format!("subnet-{i:08x}")).1)
            .collect();
        assert_eq!(
            zones.into_iter().collect::<Vec<_>>(),
            zone_names("us-east-1")
        );
    }

    #[test]
    fn subnet_info_of_known_subnets_is_their_own() {
        let mut s = scope();
        let vpc = create_vpc(&mut s, &qm(&[("CidrBlock", "10.0.0.0/16")])).unwrap();
        let vpc_id = text_of(&vpc, "vpcId").to_string();
        let q = qm(&[
            ("VpcId", &vpc_id),
            ("CidrBlock", "10.0.1.0/24"),
            ("AvailabilityZone", "us-east-1c"),
        ]);
        let sub = create_subnet(&mut s, &q).unwrap();
        let sub_id = text_of(&sub, "subnetId");
        assert_eq!(
            subnet_info(&s, "us-east-1", sub_id),
            (vpc_id, "us-east-1c".to_string())
        );
        let default = &objects(&s, SUBNET)[1];
        assert_eq!(
            subnet_info(&s, "us-east-1", &default.id),
            (
                default_vpc_id("123456789012", "us-east-1"),
                "us-east-1b".to_string()
            )
        );
    }

    #[test]
    fn filters_select_by_field_tag_and_wildcard() {
        let mut s = scope();
        let q = qm(&[
            ("CidrBlock", "10.0.0.0/16"),
            ("TagSpecification.1.ResourceType", "vpc"),
            ("TagSpecification.1.Tag.1.Key", "Name"),
            ("TagSpecification.1.Tag.1.Value", "main"),
        ]);
        create_vpc(&mut s, &q).unwrap();
        let count_vpcs = |pairs: &[(&str, &str)]| {
            describe_vpcs(&s, &qm(pairs))
                .unwrap()
                .matches("<vpcId>")
                .count()
        };
        assert_eq!(count_vpcs(&[]), 2);
        assert_eq!(
            count_vpcs(&[("Filter.1.Name", "tag:Name"), ("Filter.1.Value.1", "ma*")]),
            1
        );
        assert_eq!(
            count_vpcs(&[
                ("Filter.1.Name", "is-default"),
                ("Filter.1.Value.1", "true")
            ]),
            1
        );
        assert_eq!(
            count_vpcs(&[
                ("Filter.1.Name", "cidr"),
                ("Filter.1.Value.1", "172.31.0.0/16")
            ]),
            1
        );
        assert_eq!(
            count_vpcs(&[
                ("Filter.1.Name", "vpc-id"),
                ("Filter.1.Value.1", "vpc-nope")
            ]),
            0
        );
        let bad = describe_vpcs(
            &s,
            &qm(&[("Filter.1.Name", "bogus"), ("Filter.1.Value.1", "x")]),
        )
        .unwrap_err();
        assert_eq!(bad.code, "InvalidParameterValue");
        let missing = describe_vpcs(&s, &qm(&[("VpcId.1", "vpc-0123")])).unwrap_err();
        assert_eq!(
            (missing.code, missing.message.as_str()),
            (
                "InvalidVpcID.NotFound",
                "The vpc ID 'vpc-0123' does not exist"
            )
        );
    }

    #[test]
    fn vpc_lifecycle_checks_dependencies_and_duplicates() {
        let mut s = scope();
        let vpc = create_vpc(&mut s, &qm(&[("CidrBlock", "10.0.0.0/16")])).unwrap();
        let vpc_id = text_of(&vpc, "vpcId").to_string();
        assert!(is_id(&vpc_id, "vpc-"));
        let sub = create_subnet(
            &mut s,
            &qm(&[("VpcId", &vpc_id), ("CidrBlock", "10.0.0.0/24")]),
        )
        .unwrap();
        let sub_id = text_of(&sub, "subnetId").to_string();
        assert!(is_id(&sub_id, "subnet-"));
        assert_eq!(text_of(&sub, "availabilityZone"), "us-east-1a");
        assert_eq!(text_of(&sub, "availableIpAddressCount"), "251");
        let conflict = create_subnet(
            &mut s,
            &qm(&[("VpcId", &vpc_id), ("CidrBlock", "10.0.0.128/25")]),
        )
        .unwrap_err();
        assert_eq!(conflict.code, "InvalidSubnet.Conflict");
        let range = create_subnet(
            &mut s,
            &qm(&[("VpcId", &vpc_id), ("CidrBlock", "10.9.0.0/24")]),
        )
        .unwrap_err();
        assert_eq!(range.code, "InvalidSubnet.Range");

        let sg_q = [
            ("GroupName", "web"),
            ("GroupDescription", "web"),
            ("VpcId", vpc_id.as_str()),
        ];
        let sg = create_security_group(&mut s, &qm(&sg_q)).unwrap();
        let sg_id = text_of(&sg, "groupId").to_string();
        assert!(is_id(&sg_id, "sg-"));
        assert!(find(&s, SG, &default_security_group_id(&vpc_id)).is_some());
        assert_eq!(
            create_security_group(&mut s, &qm(&sg_q)).unwrap_err().code,
            "InvalidGroup.Duplicate"
        );

        let dep = delete_vpc(&mut s, &qm(&[("VpcId", &vpc_id)])).unwrap_err();
        assert_eq!(dep.code, "DependencyViolation");
        delete_subnet(&mut s, &qm(&[("SubnetId", &sub_id)])).unwrap();
        assert_eq!(
            delete_vpc(&mut s, &qm(&[("VpcId", &vpc_id)]))
                .unwrap_err()
                .code,
            "DependencyViolation"
        );
        delete_security_group(&mut s, &qm(&[("GroupId", &sg_id)])).unwrap();
        delete_vpc(&mut s, &qm(&[("VpcId", &vpc_id)])).unwrap();
        // Only the defaults are left, and the VPC's own default group went with it.
        assert_eq!(objects(&s, VPC).len(), 1);
        assert_eq!(objects(&s, SG).len(), 1);
        assert!(s.ec2.is_empty());
    }

    #[test]
    fn default_objects_can_be_tagged_and_deleted() {
        let mut s = scope();
        let vpc = default_vpc_id("123456789012", "us-east-1");
        let q = qm(&[
            ("ResourceId.1", &vpc),
            ("Tag.1.Key", "Name"),
            ("Tag.1.Value", "dflt"),
        ]);
        create_tags(&mut s, &q).unwrap();
        assert_eq!(
            find(&s, VPC, &vpc).unwrap().tags,
            vec![("Name".to_string(), "dflt".to_string())]
        );
        assert_eq!(objects(&s, VPC).len(), 1);
        assert_eq!(
            delete_vpc(&mut s, &qm(&[("VpcId", &vpc)]))
                .unwrap_err()
                .code,
            "DependencyViolation"
        );
        for sub in objects(&s, SUBNET) {
            delete_subnet(&mut s, &qm(&[("SubnetId", &sub.id)])).unwrap();
        }
        let sg = &objects(&s, SG)[0];
        assert_eq!(
            delete_security_group(&mut s, &qm(&[("GroupId", &sg.id)]))
                .unwrap_err()
                .code,
            "CannotDelete"
        );
        delete_vpc(&mut s, &qm(&[("VpcId", &vpc)])).unwrap();
        assert!(
            objects(&s, VPC).is_empty()
                && objects(&s, SUBNET).is_empty()
                && objects(&s, SG).is_empty()
        );
    }

    #[test]
    fn describe_security_groups_by_name_uses_the_default_vpc() {
        let s = scope();
        let doc = describe_security_groups(&s, &qm(&[("GroupName.1", "default")])).unwrap();
        assert_eq!(
            text_of(&doc, "vpcId"),
            default_vpc_id("123456789012", "us-east-1")
        );
        let err = describe_security_groups(&s, &qm(&[("GroupName.1", "nope")])).unwrap_err();
        assert_eq!(err.code, "InvalidGroup.NotFound");
    }

    #[test]
    fn availability_zones_and_network_interfaces() {
        let s = scope();
        let doc = describe_availability_zones(&s, &qm(&[])).unwrap();
        assert_eq!(doc.matches("<zoneName>").count(), 3);
        assert_eq!(text_of(&doc, "zoneId"), "use1-az1");
        let one = describe_availability_zones(
            &s,
            &qm(&[
                ("Filter.1.Name", "zone-id"),
                ("Filter.1.Value.1", "use1-az2"),
            ]),
        )
        .unwrap();
        assert_eq!(text_of(&one, "zoneName"), "us-east-1b");
        let q = qm(&[
            ("Filter.1.Name", "description"),
            ("Filter.1.Value.1", "ELB app/x/y"),
        ]);
        assert_eq!(
            describe_network_interfaces(&q).unwrap(),
            "<networkInterfaceSet/>"
        );
    }

    #[test]
    fn documents_have_ec2_shapes() {
        let e = Ec2Error::new("InvalidAction", "a <b>");
        let doc = error_document(&e, "rid-1");
        assert!(doc.ends_with(
            "<Response><Errors><Error><Code>InvalidAction</Code><Message>a &lt;b&gt;</Message></Error></Errors><RequestID>rid-1</RequestID></Response>"
        ));
        let ok = envelope("DescribeVpcs", "<vpcSet/>", "rid-2");
        assert!(ok.ends_with(
            "<DescribeVpcsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>rid-2</requestId><vpcSet/></DescribeVpcsResponse>"
        ));
    }
}
