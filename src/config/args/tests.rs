//! `Config` (and the other invocations) from argument vectors.

use super::*;
use std::path::PathBuf;

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// `localelb serve ARGS` → the Config, or clap's rendered error.
fn parse_serve(a: &[String]) -> Result<Config, String> {
    let argv = ["localelb", "serve"].into_iter().map(String::from);
    match parse_from(argv.chain(a.iter().cloned())) {
        Ok((Invocation::Serve(c), _)) => Ok(*c),
        Ok((other, _)) => panic!("not serve: {other:?}"),
        Err(e) => Err(e.to_string()),
    }
}

fn invocation(a: &[&str]) -> Result<(Invocation, LogFormat), clap::Error> {
    parse_from(std::iter::once("localelb").chain(a.iter().copied()))
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
        e(&["--dataplane", "traefik-file", "--traefik-port-pool", "1-2"]).contains("--traefik-dir")
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

/// The entryPoint options are taken in command-line order, whichever of the two comes first.
#[test]
fn entrypoints_keep_the_command_line_order() {
    let c = parse(&[
        "--ephemeral",
        "--traefik-port-pool",
        "9000-9000",
        "--traefik-entrypoints",
        "web=127.0.0.1:81",
        "--traefik-port-pool",
        "9005-9005",
    ])
    .unwrap();
    let names: Vec<&str> = c.traefik_entrypoints.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, ["ep-9000", "web", "ep-9005"]);
}

#[test]
fn every_serve_option_and_its_value() {
    let c = parse(&[
        "--listen=127.0.0.1:0",
        "--data-dir",
        "/tmp/d",
        "--account-id",
        "123456789012",
        "--region",
        "eu-west-1",
        "--health-check-time-scale",
        "0.01",
        "--quota",
        "target-groups=5",
        "--quota",
        "target-groups=6",
        "--quota=application-load-balancers=2",
        "--s3-dir",
        "/tmp/s3",
        "--bind",
        "::1",
        "--port-offset",
        "10000",
        "--dataplane",
        "traefik-kube",
        "--traefik-port-pool",
        "1-1",
        "--kube-context",
        "kind-x",
        "--traefik-namespace",
        "ns",
        "--traefik-responder-url",
        "http://host:1/",
    ])
    .unwrap();
    assert_eq!(c.listen, "127.0.0.1:0");
    assert_eq!(c.data_dir, Some(PathBuf::from("/tmp/d")));
    assert_eq!(
        (c.default_account.as_str(), c.default_region.as_str()),
        ("123456789012", "eu-west-1")
    );
    assert_eq!(c.health_time_scale, 0.01);
    // Repeated: the last value of a name wins.
    assert_eq!(
        c.quotas.into_iter().collect::<Vec<_>>(),
        [
            ("application-load-balancers".to_string(), 2),
            ("target-groups".to_string(), 6)
        ]
    );
    assert_eq!(c.s3_dir, Some(PathBuf::from("/tmp/s3")));
    assert_eq!(c.bind, "::1".parse::<std::net::IpAddr>().unwrap());
    assert_eq!(c.port_offset, 10000);
    assert_eq!(c.dataplane, DataPlaneKind::TraefikKube);
    assert_eq!(c.kube_context.as_deref(), Some("kind-x"));
    assert_eq!(c.traefik_namespace, "ns");
    assert_eq!(c.traefik_responder_url.as_deref(), Some("http://host:1"));
    // --ephemeral wins over --data-dir.
    assert_eq!(
        parse(&["--data-dir", "/tmp/d", "--ephemeral"])
            .unwrap()
            .data_dir,
        None
    );
}

#[test]
fn bad_values_name_the_option() {
    let e = |a: &[&str]| parse(a).unwrap_err();
    assert!(e(&["--health-check-time-scale", "0"]).contains("bad time scale 0"));
    assert!(e(&["--quota", "x"]).contains("--quota wants NAME=N, got x"));
    assert!(e(&["--quota", "x=y"]).contains("bad quota value y"));
    assert!(e(&["--bind", "localhost"]).contains("bad --bind address localhost"));
    assert!(e(&["--port-offset", "70000"]).contains("bad --port-offset 70000"));
    assert!(e(&["--no-such-option"]).contains("--no-such-option"));
}

/// Without a subcommand, localelb serves with the defaults (global options allowed).
#[test]
fn no_subcommand_is_serve_with_defaults() {
    let d = Config::default();
    for argv in [&[][..], &["--log-format", "json"]] {
        let (inv, format) = invocation(argv).unwrap();
        let Invocation::Serve(c) = inv else {
            panic!("{inv:?}")
        };
        assert_eq!(c.default_account, d.default_account);
        assert_eq!(c.bind, d.bind);
        assert_eq!(c.traefik_namespace, d.traefik_namespace);
        assert_eq!((c.proxy_threads, c.port_offset), (0, 0));
        assert!(c.data_dir.is_some());
        let json = argv.contains(&"json");
        assert_eq!(
            format,
            if json {
                LogFormat::Json
            } else {
                LogFormat::Text
            }
        );
    }
    let (_, format) = invocation(&["serve", "--ephemeral", "--log-format=json"]).unwrap();
    assert_eq!(format, LogFormat::Json);
}

#[test]
fn client_subcommands() {
    let (inv, _) = invocation(&["endpoints", "--endpoint", "127.0.0.1:9"]).unwrap();
    assert!(
        matches!(&inv, Invocation::Endpoints { endpoint } if endpoint == "http://127.0.0.1:9"),
        "{inv:?}"
    );
    let (inv, _) = invocation(&[
        "render",
        "--endpoint",
        "http://h:1",
        "--format",
        "traefik-crd",
    ])
    .unwrap();
    assert!(
        matches!(&inv, Invocation::Render { endpoint, format }
            if endpoint == "http://h:1" && format == "traefik-crd"),
        "{inv:?}"
    );
    let (inv, _) = invocation(&["render", "--endpoint", "h:1"]).unwrap();
    assert!(
        matches!(&inv, Invocation::Render { format, .. } if format == "traefik-file"),
        "{inv:?}"
    );
    let (inv, _) = invocation(&["completions", "zsh"]).unwrap();
    assert!(matches!(
        inv,
        Invocation::Completions(clap_complete::Shell::Zsh)
    ));
    assert!(invocation(&["endpoints", "--format", "x"]).is_err());
}

/// Errors exit with 2; help and version are not errors (exit 0) and say what they should.
#[test]
fn exit_codes_help_and_version() {
    for bad in [
        &["serve", "--nope"][..],
        &["nope"],
        &["serve", "--listen"],
        &["completions", "tcsh"],
        &["serve", "--dataplane", "traefik-file"],
    ] {
        let e = invocation(bad).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{bad:?}: {e}");
    }
    let v = invocation(&["--version"]).unwrap_err();
    assert_eq!((v.kind(), v.exit_code()), (ErrorKind::DisplayVersion, 0));
    assert!(v.to_string().contains(env!("CARGO_PKG_VERSION")));
    let h = invocation(&["serve", "--help"]).unwrap_err();
    assert_eq!((h.kind(), h.exit_code()), (ErrorKind::DisplayHelp, 0));
    let help = h.to_string();
    for opt in [
        "--listen",
        "LOCALELB_LISTEN",
        "--data-dir",
        "LOCALELB_DATA_DIR",
        "--quota",
    ] {
        assert!(help.contains(opt), "{opt} missing from\n{help}");
    }
}
