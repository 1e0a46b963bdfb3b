//! Per load balancer, listener, target group and target request counters, served in the
//! Prometheus text format at `GET /_localelb/metrics`. Kept in memory only.
//!
//! Recording is per thread: each thread that answers requests owns a shard (an uncontended
//! lock; only rendering and reset touch other threads' shards), looked up by borrowed keys, so
//! a request allocates nothing once its label set has been seen on that thread. Rendering
//! merges the shards.

use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counters of one label set.
#[derive(Default, Clone, Copy)]
struct Counters {
    requests: u64,
    by_class: [u64; 5],
    bytes_in: u64,
    bytes_out: u64,
    latency_sum_s: f64,
}

impl Counters {
    fn add(&mut self, o: &Counters) {
        self.requests += o.requests;
        for (a, b) in self.by_class.iter_mut().zip(o.by_class) {
            *a += b;
        }
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
        self.latency_sum_s += o.latency_sum_s;
    }
}

/// Who served a request: (load balancer, listener, target group, target).
#[derive(Clone, Copy)]
pub struct Labels<'a> {
    pub load_balancer: &'a str,
    pub listener: &'a str,
    pub target_group: &'a str,
    pub target: SocketAddr,
}

/// One answered request.
#[derive(Clone, Copy)]
pub struct Sample {
    pub status: u16,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub latency_s: f64,
}

/// listener ARN → (load balancer name, target group ARN → target → counters). A listener
/// belongs to one load balancer, so its name rides along.
type Tree = FastMap<String, (String, FastMap<String, FastMap<SocketAddr, Counters>>)>;

/// Maps looked up on every request: foldhash hashes the long ARN keys far faster than SipHash
/// (the keys come from the control plane, not from clients).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Default)]
struct Shard {
    tree: Mutex<Tree>,
}

/// The metrics registry.
pub struct Metrics {
    id: u64,
    shards: Mutex<Vec<Arc<Shard>>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's shard of each registry it recorded into (usually one).
    static LOCAL: RefCell<Vec<(u64, Arc<Shard>)>> = const { RefCell::new(Vec::new()) };
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            shards: Mutex::new(Vec::new()),
        }
    }
}

impl Metrics {
    /// Records one answered request.
    pub fn record(&self, labels: Labels<'_>, s: Sample) {
        LOCAL.with(|l| {
            let done = l
                .borrow()
                .iter()
                .find(|(id, _)| *id == self.id)
                .map(|(_, shard)| add(&mut shard.tree.lock(), labels, s))
                .is_some();
            if !done {
                // First request this thread answers for this registry: make its shard.
                let shard = Arc::new(Shard::default());
                add(&mut shard.tree.lock(), labels, s);
                self.shards.lock().push(shard.clone());
                l.borrow_mut().push((self.id, shard));
            }
        });
    }

    /// Forgets everything (reset).
    pub fn clear(&self) {
        for s in self.shards.lock().iter() {
            s.tree.lock().clear();
        }
    }

    /// Every label set with its counters summed over the shards, in label order.
    fn merged(&self) -> BTreeMap<[String; 4], Counters> {
        let mut out: BTreeMap<[String; 4], Counters> = BTreeMap::new();
        for shard in self.shards.lock().iter() {
            let tree = shard.tree.lock();
            for (listener, (lb, by_tg)) in tree.iter() {
                for (tg, by_target) in by_tg {
                    for (target, c) in by_target {
                        out.entry([lb.clone(), listener.clone(), tg.clone(), target.to_string()])
                            .or_default()
                            .add(c);
                    }
                }
            }
        }
        out
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let m = self.merged();
        let mut out = String::new();
        let series: [(&str, &str, &str); 5] = [
            (
                "localelb_requests_total",
                "counter",
                "Requests answered, by who served them.",
            ),
            (
                "localelb_responses_total",
                "counter",
                "Responses by status class (2xx..5xx).",
            ),
            (
                "localelb_request_bytes_total",
                "counter",
                "Request body bytes (Content-Length).",
            ),
            (
                "localelb_response_bytes_total",
                "counter",
                "Response body bytes (Content-Length).",
            ),
            (
                "localelb_request_duration_seconds_sum",
                "counter",
                "Total time to response headers.",
            ),
        ];
        for (name, kind, help) in series {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ([lb, listener, tg, target], c) in m.iter() {
                let base = format!(
                    "load_balancer=\"{}\",listener=\"{}\",target_group=\"{}\",target=\"{}\"",
                    esc(lb),
                    esc(listener),
                    esc(tg),
                    esc(target)
                );
                match name {
                    "localelb_requests_total" => {
                        let _ = writeln!(out, "{name}{{{base}}} {}", c.requests);
                    }
                    "localelb_responses_total" => {
                        for (i, n) in c.by_class.iter().enumerate().filter(|(_, n)| **n > 0) {
                            let _ = writeln!(out, "{name}{{{base},code=\"{}xx\"}} {n}", i + 1);
                        }
                    }
                    "localelb_request_bytes_total" => {
                        let _ = writeln!(out, "{name}{{{base}}} {}", c.bytes_in);
                    }
                    "localelb_response_bytes_total" => {
                        let _ = writeln!(out, "{name}{{{base}}} {}", c.bytes_out);
                    }
                    _ => {
                        let _ = writeln!(out, "{name}{{{base}}} {:.6}", c.latency_sum_s);
                    }
                }
            }
        }
        out
    }
}

/// Adds one sample to a shard; allocates only for a label set new to the shard.
fn add(tree: &mut Tree, labels: Labels<'_>, s: Sample) {
    // One lookup per level when the label set is known (the common case).
    let by_tg = match tree.get_mut(labels.listener) {
        Some((_, by_tg)) => by_tg,
        None => {
            &mut tree
                .entry(labels.listener.to_string())
                .or_insert_with(|| (labels.load_balancer.to_string(), FastMap::default()))
                .1
        }
    };
    let by_target = match by_tg.get_mut(labels.target_group) {
        Some(m) => m,
        None => by_tg.entry(labels.target_group.to_string()).or_default(),
    };
    let c = by_target.entry(labels.target).or_default();
    c.requests += 1;
    let class = (s.status / 100).clamp(1, 5) as usize - 1;
    c.by_class[class] += 1;
    c.bytes_in += s.bytes_in;
    c.bytes_out += s.bytes_out;
    c.latency_sum_s += s.latency_s;
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels<'static> {
        Labels {
            load_balancer: "lb",
            listener: "arn:l",
            target_group: "arn:t",
            target: "127.0.0.1:80".parse().unwrap(),
        }
    }

    fn sample(status: u16, bytes_in: u64, bytes_out: u64, latency_s: f64) -> Sample {
        Sample {
            status,
            bytes_in,
            bytes_out,
            latency_s,
        }
    }

    #[test]
    fn renders_counters_by_label_set_and_class() {
        let m = Metrics::default();
        m.record(labels(), sample(200, 3, 10, 0.5));
        m.record(labels(), sample(503, 0, 5, 0.25));
        let text = m.render();
        assert!(text.contains("localelb_requests_total{load_balancer=\"lb\",listener=\"arn:l\",target_group=\"arn:t\",target=\"127.0.0.1:80\"} 2"), "{text}");
        assert!(text.contains("code=\"2xx\"} 1") && text.contains("code=\"5xx\"} 1"));
        assert!(text.contains("localelb_response_bytes_total{") && text.contains("} 15"));
    }

    #[test]
    fn shards_of_several_threads_are_summed_and_cleared() {
        let m = Arc::new(Metrics::default());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..250 {
                        m.record(labels(), sample(200, 1, 2, 0.001));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        m.record(labels(), sample(404, 0, 0, 0.0));
        let text = m.render();
        assert!(text.contains("target=\"127.0.0.1:80\"} 1001"), "{text}");
        assert!(text.contains("code=\"2xx\"} 1000") && text.contains("code=\"4xx\"} 1"));
        // A second registry on the same threads keeps its own counts.
        let other = Metrics::default();
        other.record(labels(), sample(200, 0, 0, 0.0));
        assert!(other.render().contains("} 1\n"));
        assert!(m.render().contains("} 1001\n"));
        m.clear();
        assert!(!m.render().contains("load_balancer="));
    }
}
