//! `/_double/*`: the request log, runtime configuration and timing statistics,
//! `/_double/oauth/*` (see `oauth`), and the log download host `/_double/blobs/*`
//! with its own record `/_double/blob-requests` (see `blobs`).
//! Never authenticated, counted or rate limited.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::faults::ConfigPatch;
use crate::state::AppState;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/requests", get(requests).delete(clear_requests))
        .route("/config", get(get_config).post(set_config))
        .route("/stats", get(stats).delete(reset_stats))
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
