//! Figures across runs, their baselines, and the printed tables.

use serde_json::{json, Value};

use crate::measure::median;

/// One figure of the table: the real server's value per run, and the floor's and
/// direct baseline's per run (empty when the baseline does not apply).
#[derive(Debug, Clone)]
pub struct Figure {
    pub key: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    /// `true`: the target is a minimum (calls/s); `false`: a maximum.
    pub at_least: bool,
    pub target: f64,
    pub decimals: usize,
    pub server: Vec<f64>,
    pub floor: Vec<f64>,
    pub direct: Vec<f64>,
}

impl Figure {
    pub fn new(
        key: &'static str,
        label: &'static str,
        unit: &'static str,
        at_least: bool,
        target: f64,
        decimals: usize,
    ) -> Self {
        Self {
            key,
            label,
            unit,
            at_least,
            target,
            decimals,
            server: Vec::new(),
            floor: Vec::new(),
            direct: Vec::new(),
        }
    }

    fn meets(&self, v: f64) -> bool {
        if self.at_least {
            v >= self.target
        } else {
            v <= self.target
        }
    }

    fn worst(&self) -> f64 {
        let it = self.server.iter().copied();
        if self.at_least {
            it.fold(f64::INFINITY, f64::min)
        } else {
            it.fold(f64::NEG_INFINITY, f64::max)
        }
    }

    pub fn met(&self) -> bool {
        self.meets(median(&self.server))
    }

    pub fn verdict(&self) -> &'static str {
        if !self.met() {
            "MISSED"
        } else if !self.meets(self.worst()) {
            "met (median; a run missed)"
        } else {
            "met"
        }
    }

    pub fn target_text(&self) -> String {
        format!(
            "{} {} {}",
            if self.at_least { ">=" } else { "<=" },
            fmt(self.target, self.decimals),
            self.unit
        )
    }

    pub fn to_json(&self) -> Value {
        let stats = |v: &[f64]| {
            if v.is_empty() {
                Value::Null
            } else {
                json!({
                    "median": median(v),
                    "min": v.iter().copied().fold(f64::INFINITY, f64::min),
                    "max": v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    "runs": v,
                })
            }
        };
        let s = median(&self.server);
        let vs = |v: &[f64]| {
            if v.is_empty() {
                Value::Null
            } else {
                let b = median(v);
                json!({ "minus": s - b, "ratio": s / b })
            }
        };
        json!({
            "label": self.label,
            "unit": self.unit,
            "target": { "op": if self.at_least { ">=" } else { "<=" }, "value": self.target },
            "met": self.met(),
            "verdict": self.verdict(),
            "server": stats(&self.server),
            "floor": stats(&self.floor),
            "direct": stats(&self.direct),
            "server_vs_floor": vs(&self.floor),
            "server_vs_direct": vs(&self.direct),
        })
    }
}

pub fn fmt(v: f64, decimals: usize) -> String {
    if v.is_nan() {
        "n/a".to_owned()
    } else {
        format!("{v:.decimals$}")
    }
}

fn min_max(v: &[f64]) -> (f64, f64) {
    (
        v.iter().copied().fold(f64::INFINITY, f64::min),
        v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    )
}

/// The main table: one row per figure, server median/min/max across runs, target,
/// verdict.
pub fn figures_table(figures: &[Figure]) -> String {
    let mut rows = vec![vec![
        "figure".to_owned(),
        "unit".to_owned(),
        "median".to_owned(),
        "min".to_owned(),
        "max".to_owned(),
        "target".to_owned(),
        "verdict".to_owned(),
    ]];
    for f in figures {
        let (lo, hi) = min_max(&f.server);
        rows.push(vec![
            f.label.to_owned(),
            f.unit.to_owned(),
            fmt(median(&f.server), f.decimals),
            fmt(lo, f.decimals),
            fmt(hi, f.decimals),
            f.target_text(),
            f.verdict().to_owned(),
        ]);
    }
    table(&rows, &[false, false, true, true, true, false, false])
}

/// The baselines: medians across runs of the floor and the direct requests, and the
/// server's median minus and divided by each.
pub fn baselines_table(figures: &[Figure]) -> String {
    let mut rows = vec![vec![
        "figure".to_owned(),
        "server".to_owned(),
        "floor".to_owned(),
        "server-floor".to_owned(),
        "server/floor".to_owned(),
        "direct".to_owned(),
        "server-direct".to_owned(),
        "server/direct".to_owned(),
    ]];
    for f in figures {
        if f.floor.is_empty() && f.direct.is_empty() {
            continue;
        }
        let s = median(&f.server);
        let d = f.decimals;
        let cols = |v: &[f64]| -> [String; 3] {
            if v.is_empty() {
                ["n/a".into(), "".into(), "".into()]
            } else {
                let b = median(v);
                let (lo, hi) = min_max(v);
                [
                    format!("{} [{}..{}]", fmt(b, d), fmt(lo, d), fmt(hi, d)),
                    format!("{:+.d$}", s - b),
                    format!("{:.2}x", s / b),
                ]
            }
        };
        let [fb, fm, fr] = cols(&f.floor);
        let [db, dm, dr] = cols(&f.direct);
        rows.push(vec![
            format!("{} ({})", f.label, f.unit),
            fmt(s, d),
            fb,
            fm,
            fr,
            db,
            dm,
            dr,
        ]);
    }
    table(&rows, &[false, true, true, true, true, true, true, true])
}

/// Plain text table; `right[i]` right-aligns column `i`.
pub fn table(rows: &[Vec<String>], right: &[bool]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = (0..cols)
            .map(|c| {
                let s = row.get(c).map_or("", String::as_str);
                if right.get(c).copied().unwrap_or(false) {
                    format!("{s:>w$}", w = widths[c])
                } else {
                    format!("{s:<w$}", w = widths[c])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    out
}
