//! The `local` provider against the real default model through llama.cpp (no stubs).
//!
//! Needs the model in the cache (`$AI_TOOLS_CACHE_DIR/models` or `~/.cache/ai-tools/models`):
//! run `cargo run --release -- model pull` (CI runs `.ci/install-model.sh`). Without it these
//! tests fail, on purpose.

// Test helpers panic on setup failures by design (clippy allows that only inside #[test] fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "local_support/mod.rs"]
mod local_support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use ai_tools::broker::local::engine::LocalModel;
use ai_tools::broker::local::{LocalProvider, LocalSettings, default_threads};
use ai_tools::broker::{ChatRequest, ErrorKind, Provider, StreamDelta};

fn provider(n_ctx: u32) -> LocalProvider {
    local_support::provider(n_ctx, 1.0, 0)
}

fn greedy(system: &str, user: &str, max_tokens: u32) -> ChatRequest {
    let mut r = ChatRequest::new(system, user, max_tokens);
    r.temperature = Some(0.0);
    r
}

async fn collect(
    p: &LocalProvider,
    req: &ChatRequest,
) -> (Result<ai_tools::broker::ChatResponse, ai_tools::broker::ProviderError>, Vec<String>) {
    let deltas = Mutex::new(Vec::new());
    let sink = |d: StreamDelta| {
        if let StreamDelta::Text(t) = d {
            deltas.lock().unwrap().push(t);
        }
    };
    let r = p.stream(req, &sink).await;
    (r, deltas.into_inner().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_llama_cpp_tokens_and_counts_usage() {
    let p = provider(2048);
    assert_eq!((p.kind(), p.capabilities().tools), ("local", true));
    let req = greedy("You are a Python programmer.", "Write a function that adds two numbers.", 40);
    let (r, deltas) = collect(&p, &req).await;
    let r = r.expect("generation");
    assert!(!deltas.is_empty(), "no text was streamed");
    assert_eq!(deltas.concat(), r.text, "the streamed deltas must add up to the reply");
    assert!(!r.text.trim().is_empty());
    assert!(r.usage.input_tokens > 20, "prompt tokens: {:?}", r.usage);
    assert!(r.usage.output_tokens > 0 && r.usage.output_tokens <= 40, "{:?}", r.usage);
    assert!(matches!(r.stop_reason.as_deref(), Some("stop" | "length")), "{:?}", r.stop_reason);
    assert_eq!(r.model, "SmolLM2-135M-Instruct.Q4_1");

    // Greedy decoding is reproducible: the same request gives the same text.
    let (again, _) = collect(&p, &req).await;
    assert_eq!(again.expect("second generation").text, r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_stream_stops_generation_within_a_few_tokens() {
    let p = provider(4096);
    let req = greedy("You are a Python programmer.", "Write a long Python module with many small functions.", 3000);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let tx = Mutex::new(Some(tx));
    let seen = Mutex::new(0usize);
    let sink = |d: StreamDelta| {
        if let StreamDelta::Text(_) = d {
            let mut n = seen.lock().unwrap();
            *n += 1;
            if *n == 3
                && let Some(tx) = tx.lock().unwrap().take()
            {
                let _ = tx.send(());
            }
        }
    };
    let finished_first = tokio::select! {
        r = p.stream(&req, &sink) => Some(r),
        _ = rx => None,
    };
    assert!(finished_first.is_none(), "the generation ended before it could be cancelled: {finished_first:?}");
    let dropped = Instant::now();
    while p.in_flight() > 0 {
        assert!(dropped.elapsed() < Duration::from_secs(3), "generation still running after the stream was dropped");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_larger_than_the_window_is_a_clear_config_error() {
    let p = provider(64);
    let req = greedy("You are terse.", &"Please read this sentence. ".repeat(40), 10);
    let (r, deltas) = collect(&p, &req).await;
    let e = r.expect_err("the prompt cannot fit 64 tokens");
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(e.message.contains("context window is 64 tokens"), "{e}");
    assert!(deltas.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_model_fails_with_a_pull_hint() {
    let t = tempfile::tempdir().unwrap();
    let cut = t.path().join("cut.gguf");
    let bytes = std::fs::read(local_support::model_path()).unwrap();
    std::fs::write(&cut, &bytes[..2 << 20]).unwrap();
    let s = LocalSettings { model_path: Some(cut), threads: 1, n_ctx: 512, repeat_penalty: 1.0, max_repeated_lines: 0 };
    // The header is intact, so the provider builds; llama.cpp refuses the tensor data.
    let p = LocalProvider::new("local", s).expect("header checks pass");
    let (r, _) = collect(&p, &greedy("s", "u", 4)).await;
    let e = r.expect_err("a cut-off model cannot load");
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(e.message.contains("truncated") && e.message.contains("ai-tools model pull"), "{e}");
}

#[test]
fn the_prompt_is_the_gguf_chat_template_with_its_default_system_prompt() {
    let m = LocalModel::load(&local_support::model_path()).expect("load");
    assert!(m.chat_template().is_some_and(|t| t.contains("<|im_start|>")));
    let req = ChatRequest::new("Be brief.", "Hi", 8);
    assert_eq!(
        m.prompt(&req).unwrap(),
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    let mut no_system = req;
    no_system.system = None;
    let p = m.prompt(&no_system).unwrap();
    assert!(p.starts_with("<|im_start|>system\nYou are a helpful AI assistant named SmolLM"), "{p}");
    // The ChatML markers are single special tokens, not text.
    let tokens = m.tokenize("<|im_start|>user\nHi<|im_end|>\n");
    assert!(tokens.len() <= 6, "{tokens:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_repetition_penalty_changes_what_a_looping_model_writes() {
    let req = greedy(
        "You are a Python programmer.",
        "Write a Python module with functions that add tags to a task, remove tags, and list tags.",
        160,
    );
    let plain = collect(&provider(2048), &req).await.0.unwrap().text;
    let s = LocalSettings {
        model_path: Some(local_support::model_path()),
        threads: default_threads(),
        n_ctx: 2048,
        repeat_penalty: 1.5,
        max_repeated_lines: 0,
    };
    let penalized = collect(&LocalProvider::new("local", s).unwrap(), &req).await.0.unwrap().text;
    // The longest run of identical lines: looping output repeats whole lines.
    let repeats = |t: &str| {
        let lines: Vec<&str> = t.lines().filter(|l| !l.trim().is_empty()).collect();
        let distinct: std::collections::HashSet<&str> = lines.iter().copied().collect();
        lines.len() - distinct.len()
    };
    assert_ne!(plain, penalized, "the penalty is part of the sampler chain");
    assert!(
        repeats(&penalized) <= repeats(&plain),
        "no more repeated lines with the penalty:\n{plain}\n---\n{penalized}"
    );
}
