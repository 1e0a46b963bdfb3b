//! The committed world and target health → the translators' [`State`]; and the
//! `GET /_localelb/render` answer.

use crate::elbv2::targets::registered_health;
use crate::health::{HealthTable, TargetKey};
use crate::state::World;
use std::collections::BTreeMap;
use translators::model::{
    self as tm, EntryPoint, HealthCheck, Listener, LoadBalancer, Options, Rule, State, Target,
    TargetGroup, TargetState,
};

fn target_state(s: &str) -> TargetState {
    match s {
        "healthy" => TargetState::Healthy,
        "unhealthy" => TargetState::Unhealthy,
        "initial" => TargetState::Initial,
        "draining" => TargetState::Draining,
        "unused" => TargetState::Unused,
        _ => TargetState::Unavailable,
    }
}

/// Everything that routes, over every account and region, with target health resolved as
/// DescribeTargetHealth reports it.
pub fn state(world: &World, health: &HealthTable, now_ms: i64) -> State {
    let mut lbs: Vec<(u64, LoadBalancer)> = Vec::new();
    let mut tgs: Vec<(u64, TargetGroup)> = Vec::new();
    for scope in world.scopes.values() {
        for lb in scope.load_balancers.values() {
            let Some(arn) = lb.lb.load_balancer_arn.clone() else {
                continue;
            };
            let mut listeners: Vec<(u64, Listener)> = scope
                .listeners
                .values()
                .filter(|l| l.listener.load_balancer_arn.as_deref() == Some(arn.as_str()))
                .filter_map(|l| {
                    let li = &l.listener;
                    let larn = li.listener_arn.clone()?;
                    let mut rules: Vec<Rule> = scope
                        .rules
                        .values()
                        .filter(|r| r.listener_arn == larn)
                        .map(|r| Rule {
                            arn: r.rule.rule_arn.clone().unwrap_or_default(),
                            priority: r.rule.priority.as_deref().and_then(|p| p.parse().ok()),
                            conditions: r.rule.conditions.clone().unwrap_or_default(),
                            actions: r.rule.actions.clone().unwrap_or_default(),
                            transforms: r.rule.transforms.clone().unwrap_or_default(),
                        })
                        .collect();
                    rules.sort_by_key(|r| r.priority.unwrap_or(u32::MAX));
                    let mut certificates: Vec<String> = li
                        .certificates
                        .iter()
                        .flatten()
                        .filter_map(|c| c.certificate_arn.clone())
                        .collect();
                    certificates.extend(l.extra_certificates.iter().cloned());
                    Some((
                        l.seq,
                        Listener {
                            arn: larn,
                            port: li.port.and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
                            protocol: li.protocol.clone().unwrap_or_default(),
                            certificates,
                            attributes: l.attributes.clone(),
                            rules,
                        },
                    ))
                })
                .collect();
            listeners.sort_by_key(|l| l.0);
            lbs.push((
                lb.seq,
                LoadBalancer {
                    arn,
                    name: lb.lb.load_balancer_name.clone().unwrap_or_default(),
                    dns_name: lb
                        .lb
                        .dns_name
                        .clone()
                        .unwrap_or_default()
                        .to_ascii_lowercase(),
                    type_: lb.lb.type_.clone().unwrap_or_else(|| "application".into()),
                    attributes: lb.attributes.clone(),
                    listeners: listeners.into_iter().map(|l| l.1).collect(),
                },
            ));
        }
        for rec in scope.target_groups.values() {
            let tg = &rec.tg;
            let Some(arn) = tg.target_group_arn.clone() else {
                continue;
            };
            let tt = tg.target_type.clone().unwrap_or_else(|| "instance".into());
            let hc_enabled = tg.health_check_enabled.unwrap_or(true);
            let mut targets: Vec<Target> = rec
                .targets
                .iter()
                .map(|t| {
                    let key = TargetKey {
                        tg_arn: arn.clone(),
                        id: t.id.clone(),
                        port: t.port,
                    };
                    // Only target groups in use are rendered, so "in use" holds here.
                    let h =
                        registered_health(true, hc_enabled, health.get_for(&key, t.registered_ms));
                    Target {
                        id: t.id.clone(),
                        port: u16::try_from(t.port).unwrap_or(0),
                        address: crate::health::target_addr(&tt, &t.id, t.port),
                        state: target_state(h.state),
                    }
                })
                .collect();
            targets.extend(
                rec.draining
                    .iter()
                    .filter(|d| d.until_ms > now_ms)
                    .map(|d| Target {
                        id: d.target.id.clone(),
                        port: u16::try_from(d.target.port).unwrap_or(0),
                        address: crate::health::target_addr(&tt, &d.target.id, d.target.port),
                        state: TargetState::Draining,
                    }),
            );
            tgs.push((
                rec.seq,
                TargetGroup {
                    arn,
                    name: tg.target_group_name.clone().unwrap_or_default(),
                    protocol: tg.protocol.clone(),
                    port: tg.port.and_then(|p| u16::try_from(p).ok()),
                    target_type: tt,
                    attributes: rec.attributes.clone(),
                    health_check: HealthCheck {
                        enabled: hc_enabled,
                        protocol: tg.health_check_protocol.clone(),
                        port: tg.health_check_port.clone(),
                        path: tg.health_check_path.clone(),
                        interval_seconds: tg
                            .health_check_interval_seconds
                            .and_then(|v| u32::try_from(v).ok()),
                        timeout_seconds: tg
                            .health_check_timeout_seconds
                            .and_then(|v| u32::try_from(v).ok()),
                        healthy_threshold: tg
                            .healthy_threshold_count
                            .and_then(|v| u32::try_from(v).ok()),
                        unhealthy_threshold: tg
                            .unhealthy_threshold_count
                            .and_then(|v| u32::try_from(v).ok()),
                        http_code: tg.matcher.as_ref().and_then(|m| m.http_code.clone()),
                    },
                    targets,
                },
            ));
        }
    }
    lbs.sort_by_key(|l| l.0);
    tgs.sort_by_key(|t| t.0);
    State {
        load_balancers: lbs.into_iter().map(|l| l.1).collect(),
        target_groups: tgs.into_iter().map(|t| t.1).collect(),
    }
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
    traefik: Option<&super::Traefik>,
    settings: &RenderSettings,
    format: Format,
) -> String {
    let st = state(world, health, api_models::Timestamp::now().millis());
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
