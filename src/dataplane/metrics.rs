//! Per load balancer, listener, target group and target request counters and a request-duration
//! histogram, served in the Prometheus text format at `GET /_localelb/metrics`. Kept in memory
//! only.
//!
//! Recording takes no lock: each thread that answers requests keeps, in a thread-local map
//! looked up by borrowed keys, its own cells for every label set it has served; only that thread
//! writes them, rendering reads them. A label set new to a thread is registered once with the
//! registry (the one lock, off the hot path), so a request allocates nothing once its label set
//! has been seen on that thread. Rendering merges every thread's cells by label set. A reset
//! starts a new epoch: the registry forgets its cells and each thread drops its map at its next
//! request.

use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Upper bounds (seconds) of the request-duration histogram's buckets; `+Inf` follows. From a
/// millisecond (a local target) to the 60-second default idle timeout.
const BUCKETS_S: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// A counter written by one thread and read by any.
#[derive(Default)]
struct Counter(AtomicU64);

impl Counter {
    fn add(&self, n: u64) {
        // One writer: a load and a store, no read-modify-write (no locked instruction).
        let v = self.0.load(Ordering::Relaxed).wrapping_add(n);
        self.0.store(v, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// One thread's cells for one label set.
#[derive(Default)]
struct Cells {
    /// (load balancer name, listener ARN, target group ARN, target address).
    labels: [String; 4],
    requests: Counter,
    by_class: [Counter; 5],
    bytes_in: Counter,
    bytes_out: Counter,
    /// Requests per duration bucket, not cumulative; the last one is above every bound.
    duration_buckets: [Counter; BUCKETS_S.len() + 1],
    duration_sum_ns: Counter,
}

impl Cells {
    fn add(&self, s: Sample) {
        self.requests.add(1);
        let class = (s.status / 100).clamp(1, 5) as usize - 1;
        self.by_class[class].add(1);
        self.bytes_in.add(s.bytes_in);
        self.bytes_out.add(s.bytes_out);
        // Prometheus buckets are `le` (≤ bound): the first bound not below the sample.
        let bucket = BUCKETS_S.partition_point(|b| *b < s.latency_s);
        self.duration_buckets[bucket].add(1);
        self.duration_sum_ns.add((s.latency_s * 1e9) as u64);
    }
}

/// One label set's values summed over the threads.
#[derive(Default)]
struct Totals {
    requests: u64,
    by_class: [u64; 5],
    bytes_in: u64,
    bytes_out: u64,
    duration_buckets: [u64; BUCKETS_S.len() + 1],
    duration_sum_ns: u64,
}

impl Totals {
    fn add(&mut self, c: &Cells) {
        self.requests += c.requests.get();
        for (a, b) in self.by_class.iter_mut().zip(&c.by_class) {
            *a += b.get();
        }
        self.bytes_in += c.bytes_in.get();
        self.bytes_out += c.bytes_out.get();
        for (a, b) in self.duration_buckets.iter_mut().zip(&c.duration_buckets) {
            *a += b.get();
        }
        self.duration_sum_ns += c.duration_sum_ns.get();
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

/// A thread's cells of one registry: listener ARN → target group ARN → target → cells.
type Tree = FastMap<String, FastMap<String, FastMap<SocketAddr, Arc<Cells>>>>;

/// Maps looked up on every request: foldhash hashes the long ARN keys far faster than SipHash
/// (the keys come from the control plane, not from clients).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// One thread's view of one registry.
struct Local {
    registry: u64,
    /// The registry's epoch `tree` belongs to.
    epoch: u64,
    tree: Tree,
}

/// The metrics registry.
pub struct Metrics {
    id: u64,
    /// Bumped by every reset (under the `cells` lock).
    epoch: AtomicU64,
    /// Every thread's cells of the current epoch.
    cells: Mutex<Vec<Arc<Cells>>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's cells of each registry it recorded into (usually one).
    static LOCAL: RefCell<Vec<Local>> = const { RefCell::new(Vec::new()) };
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            epoch: AtomicU64::new(0),
            cells: Mutex::new(Vec::new()),
        }
    }
}

impl Metrics {
    /// Records one answered request.
    pub fn record(&self, labels: Labels<'_>, s: Sample) {
        let epoch = self.epoch.load(Ordering::Acquire);
        LOCAL.with(|l| {
            let mut l = l.borrow_mut();
            let i = match l.iter().position(|x| x.registry == self.id) {
                Some(i) => i,
                None => {
                    l.push(Local {
                        registry: self.id,
                        epoch,
                        tree: Tree::default(),
                    });
                    l.len() - 1
                }
            };
            let local = &mut l[i];
            if local.epoch != epoch {
                local.tree.clear();
                local.epoch = epoch;
            }
            add(&mut local.tree, labels, s, || self.register(labels, epoch));
        });
    }

    /// New cells for `labels` on the calling thread, part of the registry unless a reset has
    /// ended `epoch` meanwhile (then they count a request from before the reset, unseen).
    fn register(&self, labels: Labels<'_>, epoch: u64) -> Arc<Cells> {
        let cells = Arc::new(Cells {
            labels: [
                labels.load_balancer.to_string(),
                labels.listener.to_string(),
                labels.target_group.to_string(),
                labels.target.to_string(),
            ],
            ..Cells::default()
        });
        let mut all = self.cells.lock();
        if self.epoch.load(Ordering::Acquire) == epoch {
            all.push(cells.clone());
        }
        cells
    }

    /// Forgets everything (reset).
    pub fn clear(&self) {
        let mut all = self.cells.lock();
        all.clear();
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Every label set with its values summed over the threads, in label order.
    fn merged(&self) -> BTreeMap<[String; 4], Totals> {
        let mut out: BTreeMap<[String; 4], Totals> = BTreeMap::new();
        for c in self.cells.lock().iter() {
            out.entry(c.labels.clone()).or_default().add(c);
        }
        out
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let rows: Vec<(String, Totals)> = self
            .merged()
            .into_iter()
            .map(|([lb, listener, tg, target], t)| {
                let base = format!(
                    "load_balancer=\"{}\",listener=\"{}\",target_group=\"{}\",target=\"{}\"",
                    esc(&lb),
                    esc(&listener),
                    esc(&tg),
                    esc(&target)
                );
                (base, t)
            })
            .collect();
        let mut out = String::new();
        let requests = "Requests answered, by who served them.";
        counter(&mut out, &rows, "localelb_requests_total", requests, |t| {
            t.requests
        });
        responses(&mut out, &rows);
        let (bytes_in, bytes_out) = (
            "Request body bytes (Content-Length).",
            "Response body bytes (Content-Length).",
        );
        counter(
            &mut out,
            &rows,
            "localelb_request_bytes_total",
            bytes_in,
            |t| t.bytes_in,
        );
        counter(
            &mut out,
            &rows,
            "localelb_response_bytes_total",
            bytes_out,
            |t| t.bytes_out,
        );
        duration_histogram(&mut out, &rows);
        out
    }
}

/// Adds `s` to this thread's cells for `labels`, made with `new` the first time; one lookup
/// per level when the label set is known (the common case).
fn add(tree: &mut Tree, labels: Labels<'_>, s: Sample, new: impl FnOnce() -> Arc<Cells>) {
    let by_tg = match tree.get_mut(labels.listener) {
        Some(m) => m,
        None => tree.entry(labels.listener.to_string()).or_default(),
    };
    let by_target = match by_tg.get_mut(labels.target_group) {
        Some(m) => m,
        None => by_tg.entry(labels.target_group.to_string()).or_default(),
    };
    by_target.entry(labels.target).or_insert_with(new).add(s);
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// One counter family: a series per label set.
fn counter(
    out: &mut String,
    rows: &[(String, Totals)],
    name: &str,
    help: &str,
    value: fn(&Totals) -> u64,
) {
    header(out, name, "counter", help);
    for (base, t) in rows {
        let _ = writeln!(out, "{name}{{{base}}} {}", value(t));
    }
}

/// `localelb_responses_total` by status class (classes without responses left out).
fn responses(out: &mut String, rows: &[(String, Totals)]) {
    let name = "localelb_responses_total";
    header(
        out,
        name,
        "counter",
        "Responses by status class (2xx..5xx).",
    );
    for (base, t) in rows {
        for (i, n) in t.by_class.iter().enumerate().filter(|(_, n)| **n > 0) {
            let _ = writeln!(out, "{name}{{{base},code=\"{}xx\"}} {n}", i + 1);
        }
    }
}

/// `localelb_request_duration_seconds`: cumulative `_bucket{le=…}` series, `_sum` and `_count`.
fn duration_histogram(out: &mut String, rows: &[(String, Totals)]) {
    let name = "localelb_request_duration_seconds";
    header(out, name, "histogram", "Time to response headers.");
    for (base, t) in rows {
        let mut cumulative = 0;
        for (i, n) in t.duration_buckets.iter().enumerate() {
            cumulative += n;
            let le = BUCKETS_S
                .get(i)
                .map_or("+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(out, "{name}_bucket{{{base},le=\"{le}\"}} {cumulative}");
        }
        let sum_s = t.duration_sum_ns as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{{base}}} {sum_s:.6}");
        let _ = writeln!(out, "{name}_count{{{base}}} {cumulative}");
    }
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

    #[test]
    fn durations_form_a_cumulative_histogram() {
        let m = Metrics::default();
        for latency_s in [0.0005, 0.001, 0.03, 0.03, 120.0] {
            m.record(labels(), sample(200, 0, 0, latency_s));
        }
        let text = m.render();
        let base = "load_balancer=\"lb\",listener=\"arn:l\",target_group=\"arn:t\",target=\"127.0.0.1:80\"";
        let series = |suffix: &str, le: &str, v: &str| {
            let le = if le.is_empty() {
                String::new()
            } else {
                format!(",le=\"{le}\"")
            };
            format!("localelb_request_duration_seconds{suffix}{{{base}{le}}} {v}\n")
        };
        assert!(
            text.contains("# TYPE localelb_request_duration_seconds histogram\n"),
            "{text}"
        );
        // A sample on a bound counts in that bucket (`le`); buckets are cumulative.
        assert!(text.contains(&series("_bucket", "0.001", "2")), "{text}");
        assert!(text.contains(&series("_bucket", "0.025", "2")), "{text}");
        assert!(text.contains(&series("_bucket", "0.05", "4")), "{text}");
        assert!(text.contains(&series("_bucket", "60", "4")), "{text}");
        assert!(text.contains(&series("_bucket", "+Inf", "5")), "{text}");
        assert!(text.contains(&series("_sum", "", "120.061500")), "{text}");
        assert!(text.contains(&series("_count", "", "5")), "{text}");
        // After a reset this thread's requests count anew.
        m.clear();
        m.record(labels(), sample(200, 0, 0, 0.2));
        let text = m.render();
        assert!(text.contains(&series("_bucket", "0.1", "0")), "{text}");
        assert!(text.contains(&series("_bucket", "0.25", "1")), "{text}");
        assert!(text.contains(&series("_count", "", "1")), "{text}");
    }
}
