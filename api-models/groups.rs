//! The table of operation groups the generated service traits follow (read by `build.rs`).

/// The operation groups `src/` implements, one trait per resource module, in model terms:
/// (trait, what it covers, operations). Every model operation is in exactly one group, or the
/// build fails, so a new operation in the model has to be placed before anything compiles.
pub const GROUPS: &[(&str, &str, &[&str])] = &[
    (
        "LoadBalancers",
        "load balancers, their subnets, security groups, address type and attributes",
        &[
            "CreateLoadBalancer",
            "DescribeLoadBalancers",
            "DeleteLoadBalancer",
            "SetSubnets",
            "SetSecurityGroups",
            "SetIpAddressType",
            "DescribeLoadBalancerAttributes",
            "ModifyLoadBalancerAttributes",
        ],
    ),
    (
        "TargetGroups",
        "target groups and their attributes",
        &[
            "CreateTargetGroup",
            "DescribeTargetGroups",
            "ModifyTargetGroup",
            "DeleteTargetGroup",
            "DescribeTargetGroupAttributes",
            "ModifyTargetGroupAttributes",
        ],
    ),
    (
        "Targets",
        "the targets of a target group and their health",
        &[
            "RegisterTargets",
            "DeregisterTargets",
            "DescribeTargetHealth",
        ],
    ),
    (
        "Listeners",
        "listeners, their attributes and certificates",
        &[
            "CreateListener",
            "DescribeListeners",
            "ModifyListener",
            "DeleteListener",
            "DescribeListenerAttributes",
            "ModifyListenerAttributes",
            "AddListenerCertificates",
            "RemoveListenerCertificates",
            "DescribeListenerCertificates",
        ],
    ),
    (
        "Rules",
        "listener rules and their priorities",
        &[
            "CreateRule",
            "DescribeRules",
            "ModifyRule",
            "DeleteRule",
            "SetRulePriorities",
        ],
    ),
    (
        "Tags",
        "tags on any taggable resource",
        &["AddTags", "RemoveTags", "DescribeTags"],
    ),
    (
        "TrustStores",
        "trust stores, their revocations and associations",
        &[
            "CreateTrustStore",
            "DescribeTrustStores",
            "ModifyTrustStore",
            "DeleteTrustStore",
            "GetTrustStoreCaCertificatesBundle",
            "AddTrustStoreRevocations",
            "RemoveTrustStoreRevocations",
            "DescribeTrustStoreRevocations",
            "GetTrustStoreRevocationContent",
            "DescribeTrustStoreAssociations",
            "DeleteSharedTrustStoreAssociation",
        ],
    ),
    (
        "Capacity",
        "capacity reservations, IP pools and resource policies",
        &[
            "DescribeCapacityReservation",
            "ModifyCapacityReservation",
            "ModifyIpPools",
            "GetResourcePolicy",
        ],
    ),
    ("Limits", "account limits", &["DescribeAccountLimits"]),
    ("SslPolicies", "SSL policies", &["DescribeSSLPolicies"]),
];
