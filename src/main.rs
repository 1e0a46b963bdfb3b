//! `localelb serve`: flags → Config → App::start → wait for shutdown.

use localelb::config;

/// mimalloc: the proxy allocates and frees small buffers (headers, bodies, futures) on every
/// request from several threads; it is measurably cheaper there than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOCALELB_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("serve", &[][..]),
    };
    match cmd {
        "serve" => {
            let cfg = match config::parse_serve(rest) {
                Ok(c) => c,
                Err(msg) => {
                    eprintln!("{msg}");
                    std::process::exit(2);
                }
            };
            match localelb::App::start(cfg).await {
                Ok(running) => {
                    // Tests read this line to find the bound port.
                    println!("localelb listening on http://{}", running.api_addr);
                    let _ = tokio::signal::ctrl_c().await;
                }
                Err(e) => {
                    eprintln!("localelb: {e}");
                    std::process::exit(1);
                }
            }
        }
        "endpoints" => {
            // `localelb endpoints [--endpoint URL]`.
            let (base, _) = client_args(rest, false);
            match localelb::endpoints_cmd::run(&base) {
                Ok(text) => println!("{text}"),
                Err(e) => {
                    eprintln!("localelb: {e}");
                    std::process::exit(1);
                }
            }
        }
        "render" => {
            // `localelb render --format traefik-file|traefik-crd [--endpoint URL]`.
            let (base, format) = client_args(rest, true);
            let path = format!("/_localelb/render?format={format}");
            match localelb::endpoints_cmd::get(&base, &path) {
                Ok((200, text)) => {
                    // Warnings are YAML comments on top; repeat them on stderr.
                    for w in text.lines().take_while(|l| l.starts_with("# ")) {
                        eprintln!("{}", &w[2..]);
                    }
                    print!("{text}");
                }
                Ok((status, text)) => {
                    eprintln!("localelb answered HTTP {status}: {}", text.trim());
                    std::process::exit(1);
                }
                Err(e) => {
                    eprintln!("localelb: {e}");
                    std::process::exit(1);
                }
            }
        }
        "-h" | "--help" | "help" => print!("{}", config::USAGE),
        other => {
            eprintln!("unknown command {other}\n\n{}", config::USAGE);
            std::process::exit(2);
        }
    }
}

/// The client commands' flags → (server base URL, `--format` or `traefik-file`). `--endpoint`
/// defaults to LOCALELB_LISTEN or 127.0.0.1:4566; `--format` is known only `with_format`. An
/// unknown option prints the usage and exits.
fn client_args(rest: &[String], with_format: bool) -> (String, String) {
    let mut base = std::env::var("LOCALELB_LISTEN").unwrap_or_else(|_| "127.0.0.1:4566".into());
    let mut format = "traefik-file".to_string();
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--endpoint" => base = it.next().cloned().unwrap_or_default(),
            "--format" if with_format => format = it.next().cloned().unwrap_or_default(),
            other => {
                eprintln!("unknown option {other}\n\n{}", config::USAGE);
                std::process::exit(2);
            }
        }
    }
    if !base.starts_with("http://") {
        base = format!("http://{base}");
    }
    (base, format)
}
