//! Trust stores for mutual TLS: CA bundles, revocation lists (CRLs) and associations.
//!
//! S3 is a local directory (`--s3-dir`): bucket `b`, key `k` is the file `DIR/b/k`. Object
//! versions are ignored (the file's current content is used). Without `--s3-dir` no bundle
//! can be found, so `CreateTrustStore` answers `CaCertificatesBundleNotFound`.
//!
//! Content checks are deliberately small: a CA bundle must be PEM with at least one
//! `CERTIFICATE` block and nothing but certificates, each a well-formed DER
//! `Certificate ::= SEQUENCE { tbs, algorithm, signature }`. A revocation file is one or more
//! PEM `X509 CRL` blocks or a single DER CRL; the revoked entries are counted by walking the
//! DER of `TBSCertList` down to `revokedCertificates`. Signatures, issuers and dates are not
//! checked.
//!
//! `GetTrustStoreCaCertificatesBundle` and `GetTrustStoreRevocationContent` answer with a
//! `data:` URL (`data:application/x-pem-file;base64,…`) of the stored PEM, where AWS gives a
//! presigned S3 URL. It needs no server, holds exactly what the trust store stored (the S3
//! file may have changed since), and opens with e.g. Python's `urllib.request.urlopen`.
//!
//! Associations are the load balancers whose listeners name the trust store in their
//! `MutualAuthentication`. Cross-account sharing does not exist here, so
//! `DeleteSharedTrustStoreAssociation` finds no shared association to delete.

use super::arn::{arn, new_id};
use super::limits::quota;
use super::lookup::{select, ts_not_found};
use super::page::page;
use super::{ApiError, ApiResult, Service};
use crate::config::Config;
use crate::state::{RevocationRec, TrustStoreRec};
use api_models as m;
use api_models::ModeledError as E;
use std::path::{Component, Path, PathBuf};

/// Whether `name` fits `^([a-zA-Z0-9]+-)*[a-zA-Z0-9]+$`, 1–32 characters.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .split('-')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn check_name(name: &str) -> ApiResult<()> {
    if valid_name(name) {
        return Ok(());
    }
    Err(ApiError::validation(format!(
        "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([a-zA-Z0-9]+-)*[a-zA-Z0-9]+$"
    )))
}

// ---- S3 stand-in -------------------------------------------------------------------------

/// The file standing in for `s3://bucket/key`, if `--s3-dir` is set and the names cannot
/// escape it.
pub fn s3_path(s3_dir: Option<&Path>, bucket: &str, key: &str) -> Option<PathBuf> {
    let dir = s3_dir?;
    if bucket.is_empty() || bucket.contains('/') || bucket == "." || bucket == ".." {
        return None;
    }
    let key_path = Path::new(key.trim_start_matches('/'));
    if key.is_empty()
        || !key_path
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
    {
        return None;
    }
    Some(dir.join(bucket).join(key_path))
}

fn read_s3(cfg: &Config, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let p = s3_path(cfg.s3_dir.as_deref(), bucket, key)?;
    if !p.is_file() {
        return None;
    }
    std::fs::read(p).ok()
}

// ---- DER and PEM -------------------------------------------------------------------------

/// Splits one DER TLV off `b`: (tag, content, rest). Definite lengths only.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = if l0 < 0x80 {
        (l0 as usize, rest)
    } else {
        let n = (l0 & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &x| (acc << 8) | x as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The body of a `SEQUENCE { tbs SEQUENCE, algorithm SEQUENCE, signature BIT STRING }` that
/// fills `der` exactly (the outer shape of both certificates and CRLs).
fn signed_body(der: &[u8]) -> Option<&[u8]> {
    let (tag, body, rest) = tlv(der)?;
    if tag != SEQUENCE || !rest.is_empty() {
        return None;
    }
    let (t1, tbs, r) = tlv(body)?;
    let (t2, _, r) = tlv(r)?;
    let (t3, _, r) = tlv(r)?;
    (t1 == SEQUENCE && t2 == SEQUENCE && t3 == BIT_STRING && r.is_empty()).then_some(tbs)
}

/// Whether `der` is shaped like an X.509 certificate.
fn is_certificate(der: &[u8]) -> bool {
    signed_body(der).is_some()
}

/// The number of revoked certificates in a DER CRL, or None if it is not one.
///
/// `TBSCertList ::= SEQUENCE { version INTEGER OPTIONAL, signature AlgorithmIdentifier,
/// issuer Name, thisUpdate Time, nextUpdate Time OPTIONAL, revokedCertificates SEQUENCE OF
/// SEQUENCE OPTIONAL, crlExtensions [0] EXPLICIT Extensions OPTIONAL }`
pub fn crl_entries(der: &[u8]) -> Option<i64> {
    let tbs = signed_body(der)?;
    let (mut tag, _, mut rest) = tlv(tbs)?;
    if tag == INTEGER {
        let (t, _, r) = tlv(rest)?; // version
        (tag, rest) = (t, r);
    }
    if tag != SEQUENCE {
        return None; // signature algorithm
    }
    let (tag, _, rest) = tlv(rest)?;
    if tag != SEQUENCE {
        return None; // issuer
    }
    let (tag, _, mut rest) = tlv(rest)?;
    if tag != UTC_TIME && tag != GENERALIZED_TIME {
        return None; // thisUpdate
    }
    let mut count = 0;
    while !rest.is_empty() {
        let (tag, content, r) = tlv(rest)?;
        match tag {
            UTC_TIME | GENERALIZED_TIME => {} // nextUpdate
            SEQUENCE => {
                let mut entries = content;
                while !entries.is_empty() {
                    let (t, _, r) = tlv(entries)?;
                    if t != SEQUENCE {
                        return None;
                    }
                    count += 1;
                    entries = r;
                }
            }
            0xA0 => {} // crlExtensions
            _ => return None,
        }
        rest = r;
    }
    Some(count)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn pem_block(label: &str, der: &[u8]) -> String {
    let b = base64(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for line in b.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(line).unwrap_or_default());
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

fn pem_items(bytes: &[u8]) -> Result<Vec<rustls_pemfile::Item>, String> {
    let mut rd = bytes;
    rustls_pemfile::read_all(&mut rd)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not valid PEM: {e}"))
}

/// A CA bundle: the number of certificates, and the bundle as stored (its PEM text).
pub fn parse_ca_bundle(bytes: &[u8]) -> Result<(i32, String), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the bundle is not PEM text".to_string())?;
    let mut n = 0;
    for item in pem_items(bytes)? {
        match item {
            rustls_pemfile::Item::X509Certificate(der) if is_certificate(&der) => n += 1,
            rustls_pemfile::Item::X509Certificate(_) => {
                return Err(format!("certificate {} is malformed", n + 1))
            }
            _ => return Err("the bundle contains a PEM block that is not a certificate".into()),
        }
    }
    if n == 0 {
        return Err("the bundle contains no PEM certificates".into());
    }
    Ok((n, text.to_string()))
}

/// A revocation file (PEM `X509 CRL` blocks, or one DER CRL): the number of revoked entries,
/// and the content as PEM.
pub fn parse_crl(bytes: &[u8]) -> Result<(i64, String), String> {
    let looks_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
    if !looks_pem {
        let n = crl_entries(bytes).ok_or("the file is neither a PEM nor a DER CRL")?;
        return Ok((n, pem_block("X509 CRL", bytes)));
    }
    let mut total = 0;
    let mut pem = String::new();
    let mut crls = 0;
    for item in pem_items(bytes)? {
        match item {
            rustls_pemfile::Item::Crl(der) => {
                total +=
                    crl_entries(&der).ok_or_else(|| format!("CRL {} is malformed", crls + 1))?;
                pem.push_str(&pem_block("X509 CRL", &der));
                crls += 1;
            }
            _ => return Err("the file contains a PEM block that is not a CRL".into()),
        }
    }
    if crls == 0 {
        return Err("the file contains no X509 CRL".into());
    }
    Ok((total, pem))
}

/// A `data:` URL carrying PEM text.
pub fn data_url(pem: &str) -> String {
    format!(
        "data:application/x-pem-file;base64,{}",
        base64(pem.as_bytes())
    )
}

fn load_bundle(cfg: &Config, bucket: Option<&str>, key: Option<&str>) -> ApiResult<(i32, String)> {
    let (bucket, key) = (bucket.unwrap_or_default(), key.unwrap_or_default());
    let bytes = read_s3(cfg, bucket, key).ok_or_else(|| {
        ApiError::modeled(
            E::CaCertificatesBundleNotFound,
            format!("The CA certificates bundle 's3://{bucket}/{key}' does not exist"),
        )
    })?;
    parse_ca_bundle(&bytes).map_err(|why| {
        ApiError::modeled(
            E::InvalidCaCertificatesBundle,
            format!("The CA certificates bundle 's3://{bucket}/{key}' is invalid: {why}"),
        )
    })
}

fn revocation_view(ts_arn: &str, r: &RevocationRec) -> m::DescribeTrustStoreRevocation {
    m::DescribeTrustStoreRevocation {
        trust_store_arn: Some(ts_arn.to_string()),
        revocation_id: Some(r.id),
        revocation_type: Some(r.revocation_type.clone()),
        number_of_revoked_entries: Some(r.entries),
    }
}

impl Service<'_> {
    /// Load balancers whose listeners use the trust store, in creation order.
    fn trust_store_users(&self, ts_arn: &str) -> Vec<String> {
        let scope = self.scope();
        let mut lbs: Vec<(u64, String)> = Vec::new();
        for l in scope.listeners.values() {
            let uses = l
                .listener
                .mutual_authentication
                .as_ref()
                .and_then(|m| m.trust_store_arn.as_deref())
                == Some(ts_arn);
            let Some(lb_arn) = l.listener.load_balancer_arn.as_ref().filter(|_| uses) else {
                continue;
            };
            if !lbs.iter().any(|(_, a)| a == lb_arn) {
                let seq = scope
                    .load_balancers
                    .get(lb_arn)
                    .map(|r| r.seq)
                    .unwrap_or(u64::MAX);
                lbs.push((seq, lb_arn.clone()));
            }
        }
        lbs.sort();
        lbs.into_iter().map(|(_, a)| a).collect()
    }
}

impl m::TrustStores for Service<'_> {
    /// `CreateTrustStore`.
    fn create_trust_store(
        &mut self,
        i: m::CreateTrustStoreInput,
    ) -> ApiResult<m::CreateTrustStoreOutput> {
        let name = i.name.unwrap_or_default();
        check_name(&name)?;
        if self
            .scope()
            .trust_stores
            .values()
            .any(|t| t.ts.name.as_deref() == Some(name.as_str()))
        {
            return Err(ApiError::modeled(
                E::DuplicateTrustStoreName,
                format!("A trust store with the name '{name}' already exists"),
            ));
        }
        let max = quota(&self.ctx.config, "trust-stores-per-account");
        if self.scope().trust_stores.len() as i64 >= max {
            return Err(ApiError::modeled(
                E::TooManyTrustStores,
                format!("You've reached the limit of {max} trust stores for your account"),
            ));
        }
        let tags = super::tags::check_new(i.tags.as_deref().unwrap_or_default())?;
        let (n, pem) = load_bundle(
            &self.ctx.config,
            i.ca_certificates_bundle_s3_bucket.as_deref(),
            i.ca_certificates_bundle_s3_key.as_deref(),
        )?;
        let (region, account) = (self.ctx.region.clone(), self.ctx.account.clone());
        let ts_arn = arn(
            &region,
            &account,
            &format!("truststore/{name}/{}", new_id()),
        );
        let ts = m::TrustStore {
            name: Some(name),
            trust_store_arn: Some(ts_arn.clone()),
            status: Some("ACTIVE".into()),
            number_of_ca_certificates: Some(n),
            total_revoked_entries: Some(0),
        };
        let scope = self.scope_mut()?;
        let seq = scope.seq();
        scope.trust_stores.insert(
            ts_arn,
            TrustStoreRec {
                ts: ts.clone(),
                bundle_pem: pem,
                tags,
                revocations: Vec::new(),
                seq,
            },
        );
        Ok(m::CreateTrustStoreOutput {
            trust_stores: Some(vec![ts]),
        })
    }

    /// `DescribeTrustStores`: by ARNs, by names, or all, in creation order.
    fn describe_trust_stores(
        &mut self,
        i: m::DescribeTrustStoresInput,
    ) -> ApiResult<m::DescribeTrustStoresOutput> {
        let arns = i.trust_store_arns.unwrap_or_default();
        let names = i.names.unwrap_or_default();
        if !arns.is_empty() && !names.is_empty() {
            return Err(ApiError::validation(
                "Trust store ARNs and names cannot be specified at the same time",
            ));
        }
        let scope = self.scope();
        let mut all: Vec<&TrustStoreRec> = scope.trust_stores.values().collect();
        all.sort_by_key(|t| t.seq);
        let selected: Vec<&TrustStoreRec> = if !arns.is_empty() {
            select(&all, &arns, |t| t.ts.trust_store_arn.as_deref())
                .map_err(|missing| ts_not_found(missing[0]))?
        } else if !names.is_empty() {
            select(&all, &names, |t| t.ts.name.as_deref())
                .map_err(|missing| ts_not_found(missing[0]))?
        } else {
            all
        };
        let selected: Vec<m::TrustStore> = selected.iter().map(|t| t.ts.clone()).collect();
        let (trust_stores, next_marker) = page(&selected, i.marker.as_deref(), i.page_size)?;
        Ok(m::DescribeTrustStoresOutput {
            trust_stores: Some(trust_stores),
            next_marker,
        })
    }

    /// `ModifyTrustStore`: replaces the CA bundle.
    fn modify_trust_store(
        &mut self,
        i: m::ModifyTrustStoreInput,
    ) -> ApiResult<m::ModifyTrustStoreOutput> {
        let ts_arn = i.trust_store_arn.unwrap_or_default();
        self.trust_store(&ts_arn)?;
        let (n, pem) = load_bundle(
            &self.ctx.config,
            i.ca_certificates_bundle_s3_bucket.as_deref(),
            i.ca_certificates_bundle_s3_key.as_deref(),
        )?;
        let rec = self.trust_store_mut(&ts_arn)?;
        rec.bundle_pem = pem;
        rec.ts.number_of_ca_certificates = Some(n);
        Ok(m::ModifyTrustStoreOutput {
            trust_stores: Some(vec![rec.ts.clone()]),
        })
    }

    /// `DeleteTrustStore`: fails while a listener uses it.
    fn delete_trust_store(
        &mut self,
        i: m::DeleteTrustStoreInput,
    ) -> ApiResult<m::DeleteTrustStoreOutput> {
        let ts_arn = i.trust_store_arn.unwrap_or_default();
        self.trust_store(&ts_arn)?;
        if let Some(lb) = self.trust_store_users(&ts_arn).first() {
            return Err(ApiError::modeled(
                E::TrustStoreInUse,
                format!("Trust store '{ts_arn}' is in use by a listener of load balancer '{lb}'"),
            ));
        }
        let scope = self.scope_mut()?;
        scope.trust_stores.remove(&ts_arn);
        let policy_keys: Vec<String> = scope
            .policies
            .keys()
            .filter(|k| scope.policies.get(k).is_some_and(|p| p.arn == ts_arn))
            .cloned()
            .collect();
        for k in policy_keys {
            scope.policies.remove(&k);
        }
        Ok(m::DeleteTrustStoreOutput {})
    }

    /// `GetTrustStoreCaCertificatesBundle`: a `data:` URL of the stored bundle.
    fn get_trust_store_ca_certificates_bundle(
        &mut self,
        i: m::GetTrustStoreCaCertificatesBundleInput,
    ) -> ApiResult<m::GetTrustStoreCaCertificatesBundleOutput> {
        let rec = self.trust_store(i.trust_store_arn.as_deref().unwrap_or_default())?;
        Ok(m::GetTrustStoreCaCertificatesBundleOutput {
            location: Some(data_url(&rec.bundle_pem)),
        })
    }

    /// `AddTrustStoreRevocations`: reads each revocation file; all or nothing.
    fn add_trust_store_revocations(
        &mut self,
        i: m::AddTrustStoreRevocationsInput,
    ) -> ApiResult<m::AddTrustStoreRevocationsOutput> {
        let ts_arn = i.trust_store_arn.unwrap_or_default();
        let rec = self.trust_store(&ts_arn)?;
        let cfg = &self.ctx.config;
        let max_lists = quota(cfg, "revocation-lists-per-trust-store");
        let max_entries = quota(cfg, "revocation-entries-per-trust-store");
        let mut next_id = rec.revocations.iter().map(|r| r.id).max().unwrap_or(0) + 1;
        let mut lists = rec.revocations.len() as i64;
        let mut entries = rec.revocations.iter().map(|r| r.entries).sum::<i64>();
        let mut added = Vec::new();
        for c in i.revocation_contents.unwrap_or_default() {
            let (Some(bucket), Some(key)) = (c.s3_bucket, c.s3_key) else {
                return Err(ApiError::validation(
                    "Each revocation content needs an S3Bucket and an S3Key",
                ));
            };
            let bytes = read_s3(cfg, &bucket, &key).ok_or_else(|| {
                ApiError::modeled(
                    E::RevocationContentNotFound,
                    format!("The revocation file 's3://{bucket}/{key}' does not exist"),
                )
            })?;
            let (n, pem) = parse_crl(&bytes).map_err(|why| {
                ApiError::modeled(
                    E::InvalidRevocationContent,
                    format!("The revocation file 's3://{bucket}/{key}' is invalid: {why}"),
                )
            })?;
            lists += 1;
            entries += n;
            if lists > max_lists || entries > max_entries {
                return Err(ApiError::modeled(
                    E::TooManyTrustStoreRevocationEntries,
                    format!("A trust store can hold at most {max_lists} revocation files and {max_entries} revoked entries"),
                ));
            }
            added.push(RevocationRec {
                id: next_id,
                revocation_type: c.revocation_type.unwrap_or_else(|| "CRL".into()),
                content: pem,
                entries: n,
                s3_bucket: bucket,
                s3_key: key,
            });
            next_id += 1;
        }
        let rec = self.trust_store_mut(&ts_arn)?;
        rec.revocations.extend(added.iter().cloned());
        rec.ts.total_revoked_entries = Some(entries);
        let out = added
            .iter()
            .map(|r| m::TrustStoreRevocation {
                trust_store_arn: Some(ts_arn.clone()),
                revocation_id: Some(r.id),
                revocation_type: Some(r.revocation_type.clone()),
                number_of_revoked_entries: Some(r.entries),
            })
            .collect();
        Ok(m::AddTrustStoreRevocationsOutput {
            trust_store_revocations: Some(out),
        })
    }

    /// `RemoveTrustStoreRevocations`: every id must exist.
    fn remove_trust_store_revocations(
        &mut self,
        i: m::RemoveTrustStoreRevocationsInput,
    ) -> ApiResult<m::RemoveTrustStoreRevocationsOutput> {
        let ts_arn = i.trust_store_arn.unwrap_or_default();
        let ids = i.revocation_ids.unwrap_or_default();
        let rec = self.trust_store(&ts_arn)?;
        if let Some(bad) = ids
            .iter()
            .find(|id| !rec.revocations.iter().any(|r| r.id == **id))
        {
            return Err(revocation_not_found(*bad));
        }
        let rec = self.trust_store_mut(&ts_arn)?;
        rec.revocations.retain(|r| !ids.contains(&r.id));
        rec.ts.total_revoked_entries = Some(rec.revocations.iter().map(|r| r.entries).sum());
        Ok(m::RemoveTrustStoreRevocationsOutput {})
    }

    /// `DescribeTrustStoreRevocations`: all, or the given ids, in id order.
    fn describe_trust_store_revocations(
        &mut self,
        i: m::DescribeTrustStoreRevocationsInput,
    ) -> ApiResult<m::DescribeTrustStoreRevocationsOutput> {
        let ts_arn = i.trust_store_arn.unwrap_or_default();
        let rec = self.trust_store(&ts_arn)?;
        let ids = i.revocation_ids.unwrap_or_default();
        if let Some(bad) = ids
            .iter()
            .find(|id| !rec.revocations.iter().any(|r| r.id == **id))
        {
            return Err(revocation_not_found(*bad));
        }
        let mut all: Vec<&RevocationRec> = rec
            .revocations
            .iter()
            .filter(|r| ids.is_empty() || ids.contains(&r.id))
            .collect();
        all.sort_by_key(|r| r.id);
        let views: Vec<_> = all
            .into_iter()
            .map(|r| revocation_view(&ts_arn, r))
            .collect();
        let (revs, next_marker) = page(&views, i.marker.as_deref(), i.page_size)?;
        Ok(m::DescribeTrustStoreRevocationsOutput {
            trust_store_revocations: Some(revs),
            next_marker,
        })
    }

    /// `GetTrustStoreRevocationContent`: a `data:` URL of the stored CRL (PEM).
    fn get_trust_store_revocation_content(
        &mut self,
        i: m::GetTrustStoreRevocationContentInput,
    ) -> ApiResult<m::GetTrustStoreRevocationContentOutput> {
        let rec = self.trust_store(i.trust_store_arn.as_deref().unwrap_or_default())?;
        let id = i.revocation_id.unwrap_or_default();
        let r = rec
            .revocations
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| revocation_not_found(id))?;
        Ok(m::GetTrustStoreRevocationContentOutput {
            location: Some(data_url(&r.content)),
        })
    }

    /// `DescribeTrustStoreAssociations`: the load balancers using the trust store.
    fn describe_trust_store_associations(
        &mut self,
        i: m::DescribeTrustStoreAssociationsInput,
    ) -> ApiResult<m::DescribeTrustStoreAssociationsOutput> {
        let ts_arn = i.trust_store_arn.unwrap_or_default();
        self.trust_store(&ts_arn)?;
        let all: Vec<m::TrustStoreAssociation> = self
            .trust_store_users(&ts_arn)
            .into_iter()
            .map(|a| m::TrustStoreAssociation {
                resource_arn: Some(a),
            })
            .collect();
        let (assocs, next_marker) = page(&all, i.marker.as_deref(), i.page_size)?;
        Ok(m::DescribeTrustStoreAssociationsOutput {
            trust_store_associations: Some(assocs),
            next_marker,
        })
    }

    /// `DeleteSharedTrustStoreAssociation`: nothing is shared across accounts here.
    fn delete_shared_trust_store_association(
        &mut self,
        i: m::DeleteSharedTrustStoreAssociationInput,
    ) -> ApiResult<m::DeleteSharedTrustStoreAssociationOutput> {
        let ts_arn = i.trust_store_arn.unwrap_or_default();
        let resource = i.resource_arn.unwrap_or_default();
        self.trust_store(&ts_arn)?;
        let resource_account = resource.split(':').nth(4).unwrap_or_default();
        if resource_account == self.ctx.account {
            return Err(ApiError::modeled(
                E::DeleteAssociationSameAccount,
                format!("The resource '{resource}' belongs to the trust store's account; remove the trust store from its listeners instead"),
            ));
        }
        Err(ApiError::modeled(
            E::TrustStoreAssociationNotFound,
            format!(
                "No association between trust store '{ts_arn}' and resource '{resource}' was found"
            ),
        ))
    }
}

fn revocation_not_found(id: i64) -> ApiError {
    ApiError::modeled(
        E::RevocationIdNotFound,
        format!("Revocation ID '{id}' not found"),
    )
}

#[cfg(test)]
mod tests {
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
        assert!(
            arn.starts_with("arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/ts1/")
        );
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
        let lb_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/lb/0123456789abcdef";
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
            f.svc().delete_shared_trust_store_association(
                m::DeleteSharedTrustStoreAssociationInput {
                    trust_store_arn: Some(arn.clone()),
                    resource_arn: Some(res.into()),
                },
            )
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
}
