//! Which tools a caller may see and call: the operator's choice (`--read-only`,
//! `--tools`), narrowed per HTTP request by `X-MCP-Readonly` / `X-MCP-Tools`. A
//! request can only narrow, never widen.

use std::collections::BTreeSet;

use http::HeaderMap;
use rmcp::model::Tool;

pub const READONLY_HEADER: &str = "x-mcp-readonly";
pub const TOOLS_HEADER: &str = "x-mcp-tools";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolFilter {
    pub read_only: bool,
    /// `None`: every tool (that `read_only` allows).
    pub only: Option<BTreeSet<String>>,
}

pub(super) fn is_read_only(tool: &Tool) -> bool {
    tool.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true)
}

impl ToolFilter {
    pub fn permits(&self, tool: &Tool) -> bool {
        (!self.read_only || is_read_only(tool))
            && self
                .only
                .as_ref()
                .is_none_or(|only| only.contains(tool.name.as_ref()))
    }

    /// This filter narrowed by a request's headers (HTTP only).
    pub fn narrowed_by(&self, headers: Option<&HeaderMap>) -> ToolFilter {
        let Some(headers) = headers else {
            return self.clone();
        };
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        let read_only = self.read_only
            || header(READONLY_HEADER)
                .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"));
        let requested: Option<BTreeSet<String>> = header(TOOLS_HEADER).map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        });
        let only = match (&self.only, requested) {
            (Some(operator), Some(request)) => {
                Some(operator.intersection(&request).cloned().collect())
            }
            (Some(operator), None) => Some(operator.clone()),
            (None, request) => request,
        };
        ToolFilter { read_only, only }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::ToolAnnotations;
    use std::sync::Arc;

    fn tool(name: &'static str, read_only: bool) -> Tool {
        let mut t = Tool::new(name, "d", Arc::new(serde_json::Map::new()));
        t.annotations = Some(ToolAnnotations::new().read_only(read_only));
        t
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn read_only_hides_writes() {
        let f = ToolFilter {
            read_only: true,
            only: None,
        };
        assert!(f.permits(&tool("fetch", true)));
        assert!(!f.permits(&tool("reply", false)));
    }

    #[test]
    fn requests_narrow_but_never_widen() {
        let operator = ToolFilter {
            read_only: true,
            only: Some(["fetch".into(), "whoami".into()].into()),
        };
        let narrowed = operator.narrowed_by(Some(&headers(&[
            ("x-mcp-readonly", "false"),
            ("x-mcp-tools", "fetch, reply"),
        ])));
        assert!(narrowed.read_only, "a header cannot turn read-only off");
        assert_eq!(narrowed.only, Some(["fetch".to_owned()].into()));
        assert!(!narrowed.permits(&tool("reply", false)));
        assert!(!narrowed.permits(&tool("whoami", true)));

        let open = ToolFilter::default();
        let narrowed = open.narrowed_by(Some(&headers(&[("x-mcp-readonly", "true")])));
        assert!(narrowed.read_only && narrowed.only.is_none());
        let narrowed = open.narrowed_by(Some(&headers(&[("x-mcp-tools", "whoami")])));
        assert!(narrowed.permits(&tool("whoami", true)) && !narrowed.permits(&tool("fetch", true)));
        assert_eq!(open.narrowed_by(None), open);
    }
}
