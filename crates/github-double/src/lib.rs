//! `github-double`: a fake GitHub (REST + GraphQL) for tests, benchmarks and an
//! offline demo.
//!
//! It serves the data of a seed file (users, tokens, repositories, pull requests,
//! review threads) through GitHub-shaped REST endpoints and a GraphQL endpoint that
//! uses GitHub's own type, field and argument names, with GitHub's authentication,
//! rate limits, ETags and pagination. Tests can read a request log, inject latency
//! and faults, and read the double's own timing under `/_double/*`.
//!
//! Code map: `seed` (file format and generator) → `world` (indexed data) →
//! `rest` and `graphql` (handlers) behind `server::gate` (auth, limits, faults,
//! log); `cache` keeps serialised answers per world generation (any write empties
//! it); `control` serves `/_double/*`.
//!
//! `blobs` is the download host of Actions logs, where the logs endpoint's
//! redirect points (another host name, same listener).
//!
//! `oauth` is GitHub's OAuth web flow for the seed's `oauth_apps` (OAuth Apps and
//! GitHub Apps): the authorize page under `/login/oauth/authorize`, where picking
//! a seeded user stands in for signing in, the code and refresh exchanges at
//! `/login/oauth/access_token`, and revocation. Its `store` keeps issued codes and
//! tokens in `AppState`, not in the world; the gate asks it after the seed's
//! tokens, so a `gho_`/`ghu_` token is a caller like any other. The
//! `/login/oauth/*` pages pass the gate's logging but not its API checks.

#![recursion_limit = "512"]

pub mod blobs;
pub mod cache;
pub mod control;
pub mod faults;
pub mod graphql;
pub mod oauth;
pub mod ratelimit;
pub mod requestlog;
pub mod rest;
pub mod seed;
pub mod server;
pub mod state;
pub mod time;
pub mod world;

use std::sync::Arc;

use axum::routing::post;
use axum::Router;

pub use faults::DoubleConfig;
pub use seed::Seed;
pub use server::{start, Running};
pub use world::World;

/// All routes, with the gate in front.
pub fn routes(state: Arc<state::AppState>) -> Router {
    Router::new()
        .merge(rest::router())
        .merge(oauth::router())
        .route("/graphql", post(graphql::handler))
        .nest("/_double", control::router())
        .fallback(|| async {
            server::gh_error(
                axum::http::StatusCode::NOT_FOUND,
                "Not Found",
                server::DOC_REST,
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            server::gate,
        ))
        .with_state(state)
}
