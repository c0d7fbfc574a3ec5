//! Latency samples and their summary.

use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Default, Clone)]
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    pub fn summary(&self, calls: u64, elapsed: Duration) -> Summary {
        let mut v = self.0.clone();
        v.sort_unstable();
        // Nearest rank: the smallest sample with at least p of the samples at or below it.
        let pct = |p: f64| -> Option<f64> {
            if v.is_empty() {
                return None;
            }
            let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
            Some(ms(v[rank - 1]))
        };
        let secs = elapsed.as_secs_f64();
        Summary {
            calls,
            calls_per_s: if secs > 0.0 { calls as f64 / secs } else { 0.0 },
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            max_ms: v.last().map(|d| ms(*d)),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub calls: u64,
    pub calls_per_s: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut s = Samples::default();
        for i in 1..=100 {
            s.push(Duration::from_millis(i));
        }
        let sum = s.summary(100, Duration::from_secs(10));
        assert_eq!(sum.p50_ms, Some(50.0));
        assert_eq!(sum.p99_ms, Some(99.0));
        assert_eq!(sum.max_ms, Some(100.0));
        assert_eq!(sum.calls_per_s, 10.0);
        assert_eq!(Samples::default().summary(0, Duration::ZERO).p50_ms, None);
    }
}
