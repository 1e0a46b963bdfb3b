//! The native data plane: routing snapshots built from the committed state, listener sockets,
//! and the HTTP proxy that serves them.

pub mod accept;
pub mod listeners;
pub mod metrics;
pub mod proxy;
pub mod rule_match;
pub mod select;
pub mod snapshot;
pub mod sticky;
pub mod stream;
pub mod tls;
pub mod trace_id;
pub mod udp;
pub mod upstream;
pub mod workers;

/// Whether a successful call of `op` can change what the data plane serves (so the answer waits
/// for the new routing table). Creating a target group, tags or trust stores cannot.
pub fn affects_routing(op: api_models::Operation) -> bool {
    use api_models::Operation as O;
    !matches!(
        op,
        O::CreateTargetGroup
            | O::AddTags
            | O::RemoveTags
            | O::CreateTrustStore
            | O::ModifyTrustStore
            | O::DeleteTrustStore
            | O::AddTrustStoreRevocations
            | O::RemoveTrustStoreRevocations
            | O::DeleteSharedTrustStoreAssociation
            | O::ModifyCapacityReservation
            | O::ModifyIpPools
            | O::SetSecurityGroups
            | O::SetIpAddressType
            | O::CreateLoadBalancer
    )
}
