//! The accept step every TCP listener kind shares. Every worker waits on the port's one socket;
//! whichever wakes accepts, and the connection goes to the next worker in turn (round robin),
//! so connections spread evenly over the workers even when one worker accepts a whole burst.

use super::workers::Workers;
use arc_swap::ArcSwapOption;
use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{server::TlsStream, TlsAcceptor};

/// The next connection; None once the socket is closed (the listener was deleted: its socket
/// is shut down, so every worker's accept fails with EINVAL).
pub async fn next(listener: &TcpListener) -> Option<(TcpStream, SocketAddr)> {
    loop {
        match listener.accept().await {
            Ok(c) => return Some(c),
            Err(e) => match e.kind() {
                ErrorKind::InvalidInput | ErrorKind::NotConnected => return None,
                // The client gave up before we accepted: nothing to do.
                ErrorKind::ConnectionAborted
                | ErrorKind::ConnectionReset
                | ErrorKind::Interrupted
                | ErrorKind::WouldBlock => {}
                // Out of descriptors or memory: back off instead of spinning.
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            },
        }
    }
}

/// Serves an accepted connection on the next worker in turn: here if that is this worker,
/// else moved (deregistered here, registered there) to that worker's runtime.
pub fn dispatch<F, Fut>(workers: &Workers, stream: TcpStream, serve: F)
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let i = workers.next_index();
    if workers.current() == Some(i) || workers.current().is_none() {
        tokio::spawn(serve(stream));
        return;
    }
    let Ok(std_stream) = stream.into_std() else {
        return;
    };
    drop(workers.spawn_on(i, async move {
        if let Ok(s) = TcpStream::from_std(std_stream) {
            serve(s).await;
        }
    }));
}

/// How long a client of a TLS listener has to complete the handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections on one worker's share of a listener socket until the task is aborted or
/// the socket is closed, and serves each on the next worker in turn: with `plain` while the
/// port has no TLS acceptor, else with `secure` once the handshake completes in time.
pub async fn serve<P, PFut, S, SFut>(
    workers: &Workers,
    listener: std::net::TcpListener,
    tls: Arc<ArcSwapOption<TlsAcceptor>>,
    plain: P,
    secure: S,
) where
    P: Fn(TcpStream, SocketAddr) -> PFut + Clone + Send + 'static,
    PFut: Future<Output = ()> + Send + 'static,
    S: Fn(TlsStream<TcpStream>, SocketAddr) -> SFut + Clone + Send + 'static,
    SFut: Future<Output = ()> + Send + 'static,
{
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    while let Some((stream, peer)) = next(&listener).await {
        let (tls, plain, secure) = (tls.clone(), plain.clone(), secure.clone());
        dispatch(workers, stream, move |stream| async move {
            let _ = stream.set_nodelay(true);
            match tls.load_full() {
                None => plain(stream, peer).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                    if let Ok(Ok(tls)) = handshake.await {
                        secure(tls, peer).await;
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::mpsc;

    #[test]
    fn connections_are_spread_evenly_over_the_workers() {
        let workers = Arc::new(Workers::start(2));
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let mut clones = vec![std_listener.try_clone().unwrap(), std_listener];
        let tasks = workers.spawn_each(|_| {
            let (w, tx, l) = (workers.clone(), tx.clone(), clones.pop().unwrap());
            async move {
                let l = TcpListener::from_std(l).unwrap();
                while let Some((s, _)) = next(&l).await {
                    let tx = tx.clone();
                    dispatch(&w, s, move |_s| async move {
                        let name = std::thread::current().name().unwrap_or("").to_string();
                        let _ = tx.send(name);
                    });
                }
            }
        });
        // A burst of connections, all accepted by whichever worker wakes first.
        let conns: Vec<_> = (0..10)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let mut by_worker: HashMap<String, usize> = HashMap::new();
        for _ in 0..10 {
            let name = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
            *by_worker.entry(name).or_default() += 1;
        }
        drop(conns);
        for t in tasks {
            t.abort();
        }
        assert_eq!(by_worker.len(), 2, "{by_worker:?}");
        assert!(by_worker.values().all(|n| *n == 5), "{by_worker:?}");
    }
}
