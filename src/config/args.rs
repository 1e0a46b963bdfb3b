//! The command line (clap): `serve` (also what runs without a subcommand) → [`Config`], the
//! client subcommands `endpoints` and `render`, and `completions`. Option names, value syntax,
//! defaults and environment variables are the ones README's options table documents.

use super::{parse_entrypoints, parse_port_pool, Config, DataPlaneKind};
use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::ffi::{OsStr, OsString};
use std::net::IpAddr;
use std::path::PathBuf;

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    /// `localelb serve` (or no subcommand): run the server.
    Serve(Box<Config>),
    /// `localelb endpoints`: print a running server's endpoints (`http://host:port`).
    Endpoints { endpoint: String },
    /// `localelb render`: print what a running server's state becomes for Traefik.
    Render { endpoint: String, format: String },
    /// `localelb completions SHELL`: print a completion script.
    Completions(clap_complete::Shell),
}

/// How log lines on stderr are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured only when stderr is a terminal).
    Text,
    /// One JSON object per line.
    Json,
}

/// A local, AWS-compatible Elastic Load Balancing v2.
#[derive(Debug, Parser)]
#[command(
    name = "localelb",
    bin_name = "localelb",
    version,
    propagate_version = true,
    after_help = "Without a subcommand, localelb runs `serve` with its defaults."
)]
struct Cli {
    /// Log line format on stderr (the level filter is LOCALELB_LOG, else RUST_LOG; default info)
    #[arg(
        long,
        global = true,
        display_order = 1000,
        value_enum,
        value_name = "FORMAT",
        env = "LOCALELB_LOG_FORMAT",
        default_value_t = LogFormat::Text
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the ELBv2 (and minimal EC2) API and the listeners (the default)
    Serve(ServeArgs),
    /// Print where each listener of a running server is served (JSON)
    Endpoints(ClientArgs),
    /// Print what a running server's state becomes for Traefik (warnings also on stderr)
    Render(RenderArgs),
    /// Print a shell completion script (e.g. `localelb completions bash > /etc/bash_completion.d/localelb`)
    Completions {
        /// The shell to complete for
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// API address; port 0 binds any free port (printed on stdout)
    #[arg(
        long,
        value_name = "ADDR",
        env = "LOCALELB_LISTEN",
        default_value = "127.0.0.1:4566"
    )]
    listen: String,
    /// Persist state in DIR [default: $XDG_DATA_HOME/localelb or ~/.local/share/localelb]
    #[arg(long, value_name = "DIR", env = "LOCALELB_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Keep state in memory only (wins over --data-dir)
    #[arg(long)]
    ephemeral: bool,
    /// Account for access keys that are not 12 digits (a 12-digit access key is the account)
    #[arg(long, value_name = "ID", default_value = "000000000000")]
    account_id: String,
    /// Region for requests without a SigV4 scope
    #[arg(long, value_name = "REGION", default_value = "us-east-1")]
    region: String,
    /// Multiply health-check intervals/timeouts, deregistration delays and slow-start windows
    /// by F (tests use 0.01)
    #[arg(long, value_name = "F", default_value = "1", value_parser = time_scale)]
    health_check_time_scale: f64,
    /// Raise a DescribeAccountLimits quota (repeatable)
    #[arg(long, value_name = "NAME=N", value_parser = quota)]
    quota: Vec<(String, i64)>,
    /// Directory standing in for S3: trust-store bundles s3://b/k are read from DIR/b/k
    #[arg(long, value_name = "DIR")]
    s3_dir: Option<PathBuf>,
    /// Address listener sockets bind to
    #[arg(long, value_name = "IP", default_value = "127.0.0.1", value_parser = bind)]
    bind: IpAddr,
    /// Serve listener port P on P+N (a privileged port that cannot be bound falls back to P+8000)
    #[arg(long, value_name = "N", default_value = "0", value_parser = port_offset)]
    port_offset: u16,
    /// Proxy worker threads, each with its own event loop [default: one per core]
    #[arg(long, value_name = "N", value_parser = proxy_threads)]
    proxy_threads: Option<usize>,
    /// Serve certificate ARN from PEM files CERT (chain) and KEY (repeatable); other ARNs get a
    /// self-signed certificate for the load balancer's DNS name
    #[arg(long, value_name = "ARN=CERT,KEY", value_parser = certificate)]
    certificate: Vec<Certificate>,
    /// Which data plane serves the listeners
    #[arg(long, value_name = "MODE", default_value = "native", value_parser = DataPlaneParser)]
    dataplane: DataPlaneKind,
    /// traefik-file: the file provider's directory (localelb writes DIR/localelb.yaml)
    #[arg(long, value_name = "DIR")]
    traefik_dir: Option<PathBuf>,
    /// name=host:port,...: Traefik entryPoints listeners are assigned to (repeatable)
    #[arg(long, value_name = "LIST", value_parser = entrypoints)]
    traefik_entrypoints: Vec<EntryPoints>,
    /// The same as entryPoints ep-A..ep-B on 127.0.0.1:A..B (repeatable)
    #[arg(long, value_name = "A-B", value_parser = port_pool)]
    traefik_port_pool: Vec<EntryPoints>,
    /// Traefik's API (e.g. http://127.0.0.1:8099): a write answers once Traefik serves it
    #[arg(long, value_name = "URL")]
    traefik_api: Option<String>,
    /// traefik-kube: kubeconfig context [default: the current one]
    #[arg(long, value_name = "NAME")]
    kube_context: Option<String>,
    /// traefik-kube: namespace of the applied objects
    #[arg(long, value_name = "NS", default_value = "elbv2")]
    traefik_namespace: String,
    /// localelb's API as Traefik reaches it, for fixed responses [default: the API's bound address]
    #[arg(long, value_name = "URL")]
    traefik_responder_url: Option<String>,
}

#[derive(Debug, Args)]
struct ClientArgs {
    /// The running server's API address (http:// is added when missing)
    #[arg(
        long,
        value_name = "URL",
        env = "LOCALELB_LISTEN",
        default_value = "127.0.0.1:4566"
    )]
    endpoint: String,
}

#[derive(Debug, Args)]
struct RenderArgs {
    /// traefik-file (file-provider YAML) or traefik-crd (Kubernetes objects)
    #[arg(long, value_name = "FORMAT", default_value = "traefik-file")]
    format: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// One `--certificate ARN=CERT,KEY`.
#[derive(Debug, Clone)]
struct Certificate {
    arn: String,
    cert: PathBuf,
    key: PathBuf,
}

/// The entryPoints of one `--traefik-entrypoints` or `--traefik-port-pool`.
#[derive(Debug, Clone)]
struct EntryPoints(Vec<(String, String)>);

/// The command-line definition (help, completions, and errors found after parsing).
pub fn command() -> clap::Command {
    Cli::command()
}

/// Parses a whole command line (`args[0]` is the program). `Err` is clap's error, help or
/// version text: `.exit()` prints it and exits with 2 for an error, 0 otherwise.
pub fn parse_from<I, T>(args: I) -> Result<(Invocation, LogFormat), clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let mut argv: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut m = command().try_get_matches_from(&argv)?;
    if m.subcommand().is_none() {
        // Only global options were given: serve with the defaults.
        argv.push("serve".into());
        m = command().try_get_matches_from(&argv)?;
    }
    let cli = Cli::from_arg_matches(&m)?;
    let invocation = match cli.command {
        Some(Command::Serve(a)) => {
            let sub = m.subcommand_matches("serve").expect("serve matched");
            Invocation::Serve(Box::new(a.into_config(sub)?))
        }
        Some(Command::Endpoints(c)) => Invocation::Endpoints { endpoint: c.url() },
        Some(Command::Render(r)) => Invocation::Render {
            endpoint: r.client.url(),
            format: r.format,
        },
        Some(Command::Completions { shell }) => Invocation::Completions(shell),
        None => unreachable!("`serve` was added above"),
    };
    Ok((invocation, cli.log_format))
}

/// An error about `localelb serve`'s options found after parsing (exit code 2, with usage).
pub fn serve_error(kind: ErrorKind, message: impl std::fmt::Display) -> clap::Error {
    let mut cmd = command();
    cmd.build();
    cmd.find_subcommand_mut("serve")
        .expect("serve is a subcommand")
        .error(kind, message)
}

impl ClientArgs {
    fn url(self) -> String {
        if self.endpoint.starts_with("http://") {
            self.endpoint
        } else {
            format!("http://{}", self.endpoint)
        }
    }
}

impl ServeArgs {
    /// The checked [`Config`]; `m` (this subcommand's matches) gives the command-line order of
    /// the entryPoint options, which is the order listeners take them in.
    fn into_config(self, m: &ArgMatches) -> Result<Config, clap::Error> {
        let at = |id: &str| m.indices_of(id).into_iter().flatten();
        let mut entrypoints: Vec<(usize, EntryPoints)> = at("traefik_entrypoints")
            .zip(self.traefik_entrypoints)
            .chain(at("traefik_port_pool").zip(self.traefik_port_pool))
            .collect();
        entrypoints.sort_by_key(|(i, _)| *i);
        let c = Config {
            listen: self.listen,
            data_dir: if self.ephemeral {
                None
            } else {
                Some(self.data_dir.unwrap_or_else(super::default_data_dir))
            },
            default_account: self.account_id,
            default_region: self.region,
            health_time_scale: self.health_check_time_scale,
            quotas: self.quota.into_iter().collect(),
            s3_dir: self.s3_dir,
            bind: self.bind,
            port_offset: self.port_offset,
            dataplane: self.dataplane,
            traefik_dir: self.traefik_dir,
            traefik_entrypoints: entrypoints.into_iter().flat_map(|(_, e)| e.0).collect(),
            traefik_api: self
                .traefik_api
                .map(|u| u.trim_end_matches('/').to_string()),
            kube_context: self.kube_context,
            traefik_namespace: self.traefik_namespace,
            traefik_responder_url: self
                .traefik_responder_url
                .map(|u| u.trim_end_matches('/').to_string()),
            proxy_threads: self.proxy_threads.unwrap_or(0),
            certificates: self
                .certificate
                .into_iter()
                .map(|c| (c.arn, (c.cert, c.key)))
                .collect(),
            ..Config::default()
        };
        if c.dataplane == DataPlaneKind::TraefikFile && c.traefik_dir.is_none() {
            return Err(serve_error(
                ErrorKind::MissingRequiredArgument,
                "--dataplane traefik-file needs --traefik-dir",
            ));
        }
        if c.dataplane.is_traefik() && c.traefik_entrypoints.is_empty() {
            return Err(serve_error(
                ErrorKind::MissingRequiredArgument,
                "a Traefik data plane needs --traefik-entrypoints or --traefik-port-pool",
            ));
        }
        Ok(c)
    }
}

fn time_scale(v: &str) -> Result<f64, String> {
    v.parse()
        .ok()
        .filter(|f: &f64| *f > 0.0)
        .ok_or(format!("bad time scale {v}"))
}

fn quota(v: &str) -> Result<(String, i64), String> {
    let (k, n) = v
        .split_once('=')
        .ok_or(format!("--quota wants NAME=N, got {v}"))?;
    let n = n.parse().map_err(|_| format!("bad quota value {n}"))?;
    Ok((k.to_string(), n))
}

fn bind(v: &str) -> Result<IpAddr, String> {
    v.parse().map_err(|_| format!("bad --bind address {v}"))
}

fn port_offset(v: &str) -> Result<u16, String> {
    v.parse().map_err(|_| format!("bad --port-offset {v}"))
}

fn proxy_threads(v: &str) -> Result<usize, String> {
    v.parse()
        .ok()
        .filter(|n| (1..=1024).contains(n))
        .ok_or(format!("bad --proxy-threads {v} (1..1024)"))
}

fn certificate(v: &str) -> Result<Certificate, String> {
    let bad = || format!("--certificate wants ARN=CERT_PEM_PATH,KEY_PEM_PATH, got {v}");
    // The ARN itself holds no '=' (ARNs use ':' and '/').
    let (arn, paths) = v.split_once('=').ok_or_else(bad)?;
    let (cert, key) = paths.split_once(',').ok_or_else(bad)?;
    if arn.is_empty() || cert.is_empty() || key.is_empty() {
        return Err(bad());
    }
    Ok(Certificate {
        arn: arn.to_string(),
        cert: cert.into(),
        key: key.into(),
    })
}

fn entrypoints(v: &str) -> Result<EntryPoints, String> {
    parse_entrypoints(v).map(EntryPoints)
}

fn port_pool(v: &str) -> Result<EntryPoints, String> {
    parse_port_pool(v).map(EntryPoints)
}

/// `--dataplane`: the modes as possible values (help, completions), refused with the message
/// localelb has always given.
#[derive(Clone)]
struct DataPlaneParser;

impl TypedValueParser for DataPlaneParser {
    type Value = DataPlaneKind;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<DataPlaneKind, clap::Error> {
        let v = value.to_string_lossy();
        DataPlaneKind::from_str(&v, false).map_err(|_| {
            let modes: Vec<String> = self
                .possible_values()
                .into_iter()
                .flatten()
                .map(|p| p.get_name().to_string())
                .collect();
            let msg = format!("unknown --dataplane {v} ({})", modes.join(", "));
            cmd.clone().error(ErrorKind::InvalidValue, msg)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            DataPlaneKind::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value()),
        ))
    }
}

#[cfg(test)]
mod tests;
