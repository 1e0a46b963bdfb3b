//! Keep-alive HTTP/1.1 connections to targets, pooled per thread: a proxy worker reuses only
//! its own connections, so checkout and return are plain thread-local operations (no lock, no
//! task per request). A connection goes back to its pool when the response body has been
//! read to the end; one dropped early is closed by hyper and never reused.

use super::error::{BoxError, ProxyBody};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// How long a connection may sit idle in the pool.
const IDLE_MAX: Duration = Duration::from_secs(60);
/// Idle connections kept per target and thread.
const IDLE_PER_TARGET: usize = 512;
/// Time allowed to open a connection to a target.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type Sender = SendRequest<ProxyBody>;

struct Idle {
    tx: Sender,
    since: Instant,
}

#[derive(Default)]
struct Pool {
    idle: HashMap<SocketAddr, Vec<Idle>, foldhash::fast::RandomState>,
    returns: u32,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// Why a request could not be sent.
#[derive(Debug)]
pub enum UpstreamError {
    Connect(std::io::Error),
    ConnectTimeout,
    Http(hyper::Error),
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamError::Connect(e) => write!(f, "cannot connect: {e}"),
            UpstreamError::ConnectTimeout => write!(f, "connect timed out"),
            UpstreamError::Http(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for UpstreamError {}

/// A pooled connection to `addr` that can take a request now. Connections still busy (a
/// target that answered before reading the whole request body) stay pooled; closed and
/// expired ones are dropped.
fn take_idle(addr: SocketAddr) -> Option<Sender> {
    POOL.try_with(|p| {
        let mut p = p.borrow_mut();
        let list = p.idle.get_mut(&addr)?;
        let mut i = list.len();
        while i > 0 {
            i -= 1;
            let e = &list[i];
            if e.tx.is_closed() || e.since.elapsed() >= IDLE_MAX {
                list.swap_remove(i);
            } else if e.tx.is_ready() {
                return Some(list.swap_remove(i).tx);
            }
        }
        None
    })
    .ok()
    .flatten()
}

fn give_back(addr: SocketAddr, tx: Sender) {
    if tx.is_closed() {
        return;
    }
    let _ = POOL.try_with(|p| {
        let mut p = p.borrow_mut();
        p.returns = p.returns.wrapping_add(1);
        if p.returns % 4096 == 0 {
            // Now and then, forget connections idle too long (targets that get no traffic).
            p.idle.retain(|_, v| {
                v.retain(|i| !i.tx.is_closed() && i.since.elapsed() < IDLE_MAX);
                !v.is_empty()
            });
        }
        let list = p.idle.entry(addr).or_default();
        if list.len() < IDLE_PER_TARGET {
            list.push(Idle {
                tx,
                since: Instant::now(),
            });
        }
    });
}

async fn connect(addr: SocketAddr, upgrades: bool) -> Result<Sender, UpstreamError> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| UpstreamError::ConnectTimeout)?
        .map_err(UpstreamError::Connect)?;
    let _ = stream.set_nodelay(true);
    // Flattened writes: one buffer, one write(2) per request (cheaper than writev for the
    // header-only requests most forwards are).
    let (tx, conn) = hyper::client::conn::http1::Builder::new()
        .writev(false)
        .handshake(TokioIo::new(stream))
        .await
        .map_err(UpstreamError::Http)?;
    if upgrades {
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
    } else {
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    Ok(tx)
}

/// Sends `req` (origin-form URI, Host set) to `addr` on a pooled connection, or a new one.
/// A request an idle connection could not take (the target closed it meanwhile) is retried
/// on the next one. Upgrade requests get a connection of their own, never pooled.
pub async fn send(
    addr: SocketAddr,
    mut req: Request<ProxyBody>,
    upgrade: bool,
) -> Result<Response<ProxyBody>, UpstreamError> {
    loop {
        let pooled = if upgrade { None } else { take_idle(addr) };
        let reused = pooled.is_some();
        let mut tx = match pooled {
            Some(tx) => tx,
            None => connect(addr, upgrade).await?,
        };
        match tx.try_send_request(req).await {
            Ok(resp) => {
                let back = (!upgrade).then_some((addr, tx));
                return Ok(resp.map(|inner| ReturningBody { inner, back }.boxed_unsync()));
            }
            Err(mut e) => match e.take_message() {
                Some(r) if reused => req = r,
                _ => return Err(UpstreamError::Http(e.into_error())),
            },
        }
    }
}

/// A response body that hands its connection back to the pool once read to the end.
struct ReturningBody {
    inner: Incoming,
    back: Option<(SocketAddr, Sender)>,
}

impl ReturningBody {
    fn finish(&mut self) {
        if let Some((addr, tx)) = self.back.take() {
            give_back(addr, tx);
        }
    }
}

impl Body for ReturningBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.finish();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(f))) => {
                if this.inner.is_end_stream() {
                    this.finish();
                }
                Poll::Ready(Some(Ok(f)))
            }
            Poll::Ready(Some(Err(e))) => {
                // The connection is broken: never reuse it.
                this.back = None;
                Poll::Ready(Some(Err(Box::new(e))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ReturningBody {
    fn drop(&mut self) {
        // An empty or fully read body (the server may not poll a body it knows is empty).
        if self.inner.is_end_stream() {
            self.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A keep-alive target answering `ok`; counts the connections it accepted.
    async fn target() -> (SocketAddr, Arc<AtomicUsize>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let conns = Arc::new(AtomicUsize::new(0));
        let c = conns.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Full::new(
                            Bytes::from_static(b"ok"),
                        )))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(s), svc)
                        .await;
                });
            }
        });
        (addr, conns)
    }

    fn get() -> Request<ProxyBody> {
        Request::builder()
            .uri("/")
            .header("host", "t")
            .body(
                http_body_util::Empty::new()
                    .map_err(|e| match e {})
                    .boxed_unsync(),
            )
            .unwrap()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn read_responses_return_their_connection_to_the_pool() {
        let (addr, conns) = target().await;
        for _ in 0..10 {
            let r = send(addr, get(), false).await.unwrap();
            let body = r.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"ok");
        }
        assert_eq!(conns.load(Ordering::SeqCst), 1);
        // Two exchanges at once need two connections; both are kept afterwards.
        let (a, b) = tokio::join!(send(addr, get(), false), send(addr, get(), false));
        let (a, b) = (a.unwrap(), b.unwrap());
        let _ = (a.into_body().collect().await, b.into_body().collect().await);
        assert_eq!(conns.load(Ordering::SeqCst), 2);
        let _ = send(addr, get(), false)
            .await
            .unwrap()
            .into_body()
            .collect()
            .await;
        assert_eq!(conns.load(Ordering::SeqCst), 2);
    }

    /// A request body that sends one chunk and then never ends.
    struct Stalled(bool);

    impl Body for Stalled {
        type Data = Bytes;
        type Error = BoxError;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
            if self.0 {
                return Poll::Pending;
            }
            self.0 = true;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"x")))))
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_connection_still_sending_its_request_is_not_handed_out() {
        // The target answers at once without reading the body; the upload never finishes.
        let (addr, _conns) = target().await;
        let stalled = Request::builder()
            .method("POST")
            .uri("/")
            .header("host", "t")
            .body(Stalled(false).boxed_unsync())
            .unwrap();
        let r = send(addr, stalled, false).await.unwrap();
        let _ = r.into_body().collect().await;
        let next = tokio::time::timeout(Duration::from_secs(5), async {
            send(addr, get(), false)
                .await
                .unwrap()
                .into_body()
                .collect()
                .await
        })
        .await;
        assert!(
            next.is_ok(),
            "the next request waited for the stalled upload"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_refused_connection_is_an_error() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        assert!(matches!(
            send(addr, get(), false).await,
            Err(UpstreamError::Connect(_))
        ));
    }
}
