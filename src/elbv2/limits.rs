//! Account quotas: AWS's defaults, raised with `--quota NAME=N`, and `DescribeAccountLimits`.
//!
//! Defaults are AWS's current published ones (the "Quotas for your Application / Network /
//! Gateway Load Balancers" pages). Where they differ from older numbers: trust stores per
//! account is 20 (not 100), ALBs and NLBs per region are 50. `trust-stores-per-account` is kept
//! per (account, region) scope here, since a scope is all one call can see.
//!
//! Quotas marked unlisted are enforced but not returned by `DescribeAccountLimits`, whose
//! names AWS documents as a fixed set (plus the certificate and trust-store ones, which
//! clients find useful and which parse like any other limit).

use super::page::page;
use super::{ApiResult, Service};
use crate::config::Config;
use api_models as m;

/// One quota: its name, AWS's default, and whether `DescribeAccountLimits` lists it.
struct Quota {
    name: &'static str,
    default: i64,
    listed: bool,
}

const fn q(name: &'static str, default: i64) -> Quota {
    Quota {
        name,
        default,
        listed: true,
    }
}

const fn hidden(name: &'static str, default: i64) -> Quota {
    Quota {
        name,
        default,
        listed: false,
    }
}

/// Every quota, in the order `DescribeAccountLimits` returns them.
const QUOTAS: &[Quota] = &[
    q("application-load-balancers", 50),
    q("condition-values-per-alb-rule", 5),
    q("condition-wildcards-per-alb-rule", 5),
    q("gateway-load-balancers", 100),
    q("gateway-load-balancers-per-vpc", 100),
    q("geneve-target-groups", 100),
    q("listeners-per-application-load-balancer", 50),
    q("listeners-per-network-load-balancer", 50),
    q("network-load-balancers", 50),
    q("rules-per-application-load-balancer", 100),
    q("target-groups", 3000),
    q("target-groups-per-action-on-application-load-balancer", 5),
    q("target-groups-per-action-on-network-load-balancer", 1),
    q("target-groups-per-application-load-balancer", 100),
    q("targets-per-application-load-balancer", 1000),
    q(
        "targets-per-availability-zone-per-gateway-load-balancer",
        300,
    ),
    q(
        "targets-per-availability-zone-per-network-load-balancer",
        500,
    ),
    q("targets-per-network-load-balancer", 3000),
    q("certificates-per-application-load-balancer", 25),
    q("certificates-per-network-load-balancer", 25),
    q("trust-stores-per-account", 20),
    // Enforced, not listed (AWS's trust-store and LCU-reservation limits).
    hidden("revocation-entries-per-trust-store", 500_000),
    hidden("revocation-lists-per-trust-store", 30),
    hidden("reserved-lcus-per-application-load-balancer", 15_000),
    // AWS allows two reservation decreases per day ("DecreaseRequestsRemaining": 2).
    hidden("capacity-decrease-requests-per-day", 2),
];

/// The quota `name`: the `--quota` override, else AWS's default. Unknown names are unlimited.
pub fn quota(cfg: &Config, name: &str) -> i64 {
    if let Some(v) = cfg.quotas.get(name) {
        return *v;
    }
    QUOTAS
        .iter()
        .find(|q| q.name == name)
        .map(|q| q.default)
        .unwrap_or(i64::MAX)
}

/// Every quota name (the names `--quota NAME=N` accepts), listed ones first.
pub fn names() -> impl Iterator<Item = &'static str> {
    QUOTAS.iter().map(|q| q.name)
}

/// The limits `DescribeAccountLimits` reports, with overrides applied.
pub fn listed(cfg: &Config) -> Vec<m::Limit> {
    QUOTAS
        .iter()
        .filter(|q| q.listed)
        .map(|q| m::Limit {
            name: Some(q.name.to_string()),
            max: Some(quota(cfg, q.name).to_string()),
        })
        .collect()
}

impl m::Limits for Service<'_> {
    /// `DescribeAccountLimits`.
    fn describe_account_limits(
        &mut self,
        i: m::DescribeAccountLimitsInput,
    ) -> ApiResult<m::DescribeAccountLimitsOutput> {
        let all = listed(&self.ctx.config);
        let (limits, next) = page(&all, i.marker.as_deref(), i.page_size)?;
        Ok(m::DescribeAccountLimitsOutput {
            limits: Some(limits),
            next_marker: next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let mut cfg = Config::default();
        assert_eq!(quota(&cfg, "application-load-balancers"), 50);
        assert_eq!(quota(&cfg, "trust-stores-per-account"), 20);
        assert_eq!(
            quota(
                &cfg,
                "targets-per-availability-zone-per-gateway-load-balancer"
            ),
            300
        );
        assert_eq!(quota(&cfg, "no-such-quota"), i64::MAX);
        cfg.quotas.insert("application-load-balancers".into(), 7);
        assert_eq!(quota(&cfg, "application-load-balancers"), 7);
        let l = listed(&cfg);
        let alb = l
            .iter()
            .find(|x| x.name.as_deref() == Some("application-load-balancers"))
            .unwrap();
        assert_eq!(alb.max.as_deref(), Some("7"));
    }

    #[test]
    fn listing_is_unique_and_hides_internal_quotas() {
        let l = listed(&Config::default());
        let mut names: Vec<_> = l.iter().map(|x| x.name.clone().unwrap()).collect();
        assert!(!names
            .iter()
            .any(|n| n == "revocation-entries-per-trust-store"));
        assert!(names.iter().any(|n| n == "geneve-target-groups"));
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        assert!(l
            .iter()
            .all(|x| x.max.as_deref().unwrap().parse::<i64>().is_ok()));
    }
}
