//! cargo: `cargo check --offline --message-format json --quiet` in the shadow root, with
//! `CARGO_TARGET_DIR` pointed at a cache outside it. `--offline`: validation never fetches
//! crates a generated manifest names. It compiles and runs build scripts and proc-macros, so it
//! runs only in the sandbox (or with `[sandbox] allow_unsandboxed = true`).
//!
//! Environment it needs (see [`job`]): `CARGO_TARGET_DIR` (writable), `CARGO_HOME` and
//! `RUSTUP_HOME` (read-only: the registry cache and the toolchains), `RUSTUP_TOOLCHAIN` when
//! set, `CARGO_TERM_COLOR=never`.
//!
//! Output (cargo's JSON messages, one object per line): keep `reason == "compiler-message"`
//! whose `message.level == "error"`; the position is the primary span's `file_name`,
//! `line_start`, `column_start` (1-based); the code is `message.code.code` (`E0425`, …).
//! rustc's parse errors carry no code: those are reported with code `syntax`, other code-less
//! errors with an empty code.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::sandbox::Job;
use crate::validate::Finding;

/// The target-dir cache for `repo`: `<ai-tools cache dir>/cargo-target/<16 hex of the repo
/// path's SHA-256>` — outside the working tree (a build script may write there; it is the one
/// writable path outside the scratch area), shared by runs so dependencies compile once.
pub fn target_cache(repo: &Path) -> PathBuf {
    use sha2::{Digest, Sha256};
    let canon = repo.canonicalize().unwrap_or_else(|_| repo.to_path_buf());
    let id = hex::encode(Sha256::digest(canon.display().to_string().as_bytes()));
    let base = crate::models::cache_dir_with(&|k| std::env::var(k).ok())
        .unwrap_or_else(|_| std::env::temp_dir().join("ai-tools-cache"));
    base.join("cargo-target").join(&id[..16])
}

/// `job` with the environment and paths cargo needs (see the module docs); `target` is the
/// target-dir cache.
pub fn job<'a>(mut job: Job<'a>, target: &Path) -> Job<'a> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let var = |k: &str, default: &str| {
        std::env::var_os(k).map(PathBuf::from).or_else(|| home.as_ref().map(|h| h.join(default)))
    };
    job = job.env("CARGO_TARGET_DIR", target.display().to_string()).env("CARGO_TERM_COLOR", "never").writable(target);
    for (k, default) in [("CARGO_HOME", ".cargo"), ("RUSTUP_HOME", ".rustup")] {
        if let Some(p) = var(k, default) {
            job = job.env(k, p.display().to_string()).readable(p);
        }
    }
    if let Ok(t) = std::env::var("RUSTUP_TOOLCHAIN") {
        job = job.env("RUSTUP_TOOLCHAIN", t);
    }
    job
}

/// The arguments.
pub fn args() -> Vec<String> {
    ["check", "--offline", "--message-format", "json", "--quiet"].iter().map(|s| (*s).to_owned()).collect()
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

#[derive(Deserialize)]
struct Span {
    file_name: String,
    line_start: u32,
    column_start: u32,
    is_primary: bool,
}

#[derive(Deserialize)]
struct Message {
    message: String,
    level: String,
    code: Option<Code>,
    #[serde(default)]
    spans: Vec<Span>,
}

#[derive(Deserialize)]
struct Line {
    reason: String,
    message: Option<Message>,
}

fn is_parse_error(m: &str) -> bool {
    m.starts_with("expected ")
        || m.starts_with("unexpected ")
        || m.starts_with("mismatched closing delimiter")
        || m.contains("unclosed delimiter")
        || m.contains("unexpected closing delimiter")
}

/// Parses cargo's JSON message lines (see the module docs).
pub fn parse(stdout: &str) -> Vec<Finding> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Line>(l.trim()).ok())
        .filter(|l| l.reason == "compiler-message")
        .filter_map(|l| l.message)
        .filter(|m| m.level == "error")
        .filter_map(|m| {
            let span = m.spans.iter().find(|s| s.is_primary).or(m.spans.first())?;
            let code = match m.code {
                Some(c) => c.code,
                None if is_parse_error(&m.message) => "syntax".to_owned(),
                None => String::new(),
            };
            Some(Finding {
                file: span.file_name.clone(),
                line: span.line_start,
                column: span.column_start,
                code,
                message: m.message,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_errors_with_primary_spans() {
        let out = r#"{"reason":"compiler-message","package_id":"x","message":{"message":"cannot find value `y` in this scope","code":{"code":"E0425","explanation":"..."},"level":"error","spans":[{"file_name":"src/lib.rs","line_start":2,"column_start":5,"is_primary":true}]}}
{"reason":"compiler-message","message":{"message":"unused variable","code":null,"level":"warning","spans":[{"file_name":"src/lib.rs","line_start":1,"column_start":1,"is_primary":true}]}}
{"reason":"compiler-message","message":{"message":"expected one of `!` or `::`, found `}`","code":null,"level":"error","spans":[{"file_name":"src/main.rs","line_start":3,"column_start":1,"is_primary":true}]}}
{"reason":"compiler-message","message":{"message":"aborting due to 2 previous errors","code":null,"level":"error","spans":[]}}
{"reason":"build-finished","success":false}"#;
        let f = parse(out);
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].file.as_str(), f[0].line, f[0].code.as_str()), ("src/lib.rs", 2, "E0425"));
        assert_eq!(f[1].code, "syntax");
    }
}
