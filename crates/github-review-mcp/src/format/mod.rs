//! Rendering tool results for a language model: compact Markdown by default, JSON on
//! request. Pure functions over `crate::model`; no I/O.

mod markdown;
pub mod sanitize;

pub use markdown::review_comments_markdown;
