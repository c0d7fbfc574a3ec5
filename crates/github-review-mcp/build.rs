//! Link options of the release server on x86_64 Linux (glibc), where Rust links with
//! LLD by default:
//! - `--symbol-ordering-file=link/hot-functions.txt`: the functions a session runs
//!   first, together (scripts/hot-functions writes the file and says why); a stale
//!   line is ignored.
//! - `-z pack-relative-relocs`: RELR relocations (glibc 2.36+), a few KiB instead of
//!   half a MiB read at every start.
//!
//! Nothing changes elsewhere, in debug builds, when the build names its own linker in
//! RUSTFLAGS, or with `GITHUB_REVIEW_MCP_LINK_ORDER=0`.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/hot-functions.txt");
    println!("cargo:rerun-if-env-changed=GITHUB_REVIEW_MCP_LINK_ORDER");
    let var = |name: &str| env::var(name).unwrap_or_default();
    let target = (
        var("CARGO_CFG_TARGET_ARCH"),
        var("CARGO_CFG_TARGET_OS"),
        var("CARGO_CFG_TARGET_ENV"),
    );
    let default_linker = !var("CARGO_ENCODED_RUSTFLAGS").contains("link");
    if target != ("x86_64".into(), "linux".into(), "gnu".into())
        || var("PROFILE") != "release"
        || var("GITHUB_REVIEW_MCP_LINK_ORDER") == "0"
        || !default_linker
    {
        return;
    }
    let order = Path::new(&var("CARGO_MANIFEST_DIR")).join("link/hot-functions.txt");
    if order.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
}
