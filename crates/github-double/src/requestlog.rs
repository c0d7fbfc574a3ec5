//! The request log tests read through `/_double/requests`, and the double's own
//! handler-time statistics served at `/_double/stats`.

use std::sync::Mutex;

use serde::Serialize;

/// One answered (or deliberately unanswered) request.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogEntry {
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub user: Option<String>,
    pub token_fingerprint: Option<String>,
    /// HTTP status; 0 when the connection was dropped or left hanging.
    pub status: u16,
    pub graphql_operation: Option<String>,
    pub if_none_match: bool,
    /// Changes this request made to the data (0 for reads and refused writes).
    pub writes: u32,
}

/// Keeps at most this many entries (oldest dropped first).
const MAX_ENTRIES: usize = 200_000;
/// Keeps at most this many timing samples.
const MAX_SAMPLES: usize = 1_000_000;

#[derive(Debug, Default)]
pub struct RequestLog {
    inner: Mutex<LogInner>,
}

#[derive(Debug, Default)]
struct LogInner {
    next_seq: u64,
    entries: std::collections::VecDeque<LogEntry>,
    samples_us: Vec<u32>,
    requests: u64,
    total_us: u64,
}

impl RequestLog {
    /// Appends an entry, assigning its sequence number.
    pub fn push(&self, mut e: LogEntry) {
        let mut g = self.inner.lock().unwrap();
        g.next_seq += 1;
        e.seq = g.next_seq;
        if g.entries.len() >= MAX_ENTRIES {
            g.entries.pop_front();
        }
        g.entries.push_back(e);
    }

    pub fn entries(&self) -> Vec<LogEntry> {
        self.inner.lock().unwrap().entries.iter().cloned().collect()
    }

    pub fn clear(&self) {
        self.inner.lock().unwrap().entries.clear();
    }

    /// Records the double's own time for one request (injected latency excluded).
    pub fn record_time(&self, us: u64) {
        let mut g = self.inner.lock().unwrap();
        g.requests += 1;
        g.total_us += us;
        if g.samples_us.len() < MAX_SAMPLES {
            g.samples_us.push(us.min(u32::MAX as u64) as u32);
        }
    }

    pub fn reset_stats(&self) {
        let mut g = self.inner.lock().unwrap();
        g.requests = 0;
        g.total_us = 0;
        g.samples_us.clear();
    }

    pub fn stats(&self) -> Stats {
        let g = self.inner.lock().unwrap();
        let mut s = g.samples_us.clone();
        let (requests, total) = (g.requests, g.total_us);
        drop(g);
        s.sort_unstable();
        let pct = |p: f64| -> u64 {
            if s.is_empty() {
                0
            } else {
                s[((s.len() as f64 - 1.0) * p).round() as usize] as u64
            }
        };
        Stats {
            requests,
            handler_time_us_total: total,
            handler_time_us_mean: total.checked_div(requests).unwrap_or(0),
            handler_time_us_p50: pct(0.50),
            handler_time_us_p90: pct(0.90),
            handler_time_us_p99: pct(0.99),
            handler_time_us_max: s.last().copied().unwrap_or(0) as u64,
        }
    }
}

/// Body of `GET /_double/stats`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stats {
    pub requests: u64,
    pub handler_time_us_total: u64,
    pub handler_time_us_mean: u64,
    pub handler_time_us_p50: u64,
    pub handler_time_us_p90: u64,
    pub handler_time_us_p99: u64,
    pub handler_time_us_max: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> LogEntry {
        LogEntry {
            seq: 0,
            method: "GET".into(),
            path: path.into(),
            query: None,
            user: None,
            token_fingerprint: None,
            status: 200,
            graphql_operation: None,
            if_none_match: false,
            writes: 0,
        }
    }

    #[test]
    fn sequence_numbers_keep_growing_after_clear() {
        let log = RequestLog::default();
        log.push(entry("/a"));
        log.clear();
        log.push(entry("/b"));
        let e = log.entries();
        assert_eq!((e.len(), e[0].seq, e[0].path.as_str()), (1, 2, "/b"));
    }

    #[test]
    fn stats_report_percentiles() {
        let log = RequestLog::default();
        for us in 1..=100 {
            log.record_time(us);
        }
        let s = log.stats();
        assert_eq!(s.requests, 100);
        assert_eq!(s.handler_time_us_total, 5050);
        assert_eq!(s.handler_time_us_p50, 51);
        assert_eq!(s.handler_time_us_max, 100);
    }
}
