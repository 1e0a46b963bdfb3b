//! Response items: the XML of each object kind.

use super::common::*;
use super::objects::*;

pub(super) fn write_tags(w: &mut XmlWriter, tags: &Tags) {
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

pub(super) fn write_vpc(w: &mut XmlWriter, r: &Ec2Rec) {
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

pub(super) fn write_subnet(w: &mut XmlWriter, r: &Ec2Rec) {
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

pub(super) fn write_sg(w: &mut XmlWriter, r: &Ec2Rec) {
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

pub(super) fn write_az(w: &mut XmlWriter, r: &Ec2Rec) {
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
pub(super) fn write_set(set: &str, recs: &[Ec2Rec], item: fn(&mut XmlWriter, &Ec2Rec)) -> String {
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

pub(super) fn write_one(tag: &str, r: &Ec2Rec, item: fn(&mut XmlWriter, &Ec2Rec)) -> String {
    let mut w = XmlWriter::new();
    w.open(tag);
    item(&mut w, r);
    w.close(tag);
    w.finish()
}
