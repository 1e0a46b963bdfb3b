use super::content::pem_block;
use super::*;
use crate::elbv2::CallCtx;
use crate::health::HealthTable;
use crate::state::{ListenerRec, Scope};
use api_models::TrustStores as _;
use std::collections::BTreeMap;
use std::sync::Arc;

fn ca_pem() -> String {
    rcgen::generate_simple_self_signed(vec!["ca.test".to_string()])
        .unwrap()
        .cert
        .pem()
}

/// A CRL with `n` revoked serials, as DER.
fn crl_der(n: u64) -> Vec<u8> {
    use rcgen::{
        CertificateParams, CertificateRevocationListParams, Issuer, KeyIdMethod, KeyPair,
        RevokedCertParams, SerialNumber,
    };
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["ca.test".to_string()]).unwrap();
    let issuer = Issuer::new(params, key);
    let now = time::OffsetDateTime::now_utc();
    let crl = CertificateRevocationListParams {
        this_update: now,
        next_update: now + time::Duration::days(1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: (0..n)
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from(s + 100),
                revocation_time: now,
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .unwrap();
    crl.der().to_vec()
}

#[test]
fn names() {
    for ok in ["a", "my-store", "A1-b2-C3", &"x".repeat(32)] {
        assert!(valid_name(ok), "{ok}");
    }
    for bad in ["", "-a", "a-", "a--b", "a_b", "a.b", &"x".repeat(33)] {
        assert!(!valid_name(bad), "{bad}");
    }
    assert_eq!(check_name("a_b").unwrap_err().code(), "ValidationError");
}

#[test]
fn s3_paths_stay_inside_the_dir() {
    let d = Path::new("/srv/s3");
    assert_eq!(
        s3_path(Some(d), "b", "k/x.pem"),
        Some(PathBuf::from("/srv/s3/b/k/x.pem"))
    );
    assert_eq!(
        s3_path(Some(d), "b", "/k.pem"),
        Some(PathBuf::from("/srv/s3/b/k.pem"))
    );
    assert_eq!(s3_path(Some(d), "b", "../k"), None);
    assert_eq!(s3_path(Some(d), "..", "k"), None);
    assert_eq!(s3_path(Some(d), "a/b", "k"), None);
    assert_eq!(s3_path(Some(d), "b", ""), None);
    assert_eq!(s3_path(None, "b", "k"), None);
}

#[test]
fn base64_vectors() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
}

#[test]
fn ca_bundles() {
    let two = format!("{}{}", ca_pem(), ca_pem());
    assert_eq!(parse_ca_bundle(two.as_bytes()).unwrap().0, 2);
    assert!(parse_ca_bundle(b"hello").is_err());
    assert!(parse_ca_bundle(b"").is_err());
    let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert!(parse_ca_bundle(garbage.as_bytes()).is_err());
    let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    assert!(parse_ca_bundle(format!("{}{key}", ca_pem()).as_bytes()).is_err());
}

#[test]
fn crls_der_and_pem() {
    let der = crl_der(3);
    assert_eq!(crl_entries(&der), Some(3));
    assert_eq!(crl_entries(&crl_der(0)), Some(0));
    let (n, pem) = parse_crl(&der).unwrap();
    assert_eq!(n, 3);
    assert!(pem.starts_with("-----BEGIN X509 CRL-----\n"));
    // The PEM we store reparses to the same count; two blocks add up.
    assert_eq!(parse_crl(pem.as_bytes()).unwrap().0, 3);
    let both = format!("{pem}{}", pem_block("X509 CRL", &crl_der(2)));
    assert_eq!(parse_crl(both.as_bytes()).unwrap().0, 5);
    assert!(parse_crl(b"not a crl").is_err());
    assert!(parse_crl(ca_pem().as_bytes()).is_err());
    assert!(parse_crl(&der[..der.len() - 1]).is_err());
}

struct Fixture {
    ctx: CallCtx,
    scope: Scope,
    dir: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("localelb-ts-{}", new_id()));
        std::fs::create_dir_all(dir.join("b")).unwrap();
        let config = Config {
            s3_dir: Some(dir.clone()),
            ..Config::default()
        };
        let ctx = CallCtx {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            config: Arc::new(config),
            health: Arc::new(HealthTable::default()),
            now_ms: 1_700_000_000_000,
        };
        Fixture {
            ctx,
            scope: Scope::new("123456789012", "us-east-1"),
            dir,
        }
    }
    fn put(&self, key: &str, bytes: &[u8]) {
        std::fs::write(self.dir.join("b").join(key), bytes).unwrap();
    }
    fn svc(&mut self) -> Service<'_> {
        Service::write(&self.ctx, &mut self.scope)
    }
    fn create(&mut self, name: &str, key: &str) -> ApiResult<m::TrustStore> {
        let out = self.svc().create_trust_store(m::CreateTrustStoreInput {
            name: Some(name.into()),
            ca_certificates_bundle_s3_bucket: Some("b".into()),
            ca_certificates_bundle_s3_key: Some(key.into()),
            tags: Some(vec![m::Tag {
                key: Some("k".into()),
                value: Some("v".into()),
            }]),
            ..Default::default()
        })?;
        Ok(out.trust_stores.unwrap().remove(0))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// Long: one store through its whole life (create, revocations, association, delete); each
// step starts from the state the one before left.
#[test]
fn trust_store_lifecycle() {
    let mut f = Fixture::new();
    f.put("ca.pem", format!("{}{}", ca_pem(), ca_pem()).as_bytes());
    f.put("crl.der", &crl_der(4));
    f.put("junk", b"junk");

    assert_eq!(
        f.create("ts1", "missing.pem").unwrap_err().code(),
        "CaCertificatesBundleNotFound"
    );
    assert_eq!(
        f.create("ts1", "junk").unwrap_err().code(),
        "InvalidCaCertificatesBundle"
    );
    let ts = f.create("ts1", "ca.pem").unwrap();
    let arn = ts.trust_store_arn.clone().unwrap();
    assert!(arn.starts_with("arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/ts1/"));
    assert_eq!(ts.status.as_deref(), Some("ACTIVE"));
    assert_eq!(ts.number_of_ca_certificates, Some(2));
    assert_eq!(
        f.scope.trust_stores.get(&arn).unwrap().tags,
        vec![("k".to_string(), "v".to_string())]
    );
    assert_eq!(
        f.create("ts1", "ca.pem").unwrap_err().code(),
        "DuplicateTrustStoreName"
    );

    let d = f
        .svc()
        .describe_trust_stores(m::DescribeTrustStoresInput {
            names: Some(vec!["ts1".into()]),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        d.trust_stores.unwrap()[0].trust_store_arn.as_deref(),
        Some(arn.as_str())
    );
    let e = f
        .svc()
        .describe_trust_stores(m::DescribeTrustStoresInput {
            names: Some(vec!["nope".into()]),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(e.code(), "TrustStoreNotFound");

    // Revocations.
    let add = |f: &mut Fixture, key: &str| {
        f.svc()
            .add_trust_store_revocations(m::AddTrustStoreRevocationsInput {
                trust_store_arn: Some(arn.clone()),
                revocation_contents: Some(vec![m::RevocationContent {
                    s3_bucket: Some("b".into()),
                    s3_key: Some(key.into()),
                    ..Default::default()
                }]),
            })
    };
    assert_eq!(
        add(&mut f, "nope").unwrap_err().code(),
        "RevocationContentNotFound"
    );
    assert_eq!(
        add(&mut f, "junk").unwrap_err().code(),
        "InvalidRevocationContent"
    );
    let r = add(&mut f, "crl.der")
        .unwrap()
        .trust_store_revocations
        .unwrap();
    assert_eq!(
        (r[0].revocation_id, r[0].number_of_revoked_entries),
        (Some(1), Some(4))
    );
    let r = add(&mut f, "crl.der")
        .unwrap()
        .trust_store_revocations
        .unwrap();
    assert_eq!(r[0].revocation_id, Some(2));
    assert_eq!(
        f.scope
            .trust_stores
            .get(&arn)
            .unwrap()
            .ts
            .total_revoked_entries,
        Some(8)
    );
    let loc = f
        .svc()
        .get_trust_store_revocation_content(m::GetTrustStoreRevocationContentInput {
            trust_store_arn: Some(arn.clone()),
            revocation_id: Some(2),
        })
        .unwrap()
        .location
        .unwrap();
    assert!(loc.starts_with("data:application/x-pem-file;base64,"));
    let e = f
        .svc()
        .remove_trust_store_revocations(m::RemoveTrustStoreRevocationsInput {
            trust_store_arn: Some(arn.clone()),
            revocation_ids: Some(vec![1, 9]),
        })
        .unwrap_err();
    assert_eq!(e.code(), "RevocationIdNotFound");
    f.svc()
        .remove_trust_store_revocations(m::RemoveTrustStoreRevocationsInput {
            trust_store_arn: Some(arn.clone()),
            revocation_ids: Some(vec![1]),
        })
        .unwrap();
    let left = f
        .svc()
        .describe_trust_store_revocations(m::DescribeTrustStoreRevocationsInput {
            trust_store_arn: Some(arn.clone()),
            ..Default::default()
        })
        .unwrap()
        .trust_store_revocations
        .unwrap();
    assert_eq!(
        left.iter()
            .map(|r| r.revocation_id.unwrap())
            .collect::<Vec<_>>(),
        vec![2]
    );
    assert_eq!(
        f.scope
            .trust_stores
            .get(&arn)
            .unwrap()
            .ts
            .total_revoked_entries,
        Some(4)
    );

    // In use by a listener → can't delete; associations list the LB.
    let lb_arn =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/lb/0123456789abcdef";
    let l_arn = super::super::arn::listener_arn(lb_arn, "00000000000000aa");
    f.scope.listeners.insert(
        l_arn.clone(),
        ListenerRec {
            listener: m::Listener {
                listener_arn: Some(l_arn.clone()),
                load_balancer_arn: Some(lb_arn.into()),
                mutual_authentication: Some(m::MutualAuthenticationAttributes {
                    mode: Some("verify".into()),
                    trust_store_arn: Some(arn.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            attributes: BTreeMap::new(),
            tags: Vec::new(),
            extra_certificates: Vec::new(),
            seq: 99,
        },
    );
    let assoc = f
        .svc()
        .describe_trust_store_associations(m::DescribeTrustStoreAssociationsInput {
            trust_store_arn: Some(arn.clone()),
            ..Default::default()
        })
        .unwrap()
        .trust_store_associations
        .unwrap();
    assert_eq!(assoc[0].resource_arn.as_deref(), Some(lb_arn));
    let del = |f: &mut Fixture, res: &str| {
        f.svc()
            .delete_shared_trust_store_association(m::DeleteSharedTrustStoreAssociationInput {
                trust_store_arn: Some(arn.clone()),
                resource_arn: Some(res.into()),
            })
    };
    assert_eq!(
        del(&mut f, lb_arn).unwrap_err().code(),
        "DeleteAssociationSameAccount"
    );
    let other = lb_arn.replace("123456789012", "210987654321");
    assert_eq!(
        del(&mut f, &other).unwrap_err().code(),
        "AssociationNotFound"
    );
    let del_ts = |f: &mut Fixture| {
        f.svc().delete_trust_store(m::DeleteTrustStoreInput {
            trust_store_arn: Some(arn.clone()),
        })
    };
    assert_eq!(del_ts(&mut f).unwrap_err().code(), "TrustStoreInUse");
    f.scope.listeners.remove(&l_arn);
    del_ts(&mut f).unwrap();
    assert_eq!(del_ts(&mut f).unwrap_err().code(), "TrustStoreNotFound");
}

#[test]
fn quota_and_missing_s3_dir() {
    let mut f = Fixture::new();
    f.put("ca.pem", ca_pem().as_bytes());
    let mut cfg = (*f.ctx.config).clone();
    cfg.quotas.insert("trust-stores-per-account".into(), 1);
    f.ctx.config = Arc::new(cfg);
    f.create("one", "ca.pem").unwrap();
    assert_eq!(
        f.create("two", "ca.pem").unwrap_err().code(),
        "TooManyTrustStores"
    );
    let mut cfg = Config::default();
    cfg.quotas.insert("trust-stores-per-account".into(), 5);
    f.ctx.config = Arc::new(cfg);
    assert_eq!(
        f.create("three", "ca.pem").unwrap_err().code(),
        "CaCertificatesBundleNotFound"
    );
}
