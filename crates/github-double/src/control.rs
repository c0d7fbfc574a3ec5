//! `/_double/*`: the request log, runtime configuration and timing statistics,
//! `/_double/oauth/*` (see `oauth`), and the log download host `/_double/blobs/*`
//! with its own record `/_double/blob-requests` (see `blobs`).
//! Never authenticated, counted or rate limited.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::faults::ConfigPatch;
use crate::state::AppState;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/requests", get(requests).delete(clear_requests))
        .route("/config", get(get_config).post(set_config))
        .route("/stats", get(stats).delete(reset_stats))
        .route("/pulls/{owner}/{repo}/{number}/files", post(push_files))
        .route("/blobs/{job_id}", get(crate::blobs::download))
        .route(
            "/blob-requests",
            get(crate::blobs::requests).delete(crate::blobs::clear),
        )
        .nest("/oauth", crate::oauth::control_router())
}

async fn requests(State(app): State<Arc<AppState>>) -> Response {
    Json(app.log.entries()).into_response()
}

async fn clear_requests(State(app): State<Arc<AppState>>) -> StatusCode {
    app.log.clear();
    StatusCode::NO_CONTENT
}

async fn get_config(State(app): State<Arc<AppState>>) -> Response {
    Json(app.config.lock().unwrap().clone()).into_response()
}

/// Partial update; also restarts the fault counter so fault patterns are reproducible.
async fn set_config(State(app): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let patch: ConfigPatch = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({"message": e.to_string()})),
            )
                .into_response()
        }
    };
    let mut cfg = app.config.lock().unwrap();
    if let Err(e) = cfg.apply(&patch) {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"message": e})),
        )
            .into_response();
    }
    *app.limiter.core_limit.lock().unwrap() = cfg.rate_limit;
    *app.limiter.graphql_limit.lock().unwrap() = cfg.graphql_rate_limit;
    if patch.reset_rate_limits {
        app.limiter.reset_all();
    }
    app.fault_counter.store(0, Ordering::SeqCst);
    app.cache.invalidate(0);
    Json(cfg.clone()).into_response()
}

async fn stats(State(app): State<Arc<AppState>>) -> Response {
    Json(app.log.stats()).into_response()
}

async fn reset_stats(State(app): State<Arc<AppState>>) -> StatusCode {
    app.log.reset_stats();
    StatusCode::NO_CONTENT
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PushBody {
    files: Vec<crate::world::PushedFile>,
    #[serde(default)]
    head_sha: Option<String>,
}

fn bad_request(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({"message": message})),
    )
        .into_response()
}

/// Simulates a push to a pull request's head: `{"files": [{"filename", "patch",
/// "status"?, "additions"?, "deletions"?}], "head_sha"?}` replaces (or adds) those
/// files, moves the head, and outdates the line threads no longer in the diff
/// (see `World::push_files`). Answers `{"head_sha", "outdated": [thread node ids]}`.
async fn push_files(
    State(app): State<Arc<AppState>>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    body: axum::body::Bytes,
) -> Response {
    let push: PushBody = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return bad_request(e.to_string()),
    };
    if let Some(sha) = &push.head_sha {
        if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return bad_request(format!("head_sha {sha:?} is not 40 hex digits"));
        }
    }
    let world = app.world();
    let Some(ri) = world.repo(&owner, &repo) else {
        return bad_request(format!("no repository {owner}/{repo}"));
    };
    let Some(&pi) = world.repos[ri].pull_by_number.get(&number) else {
        return bad_request(format!("no pull request {owner}/{repo}#{number}"));
    };
    let ((head, outdated), _) = app.update_world(|w| {
        let before: Vec<bool> = w.repos[ri].pulls[pi]
            .threads
            .iter()
            .map(|t| t.is_outdated)
            .collect();
        let head = w.push_files(ri, pi, push.files, push.head_sha, crate::time::now_epoch());
        let outdated: Vec<String> = w.repos[ri].pulls[pi]
            .threads
            .iter()
            .zip(before)
            .filter(|(t, was)| t.is_outdated && !was)
            .map(|(t, _)| t.node_id.clone())
            .collect();
        (head, outdated)
    });
    Json(serde_json::json!({"head_sha": head, "outdated": outdated})).into_response()
}
