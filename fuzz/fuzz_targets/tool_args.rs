#![no_main]
//! libFuzzer entry; the property is `github_review_mcp_fuzz::tool_args`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| github_review_mcp_fuzz::tool_args(data));
