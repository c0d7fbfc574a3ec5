//! `per_page`/`page` pagination and GitHub's `Link` header.

use std::collections::BTreeMap;

/// A requested page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageReq {
    pub page: usize,
    pub per_page: usize,
}

impl PageReq {
    /// Reads `page` (default 1) and `per_page` (default 30, at most 100).
    pub fn from_query(q: &BTreeMap<String, String>) -> Self {
        let num = |k: &str| q.get(k).and_then(|v| v.parse::<usize>().ok());
        PageReq {
            page: num("page").filter(|&p| p > 0).unwrap_or(1),
            per_page: num("per_page").filter(|&p| p > 0).unwrap_or(30).min(100),
        }
    }

    /// The index range of this page within `total` items.
    pub fn range(&self, total: usize) -> std::ops::Range<usize> {
        let start = (self.page - 1).saturating_mul(self.per_page).min(total);
        start..(start + self.per_page).min(total)
    }

    pub fn last_page(&self, total: usize) -> usize {
        total.div_ceil(self.per_page).max(1)
    }

    /// `Link` header value, or `None` when everything fits on one page.
    pub fn link_header(
        &self,
        url_base: &str,
        query: &[(String, String)],
        total: usize,
    ) -> Option<String> {
        let last = self.last_page(total);
        if last <= 1 && self.page <= 1 {
            return None;
        }
        let url = |page: usize| {
            let mut parts: Vec<String> = query
                .iter()
                .filter(|(k, _)| k != "page")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            parts.push(format!("page={page}"));
            format!("<{url_base}?{}>", parts.join("&"))
        };
        let mut links = vec![];
        if self.page > 1 {
            links.push(format!("{}; rel=\"prev\"", url((self.page - 1).min(last))));
        }
        if self.page < last {
            links.push(format!("{}; rel=\"next\"", url(self.page + 1)));
            links.push(format!("{}; rel=\"last\"", url(last)));
        }
        if self.page > 1 {
            links.push(format!("{}; rel=\"first\"", url(1)));
        }
        Some(links.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(page: usize, per_page: usize) -> PageReq {
        PageReq { page, per_page }
    }

    #[test]
    fn per_page_defaults_to_30_and_caps_at_100() {
        let mut q = BTreeMap::new();
        assert_eq!(PageReq::from_query(&q), req(1, 30));
        q.insert("per_page".into(), "500".into());
        q.insert("page".into(), "3".into());
        assert_eq!(PageReq::from_query(&q), req(3, 100));
    }

    #[test]
    fn middle_page_links_all_four_relations() {
        let q = vec![
            ("per_page".to_string(), "10".to_string()),
            ("page".to_string(), "2".to_string()),
        ];
        let link = req(2, 10).link_header("http://h/x", &q, 35).unwrap();
        assert_eq!(
            link,
            "<http://h/x?per_page=10&page=1>; rel=\"prev\", <http://h/x?per_page=10&page=3>; rel=\"next\", \
             <http://h/x?per_page=10&page=4>; rel=\"last\", <http://h/x?per_page=10&page=1>; rel=\"first\""
        );
    }

    #[test]
    fn single_page_has_no_link_and_range_clamps() {
        assert_eq!(req(1, 30).link_header("u", &[], 30), None);
        assert_eq!(req(5, 10).range(35), 35..35);
        assert_eq!(req(4, 10).range(35), 30..35);
    }
}
