//! Request codec: EC2 flat lists, filters and tag specifications.

use super::common::*;

/// The values of an EC2 flat list `Key.1`, `Key.2`, … in order, up to the first missing index.
pub fn list(q: &QueryMap, key: &str) -> Vec<String> {
    (1..)
        .map_while(|n| q.get(&format!("{key}.{n}")).map(str::to_string))
        .collect()
}

/// How many structured entries `Key.1.*`, `Key.2.*`, … are present (up to the first gap).
pub(super) fn count(q: &QueryMap, key: &str) -> usize {
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
pub(super) fn attr_values(rec: &Ec2Rec, name: &str) -> Option<Vec<String>> {
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
pub(super) fn check_filters(kind: &str, filters: &[Filter]) -> Result<(), Ec2Error> {
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

pub(super) fn required<'a>(q: &'a QueryMap, key: &str) -> Result<&'a str, Ec2Error> {
    q.get(key)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Ec2Error::missing(key))
}
