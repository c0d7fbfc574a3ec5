//! Checking one answer: which tenants' markers it carries, and whether it is the
//! calling tenant's pull request.

/// Calls `f` with N for every `tenant-N-marker` in `s` (the regex
/// `tenant-(\d+)-marker`). Anchored on `-marker`, which only markers contain, with
/// one searcher for the whole text: this runs on every answer.
pub fn for_each_marker(s: &str, mut f: impl FnMut(u64)) {
    const PREFIX: &[u8] = b"tenant-";
    let bytes = s.as_bytes();
    for (end, _) in s.match_indices("-marker") {
        let digits = bytes[..end]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let start = end - digits;
        if digits > 0 && bytes[..start].ends_with(PREFIX) {
            if let Ok(n) = s[start..end].parse() {
                f(n);
            }
        }
    }
}

/// What scanning a text for markers found, relative to tenant `me`.
#[derive(Debug, Default, PartialEq)]
pub struct Markers {
    pub own: bool,
    /// Other tenants' numbers, deduplicated, in order of appearance.
    pub foreign: Vec<u64>,
}

pub fn scan(me: u64, texts: &[&str]) -> Markers {
    let mut m = Markers::default();
    for text in texts {
        m.add(me, text);
    }
    m
}

impl Markers {
    fn add(&mut self, me: u64, text: &str) {
        for_each_marker(text, |n| {
            if n == me {
                self.own = true;
            } else if !self.foreign.contains(&n) {
                self.foreign.push(n);
            }
        });
    }

    /// Scans every string (keys included) inside a JSON value.
    fn add_json(&mut self, me: u64, v: &serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::String(s) => self.add(me, s),
            Value::Array(a) => a.iter().for_each(|x| self.add_json(me, x)),
            Value::Object(o) => o.iter().for_each(|(k, x)| {
                self.add(me, k);
                self.add_json(me, x);
            }),
            _ => {}
        }
    }
}

/// The verdict on one call.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Ok,
    /// A failed call or an answer that is not the tenant's (but holds no other
    /// tenant's data).
    Error(String),
    /// The answer holds another tenant's data.
    CrossTenant(String),
}

/// Checks a tool answer for tenant `me`: foreign markers or another tenant's
/// `pr.owner` are cross-tenant (even inside an error); then `isError`, a wrong
/// owner and a missing own marker are errors.
pub fn verdict(
    me: u64,
    is_error: bool,
    text: &str,
    structured: Option<&serde_json::Value>,
) -> Verdict {
    let mut markers = scan(me, &[text]);
    if let Some(v) = structured {
        markers.add_json(me, v);
    }
    let owner = structured
        .and_then(|v| v.pointer("/pr/owner"))
        .and_then(|v| v.as_str());
    let own_login = format!("tenant{me}");
    if !markers.foreign.is_empty() {
        return Verdict::CrossTenant(format!(
            "tenant{me}'s answer carries markers of tenant(s) {:?} (pr.owner {owner:?})",
            markers.foreign
        ));
    }
    if let Some(o) = owner.filter(|o| *o != own_login && o.starts_with("tenant")) {
        return Verdict::CrossTenant(format!("tenant{me}'s answer has pr.owner {o:?}"));
    }
    if is_error {
        return Verdict::Error(format!("isError: {}", clip(text, 300)));
    }
    if owner != Some(own_login.as_str()) {
        return Verdict::Error(format!(
            "structuredContent.pr.owner is {owner:?}, expected {own_login:?}"
        ));
    }
    if !markers.own {
        return Verdict::Error(format!(
            "the answer lacks tenant-{me}-marker: {}",
            clip(text, 200)
        ));
    }
    Verdict::Ok
}

pub fn clip(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_markers_and_ignores_lookalikes() {
        let mut found = vec![];
        for_each_marker(
            "x tenant-12-marker tenant--marker tenant-3-markers tenant-7 tenant-tenant-5-marker",
            |n| found.push(n),
        );
        assert_eq!(found, vec![12, 3, 5]);
    }

    #[test]
    fn markers_deep_in_structured_content_count() {
        let s = json!({"pr": {"owner": "tenant3"}, "threads": [{"c": [{"body": "x tenant-8-marker"}]}]});
        assert!(matches!(
            verdict(3, false, "tenant-3-marker", Some(&s)),
            Verdict::CrossTenant(_)
        ));
    }

    #[test]
    fn own_answer_is_ok() {
        let s = json!({"pr": {"owner": "tenant3"}});
        assert_eq!(
            verdict(3, false, "a tenant-3-marker b", Some(&s)),
            Verdict::Ok
        );
    }

    #[test]
    fn tenant_1_is_not_confused_with_tenant_12() {
        let s = json!({"pr": {"owner": "tenant1"}});
        assert!(matches!(
            verdict(1, false, "tenant-1-marker tenant-12-marker", Some(&s)),
            Verdict::CrossTenant(_)
        ));
    }

    #[test]
    fn foreign_data_in_an_error_is_cross_tenant() {
        assert!(matches!(
            verdict(2, true, "failed near tenant-9-marker", None),
            Verdict::CrossTenant(_)
        ));
    }

    #[test]
    fn wrong_owner_is_cross_tenant_and_missing_marker_an_error() {
        let other = json!({"pr": {"owner": "tenant4"}});
        assert!(matches!(
            verdict(2, false, "", Some(&other)),
            Verdict::CrossTenant(_)
        ));
        let own = json!({"pr": {"owner": "tenant2"}});
        assert!(matches!(
            verdict(2, false, "no marker", Some(&own)),
            Verdict::Error(_)
        ));
        assert!(matches!(
            verdict(2, true, "PR not found", None),
            Verdict::Error(_)
        ));
    }

    #[test]
    fn clip_respects_char_boundaries() {
        assert_eq!(clip("ééé", 3), "é...");
        assert_eq!(clip("short", 10), "short");
    }
}
