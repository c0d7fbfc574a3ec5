//! OAuth clients: dynamic client registration (RFC 7591) for public clients, and
//! client ID metadata documents (a `client_id` that is an https URL naming a JSON
//! document the client hosts).
//!
//! Fetching a document is a request the *client* chooses the target of, so it is
//! guarded against SSRF: https only, no userinfo, every address the name resolves to
//! must be public (no loopback, private, link-local, CGNAT, unique-local or
//! multicast), no redirects, no proxy, bounded in size (16 KiB) and time (5 s), and
//! cached for five minutes. `--oauth-test-mode` lifts the https and address rules
//! (never the bounds) so tests can serve documents from loopback.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::redirect::check_registrable;
use super::{no_store, Oauth, StepError};
use crate::state::Space;

/// How long a registered client is kept after registration.
const CLIENT_TTL: Duration = Duration::from_secs(365 * 24 * 3600);
const DOCUMENT_MAX_BYTES: usize = 16 * 1024;
const DOCUMENT_TIMEOUT: Duration = Duration::from_secs(5);
const DOCUMENT_CACHE_FOR: Duration = Duration::from_secs(300);
const MAX_REDIRECT_URIS: usize = 10;

/// A client we know: registered here, or described by its metadata document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Client {
    pub client_id: String,
    /// Self-asserted; the consent page says so.
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
    /// The client id is a URL whose host vouches for the document.
    pub metadata_document: bool,
}

impl Client {
    /// How the consent page names the client.
    pub fn label(&self) -> String {
        let host = url::Url::parse(&self.client_id)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned));
        match (&self.client_name, self.metadata_document, host) {
            (Some(name), true, Some(host)) => format!("{name} (from {host})"),
            (None, true, Some(host)) => host,
            (Some(name), _, _) => name.clone(),
            (None, _, _) => format!("client {}", self.client_id),
        }
    }
}

/// A client name fit for a page: printable, short.
fn clean_name(value: Option<&Value>) -> Result<Option<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            // Control and bidirectional-override characters could disguise a name.
            let name: String = s
                .chars()
                .filter(|c| {
                    !c.is_control()
                        && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
                })
                .take(100)
                .collect();
            let name = name.trim().to_owned();
            Ok((!name.is_empty()).then_some(name))
        }
        Some(_) => Err("client_name must be a string".into()),
    }
}

fn redirect_uris(value: Option<&Value>) -> Result<Vec<String>, (&'static str, String)> {
    let list = value.and_then(Value::as_array).ok_or((
        "invalid_redirect_uri",
        "redirect_uris must be a non-empty array of URLs".to_owned(),
    ))?;
    if list.is_empty() || list.len() > MAX_REDIRECT_URIS {
        return Err((
            "invalid_redirect_uri",
            format!("redirect_uris must list 1 to {MAX_REDIRECT_URIS} URLs"),
        ));
    }
    list.iter()
        .map(|v| {
            let text = v.as_str().ok_or((
                "invalid_redirect_uri",
                "each redirect_uri must be a string".to_owned(),
            ))?;
            check_registrable(text).map_err(|e| ("invalid_redirect_uri", e))?;
            Ok(text.to_owned())
        })
        .collect()
}

/// Fields of the metadata we only accept in forms we serve.
fn check_grant_shapes(meta: &Value) -> Result<(), String> {
    let subset = |field: &str, allowed: &[&str]| -> Result<(), String> {
        match meta.get(field) {
            None | Some(Value::Null) => Ok(()),
            Some(Value::Array(items)) => match items
                .iter()
                .find(|i| !i.as_str().is_some_and(|s| allowed.contains(&s)))
            {
                Some(bad) => Err(format!(
                    "{field} {bad} is not supported (supported: {})",
                    allowed.join(", ")
                )),
                None => Ok(()),
            },
            Some(_) => Err(format!("{field} must be an array")),
        }
    };
    subset("grant_types", &["authorization_code", "refresh_token"])?;
    subset("response_types", &["code"])
}

/// `POST /oauth/register`: registers a public client. A request for a confidential
/// auth method is answered with `none` (RFC 7591 §3.2.1 lets the server decide).
pub(super) async fn register(State(oauth): State<Arc<Oauth>>, body: Bytes) -> Response {
    let refuse = |error: &str, description: String| {
        let mut r = (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": error, "error_description": description })),
        )
            .into_response();
        no_store(&mut r);
        r
    };
    let Ok(meta) = serde_json::from_slice::<Value>(&body) else {
        return refuse(
            "invalid_client_metadata",
            "the body must be a JSON object".into(),
        );
    };
    if !meta.is_object() {
        return refuse(
            "invalid_client_metadata",
            "the body must be a JSON object".into(),
        );
    }
    let uris = match redirect_uris(meta.get("redirect_uris")) {
        Ok(uris) => uris,
        Err((error, description)) => return refuse(error, description),
    };
    let name = match clean_name(meta.get("client_name")) {
        Ok(name) => name,
        Err(e) => return refuse("invalid_client_metadata", e),
    };
    if let Err(e) = check_grant_shapes(&meta) {
        return refuse("invalid_client_metadata", e);
    }
    let client = Client {
        client_id: format!("grm_c_{}", uuid::Uuid::new_v4().simple()),
        client_name: name,
        redirect_uris: uris,
        metadata_document: false,
    };
    if let Err(err) = oauth
        .put_json(Space::OauthClient, &client.client_id, &client, CLIENT_TTL)
        .await
    {
        return err.into();
    }
    tracing::info!(client = %client.client_id, name = ?client.client_name, "client registered");
    let mut response = (
        StatusCode::CREATED,
        Json(json!({
            "client_id": client.client_id,
            "client_id_issued_at": super::now_secs(),
            "client_name": client.client_name,
            "redirect_uris": client.redirect_uris,
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        })),
    )
        .into_response();
    no_store(&mut response);
    response
}

impl Oauth {
    /// The client behind `client_id`, registered or fetched. The error is for a page.
    pub(crate) async fn client(&self, client_id: &str) -> Result<Client, ClientError> {
        if client_id.len() > 2000 {
            return Err(ClientError::Unknown(
                "client_id is longer than 2000 characters".into(),
            ));
        }
        if self.documents.is_document_url(client_id) {
            return self
                .documents
                .fetch(client_id)
                .await
                .map_err(ClientError::Unknown);
        }
        match self.get_json::<Client>(Space::OauthClient, client_id).await {
            Ok(Some(client)) => Ok(client),
            Ok(None) => Err(ClientError::Unknown(
                "this client_id is not registered here: register the client (dynamic client registration) or use a client ID metadata document URL".into(),
            )),
            Err(err) => Err(ClientError::Store(err)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error("{0}")]
    Unknown(String),
    #[error(transparent)]
    Store(StepError),
}

/// Fetches and caches client ID metadata documents behind the SSRF guard.
pub(crate) struct Documents {
    http: reqwest::Client,
    test_mode: bool,
    cache: Mutex<lru::LruCache<String, (Instant, Client)>>,
}

impl std::fmt::Debug for Documents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Documents")
            .field("test_mode", &self.test_mode)
            .finish_non_exhaustive()
    }
}

/// Whether an address is on the public internet (what a document may be fetched from).
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
                || first == 0x64 && v6.segments()[1] == 0xff9b)
        }
    }
}

/// Resolves names for document fetches and refuses any name with a non-public
/// address, so DNS cannot point a fetch inside the network.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                return Err(
                    format!("{host} resolves to a non-public address ({})", bad.ip()).into(),
                );
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl Documents {
    pub fn new(test_mode: bool) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(DOCUMENT_TIMEOUT)
            .connect_timeout(Duration::from_secs(3))
            .user_agent(concat!("github-review-mcp/", env!("CARGO_PKG_VERSION")));
        if !test_mode {
            builder = builder.dns_resolver(PublicOnly);
        }
        Ok(Self {
            http: builder
                .build()
                .map_err(|e| format!("cannot build the client document fetcher: {e}"))?,
            test_mode,
            cache: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(256).expect("non-zero"),
            )),
        })
    }

    pub fn is_document_url(&self, client_id: &str) -> bool {
        client_id.starts_with("https://") || (self.test_mode && client_id.starts_with("http://"))
    }

    /// The document at `url`, checked. Errors say what is wrong, for the page.
    pub async fn fetch(&self, url_text: &str) -> Result<Client, String> {
        if let Some((at, client)) = self.cache.lock().expect("cache lock").get(url_text) {
            if at.elapsed() < DOCUMENT_CACHE_FOR {
                return Ok(client.clone());
            }
        }
        let url =
            url::Url::parse(url_text).map_err(|_| "the client_id URL is not valid".to_owned())?;
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err("a client_id URL must not have user info or a fragment".into());
        }
        if url.path() == "/" || url.path().is_empty() {
            return Err(
                "a client_id URL must have a path (e.g. https://app.example/oauth/client.json)"
                    .into(),
            );
        }
        if !self.test_mode {
            let literal = match url.host() {
                Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            };
            if literal.is_some_and(|ip| !is_public(ip)) {
                return Err("the client_id URL points to a non-public address".into());
            }
        }
        let started = Instant::now();
        let response = self
            .http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| describe_fetch_error(&e))?;
        if !response.status().is_success() {
            return Err(format!(
                "fetching the client metadata document answered {}",
                response.status()
            ));
        }
        if response
            .content_length()
            .is_some_and(|n| n as usize > DOCUMENT_MAX_BYTES)
        {
            return Err(format!(
                "the client metadata document is larger than {DOCUMENT_MAX_BYTES} bytes"
            ));
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| describe_fetch_error(&e))?;
            if body.len() + chunk.len() > DOCUMENT_MAX_BYTES {
                return Err(format!(
                    "the client metadata document is larger than {DOCUMENT_MAX_BYTES} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let meta: Value = serde_json::from_slice(&body)
            .map_err(|_| "the client metadata document is not JSON".to_owned())?;
        if meta.get("client_id").and_then(Value::as_str) != Some(url_text) {
            return Err("the client metadata document's client_id does not match its URL".into());
        }
        match meta.get("token_endpoint_auth_method").and_then(Value::as_str) {
            None | Some("none") => {}
            Some(other) => {
                return Err(format!("token_endpoint_auth_method {other} is not supported: this server serves public clients (none)"))
            }
        }
        check_grant_shapes(&meta)?;
        let client = Client {
            client_id: url_text.to_owned(),
            client_name: clean_name(meta.get("client_name"))?,
            redirect_uris: redirect_uris(meta.get("redirect_uris")).map_err(|(_, e)| e)?,
            metadata_document: true,
        };
        tracing::info!(client = %url_text, ms = started.elapsed().as_millis() as u64, "client metadata document fetched");
        self.cache
            .lock()
            .expect("cache lock")
            .put(url_text.to_owned(), (Instant::now(), client.clone()));
        Ok(client)
    }
}

fn describe_fetch_error(e: &reqwest::Error) -> String {
    use std::error::Error;
    if e.is_timeout() {
        return format!(
            "the client metadata document did not arrive within {} s",
            DOCUMENT_TIMEOUT.as_secs()
        );
    }
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if text.contains("non-public address") {
            return "the client_id URL's host resolves to a non-public address".into();
        }
        source = s.source();
    }
    "the client metadata document could not be fetched".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "255.255.255.255",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "140.82.112.3", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn documents_on_non_public_addresses_are_refused_before_any_request() {
        let docs = Documents::new(false).unwrap();
        for url in [
            "https://127.0.0.1/client.json",
            "https://[::1]/client.json",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/client.json",
        ] {
            let err = docs.fetch(url).await.unwrap_err();
            assert!(err.contains("non-public"), "{url}: {err}");
        }
        let err = docs
            .fetch("https://localhost:1/client.json")
            .await
            .unwrap_err();
        assert!(err.contains("non-public"), "{err}");
        assert!(!docs.is_document_url("http://app.example/client.json"));
        let err = docs.fetch("https://app.example/").await.unwrap_err();
        assert!(err.contains("must have a path"), "{err}");
    }

    #[test]
    fn registration_metadata_is_checked() {
        assert!(redirect_uris(Some(&json!([]))).is_err());
        assert!(redirect_uris(Some(&json!(["http://evil.example/cb"]))).is_err());
        assert!(redirect_uris(Some(&json!(["http://127.0.0.1:9/cb"]))).is_ok());
        assert!(check_grant_shapes(&json!({"grant_types": ["implicit"]})).is_err());
        assert!(check_grant_shapes(&json!({"response_types": ["token"]})).is_err());
        assert!(check_grant_shapes(
            &json!({"grant_types": ["authorization_code", "refresh_token"]})
        )
        .is_ok());
        assert_eq!(
            clean_name(Some(&json!("Evil\u{202e}\nName")))
                .unwrap()
                .as_deref(),
            Some("EvilName")
        );
    }
}
