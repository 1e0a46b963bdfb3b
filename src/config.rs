//! [`Config`], the typed settings the server is started with, and its defaults. The command
//! line that produces it is [`args`].

pub mod args;

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Everything the server is started with.
#[derive(Debug, Clone)]
pub struct Config {
    /// API address (`--listen`, `LOCALELB_LISTEN`); port 0 picks a free port.
    pub listen: String,
    /// Where DuckDB persists (`--data-dir`, `LOCALELB_DATA_DIR`); None with `--ephemeral`.
    pub data_dir: Option<PathBuf>,
    /// Account used for access keys that are not 12 digits (`--account-id`).
    pub default_account: String,
    /// Region when a request carries no SigV4 scope.
    pub default_region: String,
    /// Health-check intervals and timeouts are multiplied by this (`--health-check-time-scale`).
    pub health_time_scale: f64,
    /// Raised account quotas (`--quota NAME=N`).
    pub quotas: BTreeMap<String, i64>,
    /// Directory standing in for S3 (`--s3-dir`): `s3://bucket/key` is `DIR/bucket/key`.
    pub s3_dir: Option<PathBuf>,
    /// DNS suffix of load balancer names: `NAME-ID.REGION.<suffix>`.
    pub dns_suffix: String,
    /// Address listener sockets bind to (`--bind`).
    pub bind: std::net::IpAddr,
    /// Added to every listener port (`--port-offset`).
    pub port_offset: u16,
    /// Which data plane serves listeners (`--dataplane`).
    pub dataplane: DataPlaneKind,
    /// Where the Traefik file provider reads its dynamic configuration (`--traefik-dir`).
    pub traefik_dir: Option<PathBuf>,
    /// Traefik entryPoints listeners are assigned to, in order: (name, host:port).
    pub traefik_entrypoints: Vec<(String, String)>,
    /// Traefik's API base URL (`--traefik-api`), polled until a render is served.
    pub traefik_api: Option<String>,
    /// traefik-kube: the kubeconfig context (`--kube-context`; default: the current one).
    pub kube_context: Option<String>,
    /// traefik-kube: the namespace objects are applied to (`--traefik-namespace`).
    pub traefik_namespace: String,
    /// localelb's API URL as Traefik reaches it, for fixed responses
    /// (`--traefik-responder-url`; default: the API's bound address).
    pub traefik_responder_url: Option<String>,
    /// Proxy worker threads (`--proxy-threads`); 0 = one per core.
    pub proxy_threads: usize,
    /// User-supplied certificates (`--certificate ARN=CERT_PEM,KEY_PEM`): ARN → (cert, key).
    pub certificates: BTreeMap<String, (PathBuf, PathBuf)>,
}

/// The data planes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DataPlaneKind {
    /// localelb's own proxy binds listener sockets.
    Native,
    /// Traefik serves the listeners from a file-provider configuration localelb writes.
    TraefikFile,
    /// Traefik in Kubernetes serves the listeners from objects localelb applies.
    TraefikKube,
}

impl DataPlaneKind {
    /// Whether Traefik (in any mode) serves the listeners.
    pub fn is_traefik(self) -> bool {
        self != DataPlaneKind::Native
    }
}

/// `name=host:port,...` → entryPoints.
pub fn parse_entrypoints(v: &str) -> Result<Vec<(String, String)>, String> {
    v.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|e| {
            let (n, a) = e.trim().split_once('=').ok_or(format!(
                "--traefik-entrypoints wants name=host:port, got {e}"
            ))?;
            a.rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u16>().ok())
                .ok_or(format!("bad entryPoint address {a}"))?;
            Ok((n.to_string(), a.to_string()))
        })
        .collect()
}

/// `START-END` → entryPoints `ep-<port>` on 127.0.0.1.
pub fn parse_port_pool(v: &str) -> Result<Vec<(String, String)>, String> {
    let (a, b) = v
        .split_once('-')
        .ok_or(format!("--traefik-port-pool wants START-END, got {v}"))?;
    let (a, b): (u16, u16) = (
        a.parse().map_err(|_| format!("bad port {a}"))?,
        b.parse().map_err(|_| format!("bad port {b}"))?,
    );
    if a > b {
        return Err(format!("empty port pool {v}"));
    }
    Ok((a..=b)
        .map(|p| (format!("ep-{p}"), format!("127.0.0.1:{p}")))
        .collect())
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:4566".into(),
            data_dir: None,
            default_account: "000000000000".into(),
            default_region: "us-east-1".into(),
            health_time_scale: 1.0,
            quotas: BTreeMap::new(),
            s3_dir: None,
            dns_suffix: "elb.localhost".into(),
            bind: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            port_offset: 0,
            dataplane: DataPlaneKind::Native,
            traefik_dir: None,
            traefik_entrypoints: Vec::new(),
            traefik_api: None,
            kube_context: None,
            traefik_namespace: "elbv2".into(),
            traefik_responder_url: None,
            proxy_threads: 0,
            certificates: BTreeMap::new(),
        }
    }
}

/// The default persistent data dir: `$XDG_DATA_HOME/localelb`, else `~/.local/share/localelb`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("localelb");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/localelb")
}
