//! The download host of Actions logs. GitHub answers `GET .../actions/jobs/{id}/logs`
//! with `302 Found` to a short-lived signed URL on another host (real GitHub:
//! `pipelines.actions.githubusercontent.com` or blob storage); the double redirects
//! to its own listener under another name (`127.0.0.1` ↔ `localhost`), path
//! `/_double/blobs/{job_id}?sig=...`, so a client that sent its GitHub token along
//! would be sending it to "another host". Each download is recorded, with whether it
//! carried an `Authorization` header (`GET /_double/blob-requests`); one that did is
//! refused (400), so a leak fails loudly as well as being visible.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::oauth::store::TokenRng;
use crate::state::AppState;
use crate::time::now_epoch;

/// How long a signed download URL is valid (GitHub: "This link expires after 1 minute").
pub const URL_TTL_SECS: u64 = 60;

/// Issued signatures and the downloads made with them.
#[derive(Default)]
pub struct Blobs {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    rng: Option<TokenRng>,
    /// sig → (job id, expiry in Unix seconds).
    issued: HashMap<String, (u64, u64)>,
    requests: Vec<BlobRequest>,
}

/// One request to the download host.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BlobRequest {
    pub job_id: String,
    /// The `Host` header, e.g. `localhost:4000`.
    pub host: Option<String>,
    /// Whether the request carried an `Authorization` header (it never should).
    pub authorization: bool,
    pub status: u16,
}

/// Keeps at most this many download records.
const MAX_REQUESTS: usize = 10_000;

impl Blobs {
    /// A fresh signature for `job_id`'s log, valid for [`URL_TTL_SECS`].
    pub fn sign(&self, job_id: u64, now: u64) -> String {
        let mut g = self.inner.lock().unwrap();
        g.issued.retain(|_, (_, expires)| *expires >= now);
        let sig = g.rng.get_or_insert_with(TokenRng::default).hex(40);
        g.issued.insert(sig.clone(), (job_id, now + URL_TTL_SECS));
        sig
    }

    /// Whether `sig` was issued for `job_id` and has not expired.
    fn valid(&self, job_id: u64, sig: &str, now: u64) -> bool {
        let g = self.inner.lock().unwrap();
        g.issued
            .get(sig)
            .is_some_and(|&(job, expires)| job == job_id && now <= expires)
    }

    fn record(&self, r: BlobRequest) {
        let mut g = self.inner.lock().unwrap();
        if g.requests.len() >= MAX_REQUESTS {
            g.requests.remove(0);
        }
        g.requests.push(r);
    }

    pub fn requests(&self) -> Vec<BlobRequest> {
        self.inner.lock().unwrap().requests.clone()
    }

    pub fn clear(&self) {
        self.inner.lock().unwrap().requests.clear();
    }
}

/// The download host's origin for an API reached at `api_base`: the same port
/// under the other loopback name, so that it is another host to the client.
pub fn download_origin(api_base: &str, port: u16) -> String {
    let authority = api_base
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or("");
    if authority.starts_with("localhost") {
        format!("http://127.0.0.1:{port}")
    } else {
        format!("http://localhost:{port}")
    }
}

/// Azure-like XML error answers of the download host.
fn storage_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        )],
        body,
    )
        .into_response()
}

/// `GET /_double/blobs/{job_id}?sig=...`: the log as `text/plain`, with a valid
/// signature and no `Authorization` header.
pub async fn download(
    State(app): State<Arc<AppState>>,
    Path(job): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let authorization = headers.contains_key(header::AUTHORIZATION);
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let sig = q.iter().find(|(k, _)| k == "sig").map(|(_, v)| v.as_str());
    let job_id = job.parse::<u64>().ok();
    let resp = if authorization {
        storage_error(
            StatusCode::BAD_REQUEST,
            "InvalidAuthenticationInfo",
            "The URL is signed; an Authorization header is not accepted with it.",
        )
    } else {
        match (job_id, sig) {
            (Some(id), Some(sig)) if app.blobs.valid(id, sig, now_epoch()) => {
                let world = app.world();
                let log = (0..world.repos.len()).find_map(|ri| {
                    let (pi, ci) = world.check_run(ri, id)?;
                    world.repos[ri].pulls[pi].checks[ci].log.clone()
                });
                match log {
                    Some(text) => (
                        StatusCode::OK,
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("text/plain; charset=utf-8"),
                        )],
                        text.to_string(),
                    )
                        .into_response(),
                    None => storage_error(
                        StatusCode::NOT_FOUND,
                        "BlobNotFound",
                        "The specified blob does not exist.",
                    ),
                }
            }
            _ => storage_error(
                StatusCode::FORBIDDEN,
                "AuthenticationFailed",
                "Signature not valid in the specified time frame, or not for this resource.",
            ),
        }
    };
    app.blobs.record(BlobRequest {
        job_id: job,
        host,
        authorization,
        status: resp.status().as_u16(),
    });
    resp
}

/// `GET /_double/blob-requests`: every download, oldest first.
pub async fn requests(State(app): State<Arc<AppState>>) -> Response {
    Json(app.blobs.requests()).into_response()
}

/// `DELETE /_double/blob-requests`.
pub async fn clear(State(app): State<Arc<AppState>>) -> StatusCode {
    app.blobs.clear();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_download_host_is_the_other_loopback_name() {
        assert_eq!(
            download_origin("http://127.0.0.1:4000/api/v3", 4000),
            "http://localhost:4000"
        );
        assert_eq!(
            download_origin("http://localhost:4000", 4000),
            "http://127.0.0.1:4000"
        );
    }

    #[test]
    fn a_signature_is_for_one_job_and_expires() {
        let blobs = Blobs::default();
        let sig = blobs.sign(7, 1000);
        assert!(blobs.valid(7, &sig, 1000 + URL_TTL_SECS));
        assert!(!blobs.valid(8, &sig, 1000));
        assert!(!blobs.valid(7, &sig, 1001 + URL_TTL_SECS));
        assert!(!blobs.valid(7, "0000", 1000));
        assert_ne!(blobs.sign(7, 1000), sig, "every URL is signed anew");
    }
}
