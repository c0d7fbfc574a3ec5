//! The OAuth flow's wire formats, kept free of HTTP types so they test alone:
//! `application/x-www-form-urlencoded` both ways, HTTP Basic client credentials,
//! redirect URLs and GitHub's rule for which `redirect_uri` a callback URL allows.

use axum::http::{header, HeaderMap};
use base64::Engine;

use crate::seed::AppKind;

/// Parameters whose values are secrets: the request log shows their fingerprint.
const SECRET_PARAMS: [&str; 5] = [
    "code",
    "client_secret",
    "code_verifier",
    "refresh_token",
    "access_token",
];

/// Decodes a query string or form body; `+` is a space, bad `%` escapes stay as sent.
pub fn parse_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn form_decode(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `k=v&k=v`, both sides encoded.
pub fn form_encode<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k.as_ref()), encode(v.as_ref())))
        .collect::<Vec<_>>()
        .join("&")
}

/// `base` with `pairs` added to its query (before any fragment), as a redirect
/// back to the client carries `code`/`state` or `error`.
pub fn with_params(base: &str, pairs: &[(&str, &str)]) -> String {
    let (head, fragment) = match base.split_once('#') {
        Some((h, f)) => (h, Some(f)),
        None => (base, None),
    };
    let sep = match head.contains('?') {
        false => "?",
        true if head.ends_with('?') || head.ends_with('&') => "",
        true => "&",
    };
    let mut out = format!("{head}{sep}{}", form_encode(pairs));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// The query string for the request log, with secrets replaced by fingerprints
/// so the log can be shown without leaking a code or a client secret.
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, v)) if SECRET_PARAMS.contains(&form_decode(k).as_str()) => {
                format!("{k}=fp:{}", crate::state::fingerprint(&form_decode(v)))
            }
            _ => p.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `Authorization: Basic base64(client_id:client_secret)`, each part
/// percent-decoded as RFC 6749 §2.3.1 has clients encode them.
pub fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((percent_decode(id), percent_decode(secret)))
}

/// The parts of a URL the callback rule compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url<'a> {
    scheme: String,
    host: String,
    port: Option<u16>,
    path: &'a str,
}

impl<'a> Url<'a> {
    /// `scheme://host[:port][/path][?query][#fragment]`; http(s) needs a host.
    /// Custom schemes (`myapp://cb`) are allowed, as for native apps on GitHub.
    pub fn parse(s: &'a str) -> Option<Url<'a>> {
        let (scheme, rest) = s.split_once("://")?;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !scheme_ok {
            return None;
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let path = match &tail[..tail.find(['?', '#']).unwrap_or(tail.len())] {
            "" => "/",
            p => p,
        };
        let (host, port) = split_port(authority)?;
        let scheme = scheme.to_ascii_lowercase();
        if host.is_empty() && matches!(scheme.as_str(), "http" | "https") {
            return None;
        }
        Some(Url {
            port: port.or(match scheme.as_str() {
                "http" => Some(80),
                "https" => Some(443),
                _ => None,
            }),
            scheme,
            host: host.to_ascii_lowercase(),
            path,
        })
    }

    /// A loopback IP literal: GitHub lets such a redirect use any port, for
    /// native apps that listen on a port of their choosing.
    fn is_loopback(&self) -> bool {
        self.host == "127.0.0.1" || self.host == "[::1]"
    }
}

fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let colon = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => i,
        _ => return Some((authority, None)),
    };
    let port = authority[colon + 1..].parse().ok()?;
    Some((&authority[..colon], Some(port)))
}

/// Whether a callback URL allows `redirect_uri`, by GitHub's rules: same scheme,
/// host and port (any port for loopback IPs); an OAuth App's redirect may go to a
/// subdirectory of the callback's path, a GitHub App's must match it exactly.
pub fn redirect_allowed(kind: AppKind, callbacks: &[String], redirect_uri: &str) -> bool {
    let Some(r) = Url::parse(redirect_uri) else {
        return false;
    };
    if callbacks.is_empty() {
        return true;
    }
    callbacks
        .iter()
        .filter_map(|c| Url::parse(c))
        .any(|c| callback_allows(kind, &c, &r))
}

fn callback_allows(kind: AppKind, c: &Url, r: &Url) -> bool {
    let same_origin =
        c.scheme == r.scheme && c.host == r.host && (c.port == r.port || c.is_loopback());
    let base = c.path.trim_end_matches('/');
    let path_ok = match kind {
        AppKind::GithubApp => c.path == r.path,
        AppKind::OauthApp => {
            r.path == c.path || r.path == base || r.path.starts_with(&format!("{base}/"))
        }
    };
    same_origin && path_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn allowed(kind: AppKind, callback: &str, redirect: &str) -> bool {
        redirect_allowed(kind, &[callback.to_string()], redirect)
    }

    #[test]
    fn forms_round_trip_through_encoding() {
        let pairs = [("scope", "repo read:org"), ("state", "a&b=c+d%")];
        let text = form_encode(&pairs);
        assert_eq!(text, "scope=repo%20read%3Aorg&state=a%26b%3Dc%2Bd%25");
        let back = parse_form(&text);
        assert_eq!(back[0], ("scope".into(), "repo read:org".into()));
        assert_eq!(back[1], ("state".into(), "a&b=c+d%".into()));
        assert_eq!(parse_form("a=1+2&b&c=%zz")[2].1, "%zz");
        assert_eq!(parse_form("a=1+2&b")[1], ("b".into(), String::new()));
    }

    #[test]
    fn redirect_params_join_an_existing_query_and_keep_the_fragment() {
        assert_eq!(
            with_params("http://a/cb", &[("code", "1"), ("state", "s")]),
            "http://a/cb?code=1&state=s"
        );
        assert_eq!(
            with_params("http://a/cb?x=1#f", &[("code", "1")]),
            "http://a/cb?x=1&code=1#f"
        );
    }

    #[test]
    fn the_log_sees_fingerprints_of_secrets_only() {
        let q = redact_query("client_id=Iv1.x&code=abc123&state=s");
        assert_eq!(
            q,
            format!(
                "client_id=Iv1.x&code=fp:{}&state=s",
                crate::state::fingerprint("abc123")
            )
        );
        assert!(!q.contains("abc123"));
    }

    #[test]
    fn basic_credentials_are_decoded() {
        let mut h = HeaderMap::new();
        let b64 = base64::engine::general_purpose::STANDARD.encode("Iv1.a:s%3Acret");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {b64}")).unwrap(),
        );
        assert_eq!(basic_auth(&h), Some(("Iv1.a".into(), "s:cret".into())));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(basic_auth(&h), None);
    }

    #[test]
    fn oauth_app_redirects_may_go_below_the_callback_path() {
        let cb = "http://example.com/path";
        let k = AppKind::OauthApp;
        assert!(allowed(k, cb, "http://example.com/path"));
        assert!(allowed(k, cb, "http://example.com/path/subdir/other?x=1"));
        assert!(!allowed(k, cb, "http://example.com/bar"));
        assert!(!allowed(k, cb, "http://example.com/pathology"));
        assert!(!allowed(k, cb, "http://example.com:8080/path"));
        assert!(!allowed(k, cb, "http://oauth.example.com/path"));
        assert!(!allowed(k, cb, "https://example.com/path"));
    }

    #[test]
    fn github_app_redirects_match_exactly_except_loopback_ports() {
        let k = AppKind::GithubApp;
        assert!(allowed(k, "https://a.test/cb", "https://a.test/cb"));
        assert!(allowed(k, "https://a.test/cb", "https://A.test:443/cb"));
        assert!(!allowed(k, "https://a.test/cb", "https://a.test/cb/x"));
        assert!(allowed(
            k,
            "http://127.0.0.1/cb",
            "http://127.0.0.1:4321/cb"
        ));
        assert!(allowed(k, "http://[::1]:1/cb", "http://[::1]:4321/cb"));
        assert!(!allowed(
            k,
            "http://localhost/cb",
            "http://localhost:4321/cb"
        ));
    }

    #[test]
    fn no_callback_urls_allow_any_url_but_not_garbage() {
        assert!(redirect_allowed(AppKind::OauthApp, &[], "http://x:1/y"));
        assert!(redirect_allowed(AppKind::OauthApp, &[], "myapp://done"));
        assert!(!redirect_allowed(AppKind::OauthApp, &[], "/relative"));
        assert!(!redirect_allowed(AppKind::OauthApp, &[], "http:///nohost"));
    }
}
