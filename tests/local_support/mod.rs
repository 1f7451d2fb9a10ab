//! The real default model for the `local` provider tests (`#[path]`-included by them only, so
//! the other test binaries build without llama.cpp).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use ai_tools::broker::local::{LocalProvider, LocalSettings, default_threads};
use ai_tools::models;

/// The cached default model; panics with what to run when it is missing or unusable.
pub fn model_path() -> PathBuf {
    let path = models::default_model_path().expect("a cache dir");
    if let Err(e) = models::check_gguf(&path) {
        panic!(
            "the default model is needed for this test and is not usable: {e}\n\
             run `cargo run --release -- model pull` (or .ci/install-model.sh) first"
        );
    }
    path
}

/// A `local` provider on the default model with a context of `n_ctx` tokens, a repeat penalty
/// and the repeated-line stop (`0`: off).
pub fn provider(n_ctx: u32, repeat_penalty: f32, max_repeated_lines: u32) -> LocalProvider {
    let s = LocalSettings {
        model_path: Some(model_path()),
        threads: default_threads(),
        n_ctx,
        repeat_penalty,
        max_repeated_lines,
    };
    LocalProvider::new("local", s).expect("provider")
}
