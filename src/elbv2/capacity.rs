//! LCU capacity reservations, IPAM pools and resource policies.
//!
//! A local emulator provisions capacity instantly, so every zone of a reservation is
//! `provisioned` straight away (never `pending`), and `CapacityReservationPending` never
//! happens. The reserved units are spread evenly over the load balancer's zones, as AWS does
//! (267 LCUs over 3 zones show `EffectiveCapacityUnits` 89.0 each).
//!
//! Decreases (a lower value, or a reset of a non-zero reservation) are limited per UTC day;
//! AWS allows two (`DecreaseRequestsRemaining` starts at 2, see `limits.rs`). The count is kept
//! in `capacity_decreases` and belongs to the day of `capacity_modified`; a modification on a
//! later day starts a new count.

use super::limits::quota;
use super::{ApiError, ApiResult, Service};
use crate::state::LoadBalancerRec;
use api_models as m;
use api_models::ModeledError as E;

const DAY_MS: i64 = 86_400_000;

/// What both capacity operations answer with.
struct View {
    last_modified_time: Option<m::Timestamp>,
    decrease_requests_remaining: i32,
    minimum_load_balancer_capacity: Option<m::MinimumLoadBalancerCapacity>,
    capacity_reservation_state: Vec<m::ZonalCapacityReservationState>,
}

/// Decreases already made on the UTC day of `now_ms`.
fn decreases_today(rec: &LoadBalancerRec, now_ms: i64) -> i32 {
    match rec.capacity_modified {
        Some(t) if t.millis().div_euclid(DAY_MS) == now_ms.div_euclid(DAY_MS) => {
            rec.capacity_decreases
        }
        _ => 0,
    }
}

fn zones(rec: &LoadBalancerRec) -> Vec<String> {
    rec.lb
        .availability_zones
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|z| z.zone_name.clone())
        .collect()
}

fn view(rec: &LoadBalancerRec, now_ms: i64, max_decreases: i64) -> View {
    let remaining =
        (max_decreases - decreases_today(rec, now_ms) as i64).clamp(0, i32::MAX as i64) as i32;
    let reserved = rec.capacity_units.is_some() || rec.capacity_modified.is_some();
    if !reserved {
        return View {
            last_modified_time: None,
            decrease_requests_remaining: remaining,
            minimum_load_balancer_capacity: None,
            capacity_reservation_state: Vec::new(),
        };
    }
    let units = rec.capacity_units.unwrap_or(0);
    let zones = zones(rec);
    let per_zone = (units > 0 && !zones.is_empty()).then(|| units as f64 / zones.len() as f64);
    View {
        last_modified_time: rec.capacity_modified,
        decrease_requests_remaining: remaining,
        minimum_load_balancer_capacity: Some(m::MinimumLoadBalancerCapacity {
            capacity_units: Some(units),
        }),
        capacity_reservation_state: zones
            .into_iter()
            .map(|z| m::ZonalCapacityReservationState {
                state: Some(m::CapacityReservationStatus {
                    code: Some("provisioned".into()),
                    reason: None,
                }),
                availability_zone: Some(z),
                effective_capacity_units: per_zone,
            })
            .collect(),
    }
}

/// The outcome of a modification request, before it is stored.
#[derive(Debug, PartialEq)]
struct Change {
    units: Option<i32>,
    decreases: i32,
}

/// Validates a `ModifyCapacityReservation` request against the current reservation.
fn plan(
    rec: &LoadBalancerRec,
    units: Option<i32>,
    reset: bool,
    now_ms: i64,
    max_decreases: i64,
    max_units: i64,
) -> ApiResult<Change> {
    let new = match (units, reset) {
        (Some(_), true) => {
            return Err(ApiError::modeled(
                E::InvalidConfigurationRequest,
                "You cannot specify both MinimumLoadBalancerCapacity and ResetCapacityReservation",
            ))
        }
        (None, false) => {
            return Err(ApiError::validation(
                "You must specify either MinimumLoadBalancerCapacity or ResetCapacityReservation",
            ))
        }
        (None, true) => None,
        (Some(u), false) => {
            if u < 1 {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{u}' at 'minimumLoadBalancerCapacity.capacityUnits' failed to satisfy constraint: Member must have value greater than or equal to 1"
                )));
            }
            if u as i64 > max_units {
                return Err(ApiError::modeled(
                    E::CapacityUnitsLimitExceeded,
                    format!("The requested capacity of {u} units exceeds the limit of {max_units} capacity units"),
                ));
            }
            Some(u)
        }
    };
    let mut decreases = decreases_today(rec, now_ms);
    if new.unwrap_or(0) < rec.capacity_units.unwrap_or(0) {
        if decreases as i64 >= max_decreases {
            return Err(ApiError::modeled(
                E::CapacityDecreaseRequestsLimitExceeded,
                "You've exceeded the daily capacity decrease limit for this reservation",
            ));
        }
        decreases += 1;
    }
    Ok(Change {
        units: new,
        decreases,
    })
}

fn valid_ipam_pool_id(id: &str) -> bool {
    id.strip_prefix("ipam-pool-")
        .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric()))
        && id.len() <= 1000
}

impl Service<'_> {
    fn capacity_quotas(&self) -> (i64, i64) {
        let cfg = &self.ctx.config;
        (
            quota(cfg, "capacity-decrease-requests-per-day"),
            quota(cfg, "reserved-lcus-per-application-load-balancer"),
        )
    }
}

impl m::Capacity for Service<'_> {
    /// `DescribeCapacityReservation`.
    fn describe_capacity_reservation(
        &mut self,
        i: m::DescribeCapacityReservationInput,
    ) -> ApiResult<m::DescribeCapacityReservationOutput> {
        let arn = i.load_balancer_arn.unwrap_or_default();
        let rec = self.lb(&arn)?;
        let v = view(rec, self.ctx.now_ms, self.capacity_quotas().0);
        Ok(m::DescribeCapacityReservationOutput {
            last_modified_time: v.last_modified_time,
            decrease_requests_remaining: Some(v.decrease_requests_remaining),
            minimum_load_balancer_capacity: v.minimum_load_balancer_capacity,
            capacity_reservation_state: Some(v.capacity_reservation_state),
        })
    }

    /// `ModifyCapacityReservation`.
    fn modify_capacity_reservation(
        &mut self,
        i: m::ModifyCapacityReservationInput,
    ) -> ApiResult<m::ModifyCapacityReservationOutput> {
        let arn = i.load_balancer_arn.unwrap_or_default();
        let (max_decreases, max_alb_units) = self.capacity_quotas();
        let now_ms = self.ctx.now_ms;
        let rec = self.lb(&arn)?;
        let lb_type = rec.lb.type_.clone().unwrap_or_else(|| "application".into());
        if lb_type == "network"
            && self
                .listeners_of(&arn)
                .iter()
                .any(|l| l.listener.protocol.as_deref() == Some("TLS"))
        {
            return Err(ApiError::modeled(
                E::OperationNotPermitted,
                "Capacity reservation is not supported on Network Load Balancers with TLS listeners",
            ));
        }
        let max_units = if lb_type == "application" {
            max_alb_units
        } else {
            i64::MAX
        };
        let units = i
            .minimum_load_balancer_capacity
            .and_then(|c| c.capacity_units);
        let change = plan(
            rec,
            units,
            i.reset_capacity_reservation.unwrap_or(false),
            now_ms,
            max_decreases,
            max_units,
        )?;
        let rec = self.lb_mut(&arn)?;
        rec.capacity_units = change.units;
        rec.capacity_decreases = change.decreases;
        rec.capacity_modified = Some(m::Timestamp::from_millis(now_ms));
        let v = view(rec, now_ms, max_decreases);
        Ok(m::ModifyCapacityReservationOutput {
            last_modified_time: v.last_modified_time,
            decrease_requests_remaining: Some(v.decrease_requests_remaining),
            minimum_load_balancer_capacity: v.minimum_load_balancer_capacity,
            capacity_reservation_state: Some(v.capacity_reservation_state),
        })
    }

    /// `ModifyIpPools` (Application Load Balancers only).
    fn modify_ip_pools(&mut self, i: m::ModifyIpPoolsInput) -> ApiResult<m::ModifyIpPoolsOutput> {
        let arn = i.load_balancer_arn.unwrap_or_default();
        let rec = self.lb(&arn)?;
        if rec.lb.type_.as_deref().unwrap_or("application") != "application" {
            return Err(ApiError::modeled(
                E::InvalidConfigurationRequest,
                "IPAM pools are supported only on Application Load Balancers",
            ));
        }
        let set = i.ipam_pools.and_then(|p| p.ipv4_ipam_pool_id);
        let remove = i
            .remove_ipam_pools
            .unwrap_or_default()
            .iter()
            .any(|r| r == "ipv4");
        if let Some(id) = &set {
            if !valid_ipam_pool_id(id) {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{id}' at 'ipamPools.ipv4IpamPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(ipam-pool-)[a-zA-Z0-9]+$"
                )));
            }
        }
        let next = match (set, remove) {
            (Some(_), true) => {
                return Err(ApiError::validation(
                    "You cannot both set and remove the IPv4 IPAM pool in the same request",
                ))
            }
            (None, false) => {
                return Err(ApiError::validation(
                    "You must specify either IpamPools or RemoveIpamPools",
                ))
            }
            (Some(id), false) => Some(m::IpamPools {
                ipv4_ipam_pool_id: Some(id),
            }),
            (None, true) => None,
        };
        let rec = self.lb_mut(&arn)?;
        rec.lb.ipam_pools = next.clone();
        Ok(m::ModifyIpPoolsOutput { ipam_pools: next })
    }

    /// `GetResourcePolicy`: the policy stored for the resource (trust stores can carry one).
    fn get_resource_policy(
        &mut self,
        i: m::GetResourcePolicyInput,
    ) -> ApiResult<m::GetResourcePolicyOutput> {
        let arn = i.resource_arn.unwrap_or_default();
        let scope = self.scope();
        let stored = scope
            .policies
            .get(&arn)
            .or_else(|| scope.policies.values().find(|p| p.arn == arn));
        match stored {
            Some(p) => Ok(m::GetResourcePolicyOutput {
                policy: Some(p.policy.clone()),
            }),
            None => {
                // Every resource that can carry a policy is a taggable one.
                let msg = if self.tags_of(&arn).is_ok() {
                    format!("No resource policy found for '{arn}'")
                } else {
                    format!("Resource '{arn}' not found")
                };
                Err(ApiError::modeled(E::ResourceNotFound, msg))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const NOW: i64 = 1_731_542_288_613; // 2024-11-13T23:58:08.613Z

    fn lb(zones: &[&str]) -> LoadBalancerRec {
        LoadBalancerRec {
            lb: m::LoadBalancer {
                type_: Some("application".into()),
                availability_zones: Some(
                    zones
                        .iter()
                        .map(|z| m::AvailabilityZone {
                            zone_name: Some(z.to_string()),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            },
            attributes: BTreeMap::new(),
            tags: Vec::new(),
            seq: 1,
            capacity_units: None,
            capacity_modified: None,
            capacity_decreases: 0,
        }
    }

    fn apply(rec: &mut LoadBalancerRec, c: Change, now: i64) {
        rec.capacity_units = c.units;
        rec.capacity_decreases = c.decreases;
        rec.capacity_modified = Some(m::Timestamp::from_millis(now));
    }

    fn step(rec: &mut LoadBalancerRec, units: Option<i32>, reset: bool) {
        let c = plan(rec, units, reset, NOW, 2, 15_000).unwrap();
        apply(rec, c, NOW);
    }

    #[test]
    fn no_reservation_view() {
        let v = view(&lb(&["us-east-1a", "us-east-1b"]), NOW, 2);
        assert_eq!(v.decrease_requests_remaining, 2);
        assert!(v.minimum_load_balancer_capacity.is_none());
        assert!(v.capacity_reservation_state.is_empty());
        assert!(v.last_modified_time.is_none());
    }

    #[test]
    fn reservation_is_spread_over_zones_and_provisioned() {
        let mut r = lb(&["us-east-1a", "us-east-1b", "us-east-1c"]);
        let c = plan(&r, Some(267), false, NOW, 2, 15_000).unwrap();
        assert_eq!(
            c,
            Change {
                units: Some(267),
                decreases: 0
            }
        );
        apply(&mut r, c, NOW);
        let v = view(&r, NOW, 2);
        assert_eq!(
            v.minimum_load_balancer_capacity.unwrap().capacity_units,
            Some(267)
        );
        assert_eq!(v.capacity_reservation_state.len(), 3);
        for z in &v.capacity_reservation_state {
            assert_eq!(z.effective_capacity_units, Some(89.0));
            assert_eq!(
                z.state.as_ref().unwrap().code.as_deref(),
                Some("provisioned")
            );
        }
        assert_eq!(v.last_modified_time.unwrap().millis(), NOW);
    }

    #[test]
    fn decreases_are_limited_per_day() {
        let mut r = lb(&["a"]);
        step(&mut r, Some(500), false);
        step(&mut r, Some(400), false);
        assert_eq!(view(&r, NOW, 2).decrease_requests_remaining, 1);
        // An increase is free.
        step(&mut r, Some(600), false);
        assert_eq!(view(&r, NOW, 2).decrease_requests_remaining, 1);
        // A reset of a non-zero reservation is a decrease, and shows CapacityUnits 0.
        step(&mut r, None, true);
        let v = view(&r, NOW, 2);
        assert_eq!(v.decrease_requests_remaining, 0);
        assert_eq!(
            v.minimum_load_balancer_capacity.unwrap().capacity_units,
            Some(0)
        );
        assert_eq!(
            v.capacity_reservation_state[0].effective_capacity_units,
            None
        );
        step(&mut r, Some(300), false);
        let e = plan(&r, Some(200), false, NOW, 2, 15_000).unwrap_err();
        assert_eq!(e.code(), "CapacityDecreaseRequestLimitExceeded");
        // The next UTC day starts over.
        let tomorrow = NOW + DAY_MS;
        assert_eq!(view(&r, tomorrow, 2).decrease_requests_remaining, 2);
        assert_eq!(
            plan(&r, Some(200), false, tomorrow, 2, 15_000)
                .unwrap()
                .decreases,
            1
        );
    }

    #[test]
    fn bad_requests() {
        let r = lb(&["a"]);
        assert_eq!(
            plan(&r, None, false, NOW, 2, 15_000).unwrap_err().code(),
            "ValidationError"
        );
        assert_eq!(
            plan(&r, Some(10), true, NOW, 2, 15_000).unwrap_err().code(),
            "InvalidConfigurationRequest"
        );
        assert_eq!(
            plan(&r, Some(0), false, NOW, 2, 15_000).unwrap_err().code(),
            "ValidationError"
        );
        assert_eq!(
            plan(&r, Some(15_001), false, NOW, 2, 15_000)
                .unwrap_err()
                .code(),
            "CapacityUnitsLimitExceeded"
        );
        // Resetting nothing is not a decrease.
        assert_eq!(
            plan(&r, None, true, NOW, 0, 15_000).unwrap(),
            Change {
                units: None,
                decreases: 0
            }
        );
    }

    #[test]
    fn ipam_pool_ids() {
        assert!(valid_ipam_pool_id("ipam-pool-0123abc"));
        assert!(!valid_ipam_pool_id("ipam-pool-"));
        assert!(!valid_ipam_pool_id("pool-1"));
        assert!(!valid_ipam_pool_id("ipam-pool-a_b"));
    }
}
