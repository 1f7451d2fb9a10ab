//! Go: three validators over the packages holding generated `.go` files, run in the shadow
//! root (which must hold `go.mod`).
//!
//! - `gofmt -e -l FILES…` — parse errors only (the list of unformatted files on stdout is the
//!   [formatter](crate::format)'s business, not a finding). stderr: `file:line:col: message`.
//! - `go build -gcflags=-e ./DIR…` — compile errors (`-e`: all of them, not the first ten).
//!   stderr: `# pkg` headers, `file:line:col: message` lines, tab-indented continuations.
//! - `go vet -json ./DIR…` — vet's analyzers. stderr: `# pkg` headers and one JSON object per
//!   package, `{pkg: {analyzer: [{posn: "/abs/file.go:L:C", message}]}}`; the analyzer name is
//!   the code and the finding a [warning](crate::report::Severity::Warning). Type errors vet
//!   prints as `vet: file:line:col: message` (only the first one) are kept only for `_test.go`
//!   files, which `go build` does not compile.
//!
//! All three run in the [sandbox](crate::sandbox) as pure analyzers: with cgo off, `go build`
//! and `go vet` compile but never run project code (Go has no build scripts; `go:generate`
//! runs only under `go generate`). The build cache is `GOCACHE` = [`build_cache`] (writable,
//! outside the scratch area, shared by runs); the host's module cache (`GOMODCACHE`, else
//! `$GOPATH/pkg/mod`, else `~/go/pkg/mod`) is bound read-only so required modules resolve.
//!
//! Environment (every run): `GOPROXY=off` (validation never downloads a module a generated
//! import names), an empty `GOFLAGS` (go's default `-mod=readonly`: `go.mod` is never
//! rewritten; the user's `-mod=mod` does not apply), `GOTOOLCHAIN=local`, `GOWORK=off`,
//! `CGO_ENABLED=0` (no C compiler over generated cgo code).
//!
//! A package whose imports do not resolve stops `go build` before any type checking (of every
//! package named): its findings are then the import errors alone, and the type errors appear
//! once those are repaired — as with tsc, which reports only syntax errors while there are
//! any.
//!
//! Go's diagnostics have no codes: [`code_for`] derives one from the message, and
//! [`crate::report::classify`] maps those codes to categories:
//!
//! | message | code | category |
//! |---|---|---|
//! | `undefined: x`, vet's `undeclared name: x` | `undefined` | undefined_name |
//! | `"os" imported and not used`, `imported and not used: "os"` | `unused_import` | missing_import |
//! | `no required module provides package …`, `cannot find module providing package …`, `could not import …`, `package … is not in GOROOT`/`std` | `missing_package` | missing_import |
//! | `missing go.sum entry …`, `module lookup disabled by GOPROXY=off` | `module_not_downloaded` | environment |
//! | `cannot use … as …` | `cannot_use` | type_mismatch |
//! | gofmt's parse errors, `syntax error: …` | `syntax` | syntax |
//! | anything else from `go build` | `compile` | other |

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::sandbox::Job;
use crate::task::relpath::RelPath;
use crate::validate::Finding;

/// The Go build cache for `repo`: `<ai-tools cache dir>/go-build/<16 hex of the repo path's
/// SHA-256>`, like [`super::cargo::target_cache`].
pub fn build_cache(repo: &Path) -> PathBuf {
    let cargo = super::cargo::target_cache(repo);
    let id = cargo.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    cargo.parent().and_then(Path::parent).map_or_else(|| cargo.clone(), |base| base.join("go-build").join(id))
}

/// The host's Go module cache (see the module docs), if it exists.
fn module_cache() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = var("GOMODCACHE")
        .or_else(|| var("GOPATH").map(|p| p.join("pkg/mod")))
        .or_else(|| var("HOME").map(|h| h.join("go/pkg/mod")))?;
    dir.is_dir().then_some(dir)
}

/// `job` set up for a Go tool: the environment of the module docs, the build cache `cache`
/// (created, writable) and the module cache (read-only); a pure analyzer.
pub fn job<'a>(mut job: Job<'a>, cache: &Path) -> Job<'a> {
    let _ = std::fs::create_dir_all(cache);
    for (k, v) in env() {
        job = job.env(k, v);
    }
    job = job.env("GOCACHE", cache.display().to_string()).writable(cache);
    if let Some(m) = module_cache() {
        job = job.env("GOMODCACHE", m.display().to_string()).readable(m);
    }
    job.executes_code(false)
}

/// Environment for every `go` and `gofmt` run (see the module docs).
pub fn env() -> Vec<(&'static str, String)> {
    [("GOPROXY", "off"), ("GOFLAGS", ""), ("GOTOOLCHAIN", "local"), ("GOWORK", "off"), ("CGO_ENABLED", "0")]
        .iter()
        .map(|(k, v)| (*k, (*v).to_owned()))
        .collect()
}

/// `./DIR` for each distinct directory of `files` (`.` for the root), in first-seen order.
pub fn package_dirs(files: &[RelPath]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in files {
        let dir = match f.as_str().rsplit_once('/') {
            Some((d, _)) => format!("./{d}"),
            None => ".".to_owned(),
        };
        if !out.contains(&dir) {
            out.push(dir);
        }
    }
    out
}

/// `gofmt` arguments for `files` (paths relative to the working directory).
pub fn gofmt_args(files: &[String]) -> Vec<String> {
    let mut a = vec!["-e".to_owned(), "-l".to_owned()];
    a.extend(files.iter().cloned());
    a
}

/// `go build` arguments for the packages of `files`.
pub fn build_args(files: &[RelPath]) -> Vec<String> {
    let mut a = vec!["build".to_owned(), "-gcflags=-e".to_owned(), "-o".to_owned(), "/dev/null".to_owned()];
    a.extend(package_dirs(files));
    a
}

/// `go vet` arguments for the packages of `files`.
pub fn vet_args(files: &[RelPath]) -> Vec<String> {
    let mut a = vec!["vet".to_owned(), "-json".to_owned()];
    a.extend(package_dirs(files));
    a
}

/// The code for a Go diagnostic `message` (see the module docs' table).
pub fn code_for(message: &str) -> &'static str {
    let m = message;
    if m.starts_with("undefined: ") || m.starts_with("undeclared name: ") {
        "undefined"
    } else if m.contains("imported and not used") {
        "unused_import"
    } else if m.contains("missing go.sum entry") || m.contains("module lookup disabled") {
        "module_not_downloaded"
    } else if m.contains("no required module provides package")
        || m.contains("cannot find module providing package")
        || m.contains("could not import ")
        || m.contains("is not in GOROOT")
        || m.contains("is not in std")
    {
        "missing_package"
    } else if m.starts_with("cannot use ") && m.contains(" as ") {
        "cannot_use"
    } else if m.starts_with("syntax error") {
        "syntax"
    } else {
        "compile"
    }
}

/// Splits `file:line:col: message` (column optional); `None` for anything else.
fn split_position(line: &str) -> Option<(String, u32, u32, String)> {
    let (head, message) = line.split_once(": ")?;
    let mut parts = head.rsplitn(3, ':');
    let (a, b, c) = (parts.next()?, parts.next(), parts.next());
    let (file, l, col) = match (b, c) {
        (Some(l), Some(f)) if l.parse::<u32>().is_ok() => (f, l.parse().ok()?, a.parse().ok()?),
        (Some(f), _) => (f, a.parse().ok()?, 0),
        _ => return None,
    };
    if !file.ends_with(".go") {
        return None;
    }
    Some((file.to_owned(), l, col, message.to_owned()))
}

/// Parses `file:line:col: message` lines with tab-indented continuations; `fixed` is the
/// code for every finding (`syntax` for gofmt) or `None` to derive it with [`code_for`].
pub fn parse_text(stderr: &str, fixed: Option<&str>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut last = false;
    for line in stderr.lines() {
        if line.starts_with('\t') || line.starts_with("  ") {
            if last && let Some(f) = out.last_mut() {
                f.message.push('\n');
                f.message.push_str(line.trim_end());
            }
            continue;
        }
        last = false;
        if let Some((file, l, c, message)) = split_position(line) {
            let code = fixed.unwrap_or_else(|| code_for(&message)).to_owned();
            out.push(Finding { file, line: l, column: c, code, message });
            last = true;
        }
    }
    out
}

#[derive(Deserialize)]
struct VetDiag {
    posn: String,
    message: String,
}

/// Parses `go vet -json`'s stderr (see the module docs).
pub fn parse_vet(stderr: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut json = String::new();
    for line in stderr.lines() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("vet: ") {
            out.extend(parse_text(rest, None).into_iter().filter(|f| f.file.ends_with("_test.go")));
            continue;
        }
        json.push_str(line);
        json.push('\n');
    }
    type PerPackage = std::collections::BTreeMap<String, std::collections::BTreeMap<String, Vec<VetDiag>>>;
    for value in serde_json::Deserializer::from_str(&json).into_iter::<PerPackage>() {
        let Ok(pkgs) = value else { break };
        for (analyzer, diags) in pkgs.into_values().flatten() {
            for d in diags {
                let Some((file, line, column, _)) = split_position(&format!("{}: x", d.posn)) else { continue };
                out.push(Finding { file, line, column, code: analyzer.clone(), message: d.message });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::classify::{Category, classify_error};

    #[test]
    fn compiler_lines_continuations_and_codes() {
        // Real `go build` output (go 1.19), with a go 1.20+ unused-import spelling added.
        let out = "# example.com/m/pkg\n\
                   pkg/a.go:5:2: imported and not used: \"os\"\n\
                   pkg/a.go:9:17: cannot use 5 (untyped int constant) as string value in variable declaration\n\
                   pkg/a.go:11:9: undefined: undefinedThing\n\
                   ./pkg/b.go:4:2: \"fmt\" imported and not used\n\
                   pkg/c.go:3:9: syntax error: unexpected {, expecting )\n\
                   pkg/d.go:5:2: no required module provides package github.com/nope/x; to add it:\n\
                   \tgo get github.com/nope/x\n\
                   pkg/e.go:3:8: missing go.sum entry for module providing package github.com/nope/x (imported by example.com/m/pkg); to add:\n\
                   pkg/f.go:3:8: package nosuch/stdpkg is not in GOROOT (/usr/lib/go-1.19/src/nosuch/stdpkg)\n\
                   pkg/g.go:7:1: missing return\n";
        let f = parse_text(out, None);
        let got: Vec<_> = f
            .iter()
            .map(|f| (f.file.as_str(), f.line, f.column, f.code.as_str(), classify_error("go_build", &f.code)))
            .collect();
        assert_eq!(
            got,
            vec![
                ("pkg/a.go", 5, 2, "unused_import", Category::MissingImport),
                ("pkg/a.go", 9, 17, "cannot_use", Category::TypeMismatch),
                ("pkg/a.go", 11, 9, "undefined", Category::UndefinedName),
                ("./pkg/b.go", 4, 2, "unused_import", Category::MissingImport),
                ("pkg/c.go", 3, 9, "syntax", Category::Syntax),
                ("pkg/d.go", 5, 2, "missing_package", Category::MissingImport),
                ("pkg/e.go", 3, 8, "module_not_downloaded", Category::Environment),
                ("pkg/f.go", 3, 8, "missing_package", Category::MissingImport),
                ("pkg/g.go", 7, 1, "compile", Category::Other),
            ]
        );
        assert_eq!(
            f[5].message,
            "no required module provides package github.com/nope/x; to add it:\n\tgo get github.com/nope/x"
        );
    }

    #[test]
    fn vet_json_objects_and_test_file_type_errors() {
        let out = "# example.com/m/pkg\n{\n\t\"example.com/m/pkg\": {\n\t\t\"printf\": [\n\t\t\t{\n\t\t\t\t\"posn\": \"/s/pkg/b.go:6:2\",\n\t\t\t\t\"message\": \"fmt.Printf format %d has arg \\\"x\\\" of wrong type string\"\n\t\t\t}\n\t\t]\n\t}\n}\n\
                   # example.com/m/pkg\nvet: pkg/a.go:9:17: cannot use 5 (untyped int constant) as string value in variable declaration\n\
                   # example.com/m/q\nvet: q/a_test.go:4:2: undeclared name: fmt\n";
        let f = parse_vet(out);
        let got: Vec<_> = f.iter().map(|f| (f.file.as_str(), f.line, f.column, f.code.as_str())).collect();
        assert_eq!(got, vec![("q/a_test.go", 4, 2, "undefined"), ("/s/pkg/b.go", 6, 2, "printf")]);
        assert_eq!(f[1].message, "fmt.Printf format %d has arg \"x\" of wrong type string");
    }

    #[test]
    fn package_dirs_are_distinct() {
        let files: Vec<RelPath> =
            ["main.go", "pkg/a.go", "pkg/b.go", "pkg/x/c.go"].iter().map(|p| RelPath::new(p).unwrap()).collect();
        assert_eq!(package_dirs(&files), vec![".", "./pkg", "./pkg/x"]);
        assert_eq!(gofmt_args(&["a.go".into()]), vec!["-e", "-l", "a.go"]);
    }
}
