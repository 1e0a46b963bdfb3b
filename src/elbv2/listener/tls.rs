//! A listener's TLS settings: the default certificate, the security policy, the ALPN policy
//! and mutual TLS, checked against the listener's protocol and carried over on modify.

use super::effective::effective_protocol;
use crate::elbv2::ssl_policies;
use crate::elbv2::{ApiError, ApiResult, Service};
use api_models as m;
use api_models::ModeledError as E;

const ALPN_POLICIES: [&str; 5] = [
    "HTTP1Only",
    "HTTP2Only",
    "HTTP2Optional",
    "HTTP2Preferred",
    "None",
];

/// The request's TLS-related members (CreateListener / ModifyListener).
pub(super) struct TlsInput<'a> {
    pub(super) certificates: Option<&'a [m::Certificate]>,
    pub(super) ssl_policy: Option<&'a str>,
    pub(super) alpn: Option<&'a [String]>,
    pub(super) mutual: Option<&'a m::MutualAuthenticationAttributes>,
}

/// The TLS-related settings a listener ends up with.
pub(super) struct TlsSettings {
    pub(super) certificate: Option<String>,
    pub(super) ssl_policy: Option<String>,
    pub(super) alpn: Option<Vec<String>>,
    pub(super) mutual: Option<m::MutualAuthenticationAttributes>,
}

impl TlsSettings {
    /// Sets the listener's TLS members to these settings.
    pub(super) fn apply_to(self, l: &mut m::Listener) {
        l.certificates = self.certificate.map(|c| {
            vec![m::Certificate {
                certificate_arn: Some(c),
                is_default: None,
            }]
        });
        l.ssl_policy = self.ssl_policy;
        l.alpn_policy = self.alpn;
        l.mutual_authentication = self.mutual;
    }
}

pub(super) fn check_certificate_arn(c: &m::Certificate) -> ApiResult<String> {
    let arn = c.certificate_arn.clone().unwrap_or_default();
    if !arn.starts_with("arn:") {
        return Err(ApiError::modeled(
            E::CertificateNotFound,
            format!("Certificate '{arn}' not found"),
        ));
    }
    Ok(arn)
}

impl Service<'_> {
    /// Certificates, security policy, ALPN policy and mutual TLS for a listener of `protocol`,
    /// from the request and (on modify) the current listener.
    pub(super) fn tls_settings(
        &self,
        protocol: &str,
        i: TlsInput,
        old: Option<&m::Listener>,
    ) -> ApiResult<TlsSettings> {
        let certificate = default_certificate(protocol, i.certificates, old)?;
        let ssl_policy = ssl_policy(protocol, i.ssl_policy, old)?;
        let alpn = alpn_policy(protocol, i.alpn, old)?;
        let mutual = self.mutual_settings(protocol, i.mutual, old)?;
        Ok(TlsSettings {
            certificate,
            ssl_policy,
            alpn,
            mutual,
        })
    }

    /// Mutual TLS: HTTPS listeners only (others accept mode `off`); HTTPS keeps the current
    /// setting on modify, or gets mode `off`.
    fn mutual_settings(
        &self,
        protocol: &str,
        given: Option<&m::MutualAuthenticationAttributes>,
        old: Option<&m::Listener>,
    ) -> ApiResult<Option<m::MutualAuthenticationAttributes>> {
        let old_protocol = old.map(effective_protocol).unwrap_or_default();
        Ok(match given {
            Some(mt) => {
                let mode = mt.mode.clone().unwrap_or_else(|| "off".into());
                if protocol != "HTTPS" {
                    if mode != "off" {
                        return Err(ApiError::validation(format!(
                            "Mutual authentication cannot be configured for {protocol} listeners"
                        )));
                    }
                    None
                } else {
                    Some(self.mutual_auth(&mode, mt)?)
                }
            }
            None if protocol == "HTTPS" => Some(
                old.filter(|_| old_protocol == "HTTPS")
                    .and_then(|l| l.mutual_authentication.clone())
                    .unwrap_or_else(|| m::MutualAuthenticationAttributes {
                        mode: Some("off".into()),
                        ..Default::default()
                    }),
            ),
            None => None,
        })
    }

    fn mutual_auth(
        &self,
        mode: &str,
        mt: &m::MutualAuthenticationAttributes,
    ) -> ApiResult<m::MutualAuthenticationAttributes> {
        match mode {
            "off" | "passthrough" => {
                if mt.trust_store_arn.is_some() {
                    return Err(ApiError::validation(format!("A trust store cannot be specified with mutual authentication mode '{mode}'")));
                }
                Ok(m::MutualAuthenticationAttributes { mode: Some(mode.into()), ..Default::default() })
            }
            "verify" => {
                let ts = mt
                    .trust_store_arn
                    .clone()
                    .ok_or_else(|| ApiError::validation("A trust store must be specified with mutual authentication mode 'verify'"))?;
                let rec = self.trust_store(&ts)?;
                if rec.ts.status.as_deref() != Some("ACTIVE") {
                    return Err(ApiError::modeled(E::TrustStoreNotReady, format!("Trust store '{ts}' is not active")));
                }
                Ok(m::MutualAuthenticationAttributes {
                    mode: Some(mode.into()),
                    trust_store_arn: Some(ts),
                    ignore_client_certificate_expiry: Some(mt.ignore_client_certificate_expiry.unwrap_or(false)),
                    trust_store_association_status: Some("active".into()),
                    advertise_trust_store_ca_names: Some(mt.advertise_trust_store_ca_names.clone().unwrap_or_else(|| "off".into())),
                })
            }
            other => Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'mutualAuthentication.mode' failed to satisfy constraint: Member must satisfy enum value set: [off, passthrough, verify]"
            ))),
        }
    }
}

/// The default certificate: required for HTTPS and TLS, refused otherwise; kept on modify when
/// the listener stays secure.
fn default_certificate(
    protocol: &str,
    given: Option<&[m::Certificate]>,
    old: Option<&m::Listener>,
) -> ApiResult<Option<String>> {
    let secure = matches!(protocol, "HTTPS" | "TLS");
    let old_secure = old.is_some_and(|l| matches!(effective_protocol(l).as_str(), "HTTPS" | "TLS"));
    let certificate = match given.filter(|c| !c.is_empty()) {
        Some(cs) => {
            if !secure {
                return Err(ApiError::validation(format!(
                    "Certificates cannot be specified for {protocol} listeners"
                )));
            }
            if cs.len() > 1 {
                return Err(ApiError::modeled(
                    E::TooManyCertificates,
                    "Exactly one default certificate can be specified; add more with AddListenerCertificates",
                ));
            }
            if cs[0].is_default.is_some() {
                return Err(ApiError::validation(
                    "'IsDefault' cannot be specified for the default certificate of a listener",
                ));
            }
            Some(check_certificate_arn(&cs[0])?)
        }
        None if secure && old_secure => old
            .and_then(|l| l.certificates.as_ref())
            .and_then(|c| c.first())
            .and_then(|c| c.certificate_arn.clone()),
        None => None,
    };
    if secure && certificate.is_none() {
        return Err(ApiError::validation(format!(
            "A certificate must be specified for {protocol} listeners"
        )));
    }
    Ok(certificate)
}

/// The security policy: secure listeners get the given one, the current one or the default.
fn ssl_policy(
    protocol: &str,
    given: Option<&str>,
    old: Option<&m::Listener>,
) -> ApiResult<Option<String>> {
    let secure = matches!(protocol, "HTTPS" | "TLS");
    let old_secure = old.is_some_and(|l| matches!(effective_protocol(l).as_str(), "HTTPS" | "TLS"));
    Ok(match given {
        Some(p) => {
            if !secure {
                return Err(ApiError::validation(format!(
                    "An SSL policy cannot be specified for {protocol} listeners"
                )));
            }
            if !ssl_policies::exists(p) {
                return Err(ApiError::modeled(
                    E::SSLPolicyNotFound,
                    format!("SSL policy '{p}' not found"),
                ));
            }
            Some(p.to_string())
        }
        None if secure => Some(
            old.filter(|_| old_secure)
                .and_then(|l| l.ssl_policy.clone())
                .unwrap_or_else(|| ssl_policies::default_policy().to_string()),
        ),
        None => None,
    })
}

/// The ALPN policy: TLS listeners only, at most one, from AWS's list; kept on a TLS → TLS modify.
fn alpn_policy(
    protocol: &str,
    given: Option<&[String]>,
    old: Option<&m::Listener>,
) -> ApiResult<Option<Vec<String>>> {
    let old_protocol = old.map(effective_protocol).unwrap_or_default();
    Ok(match given {
        Some([]) => None,
        Some(a) => {
            if protocol != "TLS" {
                return Err(ApiError::validation(format!(
                    "An ALPN policy cannot be specified for {protocol} listeners"
                )));
            }
            if a.len() > 1 {
                return Err(ApiError::validation(
                    "Only one ALPN policy can be specified",
                ));
            }
            if !ALPN_POLICIES.contains(&a[0].as_str()) {
                return Err(ApiError::modeled(
                    E::ALPNPolicyNotSupported,
                    format!("ALPN policy '{}' is not supported", a[0]),
                ));
            }
            Some(a.to_vec())
        }
        None if protocol == "TLS" && old_protocol == "TLS" => {
            old.and_then(|l| l.alpn_policy.clone())
        }
        None => None,
    })
}
