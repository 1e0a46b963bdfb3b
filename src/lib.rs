//! localelb: a local, AWS-compatible Elastic Load Balancing v2.
//!
//! [`App::start`] opens the store, starts the writer and the health prober, and serves the API.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod dataplane;
pub mod ec2;
pub mod elbv2;
pub mod endpoints_cmd;
pub mod health;
pub mod routing;
pub mod state;
pub mod store;
pub mod traefik;
pub mod writer;

use config::Config;
use std::net::SocketAddr;
use std::sync::Arc;

/// The running server's shared parts.
pub struct App {
    pub config: Arc<Config>,
    pub writer: writer::Writer,
    pub published: Arc<writer::Published>,
    pub health: Arc<health::HealthTable>,
    pub dataplane: Arc<dataplane::DataPlane>,
    /// The API's bound address (also the responder Traefik forwards fixed responses to).
    pub api_addr: SocketAddr,
    /// Set when a Traefik data plane serves the listeners (`--dataplane traefik-*`).
    pub traefik: Option<Arc<traefik::Traefik>>,
}

/// What the native data plane takes from the flags.
fn dataplane_settings(config: &Config) -> dataplane::Settings {
    dataplane::Settings {
        bind: config.bind,
        port_offset: config.port_offset,
        proxy_threads: config.proxy_threads,
        health_time_scale: config.health_time_scale,
        certificates: config.certificates.clone(),
    }
}

/// A started server.
pub struct Running {
    pub api_addr: SocketAddr,
    pub app: Arc<App>,
    pub server: tokio::task::JoinHandle<()>,
}

/// What the health prober reads: the published state, the health table it writes, the time
/// scale, and where the native data plane serves alb targets' listeners.
fn prober_inputs(app: &App) -> health::prober::Inputs {
    let dataplane = Arc::downgrade(&app.dataplane);
    health::prober::Inputs {
        published: Arc::downgrade(&app.published),
        health: app.health.clone(),
        time_scale: app.config.health_time_scale,
        applied: app.dataplane.subscribe_applied(),
        alb_listener_addr: Arc::new(move |lb_arn: &str, port: u16| {
            let dp = dataplane.upgrade()?;
            let routing = dp.routing.load();
            dataplane::proxy::alb_listener_addr(&dp, &routing, lb_arn, port)
        }),
    }
}

impl App {
    /// Opens the store, restores state and serves the API on `config.listen`.
    pub async fn start(config: Config) -> Result<Running, String> {
        let cfg = config.clone();
        let (store, world) = tokio::task::spawn_blocking(move || {
            let store = store::Store::open(cfg.data_dir.as_deref()).map_err(|e| e.to_string())?;
            let world = store
                .load()
                .map_err(|e| format!("cannot load stored state: {e}"))?;
            Ok::<_, String>((store, world))
        })
        .await
        .map_err(|e| e.to_string())??;
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let api_addr = listener.local_addr().map_err(|e| e.to_string())?;
        let health = Arc::new(health::HealthTable::default());
        // Certificates are read before anything is served: a bad file stops the start.
        let dataplane = dataplane::DataPlane::new(dataplane_settings(&config), health.clone())?;
        let (writer, published) = writer::Writer::start(store, world);
        let traefik = config
            .dataplane
            .is_traefik()
            .then(|| Arc::new(traefik::Traefik::new(&config)));
        let app = Arc::new(App {
            config: Arc::new(config),
            writer,
            published,
            health,
            dataplane,
            api_addr,
            traefik: traefik.clone(),
        });
        // The data plane: native sockets, or Traefik fed with renders (which then owns the
        // `applied` generation and the endpoints list).
        let feeds = traefik::Feeds {
            published: app.published.clone(),
            health: app.health.clone(),
            dataplane: app.dataplane.clone(),
        };
        match (app.config.dataplane, traefik) {
            (config::DataPlaneKind::TraefikFile, Some(t)) => {
                traefik::file::spawn(feeds, t, app.responder_url());
            }
            (config::DataPlaneKind::TraefikKube, Some(t)) => {
                let client = traefik::kube::client(app.config.kube_context.as_deref()).await?;
                let settings = traefik::kube::KubeSettings {
                    namespace: app.config.traefik_namespace.clone(),
                    responder_url: app.responder_url(),
                };
                traefik::kube::spawn(feeds, t, client, settings);
            }
            _ => {
                app.dataplane.follow(app.published.clone());
            }
        }
        let router = api::router(app.clone());
        health::prober::spawn(prober_inputs(&app));
        let server = tokio::spawn(async move {
            let svc = router.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(listener, svc).await {
                tracing::error!("API server stopped: {e}");
            }
        });
        Ok(Running {
            api_addr,
            app,
            server,
        })
    }

    /// localelb's API URL as Traefik reaches it (fixed responses are answered there).
    pub fn responder_url(&self) -> String {
        self.config
            .traefik_responder_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.api_addr))
    }

    /// What the current state becomes in `format` (`GET /_localelb/render`).
    pub fn render(&self, format: traefik::render::Format) -> String {
        let settings = traefik::render::RenderSettings {
            bind: self.config.bind,
            port_offset: self.config.port_offset,
            responder_url: self.responder_url(),
            namespace: self.config.traefik_namespace.clone(),
        };
        traefik::render::render_text(
            &self.published.world.load_full(),
            &self.health,
            self.traefik
                .as_deref()
                .map(|t| t as &dyn traefik::render::Placement),
            &settings,
            format,
        )
    }

    /// Clears every resource and all health state.
    pub async fn reset(&self) {
        self.writer.reset().await;
        self.health.clear();
        self.dataplane.metrics.clear();
        if self.traefik.is_some() {
            // Traefik drops the old routers before the next test's calls.
            let g = *self.published.generation.borrow();
            self.dataplane.wait_applied(g).await;
        }
    }
}
