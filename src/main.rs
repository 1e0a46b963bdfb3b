//! `localelb`: command line → logging → `serve` (App::start, then wait for SIGINT/SIGTERM) or
//! one of the client subcommands.

use clap::error::ErrorKind;
use localelb::config::args::{self, Invocation, LogFormat};
use localelb::config::Config;
use std::io::{IsTerminal, Write};
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// mimalloc: the proxy allocates and frees small buffers (headers, bodies, futures) on every
/// request from several threads; it is measurably cheaper there than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long shutdown waits for the writer to commit the calls it already has.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() {
    let (invocation, log_format) =
        args::parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit());
    init_logging(log_format);
    match invocation {
        Invocation::Serve(cfg) => serve(*cfg).await,
        Invocation::Endpoints { endpoint } => match localelb::endpoints_cmd::run(&endpoint).await {
            Ok(text) => println!("{text}"),
            Err(e) => fail(&format!("localelb: {e}")),
        },
        Invocation::Render { endpoint, format } => render(&endpoint, &format).await,
        Invocation::Completions(shell) => {
            let mut cmd = args::command();
            clap_complete::generate(shell, &mut cmd, "localelb", &mut std::io::stdout());
        }
    }
}

/// The level filter is `LOCALELB_LOG`, else `RUST_LOG` (the more specific one wins), else
/// `info`; ANSI colours only when stderr is a terminal and `NO_COLOR` is not set.
fn init_logging(format: LogFormat) {
    let filter = ["LOCALELB_LOG", "RUST_LOG"]
        .into_iter()
        .find_map(|var| tracing_subscriber::EnvFilter::try_from_env(var).ok())
        .unwrap_or_else(|| "info".into());
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && !no_color);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn serve(cfg: Config) {
    refuse_unknown_quotas(&cfg).unwrap_or_else(|e| e.exit());
    // Watched before anything is served: a signal that comes once the API answers is ours.
    let signals = Signals::watch().unwrap_or_else(|e| fail(&format!("localelb: {e}")));
    let running = match localelb::App::start(cfg).await {
        Ok(r) => r,
        Err(e) => fail(&format!("localelb: {e}")),
    };
    // Tests read this line to find the bound port.
    println!("localelb listening on http://{}", running.api_addr);
    tracing::info!(api = %running.api_addr, "localelb started");
    let signal = signals.next().await;
    tracing::info!(signal, "shutting down");
    // Stop accepting API connections; calls already queued in the writer are committed before
    // the barrier below returns (it is queued behind them). Answered calls were committed
    // before they were answered.
    running.server.abort();
    let app = &running.app;
    let barrier = app.writer.call(
        &app.config.default_account,
        &app.config.default_region,
        |_| Ok(()),
    );
    if tokio::time::timeout(DRAIN_TIMEOUT, barrier).await.is_err() {
        tracing::warn!("the writer did not finish within {DRAIN_TIMEOUT:?}");
    }
    let _ = std::io::stdout().flush();
    // Exiting closes the API and listener sockets; it does not wait for open connections.
    std::process::exit(0);
}

/// The shutdown signals: Ctrl-C (SIGINT) and SIGTERM.
struct Signals {
    int: Signal,
    term: Signal,
}

impl Signals {
    fn watch() -> std::io::Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    /// Resolves on the first of them, naming it.
    async fn next(mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }
}

/// A `--quota` name that is not one of localelb's quotas is a usage error (exit 2).
fn refuse_unknown_quotas(cfg: &Config) -> Result<(), clap::Error> {
    let known: Vec<&str> = localelb::elbv2::limits::names().collect();
    let Some(bad) = cfg.quotas.keys().find(|k| !known.contains(&k.as_str())) else {
        return Ok(());
    };
    Err(args::serve_error(
        ErrorKind::InvalidValue,
        format!(
            "unknown --quota name {bad} (valid names: {})",
            known.join(", ")
        ),
    ))
}

/// `localelb render`: the YAML on stdout, its warnings (YAML comments on top) also on stderr.
async fn render(endpoint: &str, format: &str) {
    let path = format!("/_localelb/render?format={format}");
    match localelb::endpoints_cmd::get(endpoint, &path).await {
        Ok((200, text)) => {
            for w in text.lines().take_while(|l| l.starts_with("# ")) {
                eprintln!("{}", &w[2..]);
            }
            print!("{text}");
        }
        Ok((status, text)) => fail(&format!("localelb answered HTTP {status}: {}", text.trim())),
        Err(e) => fail(&format!("localelb: {e}")),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("{msg}");
    std::process::exit(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_config(args: &[&str]) -> Config {
        let argv = ["localelb", "serve", "--ephemeral"].iter().chain(args);
        match args::parse_from(argv).unwrap().0 {
            Invocation::Serve(c) => *c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_quota_names_are_refused_with_the_known_ones() {
        assert!(refuse_unknown_quotas(&serve_config(&["--quota", "target-groups=3"])).is_ok());
        let e = refuse_unknown_quotas(&serve_config(&["--quota", "target-group=3"])).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let msg = e.to_string();
        assert!(msg.contains("unknown --quota name target-group "), "{msg}");
        assert!(msg.contains("target-groups, "), "{msg}");
        assert!(msg.contains("capacity-decrease-requests-per-day"), "{msg}");
    }
}
