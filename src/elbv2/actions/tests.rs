use super::*;

const LB: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/lb/0000000000000001";
const TG1: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/0000000000000001";
const TG2: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/b/0000000000000002";

fn alb(protocol: &'static str) -> ActionCtx<'static> {
    ActionCtx {
        lb_arn: LB,
        lb_type: "application",
        protocol,
        port: Some(80),
        member: "actions",
        max_tgs_per_action: 5,
    }
}

fn tgs(arn: &str) -> Option<TgInfo> {
    match arn {
        TG1 | TG2 => Some(TgInfo {
            protocol: Some("HTTP".into()),
            target_type: "instance".into(),
            load_balancers: vec![],
        }),
        _ => None,
    }
}

fn fwd(arn: &str) -> m::Action {
    m::Action {
        type_: Some("forward".into()),
        target_group_arn: Some(arn.into()),
        ..Default::default()
    }
}

#[test]
fn single_forward_gets_both_forms_and_order() {
    let out = normalize_actions(&[fwd(TG1)], &alb("HTTP"), &tgs, &[]).unwrap();
    let a = &out[0];
    assert_eq!(a.order, Some(1));
    assert_eq!(a.target_group_arn.as_deref(), Some(TG1));
    let fc = a.forward_config.as_ref().unwrap();
    assert_eq!(fc.target_groups.as_ref().unwrap()[0].weight, Some(1));
    assert_eq!(
        fc.target_group_stickiness_config.as_ref().unwrap().enabled,
        Some(false)
    );
}

#[test]
fn weighted_forward_has_no_target_group_arn() {
    let a = m::Action {
        type_: Some("forward".into()),
        forward_config: Some(m::ForwardActionConfig {
            target_groups: Some(vec![
                m::TargetGroupTuple {
                    target_group_arn: Some(TG1.into()),
                    weight: Some(10),
                },
                m::TargetGroupTuple {
                    target_group_arn: Some(TG2.into()),
                    weight: Some(0),
                },
            ]),
            target_group_stickiness_config: None,
        }),
        ..Default::default()
    };
    let out = normalize_actions(&[a.clone()], &alb("HTTP"), &tgs, &[]).unwrap();
    assert!(out[0].target_group_arn.is_none());
    let mut bad = a;
    bad.forward_config
        .as_mut()
        .unwrap()
        .target_groups
        .as_mut()
        .unwrap()[0]
        .weight = Some(1000);
    assert!(normalize_actions(&[bad], &alb("HTTP"), &tgs, &[])
        .unwrap_err()
        .message()
        .contains("999"));
}

#[test]
fn forward_errors() {
    let e = normalize_actions(&[fwd("arn:nope")], &alb("HTTP"), &tgs, &[]).unwrap_err();
    assert_eq!(e.code(), "TargetGroupNotFound");
    let mut both = fwd(TG1);
    both.forward_config = Some(m::ForwardActionConfig {
        target_groups: Some(vec![m::TargetGroupTuple {
            target_group_arn: Some(TG2.into()),
            weight: None,
        }]),
        target_group_stickiness_config: None,
    });
    assert_eq!(
        normalize_actions(&[both], &alb("HTTP"), &tgs, &[])
            .unwrap_err()
            .code(),
        "ValidationError"
    );
    let mut sticky = fwd(TG1);
    sticky.forward_config = Some(m::ForwardActionConfig {
        target_groups: None,
        target_group_stickiness_config: Some(m::TargetGroupStickinessConfig {
            enabled: Some(true),
            duration_seconds: None,
        }),
    });
    assert!(normalize_actions(&[sticky], &alb("HTTP"), &tgs, &[]).is_err());
    let used = |_: &str| {
        Some(TgInfo {
            protocol: Some("HTTP".into()),
            target_type: "ip".into(),
            load_balancers: vec!["other".into()],
        })
    };
    assert_eq!(
        normalize_actions(&[fwd(TG1)], &alb("HTTP"), &used, &[])
            .unwrap_err()
            .code(),
        "TargetGroupAssociationLimit"
    );
    let tcp = |_: &str| {
        Some(TgInfo {
            protocol: Some("TCP".into()),
            target_type: "ip".into(),
            load_balancers: vec![],
        })
    };
    assert_eq!(
        normalize_actions(&[fwd(TG1)], &alb("HTTP"), &tcp, &[])
            .unwrap_err()
            .code(),
        "IncompatibleProtocols"
    );
    let nlb = ActionCtx {
        lb_type: "network",
        protocol: "TCP",
        ..alb("TCP")
    };
    assert_eq!(
        normalize_actions(&[fwd(TG1)], &nlb, &tgs, &[])
            .unwrap_err()
            .code(),
        "IncompatibleProtocols"
    );
    assert!(normalize_actions(&[fwd(TG1)], &nlb, &tcp, &[]).is_ok());
}

#[test]
fn exactly_one_terminal_action_last() {
    let fixed = m::Action {
        type_: Some("fixed-response".into()),
        fixed_response_config: Some(m::FixedResponseActionConfig {
            status_code: Some("404".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let e = normalize_actions(&[fwd(TG1), fixed.clone()], &alb("HTTP"), &tgs, &[]).unwrap_err();
    assert_eq!(e.code(), "InvalidLoadBalancerAction");
    let oidc = m::Action {
        type_: Some("authenticate-oidc".into()),
        order: Some(2),
        authenticate_oidc_config: Some(m::AuthenticateOidcActionConfig {
            issuer: Some("https://idp.example.com".into()),
            authorization_endpoint: Some("https://idp.example.com/auth".into()),
            token_endpoint: Some("https://idp.example.com/token".into()),
            user_info_endpoint: Some("https://idp.example.com/me".into()),
            client_id: Some("c".into()),
            client_secret: Some("s".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut f = fwd(TG1);
    f.order = Some(3);
    assert_eq!(
        normalize_actions(&[oidc.clone(), f.clone()], &alb("HTTP"), &tgs, &[])
            .unwrap_err()
            .code(),
        "UnsupportedProtocol"
    );
    let out = normalize_actions(&[f.clone(), oidc.clone()], &alb("HTTPS"), &tgs, &[]).unwrap();
    assert_eq!(out[0].type_.as_deref(), Some("authenticate-oidc"));
    assert_eq!(
        out[0]
            .authenticate_oidc_config
            .as_ref()
            .unwrap()
            .scope
            .as_deref(),
        Some("openid")
    );
    assert!(public_actions(&out)[0]
        .authenticate_oidc_config
        .as_ref()
        .unwrap()
        .client_secret
        .is_none());
    let mut late = oidc;
    late.order = Some(4);
    assert_eq!(
        normalize_actions(&[f, late], &alb("HTTPS"), &tgs, &[])
            .unwrap_err()
            .code(),
        "InvalidLoadBalancerAction"
    );
}

#[test]
fn fixed_response_rules() {
    let fr = |code: &str, ct: Option<&str>| m::Action {
        type_: Some("fixed-response".into()),
        fixed_response_config: Some(m::FixedResponseActionConfig {
            status_code: Some(code.into()),
            content_type: ct.map(Into::into),
            message_body: None,
        }),
        ..Default::default()
    };
    assert!(normalize_actions(&[fr("503", Some("text/plain"))], &alb("HTTP"), &tgs, &[]).is_ok());
    assert_eq!(
        normalize_actions(&[fr("302", None)], &alb("HTTP"), &tgs, &[])
            .unwrap_err()
            .code(),
        "ValidationError"
    );
    assert_eq!(
        normalize_actions(&[fr("200", Some("text/xml"))], &alb("HTTP"), &tgs, &[])
            .unwrap_err()
            .code(),
        "InvalidLoadBalancerAction"
    );
}

#[test]
fn redirect_rules() {
    let rd = |proto: Option<&str>, path: Option<&str>| m::Action {
        type_: Some("redirect".into()),
        redirect_config: Some(m::RedirectActionConfig {
            protocol: proto.map(Into::into),
            path: path.map(Into::into),
            status_code: Some("HTTP_301".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let out = normalize_actions(&[rd(Some("HTTPS"), None)], &alb("HTTP"), &tgs, &[]).unwrap();
    let c = out[0].redirect_config.as_ref().unwrap();
    assert_eq!(
        (c.host.as_deref(), c.path.as_deref(), c.port.as_deref()),
        (Some("#{host}"), Some("/#{path}"), Some("#{port}"))
    );
    assert_eq!(c.query.as_deref(), Some("#{query}"));
    // No change at all would loop.
    assert_eq!(
        normalize_actions(&[rd(None, None)], &alb("HTTP"), &tgs, &[])
            .unwrap_err()
            .code(),
        "InvalidLoadBalancerAction"
    );
    assert_eq!(
        normalize_actions(&[rd(Some("HTTP"), None)], &alb("HTTP"), &tgs, &[])
            .unwrap_err()
            .code(),
        "InvalidLoadBalancerAction"
    );
    assert_eq!(
        normalize_actions(&[rd(Some("HTTP"), Some("/x"))], &alb("HTTPS"), &tgs, &[])
            .unwrap_err()
            .code(),
        "InvalidLoadBalancerAction"
    );
    assert!(normalize_actions(&[rd(None, Some("/new/#{path}"))], &alb("HTTP"), &tgs, &[]).is_ok());
    assert!(normalize_actions(&[rd(None, Some("/#{query}"))], &alb("HTTP"), &tgs, &[]).is_err());
    assert!(normalize_actions(&[rd(Some("ftp"), Some("/x"))], &alb("HTTP"), &tgs, &[]).is_err());
}
