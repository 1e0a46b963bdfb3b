//! The HTTP endpoint: AWS query protocol on `/` (POST form or GET query), dispatched by the
//! SigV4 service or `Version` to ELBv2 or the small EC2 subset; plus `/_localelb/*` controls.

pub mod body;
pub mod call_log;
pub mod respond;
pub mod service;
pub mod sigv4;

use crate::elbv2::{self, ApiError, CallCtx, Service};
use crate::App;
use api_models::query::QueryMap;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use std::sync::Arc;

/// The API router.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/_localelb/health", get(health))
        .route("/_localelb/reset", post(reset))
        .route("/moto-api/reset", post(reset))
        .route("/_localelb/endpoints", get(endpoints))
        .route("/_localelb/metrics", get(metrics))
        .route("/_localelb/render", get(render))
        .route("/_localelb/respond/{id}", any(respond))
        .fallback(aws)
        .with_state(app)
}

fn json(v: serde_json::Value) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

async fn health() -> Response {
    json(serde_json::json!({"status": "ok"}))
}

async fn endpoints(State(app): State<Arc<App>>) -> Response {
    let eps = app.dataplane.endpoints.load_full();
    json(serde_json::to_value(&*eps).unwrap_or_default())
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        app.dataplane.metrics.render(),
    )
        .into_response()
}

/// `GET /_localelb/render?format=traefik-file|traefik-crd`: what the current state becomes.
async fn render(
    State(app): State<Arc<App>>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    use crate::traefik::render::Format;
    use axum::http::StatusCode;
    let format = q
        .get("format")
        .map(String::as_str)
        .unwrap_or("traefik-file");
    let Some(f) = Format::parse(format) else {
        return (
            StatusCode::BAD_REQUEST,
            format!("unknown format {format:?} (traefik-file, traefik-crd)\n"),
        )
            .into_response();
    };
    (
        [(axum::http::header::CONTENT_TYPE, "application/yaml")],
        app.render(f),
    )
        .into_response()
}

/// The responder Traefik routes fixed-response rules to.
async fn respond(
    State(app): State<Arc<App>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    crate::traefik::respond::answer(&app.published.world.load(), &id)
}

async fn reset(State(app): State<Arc<App>>) -> Response {
    app.reset().await;
    json(serde_json::json!({"status": "reset"}))
}

async fn aws(
    State(app): State<Arc<App>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    req: axum::extract::Request,
) -> Response {
    // `curl http://<DNSName>:<api port>/` reaches that load balancer.
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let host = crate::dataplane::rule_match::strip_port(host).to_ascii_lowercase();
    let routing = app.dataplane.routing.load_full();
    let target = routing
        .by_dns
        .get(&host)
        .and_then(|ls| ls.iter().find(|l| l.protocol == "HTTP"))
        .cloned();
    if let Some(listener) = target {
        use http_body_util::BodyExt;
        let req = req.map(|b| {
            b.map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
                .boxed_unsync()
        });
        let resp =
            crate::dataplane::proxy::route(&app.dataplane, &routing, &listener, peer, req).await;
        return resp.map(axum::body::Body::new);
    }
    let (parts, body) = req.into_parts();
    api_call(app, parts, body).await
}

/// One API call: the body read within its limit, the call answered, and its log line written.
async fn api_call(
    app: Arc<App>,
    parts: axum::http::request::Parts,
    body: axum::body::Body,
) -> Response {
    let mut call = call_log::CallLog::start();
    let rid = respond::request_id();
    let resp = match body::read(&parts.headers, body).await {
        Ok(body) => {
            aws_query(
                app,
                &mut call,
                &rid,
                parts.method,
                parts.uri,
                parts.headers,
                body,
            )
            .await
        }
        Err(e) => respond::error(&e, &rid),
    };
    call.finish(&resp, &rid);
    resp
}

async fn aws_query(
    app: Arc<App>,
    call: &mut call_log::CallLog,
    rid: &str,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST && method != Method::GET {
        return respond::error(
            &ApiError::Protocol {
                code: "InvalidAction",
                status: 400,
                message: "Only GET and POST are supported".into(),
            },
            &rid,
        );
    }
    // Parameters come from the query string and (for POST) the form body; the body wins.
    let mut pairs = api_models::query::form_pairs(uri.query().unwrap_or("").as_bytes());
    if method == Method::POST {
        pairs.extend(api_models::query::form_pairs(&body));
    }
    let mut q = QueryMap::from_pairs(pairs);
    let cred = sigv4::parse(
        headers.get("authorization").and_then(|v| v.to_str().ok()),
        q.get("X-Amz-Credential"),
    );
    let account = sigv4::account_for(cred.access_key.as_deref(), &app.config.default_account);
    let region = cred
        .region
        .clone()
        .unwrap_or_else(|| app.config.default_region.clone());
    let action = q.take("Action");
    let version = q.take("Version");
    call.action = action.clone();
    let is_ec2 = match served_service(call, &headers, cred.service.as_deref(), version.as_deref()) {
        Ok(s) => s == service::Served::Ec2,
        Err(unserved) => return unserved_response(&unserved, rid),
    };
    let Some(action) = action else {
        return respond::error(
            &ApiError::Protocol {
                code: "MissingAction",
                status: 400,
                message: "Missing Action".into(),
            },
            &rid,
        );
    };
    let ctx = CallCtx {
        account,
        region,
        config: app.config.clone(),
        health: app.health.clone(),
        now_ms: api_models::Timestamp::now().millis(),
    };
    if is_ec2 {
        return ec2_call(&app, &ctx, &action, q, &rid).await;
    }
    let Some(op) = api_models::Operation::from_name(&action) else {
        return respond::error(
            &ApiError::invalid_action(format!(
                "The action {action} is not valid for this web service."
            )),
            &rid,
        );
    };
    let req = match api_models::Request::parse(op, &q) {
        Ok(r) => r,
        Err(e) => return respond::error(&e.into(), &rid),
    };
    match app.call(ctx, req).await {
        Ok(resp) => respond::xml(200, resp.to_xml(&rid), &rid),
        Err(e) => respond::error(&e, &rid),
    }
}

/// The service a request is for (recorded in the call log), or what it asked for instead.
fn served_service(
    call: &mut call_log::CallLog,
    headers: &HeaderMap,
    signing_name: Option<&str>,
    version: Option<&str>,
) -> Result<service::Served, service::Unserved> {
    let amz_target = headers
        .get("x-amz-target")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let served = service::resolve(signing_name, amz_target.as_deref(), version);
    call.service = Some(match &served {
        Ok(s) => s.signing_name().to_string(),
        Err(u) => u.requested().to_string(),
    });
    served
}

/// The refusal of a request for another service, in the protocol its client reads.
fn unserved_response(unserved: &service::Unserved, rid: &str) -> Response {
    match unserved {
        service::Unserved::Target(_) => {
            respond::json_error(400, "UnknownOperationException", &unserved.message(), rid)
        }
        _ => respond::error(&unserved.api_error(), rid),
    }
}

/// Answers one EC2 call.
async fn ec2_call(app: &App, ctx: &CallCtx, action: &str, q: QueryMap, rid: &str) -> Response {
    let result = ec2_run(app, ctx, action, q).await;
    let (status, body) = crate::ec2::answer(action, result, rid);
    respond::xml(status, body, rid)
}

/// Runs one EC2 call: reads on the published snapshot, writes through the writer.
async fn ec2_run(
    app: &App,
    ctx: &CallCtx,
    action: &str,
    q: QueryMap,
) -> Result<String, crate::ec2::Ec2Error> {
    use crate::ec2::{self, Access, Ec2Error};
    match ec2::access(action, &q)? {
        Access::Read => {
            let world = app.published.world.load_full();
            let empty;
            let scope = match world.scope(&ctx.account, &ctx.region) {
                Some(s) => s.as_ref(),
                None => {
                    empty = crate::state::Scope::new(&ctx.account, &ctx.region);
                    &empty
                }
            };
            ec2::read_op(action, scope, &q)
        }
        Access::Write => {
            let action = action.to_string();
            app.writer
                .call(&ctx.account, &ctx.region, move |scope| {
                    ec2::write_op(&action, scope, &q).map_err(ApiError::from)
                })
                .await
                .map_err(Ec2Error::from)
        }
    }
}

impl App {
    /// Runs one ELBv2 request: reads on the current snapshot, writes through the writer.
    pub async fn call(
        &self,
        ctx: CallCtx,
        req: api_models::Request,
    ) -> Result<api_models::Response, ApiError> {
        let op = req.operation();
        if elbv2::is_read(op) {
            let world = self.published.world.load_full();
            let empty;
            let scope = match world.scope(&ctx.account, &ctx.region) {
                Some(s) => s.as_ref(),
                None => {
                    empty = crate::state::Scope::new(&ctx.account, &ctx.region);
                    &empty
                }
            };
            let mut svc = Service::read(&ctx, scope);
            let out = api_models::dispatch(&mut svc, req);
            // With Traefik, health a client can see is health Traefik already routes by: the
            // version is read after the states were, so it covers every state in the answer.
            if let (Some(t), api_models::Operation::DescribeTargetHealth) = (&self.traefik, op) {
                t.wait_health_applied(self.health.version()).await;
            }
            out
        } else {
            let (a, r) = (ctx.account.clone(), ctx.region.clone());
            let out = self
                .writer
                .call(&a, &r, move |scope| {
                    let mut svc = Service::write(&ctx, scope);
                    api_models::dispatch(&mut svc, req)
                })
                .await;
            // Answer only once listener sockets and routing reflect this write, so the next
            // request (or connection) sees it.
            if crate::dataplane::affects_routing(op) {
                let g = *self.published.generation.borrow();
                self.dataplane.wait_applied(g).await;
            }
            out
        }
    }
}
