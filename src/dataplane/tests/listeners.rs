//! Listener reconcile: sockets bound, moved and reported as the routing snapshot changes.

use super::*;

/// A world with listener `l` of load balancer `web` on `port`, forwarding to a backend.
async fn web_on(port: u16) -> (TestWorld, String) {
    let t = backend(Backend::Ok("hello")).await;
    let mut w = TestWorld::new();
    let lb = w.lb("web");
    let tg = w.tg("tg", "ip", &[("127.0.0.1", t.port())]);
    let l = w.listener(&lb, "HTTP", port, forward(&[(&tg, 1)]));
    (w, l)
}

/// Applies an empty world: every socket is closed (and the accept loops let go of `dp`).
fn close_all(dp: &Arc<DataPlane>, g: u64) {
    dp.apply(&World::default(), g);
    assert!(dp.endpoints.load().is_empty());
}

fn only_endpoint(dp: &DataPlane) -> crate::dataplane::Endpoint {
    let eps = dp.endpoints.load();
    assert_eq!(eps.len(), 1, "{eps:?}");
    eps[0].clone()
}

#[tokio::test(flavor = "current_thread")]
async fn a_listener_is_bound_reported_and_served() {
    let [port] = free_ports();
    let (w, l) = web_on(port).await;
    let health = Arc::new(HealthTable::default());
    let dp = data_plane(&health);
    dp.apply(&w.world(), 1);
    assert_eq!(dp.applied(), 1);
    let ep = only_endpoint(&dp);
    let addr = format!("127.0.0.1:{port}");
    assert_eq!(
        (ep.listener_arn.as_str(), ep.address.as_deref(), ep.error),
        (l.as_str(), Some(addr.as_str()), None)
    );
    let served = get(addr.parse().unwrap(), &dns("web")).await;
    assert_eq!(served, (StatusCode::OK, "hello".into()));
    close_all(&dp, 2);
}

#[tokio::test(flavor = "current_thread")]
async fn a_listener_moved_to_another_port_is_rebound_there() {
    let [p1, p2] = free_ports();
    let (mut w, l) = web_on(p1).await;
    let health = Arc::new(HealthTable::default());
    let dp = data_plane(&health);
    dp.apply(&w.world(), 1);
    let old: SocketAddr = ([127, 0, 0, 1], p1).into();
    assert_eq!(get(old, &dns("web")).await.0, StatusCode::OK);
    w.set_port(&l, p2);
    dp.apply(&w.world(), 2);
    let new: SocketAddr = ([127, 0, 0, 1], p2).into();
    let ep = only_endpoint(&dp);
    assert_eq!(ep.address, Some(new.to_string()));
    assert_eq!(
        get(new, &dns("web")).await,
        (StatusCode::OK, "hello".into())
    );
    // The old port's socket is shut down: new connections are refused at once.
    assert!(tokio::net::TcpStream::connect(old).await.is_err());
    close_all(&dp, 3);
}

#[tokio::test(flavor = "current_thread")]
async fn a_port_held_elsewhere_is_reported_then_bound_once_free() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let (w, _) = web_on(port).await;
    let health = Arc::new(HealthTable::default());
    let dp = data_plane(&health);
    dp.apply(&w.world(), 1);
    let ep = only_endpoint(&dp);
    assert_eq!(ep.address, None);
    let error = ep.error.unwrap_or_default();
    assert!(
        error.starts_with(&format!("cannot bind 127.0.0.1:{port}: ")),
        "{error}"
    );
    // The next generation tries again.
    drop(holder);
    dp.apply(&w.world(), 2);
    let ep = only_endpoint(&dp);
    assert_eq!(
        (ep.address, ep.error),
        (Some(format!("127.0.0.1:{port}")), None)
    );
    close_all(&dp, 3);
}

#[tokio::test(flavor = "current_thread")]
async fn a_rule_that_cannot_be_routed_is_reported_and_not_served() {
    let [port] = free_ports();
    let (mut w, l) = web_on(port).await;
    // Stale state: an http-header condition without its config.
    let broken = m::RuleCondition {
        field: Some("http-header".into()),
        ..Default::default()
    };
    let rule = w.rule(&l, 1, vec![broken], fixed(500, "broken"));
    let health = Arc::new(HealthTable::default());
    let dp = data_plane(&health);
    dp.apply(&w.world(), 1);
    let eps = dp.endpoints.load();
    assert_eq!(eps.len(), 2, "{eps:?}");
    assert_eq!(eps[0].address, Some(format!("127.0.0.1:{port}")));
    assert_eq!(eps[0].rule_arn, None);
    assert_eq!(
        (
            eps[1].listener_arn.as_str(),
            eps[1].rule_arn.as_deref(),
            eps[1].address.as_deref()
        ),
        (l.as_str(), Some(rule.as_str()), None)
    );
    let error = eps[1].error.as_deref().unwrap_or_default();
    assert!(
        error.contains("http-header condition without HttpHeaderConfig"),
        "{error}"
    );
    // Not served with the condition dropped (it would catch every request): the default rule
    // answers.
    let served = get(([127, 0, 0, 1], port).into(), &dns("web")).await;
    assert_eq!(served, (StatusCode::OK, "hello".into()));
    drop(eps);
    close_all(&dp, 2);
}
