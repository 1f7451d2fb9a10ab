//! The `local` provider against a bare `llama-cpp-2` decode loop, on the same model, prompt,
//! context size, thread count and (greedy) sampler, in the same process:
//!
//! - prompt evaluation: a request with `max_tokens = 1`, end to end (provider: template,
//!   tokenize, context, prompt batches, one sample, channel; bare loop: tokenize, context, prompt
//!   batches, one sample), as prompt tokens per second;
//! - generation: tokens per second from the first generated token to the last, `GEN` tokens;
//! - model load time (`LocalModel::load`, page cache warm) and peak memory (VmHWM).
//!
//! Run with `cargo bench --bench local_provider`; needs the default model
//! (`cargo run --release -- model pull`). Prints a markdown summary at the end (the numbers in
//! docs/bench-local.md come from it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ai_tools::broker::local::engine::{BATCH, LocalModel, backend};
use ai_tools::broker::local::{LocalProvider, LocalSettings, default_threads};
use ai_tools::broker::{ChatRequest, Provider, StreamDelta};
use criterion::{Criterion, SamplingMode, Throughput};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::sampling::LlamaSampler;

/// Tokens generated per generation sample.
const GEN: u32 = 128;

/// A ~500-token prompt: a module to extend, like a codegen `modify` request.
fn request(max_tokens: u32) -> ChatRequest {
    let module = (0..12)
        .map(|i| format!("def step_{i}(items, factor={i}):\n    \"\"\"Scale every item by {i}.\"\"\"\n    return [x * factor for x in items]\n"))
        .collect::<Vec<_>>()
        .join("\n");
    let user = format!(
        "Here is pipeline.py:\n\n```python\n{module}```\n\nWrite a long Python module that adds many more steps like these, each with a docstring."
    );
    let mut r = ChatRequest::new("You are a careful Python programmer. Reply with code only.", user, max_tokens);
    r.temperature = Some(0.0);
    r
}

struct Run {
    text: String,
    prompt_tokens: usize,
    output_tokens: usize,
    total: Duration,
    decode_phase: Duration,
}

/// The baseline: the llama-cpp-2 `simple` example's loop with the provider's context settings.
fn bare(model: &LocalModel, prompt: &str, max_tokens: u32, threads: usize) -> Run {
    let start = Instant::now();
    let llama = model.llama();
    let tokens = model.tokenize(prompt);
    let n_ctx = (tokens.len() as u32 + max_tokens).div_ceil(256) * 256;
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_batch(BATCH as u32)
        .with_n_ubatch(BATCH as u32)
        .with_n_threads(threads as i32)
        .with_n_threads_batch(threads as i32);
    let mut ctx = llama.new_context(backend().unwrap(), params).unwrap();
    let mut batch = LlamaBatch::new(BATCH, 1);
    let last = tokens.len() - 1;
    for (ci, chunk) in tokens.chunks(BATCH).enumerate() {
        batch.clear();
        for (j, t) in chunk.iter().enumerate() {
            let pos = ci * BATCH + j;
            batch.add(*t, pos as i32, &[0], pos == last).unwrap();
        }
        ctx.decode(&mut batch).unwrap();
    }
    let vocab = llama.vocab();
    let mut sampler = LlamaSampler::greedy();
    let mut bytes = Vec::new();
    let mut n_past = tokens.len() as i32;
    let mut first: Option<Instant> = None;
    let mut out = 0usize;
    while out < max_tokens as usize {
        let token = sampler.sample(&ctx, -1);
        if vocab.is_eog(token) {
            break;
        }
        first.get_or_insert_with(Instant::now);
        out += 1;
        vocab.token_to_piece_into(token, &mut bytes, false, None);
        if out == max_tokens as usize {
            break;
        }
        batch.clear();
        batch.add(token, n_past, &[0], true).unwrap();
        ctx.decode(&mut batch).unwrap();
        n_past += 1;
    }
    let end = Instant::now();
    Run {
        text: String::from_utf8_lossy(&bytes).into_owned(),
        prompt_tokens: tokens.len(),
        output_tokens: out,
        total: end - start,
        decode_phase: first.map_or(Duration::ZERO, |f| end - f),
    }
}

fn provider_run(rt: &tokio::runtime::Runtime, p: &LocalProvider, req: &ChatRequest) -> Run {
    let first = Mutex::new(None::<Instant>);
    let last = Mutex::new(None::<Instant>);
    let sink = |d: StreamDelta| {
        if let StreamDelta::Text(_) = d {
            let now = Instant::now();
            first.lock().unwrap().get_or_insert(now);
            *last.lock().unwrap() = Some(now);
        }
    };
    let start = Instant::now();
    let r = rt.block_on(p.stream(req, &sink)).unwrap();
    let end = Instant::now();
    let first = first.into_inner().unwrap();
    Run {
        text: r.text,
        prompt_tokens: r.usage.input_tokens as usize,
        output_tokens: r.usage.output_tokens as usize,
        total: end - start,
        decode_phase: first.map_or(Duration::ZERO, |f| end - f),
    }
}

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn main() {
    let path = ai_tools::models::default_model_path().unwrap();
    if let Err(e) = ai_tools::models::check_gguf(&path) {
        panic!("the benchmark needs the default model: {e}\nrun `cargo run --release -- model pull` first");
    }
    let threads = default_threads();
    let rss_start = vm_hwm_kib();

    let mut loads: Vec<f64> = (0..5).map(|_| LocalModel::load(&path).unwrap().load_time().as_secs_f64()).collect();
    let load_ms = median(&mut loads) * 1000.0;

    let settings = LocalSettings { model_path: Some(path.clone()), threads, n_ctx: 8192 };
    let provider = LocalProvider::new("local", settings).unwrap();
    let model = provider.load_blocking().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    // Same prompt text, same greedy tokens: check the two paths agree before timing them.
    let prompt = model.prompt(&request(GEN)).unwrap();
    let (a, b) = (provider_run(&rt, &provider, &request(GEN)), bare(&model, &prompt, GEN, threads));
    assert_eq!((a.prompt_tokens, a.output_tokens), (b.prompt_tokens, b.output_tokens), "paths disagree");
    assert_eq!(a.text, b.text, "greedy outputs differ");
    assert!(a.output_tokens as u32 == GEN, "the prompt must keep the model going for {GEN} tokens");
    let n_prompt = a.prompt_tokens as u64;

    let samples: Mutex<Vec<(&'static str, f64)>> = Mutex::new(Vec::new());
    let record = |name: &'static str, v: f64| samples.lock().unwrap().push((name, v));
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .configure_from_args();

    let mut g = c.benchmark_group("prompt_eval");
    g.sampling_mode(SamplingMode::Flat).throughput(Throughput::Elements(n_prompt));
    g.bench_function("local_provider", |bch| {
        bch.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let r = provider_run(&rt, &provider, &request(1));
                    record("prompt/provider", n_prompt as f64 / r.total.as_secs_f64());
                    r.total
                })
                .sum()
        })
    });
    g.bench_function("bare_llama_cpp", |bch| {
        bch.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let r = bare(&model, &prompt, 1, threads);
                    record("prompt/bare", n_prompt as f64 / r.total.as_secs_f64());
                    r.total
                })
                .sum()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("generation");
    g.sampling_mode(SamplingMode::Flat).throughput(Throughput::Elements(u64::from(GEN - 1)));
    g.bench_function("local_provider", |bch| {
        bch.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let r = provider_run(&rt, &provider, &request(GEN));
                    record("gen/provider", f64::from(GEN - 1) / r.decode_phase.as_secs_f64());
                    r.decode_phase
                })
                .sum()
        })
    });
    g.bench_function("bare_llama_cpp", |bch| {
        bch.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let r = bare(&model, &prompt, GEN, threads);
                    record("gen/bare", f64::from(GEN - 1) / r.decode_phase.as_secs_f64());
                    r.decode_phase
                })
                .sum()
        })
    });
    g.finish();
    c.final_summary();

    let all = samples.into_inner().unwrap();
    let med = |name: &str| median(&mut all.iter().filter(|(n, _)| *n == name).map(|(_, v)| *v).collect::<Vec<_>>());
    let (pp, pb, gp, gb) = (med("prompt/provider"), med("prompt/bare"), med("gen/provider"), med("gen/bare"));
    println!(
        "\n## local provider vs bare llama-cpp-2 ({threads} threads, {n_prompt}-token prompt, {GEN} generated tokens)\n"
    );
    println!("| measure | local provider | bare llama-cpp-2 loop | ratio |");
    println!("|---|---|---|---|");
    println!("| prompt eval, tokens/s (median) | {pp:.0} | {pb:.0} | {:.3} |", pp / pb);
    println!("| generation, tokens/s (median) | {gp:.1} | {gb:.1} | {:.3} |", gp / gb);
    println!("\n- model load ({}): {load_ms:.0} ms (median of 5, page cache warm)", path.display());
    println!(
        "- peak memory (VmHWM): {:.0} MB at start, {:.0} MB at the end",
        rss_start as f64 / 1024.0,
        vm_hwm_kib() as f64 / 1024.0
    );
}
