//! The `GET /_localelb/render` answer: the routing model (`crate::routing`) rendered by the
//! translators.

use crate::health::HealthTable;
use crate::state::World;
use std::collections::BTreeMap;
use translators::model::{self as tm, CertFiles, EntryPoint, Options, State};

/// Where a running Traefik data plane serves a state: its entryPoints and the certificate files
/// it has written (implemented by `Traefik`; a trait so rendering stays below the data plane).
pub trait Placement {
    fn entry_points_for(&self, st: &State) -> BTreeMap<String, EntryPoint>;
    fn certificates_for(&self, st: &State) -> BTreeMap<String, CertFiles>;
}

/// What `GET /_localelb/render` needs besides the state.
#[derive(Debug, Clone)]
pub struct RenderSettings {
    /// `--bind` and `--port-offset`: where the native data plane would serve each listener
    /// (the preview's entry points when no Traefik data plane runs).
    pub bind: std::net::IpAddr,
    pub port_offset: u16,
    /// localelb's API URL as Traefik reaches it (fixed responses are answered there).
    pub responder_url: String,
    /// `--traefik-namespace`.
    pub namespace: String,
}

/// Entry points for a preview render when no Traefik data plane runs: one per listener port,
/// named `port-<P>`, at the address the native data plane would use.
fn preview_entry_points(settings: &RenderSettings, st: &State) -> BTreeMap<String, EntryPoint> {
    let mut out = BTreeMap::new();
    for l in st.load_balancers.iter().flat_map(|lb| &lb.listeners) {
        let p = l.port.saturating_add(settings.port_offset);
        out.insert(
            l.arn.clone(),
            EntryPoint {
                name: format!("port-{}", l.port),
                address: format!("{}:{p}", settings.bind),
            },
        );
    }
    out
}

/// The render formats of `GET /_localelb/render?format=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    TraefikFile,
    TraefikCrd,
}

impl Format {
    /// Parses `traefik-file` / `traefik-crd`.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "traefik-file" => Some(Format::TraefikFile),
            "traefik-crd" => Some(Format::TraefikCrd),
            _ => None,
        }
    }
}

/// What `world` becomes in `format`: YAML with the warnings as comments on top. With a
/// Traefik data plane running, its entryPoints and certificate files are used.
pub fn render_text(
    world: &World,
    health: &HealthTable,
    traefik: Option<&dyn Placement>,
    settings: &RenderSettings,
    format: Format,
) -> String {
    let st = crate::routing::build(world, health, api_models::Timestamp::now().millis()).state;
    let (entry_points, certificates) = match traefik {
        Some(t) => (t.entry_points_for(&st), t.certificates_for(&st)),
        None => (preview_entry_points(settings, &st), BTreeMap::new()),
    };
    let opts = Options {
        entry_points,
        responder_url: settings.responder_url.clone(),
        namespace: settings.namespace.clone(),
        generation: None,
        certificates,
    };
    let rendered = match format {
        Format::TraefikFile => translators::file_provider::render(&st, &opts),
        Format::TraefikCrd => translators::crd::render(&st, &opts),
    };
    translators::yaml::to_yaml(&rendered.value, &warning_comments(&rendered.warnings))
}

/// Warnings as YAML comment lines.
pub fn warning_comments(ws: &[tm::Warning]) -> Vec<String> {
    ws.iter()
        .map(|w| format!("warning: {} [{}]: {}", w.resource, w.feature, w.message))
        .collect()
}
