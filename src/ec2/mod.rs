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
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

mod addressing;
mod codec;
mod objects;
mod reads;
mod render;
mod writes;

use addressing::*;
use codec::*;
use objects::*;

pub use addressing::{default_security_group_id, default_vpc_id, zone_id, zone_names};
pub use objects::subnet_info;
use reads::*;
use render::*;
use writes::*;

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
