//! Validate-stage wall time for N generated files (N Python + N TSX) against the slowest single
//! validator of the same run. The validators run concurrently, each in the bubblewrap sandbox
//! (when it works here), so the stage should take little more than its slowest validator:
//! target ≤ 1.2×. Also printed: the sandbox's own start-up per process (`bwrap … true` against
//! a direct `true`, same scrubbed environment) and the scratch view's cost (copy, as used,
//! against hard links, the old shadow tree).
//!
//! Uses the real validators from `.ci/install-validators.sh` (`.venv/`, `node_modules/`).
//! Run: `cargo bench --bench validate`; prints the ratio table that docs/bench-validate.md
//! records.

use std::path::Path;
use std::time::{Duration, Instant};

use ai_tools::codegen::materialize::{Manifest, ManifestEntry};
use ai_tools::config::ValidateConfig;
use ai_tools::plan::Action;
use ai_tools::task::relpath::RelPath;
use ai_tools::validate::Validators;
use ai_tools::validate::shadow::ShadowTree;
use criterion::{Criterion, criterion_group, criterion_main};

const TSCONFIG: &str = r#"{"compilerOptions":{"target":"ES2020","module":"ESNext","moduleResolution":"bundler","jsx":"react-jsx","strict":true,"noEmit":true,"skipLibCheck":true,"types":[]},"include":["src"]}"#;

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    if let Some(d) = p.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    let _ = std::fs::write(p, content);
}

struct Fixture {
    _dir: tempfile::TempDir,
    repo: std::path::PathBuf,
    files: std::path::PathBuf,
    manifest: Manifest,
    targets: Vec<RelPath>,
}

fn fixture(n: usize) -> Option<Fixture> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root.join(".venv/bin/pyright").exists() || !root.join("node_modules/.bin/tsc").exists() {
        eprintln!("validators missing: run `bash .ci/install-validators.sh` first");
        return None;
    }
    let dir = tempfile::tempdir().ok()?;
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).ok()?;
    std::os::unix::fs::symlink(root.join(".venv"), repo.join(".venv")).ok()?;
    std::os::unix::fs::symlink(root.join("node_modules"), repo.join("node_modules")).ok()?;
    write(&repo, "tsconfig.json", TSCONFIG);
    write(&repo, "app/__init__.py", "");
    // Some existing repo files for the shadow tree to mirror.
    for i in 0..200 {
        write(
            &repo,
            &format!("lib/existing_{i}.py"),
            &format!("def existing_{i}(x: int) -> int:\n    return x + {i}\n"),
        );
    }
    let files = dir.path().join("files");
    let mut entries = Vec::new();
    for i in 0..n {
        let py = format!(
            "\"\"\"Module {i}.\"\"\"\nfrom lib.existing_{i} import existing_{i}\n\n\ndef f_{i}(items: list[int]) -> int:\n    total = 0\n    for x in items:\n        total += existing_{i}(x)\n    return total{}\n",
            if i % 5 == 0 { " + undefined_name" } else { "" }
        );
        let tsx = format!(
            "import type {{ ReactElement }} from \"react\";\n\nexport function W{i}(props: {{ n: number }}): ReactElement {{\n  const label: {} = props.n;\n  return <span>{{label}}</span>;\n}}\n",
            if i % 5 == 0 { "string" } else { "number" }
        );
        for (p, c) in [(format!("app/m{i}.py"), py), (format!("src/W{i}.tsx"), tsx)] {
            write(&files, &p, &c);
            entries.push(ManifestEntry { path: RelPath::new(&p).ok()?, action: Action::Create });
        }
    }
    let targets = entries.iter().map(|e| e.path.clone()).collect();
    Some(Fixture { _dir: dir, repo, files, manifest: Manifest { run_id: "bench".into(), files: entries }, targets })
}

/// One validate stage: build the shadow tree, run every validator concurrently. Returns the
/// stage's wall time, the slowest validator's, and the sum of all validators'.
async fn stage(f: &Fixture, v: &Validators) -> (Duration, Duration, Duration, usize, &'static str) {
    let t = Instant::now();
    let Ok(shadow) = ShadowTree::build(&f.repo, &f.files, &f.manifest) else { return Default::default() };
    let Ok(out) = v.validate(&shadow, "validate").await else { return Default::default() };
    let wall = t.elapsed();
    let slowest = out.runs.iter().max_by_key(|r| r.elapsed_ms);
    let sum: u64 = out.runs.iter().map(|r| r.elapsed_ms).sum();
    let name = match slowest.map(|r| r.tool.as_str()) {
        Some("tsc") => "tsc",
        Some("pyright") => "pyright",
        Some("ruff") => "ruff",
        _ => "other",
    };
    (
        wall,
        Duration::from_millis(slowest.map_or(0, |r| r.elapsed_ms)),
        Duration::from_millis(sum),
        out.reports.len(),
        name,
    )
}

fn bench(c: &mut Criterion) {
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread().enable_all().build() else { return };
    let mut table = Vec::new();
    let mut group = c.benchmark_group("validate_stage");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(20));
    for n in [10usize, 40] {
        let Some(f) = fixture(n) else { return };
        let v = Validators::discover(&f.repo, &ValidateConfig::default(), &f.targets);
        let mut samples: Vec<(Duration, Duration, Duration, usize, &'static str)> = Vec::new();
        group.bench_function(format!("{}_files", 2 * n), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let s = rt.block_on(stage(&f, &v));
                    total += s.0;
                    samples.push(s);
                }
                total
            })
        });
        samples.sort_by(|a, b| {
            (a.0.as_secs_f64() / a.1.as_secs_f64()).total_cmp(&(b.0.as_secs_f64() / b.1.as_secs_f64()))
        });
        if let Some(mid) = samples.get(samples.len() / 2).copied() {
            let worst = samples.last().copied().unwrap_or(mid);
            table.push((2 * n, mid, worst.0.as_secs_f64() / worst.1.as_secs_f64(), samples.len()));
        }
    }
    group.finish();
    println!(
        "\n| files | findings | stage wall (median-ratio run) | slowest validator | sum of validators | stage / slowest (median) | stage / slowest (worst) | runs |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (files, (wall, slow, sum, findings, name), worst, runs) in table {
        println!(
            "| {files} | {findings} | {:.2} s | {:.2} s ({name}) | {:.2} s | {:.3}× | {:.3}× | {runs} |",
            wall.as_secs_f64(),
            slow.as_secs_f64(),
            sum.as_secs_f64(),
            wall.as_secs_f64() / slow.as_secs_f64(),
            worst
        );
    }
    overheads(&rt);
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// The sandbox's start-up per process and the scratch view's build cost, printed as a table.
fn overheads(rt: &tokio::runtime::Runtime) {
    use ai_tools::sandbox::{Job, Sandbox, SandboxConfig, Scratch};
    let Some(f) = fixture(40) else { return };
    let Ok(scratch) = Scratch::mirror_of(&f.repo) else { return };
    let boxed = Sandbox::detect(&SandboxConfig::default());
    let direct = Sandbox::detect(&SandboxConfig { enabled: false, ..SandboxConfig::default() });
    let time = |sb: &Sandbox| {
        let runs: Vec<Duration> = (0..30)
            .map(|_| {
                let t = Instant::now();
                let _ = rt.block_on(sb.run(Job::new("/usr/bin/true", &scratch).executes_code(false)));
                t.elapsed()
            })
            .collect();
        median(runs)
    };
    let (b, d) = (time(&boxed), time(&direct));
    println!("\n| process start-up (median of 30) | bwrap sandbox | direct | sandbox's own cost |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| `true` (sandboxed: {}) | {:.1} ms | {:.1} ms | {:.1} ms per process |",
        boxed.is_isolated(),
        b.as_secs_f64() * 1e3,
        d.as_secs_f64() * 1e3,
        (b.as_secs_f64() - d.as_secs_f64()) * 1e3
    );
    let copy = median(
        (0..10)
            .map(|_| {
                let t = Instant::now();
                let _ = Scratch::mirror_of(&f.repo);
                t.elapsed()
            })
            .collect(),
    );
    let link = median(
        (0..10)
            .map(|_| {
                let t = Instant::now();
                if let Ok(d) = tempfile::tempdir() {
                    hard_link_tree(&f.repo, d.path());
                }
                t.elapsed()
            })
            .collect(),
    );
    println!(
        "\n| scratch view of a {}-file repo (median of 10) | copy (used) | hard links (old) | ratio |",
        scratch.copied()
    );
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| build | {:.1} ms | {:.1} ms | {:.2}× |",
        copy.as_secs_f64() * 1e3,
        link.as_secs_f64() * 1e3,
        copy.as_secs_f64() / link.as_secs_f64().max(1e-9)
    );
}

/// The old shadow tree's mirroring: hard links (dependency dirs skipped), for the comparison.
fn hard_link_tree(from: &Path, to: &Path) {
    let Ok(rd) = std::fs::read_dir(from) else { return };
    for e in rd.flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            let _ = std::fs::create_dir(&dst);
            hard_link_tree(&src, &dst);
        } else if ft.is_file() {
            let _ = std::fs::hard_link(&src, &dst);
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
