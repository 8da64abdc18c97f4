//! Latency distributions in bounded memory, for the HTML report: an HdrHistogram of
//! nanoseconds to three significant digits. Its size follows the range of the values
//! (about 8 KB per power of two of nanoseconds covered), never their count, so a page's
//! per-operation histograms and a campaign index over any number of seeds stay small.
//! Counts do not depend on the order values came in, so the report's bytes do not either.
//!
//! Run records keep their exact percentiles (`sim_core::checker::quantile` over the
//! sorted latencies): a histogram's percentile is the highest value equivalent to it at
//! three digits, which would change the CSV and JSON records' numbers.

use hdrhistogram::Histogram;

/// Significant decimal digits kept: values are told apart to 0.1%.
const SIGNIFICANT_DIGITS: u8 = 3;

/// Latencies in nanoseconds.
#[derive(Clone, Debug)]
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        Latencies(Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits are valid"))
    }
}

impl Latencies {
    pub fn record(&mut self, nanos: u64) {
        // The histogram grows to any value up to 2^62 ns (146 years); beyond, it clamps.
        if self.0.record(nanos).is_err() {
            self.0.saturating_record(nanos);
        }
    }

    /// How many values were recorded.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value at quantile `q` (0.5 for the median): the smallest value that `q` of the
    /// recorded ones do not exceed, to three significant digits.
    pub fn quantile(&self, q: f64) -> u64 {
        self.0.value_at_quantile(q)
    }

    /// The largest value recorded, to three significant digits.
    pub fn max(&self) -> u64 {
        self.0.max()
    }

    /// Counts per power of two of nanoseconds, from the first non-empty one to the one
    /// holding the largest value: `(upper, count)`, where `count` values lie above the
    /// previous bar's `upper` and at most `upper`.
    pub fn log2_bars(&self) -> Vec<(u64, u64)> {
        let bars = self
            .0
            .iter_log(1, 2.0)
            .map(|step| (step.value_iterated_to(), step.count_since_last_iteration()));
        bars.skip_while(|&(_, count)| count == 0).collect()
    }

    /// How many counters the histogram holds (its memory is 8 bytes each).
    pub fn counters(&self) -> usize {
        self.0.distinct_values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(values: impl IntoIterator<Item = u64>) -> Latencies {
        let mut latencies = Latencies::default();
        for v in values {
            latencies.record(v);
        }
        latencies
    }

    #[test]
    fn percentiles_are_exact_to_three_digits() {
        // 1ms, 2ms, ..., 1000ms.
        let latencies = of((1..=1000).map(|ms| ms * 1_000_000));
        assert_eq!(latencies.len(), 1000);
        for (q, exact) in [(0.5, 500), (0.9, 900), (0.99, 990), (0.999, 999), (1.0, 1000)] {
            let value = latencies.quantile(q);
            let exact = exact * 1_000_000;
            assert!(value >= exact && value - exact <= exact / 1000, "p{q}: {value} vs {exact}");
        }
        assert_eq!(latencies.max(), latencies.quantile(1.0));
        // Small values are exact.
        assert_eq!(of([7, 7, 9]).quantile(0.5), 7);
        assert_eq!(of([7, 7, 9]).max(), 9);
    }

    #[test]
    fn bars_count_every_value_once_by_power_of_two() {
        let values = [3, 4, 5, 1000, 1024, 1025, 5_000_000];
        let bars = of(values).log2_bars();
        assert_eq!(bars.iter().map(|b| b.1).sum::<u64>(), values.len() as u64);
        // The first bar holds 3, the last 5ms; bars are powers of two minus one apart.
        assert_eq!(bars.first(), Some(&(3, 1)));
        assert_eq!(bars.last().map(|b| b.1), Some(1));
        assert!(bars.last().unwrap().0 >= 5_000_000, "{bars:?}");
        for pair in bars.windows(2) {
            assert_eq!(pair[1].0 + 1, 2 * (pair[0].0 + 1), "{bars:?}");
        }
        let upto = |limit: u64| bars.iter().filter(|b| b.0 <= limit).map(|b| b.1).sum::<u64>();
        assert_eq!(upto(1023), 4, "3, 4, 5 and 1000 are below 1024: {bars:?}");
        assert_eq!(upto(2047), 6, "{bars:?}");
    }

    #[test]
    fn memory_follows_the_range_not_the_count() {
        let small = of((0..1_000).map(|i| 1_000_000 + i * 997));
        let large = of((0..1_000_000).map(|i| 1_000_000 + (i * 7919) % 1_000_000));
        assert_eq!(small.counters(), large.counters());
        assert!(small.counters() < 40_000, "{}", small.counters());
        // The same values in another order give the same histogram.
        let reversed = of((0..1_000).rev().map(|i| 1_000_000 + i * 997));
        assert_eq!(reversed.log2_bars(), small.log2_bars());
        assert_eq!(reversed.quantile(0.99), small.quantile(0.99));
    }
}
