//! TCP listeners (NLB): each connection is forwarded, bytes both ways, to one target of the
//! listener's target group. A target that refuses the connection closes the client's.

use super::proxy::choose_target;
use super::snapshot::ActionRoute;
use crate::App;
use std::sync::Arc;
use std::time::Duration;

/// Accepts connections on a TCP listener socket until the task is aborted.
pub async fn serve(app: Arc<App>, listener: tokio::net::TcpListener, port: u16) {
    loop {
        let Ok((mut client, _peer)) = listener.accept().await else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let routing = app.dataplane.routing.load_full();
            let Some(listener) = routing.ports.get(&port).and_then(|ls| ls.first()).cloned() else {
                return;
            };
            // NLB listeners have only their default rule.
            let Some(ActionRoute::Forward {
                tgs,
                weights,
                picker,
                ..
            }) = listener.rules.last().map(|r| &r.action)
            else {
                return;
            };
            let hints = super::proxy::Hints::default();
            let Some((tg, t)) = choose_target(&app, &routing, tgs, weights, picker, &hints) else {
                return;
            };
            // Lambda targets cannot take a stream; alb targets are this process's listeners.
            let Ok(addr) = super::proxy::target_address(&app, &routing, &tg, t) else {
                return;
            };
            let _inflight = tg.start(t);
            let Ok(Ok(mut upstream)) = tokio::time::timeout(
                Duration::from_secs(10),
                tokio::net::TcpStream::connect(addr),
            )
            .await
            else {
                return;
            };
            let _ = upstream.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        });
    }
}
