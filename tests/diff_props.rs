//! Property: a diff.patch of random old/new trees, applied by `git apply` and by `patch -p1`
//! to the old tree, reproduces the new tree byte for byte — with and without final newlines,
//! CRLF, empty files, non-ASCII text, additions, deletions, creations and removals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use ai_tools::codegen::diff::{Backend, FileInput, unified_diff};
use ai_tools::task::relpath::RelPath;
use proptest::prelude::*;

fn text() -> impl Strategy<Value = Vec<u8>> {
    let word = prop::sample::select(vec!["a", "b", "x = 1", "  indented", "é", "中文", "", "tab\there", "}"]);
    (prop::collection::vec(word, 0..25), any::<bool>(), any::<bool>()).prop_map(|(lines, crlf, final_nl)| {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut s = lines.join(eol);
        if final_nl && !lines.is_empty() {
            s.push_str(eol);
        }
        s.into_bytes()
    })
}

/// New text as an edit of the old one (so hunks have context), or unrelated.
fn edited(old: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let old2 = old.clone();
    prop_oneof![
        text(),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, "[a-z]{0,6}"), 0..6).prop_map(move |edits| {
            let mut lines: Vec<Vec<u8>> = old2.split_inclusive(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
            for (at, op, word) in edits {
                let i = if lines.is_empty() { 0 } else { at.index(lines.len()) };
                match op {
                    0 if !lines.is_empty() => {
                        lines.remove(i);
                    }
                    1 => lines.insert(i, format!("{word}\n").into_bytes()),
                    2 if !lines.is_empty() => lines[i] = format!("{word}\n").into_bytes(),
                    _ => lines.push(word.into_bytes()),
                }
            }
            lines.concat()
        }),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    old: Option<Vec<u8>>,
    new: Option<Vec<u8>>,
}

fn case() -> impl Strategy<Value = Case> {
    prop_oneof![
        4 => text().prop_flat_map(|o| edited(o.clone()).prop_map(move |n| Case { old: Some(o.clone()), new: Some(n) })),
        1 => text().prop_map(|n| Case { old: None, new: Some(n) }),
        1 => text().prop_map(|o| Case { old: Some(o), new: None }),
    ]
}

fn write_tree(dir: &Path, files: &[(String, Option<Vec<u8>>)]) {
    for (p, c) in files {
        if let Some(c) = c {
            let path = dir.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, c).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn git_apply_reproduces_the_new_tree(cases in prop::collection::vec(case(), 1..4), imara in any::<bool>()) {
        let backend = if imara { Backend::Imara } else { Backend::Similar };
        let names: Vec<String> = (0..cases.len()).map(|i| format!("d{i}/f é{i}.txt")).collect();
        let paths: Vec<RelPath> = names.iter().map(|n| RelPath::new(n).unwrap()).collect();
        let mut inputs: Vec<FileInput<'_>> = cases
            .iter()
            .zip(&paths)
            .map(|(c, p)| FileInput { path: p, old: c.old.as_deref(), new: c.new.as_deref(), old_mode: 0o644, new_mode: 0o644 })
            .collect();
        let (patch, _) = unified_diff(&mut inputs, backend).unwrap();
        let (again, _) = unified_diff(&mut inputs, backend).unwrap();
        prop_assert_eq!(&patch, &again, "byte-identical output for identical inputs");
        if patch.is_empty() {
            return Ok(());
        }
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("tree");
        std::fs::create_dir_all(&dir).unwrap();
        write_tree(&dir, &names.iter().cloned().zip(cases.iter().map(|c| c.old.clone())).collect::<Vec<_>>());
        let pfile = t.path().join("diff.patch");
        std::fs::write(&pfile, &patch).unwrap();
        let out = Command::new("git").arg("apply").arg(&pfile)
            .current_dir(&dir).env("GIT_CEILING_DIRECTORIES", t.path()).output().unwrap();
        prop_assert!(out.status.success(), "git apply: {}\n{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&patch));
        for (n, c) in names.iter().zip(&cases) {
            let got = std::fs::read(dir.join(n)).ok();
            prop_assert_eq!(&got, &c.new, "{}", n);
        }
        // GNU patch, too.
        let pdir = t.path().join("ptree");
        std::fs::create_dir_all(&pdir).unwrap();
        write_tree(&pdir, &names.iter().cloned().zip(cases.iter().map(|c| c.old.clone())).collect::<Vec<_>>());
        let out = Command::new("patch").args(["-p1", "-s", "-i"]).arg(&pfile).current_dir(&pdir).output().unwrap();
        prop_assert!(out.status.success(), "patch -p1: {}{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&patch));
        for (n, c) in names.iter().zip(&cases) {
            let got = std::fs::read(pdir.join(n)).ok();
            prop_assert_eq!(&got, &c.new, "patch -p1: {}", n);
        }
    }
}
