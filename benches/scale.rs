//! Scale: a generated repo of N files (default 100,000; `AI_TOOLS_BENCH_FILES` to change) and a
//! plan of P files (default 10,000, `AI_TOOLS_BENCH_PLAN`) that form one dependency chain.
//! Each measurement sits next to a baseline measured in the same run:
//!
//! - plan load (`plan::load`: parse, check every target against the tree, layer the waves)
//!   against parsing plan.files.json alone with serde_json — target: < 1 s absolute;
//! - the context stage's repo walk (`context::repo_summary::summarize`) against
//!   `git ls-files` in the same repo — target: ≤ 2×;
//! - the shadow tree (`validate::shadow::ShadowTree::build`, the validate stage's view of the
//!   repo with code/files overlaid) against `cp -r` of the repo into the same temp dir.
//!
//! The generated repo lives under `/dev/shm` when it exists; the copies go to the system temp
//! dir (`TMPDIR`), so set `TMPDIR=/dev/shm` to keep every piece off the disk.
//!
//! Run: `cargo bench --bench scale` (plain timing, median of 3 runs each; prints a table).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ai_tools::codegen::materialize::{Manifest, ManifestEntry};
use ai_tools::plan::Action;
use ai_tools::task::TaskDir;
use ai_tools::task::relpath::RelPath;

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

fn median(mut f: impl FnMut() -> Duration) -> Duration {
    let mut v: Vec<Duration> = (0..3).map(|_| f()).collect();
    v.sort();
    v[1]
}

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn run(dir: &Path, prog: &str, args: &[&str]) {
    let ok = Command::new(prog).args(args).current_dir(dir).output().is_ok_and(|o| o.status.success());
    assert!(ok, "{prog} {args:?} failed");
}

fn main() {
    let n = env_usize("AI_TOOLS_BENCH_FILES", 100_000);
    let p = env_usize("AI_TOOLS_BENCH_PLAN", 10_000);
    let base = if Path::new("/dev/shm").is_dir() { Path::new("/dev/shm") } else { Path::new("/tmp") };
    let dir = tempfile::tempdir_in(base).expect("temp dir");
    let repo = dir.path().join("repo");
    let t0 = Instant::now();
    for i in 0..n {
        let d = repo.join(format!("pkg{:03}/mod{:02}", i % 500, (i / 500) % 40));
        if i < 20_000 {
            std::fs::create_dir_all(&d).expect("mkdir");
        }
        std::fs::write(d.join(format!("f{i}.py")), format!("X_{i} = {i}\n")).expect("write");
    }
    run(&repo, "git", &["init", "-q", "."]);
    run(&repo, "git", &["add", "-A"]);
    run(&repo, "git", &["-c", "user.email=b@x", "-c", "user.name=b", "commit", "-qm", "init"]);
    eprintln!("generated {n} files in {:.1} s", t0.elapsed().as_secs_f64());

    // A plan of p new files in one chain: file k depends on file k-1.
    let task = TaskDir::new(dir.path().join("task"));
    std::fs::create_dir_all(task.root().join("planning")).expect("mkdir");
    std::fs::write(task.plan_md(), "# Scale\n\nMany files.\n").expect("write");
    let entries: Vec<String> = (0..p)
        .map(|k| {
            let deps = if k == 0 { String::new() } else { format!("\"gen/g{}.py\"", k - 1) };
            format!("{{\"path\": \"gen/g{k}.py\", \"action\": \"create\", \"description\": \"g\", \"depends_on\": [{deps}]}}")
        })
        .collect();
    let json = format!("{{\"files\": [{}]}}", entries.join(",\n"));
    std::fs::write(task.plan_files_json(), &json).expect("write");

    let load = median(|| time(|| assert_eq!(ai_tools::plan::load(&task, &repo).expect("plan").waves.len(), p)));
    let parse = median(|| time(|| drop(serde_json::from_str::<serde_json::Value>(&json).expect("json"))));

    let walk = median(|| time(|| drop(ai_tools::context::repo_summary::summarize(&repo, 300).render())));
    let ls = median(|| time(|| run(&repo, "git", &["ls-files", "-z"])));

    let files_dir = dir.path().join("files");
    let mut manifest = Manifest { run_id: "20260101-000000-aaaa".into(), files: Vec::new() };
    for k in 0..p.min(1000) {
        let rel = format!("gen/g{k}.py");
        std::fs::create_dir_all(files_dir.join("gen")).expect("mkdir");
        std::fs::write(files_dir.join(&rel), "G = 1\n").expect("write");
        manifest.files.push(ManifestEntry { path: RelPath::new(&rel).expect("path"), action: Action::Create });
    }
    // Both copies land in the same place (the system temp dir, where the scratch area lives)
    // and neither timing includes removing the copy afterwards.
    let shadow = median(|| {
        let t = Instant::now();
        let s = ai_tools::validate::shadow::ShadowTree::build(&repo, &files_dir, &manifest).expect("shadow");
        let d = t.elapsed();
        drop(s);
        d
    });
    let copy = median(|| {
        let into = tempfile::tempdir().expect("temp dir");
        let dest = into.path().join("copy");
        let d = time(|| run(dir.path(), "cp", &["-r", "repo", dest.to_str().expect("utf-8 temp dir")]));
        drop(into);
        d
    });

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| {n} files, {p}-file plan | ai-tools | baseline | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| plan load (chain of {p}) | {:.0} ms | {:.0} ms (serde_json parse only) | {:.1}× |",
        ms(load),
        ms(parse),
        ms(load) / ms(parse)
    );
    println!(
        "| context: repo walk | {:.0} ms | {:.0} ms (`git ls-files`) | {:.2}× |",
        ms(walk),
        ms(ls),
        ms(walk) / ms(ls)
    );
    println!(
        "| shadow tree build | {:.0} ms | {:.0} ms (`cp -r`) | {:.2}× |",
        ms(shadow),
        ms(copy),
        ms(shadow) / ms(copy)
    );
}
