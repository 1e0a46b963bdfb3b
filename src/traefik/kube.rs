//! The traefik-kube data plane: on every committed change and every target health change the
//! state is rendered as Kubernetes objects (`translators::crd`) and reconciled into a cluster
//! where Traefik runs the `kubernetescrd` provider:
//!
//! - every rendered object is **server-side applied** (`PATCH`, `application/apply-patch+yaml`,
//!   `fieldManager=localelb`, `force=true`, `fieldValidation=Strict`, so an unknown field is an
//!   error from the API server instead of being pruned silently);
//! - then objects of the rendered kinds labelled `app.kubernetes.io/managed-by=localelb` that the
//!   render no longer holds are deleted (routes first, Services last).
//!
//! A write call's answer does not wait for Traefik to act on the objects (Traefik watches the API
//! server and reloads on its own, batched by its `throttleDuration`); it waits until the apply
//! returned.

use super::{Feeds, Traefik};
use crate::dataplane::Endpoint;
use ::kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use ::kube::Client;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use translators::crd;
use translators::model::{EntryPoint, Options, Rendered, State};

/// The server-side apply field manager (and the managed-by label value).
pub const FIELD_MANAGER: &str = "localelb";

/// How long to wait before retrying a failed reconcile when nothing changes meanwhile.
const RETRY: Duration = Duration::from_secs(2);

/// Why a reconcile failed.
#[derive(Debug)]
pub enum ApplyError {
    /// A rendered object lacks what addresses it (a renderer bug).
    Object(String),
    /// The API server refused or could not be reached.
    Api {
        action: &'static str,
        object: String,
        source: ::kube::Error,
    },
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyError::Object(m) => write!(f, "rendered object: {m}"),
            ApplyError::Api {
                action,
                object,
                source,
            } => write!(f, "{action} {object}: {source}"),
        }
    }
}

impl std::error::Error for ApplyError {}

/// What a reconcile did: `Kind/name` of every applied and every deleted object.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    pub applied: Vec<String>,
    pub pruned: Vec<String>,
}

/// The API resource of an `apiVersion`/`kind` localelb renders.
fn api_resource(api_version: &str, kind: &str) -> Option<ApiResource> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let plural = match kind {
        "Service" => "services".to_string(),
        "EndpointSlice" => "endpointslices".to_string(),
        _ => translators::schema::Schemas::traefik()
            .get(api_version, kind)?
            .plural
            .clone(),
    };
    Some(ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(group, version, kind),
        &plural,
    ))
}

fn api(
    client: &Client,
    namespace: &str,
    api_version: &str,
    kind: &str,
) -> Result<Api<DynamicObject>, ApplyError> {
    let ar = api_resource(api_version, kind)
        .ok_or_else(|| ApplyError::Object(format!("unknown kind {api_version} {kind}")))?;
    Ok(Api::namespaced_with(client.clone(), namespace, &ar))
}

/// Server-side applies every object of `rendered` (a `v1` List from [`crd::render`]) into
/// `namespace`, then deletes the managed objects it no longer holds.
pub async fn apply(
    client: &Client,
    namespace: &str,
    rendered: &Rendered,
) -> Result<ApplyReport, ApplyError> {
    let items = rendered.value["items"]
        .as_array()
        .ok_or_else(|| ApplyError::Object("the render is not a List".into()))?;
    let params = PatchParams::apply(FIELD_MANAGER)
        .force()
        .validation_strict();
    let mut report = ApplyReport::default();
    let mut keep: BTreeSet<(String, String)> = BTreeSet::new();
    for obj in items {
        let s = |v: &Value| v.as_str().map(str::to_string);
        let (Some(api_version), Some(kind), Some(name)) = (
            s(&obj["apiVersion"]),
            s(&obj["kind"]),
            s(&obj["metadata"]["name"]),
        ) else {
            return Err(ApplyError::Object(format!(
                "no apiVersion/kind/name: {obj}"
            )));
        };
        if obj["metadata"]["namespace"].as_str() != Some(namespace) {
            return Err(ApplyError::Object(format!(
                "{kind}/{name} is not rendered for namespace {namespace}"
            )));
        }
        let id = format!("{kind}/{name}");
        api(client, namespace, &api_version, &kind)?
            .patch(&name, &params, &Patch::Apply(obj))
            .await
            .map_err(|source| ApplyError::Api {
                action: "apply",
                object: id.clone(),
                source,
            })?;
        report.applied.push(id);
        keep.insert((kind, name));
    }
    let selector = format!("{}={}", crd::MANAGED_BY_LABEL, crd::MANAGED_BY);
    // Routes before what they point at, so nothing routes to a deleted Service meanwhile.
    for (api_version, kind) in crd::KINDS.iter().rev() {
        let api = api(client, namespace, api_version, kind)?;
        let list = api
            .list_metadata(&ListParams::default().labels(&selector))
            .await
            .map_err(|source| ApplyError::Api {
                action: "list",
                object: kind.to_string(),
                source,
            })?;
        for o in list.items {
            let Some(name) = o.metadata.name else {
                continue;
            };
            if keep.contains(&(kind.to_string(), name.clone())) {
                continue;
            }
            let id = format!("{kind}/{name}");
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                // Gone meanwhile: that is what pruning wants.
                Err(::kube::Error::Api(s)) if s.code == 404 => {}
                Err(source) => {
                    return Err(ApplyError::Api {
                        action: "delete",
                        object: id,
                        source,
                    })
                }
            }
            report.pruned.push(id);
        }
    }
    Ok(report)
}

/// A client for the cluster: the kubeconfig's `context` when given, else the usual inference
/// (`KUBECONFIG`/`~/.kube/config` current context, or the in-cluster service account).
pub async fn client(context: Option<&str>) -> Result<Client, String> {
    let config = match context {
        Some(ctx) => {
            let opts = ::kube::config::KubeConfigOptions {
                context: Some(ctx.to_string()),
                ..Default::default()
            };
            ::kube::Config::from_kubeconfig(&opts)
                .await
                .map_err(|e| format!("kube context {ctx}: {e}"))?
        }
        None => ::kube::Config::infer()
            .await
            .map_err(|e| format!("no Kubernetes configuration: {e}"))?,
    };
    Client::try_from(config).map_err(|e| format!("Kubernetes client: {e}"))
}

/// Where the applier writes and what Traefik needs to reach localelb.
#[derive(Debug, Clone)]
pub struct KubeSettings {
    pub namespace: String,
    /// localelb's API URL as pods reach it (fixed responses go there).
    pub responder_url: String,
}

/// The render options for `st`.
pub fn options(t: &Traefik, st: &State, settings: &KubeSettings) -> Options {
    Options {
        entry_points: t.entry_points_for(st),
        responder_url: settings.responder_url.clone(),
        namespace: settings.namespace.clone(),
        generation: None,
        certificates: BTreeMap::new(),
    }
}

/// Starts the reconcile loop: once at start, then on every committed change and health change;
/// a failed reconcile is retried every [`RETRY`] until one succeeds.
pub fn spawn(
    feeds: Feeds,
    t: Arc<Traefik>,
    client: Client,
    settings: KubeSettings,
) -> tokio::task::JoinHandle<()> {
    let mut gen_rx = feeds.published.generation.subscribe();
    let mut health_rx = feeds.health.subscribe();
    tokio::spawn(async move {
        loop {
            let g = *gen_rx.borrow_and_update();
            let h = *health_rx.borrow_and_update();
            let world = feeds.published.world.load_full();
            let crate::routing::Model {
                state: st,
                unroutable,
            } = crate::routing::build(&world, &feeds.health, api_models::Timestamp::now().millis());
            let opts = options(&t, &st, &settings);
            let rendered = crd::render(&st, &opts);
            let result = apply(&client, &settings.namespace, &rendered).await;
            let error = match &result {
                Ok(r) => {
                    tracing::debug!(
                        applied = r.applied.len(),
                        pruned = r.pruned.len(),
                        "traefik-kube reconciled"
                    );
                    None
                }
                Err(e) => {
                    tracing::error!("traefik-kube reconcile failed: {e}");
                    Some(e.to_string())
                }
            };
            // Write calls wait on the generation; a failed apply is reported through the
            // endpoints list rather than by holding every caller.
            feeds.dataplane.publish(
                endpoints(&st, &opts.entry_points, error.as_deref())
                    .into_iter()
                    .chain(unroutable.iter().map(Endpoint::from))
                    .collect(),
                g,
            );
            t.health_applied.send_replace(h);
            let retry = async {
                if error.is_some() {
                    tokio::time::sleep(RETRY).await
                } else {
                    std::future::pending::<()>().await
                }
            };
            tokio::select! {
                r = gen_rx.changed() => if r.is_err() { return },
                r = health_rx.changed() => if r.is_err() { return },
                () = retry => {}
            }
        }
    })
}

/// Where each listener is served (its entryPoint's address), or why not.
fn endpoints(
    st: &State,
    entry_points: &BTreeMap<String, EntryPoint>,
    error: Option<&str>,
) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for lb in &st.load_balancers {
        for l in &lb.listeners {
            let ep = entry_points.get(&l.arn);
            let error = super::unserved(&l.protocol, ep.is_some())
                .or_else(|| error.map(|e| format!("applying to Kubernetes failed: {e}")));
            out.push(Endpoint {
                listener_arn: l.arn.clone(),
                load_balancer_name: lb.name.clone(),
                protocol: l.protocol.clone(),
                port: l.port,
                address: ep.filter(|_| error.is_none()).map(|e| e.address.clone()),
                error,
                rule_arn: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests;
