//! Injected latency and faults, set by flags and at runtime via `/_double/config`.
//!
//! Decisions are deterministic: the n-th counted request (1-based, counter reset on
//! every config change) is faulted for rate `r` when `floor(n*r) > floor((n-1)*r)`,
//! so a rate of 0.5 hits every second request and 0.25 every fourth.

use serde::{Deserialize, Serialize};

/// Runtime-adjustable behaviour.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DoubleConfig {
    pub latency_ms: u64,
    pub fault_status: u16,
    pub fault_rate: f64,
    pub drop_rate: f64,
    pub hang_rate: f64,
    /// The share `slow_body_rate` of answers sends its headers at once and then its
    /// body in ten pieces spread over `slow_body_ms`.
    pub slow_body_ms: u64,
    pub slow_body_rate: f64,
    /// The share `cut_body_rate` of answers sends its headers and half its body, then
    /// breaks the connection.
    #[serde(default)]
    pub cut_body_rate: f64,
    /// Every N-th request gets a secondary rate limit (0 = never).
    pub secondary_rate_limit_every: u64,
    pub retry_after_secs: u64,
    /// Answer with a redirect to `redirect_to` + original path and query.
    pub redirect_to: Option<String>,
    pub redirect_status: u16,
    pub redirect_rate: f64,
    pub rate_limit: u64,
    pub graphql_rate_limit: u64,
}

impl Default for DoubleConfig {
    fn default() -> Self {
        DoubleConfig {
            latency_ms: 0,
            fault_status: 500,
            fault_rate: 0.0,
            drop_rate: 0.0,
            hang_rate: 0.0,
            slow_body_ms: 0,
            slow_body_rate: 0.0,
            cut_body_rate: 0.0,
            secondary_rate_limit_every: 0,
            retry_after_secs: 60,
            redirect_to: None,
            redirect_status: 307,
            redirect_rate: 0.0,
            rate_limit: 5000,
            graphql_rate_limit: 5000,
        }
    }
}

/// A partial update: every field optional (`redirect_to: null` clears it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigPatch {
    pub latency_ms: Option<u64>,
    pub fault_status: Option<u16>,
    pub fault_rate: Option<f64>,
    pub drop_rate: Option<f64>,
    pub hang_rate: Option<f64>,
    pub slow_body_ms: Option<u64>,
    pub slow_body_rate: Option<f64>,
    pub cut_body_rate: Option<f64>,
    pub secondary_rate_limit_every: Option<u64>,
    pub retry_after_secs: Option<u64>,
    #[serde(default, with = "double_option")]
    pub redirect_to: Option<Option<String>>,
    pub redirect_status: Option<u16>,
    pub redirect_rate: Option<f64>,
    pub rate_limit: Option<u64>,
    pub graphql_rate_limit: Option<u64>,
    /// `true` forgets all rate-limit spending.
    #[serde(default)]
    pub reset_rate_limits: bool,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Ok(Some(Option::deserialize(d)?))
    }
}

impl DoubleConfig {
    /// Applies a patch, rejecting rates outside 0..=1.
    pub fn apply(&mut self, p: &ConfigPatch) -> Result<(), String> {
        for (name, r) in [
            ("fault_rate", p.fault_rate),
            ("drop_rate", p.drop_rate),
            ("hang_rate", p.hang_rate),
            ("slow_body_rate", p.slow_body_rate),
            ("cut_body_rate", p.cut_body_rate),
            ("redirect_rate", p.redirect_rate),
        ] {
            if let Some(r) = r {
                if !(0.0..=1.0).contains(&r) {
                    return Err(format!("{name} must be between 0 and 1"));
                }
            }
        }
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = p.$f.clone() { self.$f = v; } )* };
        }
        set!(
            latency_ms,
            fault_status,
            fault_rate,
            drop_rate,
            hang_rate,
            slow_body_ms,
            slow_body_rate,
            cut_body_rate,
            secondary_rate_limit_every,
            retry_after_secs,
            redirect_to,
            redirect_status,
            redirect_rate,
            rate_limit,
            graphql_rate_limit
        );
        Ok(())
    }

    /// How long the `n`-th request's body takes to arrive, if it is slowed.
    pub fn slow_body_for(&self, n: u64) -> Option<std::time::Duration> {
        (self.slow_body_ms > 0 && hits(self.slow_body_rate, n))
            .then(|| std::time::Duration::from_millis(self.slow_body_ms))
    }

    /// Whether the `n`-th request's body is cut off halfway.
    pub fn cut_body_for(&self, n: u64) -> bool {
        hits(self.cut_body_rate, n)
    }

    /// Which fault, if any, the `n`-th request (1-based) gets.
    pub fn fault_for(&self, n: u64) -> Option<Fault> {
        if hits(self.hang_rate, n) {
            return Some(Fault::Hang);
        }
        if hits(self.drop_rate, n) {
            return Some(Fault::Drop);
        }
        if self.secondary_rate_limit_every > 0 && n.is_multiple_of(self.secondary_rate_limit_every)
        {
            return Some(Fault::SecondaryRateLimit);
        }
        if self.redirect_to.is_some() && hits(self.redirect_rate, n) {
            return Some(Fault::Redirect);
        }
        if hits(self.fault_rate, n) {
            return Some(Fault::Status(self.fault_status));
        }
        None
    }
}

/// What to do instead of answering normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Hang,
    Drop,
    SecondaryRateLimit,
    Redirect,
    Status(u16),
}

fn hits(rate: f64, n: u64) -> bool {
    if rate <= 0.0 || n == 0 {
        return false;
    }
    (n as f64 * rate).floor() > ((n - 1) as f64 * rate).floor()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_rate_hits_every_second_request() {
        let c = DoubleConfig {
            fault_rate: 0.5,
            fault_status: 502,
            ..DoubleConfig::default()
        };
        let hits: Vec<_> = (1..=6).map(|n| c.fault_for(n).is_some()).collect();
        assert_eq!(hits, [false, true, false, true, false, true]);
        assert_eq!(c.fault_for(2), Some(Fault::Status(502)));
    }

    #[test]
    fn rate_matches_share_over_many_requests() {
        let c = DoubleConfig {
            drop_rate: 0.1,
            ..DoubleConfig::default()
        };
        let n = (1..=1000)
            .filter(|&n| c.fault_for(n) == Some(Fault::Drop))
            .count();
        assert_eq!(n, 100);
    }

    #[test]
    fn secondary_limit_every_third() {
        let c = DoubleConfig {
            secondary_rate_limit_every: 3,
            ..DoubleConfig::default()
        };
        assert_eq!(c.fault_for(3), Some(Fault::SecondaryRateLimit));
        assert_eq!(c.fault_for(4), None);
    }

    #[test]
    fn slow_bodies_need_both_a_duration_and_a_rate() {
        let mut c = DoubleConfig {
            slow_body_rate: 1.0,
            ..DoubleConfig::default()
        };
        assert_eq!(c.slow_body_for(1), None, "no duration, no slow body");
        c.slow_body_ms = 500;
        assert_eq!(
            c.slow_body_for(1),
            Some(std::time::Duration::from_millis(500))
        );
        c.slow_body_rate = 0.5;
        assert_eq!(c.slow_body_for(1), None);
        assert!(c.slow_body_for(2).is_some());
        let p: ConfigPatch = serde_json::from_str(r#"{"slow_body_rate": 2}"#).unwrap();
        assert!(c.apply(&p).is_err());
    }

    #[test]
    fn patch_rejects_rates_above_one_and_can_clear_redirect() {
        let mut c = DoubleConfig::default();
        let p: ConfigPatch = serde_json::from_str(r#"{"fault_rate": 1.5}"#).unwrap();
        assert!(c.apply(&p).is_err());
        let p: ConfigPatch = serde_json::from_str(r#"{"redirect_to": "http://x"}"#).unwrap();
        c.apply(&p).unwrap();
        assert_eq!(c.redirect_to.as_deref(), Some("http://x"));
        let p: ConfigPatch = serde_json::from_str(r#"{"redirect_to": null}"#).unwrap();
        c.apply(&p).unwrap();
        assert_eq!(c.redirect_to, None);
        let p: ConfigPatch = serde_json::from_str(r#"{"latency_ms": 5}"#).unwrap();
        c.apply(&p).unwrap();
        assert_eq!((c.latency_ms, c.redirect_to.is_none()), (5, true));
    }
}
