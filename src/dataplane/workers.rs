//! The proxy runtime: thread per core. Each worker thread runs its own current-thread tokio
//! runtime for the life of the data plane; every listener port gets one accept loop per worker
//! on the same (shared) listening socket, and each connection stays on the worker that accepted
//! it. No work-stealing and no cross-thread wakeups on the hot path; upstream keep-alive pools
//! are per worker (see `proxy::with_client`).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// A runtime that may be dropped anywhere (also on an async thread, should its thread fail to
/// start): it shuts down in the background.
struct OwnedRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// The worker threads' runtime handles.
pub struct Workers {
    handles: Vec<Handle>,
    /// Round-robin position for new connections.
    next: AtomicUsize,
    /// Dropping these ends the workers (their runtimes finish `block_on` and shut down).
    _stop: Vec<tokio::sync::oneshot::Sender<()>>,
}

impl Workers {
    /// Starts `n` workers (0 = one per available core).
    pub fn start(n: usize) -> Workers {
        let n = if n == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            n
        };
        let mut handles = Vec::with_capacity(n);
        let mut stop = Vec::with_capacity(n);
        for i in 0..n {
            // Built here, run there: the caller gets the handle without waiting on the thread.
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("proxy worker {i}: cannot build a runtime: {e}");
                    continue;
                }
            };
            let handle = rt.handle().clone();
            let rt = OwnedRuntime(Some(rt));
            let (stx, srx) = tokio::sync::oneshot::channel::<()>();
            let spawned = std::thread::Builder::new()
                .name(format!("localelb-proxy-{i}"))
                .spawn(move || {
                    if let Some(rt) = &rt.0 {
                        rt.block_on(async {
                            let _ = srx.await;
                        });
                    }
                });
            match spawned {
                Ok(_) => {
                    handles.push(handle);
                    stop.push(stx);
                }
                Err(e) => tracing::error!("proxy worker {i}: cannot start a thread: {e}"),
            }
        }
        if handles.is_empty() {
            // Last resort: serve on the caller's runtime rather than not at all.
            if let Ok(h) = Handle::try_current() {
                handles.push(h);
            }
        }
        Workers {
            handles,
            next: AtomicUsize::new(0),
            _stop: stop,
        }
    }

    /// How many workers run.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether no worker runs.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Runs `make(i)`'s future on every worker `i`.
    pub fn spawn_each<F, Fut>(&self, mut make: F) -> Vec<JoinHandle<()>>
    where
        F: FnMut(usize) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handles
            .iter()
            .enumerate()
            .map(|(i, h)| h.spawn(make(i)))
            .collect()
    }

    /// The next worker in turn for a new connection.
    pub fn next_index(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len().max(1)
    }

    /// This thread's worker index, if it is a worker of this set.
    pub fn current(&self) -> Option<usize> {
        let h = Handle::try_current().ok()?;
        self.handles.iter().position(|w| w.id() == h.id())
    }

    /// Runs a future on one worker.
    pub fn spawn_on<Fut>(&self, i: usize, fut: Fut) -> JoinHandle<()>
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handles[i % self.handles.len()].spawn(fut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_worker_runs_on_its_own_thread() {
        let w = Workers::start(3);
        assert_eq!(w.len(), 3);
        let (tx, rx) = std::sync::mpsc::channel();
        let _ = w.spawn_each(|_| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(std::thread::current().name().map(str::to_string));
            }
        });
        let mut names: Vec<_> = (0..3).map(|_| rx.recv().unwrap().unwrap()).collect();
        names.sort();
        assert_eq!(
            names,
            ["localelb-proxy-0", "localelb-proxy-1", "localelb-proxy-2"]
        );
    }
}
