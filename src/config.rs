//! Command-line flags and environment variables → [`Config`].

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Usage text for `localelb --help`.
pub const USAGE: &str = "\
localelb — a local, AWS-compatible Elastic Load Balancing v2

USAGE:
    localelb serve [OPTIONS]
    localelb endpoints [--endpoint URL]   where each listener is served (JSON), from a running server
    localelb render --format traefik-file|traefik-crd [--endpoint URL]
                                          what the running server's state becomes for Traefik

OPTIONS:
    --listen ADDR                 API address [env LOCALELB_LISTEN] (default 127.0.0.1:4566; port 0 = any free port)
    --data-dir DIR                persist state in DIR [env LOCALELB_DATA_DIR] (default $XDG_DATA_HOME/localelb)
    --ephemeral                   keep state in memory only
    --account-id ID               account for non-numeric access keys (default 000000000000)
    --region REGION               region for unsigned requests (default us-east-1)
    --health-check-time-scale F   multiply health-check intervals/timeouts by F (e.g. 0.01 in tests)
    --quota NAME=N                raise an account limit (repeatable)
    --s3-dir DIR                  directory standing in for S3 (trust store bundles: DIR/bucket/key)
    --bind IP                     address listener sockets bind to (default 127.0.0.1)
    --port-offset N               serve listener port P on P+N (default 0; privileged ports that
                                  cannot be bound fall back to P+8000)
    --dataplane MODE              native (default) | traefik-file | traefik-kube
    --traefik-dir DIR             traefik-file: the file provider's directory (config written there)
    --traefik-entrypoints LIST    name=host:port,... Traefik entryPoints listeners are assigned to
    --traefik-port-pool A-B       the same as entryPoints ep-A..ep-B on 127.0.0.1:A..B
    --traefik-api URL             Traefik's API (e.g. http://127.0.0.1:8099): writes wait until
                                  Traefik serves them
    --kube-context NAME           traefik-kube: kubeconfig context (default: the current one)
    --traefik-namespace NS        traefik-kube: namespace of the applied objects (default elbv2)
    --traefik-responder-url URL   localelb's API as Traefik reaches it (fixed responses;
                                  default: the API's bound address)
    --proxy-threads N             proxy worker threads, each with its own runtime (default: one per core)
    --certificate ARN=CERT,KEY    serve certificate ARN from PEM files CERT (chain) and KEY (repeatable);
                                  other ARNs get a self-signed certificate for the load balancer's DNS name
";

/// Parses `serve` flags (after the subcommand).
pub fn parse_serve(args: &[String]) -> Result<Config, String> {
    let mut c = Config::default();
    if let Ok(v) = std::env::var("LOCALELB_LISTEN") {
        c.listen = v;
    }
    let mut data_dir = std::env::var_os("LOCALELB_DATA_DIR").map(PathBuf::from);
    let mut ephemeral = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut val = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--listen" => c.listen = val("--listen")?,
            "--data-dir" => data_dir = Some(PathBuf::from(val("--data-dir")?)),
            "--ephemeral" => ephemeral = true,
            "--account-id" => c.default_account = val("--account-id")?,
            "--region" => c.default_region = val("--region")?,
            "--health-check-time-scale" => {
                let v = val("--health-check-time-scale")?;
                c.health_time_scale = v
                    .parse()
                    .ok()
                    .filter(|f: &f64| *f > 0.0)
                    .ok_or(format!("bad time scale {v}"))?;
            }
            "--quota" => {
                let v = val("--quota")?;
                let (k, n) = v
                    .split_once('=')
                    .ok_or(format!("--quota wants NAME=N, got {v}"))?;
                c.quotas.insert(
                    k.to_string(),
                    n.parse().map_err(|_| format!("bad quota value {n}"))?,
                );
            }
            "--s3-dir" => c.s3_dir = Some(PathBuf::from(val("--s3-dir")?)),
            "--bind" => {
                let v = val("--bind")?;
                c.bind = v.parse().map_err(|_| format!("bad --bind address {v}"))?;
            }
            "--port-offset" => {
                let v = val("--port-offset")?;
                c.port_offset = v.parse().map_err(|_| format!("bad --port-offset {v}"))?;
            }
            "--dataplane" => {
                c.dataplane = match val("--dataplane")?.as_str() {
                    "native" => DataPlaneKind::Native,
                    "traefik-file" => DataPlaneKind::TraefikFile,
                    "traefik-kube" => DataPlaneKind::TraefikKube,
                    o => {
                        return Err(format!(
                            "unknown --dataplane {o} (native, traefik-file, traefik-kube)"
                        ))
                    }
                }
            }
            "--traefik-dir" => c.traefik_dir = Some(PathBuf::from(val("--traefik-dir")?)),
            "--traefik-entrypoints" => {
                c.traefik_entrypoints
                    .extend(parse_entrypoints(&val("--traefik-entrypoints")?)?);
            }
            "--traefik-port-pool" => {
                c.traefik_entrypoints
                    .extend(parse_port_pool(&val("--traefik-port-pool")?)?);
            }
            "--traefik-api" => {
                c.traefik_api = Some(val("--traefik-api")?.trim_end_matches('/').to_string())
            }
            "--kube-context" => c.kube_context = Some(val("--kube-context")?),
            "--traefik-namespace" => c.traefik_namespace = val("--traefik-namespace")?,
            "--traefik-responder-url" => {
                c.traefik_responder_url = Some(
                    val("--traefik-responder-url")?
                        .trim_end_matches('/')
                        .to_string(),
                )
            }
            "--proxy-threads" => {
                let v = val("--proxy-threads")?;
                c.proxy_threads = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=1024).contains(n))
                    .ok_or(format!("bad --proxy-threads {v} (1..1024)"))?;
            }
            "--certificate" => {
                let v = val("--certificate")?;
                let bad = || format!("--certificate wants ARN=CERT_PEM_PATH,KEY_PEM_PATH, got {v}");
                // The ARN itself holds no '=' (ARNs use ':' and '/').
                let (arn, paths) = v.split_once('=').ok_or_else(bad)?;
                let (cert, key) = paths.split_once(',').ok_or_else(bad)?;
                if arn.is_empty() || cert.is_empty() || key.is_empty() {
                    return Err(bad());
                }
                c.certificates
                    .insert(arn.to_string(), (PathBuf::from(cert), PathBuf::from(key)));
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown option {other}\n\n{USAGE}")),
        }
    }
    if c.dataplane == DataPlaneKind::TraefikFile && c.traefik_dir.is_none() {
        return Err("--dataplane traefik-file needs --traefik-dir".into());
    }
    if c.dataplane.is_traefik() && c.traefik_entrypoints.is_empty() {
        return Err(
            "a Traefik data plane needs --traefik-entrypoints or --traefik-port-pool".into(),
        );
    }
    c.data_dir = if ephemeral {
        None
    } else {
        Some(data_dir.unwrap_or_else(default_data_dir))
    };
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn traefik_file_flags() {
        let c = parse_serve(&args(&[
            "--ephemeral",
            "--dataplane",
            "traefik-file",
            "--traefik-dir",
            "d",
            "--traefik-entrypoints",
            "web=127.0.0.1:81,alt=[::1]:82",
            "--traefik-port-pool=9000-9001",
            "--traefik-api",
            "http://127.0.0.1:8099/",
        ]))
        .unwrap();
        assert_eq!(c.dataplane, DataPlaneKind::TraefikFile);
        assert_eq!(
            c.traefik_entrypoints,
            [
                ("web".to_string(), "127.0.0.1:81".to_string()),
                ("alt".into(), "[::1]:82".into()),
                ("ep-9000".into(), "127.0.0.1:9000".into()),
                ("ep-9001".into(), "127.0.0.1:9001".into()),
            ]
        );
        assert_eq!(c.traefik_api.as_deref(), Some("http://127.0.0.1:8099"));
    }

    #[test]
    fn traefik_flags_are_checked() {
        let e = |a: &[&str]| parse_serve(&args(a)).unwrap_err();
        assert!(
            e(&["--dataplane", "traefik-file", "--traefik-port-pool", "1-2"])
                .contains("--traefik-dir")
        );
        assert!(e(&["--dataplane", "traefik-file", "--traefik-dir", "d"]).contains("entrypoints"));
        assert!(e(&["--dataplane", "nginx"]).contains("unknown --dataplane"));
        assert!(e(&["--traefik-port-pool", "9-1"]).contains("empty port pool"));
        assert!(e(&["--traefik-entrypoints", "web"]).contains("name=host:port"));
        assert!(e(&["--traefik-entrypoints", "web=host"]).contains("bad entryPoint address"));
        assert_eq!(
            parse_serve(&args(&["--ephemeral"])).unwrap().dataplane,
            DataPlaneKind::Native
        );
    }

    fn parse(args: &[&str]) -> Result<Config, String> {
        parse_serve(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn proxy_threads_and_certificates() {
        let arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
        let c = parse(&[
            "--ephemeral",
            "--proxy-threads",
            "3",
            "--certificate",
            &format!("{arn}=/p/c.pem,/p/k.pem"),
            &format!("--certificate={arn}2=c2.pem,k2.pem"),
        ])
        .unwrap();
        assert_eq!(c.proxy_threads, 3);
        assert_eq!(
            c.certificates.get(arn),
            Some(&(PathBuf::from("/p/c.pem"), PathBuf::from("/p/k.pem")))
        );
        assert_eq!(c.certificates.len(), 2);
        assert_eq!(parse(&["--ephemeral"]).unwrap().proxy_threads, 0);
        for bad in [
            &["--proxy-threads", "0"][..],
            &["--proxy-threads", "x"],
            &["--certificate", "arn-without-paths"],
            &["--certificate", "arn=only-cert.pem"],
            &["--certificate", "=c.pem,k.pem"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
