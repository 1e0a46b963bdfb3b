//! Ids, availability zones and CIDR arithmetic.

use super::common::*;

/// SHA-256 of `data` (ring's, the one rustls already builds).
pub(super) fn sha256(data: &[u8]) -> ring::digest::Digest {
    ring::digest::digest(&ring::digest::SHA256, data)
}

pub(super) fn hex17(seed: &str) -> String {
    hex::encode(sha256(seed.as_bytes()))[..17].to_string()
}

pub(super) fn random_hex17() -> String {
    format!("{:032x}", rand::random::<u128>())[..17].to_string()
}

/// The default VPC of (account, region): `vpc-` + 17 hex digits derived from both.
pub fn default_vpc_id(account: &str, region: &str) -> String {
    format!("vpc-{}", hex17(&format!("default-vpc|{account}|{region}")))
}

pub(super) fn default_subnet_id(account: &str, region: &str, zone: &str) -> String {
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
pub(super) fn region_code(region: &str) -> String {
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

pub(super) fn partition(region: &str) -> &'static str {
    crate::elbv2::arn::partition(region)
}

/// `a.b.c.d/p` with zero host bits → (network, prefix length).
pub(super) fn parse_cidr(s: &str) -> Option<(u32, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
    let net = u32::from(ip);
    (net & mask(len) == net).then_some((net, len))
}

pub(super) fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

pub(super) fn cidr_contains(outer: (u32, u8), inner: (u32, u8)) -> bool {
    inner.1 >= outer.1 && inner.0 & mask(outer.1) == outer.0
}

pub(super) fn cidr_overlaps(a: (u32, u8), b: (u32, u8)) -> bool {
    cidr_contains(a, b) || cidr_contains(b, a)
}

/// Addresses AWS leaves usable in a subnet: all but the first four and the last.
pub(super) fn usable_ips(len: u8) -> u64 {
    (1u64 << (32 - u32::from(len))).saturating_sub(5)
}
