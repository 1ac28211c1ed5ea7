//! The pure arithmetic of the table: summaries, ratio direction, geometric mean, bisection.

/// Median, minimum and maximum of a set of samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The median (the mean of the two middle samples for an even count).
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
    /// The samples, in the order they were taken.
    pub samples: Vec<f64>,
}

impl Summary {
    /// Summarises `samples`, or returns `None` if there are none (NaNs are dropped).
    pub fn of(samples: &[f64]) -> Option<Self> {
        let kept: Vec<f64> = samples.iter().copied().filter(|v| !v.is_nan()).collect();
        let mut sorted = kept.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Some(Self { median, min: sorted[0], max: sorted[n - 1], samples: kept })
    }
}

/// Whether smaller or larger is better for a figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// A time or a size: smaller is better.
    Latency,
    /// A rate: larger is better.
    Bandwidth,
}

impl Direction {
    /// The direction of a unit: rates (`MB/s`, anything per second) are bandwidths.
    pub fn of_unit(unit: &str) -> Self {
        if unit.ends_with("/s") { Direction::Bandwidth } else { Direction::Latency }
    }

    /// The name used in the JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Latency => "latency",
            Direction::Bandwidth => "bandwidth",
        }
    }
}

/// The ratio of the table, oriented so that >1 means our kernel is faster (or smaller):
/// Linux÷ours for latencies, ours÷Linux for bandwidths. `None` if either side is not positive.
pub fn ratio(linux: f64, ours: f64, direction: Direction) -> Option<f64> {
    if !(linux > 0.0 && ours > 0.0 && linux.is_finite() && ours.is_finite()) {
        return None;
    }
    Some(match direction {
        Direction::Latency => linux / ours,
        Direction::Bandwidth => ours / linux,
    })
}

/// The geometric mean of positive ratios, or `None` for an empty set or a non-positive value.
pub fn geomean(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| !(*v > 0.0 && v.is_finite())) {
        return None;
    }
    let sum: f64 = values.iter().map(|v| v.ln()).sum();
    Some((sum / values.len() as f64).exp())
}

/// The smallest `x` in `lo..=hi` for which `works(x)` holds, assuming it is monotone (fails
/// below some threshold, works from it on). `works(hi)` is checked first: `None` if it fails.
/// Calls `works` about log2(hi - lo) + 1 times.
pub fn bisect_min(lo: u32, hi: u32, mut works: impl FnMut(u32) -> bool) -> Option<u32> {
    if lo > hi || !works(hi) {
        return None;
    }
    if lo == hi {
        return Some(hi);
    }
    // Invariant: works(good); every value below `bad + 1` that was tried failed.
    let mut good = hi;
    let mut bad = lo;
    if works(lo) {
        return Some(lo);
    }
    while good - bad > 1 {
        let mid = bad + (good - bad) / 2;
        if works(mid) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    Some(good)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_takes_median_min_max() {
        let s = Summary::of(&[3.0, 1.0, 2.0, 10.0, 5.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 10.0));
        assert_eq!(s.samples, vec![3.0, 1.0, 2.0, 10.0, 5.0]);
        let even = Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((even.median, even.min, even.max), (2.5, 1.0, 4.0));
        assert_eq!(Summary::of(&[7.0]).unwrap().median, 7.0);
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[f64::NAN, 2.0]).unwrap().median, 2.0);
    }

    #[test]
    fn ratio_is_above_one_when_we_are_faster() {
        // Latency: Linux takes 2 us, we take 1 us: we are twice as fast.
        assert_eq!(ratio(2.0, 1.0, Direction::Latency), Some(2.0));
        // Bandwidth: Linux moves 100 MB/s, we move 50 MB/s: we are half as fast.
        assert_eq!(ratio(100.0, 50.0, Direction::Bandwidth), Some(0.5));
        assert_eq!(ratio(0.0, 1.0, Direction::Latency), None);
        assert_eq!(ratio(1.0, f64::NAN, Direction::Bandwidth), None);
    }

    #[test]
    fn direction_follows_the_unit() {
        assert_eq!(Direction::of_unit("MB/s"), Direction::Bandwidth);
        assert_eq!(Direction::of_unit("us"), Direction::Latency);
        assert_eq!(Direction::of_unit("ms"), Direction::Latency);
        assert_eq!(Direction::of_unit("MiB"), Direction::Latency);
    }

    #[test]
    fn geomean_of_ratios() {
        assert!((geomean(&[2.0, 8.0]).unwrap() - 4.0).abs() < 1e-12);
        assert!((geomean(&[0.5, 2.0]).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(geomean(&[]), None);
        assert_eq!(geomean(&[1.0, 0.0]), None);
    }

    #[test]
    fn bisection_finds_the_threshold() {
        for threshold in [1, 2, 37, 64, 127, 128, 511, 512] {
            let mut calls = 0;
            let found = bisect_min(1, 512, |m| {
                calls += 1;
                m >= threshold
            });
            assert_eq!(found, Some(threshold), "threshold {threshold}");
            assert!(calls <= 12, "{calls} probes for threshold {threshold}");
        }
        assert_eq!(bisect_min(1, 512, |_| false), None);
        assert_eq!(bisect_min(5, 5, |_| true), Some(5));
        assert_eq!(bisect_min(6, 5, |_| true), None);
    }
}
