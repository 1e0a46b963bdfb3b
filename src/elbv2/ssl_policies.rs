//! ELB security policies (`DescribeSSLPolicies`), served from `data/ssl_policies.json`
//! (see `data/ssl_policies.SOURCES.md`), parsed once on first use.

use super::page::page;
use super::{ApiError, ApiResult, Service};
use api_models as m;
use api_models::ModeledError as E;
use std::sync::LazyLock;

/// The policy listeners get when none is given.
const DEFAULT_POLICY: &str = "ELBSecurityPolicy-2016-08";

static POLICIES: LazyLock<Vec<m::SslPolicy>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("data/ssl_policies.json"))
        .expect("data/ssl_policies.json parses as SslPolicy list")
});

/// Every policy, in the data file's order.
pub fn all() -> &'static [m::SslPolicy] {
    &POLICIES
}

/// Whether `name` is a known policy.
pub fn exists(name: &str) -> bool {
    find(name).is_some()
}

/// The policy called `name`.
pub fn find(name: &str) -> Option<&'static m::SslPolicy> {
    POLICIES.iter().find(|p| p.name.as_deref() == Some(name))
}

/// `ELBSecurityPolicy-2016-08`, AWS's default for HTTPS and TLS listeners.
pub fn default_policy() -> &'static str {
    DEFAULT_POLICY
}

/// The policies matching the filters, in data-file order. An unknown name fails the call.
pub fn select(names: &[String], lb_type: Option<&str>) -> ApiResult<Vec<m::SslPolicy>> {
    if names.iter().any(|n| !exists(n)) {
        return Err(ApiError::modeled(
            E::SSLPolicyNotFound,
            "One or more ssl policies not found",
        ));
    }
    Ok(POLICIES
        .iter()
        .filter(|p| names.is_empty() || names.iter().any(|n| p.name.as_deref() == Some(n.as_str())))
        .filter(|p| match lb_type {
            None => true,
            Some(t) => p
                .supported_load_balancer_types
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|s| s == t),
        })
        .cloned()
        .collect())
}

impl m::SslPolicies for Service<'_> {
    /// `DescribeSSLPolicies`.
    fn describe_ssl_policies(
        &mut self,
        i: m::DescribeSSLPoliciesInput,
    ) -> ApiResult<m::DescribeSSLPoliciesOutput> {
        let names = i.names.unwrap_or_default();
        let all = select(&names, i.load_balancer_type.as_deref())?;
        let (ssl_policies, next_marker) = page(&all, i.marker.as_deref(), i.page_size)?;
        Ok(m::DescribeSSLPoliciesOutput {
            ssl_policies: Some(ssl_policies),
            next_marker,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_parses_and_is_complete() {
        assert!(all().len() >= 40);
        for p in all() {
            assert!(p.name.as_deref().unwrap().starts_with("ELBSecurityPolicy-"));
            assert!(!p.ssl_protocols.as_deref().unwrap().is_empty());
            assert!(!p.ciphers.as_deref().unwrap().is_empty());
            assert!(p
                .ciphers
                .as_deref()
                .unwrap()
                .iter()
                .all(|c| c.name.is_some() && c.priority.is_some()));
        }
        assert!(exists(default_policy()));
        assert!(!exists("ELBSecurityPolicy-nope"));
    }

    #[test]
    fn filters() {
        let one = select(&["ELBSecurityPolicy-2016-08".into()], None).unwrap();
        assert_eq!(one.len(), 1);
        let err = select(&["ELBSecurityPolicy-2016-08".into(), "nope".into()], None).unwrap_err();
        assert_eq!(err.code(), "SSLPolicyNotFound");
        assert_eq!(err.message(), "One or more ssl policies not found");
        assert_eq!(select(&[], Some("application")).unwrap().len(), all().len());
        assert!(select(&[], Some("gateway")).unwrap().is_empty());
        assert!(
            select(&["ELBSecurityPolicy-2016-08".into()], Some("gateway"))
                .unwrap()
                .is_empty()
        );
    }
}
