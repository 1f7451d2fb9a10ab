//! Property tests of the accept engine against git itself: for random files (creations,
//! deletions, modifications with several hunks, CRLF and LF, with and without a final newline,
//! executable-bit changes):
//! - accepting every hunk gives the same tree as `git apply` of code/diff.patch;
//! - accepting any subset of hunks and then the rest gives that same tree.

#![allow(clippy::unwrap_used)]

#[path = "review_support/mod.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use ai_tools::review::{self, AcceptOptions, Selection};
use proptest::prelude::*;
use support::{Fx, tree_of};

const TOKENS: &[&str] = &["a", "b", "c", "d", "e", "f", "", "x y", "}"];

#[derive(Debug, Clone)]
struct Text {
    lines: Vec<String>,
    crlf: bool,
    final_newline: bool,
}

impl Text {
    fn render(&self) -> String {
        let eol = if self.crlf { "\r\n" } else { "\n" };
        let mut s = self.lines.join(eol);
        if self.final_newline && !self.lines.is_empty() {
            s.push_str(eol);
        }
        s
    }
}

#[derive(Debug, Clone)]
struct Case {
    /// `None`: created by the patch.
    base: Option<Text>,
    /// `None`: deleted by the patch.
    new: Option<Text>,
    base_exec: bool,
    new_exec: bool,
}

fn token() -> impl Strategy<Value = String> {
    prop::sample::select(TOKENS).prop_map(str::to_owned)
}

fn text() -> impl Strategy<Value = Text> {
    (prop::collection::vec(token(), 0..30), any::<bool>(), any::<bool>())
        .prop_map(|(lines, crlf, final_newline)| Text { lines, crlf, final_newline })
}

/// `base` edited line by line: keep (most), replace, delete, or insert after; sometimes the
/// final newline flips.
fn edited(base: Text) -> impl Strategy<Value = Text> {
    let n = base.lines.len();
    (prop::collection::vec((0u8..12, token()), n..=n), prop::collection::vec(token(), 0..3), prop::bool::weighted(0.2))
        .prop_map(move |(ops, tail, flip)| {
            let mut lines = Vec::new();
            for (line, (op, tok)) in base.lines.iter().zip(ops) {
                match op {
                    9 => lines.push(tok),
                    10 => {}
                    11 => {
                        lines.push(line.clone());
                        lines.push(tok);
                    }
                    _ => lines.push(line.clone()),
                }
            }
            lines.extend(tail);
            Text { lines, crlf: base.crlf, final_newline: base.final_newline != flip }
        })
}

fn case() -> impl Strategy<Value = Case> {
    (text(), 0u8..10, any::<bool>(), any::<bool>()).prop_flat_map(|(base, kind, base_exec, new_exec)| {
        let new = match kind {
            0 => Just(None).boxed(),
            _ => edited(base.clone()).prop_map(Some).boxed(),
        };
        let base = if kind == 1 { None } else { Some(base) };
        (Just(base), new, Just(base_exec), Just(new_exec)).prop_map(|(base, new, base_exec, new_exec)| Case {
            base,
            new,
            base_exec,
            new_exec,
        })
    })
}

const NAMES: [&str; 3] = ["f0.txt", "dir/f1.txt", "dir/deeper/f2.sh"];

/// A fixture holding `cases` as base files and code/files, with diff.patch derived.
fn build(cases: &[Case]) -> Fx {
    let fx = Fx::plain();
    let mut gen_files = Vec::new();
    for (name, c) in NAMES.iter().zip(cases) {
        if let Some(b) = &c.base {
            fx.write(name, b.render());
            fx.chmod(name, if c.base_exec { 0o755 } else { 0o644 });
        }
        gen_files.push((*name, c.new.as_ref().map(Text::render)));
    }
    let refs: Vec<(&str, Option<&str>)> = gen_files.iter().map(|(n, t)| (*n, t.as_deref())).collect();
    fx.generate(&refs);
    for (name, c) in NAMES.iter().zip(cases) {
        if c.new.is_some() {
            let mode = if c.new_exec { 0o755 } else { 0o644 };
            std::fs::set_permissions(fx.task.files_dir().join(name), std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
    review::rediff(&fx.task, &fx.repo).unwrap();
    fx
}

fn accept(fx: &Fx, selection: Selection) {
    let r = review::accept(&fx.task, &fx.repo, &AcceptOptions { selection, ..AcceptOptions::default() }).unwrap();
    assert!(r.conflicts.is_empty(), "{:?}", r.conflicts);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn accepting_all_equals_git_apply_and_any_subset_then_the_rest_equals_all(
        cases in prop::collection::vec(case(), 1..=3),
        picks in prop::collection::vec(any::<bool>(), 16),
    ) {
        // git apply on a copy of the base tree.
        let reference = build(&cases);
        let patch = std::fs::read(reference.task.diff_patch()).unwrap();
        prop_assume!(!patch.is_empty());
        let patch_file = reference.task.root().join("copy.patch");
        std::fs::write(&patch_file, &patch).unwrap();
        let out = Command::new("git")
            .arg("apply")
            .arg("--whitespace=nowarn")
            .arg(&patch_file)
            .current_dir(&reference.repo)
            .env("GIT_CEILING_DIRECTORIES", reference.repo.parent().unwrap())
            .output()
            .unwrap();
        prop_assert!(out.status.success(), "git apply: {}\n{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&patch));
        let by_git = tree_of(&reference.repo);

        let all = build(&cases);
        accept(&all, Selection::All);
        prop_assert_eq!(&all.tree(), &by_git, "accept --all differs from git apply\n{}", String::from_utf8_lossy(&patch));
        prop_assert!(std::fs::read(all.task.diff_patch()).unwrap().is_empty());

        let split = build(&cases);
        let ids: Vec<String> = split.hunks().iter().flat_map(|f| f.hunks.iter().map(|h| h.id.clone())).collect();
        let subset: Vec<String> = ids.iter().zip(picks.iter().cycle()).filter(|(_, p)| **p).map(|(id, _)| id.clone()).collect();
        if !subset.is_empty() {
            accept(&split, Selection::Hunks(subset));
        }
        accept(&split, Selection::All);
        prop_assert_eq!(&split.tree(), &by_git, "a subset then the rest differs from all at once");
    }
}
