//! ARNs and resource ids, in AWS's shapes (the Terraform provider parses them with regexes).

use rand::Rng;

/// A random 16-hex-digit resource id, as AWS uses in ARNs.
pub fn new_id() -> String {
    format!("{:016x}", rand::rng().random::<u64>())
}

/// The partition of a region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// `arn:<partition>:elasticloadbalancing:<region>:<account>:<resource>`.
pub fn arn(region: &str, account: &str, resource: &str) -> String {
    format!(
        "arn:{}:elasticloadbalancing:{region}:{account}:{resource}",
        partition(region)
    )
}

/// The short type used in LB ARNs: app, net or gwy.
pub fn lb_kind(lb_type: &str) -> &'static str {
    match lb_type {
        "network" => "net",
        "gateway" => "gwy",
        _ => "app",
    }
}

/// What kind of resource an ELBv2 ARN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArnKind {
    LoadBalancer,
    TargetGroup,
    Listener,
    Rule,
    TrustStore,
    Unknown,
}

/// Classifies an ARN by its resource part.
pub fn kind_of(arn: &str) -> ArnKind {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or("");
    if resource.starts_with("loadbalancer/") {
        ArnKind::LoadBalancer
    } else if resource.starts_with("targetgroup/") {
        ArnKind::TargetGroup
    } else if resource.starts_with("listener-rule/") {
        ArnKind::Rule
    } else if resource.starts_with("listener/") {
        ArnKind::Listener
    } else if resource.starts_with("truststore/") {
        ArnKind::TrustStore
    } else {
        ArnKind::Unknown
    }
}

/// The `app/<name>/<id>` tail of a load balancer ARN.
pub fn lb_tail(lb_arn: &str) -> &str {
    lb_arn
        .split_once(":loadbalancer/")
        .map(|(_, t)| t)
        .unwrap_or("")
}

/// A listener ARN under a load balancer ARN.
pub fn listener_arn(lb_arn: &str, id: &str) -> String {
    format!(
        "{}/{id}",
        lb_arn.replacen(":loadbalancer/", ":listener/", 1)
    )
}

/// A rule ARN under a listener ARN.
pub fn rule_arn(listener_arn: &str, id: &str) -> String {
    format!(
        "{}/{id}",
        listener_arn.replacen(":listener/", ":listener-rule/", 1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_match_terraform_regexes() {
        let lb = arn(
            "us-east-1",
            "123456789012",
            "loadbalancer/app/my-lb/50dc6c495c0c9188",
        );
        let l = listener_arn(&lb, "f2f7dc8efc522ab2");
        assert_eq!(l, "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/my-lb/50dc6c495c0c9188/f2f7dc8efc522ab2");
        let r = rule_arn(&l, "9683b2d02a6cabee");
        assert!(r.contains(
            ":listener-rule/app/my-lb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
        ));
        assert_eq!(kind_of(&r), ArnKind::Rule);
        assert_eq!(kind_of(&l), ArnKind::Listener);
        assert_eq!(new_id().len(), 16);
    }
}
