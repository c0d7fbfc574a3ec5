//! Talking to GitHub: the validated host, pull-request references, one pooled HTTP
//! client, and the queries each tool needs. Receives a [`crate::auth::Token`] per
//! call and never learns where it came from.

mod cache;
pub mod check_logs;
mod client;
pub mod comments;
pub mod diff;
mod error;
pub mod events;
mod host;
pub mod limits;
mod pr_ref;
pub mod pulls;
pub mod reviews;
pub mod threads;
pub mod user;

pub use client::{
    download_allowed, ClientOptions, Credential, DownloadLink, GitHubClient, RateLimit,
    RestResponse,
};
pub use error::GitHubError;
pub use host::{GitHubHost, HostError, HostKind};
pub use pr_ref::{PrRefError, PullRequestRef};
