//! The traefik-file data plane: on every committed change and every target health change the
//! state is rendered (translators::file_provider) and written atomically to
//! `<traefik-dir>/localelb.yaml` (temp file + rename, so Traefik never reads half a file).
//!
//! Sync point: each render carries a marker router `localelb-generation-<n>`; with
//! `--traefik-api`, the render counts as applied once Traefik's API lists that router
//! (polled, bounded by [`SYNC_TIMEOUT`]). Only then do the write calls waiting on the
//! generation answer, so the next request sees the change — as with the native data plane.

use super::render;
use super::{Feeds, Traefik};
use crate::dataplane::Endpoint;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use translators::model::{generation_marker, short_id, CertFiles, Options, State};

/// How long a render may take to be served before it is reported as not applied.
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(5);

/// The file localelb owns in the provider directory.
pub const CONFIG_FILE: &str = "localelb.yaml";

type HttpClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Empty<Bytes>,
>;

/// Starts the render loop; `responder_url` is localelb's API as Traefik reaches it.
pub fn spawn(feeds: Feeds, t: Arc<Traefik>, responder_url: String) -> tokio::task::JoinHandle<()> {
    let mut gen_rx = feeds.published.generation.subscribe();
    let mut health_rx = feeds.health.subscribe();
    let client: HttpClient =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    // Markers must not collide with a file left by an earlier run: start from the clock.
    let mut seq = api_models::Timestamp::now().millis().max(0) as u64;
    tokio::spawn(async move {
        loop {
            let g = *gen_rx.borrow_and_update();
            let h = *health_rx.borrow_and_update();
            seq += 1;
            let started = std::time::Instant::now();
            let eps = sync(&feeds, &t, &client, seq, &responder_url).await;
            tracing::debug!(
                generation = g,
                health = h,
                render = seq,
                ms = started.elapsed().as_millis() as u64,
                "Traefik serves the render"
            );
            feeds.dataplane.publish(eps, g);
            t.health_applied.send_replace(h);
            tokio::select! {
                r = gen_rx.changed() => if r.is_err() { return },
                r = health_rx.changed() => if r.is_err() { return },
            }
        }
    })
}

/// Renders, writes and waits for Traefik; returns the endpoints (with errors) to publish.
async fn sync(
    feeds: &Feeds,
    t: &Traefik,
    client: &HttpClient,
    seq: u64,
    responder_url: &str,
) -> Vec<Endpoint> {
    let world = feeds.published.world.load_full();
    let crate::routing::Model {
        state: st,
        unroutable,
    } = crate::routing::build(&world, &feeds.health, api_models::Timestamp::now().millis());
    let dir = t.dir.clone().unwrap_or_default();
    let mut errors: BTreeMap<String, String> = BTreeMap::new();
    if let Err(e) = ensure_certificates(t, &st, &dir).await {
        tracing::warn!("Traefik certificates: {e}");
    }
    let entry_points = t.entry_points_for(&st);
    let opts = Options {
        entry_points: entry_points.clone(),
        responder_url: responder_url.to_string(),
        namespace: "elbv2".into(),
        generation: Some(seq),
        certificates: t.certificates_for(&st),
    };
    let rendered = translators::file_provider::render(&st, &opts);
    let text = translators::yaml::to_yaml(
        &rendered.value,
        &render::warning_comments(&rendered.warnings),
    );
    let mut global: Option<String> = None;
    match write_atomic(&dir, CONFIG_FILE, text.as_bytes()).await {
        Err(e) => {
            let msg = format!(
                "cannot write the Traefik configuration in {}: {e}",
                dir.display()
            );
            tracing::error!("{msg}");
            global = Some(msg);
        }
        Ok(()) => {
            if let Some(api) = &t.api {
                let served = match wait_served(client, api, &generation_marker(seq)).await {
                    Ok(()) => wait_entry_points(client, &st, &entry_points, seq).await,
                    Err(e) => Err(e),
                };
                match served {
                    Ok(()) => {
                        errors = router_errors(client, api).await;
                        for (router, e) in &errors {
                            tracing::warn!("Traefik rejected router {router}: {e}");
                        }
                    }
                    Err(e) => {
                        tracing::error!("{e}");
                        global = Some(e);
                    }
                }
            }
        }
    }
    let mut eps = endpoints(&st, &entry_points, &errors, global.as_deref());
    eps.extend(unroutable.iter().map(Endpoint::from));
    eps
}

fn endpoints(
    st: &State,
    entry_points: &BTreeMap<String, translators::model::EntryPoint>,
    router_errors: &BTreeMap<String, String>,
    global: Option<&str>,
) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for lb in &st.load_balancers {
        for l in &lb.listeners {
            let ep = entry_points.get(&l.arn);
            let prefix = format!("l-{}-", short_id(&l.arn));
            let router_error = router_errors
                .iter()
                .find(|(name, _)| name.starts_with(&prefix))
                .map(|(name, e)| format!("Traefik rejected router {name}: {e}"));
            // Without an entryPoint or a loaded configuration the listener is not served; a
            // rejected router leaves its other rules served, so the address stays.
            let blocking =
                super::unserved(&l.protocol, ep.is_some()).or_else(|| global.map(str::to_string));
            out.push(Endpoint {
                listener_arn: l.arn.clone(),
                load_balancer_name: lb.name.clone(),
                protocol: l.protocol.clone(),
                port: l.port,
                address: ep.filter(|_| blocking.is_none()).map(|e| e.address.clone()),
                error: blocking.or(router_error),
                rule_arn: None,
            });
        }
    }
    out
}

/// Writes `dir/name` through a hidden temp file and a rename.
pub async fn write_atomic(dir: &Path, name: &str, data: &[u8]) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    // A hidden name without a .yaml/.toml extension: the file provider ignores it.
    let tmp = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&tmp, data).await?;
    tokio::fs::rename(&tmp, dir.join(name)).await
}

/// Writes a self-signed certificate for each HTTPS/TLS load balancer's DNS name (once).
async fn ensure_certificates(t: &Traefik, st: &State, dir: &Path) -> Result<(), String> {
    for lb in &st.load_balancers {
        let tls = lb
            .listeners
            .iter()
            .any(|l| matches!(l.protocol.as_str(), "HTTPS" | "TLS"));
        if !tls || t.has_certificate(&lb.dns_name) {
            continue;
        }
        let names = vec![lb.dns_name.clone(), format!("*.{}", lb.dns_name)];
        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
        let certs = dir.join("certs");
        let cert_file = certs.join(format!("{}.crt", lb.dns_name));
        let key_file = certs.join(format!("{}.key", lb.dns_name));
        let key_name = format!("{}.key", lb.dns_name);
        let cert_name = format!("{}.crt", lb.dns_name);
        write_atomic(&certs, &key_name, signing_key.serialize_pem().as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        write_atomic(&certs, &cert_name, cert.pem().as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        t.set_certificate(
            &lb.dns_name,
            CertFiles {
                cert_file: cert_file.display().to_string(),
                key_file: key_file.display().to_string(),
            },
        );
    }
    Ok(())
}

async fn get(client: &HttpClient, url: &str) -> Result<(u16, Bytes), String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL {url}: {e}"))?;
    let resp = tokio::time::timeout(Duration::from_secs(2), client.get(uri))
        .await
        .map_err(|_| format!("{url}: timed out"))?
        .map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

/// Polls Traefik's API until the marker router exists.
async fn wait_served(client: &HttpClient, api: &str, marker: &str) -> Result<(), String> {
    let url = format!("{api}/api/http/routers/{marker}@file");
    let deadline = tokio::time::Instant::now() + SYNC_TIMEOUT;
    let mut last: String;
    loop {
        match get(client, &url).await {
            Ok((200, _)) => return Ok(()),
            Ok((s, _)) => last = format!("HTTP {s}"),
            Err(e) => last = e,
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "Traefik did not load the configuration (router {marker}) within {}s \
                 (last answer: {last}); see Traefik's log",
                SYNC_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until the entryPoints of HTTP listeners answer the marker router (418 from
/// `noop@internal`): Traefik's API can list a configuration a moment before every entryPoint
/// has switched to it.
async fn wait_entry_points(
    client: &HttpClient,
    st: &State,
    entry_points: &BTreeMap<String, translators::model::EntryPoint>,
    seq: u64,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + SYNC_TIMEOUT;
    let addrs: std::collections::BTreeSet<&str> = st
        .load_balancers
        .iter()
        .flat_map(|lb| &lb.listeners)
        .filter(|l| l.protocol == "HTTP")
        .filter_map(|l| entry_points.get(&l.arn))
        .map(|e| e.address.as_str())
        .collect();
    for addr in addrs {
        loop {
            let req = hyper::Request::get(format!("http://{addr}/"))
                .header(translators::file_provider::MARKER_HEADER, seq.to_string())
                .body(Empty::<Bytes>::new())
                .map_err(|e| e.to_string())?;
            let status = tokio::time::timeout(Duration::from_secs(2), client.request(req))
                .await
                .ok()
                .and_then(|r| r.ok())
                .map(|r| r.status().as_u16());
            if status == Some(418) {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "Traefik's entryPoint {addr} did not serve the configuration (router {}) \
                     within {}s",
                    generation_marker(seq),
                    SYNC_TIMEOUT.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    Ok(())
}

/// Routers of the file provider that Traefik disabled, with its error.
async fn router_errors(client: &HttpClient, api: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for kind in ["http", "tcp"] {
        let url = format!("{api}/api/{kind}/routers?status=disabled&per_page=1000");
        let Ok((200, body)) = get(client, &url).await else {
            continue;
        };
        let Ok(serde_json::Value::Array(list)) = serde_json::from_slice(&body) else {
            continue;
        };
        for r in list {
            let name = r["name"].as_str().unwrap_or_default();
            if let Some(n) = name.strip_suffix("@file") {
                let err = r["error"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|e| e.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                    .unwrap_or_default();
                out.insert(n.to_string(), err);
            }
        }
    }
    out
}
