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

mod content;

pub use content::{base64, crl_entries, data_url, parse_ca_bundle, parse_crl};

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
mod tests;
