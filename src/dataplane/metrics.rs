//! Per load balancer, listener, target group and target request counters, served in the
//! Prometheus text format at `GET /_localelb/metrics`. Kept in memory only.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Counters of one label set.
#[derive(Default, Clone, Copy)]
struct Counters {
    requests: u64,
    by_class: [u64; 5],
    bytes_in: u64,
    bytes_out: u64,
    latency_sum_s: f64,
}

/// Who served a request: (load balancer, listener, target group, target).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Labels {
    pub load_balancer: String,
    pub listener: String,
    pub target_group: String,
    pub target: String,
}

/// The metrics registry.
#[derive(Default)]
pub struct Metrics {
    by_labels: Mutex<BTreeMap<Labels, Counters>>,
}

impl Metrics {
    /// Records one answered request.
    pub fn record(
        &self,
        labels: Labels,
        status: u16,
        bytes_in: u64,
        bytes_out: u64,
        latency_s: f64,
    ) {
        let mut m = self.by_labels.lock().unwrap();
        let c = m.entry(labels).or_default();
        c.requests += 1;
        let class = (status / 100).clamp(1, 5) as usize - 1;
        c.by_class[class] += 1;
        c.bytes_in += bytes_in;
        c.bytes_out += bytes_out;
        c.latency_sum_s += latency_s;
    }

    /// Forgets everything (reset).
    pub fn clear(&self) {
        self.by_labels.lock().unwrap().clear();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let m = self.by_labels.lock().unwrap();
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
            for (l, c) in m.iter() {
                let base = format!(
                    "load_balancer=\"{}\",listener=\"{}\",target_group=\"{}\",target=\"{}\"",
                    esc(&l.load_balancer),
                    esc(&l.listener),
                    esc(&l.target_group),
                    esc(&l.target)
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

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_by_label_set_and_class() {
        let m = Metrics::default();
        let l = Labels {
            load_balancer: "lb".into(),
            listener: "arn:l".into(),
            target_group: "arn:t".into(),
            target: "127.0.0.1:80".into(),
        };
        m.record(l.clone(), 200, 3, 10, 0.5);
        m.record(l, 503, 0, 5, 0.25);
        let text = m.render();
        assert!(text.contains("localelb_requests_total{load_balancer=\"lb\",listener=\"arn:l\",target_group=\"arn:t\",target=\"127.0.0.1:80\"} 2"), "{text}");
        assert!(text.contains("code=\"2xx\"} 1") && text.contains("code=\"5xx\"} 1"));
        assert!(text.contains("localelb_response_bytes_total{") && text.contains("} 15"));
    }
}
