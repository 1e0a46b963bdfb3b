//! Attribute keys, defaults and value rules for load balancers, target groups and listeners
//! (`data/attributes.json`, compiled from the model docs of `LoadBalancerAttribute.Key`,
//! `TargetGroupAttribute.Key` and `ListenerAttribute.Key`; sources in `data/attributes.SOURCES.md`).

use super::{ApiError, ApiResult};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

#[derive(Deserialize)]
struct Catalog {
    load_balancer: Vec<Entry>,
    target_group: Vec<Entry>,
    listener: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    key: String,
    #[serde(default)]
    default: String,
    #[serde(default)]
    types: Vec<String>,
    #[serde(default)]
    protocols: Vec<String>,
    #[serde(default)]
    target_types: Vec<String>,
    #[serde(default)]
    lb_types: Vec<String>,
    values: Values,
    #[serde(default)]
    default_by_protocol: BTreeMap<String, String>,
    #[serde(default)]
    default_by_type: BTreeMap<String, String>,
    #[serde(default)]
    default_by_scheme: BTreeMap<String, String>,
    #[serde(default)]
    default_rules: Vec<DefaultRule>,
    #[serde(default)]
    values_by_protocol: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
struct DefaultRule {
    protocols: Vec<String>,
    target_types: Vec<String>,
    default: String,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Values {
    Bool,
    Int {
        min: Option<i64>,
        max: Option<i64>,
        #[serde(default)]
        extra_values: Vec<String>,
    },
    Enum {
        values: Vec<String>,
    },
    String,
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    serde_json::from_str(include_str!("data/attributes.json")).expect("attributes.json parses")
});

/// Which resource an attribute set belongs to (for messages and value rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    LoadBalancer,
    TargetGroup,
    Listener,
}

impl Owner {
    fn noun(self) -> &'static str {
        match self {
            Owner::LoadBalancer => "Load balancer",
            Owner::TargetGroup => "Target group",
            Owner::Listener => "Listener",
        }
    }
    fn entries(self) -> &'static [Entry] {
        match self {
            Owner::LoadBalancer => &CATALOG.load_balancer,
            Owner::TargetGroup => &CATALOG.target_group,
            Owner::Listener => &CATALOG.listener,
        }
    }
}

/// The attributes a new load balancer of `lb_type` starts with.
pub fn lb_defaults(lb_type: &str, scheme: &str) -> BTreeMap<String, String> {
    CATALOG
        .load_balancer
        .iter()
        .filter(|e| e.types.iter().any(|t| t == lb_type))
        .map(|e| {
            let v = e
                .default_by_type
                .get(lb_type)
                .or_else(|| e.default_by_scheme.get(scheme))
                .unwrap_or(&e.default);
            (e.key.clone(), v.clone())
        })
        .collect()
}

/// The attributes a new target group starts with (`protocol` is "" for lambda).
pub fn tg_defaults(protocol: &str, target_type: &str) -> BTreeMap<String, String> {
    CATALOG
        .target_group
        .iter()
        .filter(|e| {
            e.protocols.iter().any(|p| p == protocol)
                && e.target_types.iter().any(|t| t == target_type)
        })
        .map(|e| {
            let rule = e.default_rules.iter().find(|r| {
                r.protocols.iter().any(|p| p == protocol)
                    && r.target_types.iter().any(|t| t == target_type)
            });
            let v = rule
                .map(|r| &r.default)
                .or_else(|| e.default_by_protocol.get(protocol))
                .unwrap_or(&e.default);
            (e.key.clone(), v.clone())
        })
        .collect()
}

/// The attributes a new listener starts with (`protocol` "GENEVE" stands for gateway listeners).
pub fn listener_defaults(protocol: &str, lb_type: &str) -> BTreeMap<String, String> {
    CATALOG
        .listener
        .iter()
        .filter(|e| {
            e.protocols.iter().any(|p| p == protocol) && e.lb_types.iter().any(|t| t == lb_type)
        })
        .map(|e| (e.key.clone(), e.default.clone()))
        .collect()
}

/// The model's three Key/Value attribute shapes, converted in one place.
pub trait KeyValue {
    /// From a stored pair.
    fn from_pair(k: &str, v: &str) -> Self;
    /// Into a (key, value) pair; absent parts are empty.
    fn into_pair(self) -> (String, String);
}

macro_rules! key_value {
    ($($t:ty),*) => {$(
        impl KeyValue for $t {
            fn from_pair(k: &str, v: &str) -> Self {
                Self { key: Some(k.to_string()), value: Some(v.to_string()) }
            }
            fn into_pair(self) -> (String, String) {
                (self.key.unwrap_or_default(), self.value.unwrap_or_default())
            }
        }
    )*};
}
key_value!(
    api_models::LoadBalancerAttribute,
    api_models::TargetGroupAttribute,
    api_models::ListenerAttribute
);

/// A stored attribute map as the API's list.
pub fn to_api<T: KeyValue>(attrs: &BTreeMap<String, String>) -> Vec<T> {
    attrs.iter().map(|(k, v)| T::from_pair(k, v)).collect()
}

/// An API attribute list as (key, value) pairs, in request order.
pub fn pairs<T: KeyValue>(list: Option<Vec<T>>) -> Vec<(String, String)> {
    list.unwrap_or_default()
        .into_iter()
        .map(KeyValue::into_pair)
        .collect()
}

/// Applies `changes` (key, value) to `current`, whose keys are the valid set for this resource.
/// Validates everything first, so a bad pair changes nothing. Returns the changed pairs.
pub fn modify(
    owner: Owner,
    current: &mut BTreeMap<String, String>,
    protocol: &str,
    changes: &[(String, String)],
) -> ApiResult<Vec<(String, String)>> {
    for (k, v) in changes {
        if !current.contains_key(k) {
            return Err(ApiError::validation(format!(
                "{} attribute key '{k}' is not recognized",
                owner.noun()
            )));
        }
        let entry = owner.entries().iter().find(|e| &e.key == k);
        if let Some(e) = entry {
            check_value(owner, e, protocol, k, v)?;
        }
    }
    for (k, v) in changes {
        current.insert(k.clone(), v.clone());
    }
    Ok(changes.to_vec())
}

fn check_value(owner: Owner, e: &Entry, protocol: &str, k: &str, v: &str) -> ApiResult<()> {
    let bad = || {
        ApiError::validation(format!(
            "{} attribute '{k}' has an invalid value '{v}'",
            owner.noun()
        ))
    };
    match &e.values {
        Values::Bool => {
            if v != "true" && v != "false" {
                return Err(bad());
            }
        }
        Values::Int {
            min,
            max,
            extra_values,
        } => {
            if extra_values.iter().any(|x| x == v) {
                return Ok(());
            }
            let n: i64 = v.parse().map_err(|_| bad())?;
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                return Err(bad());
            }
        }
        Values::Enum { values } => {
            let allowed = e.values_by_protocol.get(protocol).unwrap_or(values);
            if !allowed.iter().any(|x| x == v) {
                return Err(bad());
            }
        }
        Values::String => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alb_defaults_match_aws() {
        let d = lb_defaults("application", "internet-facing");
        assert_eq!(d["idle_timeout.timeout_seconds"], "60");
        assert_eq!(d["routing.http2.enabled"], "true");
        assert_eq!(d["load_balancing.cross_zone.enabled"], "true");
        assert!(!d.contains_key("dns_record.client_routing_policy"));
        let n = lb_defaults("network", "internal");
        assert_eq!(n["load_balancing.cross_zone.enabled"], "false");
    }

    #[test]
    fn tg_defaults_depend_on_protocol() {
        assert_eq!(
            tg_defaults("HTTP", "instance")["stickiness.type"],
            "lb_cookie"
        );
        assert_eq!(
            tg_defaults("TCP", "instance")["stickiness.type"],
            "source_ip"
        );
        assert_eq!(
            tg_defaults("TCP", "ip")["preserve_client_ip.enabled"],
            "false"
        );
        assert!(tg_defaults("", "lambda").contains_key("lambda.multi_value_headers.enabled"));
    }

    #[test]
    fn modify_validates_before_applying() {
        let mut cur = lb_defaults("application", "internet-facing");
        let before = cur.clone();
        let e = modify(
            Owner::LoadBalancer,
            &mut cur,
            "",
            &[
                ("idle_timeout.timeout_seconds".into(), "30".into()),
                ("nope".into(), "1".into()),
            ],
        )
        .unwrap_err();
        assert_eq!(
            e.message(),
            "Load balancer attribute key 'nope' is not recognized"
        );
        assert_eq!(cur, before);
        assert!(modify(
            Owner::LoadBalancer,
            &mut cur,
            "",
            &[("routing.http2.enabled".into(), "maybe".into())]
        )
        .is_err());
    }
}
