use super::*;
use serde_json::json;

fn errors(obj: Value) -> Vec<String> {
    match Schemas::traefik().validate_object(&obj) {
        Ok(()) => vec![],
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

fn route(extra: Value) -> Value {
    let mut r = json!({
        "kind": "Rule",
        "match": "PathPrefix(`/`)",
        "priority": 1,
        "services": [{"name": "tg-web", "port": 80}]
    });
    for (k, v) in extra.as_object().unwrap() {
        r[k] = v.clone();
    }
    json!({
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "IngressRoute",
        "metadata": {"name": "l1", "namespace": "elbv2",
                     "labels": {"app.kubernetes.io/managed-by": "localelb"}},
        "spec": {"entryPoints": ["lb-00"], "routes": [r]}
    })
}

#[test]
fn every_bundled_kind_loads() {
    let kinds: Vec<&str> = Schemas::traefik()
        .kinds()
        .map(|k| k.kind.as_str())
        .collect();
    assert_eq!(kinds.len(), 10, "{kinds:?}");
    for k in [
        "IngressRoute",
        "IngressRouteTCP",
        "Middleware",
        "TraefikService",
    ] {
        assert!(kinds.contains(&k), "{k} missing");
    }
    let tsvc = Schemas::traefik()
        .get("traefik.io/v1alpha1", "TraefikService")
        .unwrap();
    assert_eq!(tsvc.plural, "traefikservices");
    assert!(tsvc.namespaced);
}

#[test]
fn known_good_route_passes() {
    assert_eq!(errors(route(json!({}))), Vec::<String>::new());
}

#[test]
fn known_good_objects_pass() {
    let all: Vec<Value> = serde_json::from_str(include_str!(
        "../../../testdata/traefik-crd/known-good.json"
    ))
    .unwrap();
    let mut n = 0;
    for obj in all {
        if obj["metadata"]["name"] == "mytransporttcp" {
            // Traefik's own example still writes v2 field positions; see the next test.
            continue;
        }
        if obj["apiVersion"]
            .as_str()
            .unwrap()
            .starts_with("traefik.io/")
        {
            n += 1;
            assert_eq!(
                Schemas::traefik().validate_object(&obj),
                Ok(()),
                "{}",
                obj["metadata"]["name"]
            );
        }
    }
    assert!(n >= 10, "only {n} CRD objects in the known-good set");
}

#[test]
fn stale_upstream_example_is_caught() {
    // traefik's v3.7.9 resource example puts the TLS settings of a ServersTransportTCP at
    // `spec.*` (their v2 place); the v3 CRD has them under `spec.tls`, so an API server
    // prunes them without a word.
    let all: Vec<Value> = serde_json::from_str(include_str!(
        "../../../testdata/traefik-crd/known-good.json"
    ))
    .unwrap();
    let obj = all
        .iter()
        .find(|o| o["metadata"]["name"] == "mytransporttcp")
        .unwrap();
    let paths: Vec<String> = Schemas::traefik()
        .validate_object(obj)
        .unwrap_err()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(
        paths,
        [
            "spec.certificatesSecrets",
            "spec.insecureSkipVerify",
            "spec.peerCertURI",
            "spec.rootCAsSecrets",
            "spec.serverName"
        ]
    );
}

#[test]
fn typo_in_a_field_name_is_an_unknown_field() {
    let e = errors(route(json!({"priorty": 5})));
    assert_eq!(
        e,
        vec!["spec.routes[0].priorty: unknown field (the API server would prune it silently)"]
    );
}

#[test]
fn misplaced_field_is_unknown_at_its_path() {
    // `healthCheck` exists on route services, not on the weighted TraefikService itself.
    let obj = json!({
        "apiVersion": "traefik.io/v1alpha1", "kind": "TraefikService",
        "metadata": {"name": "fwd", "namespace": "elbv2"},
        "spec": {"weighted": {"healthCheck": {}, "services": [{"name": "a", "port": 80}]}}
    });
    assert_eq!(
        errors(obj),
        vec!["spec.weighted.healthCheck: unknown field (the API server would prune it silently)"]
    );
}

#[test]
fn wrong_types_are_named_by_path() {
    let e = errors(route(json!({"priority": "high"})));
    assert_eq!(
        e,
        vec!["spec.routes[0].priority: must be integer, got string"]
    );
    let e = errors(route(json!({"services": [{"name": "a", "port": true}]})));
    assert_eq!(
        e,
        vec!["spec.routes[0].services[0].port: must be an integer or a string, got boolean"]
    );
    let e = errors(route(
        json!({"services": [{"name": "a", "port": 80, "weight": 1.5}]}),
    ));
    assert_eq!(
        e,
        vec!["spec.routes[0].services[0].weight: must be integer, got number"]
    );
}

#[test]
fn enum_required_minimum_and_pattern_are_enforced() {
    let e = errors(route(json!({"kind": "Rules"})));
    assert_eq!(
        e,
        vec![r#"spec.routes[0].kind: "Rules" is not one of ["Rule"]"#]
    );
    let e = errors(route(json!({"services": [{"port": 80}]})));
    assert_eq!(
        e,
        vec!["spec.routes[0].services[0].name: required field is missing"]
    );
    let e = errors(route(
        json!({"services": [{"name": "a", "port": 80, "weight": -1}]}),
    ));
    assert_eq!(
        e,
        vec!["spec.routes[0].services[0].weight: -1 is less than the minimum 0"]
    );
    let e = errors(route(json!({"services": [{"name": "a", "port": 80,
        "sticky": {"cookie": {"name": "AWSALB", "maxAge": 60, "sameSite": "nope"}}}]})));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with(
            "spec.routes[0].services[0].sticky.cookie.sameSite: \"nope\" is not one of"
        ),
        "{e:?}"
    );
    let cb = |period: &str| {
        json!({"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware",
               "metadata": {"name": "cb", "namespace": "elbv2"},
               "spec": {"circuitBreaker": {"expression": "NetworkErrorRatio() > 0.5",
                                           "checkPeriod": period}}})
    };
    assert_eq!(errors(cb("100ms")), Vec::<String>::new());
    assert_eq!(
        errors(cb("10 s")),
        vec![
            r#"spec.circuitBreaker.checkPeriod: "10 s" does not match "^([0-9]+(ns|us|µs|ms|s|m|h)?)+$""#
        ]
    );
}

#[test]
fn null_and_cel_rules() {
    let e = errors(route(json!({"middlewares": null})));
    assert_eq!(
        e,
        vec!["spec.routes[0].middlewares: null is not allowed here"]
    );
    let mw = |prefix: &str| {
        json!({"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware",
               "metadata": {"name": "p", "namespace": "elbv2"},
               "spec": {"addPrefix": {"prefix": prefix}}})
    };
    assert_eq!(errors(mw("/api")), Vec::<String>::new());
    assert_eq!(
        errors(mw("api")),
        vec!["spec.addPrefix.prefix: must start with a '/'"]
    );
}

#[test]
fn metadata_is_checked_as_the_api_server_does() {
    let mut obj = route(json!({}));
    obj["metadata"]["name"] = json!("L1_bad");
    obj["metadata"]["labels"]["bad key!"] = json!("x");
    obj["metadata"]["uid"] = json!("1");
    let e = errors(obj.clone());
    assert_eq!(
        e,
        vec![
            "metadata.labels.bad key!: invalid key",
            "metadata.name: \"L1_bad\" is not a DNS-1123 subdomain",
            "metadata.uid: unknown or unsupported metadata field",
        ]
    );
    obj["metadata"] = json!({"name": "ok"});
    assert_eq!(errors(obj.clone()), Vec::<String>::new());
    obj["metadata"] = json!({"namespace": "elbv2"});
    assert_eq!(
        errors(obj),
        vec!["metadata.name: required field is missing"]
    );
}

#[test]
fn unknown_kind_and_unsupported_keyword() {
    let e = errors(json!({"apiVersion": "traefik.containo.us/v1alpha1", "kind": "IngressRoute"}));
    assert_eq!(e.len(), 1);
    assert!(e[0].contains("no CRD for apiVersion"), "{e:?}");
    let bad = r#"{"x": {"group": "g", "version": "v1", "kind": "K", "plural": "ks",
        "scope": "Namespaced", "schema": {"type": "object", "minLength": 3}}}"#;
    let e = Schemas::from_json(bad).err().unwrap();
    assert_eq!(e, "K: unsupported schema keyword minLength");
}

#[test]
fn any_of_one_of_all_of() {
    let int_or_string = json!({"anyOf": [{"type": "integer"}, {"type": "string"}]});
    assert!(validate(&int_or_string, &json!(3)).is_ok());
    assert!(validate(&int_or_string, &json!("3")).is_ok());
    assert_eq!(
        validate(&int_or_string, &json!([])).unwrap_err()[0].message,
        "matches none of the anyOf alternatives"
    );
    let one = json!({"oneOf": [{"minimum": 0}, {"maximum": 10}]});
    assert!(validate(&one, &json!(-5)).is_ok());
    assert!(validate(&one, &json!(5)).is_err());
    let all = json!({"allOf": [{"minimum": 0}, {"maximum": 10}]});
    assert!(validate(&all, &json!(5)).is_ok());
    assert_eq!(validate(&all, &json!(11)).unwrap_err().len(), 1);
    let open = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                      "properties": {"a": {"type": "string"}}});
    assert!(validate(&open, &json!({"a": "x", "b": 1})).is_ok());
    assert!(validate(&open, &json!({"a": 1})).is_err());
}
