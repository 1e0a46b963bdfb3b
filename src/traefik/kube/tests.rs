use super::*;
use ::kube::client::Body;
use http::{Request, Response};
use http_body_util::BodyExt;
use serde_json::json;
use std::pin::pin;
use tower_test::mock;
use translators::model::{Listener, LoadBalancer, Rule, Target, TargetGroup, TargetState};

const NS: &str = "elbv2";
const L: &str =
    "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/web/aaaaaaaaaaaaaaaa/1000000000000001";
const TG: &str =
    "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/1111111111111111";

fn rendered() -> Rendered {
    let st = State {
        load_balancers: vec![LoadBalancer {
            arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/aaaaaaaaaaaaaaaa".into(),
            name: "web".into(),
            listeners: vec![Listener {
                arn: L.into(),
                port: 80,
                protocol: "HTTP".into(),
                rules: vec![Rule {
                    arn: format!("{L}-rule/default0000000001"),
                    actions: serde_json::from_value(
                        json!([{"Type": "forward", "TargetGroupArn": TG}]),
                    )
                    .unwrap(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
        target_groups: vec![TargetGroup {
            arn: TG.into(),
            protocol: Some("HTTP".into()),
            targets: vec![Target {
                id: "172.18.0.1".into(),
                port: 9001,
                address: Some("172.18.0.1:9001".parse().unwrap()),
                state: TargetState::Healthy,
                registered_ms: Some(0),
            }],
            ..Default::default()
        }],
    };
    let opts = Options {
        entry_points: BTreeMap::from([(
            L.to_string(),
            EntryPoint {
                name: "ep-30000".into(),
                address: "127.0.0.1:30000".into(),
            },
        )]),
        responder_url: "http://172.18.0.1:4566".into(),
        namespace: NS.into(),
        ..Default::default()
    };
    crd::render(&st, &opts)
}

/// One request as the mock API server saw it.
#[derive(Debug)]
struct Seen {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    content_type: String,
    body: Option<Value>,
}

fn json_response(status: u16, v: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(v).unwrap()))
        .unwrap()
}

/// Serves `client` requests: PATCH echoes the body; list answers `existing[path]` (names);
/// DELETE answers Success, or 404 for names in `gone`; `fail_path` answers 422.
async fn run_mock(
    existing: BTreeMap<String, Vec<String>>,
    gone: Vec<String>,
    fail_path: Option<String>,
    client: impl FnOnce(Client) -> tokio::task::JoinHandle<Result<ApplyReport, ApplyError>>,
) -> (Result<ApplyReport, ApplyError>, Vec<Seen>) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(async move {
        let mut handle = pin!(handle);
        let mut seen = Vec::new();
        while let Some((req, send)) = handle.next_request().await {
            let (parts, body) = req.into_parts();
            let bytes = body.collect().await.unwrap().to_bytes();
            let query: BTreeMap<String, String> =
                form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                    .into_owned()
                    .collect();
            let path = parts.uri.path().to_string();
            let s = Seen {
                method: parts.method.to_string(),
                path: path.clone(),
                query,
                content_type: parts
                    .headers
                    .get("content-type")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default(),
                body: serde_json::from_slice(&bytes).ok(),
            };
            let resp = if fail_path.as_deref() == Some(path.as_str()) {
                json_response(
                    422,
                    &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                            "message": "strict decoding error: unknown field", "reason": "Invalid", "code": 422}),
                )
            } else {
                match s.method.as_str() {
                    "PATCH" => json_response(200, s.body.as_ref().unwrap()),
                    "GET" => {
                        let items: Vec<Value> = existing
                            .get(&path)
                            .into_iter()
                            .flatten()
                            .map(|n| json!({"metadata": {"name": n, "namespace": NS}}))
                            .collect();
                        json_response(
                            200,
                            &json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList",
                                    "metadata": {}, "items": items}),
                        )
                    }
                    "DELETE" if gone.iter().any(|g| path.ends_with(&format!("/{g}"))) => {
                        json_response(
                            404,
                            &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                    "reason": "NotFound", "code": 404, "message": "not found"}),
                        )
                    }
                    "DELETE" => json_response(
                        200,
                        &json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 200}),
                    ),
                    m => panic!("unexpected {m} {path}"),
                }
            };
            seen.push(s);
            send.send_response(resp);
        }
        seen
    });
    let result = client(Client::new(service, NS)).await.unwrap();
    let seen = server.await.unwrap();
    (result, seen)
}

fn spawn_apply(
    r: Rendered,
) -> impl FnOnce(Client) -> tokio::task::JoinHandle<Result<ApplyReport, ApplyError>> {
    move |c: Client| tokio::spawn(async move { apply(&c, NS, &r).await })
}

fn list_path(kind: &str) -> String {
    let (av, _) = crd::KINDS.iter().find(|(_, k)| *k == kind).unwrap();
    let ar = api_resource(av, kind).unwrap();
    let base = if ar.group.is_empty() {
        format!("/api/{}", ar.version)
    } else {
        format!("/apis/{}/{}", ar.group, ar.version)
    };
    format!("{base}/namespaces/{NS}/{}", ar.plural)
}

// Long: one reconcile observed end to end: the applies, then the list and delete calls of the prune.
#[tokio::test]
async fn applies_every_object_server_side_then_prunes_stale_ones() {
    let r = rendered();
    let items = r.value["items"].as_array().unwrap().clone();
    let existing = BTreeMap::from([
        (
            list_path("Service"),
            vec![
                "tg-1111111111111111-p9001".to_string(),
                "tg-dead-p1".to_string(),
            ],
        ),
        (list_path("IngressRoute"), vec!["l-gone".to_string()]),
        (list_path("Middleware"), vec!["respond-old".to_string()]),
    ]);
    let (result, seen) = run_mock(
        existing,
        vec!["respond-old".into()],
        None,
        spawn_apply(r.clone()),
    )
    .await;
    let report = result.unwrap();

    // One apply PATCH per object, in render order, with the object as the body.
    let patches: Vec<&Seen> = seen.iter().filter(|s| s.method == "PATCH").collect();
    assert_eq!(patches.len(), items.len());
    for (p, obj) in patches.iter().zip(&items) {
        let kind = obj["kind"].as_str().unwrap();
        let name = obj["metadata"]["name"].as_str().unwrap();
        assert_eq!(p.path, format!("{}/{name}", list_path(kind)));
        assert_eq!(p.content_type, "application/apply-patch+yaml");
        assert_eq!(
            p.query,
            BTreeMap::from([
                ("fieldManager".to_string(), "localelb".to_string()),
                ("force".to_string(), "true".to_string()),
                ("fieldValidation".to_string(), "Strict".to_string()),
            ])
        );
        assert_eq!(p.body.as_ref(), Some(obj));
    }
    assert_eq!(
        patches.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(),
        [
            "/api/v1/namespaces/elbv2/services/tg-1111111111111111-p9001",
            "/apis/discovery.k8s.io/v1/namespaces/elbv2/endpointslices/tg-1111111111111111-p9001-ipv4",
            "/apis/traefik.io/v1alpha1/namespaces/elbv2/ingressroutes/l-1000000000000001",
        ]
    );

    // Every kind is listed by the managed-by label, routes first.
    let lists: Vec<&Seen> = seen.iter().filter(|s| s.method == "GET").collect();
    let kinds_rev: Vec<String> = crd::KINDS.iter().rev().map(|(_, k)| list_path(k)).collect();
    assert_eq!(
        lists.iter().map(|s| s.path.clone()).collect::<Vec<_>>(),
        kinds_rev
    );
    for l in &lists {
        assert_eq!(
            l.query.get("labelSelector").map(String::as_str),
            Some("app.kubernetes.io/managed-by=localelb")
        );
    }

    // Only what the render no longer holds is deleted; a 404 counts as pruned.
    let deletes: Vec<&str> = seen
        .iter()
        .filter(|s| s.method == "DELETE")
        .map(|s| s.path.as_str())
        .collect();
    assert_eq!(
        deletes,
        [
            "/apis/traefik.io/v1alpha1/namespaces/elbv2/ingressroutes/l-gone",
            "/apis/traefik.io/v1alpha1/namespaces/elbv2/middlewares/respond-old",
            "/api/v1/namespaces/elbv2/services/tg-dead-p1",
        ]
    );
    assert_eq!(
        report.pruned,
        [
            "IngressRoute/l-gone",
            "Middleware/respond-old",
            "Service/tg-dead-p1"
        ]
    );
    assert_eq!(report.applied.len(), items.len());
}

#[tokio::test]
async fn a_refused_apply_stops_before_pruning_and_names_the_object() {
    let r = rendered();
    let fail =
        "/apis/discovery.k8s.io/v1/namespaces/elbv2/endpointslices/tg-1111111111111111-p9001-ipv4";
    let (result, seen) = run_mock(BTreeMap::new(), vec![], Some(fail.into()), spawn_apply(r)).await;
    let e = result.unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("apply EndpointSlice/tg-1111111111111111-p9001-ipv4:"),
        "{msg}"
    );
    assert!(msg.contains("unknown field"), "{msg}");
    // Nothing listed or deleted after the failure.
    assert!(seen.iter().all(|s| s.method == "PATCH"), "{seen:?}");
    assert_eq!(seen.len(), 2);
}

#[tokio::test]
async fn an_empty_render_prunes_everything_managed() {
    let r = Rendered {
        value: json!({"apiVersion": "v1", "kind": "List", "items": []}),
        warnings: vec![],
    };
    let existing = BTreeMap::from([
        (list_path("TraefikService"), vec!["fwd-x".to_string()]),
        (list_path("EndpointSlice"), vec!["tg-x-p1-ipv4".to_string()]),
    ]);
    let (result, seen) = run_mock(existing, vec![], None, spawn_apply(r)).await;
    assert_eq!(
        result.unwrap().pruned,
        ["TraefikService/fwd-x", "EndpointSlice/tg-x-p1-ipv4"]
    );
    assert!(!seen.iter().any(|s| s.method == "PATCH"));
}

#[tokio::test]
async fn an_object_for_another_namespace_is_refused() {
    let mut r = rendered();
    r.value["items"][0]["metadata"]["namespace"] = json!("other");
    let (result, seen) = run_mock(BTreeMap::new(), vec![], None, spawn_apply(r)).await;
    assert!(matches!(result, Err(ApplyError::Object(_))));
    assert!(seen.is_empty());
}

#[test]
fn endpoints_say_where_each_listener_is_served_or_why_not() {
    let listener = |arn: &str, protocol: &str| Listener {
        arn: arn.into(),
        port: 80,
        protocol: protocol.into(),
        ..Default::default()
    };
    let st = State {
        load_balancers: vec![LoadBalancer {
            name: "web".into(),
            listeners: vec![
                listener("l1", "HTTP"),
                listener("l2", "HTTP"),
                listener("u", "UDP"),
            ],
            ..Default::default()
        }],
        target_groups: vec![],
    };
    let eps = BTreeMap::from([(
        "l1".to_string(),
        EntryPoint {
            name: "ep-30000".into(),
            address: "127.0.0.1:30000".into(),
        },
    )]);
    let ok = endpoints(&st, &eps, None);
    assert_eq!(ok[0].address.as_deref(), Some("127.0.0.1:30000"));
    assert_eq!(ok[0].error, None);
    assert_eq!(ok[1].error.as_deref(), Some("no free Traefik entryPoint"));
    assert_eq!(
        ok[2].error.as_deref(),
        Some("UDP listeners are not served by the Traefik data plane")
    );
    let failed = endpoints(&st, &eps, Some("apply Service/x: boom"));
    assert_eq!(failed[0].address, None);
    assert_eq!(
        failed[0].error.as_deref(),
        Some("applying to Kubernetes failed: apply Service/x: boom")
    );
}

/// Against a real cluster (kind, with the CRDs and namespace from scripts/kind-up.sh):
/// applies the render twice (idempotent), then an empty render prunes everything.
#[tokio::test]
#[ignore = "needs a kind cluster: run scripts/kind-up.sh"]
async fn real_cluster_apply_and_prune() {
    let ctx = std::env::var("LOCALELB_KUBE_CONTEXT").unwrap_or_else(|_| "kind-localelb".into());
    let client = client(Some(&ctx)).await.unwrap();
    let r = rendered();
    let n = r.value["items"].as_array().unwrap().len();
    let first = apply(&client, NS, &r).await.unwrap();
    assert_eq!(first.applied.len(), n);
    let again = apply(&client, NS, &r).await.unwrap();
    assert!(again.pruned.is_empty(), "{again:?}");
    let ir: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        NS,
        &api_resource("traefik.io/v1alpha1", "IngressRoute").unwrap(),
    );
    let got = ir.get("l-1000000000000001").await.unwrap();
    assert_eq!(got.data["spec"]["entryPoints"], json!(["ep-30000"]));
    let empty = Rendered {
        value: json!({"apiVersion": "v1", "kind": "List", "items": []}),
        warnings: vec![],
    };
    let pruned = apply(&client, NS, &empty).await.unwrap();
    assert_eq!(pruned.pruned.len(), n);
}
