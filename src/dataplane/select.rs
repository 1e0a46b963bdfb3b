//! Target and target-group selection for the proxy: pure, allocation-free on the hot path, and
//! lock-free except for the short `Mutex` around smooth-WRR state.
//!
//! * [`WeightedPicker`] — weighted forward actions (`ForwardConfig.TargetGroups[].Weight`, 0–999):
//!   chooses which target group a request goes to.
//! * [`TargetPicker`] — the target group's `load_balancing.algorithm.type` (+ slow start):
//!   chooses which target inside the group serves the request.

use parking_lot::Mutex;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// One step of nginx's smooth weighted round robin: every item with weight `w > 0` gains `w`,
/// the largest current weight wins and pays back the total. Items with `w <= 0` are skipped and
/// their state is reset so a target that drops out and comes back starts from neutral instead of
/// a stale credit/debt. Ties go to the lowest index (nginx uses strict `>`).
fn swrr_step(current: &mut [i64], weight: impl Fn(usize) -> i64) -> Option<usize> {
    let mut total = 0i64;
    let mut best: Option<usize> = None;
    for i in 0..current.len() {
        let w = weight(i);
        if w <= 0 {
            current[i] = 0;
            continue;
        }
        current[i] += w;
        total += w;
        if best.map_or(true, |b| current[i] > current[b]) {
            best = Some(i);
        }
    }
    if let Some(b) = best {
        current[b] -= total;
    }
    best
}

/// Smooth weighted round robin (nginx's algorithm) over integer weights.
///
/// AWS rule: for a weighted forward action each target group receives `w_i / Σw` of the
/// requests, and a target group with weight 0 receives none. SWRR is deterministic and keeps
/// every prefix of `k` picks within ±1 of `k·w_i/W`, so even short tests see the configured
/// split (a random choice would need thousands of requests to converge).
#[derive(Debug)]
pub struct WeightedPicker {
    weights: Vec<i64>,
    current: Mutex<Vec<i64>>,
}

impl WeightedPicker {
    pub fn new(weights: &[u32]) -> Self {
        WeightedPicker {
            weights: weights.iter().map(|&w| i64::from(w)).collect(),
            current: Mutex::new(vec![0; weights.len()]),
        }
    }

    /// Index of the next item, or `None` when every weight is 0 (or there are no items).
    pub fn pick(&self) -> Option<usize> {
        // One item (a plain forward): SWRR's state stays 0, so skip the lock every worker
        // thread would otherwise contend on per request.
        if let [w] = self.weights[..] {
            return (w > 0).then_some(0);
        }
        let mut cur = self.current.lock();
        swrr_step(&mut cur, |i| self.weights[i])
    }
}

/// The target group attribute `load_balancing.algorithm.type` (typed in the routing model).
pub use translators::routing::Algorithm;

/// Share a target gets at the very start of its slow-start window, relative to a warm target:
/// AWS ramps "linearly" from nothing to the full share.
pub const SLOW_START_FLOOR: f64 = 0.0;

/// Integer scale for slow-start weights fed to smooth WRR (factor 1.0 → 1000).
const SLOW_START_SCALE: f64 = 1000.0;

/// Marks "not in slow start" in the `since` a caller reports for a target (defined with the
/// health table's cells, which store it).
pub use crate::health::NOT_SLOW;

/// Slow start mode (`slow_start.duration_seconds` > 0).
///
/// AWS rule: a target enters slow start when it becomes healthy; during the window the load
/// balancer "linearly increases the share of requests" it sends to the target, and after the
/// window the target gets its full share. Deciding *when* a target entered slow start (AWS does
/// not put a target in slow start when no other target is healthy and warm) is the health
/// prober's job; the picker reads it per target at pick time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowStart {
    /// Window length; `<= 0` disables slow start.
    pub duration_ms: i64,
}

impl SlowStart {
    /// Relative weight at `now_ms` of a target in slow start since `since` ([`NOT_SLOW`] =
    /// warm): `SLOW_START_FLOOR` at the start of the window, rising linearly to 1.0 at its end.
    pub fn factor(&self, since: i64, now_ms: i64) -> f64 {
        if self.duration_ms <= 0 || since == NOT_SLOW {
            return 1.0;
        }
        // Saturating: `since` may be far in the past; a future `since` (clock skew) counts as
        // just started.
        let elapsed = now_ms.saturating_sub(since).max(0);
        if elapsed >= self.duration_ms {
            return 1.0;
        }
        SLOW_START_FLOOR + (1.0 - SLOW_START_FLOOR) * (elapsed as f64 / self.duration_ms as f64)
    }
}

/// Chooses a target within a target group.
///
/// AWS rules implemented:
/// * Only healthy targets receive traffic; if no target is healthy the load balancer "fails
///   open" and routes to all targets (the `eligible` mask is all-false → pick among all).
/// * `round_robin`: targets take turns.
/// * `least_outstanding_requests`: the target with the fewest in-progress requests wins.
///   AWS rejects slow start with this algorithm; if one is supplied anyway it is ignored.
/// * `weighted_random`: random choice; targets are equally weighted (the slow-start factor is
///   applied if one is supplied).
/// * Slow start: a target's share ramps linearly over the window (see [`SlowStart`]).
#[derive(Debug)]
pub struct TargetPicker {
    n: usize,
    algorithm: Algorithm,
    slow_start: Option<SlowStart>,
    cursor: AtomicUsize,
    rng: AtomicU64,
    /// Smooth-WRR state, only used by round robin while some target is ramping.
    swrr: Mutex<Vec<i64>>,
}

impl TargetPicker {
    pub fn new(n: usize, algorithm: Algorithm, slow_start: Option<SlowStart>) -> Self {
        // AWS: slow start applies to round_robin and weighted_random only.
        let slow_start = slow_start
            .filter(|s| s.duration_ms > 0)
            .filter(|_| algorithm != Algorithm::LeastOutstanding);
        // Process-random seed without extra deps: std's RandomState is keyed from the OS once.
        let seed = RandomState::new().build_hasher().finish();
        TargetPicker {
            n,
            algorithm,
            swrr: Mutex::new(Vec::new()),
            slow_start,
            cursor: AtomicUsize::new(0),
            rng: AtomicU64::new(seed | 1),
        }
    }

    /// Fixes the PRNG seed (deterministic tests).
    pub fn with_seed(self, seed: u64) -> Self {
        // xorshift's state must never be 0.
        self.rng.store(seed | 1, Ordering::Relaxed);
        self
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Picks a target: `eligible(i)` is target `i`'s health verdict, `slow_since(i)` when it
    /// entered slow start ([`NOT_SLOW`] if it did not) and `in_flight(i)` its requests in
    /// progress (least outstanding requests; the counts live in the targets' health cells).
    /// Reads the callers' state in place: no allocation per pick. When nothing is eligible,
    /// every target is a candidate (fail open). `None` only when the group has no targets.
    pub fn pick_by(
        &self,
        eligible: impl Fn(usize) -> bool,
        slow_since: impl Fn(usize) -> i64,
        in_flight: impl Fn(usize) -> usize,
        now_ms: i64,
    ) -> Option<usize> {
        let n = self.n;
        if n == 0 {
            return None;
        }
        let count = (0..n).filter(|&i| eligible(i)).count();
        let any = count > 0;
        let count = if any { count } else { n };
        let is_cand = |i: usize| !any || eligible(i);

        // Slow start only matters while some candidate is still ramping; otherwise take the
        // cheaper unweighted paths.
        let ramping = self
            .slow_start
            .filter(|s| (0..n).any(|i| is_cand(i) && s.factor(slow_since(i), now_ms) < 1.0));
        let factor = |ss: &SlowStart, i: usize| ss.factor(slow_since(i), now_ms);

        match self.algorithm {
            Algorithm::RoundRobin => match ramping {
                Some(ss) => {
                    let mut cur = self.swrr.lock();
                    if cur.len() != n {
                        cur.resize(n, 0);
                    }
                    swrr_step(&mut cur, |i| {
                        if is_cand(i) {
                            ((factor(&ss, i) * SLOW_START_SCALE).round() as i64).max(1)
                        } else {
                            0
                        }
                    })
                }
                None => {
                    // k-th candidate, k from a shared counter: an exact cycle over the
                    // candidates, with no skew toward the target after an ineligible one.
                    let k = self.cursor.fetch_add(1, Ordering::Relaxed) % count;
                    nth_candidate(n, k, is_cand)
                }
            },
            Algorithm::LeastOutstanding => {
                // Rotate the scan start so ties (e.g. all idle) are spread round-robin instead
                // of always landing on target 0.
                let start = self.cursor.fetch_add(1, Ordering::Relaxed) % n;
                let mut best: Option<(usize, usize)> = None;
                for off in 0..n {
                    let i = (start + off) % n;
                    if !is_cand(i) {
                        continue;
                    }
                    let load = in_flight(i);
                    if best.map_or(true, |(_, b)| load < b) {
                        best = Some((i, load));
                    }
                }
                best.map(|(i, _)| i)
            }
            Algorithm::WeightedRandom => {
                let r = self.next_random();
                match ramping {
                    Some(ss) => {
                        let total: f64 =
                            (0..n).filter(|&i| is_cand(i)).map(|i| factor(&ss, i)).sum();
                        let mut x = unit_f64(r) * total;
                        let mut last = None;
                        for i in (0..n).filter(|&i| is_cand(i)) {
                            let w = factor(&ss, i);
                            if x < w {
                                return Some(i);
                            }
                            x -= w;
                            last = Some(i);
                        }
                        // Float rounding can leave x just past the end.
                        last
                    }
                    None => {
                        // Lemire's multiply-shift: unbiased enough, no division.
                        let k = (((r >> 32) * count as u64) >> 32) as usize;
                        nth_candidate(n, k, is_cand)
                    }
                }
            }
        }
    }

    /// xorshift64* advanced with a CAS loop: lock-free, and concurrent callers never reuse a state.
    fn next_random(&self) -> u64 {
        fn step(mut x: u64) -> u64 {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x
        }
        let prev = self
            .rng
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| Some(step(x)))
            .unwrap_or_else(|x| x);
        step(prev).wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Uniform in [0, 1) from the top 53 bits.
fn unit_f64(r: u64) -> f64 {
    (r >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Index of the `k`-th (0-based) candidate among `0..n`.
fn nth_candidate(n: usize, k: usize, is_cand: impl Fn(usize) -> bool) -> Option<usize> {
    (0..n).filter(|&i| is_cand(i)).nth(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{InFlight, TargetCell};
    use std::sync::Arc;

    /// A picker whose targets count their requests in health cells, as the routing snapshot's
    /// do; `pick` takes an eligibility mask (missing entries are ineligible), no slow start.
    struct Counted {
        picker: TargetPicker,
        cells: Vec<Arc<TargetCell>>,
    }

    fn counted(picker: TargetPicker) -> Counted {
        let cells = (0..picker.len()).map(|_| Arc::default()).collect();
        Counted { picker, cells }
    }

    impl std::ops::Deref for Counted {
        type Target = TargetPicker;
        fn deref(&self) -> &TargetPicker {
            &self.picker
        }
    }

    impl Counted {
        fn pick(&self, eligible: &[bool], now_ms: i64) -> Option<usize> {
            self.picker.pick_by(
                |i| eligible.get(i).copied().unwrap_or(false),
                |_| NOT_SLOW,
                |i| self.in_flight(i),
                now_ms,
            )
        }
        fn in_flight(&self, i: usize) -> usize {
            self.cells.get(i).map_or(0, |c| c.in_flight())
        }
        /// An out-of-range `i` counts nothing.
        fn start(&self, i: usize) -> Option<InFlight> {
            self.cells.get(i).map(|c| c.start())
        }
    }

    /// Every prefix of k picks keeps each item within ±1 of k·w_i/W; zero weights never picked.
    fn assert_smooth(weights: &[u32], rounds: usize) {
        let p = WeightedPicker::new(weights);
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut counts = vec![0u64; weights.len()];
        for k in 1..=rounds as u64 {
            let i = p.pick().expect("non-zero weights");
            assert_ne!(weights[i], 0, "weight-0 item picked: {weights:?}");
            counts[i] += 1;
            for (j, &w) in weights.iter().enumerate() {
                let ideal = (k * u64::from(w)) as f64 / total as f64;
                let dev = counts[j] as f64 - ideal;
                assert!(
                    dev.abs() <= 1.0,
                    "weights {weights:?}: after {k} picks item {j} has {} (ideal {ideal:.2})",
                    counts[j]
                );
            }
        }
    }

    #[test]
    fn weighted_picker_prefix_within_one() {
        for w in [
            &[50, 50][..],
            &[95, 5],
            &[40, 35, 25],
            &[90, 10],
            &[1, 0, 3],
            &[999, 1],
            &[0, 7],
            &[1, 1, 1, 1, 996],
        ] {
            let total: u32 = w.iter().sum();
            assert_smooth(w, 3 * total as usize);
        }
    }

    #[test]
    fn weighted_picker_prefix_within_one_random_weights() {
        // Broader check of the ±1 property with pseudo-random weight sets (deterministic LCG).
        let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |m: u64| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) % m
        };
        for _ in 0..200 {
            let n = 2 + next(4) as usize;
            let w: Vec<u32> = (0..n).map(|_| next(1000) as u32).collect();
            if w.iter().all(|&x| x == 0) {
                continue;
            }
            let total: u32 = w.iter().sum();
            assert_smooth(&w, (2 * total as usize).min(4000));
        }
    }

    #[test]
    fn weighted_picker_interleaves() {
        let p = WeightedPicker::new(&[50, 50]);
        let seq: Vec<_> = (0..6).map(|_| p.pick().unwrap()).collect();
        assert_eq!(seq, [0, 1, 0, 1, 0, 1]);
        let p = WeightedPicker::new(&[5, 1, 1]);
        let seq: Vec<_> = (0..7).map(|_| p.pick().unwrap()).collect();
        assert_eq!(seq, [0, 0, 1, 0, 2, 0, 0]); // nginx's documented sequence
    }

    #[test]
    fn weighted_picker_all_zero_or_empty() {
        assert_eq!(WeightedPicker::new(&[0, 0, 0]).pick(), None);
        assert_eq!(WeightedPicker::new(&[]).pick(), None);
    }

    #[test]
    fn algorithm_parse() {
        assert_eq!(Algorithm::parse("round_robin"), Algorithm::RoundRobin);
        assert_eq!(
            Algorithm::parse("least_outstanding_requests"),
            Algorithm::LeastOutstanding
        );
        assert_eq!(
            Algorithm::parse("weighted_random"),
            Algorithm::WeightedRandom
        );
        assert_eq!(Algorithm::parse(""), Algorithm::RoundRobin);
        assert_eq!(Algorithm::parse("bogus"), Algorithm::RoundRobin);
        for a in [
            Algorithm::RoundRobin,
            Algorithm::LeastOutstanding,
            Algorithm::WeightedRandom,
        ] {
            assert_eq!(Algorithm::parse(a.as_str()), a);
        }
    }

    #[test]
    fn round_robin_cycles_exactly() {
        let p = counted(TargetPicker::new(3, Algorithm::RoundRobin, None));
        let all = [true; 3];
        let seq: Vec<_> = (0..9).map(|_| p.pick(&all, 0).unwrap()).collect();
        assert_eq!(seq, [0, 1, 2, 0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn round_robin_skips_ineligible_evenly() {
        let p = counted(TargetPicker::new(4, Algorithm::RoundRobin, None));
        let mask = [true, false, true, true];
        let seq: Vec<_> = (0..6).map(|_| p.pick(&mask, 0).unwrap()).collect();
        assert_eq!(seq, [0, 2, 3, 0, 2, 3]);
    }

    #[test]
    fn fails_open_when_nothing_eligible() {
        for a in [
            Algorithm::RoundRobin,
            Algorithm::LeastOutstanding,
            Algorithm::WeightedRandom,
        ] {
            let p = counted(TargetPicker::new(3, a, None).with_seed(7));
            let mut seen = [false; 3];
            for _ in 0..300 {
                seen[p.pick(&[false; 3], 0).unwrap()] = true;
            }
            assert_eq!(seen, [true; 3], "{a:?}");
            // A short mask counts missing entries as ineligible, not as "fail open".
            for _ in 0..20 {
                assert_eq!(p.pick(&[false, true], 0), Some(1), "{a:?}");
            }
        }
        assert_eq!(
            counted(TargetPicker::new(0, Algorithm::RoundRobin, None)).pick(&[], 0),
            None
        );
    }

    #[test]
    fn least_outstanding_prefers_idle_target() {
        let p = counted(TargetPicker::new(3, Algorithm::LeastOutstanding, None));
        let all = [true; 3];
        let _g0 = p.start(0);
        let _g0b = p.start(0);
        let g2 = p.start(2);
        for _ in 0..10 {
            assert_eq!(p.pick(&all, 0), Some(1));
        }
        // Now 1 is busier than 2 once 2's request finishes.
        let _g1 = p.start(1);
        drop(g2);
        assert_eq!(p.in_flight(2), 0);
        for _ in 0..10 {
            assert_eq!(p.pick(&all, 0), Some(2));
        }
        // Idle target that is unhealthy is not chosen.
        assert_eq!(p.pick(&[true, true, false], 0), Some(1));
    }

    #[test]
    fn least_outstanding_spreads_ties() {
        let p = counted(TargetPicker::new(3, Algorithm::LeastOutstanding, None));
        let mut counts = [0; 3];
        for _ in 0..30 {
            counts[p.pick(&[true; 3], 0).unwrap()] += 1;
        }
        assert_eq!(counts, [10, 10, 10]);
    }

    #[test]
    fn guard_decrements_on_drop() {
        let p = counted(TargetPicker::new(2, Algorithm::LeastOutstanding, None));
        let g = p.start(1);
        let g2 = p.start(1);
        assert_eq!(p.in_flight(1), 2);
        drop(g);
        drop(g2);
        assert_eq!(p.in_flight(1), 0);
        drop(p.start(99)); // out of range: harmless
    }

    #[test]
    fn weighted_random_shares_within_band() {
        let p = counted(TargetPicker::new(4, Algorithm::WeightedRandom, None).with_seed(42));
        let mask = [true, true, false, true];
        let mut counts = [0u32; 4];
        for _ in 0..10_000 {
            counts[p.pick(&mask, 0).unwrap()] += 1;
        }
        assert_eq!(counts[2], 0);
        for i in [0, 1, 3] {
            // Expected 3333; σ ≈ 47, so ±250 is > 5σ.
            assert!((3083..=3583).contains(&counts[i]), "{counts:?}");
        }
    }

    fn slow_start_counts(a: Algorithm, at_fraction: f64) -> [u32; 2] {
        let duration_ms = 100_000;
        // Target 0 is warm; target 1 entered slow start at t=0.
        let since = [NOT_SLOW, 0];
        let p = counted(TargetPicker::new(2, a, Some(SlowStart { duration_ms })).with_seed(1));
        let now = (duration_ms as f64 * at_fraction) as i64;
        let mut counts = [0u32; 2];
        for _ in 0..1000 {
            counts[p
                .pick_by(|_| true, |i| since[i], |i| p.in_flight(i), now)
                .unwrap()] += 1;
        }
        counts
    }

    #[test]
    fn slow_start_ramps_share() {
        for a in [Algorithm::RoundRobin, Algorithm::WeightedRandom] {
            let early = slow_start_counts(a, 0.1);
            let late = slow_start_counts(a, 0.9);
            // factor 0.1 → ~9% of picks; factor 0.9 → ~47%.
            assert!(early[1] < 140, "{a:?} early {early:?}");
            assert!(late[1] > 410, "{a:?} late {late:?}");
            assert!(
                late[1] > 3 * early[1],
                "{a:?} early {early:?} late {late:?}"
            );
            // After the window: equal shares again.
            let after = slow_start_counts(a, 1.5);
            assert!((430..=570).contains(&after[1]), "{a:?} after {after:?}");
        }
        // Round robin with slow start stays deterministic and exact (SWRR): 100:1000 weights.
        let rr = slow_start_counts(Algorithm::RoundRobin, 0.1);
        assert!((89..=93).contains(&rr[1]), "{rr:?}");
        // At the very start the new target gets (almost) nothing.
        let start = slow_start_counts(Algorithm::RoundRobin, 0.0);
        assert!(start[1] <= 1, "{start:?}");
    }

    #[test]
    fn slow_start_is_ignored_with_least_outstanding() {
        let p = counted(TargetPicker::new(
            2,
            Algorithm::LeastOutstanding,
            Some(SlowStart { duration_ms: 1000 }),
        ));
        let since = [NOT_SLOW, 0];
        let mut counts = [0; 2];
        for _ in 0..100 {
            counts[p
                .pick_by(|_| true, |i| since[i], |i| p.in_flight(i), 10)
                .unwrap()] += 1;
        }
        assert_eq!(counts, [50, 50]);
    }

    #[test]
    fn slow_start_factor_is_linear() {
        let ss = SlowStart { duration_ms: 1000 };
        assert!((ss.factor(0, 0) - SLOW_START_FLOOR).abs() < 1e-9);
        assert!((ss.factor(0, 500) - 0.5).abs() < 1e-9);
        assert_eq!(ss.factor(0, 1000), 1.0);
        assert_eq!(ss.factor(0, -50), SLOW_START_FLOOR); // future `since`
        assert_eq!(ss.factor(NOT_SLOW, 0), 1.0); // warm
        assert_eq!(SlowStart { duration_ms: 0 }.factor(0, 1), 1.0); // off
    }

    #[test]
    fn concurrent_picks_are_balanced() {
        let p = Arc::new(counted(TargetPicker::new(4, Algorithm::RoundRobin, None)));
        let counts: Arc<[AtomicUsize]> = (0..4).map(|_| AtomicUsize::new(0)).collect();
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let (p, c) = (Arc::clone(&p), Arc::clone(&counts));
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        c[p.pick(&[true; 4], 0).unwrap()].fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        for c in counts.iter() {
            assert_eq!(c.load(Ordering::Relaxed), 1000);
        }
    }
}
