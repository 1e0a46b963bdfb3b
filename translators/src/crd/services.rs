//! The target side of the CRD rendering: a target group's port Services and EndpointSlices
//! (health as endpoint conditions), references to them, and localelb's responder Service.

use super::*;

pub(super) fn responder(port: u16, out: &mut Out) {
    let (host, _) = responder_addr(&out.opts.responder_url).expect("checked when used");
    let ports = vec![ServicePort {
        name: Some(PORT_NAME.into()),
        port: i32::from(port),
        protocol: Some("TCP".into()),
        ..Default::default()
    }];
    match host.parse::<IpAddr>() {
        Ok(ip) => {
            if ip.is_loopback() {
                out.warn(
                    &out.opts.responder_url.clone(),
                    "fixed-response",
                    "the responder address is loopback, which pods cannot reach; serve localelb on an address the cluster can reach",
                );
            }
            let svc = Service {
                metadata: out.meta(RESPONDER_SERVICE, None),
                spec: Some(ServiceSpec {
                    ports: Some(ports),
                    ..Default::default()
                }),
                ..Default::default()
            };
            out.insert_k8s("Service", RESPONDER_SERVICE, &svc);
            let ep = Endpoint {
                addresses: vec![ip.to_string()],
                conditions: Some(EndpointConditions {
                    ready: Some(true),
                    serving: Some(true),
                    terminating: Some(false),
                }),
                ..Default::default()
            };
            slice(RESPONDER_SERVICE, None, ip.is_ipv6(), port, vec![ep], out);
        }
        Err(_) => {
            // A host name: ExternalName (the provider runs with allowExternalNameServices).
            let svc = Service {
                metadata: out.meta(RESPONDER_SERVICE, None),
                spec: Some(ServiceSpec {
                    type_: Some("ExternalName".into()),
                    external_name: Some(host),
                    ports: Some(ports),
                    ..Default::default()
                }),
                ..Default::default()
            };
            out.insert_k8s("Service", RESPONDER_SERVICE, &svc);
        }
    }
}

pub(super) fn slice(
    service: &str,
    arn: Option<&str>,
    ipv6: bool,
    port: u16,
    endpoints: Vec<Endpoint>,
    out: &mut Out,
) {
    let family = if ipv6 { "ipv6" } else { "ipv4" };
    let name = format!("{service}-{family}");
    let mut meta = out.meta(&name, arn);
    let labels = meta.labels.get_or_insert_with(BTreeMap::new);
    labels.insert("kubernetes.io/service-name".into(), service.into());
    // Anything but the EndpointSlice controller's own name keeps the controller off it.
    labels.insert(
        "endpointslice.kubernetes.io/managed-by".into(),
        MANAGED_BY.into(),
    );
    let s = EndpointSlice {
        metadata: meta,
        address_type: if ipv6 { "IPv6" } else { "IPv4" }.into(),
        endpoints,
        ports: Some(vec![EndpointPort {
            name: Some(PORT_NAME.into()),
            port: Some(i32::from(port)),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
    };
    out.insert_k8s("EndpointSlice", &name, &s);
}

/// The Service reference (or TraefikService reference) of a target group for HTTP.
pub(super) fn tg_ref(arn: &str, out: &mut Out) -> Value {
    let plan = plan(arn, out);
    match plan.live.as_slice() {
        [] => {
            out.empty_service = true;
            json!({"name": EMPTY_SERVICE, "port": 80})
        }
        [(name, port, _)] => port_ref(&plan, name, *port),
        many => {
            let name = format!("tg-{}", dns_id(arn));
            let children: Vec<Value> = many
                .iter()
                .map(|(svc, port, n)| {
                    let mut c = port_ref(&plan, svc, *port);
                    c["weight"] = json!(n);
                    c
                })
                .collect();
            let mut weighted = json!({ "services": children });
            if let Some(s) = plan.sticky_seconds {
                weighted["sticky"] =
                    json!({"cookie": {"name": PORT_COOKIE, "maxAge": s, "path": "/"}});
                out.warn(
                    arn,
                    "stickiness.lb_cookie",
                    format!("targets on several ports: a second cookie ({PORT_COOKIE}) pins the port, AWSALB the target"),
                );
            }
            out.insert_crd(
                "TraefikService",
                &name,
                Some(arn),
                json!({ "weighted": weighted }),
            );
            json!({"name": name, "kind": "TraefikService"})
        }
    }
}

pub(super) fn port_ref(plan: &TgPlan, svc: &str, port: u16) -> Value {
    let mut r = json!({"name": svc, "port": port, "strategy": plan.strategy});
    if let Some(s) = plan.sticky_seconds {
        r["sticky"] = json!({"cookie": {"name": "AWSALB", "maxAge": s, "path": "/"}});
    }
    if plan.https {
        r["scheme"] = json!("https");
        r["serversTransport"] = json!(INSECURE_TRANSPORT);
    }
    r
}

/// The target group's port Services (rendered once) and how to reference them.
pub(super) fn plan(arn: &str, out: &mut Out) -> TgPlan {
    if let Some(p) = out.plans.get(arn) {
        return p.clone();
    }
    let p = match out.state.target_group(arn) {
        Some(tg) => render_tg(tg, out),
        None => {
            out.warn(arn, "forward", "target group not found; answered 503");
            TgPlan {
                live: vec![],
                sticky_seconds: None,
                strategy: "wrr",
                https: false,
            }
        }
    };
    out.plans.insert(arn.to_string(), p.clone());
    p
}

pub(super) fn conditions(t: &Target, serving: bool) -> EndpointConditions {
    let (ready, serving, terminating) = match t.state {
        TargetState::Draining => (false, true, true),
        _ if serving => (true, true, false),
        _ => (false, false, false),
    };
    EndpointConditions {
        ready: Some(ready),
        serving: Some(serving),
        terminating: Some(terminating),
    }
}

pub(super) fn render_tg(tg: &TargetGroup, out: &mut Out) -> TgPlan {
    let attrs = tg.attrs();
    let (strategy, lost) = attrs.algorithm.traefik_strategy();
    if let Some(lost) = lost {
        out.warn(&tg.arn, "load_balancing.algorithm.type", lost);
    }
    let sticky_seconds = attrs.lb_cookie_seconds();
    if sticky_seconds.is_none() && attrs.stickiness.is_some() {
        out.warn(
            &tg.arn,
            "stickiness.app_cookie",
            "application-cookie stickiness is not expressible; no stickiness rendered",
        );
    }
    if sticky_seconds.is_some() {
        out.warn(
            &tg.arn,
            "stickiness.lb_cookie",
            "Traefik writes AWSALB when it picks a target and does not refresh it on sticky hits (no AWSALBCORS)",
        );
    }
    if attrs.slow_start_s != 0 {
        out.warn(
            &tg.arn,
            "slow_start.duration_seconds",
            "slow start is not expressible; targets get their full share at once",
        );
    }
    if matches!(tg.target_type.as_str(), "lambda" | "alb") {
        out.warn(
            &tg.arn,
            "target_type",
            format!(
                "{} targets are not expressible; no endpoints",
                tg.target_type
            ),
        );
    }
    let https = tg.protocol.as_deref() == Some("HTTPS");
    if https {
        out.ensure_insecure_transport();
    }
    let serving: Vec<&Target> = tg.serving_targets();
    // port → address → conditions (one endpoint per distinct address: see the module doc).
    let mut groups: BTreeMap<u16, BTreeMap<IpAddr, EndpointConditions>> = BTreeMap::new();
    let mut loopback = BTreeSet::new();
    for t in &tg.targets {
        let Some(addr) = t.address else {
            out.warn(
                &tg.arn,
                "target",
                format!("target {}:{} has no address; not published", t.id, t.port),
            );
            continue;
        };
        if addr.ip().is_loopback() {
            loopback.insert(addr);
        }
        let is_serving = serving.iter().any(|s| std::ptr::eq(*s, t));
        let group = groups.entry(addr.port()).or_default();
        if group.insert(addr.ip(), conditions(t, is_serving)).is_some() {
            out.warn(
                &tg.arn,
                "target",
                format!("two targets resolve to {addr}; published once"),
            );
        }
    }
    if !loopback.is_empty() {
        let list: Vec<String> = loopback.iter().map(SocketAddr::to_string).collect();
        out.warn(
            &tg.arn,
            "target",
            format!(
                "loopback target addresses ({}) are not reachable from pods",
                list.join(", ")
            ),
        );
    }
    let mut live = Vec::new();
    for (port, eps) in &groups {
        let svc = port_service(&tg.arn, *port);
        let service = Service {
            metadata: out.meta(&svc, Some(&tg.arn)),
            spec: Some(ServiceSpec {
                ports: Some(vec![ServicePort {
                    name: Some(PORT_NAME.into()),
                    port: i32::from(*port),
                    protocol: Some("TCP".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        out.insert_k8s("Service", &svc, &service);
        for ipv6 in [false, true] {
            let endpoints: Vec<Endpoint> = eps
                .iter()
                .filter(|(ip, _)| ip.is_ipv6() == ipv6)
                .map(|(ip, c)| Endpoint {
                    addresses: vec![ip.to_string()],
                    conditions: Some(c.clone()),
                    ..Default::default()
                })
                .collect();
            if !endpoints.is_empty() {
                slice(&svc, Some(&tg.arn), ipv6, *port, endpoints, out);
            }
        }
        let new_picks = eps
            .values()
            .filter(|c| c.serving == Some(true) && c.terminating != Some(true))
            .count() as u32;
        if new_picks > 0 {
            live.push((svc, *port, new_picks));
        }
    }
    TgPlan {
        live,
        sticky_seconds,
        strategy,
        https,
    }
}

impl Out<'_> {
    pub(super) fn ensure_insecure_transport(&mut self) {
        self.insert_crd(
            "ServersTransport",
            INSECURE_TRANSPORT,
            None,
            json!({"insecureSkipVerify": true}),
        );
    }
}
