//! Golden renders of the Kubernetes CRD renderer over `common/scenario.rs` (every condition,
//! action, weights, stickiness, health states, several listeners), compared with
//! `testdata/traefik-crd/*.yaml`.
//! `UPDATE_GOLDEN=1 cargo test -p translators` rewrites them. Every rendered custom resource must
//! pass the strict CRD schema, and every Service/EndpointSlice must round-trip through
//! k8s-openapi unchanged.

mod common {
    pub mod golden;
    pub mod scenario;
}

use common::golden::{comments, golden};
use common::scenario::scenario;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::{json, Value};
use translators::crd;
use translators::model::*;
use translators::schema::{is_dns1123_label, Schemas};

fn items(r: &Rendered) -> &Vec<Value> {
    assert_eq!(r.value["kind"], "List");
    r.value["items"].as_array().unwrap()
}

fn find<'a>(r: &'a Rendered, kind: &str, name: &str) -> &'a Value {
    items(r)
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// The objects as a multi-document YAML stream (what `kubectl apply -f` takes).
fn to_yaml_stream(r: &Rendered) -> String {
    let mut out = translators::yaml::to_yaml(&json!({}), &comments(r));
    out.truncate(out.len() - "{}\n".len());
    for o in items(r) {
        out.push_str("---\n");
        out.push_str(&translators::yaml::to_yaml(o, &[]));
    }
    out
}

#[test]
fn crd_scenarios_render_as_golden() {
    let (state, opts) = scenario();
    golden(
        "traefik-crd",
        "scenarios.yaml",
        &to_yaml_stream(&crd::render(&state, &opts)),
    );
    golden(
        "traefik-crd",
        "empty.yaml",
        &to_yaml_stream(&crd::render(&State::default(), &Options::default())),
    );
}

#[test]
fn every_object_is_valid_for_the_api_server() {
    let (state, opts) = scenario();
    let r = crd::render(&state, &opts);
    let mut kinds = std::collections::BTreeSet::new();
    for o in items(&r) {
        let kind = o["kind"].as_str().unwrap();
        let name = o["metadata"]["name"].as_str().unwrap();
        kinds.insert(kind);
        assert!(is_dns1123_label(name), "{kind} {name}");
        assert_eq!(o["metadata"]["namespace"], "elbv2", "{kind} {name}");
        assert_eq!(
            o["metadata"]["labels"][crd::MANAGED_BY_LABEL],
            crd::MANAGED_BY
        );
        match kind {
            "Service" => {
                let s: Service = serde_json::from_value(o.clone()).unwrap();
                assert_eq!(&serde_json::to_value(&s).unwrap(), o, "{name} round trip");
                assert!(s.spec.unwrap().selector.is_none(), "{name} has a selector");
            }
            "EndpointSlice" => {
                let s: EndpointSlice = serde_json::from_value(o.clone()).unwrap();
                assert_eq!(&serde_json::to_value(&s).unwrap(), o, "{name} round trip");
            }
            _ => {
                if let Err(e) = Schemas::traefik().validate_object(o) {
                    panic!("{kind} {name}: {e:?}");
                }
            }
        }
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "EndpointSlice",
            "IngressRoute",
            "IngressRouteTCP",
            "Middleware",
            "ServersTransport",
            "Service",
            "TraefikService"
        ]
    );
}

#[test]
fn known_good_kubernetes_objects_round_trip() {
    let all: Vec<Value> =
        serde_json::from_str(include_str!("../../testdata/traefik-crd/known-good.json")).unwrap();
    let mut n = 0;
    for o in &all {
        match o["kind"].as_str().unwrap() {
            "Service" => {
                serde_json::from_value::<Service>(o.clone()).unwrap();
                n += 1;
            }
            "EndpointSlice" => {
                serde_json::from_value::<EndpointSlice>(o.clone()).unwrap();
                n += 1;
            }
            _ => {}
        }
    }
    assert!(n >= 4, "{n}");
}

fn endpoints(r: &Rendered, slice: &str) -> Vec<(String, Value)> {
    find(r, "EndpointSlice", slice)["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["addresses"][0].as_str().unwrap().to_string(),
                e["conditions"].clone(),
            )
        })
        .collect()
}

fn cond(ready: bool, serving: bool, terminating: bool) -> Value {
    json!({"ready": ready, "serving": serving, "terminating": terminating})
}

#[test]
fn health_states_become_endpoint_conditions() {
    let (state, opts) = scenario();
    let r = crd::render(&state, &opts);
    // Target group a: every target on 127.0.0.1, so one Service per port (no de-dup by IP).
    let a = |p: u16| endpoints(&r, &format!("tg-1111111111111111-p{p}-ipv4"));
    assert_eq!(a(9001), [("127.0.0.1".into(), cond(true, true, false))]);
    assert_eq!(a(9003), [("127.0.0.1".into(), cond(false, false, false))]);
    assert_eq!(a(9004), [("127.0.0.1".into(), cond(false, true, true))]);
    let svc = find(&r, "Service", "tg-1111111111111111-p9001");
    assert_eq!(svc["spec"]["ports"][0]["name"], "tg");
    assert_eq!(
        find(&r, "EndpointSlice", "tg-1111111111111111-p9001-ipv4")["metadata"]["labels"]
            ["kubernetes.io/service-name"],
        "tg-1111111111111111-p9001"
    );
    // Only the ports with a target that takes new requests are weighted.
    let w = &find(&r, "TraefikService", "tg-1111111111111111")["spec"]["weighted"];
    let children: Vec<(&str, i64)> = w["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["weight"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        children,
        [
            ("tg-1111111111111111-p9001", 1),
            ("tg-1111111111111111-p9002", 1)
        ]
    );
    // Target group down: nothing healthy → ALB fails open over unhealthy and initial targets.
    let d = |p: u16| endpoints(&r, &format!("tg-4444444444444444-p{p}-ipv4"));
    assert_eq!(d(9031), [("127.0.0.1".into(), cond(true, true, false))]);
    assert_eq!(d(9032), [("127.0.0.1".into(), cond(true, true, false))]);
    assert_eq!(d(9033), [("127.0.0.1".into(), cond(false, true, true))]);
    // Distinct IPs share one Service per port; IPv6 gets its own slice.
    assert_eq!(
        endpoints(&r, "tg-9999999999999999-p8443-ipv4"),
        [
            ("10.244.0.7".into(), cond(true, true, false)),
            ("10.244.0.8".into(), cond(false, false, false)),
        ]
    );
    assert_eq!(
        find(&r, "EndpointSlice", "tg-9999999999999999-p8443-ipv6")["addressType"],
        "IPv6"
    );
}

#[test]
fn routes_priorities_weights_and_stickiness() {
    let (state, opts) = scenario();
    let r = crd::render(&state, &opts);
    let ir = find(&r, "IngressRoute", "l-1000000000000001");
    assert_eq!(ir["spec"]["entryPoints"], json!(["lb-00"]));
    let routes = ir["spec"]["routes"].as_array().unwrap();
    // Rules 10 and 13 have no expressible condition: left out (and warned about).
    assert_eq!(routes.len(), 14);
    let prios: Vec<i64> = routes
        .iter()
        .map(|r| r["priority"].as_i64().unwrap())
        .collect();
    assert_eq!(&prios[..3], [99_999, 99_998, 99_997]);
    assert_eq!(*prios.last().unwrap(), 1);
    assert_eq!(routes.last().unwrap()["match"], "PathPrefix(`/`)");
    // Weighted forward with group stickiness; the weight-0 target group is left out.
    let fwd = &find(&r, "TraefikService", "fwd-r000000000000005")["spec"]["weighted"];
    assert_eq!(
        fwd["sticky"],
        json!({"cookie": {"name": "AWSALBTG", "maxAge": 600, "path": "/"}})
    );
    let children = fwd["services"].as_array().unwrap();
    assert_eq!(children.len(), 2);
    assert_eq!(
        children[0],
        json!({"name": "tg-1111111111111111", "kind": "TraefikService", "weight": 3})
    );
    assert_eq!(children[1]["weight"], 1);
    // lb_cookie → AWSALB on the target group's Service references.
    let sticky = &routes[3]["services"][0];
    assert_eq!(
        sticky["sticky"],
        json!({"cookie": {"name": "AWSALB", "maxAge": 120, "path": "/"}})
    );
    // Redirect: redirectRegex + noop@internal.
    let red = &routes[5];
    assert_eq!(
        red["middlewares"],
        json!([{"name": "redirect-r000000000000006"}])
    );
    assert_eq!(
        red["services"],
        json!([{"name": "noop@internal", "kind": "TraefikService"}])
    );
    // Fixed response: replacePath to the responder, which sees its own Host.
    let fixed = &routes[6];
    assert_eq!(
        fixed["middlewares"],
        json!([{"name": "respond-r000000000000007"}])
    );
    assert_eq!(
        fixed["services"],
        json!([{"name": "localelb-responder", "port": 4566, "passHostHeader": false}])
    );
    assert_eq!(
        find(&r, "Middleware", "respond-r000000000000007")["spec"],
        json!({"replacePath": {"path": "/_localelb/respond/r000000000000007"}})
    );
    // An empty target group answers 503 through the endpoint-less Service.
    assert_eq!(
        routes[8]["services"],
        json!([{"name": "localelb-empty", "port": 80}])
    );
    // Transforms: replacePathRegex, then a constant Host.
    assert_eq!(
        routes[9]["middlewares"],
        json!([{"name": "rewrite-r000000000000011-0"}, {"name": "host-r000000000000011"}])
    );
    assert_eq!(
        find(&r, "Middleware", "rewrite-r000000000000011-0")["spec"]["replacePathRegex"]
            ["replacement"],
        "/api/${1}"
    );
    // HTTPS target group: https scheme without certificate verification.
    let https = find(&r, "IngressRoute", "l-2000000000000002");
    assert_eq!(https["spec"]["tls"], json!({}));
    let s = &https["spec"]["routes"][0]["services"][0];
    assert_eq!(s["scheme"], "https");
    assert_eq!(s["serversTransport"], crd::INSECURE_TRANSPORT);
    // TCP listener: IngressRouteTCP over the serving port.
    let tcp = find(&r, "IngressRouteTCP", "l-3000000000000003");
    assert_eq!(
        tcp["spec"]["routes"][0],
        json!({"match": "HostSNI(`*`)", "priority": 1,
               "services": [{"name": "tg-7777777777777777-p9061", "port": 9061}]})
    );
}

#[test]
fn everything_inexpressible_is_warned_about() {
    let (state, opts) = scenario();
    let r = crd::render(&state, &opts);
    for feature in [
        "http-request-method",
        "query-string",
        "stickiness.app_cookie",
        "stickiness.lb_cookie",
        "slow_start.duration_seconds",
        "load_balancing.algorithm.type",
        "listener.protocol",
        "listener",
        "listener.certificates",
        "authenticate-oidc",
        "transform.url-rewrite",
        "redirect.status_code",
        "routing.http.xff_header_processing.mode",
        "idle_timeout.timeout_seconds",
        "target",
    ] {
        assert!(
            r.warnings.iter().any(|w| w.feature == feature),
            "no warning for {feature}: {:#?}",
            r.warnings
        );
    }
}

#[test]
fn hostname_responder_is_an_external_name_service() {
    let (state, mut opts) = scenario();
    opts.responder_url = "http://host.docker.internal:4566".into();
    let r = crd::render(&state, &opts);
    let svc = find(&r, "Service", "localelb-responder");
    assert_eq!(svc["spec"]["type"], "ExternalName");
    assert_eq!(svc["spec"]["externalName"], "host.docker.internal");
    assert!(!items(&r)
        .iter()
        .any(|o| o["metadata"]["name"] == "localelb-responder-ipv4"));
    assert!(!r.warnings.iter().any(|w| w.feature == "fixed-response"));
}
