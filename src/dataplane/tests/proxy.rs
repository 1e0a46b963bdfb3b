//! Rule evaluation → target choice → upstream outcome, with the proxy called directly on a
//! routing snapshot (no listener socket) and real backends.

use super::*;
use crate::dataplane::proxy;
use std::time::Duration;

const PEER: &str = "192.0.2.10:40000";

/// A data plane serving `world`'s routing (sockets are the listener tests' business).
fn serving(world: &World, health: &Arc<HealthTable>) -> Arc<DataPlane> {
    let dp = data_plane(health);
    dp.routing.store(Arc::new(routing(world, health)));
    dp
}

async fn ask(dp: &DataPlane, path: &str) -> (StatusCode, Option<String>, String) {
    let req = request(&dns("web"), path);
    read(proxy::handle(dp, 80, PEER.parse().unwrap(), req).await).await
}

/// A world with one listener on port 80 forwarding to one `ip` target group at `targets`.
fn one_group(target_type: &str, targets: &[(&str, u16)]) -> (TestWorld, String) {
    let mut w = TestWorld::new();
    let lb = w.lb("web");
    let tg = w.tg("tg", target_type, targets);
    w.listener(&lb, "HTTP", 80, forward(&[(&tg, 1)]));
    (w, tg)
}

#[tokio::test(flavor = "current_thread")]
async fn the_first_matching_rule_picks_the_group_and_its_target_answers() {
    let (a, b) = (
        backend(Backend::Ok("from a")).await,
        backend(Backend::Ok("from b")).await,
    );
    let mut w = TestWorld::new();
    let lb = w.lb("web");
    let tg_a = w.tg("a", "ip", &[("127.0.0.1", a.port())]);
    let tg_b = w.tg("b", "ip", &[("127.0.0.1", b.port())]);
    let l = w.listener(&lb, "HTTP", 80, forward(&[(&tg_b, 1)]));
    w.rule(&l, 5, vec![path_is("/a/*")], forward(&[(&tg_a, 1)]));
    w.rule(&l, 9, vec![path_is("/fixed")], fixed(418, "teapot"));
    let health = Arc::new(HealthTable::default());
    let dp = serving(&w.world(), &health);
    assert_eq!(
        ask(&dp, "/a/x").await,
        (StatusCode::OK, None, "from a".into())
    );
    assert_eq!(
        ask(&dp, "/other").await,
        (StatusCode::OK, None, "from b".into())
    );
    assert_eq!(
        ask(&dp, "/fixed").await,
        (StatusCode::IM_A_TEAPOT, None, "teapot".into())
    );
    // Forwarded requests are counted per target group; the fixed response is not forwarded.
    let metrics = dp.metrics.render();
    let count = |tg: &str| {
        metrics
            .lines()
            .find(|l| {
                l.starts_with("localelb_requests_total{")
                    && l.contains(&format!("target_group=\"{tg}\""))
            })
            .map(|l| l.rsplit(' ').next().unwrap().to_string())
    };
    assert_eq!(count(&tg_a).as_deref(), Some("1"), "{metrics}");
    assert_eq!(count(&tg_b).as_deref(), Some("1"), "{metrics}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_target_that_resets_before_its_headers_gets_502() {
    let t = backend(Backend::Reset).await;
    let (w, _) = one_group("ip", &[("127.0.0.1", t.port())]);
    let health = Arc::new(HealthTable::default());
    let dp = serving(&w.world(), &health);
    let (status, error, body) = ask(&dp, "/").await;
    assert_eq!((status, error), (StatusCode::BAD_GATEWAY, None));
    assert!(body.contains("<h1>502 Bad Gateway</h1>"), "{body}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_group_without_targets_gets_503() {
    let (w, _) = one_group("ip", &[]);
    let health = Arc::new(HealthTable::default());
    let dp = serving(&w.world(), &health);
    let (status, error, body) = ask(&dp, "/").await;
    assert_eq!((status, error), (StatusCode::SERVICE_UNAVAILABLE, None));
    assert!(body.contains("<h1>503 Service Unavailable</h1>"), "{body}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_target_silent_past_the_idle_timeout_gets_504() {
    let t = backend(Backend::Silent).await;
    let (w, _) = one_group("ip", &[("127.0.0.1", t.port())]);
    let health = Arc::new(HealthTable::default());
    let dp = data_plane(&health);
    let r = with_idle_timeout(routing(&w.world(), &health), Duration::from_millis(50));
    dp.routing.store(Arc::new(r));
    let (status, error, body) = ask(&dp, "/").await;
    assert_eq!((status, error), (StatusCode::GATEWAY_TIMEOUT, None));
    assert!(body.contains("<h1>504 Gateway Timeout</h1>"), "{body}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_lambda_group_gets_502_naming_the_reason() {
    let (w, _) = one_group(
        "lambda",
        &[("arn:aws:lambda:us-east-1:123456789012:function:f", 0)],
    );
    let health = Arc::new(HealthTable::default());
    let dp = serving(&w.world(), &health);
    let (status, error, body) = ask(&dp, "/").await;
    let reason =
        "Target group tg has target type lambda: localelb does not invoke Lambda functions";
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(error.as_deref(), Some(reason));
    assert!(body.contains(&format!("<p>{reason}</p>")), "{body}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_port_without_a_listener_gets_503() {
    let (w, _) = one_group("ip", &[]);
    let health = Arc::new(HealthTable::default());
    let dp = serving(&w.world(), &health);
    let req = request(&dns("web"), "/");
    let (status, ..) = read(proxy::handle(&dp, 81, PEER.parse().unwrap(), req).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

/// `routing` with every listener's idle timeout set to `d` (the attribute counts whole
/// seconds; a test waits milliseconds).
fn with_idle_timeout(mut r: Routing, d: Duration) -> Routing {
    r.by_dns.clear();
    for ls in r.ports.values_mut() {
        for l in ls.iter_mut() {
            Arc::get_mut(l).unwrap().idle_timeout = d;
            r.by_dns
                .entry(l.dns_name.clone())
                .or_default()
                .push(l.clone());
        }
    }
    r
}
