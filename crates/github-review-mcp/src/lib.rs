//! github-review-mcp: an MCP server that gives AI coding agents the pull-request
//! review side of GitHub, serving many users at once, each with their own token.
//!
//! Dependencies point one way: `transport` → `tools` → (`github`, `format`) → (`model`, `untrusted`);
//! `auth` is read by `transport` and `tools` and knows neither. See ARCHITECTURE.md.

pub mod auth;
pub mod config;
pub mod doctor;
pub mod format;
pub mod github;
pub mod metrics;
pub mod model;
pub mod oauth;
pub mod state;
pub mod telemetry;
pub mod tools;
pub mod transport;
pub mod untrusted;
