//! diff.patch for a generated tree of 1,000 files / 100k lines against its base, next to
//! `git diff --no-index` on the same two trees, in the same run. Both read the files from disk
//! and produce a full unified diff; ai-tools is measured with each diff backend (imara-diff's
//! histogram and similar's Myers) so the faster can be the default.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use ai_tools::codegen::diff::{self, Backend};
use ai_tools::codegen::materialize;
use ai_tools::codegen::patch;
use ai_tools::plan::Action;
use ai_tools::task::TaskDir;
use ai_tools::task::relpath::RelPath;
use criterion::{Criterion, criterion_group, criterion_main};

const FILES: usize = 1_000;
const LINES: usize = 100;

/// A tiny deterministic generator (xorshift), so every run diffs the same trees.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn line(r: &mut Rng) -> String {
    let n = r.next();
    format!("    value_{} = compute({}, {}) + {}\n", n % 997, n % 13, n % 101, n % 7)
}

/// Writes the base tree under `repo` and the generated tree into the task's code/files.
fn setup(root: &Path) -> (std::path::PathBuf, TaskDir) {
    let repo = root.join("repo");
    let task = TaskDir::new(root.join("task"));
    let mut r = Rng(0x9e3779b97f4a7c15);
    let mut items = Vec::new();
    for f in 0..FILES {
        let path = format!("pkg{}/mod_{f}.py", f % 20);
        let old: Vec<String> = (0..LINES).map(|_| line(&mut r)).collect();
        let mut new = old.clone();
        // ~5% of lines changed, a few inserted and removed.
        for _ in 0..5 {
            let i = (r.next() as usize) % new.len();
            new[i] = line(&mut r);
        }
        let i = (r.next() as usize) % new.len();
        new.insert(i, line(&mut r));
        let i = (r.next() as usize) % new.len();
        new.remove(i);
        let p = repo.join(&path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, old.concat()).unwrap();
        items.push((RelPath::new(&path).unwrap(), Action::Modify, Some(new.concat())));
    }
    materialize::materialize(&task, &repo, "bench", &items).unwrap();
    (repo, task)
}

fn bench(c: &mut Criterion) {
    let t = tempfile::tempdir().unwrap();
    let (repo, task) = setup(t.path());
    let files_dir = task.files_dir();
    let mut g = c.benchmark_group("diff_patch_1000_files_100k_lines");
    g.sample_size(10);
    g.bench_function("ai-tools (imara-diff histogram)", |b| {
        b.iter(|| patch::derive(&task, &repo, Backend::Imara).unwrap().patch.len())
    });
    g.bench_function("ai-tools (similar myers)", |b| {
        b.iter(|| patch::derive(&task, &repo, Backend::Similar).unwrap().patch.len())
    });
    g.bench_function("git diff --no-index", |b| {
        b.iter(|| {
            let out = Command::new("git")
                .args(["diff", "--no-index", "--no-color", "--no-ext-diff"])
                .arg(&repo)
                .arg(&files_dir)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1), "git diff reports differences");
            out.stdout.len()
        })
    });
    g.finish();

    // The algorithms alone, in memory, over the same 1,000 file pairs.
    let pairs: Vec<(RelPath, Vec<u8>, Vec<u8>)> = materialize::Manifest::load(&task)
        .unwrap()
        .files
        .into_iter()
        .map(|e| {
            let old = std::fs::read(e.path.join_to(&repo)).unwrap();
            let new = std::fs::read(e.path.join_to(&files_dir)).unwrap();
            (e.path, old, new)
        })
        .collect();
    let mut g = c.benchmark_group("diff_in_memory_1000_files_100k_lines");
    g.sample_size(20);
    for (name, backend) in [("imara-diff histogram", Backend::Imara), ("similar myers", Backend::Similar)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut inputs: Vec<diff::FileInput<'_>> = pairs
                    .iter()
                    .map(|(p, o, n)| diff::FileInput {
                        path: p,
                        old: Some(o),
                        new: Some(n),
                        old_mode: 0o644,
                        new_mode: 0o644,
                    })
                    .collect();
                diff::unified_diff(&mut inputs, backend).unwrap().0.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
