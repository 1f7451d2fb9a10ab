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

/// The prompt-eval request: a ~460-token prompt with a module to extend, like a codegen
/// `modify` request.
fn long_request(max_tokens: u32) -> ChatRequest {
    let module = (0..12)
        .map(|i| format!("def step_{i}(items, factor={i}):\n    \"\"\"Scale every item by {i}.\"\"\"\n    return [x * factor for x in items]\n"))
        .collect::<Vec<_>>()
        .join("\n");
    let user = format!(
        "Here is pipeline.py:\n\n```python\n{module}```\n\nWrite a long Python module that adds many more steps like these, each with a docstring."
    );
    greedy(user, max_tokens)
}

/// The generation request: a short prompt that keeps the model writing for `GEN` tokens, so a
/// sample's time goes to generation.
fn short_request(max_tokens: u32) -> ChatRequest {
    greedy("Write a long Python module with many small functions, each with a docstring.".into(), max_tokens)
}

fn greedy(user: String, max_tokens: u32) -> ChatRequest {
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
    let sink = |d: StreamDelta| {
        if let StreamDelta::Text(_) = d {
            first.lock().unwrap().get_or_insert_with(Instant::now);
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

/// Paired measurements of one quantity.
struct Paired {
    /// Median provider tokens/s.
    provider: f64,
    /// Median bare-loop tokens/s.
    bare: f64,
    /// Median of per-pair provider/bare ratios.
    ratio: f64,
    /// Fastest run of each: (provider, bare).
    best: (f64, f64),
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
    // BENCH_THREADS overrides the provider's default (the number of cores), e.g. 1 on a shared
    // machine where spinning thread barriers make 2-thread numbers noisy.
    let threads = std::env::var("BENCH_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or_else(default_threads);
    let rss_start = vm_hwm_kib();

    let mut loads: Vec<f64> = (0..5).map(|_| LocalModel::load(&path).unwrap().load_time().as_secs_f64()).collect();
    let load_ms = median(&mut loads) * 1000.0;

    let settings = LocalSettings {
        model_path: Some(path.clone()),
        threads,
        n_ctx: 8192,
        repeat_penalty: 1.0,
        max_repeated_lines: 0,
    };
    let provider = LocalProvider::new("local", settings).unwrap();
    let model = provider.load_blocking().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    // Same prompt text, same greedy tokens: check the two paths agree before timing them.
    let long_prompt = model.prompt(&long_request(1)).unwrap();
    let short_prompt = model.prompt(&short_request(GEN)).unwrap();
    let (a, b) = (provider_run(&rt, &provider, &short_request(GEN)), bare(&model, &short_prompt, GEN, threads));
    assert_eq!((a.prompt_tokens, a.output_tokens), (b.prompt_tokens, b.output_tokens), "paths disagree");
    assert_eq!(a.text, b.text, "greedy outputs differ");
    assert!(a.output_tokens as u32 == GEN, "the prompt must keep the model going for {GEN} tokens");
    let n_prompt = model.tokenize(&long_prompt).len() as u64;
    let load_avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

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
                    let r = provider_run(&rt, &provider, &long_request(1));
                    r.total
                })
                .sum()
        })
    });
    g.bench_function("bare_llama_cpp", |bch| {
        bch.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let r = bare(&model, &long_prompt, 1, threads);
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
                    let r = provider_run(&rt, &provider, &short_request(GEN));
                    r.decode_phase
                })
                .sum()
        })
    });
    g.bench_function("bare_llama_cpp", |bch| {
        bch.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let r = bare(&model, &short_prompt, GEN, threads);
                    r.decode_phase
                })
                .sum()
        })
    });
    g.finish();
    c.final_summary();

    // Paired runs for the ratios: the machine may be shared, so each provider run is timed next
    // to a bare run (alternating which goes first) and the ratio is taken per pair.
    let pairs = |n: usize, f: &dyn Fn(bool) -> (f64, f64)| -> Paired {
        let (mut p, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let (pv, bv) = f(i % 2 == 0);
            r.push(pv / bv);
            p.push(pv);
            b.push(bv);
        }
        let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
        Paired { best: (best(&p), best(&b)), provider: median(&mut p), bare: median(&mut b), ratio: median(&mut r) }
    };
    let prompt_rate = |provider_first: bool| {
        let prov = || n_prompt as f64 / provider_run(&rt, &provider, &long_request(1)).total.as_secs_f64();
        let bare = || n_prompt as f64 / bare(&model, &long_prompt, 1, threads).total.as_secs_f64();
        if provider_first {
            let p = prov();
            (p, bare())
        } else {
            let b = bare();
            (prov(), b)
        }
    };
    let gen_rate = |provider_first: bool| {
        let prov = || f64::from(GEN - 1) / provider_run(&rt, &provider, &short_request(GEN)).decode_phase.as_secs_f64();
        let bare = || f64::from(GEN - 1) / bare(&model, &short_prompt, GEN, threads).decode_phase.as_secs_f64();
        if provider_first {
            let p = prov();
            (p, bare())
        } else {
            let b = bare();
            (prov(), b)
        }
    };
    let n_pairs: usize = std::env::var("BENCH_PAIRS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let prompt = pairs(n_pairs, &prompt_rate);
    let gen_ = pairs(n_pairs, &gen_rate);
    println!(
        "\n## local provider vs bare llama-cpp-2 ({threads} threads; prompt eval: {n_prompt}-token prompt; generation: {GEN} tokens)\n"
    );
    println!(
        "{n_pairs} interleaved pairs each. Median: median tokens/s, and the median of per-pair ratios. Best: the fastest run of each path, and their ratio.\n"
    );
    println!("| measure | local provider | bare llama-cpp-2 loop | ratio |");
    println!("|---|---|---|---|");
    for (name, p) in [("prompt eval", &prompt), ("generation", &gen_)] {
        println!("| {name}, tokens/s, median | {:.1} | {:.1} | {:.3} |", p.provider, p.bare, p.ratio);
        println!("| {name}, tokens/s, best | {:.1} | {:.1} | {:.3} |", p.best.0, p.best.1, p.best.0 / p.best.1);
    }
    println!("\n- model load ({}): {load_ms:.0} ms (median of 5, page cache warm)", path.display());
    println!("- load average at start (/proc/loadavg): {}", load_avg.trim());
    println!(
        "- peak memory (VmHWM): {:.0} MB at start, {:.0} MB at the end",
        rss_start as f64 / 1024.0,
        vm_hwm_kib() as f64 / 1024.0
    );
}
