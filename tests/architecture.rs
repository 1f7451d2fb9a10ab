//! The shape of the house, checked on the source itself (issue: one `Run`, one command path):
//!
//! - no import cycles between modules: every `crate::…` / `super::…` path in a file is an edge
//!   to the deepest module file it names; a parent's references to its own submodules are the
//!   module tree itself and do not count, every other edge does (sibling to sibling, child to
//!   ancestor, across top-level modules); test modules (`#[cfg(test)]` to the end of a file) are
//!   left out;
//! - no `#[allow(clippy::too_many_arguments)]` anywhere;
//! - no function over 80 lines in `src/orchestrator/` (rustfmt puts a function's closing brace
//!   at its `fn` line's indentation, which is how its end is found).
//!
//! The library (`src/lib.rs` and below) and the binary (`src/main.rs`, `src/cli/`) are two
//! crates and are checked separately.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/a/b.rs` → `["a", "b"]`; `src/a/mod.rs` → `["a"]`; `src/lib.rs` → `[]`. The binary's
/// files (`main.rs`, `cli/`) get the prefix `bin`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs").to_owned();
    if !matches!(stem.as_str(), "mod" | "lib" | "main") {
        parts.push(stem.clone());
    }
    if stem == "main" || parts.first().is_some_and(|p| p == "cli") {
        parts.insert(0, "bin".into());
    }
    parts
}

/// The code of a file without comments, string contents and its trailing test module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Expands the path trees that start at `crate::` or `super::` in `code` into plain paths
/// (`crate::a::{b, c::d}` → `a::b`, `a::c::d`), resolved against module `me`.
fn paths_in(code: &str, me: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let rest: String = chars[i..chars.len().min(i + 7)].iter().collect();
        let boundary = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_' || chars[i - 1] == ':');
        if boundary && (rest.starts_with("crate::") || rest.starts_with("super::")) {
            let mut base: Vec<String> = Vec::new();
            if rest.starts_with("crate::") {
                i += 7;
            } else {
                base = me.to_vec();
                while chars[i..].iter().collect::<String>().starts_with("super::") {
                    base.pop();
                    i += 7;
                }
            }
            i = tree(&chars, i, base, &mut out);
        } else {
            i += 1;
        }
    }
    out
}

/// Reads one path tree at `i` with prefix `base`; returns the index after it.
fn tree(c: &[char], mut i: usize, base: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut path = base;
    loop {
        while i < c.len() && c[i].is_whitespace() {
            i += 1;
        }
        if i < c.len() && c[i] == '{' {
            i += 1;
            loop {
                while i < c.len() && (c[i].is_whitespace() || c[i] == ',') {
                    i += 1;
                }
                if i >= c.len() || c[i] == '}' {
                    return i + 1;
                }
                i = tree(c, i, path.clone(), out);
            }
        }
        let start = i;
        while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
            i += 1;
        }
        let ident: String = c[start..i].iter().collect();
        if ident.is_empty() {
            out.push(path);
            return i;
        }
        if ident != "self" {
            path.push(ident);
        }
        if c.get(i) == Some(&':') && c.get(i + 1) == Some(&':') {
            i += 2;
            continue;
        }
        out.push(path);
        return i;
    }
}

struct Crate {
    files: BTreeMap<Vec<String>, PathBuf>,
    edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
}

fn load(src: &Path) -> Crate {
    let mut all = Vec::new();
    rust_files(src, &mut all);
    let files: BTreeMap<Vec<String>, PathBuf> = all.iter().map(|f| (module_of(src, f), f.clone())).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (m, f) in &files {
        let code = code_of(&std::fs::read_to_string(f).unwrap());
        let bin = m.first().is_some_and(|x| x == "bin");
        for p in paths_in(&code, m) {
            let mut p = p;
            if bin && p.first().is_some_and(|x| x != "bin") {
                p.insert(0, "bin".into());
            }
            // The deepest module file the path names.
            let target = (1..=p.len()).rev().map(|n| p[..n].to_vec()).find(|q| files.contains_key(q));
            let Some(t) = target else { continue };
            // The module tree itself (a parent naming its descendants) and self-references
            // are not dependencies.
            if t == *m || t.starts_with(m) {
                continue;
            }
            edges.entry(m.clone()).or_default().insert(t);
        }
    }
    Crate { files, edges }
}

/// Every cycle's members (strongly connected components of more than one module), by Tarjan.
fn cycles(c: &Crate) -> Vec<Vec<String>> {
    struct T<'a> {
        c: &'a Crate,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on: BTreeSet<&'a Vec<String>>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a Vec<String>) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        if let Some(ws) = t.c.edges.get(v) {
            for w in ws {
                if !t.index.contains_key(w) {
                    visit(t, w);
                    let l = t.low[w].min(t.low[v]);
                    t.low.insert(v, l);
                } else if t.on.contains(w) {
                    let l = t.index[w].min(t.low[v]);
                    t.low.insert(v, l);
                }
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.join("::"));
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t =
        T { c, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), on: BTreeSet::new(), out: Vec::new() };
    for m in c.files.keys() {
        if !t.index.contains_key(m) {
            visit(&mut t, m);
        }
    }
    t.out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_module_imports_another_that_imports_it_back() {
    let c = load(&src());
    let found = cycles(&c);
    assert!(found.is_empty(), "module cycles (each line one cycle's members): {found:#?}");
}

#[test]
fn the_cycle_check_finds_a_cycle_when_there_is_one() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    std::fs::create_dir_all(s.join("a")).unwrap();
    std::fs::write(s.join("lib.rs"), "pub mod a;\n").unwrap();
    std::fs::write(s.join("a/mod.rs"), "pub mod x;\npub mod y;\nuse crate::a::x::X; // parent → child: not counted\n")
        .unwrap();
    std::fs::write(s.join("a/x.rs"), "use crate::a::{y::Y, self};\npub struct X;\n").unwrap();
    std::fs::write(s.join("a/y.rs"), "pub struct Y;\nfn f() { super::x::X; }\n").unwrap();
    let found = cycles(&load(s));
    assert_eq!(found, vec![vec!["a::x".to_owned(), "a::y".to_owned()]]);
    // A reference in a comment, a string or a test module is not an import.
    std::fs::write(s.join("a/y.rs"), "// crate::a::x\npub struct Y;\nconst S: &str = \"crate::a::x\";\n#[cfg(test)]\nmod tests { use crate::a::x::X; }\n").unwrap();
    assert!(cycles(&load(s)).is_empty());
}

#[test]
fn no_too_many_arguments_allows() {
    let mut all = Vec::new();
    rust_files(&src(), &mut all);
    let offenders: Vec<String> = all
        .iter()
        .filter(|f| std::fs::read_to_string(f).unwrap().contains("too_many_arguments"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "#[allow(clippy::too_many_arguments)] in {offenders:?}");
}

/// `(file, fn line, name, lines)` of every function in `text`.
fn functions(text: &str) -> Vec<(usize, String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        let indent = l.len() - t.len();
        let mut rest = t;
        for kw in ["pub(crate) ", "pub(super) ", "pub ", "const ", "async ", "unsafe "] {
            rest = rest.strip_prefix(kw).unwrap_or(rest);
            rest = rest.strip_prefix(kw).unwrap_or(rest);
        }
        let Some(sig) = rest.strip_prefix("fn ") else { continue };
        let name: String = sig.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        // The signature may span lines; a `;` before a `{` is a declaration without a body.
        let end = lines.iter().enumerate().skip(i).find(|(j, x)| {
            let xt = x.trim_start();
            x.len() - xt.len() == indent && (xt.starts_with('}') || (*j == i && xt.ends_with('}')))
        });
        if let Some((j, _)) = end {
            out.push((i + 1, name, j - i + 1));
        }
    }
    out
}

#[test]
fn no_orchestrator_function_over_80_lines() {
    let mut all = Vec::new();
    rust_files(&src().join("orchestrator"), &mut all);
    let mut long = Vec::new();
    for f in &all {
        for (line, name, n) in functions(&std::fs::read_to_string(f).unwrap()) {
            if n > 80 {
                long.push(format!("{}:{line} {name}: {n} lines", f.display()));
            }
        }
    }
    assert!(long.is_empty(), "functions over 80 lines: {long:#?}");
}

#[test]
fn function_lengths_are_measured_from_fn_to_its_closing_brace() {
    let text = "fn a() {\n    1;\n}\n\n    pub(crate) async fn b(\n        x: u8,\n    ) -> u8 {\n        x\n    }\n";
    assert_eq!(functions(text), vec![(1, "a".to_owned(), 3), (5, "b".to_owned(), 5)]);
}
