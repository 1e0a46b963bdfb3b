use super::*;

#[test]
fn protocol_and_port_rules_by_lb_type() {
    assert_eq!(
        check_protocol_port("application", Some("HTTP"), Some(80)).unwrap(),
        ("HTTP".to_string(), 80)
    );
    assert_eq!(
        check_protocol_port("application", Some("TCP"), Some(80))
            .unwrap_err()
            .message(),
        "Listener protocol 'TCP' must be one of 'HTTP, HTTPS'"
    );
    assert_eq!(
        check_protocol_port("network", Some("HTTP"), Some(80))
            .unwrap_err()
            .message(),
        "Listener protocol 'HTTP' must be one of 'TCP, TLS, UDP, TCP_UDP, QUIC, TCP_QUIC'"
    );
    assert_eq!(
        check_protocol_port("network", Some("TCP"), None)
            .unwrap_err()
            .message(),
        "A listener port must be specified"
    );
    assert_eq!(
        check_protocol_port("gateway", None, None).unwrap(),
        ("GENEVE".to_string(), 6081)
    );
    assert_eq!(
        check_protocol_port("gateway", None, Some(6081))
            .unwrap_err()
            .message(),
        "A port cannot be specified for gateway listeners"
    );
    assert_eq!(
        check_protocol_port("gateway", Some("GENEVE"), None)
            .unwrap_err()
            .message(),
        "A protocol cannot be specified for gateway listeners"
    );
}

#[test]
fn cascade_removes_rules() {
    let mut s = Scope::new("123456789012", "us-east-1");
    let lb =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/0000000000000001";
    let l = arn::listener_arn(lb, "0000000000000002");
    let r = arn::rule_arn(&l, "0000000000000003");
    s.listeners.insert(
        l.clone(),
        ListenerRec {
            listener: m::Listener {
                listener_arn: Some(l.clone()),
                load_balancer_arn: Some(lb.into()),
                ..Default::default()
            },
            attributes: BTreeMap::new(),
            tags: Vec::new(),
            extra_certificates: Vec::new(),
            seq: 1,
        },
    );
    s.rules.insert(
        r.clone(),
        RuleRec {
            rule: m::Rule {
                rule_arn: Some(r.clone()),
                ..Default::default()
            },
            listener_arn: l.clone(),
            tags: Vec::new(),
            seq: 2,
        },
    );
    delete_listeners_of_lb(&mut s, lb);
    assert!(s.listeners.is_empty() && s.rules.is_empty());
}
