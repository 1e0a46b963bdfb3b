//! UDP listeners (NLB UDP and the UDP half of TCP_UDP), best effort: one socket per port; each
//! client address is a flow, pinned to the target chosen by its first datagram, with its own
//! upstream socket. Replies from the target go back to the client from the listener's socket.
//! A flow with no datagram either way for `FLOW_IDLE` is forgotten (NLB's UDP idle timeout).

use super::DataPlane;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

/// NLB's idle timeout for UDP flows.
pub const FLOW_IDLE: Duration = Duration::from_secs(120);

struct Flow {
    upstream: Arc<UdpSocket>,
    last: Arc<Mutex<Instant>>,
}

type Flows = Arc<Mutex<HashMap<SocketAddr, Flow>>>;

/// Relays datagrams on a UDP listener socket until the task is aborted.
pub async fn serve(dp: Arc<DataPlane>, socket: std::net::UdpSocket, port: u16) {
    let Ok(socket) = UdpSocket::from_std(socket) else {
        return;
    };
    let socket = Arc::new(socket);
    let flows: Flows = Arc::default();
    let mut buf = vec![0u8; 65_535];
    loop {
        let Ok((n, client)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let existing = flows.lock().get(&client).map(|fl| {
            *fl.last.lock() = Instant::now();
            fl.upstream.clone()
        });
        let upstream = match existing {
            Some(u) => u,
            None => match open_flow(&dp, port, client, &socket, &flows).await {
                Some(u) => u,
                // No target: the datagram is dropped, as NLB does.
                None => continue,
            },
        };
        let _ = upstream.send(&buf[..n]).await;
    }
}

/// Starts a flow for `client`: picks a target, connects an upstream socket to it and relays
/// its replies until the flow is idle.
async fn open_flow(
    dp: &DataPlane,
    port: u16,
    client: SocketAddr,
    listener: &Arc<UdpSocket>,
    flows: &Flows,
) -> Option<Arc<UdpSocket>> {
    let (tg, t, addr) = {
        let routing = dp.routing.load_full();
        let (tg, t) = super::stream::pick(&routing, port, &["UDP", "TCP_UDP"])?;
        let addr = super::choose::target_address(dp, &routing, &tg, t).ok()?;
        (tg, t, addr)
    };
    let local: SocketAddr = if addr.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let upstream = UdpSocket::bind(local).await.ok()?;
    upstream.connect(addr).await.ok()?;
    let upstream = Arc::new(upstream);
    let last = Arc::new(Mutex::new(Instant::now()));
    flows.lock().insert(
        client,
        Flow {
            upstream: upstream.clone(),
            last: last.clone(),
        },
    );
    let (up, listener, flows) = (upstream.clone(), listener.clone(), flows.clone());
    tokio::spawn(async move {
        let _inflight = tg.start(t);
        let mut buf = vec![0u8; 65_535];
        loop {
            let idle_for = last.lock().elapsed();
            let Some(left) = FLOW_IDLE.checked_sub(idle_for).filter(|d| !d.is_zero()) else {
                break;
            };
            match tokio::time::timeout(left, up.recv(&mut buf)).await {
                Ok(Ok(n)) => {
                    *last.lock() = Instant::now();
                    let _ = listener.send_to(&buf[..n], client).await;
                }
                // ICMP unreachable surfaces as an error on a connected socket: keep the flow,
                // the target may come back.
                Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(10)).await,
                Err(_) => {}
            }
        }
        {
            let mut f = flows.lock();
            if f.get(&client)
                .is_some_and(|fl| Arc::ptr_eq(&fl.upstream, &up))
            {
                f.remove(&client);
            }
        }
    });
    Some(upstream)
}
