//! Relay-style connections with GitHub's pagination rules and error texts.

use async_graphql::{ErrorExtensions, Object};
use base64::Engine;

/// `PageInfo`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

#[Object]
impl PageInfo {
    async fn has_next_page(&self) -> bool {
        self.has_next_page
    }
    async fn has_previous_page(&self) -> bool {
        self.has_previous_page
    }
    async fn start_cursor(&self) -> Option<&str> {
        self.start_cursor.as_deref()
    }
    async fn end_cursor(&self) -> Option<&str> {
        self.end_cursor.as_deref()
    }
}

/// Pagination arguments of a connection field.
#[derive(Debug, Clone, Default)]
pub struct Args {
    pub first: Option<i32>,
    pub last: Option<i32>,
    pub after: Option<String>,
    pub before: Option<String>,
    /// Neither `nodes` nor `edges` is selected: GitHub then allows leaving out
    /// `first`/`last` (e.g. `comments { totalCount }`).
    pub count_only: bool,
}

impl Args {
    /// Arguments of the connection field being resolved in `c`.
    pub fn new(
        c: &async_graphql::Context<'_>,
        first: Option<i32>,
        last: Option<i32>,
        after: Option<String>,
        before: Option<String>,
    ) -> Args {
        let look = c.look_ahead();
        Args {
            first,
            last,
            after,
            before,
            count_only: !look.field("nodes").exists() && !look.field("edges").exists(),
        }
    }
}

/// GitHub's largest page.
pub const MAX_PAGE: i32 = 100;

/// Opaque cursor for position `i`.
pub fn cursor(i: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("cursor:v2:{i}"))
}

fn decode(c: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(c).ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("cursor:v2:")?
        .parse()
        .ok()
}

/// A GraphQL error carrying GitHub's `type`.
pub fn typed_error(kind: &str, message: impl Into<String>) -> async_graphql::Error {
    let kind = kind.to_string();
    async_graphql::Error::new(message).extend_with(|_, e| e.set("type", kind))
}

/// Selects the window of `total` items the arguments ask for.
pub fn window(
    total: usize,
    a: &Args,
    conn: &str,
) -> async_graphql::Result<(std::ops::Range<usize>, PageInfo)> {
    let (first, last) = (a.first, a.last);
    match (first, last) {
        (None, None) if a.count_only => {
            return Ok((0..0, PageInfo::default()));
        }
        (None, None) => {
            return Err(typed_error(
                "MISSING_PAGINATION_BOUNDARIES",
                format!("You must provide a `first` or `last` value to properly paginate the `{conn}` connection."),
            ))
        }
        (Some(_), Some(_)) => {
            return Err(typed_error(
                "ARGUMENT_LIMIT",
                format!("Passing both `first` and `last` to paginate the `{conn}` connection is not supported."),
            ))
        }
        _ => {}
    }
    for (name, v) in [("first", first), ("last", last)] {
        match v {
            Some(n) if n < 0 => {
                return Err(typed_error(
                    "ARGUMENT_LIMIT",
                    format!("`{name}` on the `{conn}` connection cannot be less than zero."),
                ))
            }
            Some(n) if n > MAX_PAGE => {
                return Err(typed_error(
                    "EXCESSIVE_PAGINATION",
                    format!("Requesting {n} records on the `{conn}` connection exceeds the `{name}` limit of 100 records."),
                ))
            }
            _ => {}
        }
    }
    let bad = |c: &str| {
        typed_error(
            "INVALID_CURSOR_ARGUMENTS",
            format!("`{c}` does not appear to be a valid cursor."),
        )
    };
    let mut start = 0;
    let mut end = total;
    if let Some(c) = &a.after {
        start = decode(c)
            .ok_or_else(|| bad(c))?
            .saturating_add(1)
            .min(total);
    }
    if let Some(c) = &a.before {
        end = decode(c).ok_or_else(|| bad(c))?.min(total);
    }
    let end = end.max(start);
    let range = match (first, last) {
        (Some(n), _) => start..(start + n as usize).min(end),
        (_, Some(n)) => end.saturating_sub(n as usize).max(start)..end,
        _ => unreachable!(),
    };
    let info = PageInfo {
        has_next_page: range.end < total,
        has_previous_page: range.start > 0,
        start_cursor: (!range.is_empty()).then(|| cursor(range.start)),
        end_cursor: (!range.is_empty()).then(|| cursor(range.end - 1)),
    };
    Ok((range, info))
}

/// Defines `<Name>Connection` and `<Name>Edge` objects over node type `$node`.
macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty) => {
        pub struct $conn {
            pub nodes: Vec<$node>,
            pub start: usize,
            pub page: $crate::graphql::connection::PageInfo,
            pub total: usize,
        }

        impl $conn {
            /// Builds the connection for `total` items, making only the selected nodes.
            pub fn build(
                total: usize,
                args: &$crate::graphql::connection::Args,
                name: &str,
                make: impl Fn(usize) -> $node,
            ) -> async_graphql::Result<Self> {
                let (range, page) = $crate::graphql::connection::window(total, args, name)?;
                Ok($conn {
                    start: range.start,
                    nodes: range.map(make).collect(),
                    page,
                    total,
                })
            }
        }

        #[async_graphql::Object]
        impl $conn {
            async fn total_count(&self) -> i32 {
                self.total as i32
            }
            async fn page_info(&self) -> &$crate::graphql::connection::PageInfo {
                &self.page
            }
            async fn nodes(&self) -> Option<Vec<Option<$node>>> {
                Some(self.nodes.iter().cloned().map(Some).collect())
            }
            async fn edges(&self) -> Option<Vec<Option<$edge>>> {
                let edges = self
                    .nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        Some($edge {
                            cursor: $crate::graphql::connection::cursor(self.start + i),
                            node: n.clone(),
                        })
                    })
                    .collect();
                Some(edges)
            }
        }

        pub struct $edge {
            cursor: String,
            node: $node,
        }

        #[async_graphql::Object]
        impl $edge {
            async fn cursor(&self) -> &str {
                &self.cursor
            }
            async fn node(&self) -> Option<$node> {
                Some(self.node.clone())
            }
        }
    };
}

pub(crate) use connection;

#[cfg(test)]
mod tests {
    use super::*;

    fn args(
        first: Option<i32>,
        last: Option<i32>,
        after: Option<usize>,
        before: Option<usize>,
    ) -> Args {
        Args {
            first,
            last,
            after: after.map(cursor),
            before: before.map(cursor),
            count_only: false,
        }
    }

    #[test]
    fn first_after_walks_forward() {
        let (r, p) = window(10, &args(Some(4), None, None, None), "c").unwrap();
        assert_eq!(r, 0..4);
        assert!(p.has_next_page && !p.has_previous_page);
        let (r, p) = window(10, &args(Some(4), None, Some(7), None), "c").unwrap();
        assert_eq!(r, 8..10);
        assert!(!p.has_next_page && p.has_previous_page);
        assert_eq!(p.end_cursor, Some(cursor(9)));
    }

    #[test]
    fn last_before_walks_backward() {
        let (r, _) = window(10, &args(None, Some(3), None, Some(5)), "c").unwrap();
        assert_eq!(r, 2..5);
        let (r, _) = window(10, &args(None, Some(3), None, None), "c").unwrap();
        assert_eq!(r, 7..10);
    }

    #[test]
    fn github_rejects_missing_and_excessive_bounds() {
        let counting = Args {
            count_only: true,
            ..Args::default()
        };
        assert_eq!(window(10, &counting, "comments").unwrap().0, 0..0);
        let e = window(10, &args(None, None, None, None), "reviewThreads").unwrap_err();
        assert_eq!(
            e.message,
            "You must provide a `first` or `last` value to properly paginate the `reviewThreads` connection."
        );
        let e = window(10, &args(Some(101), None, None, None), "comments").unwrap_err();
        assert_eq!(
            e.message,
            "Requesting 101 records on the `comments` connection exceeds the `first` limit of 100 records."
        );
    }

    #[test]
    fn garbage_cursor_is_an_error_and_empty_page_has_null_cursors() {
        let a = Args {
            first: Some(1),
            after: Some("nope".into()),
            ..Args::default()
        };
        assert!(window(3, &a, "c").is_err());
        let (r, p) = window(0, &args(Some(5), None, None, None), "c").unwrap();
        assert!(r.is_empty() && p.end_cursor.is_none() && !p.has_next_page);
    }
}
