#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Formatting generated files with the real formatters (ruff format, prettier, rustfmt, gofmt):
//! new files are formatted, modified files only when their base already was, failures become
//! findings.

#[path = "validate_support/mod.rs"]
mod common;

use ai_tools::format::{FormatAction, FormatConfig, Formatter, Formatters};
use ai_tools::sandbox::{Sandbox, SandboxConfig, Scratch};
use ai_tools::task::relpath::RelPath;

fn rp(s: &str) -> RelPath {
    RelPath::new(s).unwrap()
}

fn sandbox() -> Sandbox {
    let s = Sandbox::detect(&SandboxConfig::default());
    assert!(s.is_isolated(), "these tests run the formatters under bubblewrap: {:?}", s.unavailable_reason());
    s
}

/// The formatters for `files` and the scratch view of `repo` they run over.
fn formatters(repo: &std::path::Path, files: &[&str]) -> (Formatters, Scratch) {
    let targets: Vec<RelPath> = files.iter().map(|f| rp(f)).collect();
    let f = Formatters::discover(repo, &FormatConfig::default(), &targets, sandbox());
    assert!(f.skipped().is_empty(), "{:?}", f.skipped());
    (f, Scratch::mirror_of(repo).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn new_files_are_formatted_by_each_languages_formatter() {
    let t = common::repo();
    let files = ["app/new.py", "src/new.ts", "src/new.rs", "pkg/new.go"];
    let (f, scratch) = formatters(t.path(), &files);
    for (file, messy, want) in [
        ("app/new.py", "x = {  'a':1 }\ndef f( a ):\n  return a\n", "x = {\"a\": 1}\n\n\ndef f(a):\n    return a\n"),
        ("src/new.ts", "export const x = {a:1,b:'two'}\n", "export const x = { a: 1, b: \"two\" };\n"),
        ("src/new.rs", "pub fn f( a:u32 )->u32{a+1}\n", "pub fn f(a: u32) -> u32 {\n    a + 1\n}\n"),
        (
            "pkg/new.go",
            "package pkg\nfunc F( a int ) int {\nreturn a+1\n}\n",
            "package pkg\n\nfunc F(a int) int {\n\treturn a + 1\n}\n",
        ),
    ] {
        let out = f.format_file(&scratch, &rp(file), None, messy).await;
        assert_eq!(out.action, FormatAction::Formatted, "{file}");
        assert_eq!(out.content, want, "{file}");
        assert!(out.changed(messy));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_modified_file_is_formatted_only_when_its_base_was() {
    let t = common::repo();
    let (f, scratch) = formatters(t.path(), &["app/m.py", "src/m.ts"]);
    // Base not formatted by ruff (single quotes, odd spacing): the generated content is kept
    // byte for byte, so the diff shows only the model's change.
    let base = "VALUES = {  'a':1 }\n\n\ndef total( x ):\n    return x\n";
    let generated = "VALUES = {  'a':1 }\n\n\ndef total( x ):\n    return x + 1\n\n\ndef extra(y):\n  return y\n";
    let out = f.format_file(&scratch, &rp("app/m.py"), Some(base), generated).await;
    assert_eq!((out.action.clone(), out.formatter), (FormatAction::BaseNotFormatted, Some(Formatter::RuffFormat)));
    assert_eq!(out.content, generated);
    for (line, base_line) in out.content.lines().zip(base.lines()).take(4) {
        assert_eq!(line, base_line, "untouched lines stay byte for byte");
    }
    // Base already formatted: the generated content is formatted too.
    let base = "def total(x):\n    return x\n";
    let out = f
        .format_file(
            &scratch,
            &rp("app/m.py"),
            Some(base),
            "def total(x):\n    return x\n\ndef extra( y ):\n  return y\n",
        )
        .await;
    assert_eq!(out.action, FormatAction::Formatted);
    assert_eq!(out.content, "def total(x):\n    return x\n\n\ndef extra(y):\n    return y\n");
    // The same rule for prettier.
    let ts_base = "export const a = {x:1}\n";
    let out = f
        .format_file(&scratch, &rp("src/m.ts"), Some(ts_base), "export const a = {x:1}\nexport const b = {y:2}\n")
        .await;
    assert_eq!(
        (out.action, out.content.as_str()),
        (FormatAction::BaseNotFormatted, "export const a = {x:1}\nexport const b = {y:2}\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_formatter_failure_is_a_finding_and_the_content_is_kept() {
    let t = common::repo();
    let (f, scratch) = formatters(t.path(), &["pkg/bad.go"]);
    let broken = "package pkg\n\nfunc F( {\n";
    let out = f.format_file(&scratch, &rp("pkg/bad.go"), None, broken).await;
    assert!(matches!(&out.action, FormatAction::Failed(m) if m.contains("gofmt failed")), "{:?}", out.action);
    assert_eq!(out.content, broken);
    let finding = out.finding("format").unwrap();
    assert_eq!(
        (finding.file.as_str(), finding.tool.as_str(), finding.code.as_str()),
        ("pkg/bad.go", "format", "gofmt")
    );
    assert_eq!(finding.severity, ai_tools::report::Severity::Info);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prettier_config_that_runs_code_runs_only_in_the_sandbox() {
    let t = common::repo();
    std::fs::write(t.path().join("prettier.config.mjs"), "export default { semi: false };\n").unwrap();
    let scratch = Scratch::mirror_of(t.path()).unwrap();
    // Isolated: prettier runs the project's JS config (here: no semicolons).
    let f = Formatters::discover(t.path(), &FormatConfig::default(), &[rp("src/a.ts")], sandbox());
    assert!(f.skipped().is_empty(), "{:?}", f.skipped());
    let out = f.format_file(&scratch, &rp("src/a.ts"), None, "export const x = {a:1};\n").await;
    assert_eq!((out.action, out.content.as_str()), (FormatAction::Formatted, "export const x = { a: 1 }\n"));
    // No sandbox: left out, the content kept.
    let off = Sandbox::detect(&SandboxConfig { enabled: false, ..SandboxConfig::default() });
    let f = Formatters::discover(t.path(), &FormatConfig::default(), &[rp("src/a.ts")], off.clone());
    assert_eq!(f.skipped().len(), 1, "{:?}", f.skipped());
    let out = f.format_file(&scratch, &rp("src/a.ts"), None, "export const x = {a:1}\n").await;
    assert_eq!((out.action, out.content.as_str()), (FormatAction::NoFormatter, "export const x = {a:1}\n"));
    // A formatter from the repo's own .venv is project code too: without the sandbox it is left
    // out (here ruff comes from the test repo's .venv); `[format] enabled = false` turns all off.
    let f = Formatters::discover(t.path(), &FormatConfig::default(), &[rp("a.py")], off.clone());
    assert!(f.skipped().iter().any(|(_, why)| why.contains("repo's own")), "{:?}", f.skipped());
    assert_eq!(f.format_file(&scratch, &rp("a.py"), None, "x  =  1\n").await.content, "x  =  1\n");
    let f = Formatters::discover(t.path(), &FormatConfig::default(), &[rp("a.py")], sandbox());
    assert_eq!(f.format_file(&scratch, &rp("a.py"), None, "x  =  1\n").await.content, "x = 1\n");
    let disabled = FormatConfig { enabled: false, ..FormatConfig::default() };
    let f = Formatters::discover(t.path(), &disabled, &[rp("a.py")], off);
    assert_eq!(f.format_file(&scratch, &rp("a.py"), None, "x  =  1\n").await.content, "x  =  1\n");
}
