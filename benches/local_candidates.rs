//! Best-of-N candidates on the embedded model: for small one-function plans, the codegen
//! request (the real templates and the whole-file grammar, `[providers.local]` limits) sampled
//! with N distinct seeds ([`ChatRequest::candidate`]), timed per candidate, each candidate
//! checked with the fast verifiers (Python's `ast.parse`, `ruff check --select F,E9` on stdin, as the validator runs it, the
//! plan-named function present).
//!
//! Reports, for N = 1, 2, 3 and each temperature: seconds per file (the N candidates run one
//! after another, as the local provider's concurrency of 1 makes them), generation tokens/s,
//! and how many files have at least one clean candidate ("best of N" quality). Candidates are
//! drawn once per (file, temperature, seed) and N = k uses the first k of them, so the three
//! N's are measured on the same samples, at the same moment of a shared machine's load.
//!
//! Run: `cargo bench --bench local_candidates` (needs the default model and `.venv/bin/ruff`
//! from `.ci/install-validators.sh`). `BENCH_TEMPS=0.2,0.8` sets the temperatures,
//! `BENCH_THREADS` the llama.cpp threads, `BENCH_PLANS` how many of the plans to run, `BENCH_SHOW=1` prints every reply. Prints the markdown table docs/bench-local.md records.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Instant;

use ai_tools::broker::local::guard::DEFAULT_MAX_REPEATED_LINES;
use ai_tools::broker::local::{DEFAULT_REPEAT_PENALTY, LocalProvider, LocalSettings, default_threads};
use ai_tools::broker::{ChatRequest, Provider};
use ai_tools::codegen::generate::{self, ReplyMode};
use ai_tools::codegen::prompt::Prompts;
use ai_tools::codegen::reply;
use ai_tools::config::{LOCAL_CONTEXT_BUDGET_TOKENS, LOCAL_MAX_TOKENS};
use ai_tools::plan::{Action, Plan, PlannedFile};
use ai_tools::task::relpath::RelPath;

/// (path, function the description names, description).
const PLANS: [(&str, &str, &str); 5] = [
    (
        "pkg/words.py",
        "reverse_words",
        "Define `reverse_words(s: str) -> str` returning the words of s in reverse order.",
    ),
    ("pkg/primes.py", "is_prime", "Define `is_prime(n: int) -> bool`: True when n is a prime number."),
    ("pkg/stats.py", "mean", "Define `mean(xs: list[float]) -> float` returning the average of xs (0.0 when empty)."),
    ("pkg/text.py", "count_vowels", "Define `count_vowels(s: str) -> int` counting the vowels (a, e, i, o, u) in s."),
    ("pkg/fizz.py", "fizzbuzz", "Define `fizzbuzz(n: int) -> list[str]` returning the FizzBuzz strings for 1..n."),
];

const SEEDS: u32 = 3;

struct Sample {
    secs: f64,
    gen_tokens: u64,
    clean: bool,
    text: String,
}

fn request(prompts: &Prompts, path: &str, description: &str) -> ChatRequest {
    let entry = PlannedFile {
        path: RelPath::new(path).unwrap(),
        action: Action::Create,
        description: description.into(),
        depends_on: vec![],
    };
    let plan = Plan::new(
        "Small helpers".into(),
        format!("# Small helpers\n\n{description}\n"),
        vec![entry.clone()],
        None,
        None,
    )
    .unwrap();
    let summary = "pkg/__init__.py (0 B)\n";
    let pkg = ai_tools::context::build(&plan, &entry, summary, None, vec![], LOCAL_CONTEXT_BUDGET_TOKENS);
    let (system, user) = generate::render(prompts, &pkg, ReplyMode::WholeFile).unwrap();
    let mut r = ChatRequest::new(system, user, LOCAL_MAX_TOKENS);
    r.reply_shape = Some(generate::reply_shape(&pkg, ReplyMode::WholeFile));
    r
}

fn run_ok(cmd: &mut Command, input: &str) -> bool {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait().unwrap().success()
}

/// The fast verifiers: the block parses, ruff finds nothing, the named function is defined.
fn clean(content: &str, function: &str) -> bool {
    let parses = run_ok(Command::new("python3").args(["-c", "import ast,sys; ast.parse(sys.stdin.read())"]), content);
    let ruff = run_ok(
        Command::new(".venv/bin/ruff").args([
            "check",
            "--select",
            "F,E9",
            "--no-cache",
            "--quiet",
            "--stdin-filename",
            "x.py",
            "-",
        ]),
        content,
    );
    parses && ruff && content.contains(&format!("def {function}("))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn main() {
    let threads = std::env::var("BENCH_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or_else(default_threads);
    let temps: Vec<f32> = std::env::var("BENCH_TEMPS")
        .unwrap_or_else(|_| "0.2,0.8".into())
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .collect();
    let n_plans = std::env::var("BENCH_PLANS").ok().and_then(|v| v.parse().ok()).unwrap_or(PLANS.len());
    let settings = LocalSettings {
        model_path: None,
        threads,
        n_ctx: 8192,
        repeat_penalty: DEFAULT_REPEAT_PENALTY,
        max_repeated_lines: DEFAULT_MAX_REPEATED_LINES,
    };
    let provider = LocalProvider::new("local", settings).expect("the default model (run `ai-tools model pull`)");
    provider.load_blocking().unwrap();
    let prompts = Prompts::load(None).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    // samples[temp][plan][seed]
    let mut samples: Vec<Vec<Vec<Sample>>> = Vec::new();
    for &t in &temps {
        let mut per_plan = Vec::new();
        for (path, function, description) in PLANS.into_iter().take(n_plans) {
            let base = request(&prompts, path, description);
            let mut v = Vec::new();
            for i in 0..SEEDS {
                let req = base.candidate(i, t);
                let started = Instant::now();
                let r = rt.block_on(provider.stream(&req, &|_| {})).unwrap();
                let secs = started.elapsed().as_secs_f64();
                let content = reply::fenced_blocks(&r.text).into_iter().next().map(|b| b.content).unwrap_or_default();
                let ok = clean(&content, function);
                eprintln!("t={t} {path} seed#{i}: {secs:.1}s {} tokens clean={ok}", r.usage.output_tokens);
                if std::env::var_os("BENCH_SHOW").is_some() {
                    eprintln!("{}", r.text);
                }
                v.push(Sample { secs, gen_tokens: r.usage.output_tokens, clean: ok, text: r.text });
            }
            per_plan.push(v);
        }
        samples.push(per_plan);
    }

    println!("\nload average at start: {}", load.trim());
    println!(
        "\n| temperature | N | seconds per file (mean) | output tokens per wall second (median) | files with a clean candidate | distinct candidates per file (mean) |"
    );
    println!("|---|---|---|---|---|---|");
    for (ti, &t) in temps.iter().enumerate() {
        for n in 1..=SEEDS as usize {
            let files = &samples[ti];
            let secs: f64 =
                files.iter().map(|f| f[..n].iter().map(|s| s.secs).sum::<f64>()).sum::<f64>() / files.len() as f64;
            let mut tps: Vec<f64> =
                files.iter().flat_map(|f| f[..n].iter()).map(|s| s.gen_tokens as f64 / s.secs).collect();
            let good = files.iter().filter(|f| f[..n].iter().any(|s| s.clean)).count();
            let distinct: f64 = files
                .iter()
                .map(|f| {
                    let set: std::collections::HashSet<&str> = f[..n].iter().map(|s| s.text.as_str()).collect();
                    set.len() as f64
                })
                .sum::<f64>()
                / files.len() as f64;
            println!("| {t} | {n} | {secs:.1} | {:.1} | {good}/{} | {distinct:.1} |", median(&mut tps), files.len());
        }
    }
}
