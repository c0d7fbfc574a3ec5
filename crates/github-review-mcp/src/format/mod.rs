//! Rendering tool results for a language model: compact Markdown by default, JSON on
//! request. Pure functions over `crate::model`; no I/O.

pub mod bots;
mod markdown;
mod views;

pub use markdown::{review_comments_markdown, thread_markdown, thread_markdown_bound};
pub use views::{
    checks_markdown, pending_review_markdown, pull_request_markdown, reviews_markdown,
    threads_markdown,
};
