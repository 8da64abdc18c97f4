//! Latency distributions for links and client connections. Sampling uses `libm` for the
//! transcendental functions so the same draw gives the same nanoseconds on every machine.

use crate::rng::SimRng;
use crate::time::SimDuration;

/// A distribution of delays. Every variant clamps its samples to `[0, 1 hour]`.
#[derive(Clone, Debug, PartialEq)]
pub enum Latency {
    Constant(SimDuration),
    /// Uniform over `[min, max]`.
    Uniform {
        min: SimDuration,
        max: SimDuration,
    },
    /// Normal, truncated at `min` (a network has a floor).
    Normal {
        mean: SimDuration,
        stddev: SimDuration,
        min: SimDuration,
    },
    /// Log-normal: `median * exp(sigma * N(0,1))`, a long right tail.
    LogNormal {
        median: SimDuration,
        sigma: f64,
    },
    /// Pareto (type I): `scale / U^(1/shape)`, capped at `max`; heavy tails for WAN stalls.
    Pareto {
        scale: SimDuration,
        shape: f64,
        max: SimDuration,
    },
}

const LATENCY_CAP_NANOS: u64 = 3_600_000_000_000;

impl Latency {
    pub fn constant_millis(millis: u64) -> Self {
        Latency::Constant(SimDuration::from_millis(millis))
    }

    /// Draw one delay. A `Constant` draws nothing from the stream.
    pub fn sample(&self, rng: &mut SimRng) -> SimDuration {
        let nanos = match *self {
            Latency::Constant(d) => d.0,
            Latency::Uniform { min, max } => rng.between(min.0, max.0.max(min.0)),
            Latency::Normal { mean, stddev, min } => {
                let x = mean.0 as f64 + stddev.0 as f64 * standard_normal(rng);
                to_nanos(x).max(min.0)
            }
            Latency::LogNormal { median, sigma } => {
                to_nanos(median.0 as f64 * libm::exp(sigma * standard_normal(rng)))
            }
            Latency::Pareto { scale, shape, max } => {
                let u = 1.0 - rng.unit(); // (0, 1]
                to_nanos(scale.0 as f64 / libm::pow(u, 1.0 / shape)).min(max.0)
            }
        };
        SimDuration(nanos.min(LATENCY_CAP_NANOS))
    }

    /// The smallest delay this distribution can produce.
    pub fn floor(&self) -> SimDuration {
        match *self {
            Latency::Constant(d) => d,
            Latency::Uniform { min, .. } => min,
            Latency::Normal { min, .. } => min,
            Latency::LogNormal { .. } => SimDuration::ZERO,
            Latency::Pareto { scale, .. } => scale,
        }
    }
}

fn to_nanos(x: f64) -> u64 {
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= LATENCY_CAP_NANOS as f64 {
        LATENCY_CAP_NANOS
    } else {
        x as u64
    }
}

/// Box-Muller, one of the pair (keeping no cached second value keeps streams simple).
pub(crate) fn standard_normal(rng: &mut SimRng) -> f64 {
    let u1 = 1.0 - rng.unit(); // (0, 1], so ln is finite
    let u2 = rng.unit();
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    fn mean_of(latency: &Latency, draws: u32) -> f64 {
        let mut rng = SimRng::derive(3, Stream::Network, 0);
        (0..draws).map(|_| latency.sample(&mut rng).0 as f64).sum::<f64>() / f64::from(draws)
    }

    #[test]
    fn distributions_have_their_documented_shape() {
        let ms = SimDuration::from_millis;
        assert_eq!(mean_of(&Latency::Constant(ms(2)), 10), 2e6);
        let uniform = mean_of(&Latency::Uniform { min: ms(1), max: ms(3) }, 20_000);
        assert!((uniform - 2e6).abs() < 2e4, "{uniform}");
        let normal = mean_of(&Latency::Normal { mean: ms(10), stddev: ms(1), min: ms(0) }, 20_000);
        assert!((normal - 1e7).abs() < 5e4, "{normal}");
        let pareto = Latency::Pareto { scale: ms(1), shape: 2.0, max: ms(50) };
        let mut rng = SimRng::derive(3, Stream::Network, 0);
        for _ in 0..1000 {
            let d = pareto.sample(&mut rng);
            assert!(d >= ms(1) && d <= ms(50));
        }
        let mut rng = SimRng::derive(3, Stream::Network, 0);
        let mut samples: Vec<u64> = (0..10_001)
            .map(|_| Latency::LogNormal { median: ms(5), sigma: 0.5 }.sample(&mut rng).0)
            .collect();
        samples.sort_unstable();
        let median = samples[5000] as f64;
        assert!((median - 5e6).abs() < 2e5, "{median}");
    }
}
