//! Link options of the release server on x86_64 Linux (glibc):
//! - `--symbol-ordering-file=link/hot-functions.txt`: the functions a session runs
//!   first, together (scripts/hot-functions writes the file and says why); a stale
//!   line is ignored.
//! - `-z pack-relative-relocs`: RELR relocations (glibc 2.36+), a few KiB instead of
//!   half a MiB.
//!
//! Rust links with LLD there by default, which takes both; a toolchain that links with
//! GNU ld (some distributions' rustc) does not know the first. So the options are first
//! tried on an empty program with the same compiler, target and flags, and used only
//! if that links. Nothing changes in debug builds, elsewhere, or with
//! `GITHUB_REVIEW_MCP_LINK_ORDER=0`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
    if target != ("x86_64".into(), "linux".into(), "gnu".into())
        || var("PROFILE") != "release"
        || var("GITHUB_REVIEW_MCP_LINK_ORDER") == "0"
    {
        return;
    }
    let order = Path::new(&var("CARGO_MANIFEST_DIR")).join("link/hot-functions.txt");
    let mut args = vec!["-Wl,-z,pack-relative-relocs".to_owned()];
    if order.is_file() {
        args.push(format!("-Wl,--symbol-ordering-file={}", order.display()));
        args.push("-Wl,--no-warn-symbol-ordering".to_owned());
    }
    if links_with(&args) {
        for arg in args {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
    } else {
        println!(
            "cargo:warning=this toolchain's linker does not take {}: the server is linked \
             without them (more resident memory, same behaviour)",
            args.join(" ")
        );
    }
}

/// Whether an empty program links with these options, with the build's own compiler,
/// target and flags.
fn links_with(args: &[String]) -> bool {
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let source = out.join("link_probe.rs");
    if std::fs::write(&source, "fn main() {}\n").is_err() {
        return false;
    }
    let mut rustc = Command::new(env::var("RUSTC").unwrap_or_else(|_| "rustc".into()));
    rustc
        .arg("--target")
        .arg(env::var("TARGET").unwrap_or_default())
        .arg("-o")
        .arg(out.join("link_probe"))
        .arg(&source);
    if let Ok(flags) = env::var("CARGO_ENCODED_RUSTFLAGS") {
        rustc.args(flags.split('\x1f').filter(|f| !f.is_empty()));
    }
    for arg in args {
        rustc.arg("-C").arg(format!("link-arg={arg}"));
    }
    rustc
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
