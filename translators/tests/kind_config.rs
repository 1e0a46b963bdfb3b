//! Offline checks of the kind/Traefik manifests (no cluster here): every Kubernetes object
//! round-trips through its k8s-openapi type unchanged (a misspelt or misplaced field would be
//! dropped and show up as a difference), and the port pool agrees across the kind port mappings,
//! Traefik's entryPoints and the pod's hostPorts.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn docs(rel: &str) -> Vec<Value> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

/// Deserializes `v` as `T` and checks that serializing it back gives `v` again.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(v: &Value) {
    let typed: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{}: {e}", v["metadata"]["name"]));
    let back = serde_json::to_value(&typed).unwrap();
    if let Some(path) = first_difference(&back, v, String::new()) {
        panic!("{} does not round-trip at {path}", v["metadata"]["name"]);
    }
}

/// Where `a` and `b` first differ (numbers compared as f64: JSONSchemaProps keeps `minimum`
/// as a float, so `0` comes back as `0.0`).
fn first_difference(a: &Value, b: &Value, at: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) => first_difference(p, q, format!("{at}.{k}")),
                _ => Some(format!("{at}.{k}")),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, format!("{at}[{i}]"))),
        (Value::Number(x), Value::Number(y)) if x.as_f64() == y.as_f64() => None,
        _ if a == b => None,
        _ => Some(at),
    }
}

fn check(v: &Value) {
    match v["kind"].as_str().unwrap() {
        "Namespace" => round_trip::<Namespace>(v),
        "ServiceAccount" => round_trip::<ServiceAccount>(v),
        "Deployment" => round_trip::<Deployment>(v),
        "ClusterRole" => round_trip::<ClusterRole>(v),
        "ClusterRoleBinding" => round_trip::<ClusterRoleBinding>(v),
        "CustomResourceDefinition" => round_trip::<CustomResourceDefinition>(v),
        k => panic!("unexpected kind {k}"),
    }
}

#[test]
fn traefik_manifests_are_valid_kubernetes_objects() {
    let t = docs("kind-config/traefik.yaml");
    let kinds: Vec<&str> = t.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Namespace", "ServiceAccount", "Deployment"]);
    t.iter().for_each(check);
    let rbac = docs("translators/crds/kubernetes-crd-rbac.v3.7.9.yml");
    assert_eq!(rbac.len(), 2);
    rbac.iter().for_each(check);
    // The Deployment runs as the ServiceAccount the copied RBAC binds.
    let sa = &rbac[1]["subjects"][0];
    assert_eq!(t[1]["metadata"]["name"], sa["name"]);
    assert_eq!(t[1]["metadata"]["namespace"], sa["namespace"]);
    assert_eq!(
        t[2]["spec"]["template"]["spec"]["serviceAccountName"],
        sa["name"]
    );
}

#[test]
fn crds_are_valid_custom_resource_definitions() {
    let crds = docs("translators/crds/kubernetes-crd-definition-v1.v3.7.9.yml");
    assert_eq!(crds.len(), 10);
    crds.iter().for_each(check);
}

#[test]
fn port_pool_agrees_everywhere() {
    let cluster = &docs("kind-config/cluster.yaml")[0];
    assert_eq!(cluster["kind"], "Cluster");
    assert_eq!(cluster["apiVersion"], "kind.x-k8s.io/v1alpha4");
    let mapped: BTreeSet<u64> = cluster["nodes"][0]["extraPortMappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["containerPort"], m["hostPort"]);
            assert_eq!(m["listenAddress"], "127.0.0.1");
            m["hostPort"].as_u64().unwrap()
        })
        .collect();
    let pool: BTreeSet<u64> = (30000..=30031).collect();
    assert_eq!(mapped, pool);
    assert_eq!(cluster["nodes"][0]["role"], "control-plane");

    let t = docs("kind-config/traefik.yaml");
    let pod = &t[2]["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let entry_points: BTreeSet<u64> = args
        .iter()
        .filter_map(|a| a.strip_prefix("--entrypoints.ep-"))
        .map(|a| {
            let (name, addr) = a.split_once(".address=:").unwrap();
            assert_eq!(name, addr, "entryPoint ep-<port> listens on <port>");
            addr.parse().unwrap()
        })
        .collect();
    assert_eq!(entry_points, pool);
    let host_ports: BTreeSet<u64> = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["hostPort"].as_u64())
        .collect();
    assert_eq!(host_ports, pool);
    for a in [
        "--providers.kubernetescrd=true",
        "--providers.kubernetescrd.namespaces=elbv2",
        "--providers.kubernetescrd.allowemptyservices=true",
        "--providers.kubernetescrd.allowexternalnameservices=true",
    ] {
        assert!(args.contains(&a), "{a} missing");
    }
    // Traefik must run where kind maps the ports.
    assert_eq!(
        pod["nodeSelector"]["node-role.kubernetes.io/control-plane"],
        ""
    );
    // The provider watches the namespace localelb applies to.
    assert_eq!(t[0]["metadata"]["name"], "elbv2");
}
