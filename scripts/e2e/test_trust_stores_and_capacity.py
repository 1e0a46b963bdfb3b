"""Trust stores (mTLS CA bundles and CRLs read from the --s3-dir stand-in for S3), shared-association and
resource-policy calls, capacity reservations, IPAM pools, and the EC2 subset a load balancer is built on.

Real PEM material is made once per module with the `openssl` CLI: two CA certificates (RSA + EC), a leaf-less
`openssl ca` setup that issues two certificates and revokes both, and the resulting CRL (PEM and DER).
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

import support
from support import raises_code

BUCKET = "e2e-bucket"
OTHER_ACCOUNT_LB = "arn:aws:elasticloadbalancing:us-east-1:999999999999:loadbalancer/app/x/0123456789abcdef"
GHOST_LB = "arn:aws:elasticloadbalancing:us-east-1:{account}:loadbalancer/app/ghost/0123456789abcdef"

CA_CNF = """\
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = ./demoCA
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = ./ca.pem
private_key = ./ca.key
default_md = sha256
default_days = 10
default_crl_days = 7
policy = pol
copy_extensions = none
[ pol ]
commonName = supplied
"""


def _openssl(cwd: Path, *args: str) -> None:
    p = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")


@pytest.fixture(scope="module")
def pki(tmp_path_factory, s3_dir) -> dict:
    """CA bundles and a CRL revoking 2 certificates, written under s3://BUCKET/ (i.e. s3_dir/BUCKET/)."""
    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not found")
    d = tmp_path_factory.mktemp("pki")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")
    _openssl(d, "req", "-x509", *ec, "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=E2E Root CA")
    _openssl(d, "req", "-x509", *ec, "-nodes", "-keyout", "ca2.key", "-out", "ca2.pem", "-days", "30", "-subj", "/CN=E2E Second CA")
    (d / "ca.cnf").write_text(CA_CNF)
    db = d / "demoCA"
    (db / "newcerts").mkdir(parents=True)
    (db / "index.txt").write_text("")
    (db / "serial").write_text("1000\n")
    (db / "crlnumber").write_text("1000\n")
    for i in (1, 2):
        _openssl(d, "req", "-new", *ec, "-nodes", "-keyout", f"c{i}.key", "-out", f"c{i}.csr", "-subj", f"/CN=client{i}")
        _openssl(d, "ca", "-batch", "-config", "ca.cnf", "-notext", "-in", f"c{i}.csr", "-out", f"c{i}.pem")
        _openssl(d, "ca", "-config", "ca.cnf", "-revoke", f"c{i}.pem")
    _openssl(d, "ca", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem")
    _openssl(d, "crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der")

    bucket = s3_dir / BUCKET
    (bucket / "ca").mkdir(parents=True, exist_ok=True)
    (bucket / "crl").mkdir(parents=True, exist_ok=True)
    bundle = (d / "ca.pem").read_text() + (d / "ca2.pem").read_text()
    (bucket / "ca/bundle.pem").write_text(bundle)
    shutil.copy(d / "ca.pem", bucket / "ca/one.pem")
    (bucket / "ca/junk.txt").write_text("this is not a PEM certificate\n")
    shutil.copy(d / "ca.key", bucket / "ca/key.pem")
    shutil.copy(d / "crl.pem", bucket / "crl/crl.pem")
    shutil.copy(d / "crl.der", bucket / "crl/crl.der")
    return {"bundle": bundle, "crl_pem": (d / "crl.pem").read_text()}


def create_ts(elbv2, key="ca/bundle.pem", *, name=None, **kw) -> dict:
    return elbv2.create_trust_store(
        Name=name or support.unique("ts"), CaCertificatesBundleS3Bucket=BUCKET, CaCertificatesBundleS3Key=key, **kw
    )["TrustStores"][0]


def fetch(location: str) -> str:
    with urllib.request.urlopen(location, timeout=10) as r:
        return r.read().decode()


def account_of(arn: str) -> str:
    return arn.split(":")[4]


# --------------------------------------------------------------------------------------------------
# Trust stores
# --------------------------------------------------------------------------------------------------


def test_create_trust_store_bundle_errors(elbv2, pki):
    """CreateTrustStore: a missing S3 object is CaCertificatesBundleNotFound, non-certificate PEM/text is InvalidCaCertificatesBundle."""
    with raises_code("CaCertificatesBundleNotFound"):
        create_ts(elbv2, "ca/missing.pem")
    with raises_code("CaCertificatesBundleNotFound"):
        elbv2.create_trust_store(
            Name="ts-x", CaCertificatesBundleS3Bucket="no-such-bucket", CaCertificatesBundleS3Key="ca/bundle.pem"
        )
    with raises_code("InvalidCaCertificatesBundle"):
        create_ts(elbv2, "ca/junk.txt")
    with raises_code("InvalidCaCertificatesBundle"):
        create_ts(elbv2, "ca/key.pem")
    assert elbv2.describe_trust_stores()["TrustStores"] == []


def test_trust_store_lifecycle(elbv2, pki):
    """Create/Describe/Modify/Delete trust store: ACTIVE with the CA count, unique names, bundle download, TrustStoreNotFound after delete."""
    ts = create_ts(elbv2, name="ts-a", Tags=[{"Key": "env", "Value": "e2e"}])
    arn = ts["TrustStoreArn"]
    assert ts["Status"] == "ACTIVE"
    assert ts["NumberOfCaCertificates"] == 2 and ts["TotalRevokedEntries"] == 0
    assert ":truststore/ts-a/" in arn
    with raises_code("DuplicateTrustStoreName"):
        create_ts(elbv2, name="ts-a")
    create_ts(elbv2, "ca/one.pem", name="ts-b")

    assert [t["Name"] for t in elbv2.describe_trust_stores()["TrustStores"]] == ["ts-a", "ts-b"]
    by_name = elbv2.describe_trust_stores(Names=["ts-b"])["TrustStores"]
    assert len(by_name) == 1 and by_name[0]["NumberOfCaCertificates"] == 1
    assert elbv2.describe_trust_stores(TrustStoreArns=[arn])["TrustStores"][0]["Name"] == "ts-a"
    with raises_code("TrustStoreNotFound"):
        elbv2.describe_trust_stores(Names=["nope"])
    assert elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"] == [{"Key": "env", "Value": "e2e"}]

    loc = elbv2.get_trust_store_ca_certificates_bundle(TrustStoreArn=arn)["Location"]
    assert fetch(loc) == pki["bundle"]

    mod = elbv2.modify_trust_store(TrustStoreArn=arn, CaCertificatesBundleS3Bucket=BUCKET, CaCertificatesBundleS3Key="ca/one.pem")
    assert mod["TrustStores"][0]["NumberOfCaCertificates"] == 1
    with raises_code("InvalidCaCertificatesBundle"):
        elbv2.modify_trust_store(TrustStoreArn=arn, CaCertificatesBundleS3Bucket=BUCKET, CaCertificatesBundleS3Key="ca/junk.txt")
    assert elbv2.describe_trust_stores(TrustStoreArns=[arn])["TrustStores"][0]["NumberOfCaCertificates"] == 1

    elbv2.delete_trust_store(TrustStoreArn=arn)
    with raises_code("TrustStoreNotFound"):
        elbv2.delete_trust_store(TrustStoreArn=arn)
    with raises_code("TrustStoreNotFound"):
        elbv2.get_trust_store_ca_certificates_bundle(TrustStoreArn=arn)
    assert [t["Name"] for t in elbv2.describe_trust_stores()["TrustStores"]] == ["ts-b"]


def test_trust_store_revocations(elbv2, pki):
    """Add/Describe/Get/RemoveTrustStoreRevocations: PEM and DER CRLs count their revoked serials; unknown ids are RevocationIdNotFound."""
    arn = create_ts(elbv2)["TrustStoreArn"]
    added = elbv2.add_trust_store_revocations(
        TrustStoreArn=arn,
        RevocationContents=[
            {"S3Bucket": BUCKET, "S3Key": "crl/crl.pem", "RevocationType": "CRL"},
            {"S3Bucket": BUCKET, "S3Key": "crl/crl.der"},
        ],
    )["TrustStoreRevocations"]
    assert [(r["RevocationId"], r["NumberOfRevokedEntries"], r["RevocationType"]) for r in added] == [(1, 2, "CRL"), (2, 2, "CRL")]
    assert all(r["TrustStoreArn"] == arn for r in added)
    assert elbv2.describe_trust_stores(TrustStoreArns=[arn])["TrustStores"][0]["TotalRevokedEntries"] == 4

    listed = elbv2.describe_trust_store_revocations(TrustStoreArn=arn)["TrustStoreRevocations"]
    assert [r["RevocationId"] for r in listed] == [1, 2]
    one = elbv2.describe_trust_store_revocations(TrustStoreArn=arn, RevocationIds=[2])["TrustStoreRevocations"]
    assert [r["RevocationId"] for r in one] == [2]
    with raises_code("RevocationIdNotFound"):
        elbv2.describe_trust_store_revocations(TrustStoreArn=arn, RevocationIds=[7])

    assert fetch(elbv2.get_trust_store_revocation_content(TrustStoreArn=arn, RevocationId=1)["Location"]).strip() == pki["crl_pem"].strip()
    assert fetch(elbv2.get_trust_store_revocation_content(TrustStoreArn=arn, RevocationId=2)["Location"]).startswith("-----BEGIN X509 CRL-----")
    with raises_code("RevocationIdNotFound"):
        elbv2.get_trust_store_revocation_content(TrustStoreArn=arn, RevocationId=9)

    with raises_code("RevocationIdNotFound"):
        elbv2.remove_trust_store_revocations(TrustStoreArn=arn, RevocationIds=[1, 9])
    assert elbv2.describe_trust_stores(TrustStoreArns=[arn])["TrustStores"][0]["TotalRevokedEntries"] == 4  # all-or-nothing
    elbv2.remove_trust_store_revocations(TrustStoreArn=arn, RevocationIds=[1])
    assert [r["RevocationId"] for r in elbv2.describe_trust_store_revocations(TrustStoreArn=arn)["TrustStoreRevocations"]] == [2]
    assert elbv2.describe_trust_stores(TrustStoreArns=[arn])["TrustStores"][0]["TotalRevokedEntries"] == 2


def test_trust_store_associations_and_in_use(elbv2, net, pki):
    """A trust store used by an HTTPS listener's mutual TLS is listed as associated and cannot be deleted (TrustStoreInUse)."""
    arn = create_ts(elbv2)["TrustStoreArn"]
    assert elbv2.describe_trust_store_associations(TrustStoreArn=arn)["TrustStoreAssociations"] == []
    lb = support.create_lb(elbv2, net)
    tg = support.create_tg(elbv2, lb["VpcId"])
    listener = support.create_listener(
        elbv2,
        lb["LoadBalancerArn"],
        tg["TargetGroupArn"],
        protocol="HTTPS",
        Certificates=[{"CertificateArn": support.CERT_ARN}],
        MutualAuthentication={"Mode": "verify", "TrustStoreArn": arn},
    )
    assert listener["MutualAuthentication"]["TrustStoreArn"] == arn
    assoc = elbv2.describe_trust_store_associations(TrustStoreArn=arn)["TrustStoreAssociations"]
    assert assoc == [{"ResourceArn": lb["LoadBalancerArn"]}]
    with raises_code("TrustStoreInUse"):
        elbv2.delete_trust_store(TrustStoreArn=arn)

    elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    assert elbv2.describe_trust_store_associations(TrustStoreArn=arn)["TrustStoreAssociations"] == []
    elbv2.delete_trust_store(TrustStoreArn=arn)
    assert elbv2.describe_trust_stores()["TrustStores"] == []


def test_shared_association_and_resource_policy(elbv2, pki):
    """DeleteSharedTrustStoreAssociation refuses the owner's own resources (DeleteAssociationSameAccount); an unshared store has no resource policy (ResourceNotFound)."""
    arn = create_ts(elbv2)["TrustStoreArn"]
    own_lb = GHOST_LB.format(account=account_of(arn))
    with raises_code("DeleteAssociationSameAccount"):
        elbv2.delete_shared_trust_store_association(TrustStoreArn=arn, ResourceArn=own_lb)
    with raises_code("AssociationNotFound"):
        elbv2.delete_shared_trust_store_association(TrustStoreArn=arn, ResourceArn=OTHER_ACCOUNT_LB)
    with raises_code("ResourceNotFound"):
        elbv2.get_resource_policy(ResourceArn=arn)


# --------------------------------------------------------------------------------------------------
# Capacity reservations and IPAM pools
# --------------------------------------------------------------------------------------------------


def test_capacity_and_ip_pools_on_missing_lb(elbv2, net):
    """Capacity and IPAM calls on an unknown load balancer ARN are LoadBalancerNotFound."""
    account = account_of(support.create_lb(elbv2, net)["LoadBalancerArn"])
    ghost = GHOST_LB.format(account=account)
    with raises_code("LoadBalancerNotFound"):
        elbv2.describe_capacity_reservation(LoadBalancerArn=ghost)
    with raises_code("LoadBalancerNotFound"):
        elbv2.modify_capacity_reservation(LoadBalancerArn=ghost, MinimumLoadBalancerCapacity={"CapacityUnits": 100})
    with raises_code("LoadBalancerNotFound"):
        elbv2.modify_ip_pools(LoadBalancerArn=ghost, IpamPools={"Ipv4IpamPoolId": "ipam-pool-0abc"})


def test_modify_capacity_reservation(elbv2, net):
    """ModifyCapacityReservation provisions per AZ, and after the 2 daily decreases further decreases are CapacityDecreaseRequestLimitExceeded."""
    lb = support.create_lb(elbv2, net)
    la = lb["LoadBalancerArn"]
    r0 = elbv2.describe_capacity_reservation(LoadBalancerArn=la)
    assert r0["DecreaseRequestsRemaining"] == 2 and "MinimumLoadBalancerCapacity" not in r0

    r1 = elbv2.modify_capacity_reservation(LoadBalancerArn=la, MinimumLoadBalancerCapacity={"CapacityUnits": 300})
    assert r1["MinimumLoadBalancerCapacity"]["CapacityUnits"] == 300
    assert len(r1["CapacityReservationState"]) == len(lb["AvailabilityZones"])
    assert all(s["State"]["Code"] == "provisioned" for s in r1["CapacityReservationState"])
    assert "LastModifiedTime" in r1
    assert elbv2.describe_capacity_reservation(LoadBalancerArn=la)["MinimumLoadBalancerCapacity"]["CapacityUnits"] == 300

    elbv2.modify_capacity_reservation(LoadBalancerArn=la, MinimumLoadBalancerCapacity={"CapacityUnits": 200})  # decrease 1
    r2 = elbv2.modify_capacity_reservation(LoadBalancerArn=la, ResetCapacityReservation=True)  # decrease 2
    assert r2["DecreaseRequestsRemaining"] == 0
    assert r2["MinimumLoadBalancerCapacity"]["CapacityUnits"] == 0
    elbv2.modify_capacity_reservation(LoadBalancerArn=la, MinimumLoadBalancerCapacity={"CapacityUnits": 500})  # increases stay allowed
    with raises_code("CapacityDecreaseRequestLimitExceeded"):
        elbv2.modify_capacity_reservation(LoadBalancerArn=la, MinimumLoadBalancerCapacity={"CapacityUnits": 400})
    assert elbv2.describe_capacity_reservation(LoadBalancerArn=la)["MinimumLoadBalancerCapacity"]["CapacityUnits"] == 500


def test_modify_ip_pools(elbv2, net):
    """ModifyIpPools sets and removes an ALB's IPv4 IPAM pool; on a network load balancer it is InvalidConfigurationRequest."""
    la = support.create_lb(elbv2, net)["LoadBalancerArn"]
    r = elbv2.modify_ip_pools(LoadBalancerArn=la, IpamPools={"Ipv4IpamPoolId": "ipam-pool-0abc"})
    assert r["IpamPools"]["Ipv4IpamPoolId"] == "ipam-pool-0abc"
    lb = elbv2.describe_load_balancers(LoadBalancerArns=[la])["LoadBalancers"][0]
    assert lb.get("IpamPools", {}).get("Ipv4IpamPoolId") == "ipam-pool-0abc"
    r = elbv2.modify_ip_pools(LoadBalancerArn=la, RemoveIpamPools=["ipv4"])
    assert "Ipv4IpamPoolId" not in r.get("IpamPools", {})
    assert "Ipv4IpamPoolId" not in elbv2.describe_load_balancers(LoadBalancerArns=[la])["LoadBalancers"][0].get("IpamPools", {})

    nlb = support.create_lb(elbv2, net, type="network")
    with raises_code("InvalidConfigurationRequest"):
        elbv2.modify_ip_pools(LoadBalancerArn=nlb["LoadBalancerArn"], IpamPools={"Ipv4IpamPoolId": "ipam-pool-0abc"})


# --------------------------------------------------------------------------------------------------
# EC2
# --------------------------------------------------------------------------------------------------


def test_ec2_network_for_load_balancer(ec2, elbv2):
    """EC2 Create/Describe VPC, subnets and security groups; a load balancer on those subnets takes their VPC and AZs."""
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]
    vpc_id = vpc["VpcId"]
    assert vpc["CidrBlock"] == "10.77.0.0/16"
    subnets = {
        az: ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=f"{support.REGION}{az}")["Subnet"]
        for az, cidr in (("a", "10.77.1.0/24"), ("b", "10.77.2.0/24"))
    }
    sg = ec2.create_security_group(GroupName=support.unique("e2e-group"), Description="e2e", VpcId=vpc_id)["GroupId"]

    assert [v["VpcId"] for v in ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]] == [vpc_id]
    described = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert {s["SubnetId"]: s["AvailabilityZone"] for s in described} == {
        s["SubnetId"]: f"{support.REGION}{az}" for az, s in subnets.items()
    }
    assert all(s["VpcId"] == vpc_id for s in described)
    groups = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"]
    assert len(groups) == 1 and groups[0]["VpcId"] == vpc_id
    zones = {z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]}
    assert {f"{support.REGION}a", f"{support.REGION}b"} <= zones
    assert isinstance(ec2.describe_network_interfaces()["NetworkInterfaces"], list)

    lb = elbv2.create_load_balancer(
        Name=support.unique("alb"), Subnets=[s["SubnetId"] for s in subnets.values()], SecurityGroups=[sg]
    )["LoadBalancers"][0]
    assert lb["VpcId"] == vpc_id
    assert lb["SecurityGroups"] == [sg]
    assert sorted((z["ZoneName"], z["SubnetId"]) for z in lb["AvailabilityZones"]) == sorted(
        (f"{support.REGION}{az}", s["SubnetId"]) for az, s in subnets.items()
    )


def test_revocation_content_errors(elbv2, pki):
    """AddTrustStoreRevocations: a missing S3 object is RevocationContentNotFound; a file that is not a CRL is InvalidRevocationContent."""
    arn = create_ts(elbv2)["TrustStoreArn"]
    with raises_code("RevocationContentNotFound"):
        elbv2.add_trust_store_revocations(
            TrustStoreArn=arn, RevocationContents=[{"S3Bucket": BUCKET, "S3Key": "crl/missing.pem"}]
        )
    with raises_code("InvalidRevocationContent"):
        elbv2.add_trust_store_revocations(
            TrustStoreArn=arn, RevocationContents=[{"S3Bucket": BUCKET, "S3Key": "ca/junk.txt"}]
        )
    assert elbv2.describe_trust_store_revocations(TrustStoreArn=arn)["TrustStoreRevocations"] == []


def test_too_many_trust_stores(elbv2, pki):
    """Creating trust stores beyond the trust-stores-per-account quota (20) is TooManyTrustStores."""
    for i in range(20):
        create_ts(elbv2, name=f"quota-ts-{i}")
    with raises_code("TooManyTrustStores"):
        create_ts(elbv2, name="quota-ts-20")


def test_capacity_units_limit(elbv2, net):
    """A capacity reservation above the load balancer's maximum LCUs is CapacityUnitsLimitExceeded."""
    lb = support.create_lb(elbv2, net)
    with raises_code("CapacityUnitsLimitExceeded"):
        elbv2.modify_capacity_reservation(
            LoadBalancerArn=lb["LoadBalancerArn"], MinimumLoadBalancerCapacity={"CapacityUnits": 1_000_000}
        )
