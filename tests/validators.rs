#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The real validators (ruff, pyright, mypy, tsc with @types/react, the built-in syntax check)
//! on deliberately broken generated files, in a shadow tree: exact reports and categories.

#[path = "validate_support/mod.rs"]
mod common;

use ai_tools::codegen::materialize::{Manifest, ManifestEntry};
use ai_tools::config::ValidateConfig;
use ai_tools::plan::Action;
use ai_tools::report::ValidationReport;
use ai_tools::task::relpath::RelPath;
use ai_tools::validate::shadow::ShadowTree;
use ai_tools::validate::{Validation, Validators};
use common::{TSCONFIG, write};

type Row = (String, u32, u32, String, String, String);

fn rows(v: &[ValidationReport], tool: &str) -> Vec<Row> {
    v.iter()
        .filter(|r| r.tool == tool)
        .map(|r| (r.file.clone(), r.line, r.column, r.tool.clone(), r.code.clone(), r.category.to_string()))
        .collect()
}

fn row(file: &str, line: u32, col: u32, tool: &str, code: &str, cat: &str) -> Row {
    (file.into(), line, col, tool.into(), code.into(), cat.into())
}

/// Writes `generated` as code/files of a task over `repo` and validates them.
async fn validate(repo: &std::path::Path, generated: &[(&str, &str)], cfg: ValidateConfig) -> (Validation, Validators) {
    let files = repo.join(".ai-tools/tasks/t/code/files");
    let mut entries = Vec::new();
    for (p, c) in generated {
        write(&files, p, c);
        let action = if repo.join(p).exists() { Action::Modify } else { Action::Create };
        entries.push(ManifestEntry { path: RelPath::new(p).unwrap(), action });
    }
    let targets: Vec<RelPath> = entries.iter().map(|e| e.path.clone()).collect();
    let manifest = Manifest { run_id: "r".into(), files: entries };
    let shadow = ShadowTree::build(repo, &files, &manifest).unwrap();
    let validators = Validators::discover(repo, &cfg, &targets);
    let v = validators.validate(&shadow, "validate").await.unwrap();
    for r in &v.runs {
        assert!(r.error.is_none(), "{} failed: {:?}", r.tool, r.error);
    }
    (v, validators)
}

const SYNTAX_PY: &str = "def f(:\n    return 1\n";
const UNDEFINED_PY: &str = "def f() -> int:\n    return valu + 1\n";
const MISSING_PY: &str = "from nosuchmod import thing\n\n\ndef g() -> int:\n    return thing\n";
const TYPES_PY: &str = "def h(x: int) -> str:\n    return x\n\n\nh(\"a\")\n";
const USES_PY: &str = "from app.util import helper\nfrom app.fresh import NEW\n\nVALUE: int = helper() + NEW\n";

#[tokio::test(flavor = "multi_thread")]
async fn python_syntax_undefined_missing_import_and_type_errors() {
    let t = common::repo();
    let repo = t.path();
    write(repo, "app/__init__.py", "");
    write(repo, "app/util.py", "def helper() -> int:\n    return 1\n");
    // A broken file that is not generated: never reported.
    write(repo, "legacy.py", "print(undefined_legacy_name)\n");
    let cfg = ValidateConfig { mypy: true, ..ValidateConfig::default() };
    let (v, validators) = validate(
        repo,
        &[
            ("app/syntax_err.py", SYNTAX_PY),
            ("app/undefined.py", UNDEFINED_PY),
            ("app/missing.py", MISSING_PY),
            ("app/types_err.py", TYPES_PY),
            ("app/fresh.py", "NEW = 2\n"),
            ("app/uses.py", USES_PY),
        ],
        cfg,
    )
    .await;
    assert!(validators.skipped().is_empty(), "{:?}", validators.skipped());
    let tools: Vec<&str> = v.runs.iter().map(|r| r.tool.as_str()).collect();
    assert_eq!(tools, vec!["ruff", "pyright", "mypy", "syntax"]);
    assert!(v.reports.iter().all(|r| r.file != "legacy.py"), "only generated files are reported");
    assert!(
        v.reports.iter().all(|r| r.file != "app/uses.py" && r.file != "app/fresh.py"),
        "imports across generated and existing files resolve: {:#?}",
        v.reports
    );

    assert_eq!(
        rows(&v.reports, "ruff"),
        vec![
            row("app/syntax_err.py", 1, 7, "ruff", "invalid-syntax", "syntax"),
            row("app/syntax_err.py", 1, 8, "ruff", "invalid-syntax", "syntax"),
            row("app/undefined.py", 2, 12, "ruff", "F821", "undefined_name"),
        ]
    );
    let undefined = v.reports.iter().find(|r| r.tool == "ruff" && r.code == "F821").unwrap();
    assert_eq!(undefined.message, "Undefined name `valu`");
    assert_eq!(undefined.step, "validate");

    let pyright = rows(&v.reports, "pyright");
    let not_syntax: Vec<Row> = pyright.iter().filter(|r| r.0 != "app/syntax_err.py").cloned().collect();
    assert_eq!(
        not_syntax,
        vec![
            // `nosuchmod` is not in the repo: a third-party package not installed (environment).
            row("app/missing.py", 1, 6, "pyright", "reportMissingImports", "environment"),
            row("app/types_err.py", 2, 12, "pyright", "reportReturnType", "type_mismatch"),
            row("app/types_err.py", 5, 3, "pyright", "reportArgumentType", "type_mismatch"),
            row("app/undefined.py", 2, 12, "pyright", "reportUndefinedVariable", "undefined_name"),
        ]
    );
    let syntax_rows: Vec<&Row> = pyright.iter().filter(|r| r.0 == "app/syntax_err.py").collect();
    assert!(!syntax_rows.is_empty());
    assert!(
        syntax_rows.iter().all(|r| r.4 == "syntax" && r.5 == "syntax"),
        "rule-less pyright diagnostics are syntax: {syntax_rows:?}"
    );
    assert_eq!((syntax_rows[0].1, syntax_rows[0].2), (1, 6));
    let missing = v.reports.iter().find(|r| r.code == "reportMissingImports").unwrap();
    assert_eq!(missing.message, "Import \"nosuchmod\" could not be resolved");

    let mypy = rows(&v.reports, "mypy");
    assert!(mypy.contains(&row("app/syntax_err.py", 1, 8, "mypy", "syntax", "syntax")), "{mypy:?}");

    assert_eq!(rows(&v.reports, "syntax"), vec![row("app/syntax_err.py", 1, 7, "syntax", "MISSING", "syntax")]);
}

const UNDEF_TSX: &str = "import type { ReactNode } from \"react\";\n\nexport function Greeting(): ReactNode {\n  return <p>{missingName}</p>;\n}\n";
const MISSING_TSX: &str = "import { helper } from \"./nope\";\n\nexport const x: number = helper();\n";
const TYPES_TSX: &str = "import type { ReactElement } from \"react\";\n\nexport const count: number = \"three\";\n\nexport function Label(props: { text: string }): ReactElement {\n  return <span>{props.text}</span>;\n}\n\nexport const el = <Label text={3} />;\n";
const USES_TSX: &str = "import { helper } from \"./existing\";\nimport { Greeting } from \"./Undef\";\n\nexport const n: number = helper();\nexport const g = Greeting;\n";
const SYNTAX_TSX: &str = "export function Broken( {\n  return 1;\n}\n";

#[tokio::test(flavor = "multi_thread")]
async fn tsx_undefined_missing_import_and_type_errors_with_react_types() {
    let t = common::repo();
    let repo = t.path();
    write(repo, "tsconfig.json", TSCONFIG);
    write(repo, "src/existing.ts", "export function helper(): number {\n  return 1;\n}\n");
    write(repo, "src/legacy.tsx", "export const bad: number = \"not generated\";\n");
    let (v, _) = validate(
        repo,
        &[
            ("src/Undef.tsx", UNDEF_TSX),
            ("src/Missing.tsx", MISSING_TSX),
            ("src/Types.tsx", TYPES_TSX),
            ("src/Uses.tsx", USES_TSX),
        ],
        ValidateConfig::default(),
    )
    .await;
    let tools: Vec<&str> = v.runs.iter().map(|r| r.tool.as_str()).collect();
    assert_eq!(tools, vec!["tsc", "syntax"]);
    assert_eq!(
        rows(&v.reports, "tsc"),
        vec![
            row("src/Missing.tsx", 1, 24, "tsc", "TS2307", "missing_import"),
            row("src/Types.tsx", 3, 14, "tsc", "TS2322", "type_mismatch"),
            row("src/Types.tsx", 9, 26, "tsc", "TS2322", "type_mismatch"),
            row("src/Undef.tsx", 4, 14, "tsc", "TS2304", "undefined_name"),
        ]
    );
    let undefined = v.reports.iter().find(|r| r.code == "TS2304").unwrap();
    assert_eq!(undefined.message, "Cannot find name 'missingName'.");
    let missing = v.reports.iter().find(|r| r.code == "TS2307").unwrap();
    assert_eq!(missing.message, "Cannot find module './nope' or its corresponding type declarations.");
    assert!(rows(&v.reports, "syntax").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn tsx_syntax_error_hides_type_errors_and_the_builtin_check_finds_it_too() {
    let t = common::repo();
    let repo = t.path();
    write(repo, "tsconfig.json", TSCONFIG);
    let (v, _) =
        validate(repo, &[("src/Syntax.tsx", SYNTAX_TSX), ("src/Types.tsx", TYPES_TSX)], ValidateConfig::default())
            .await;
    // While a syntax error exists tsc reports only syntax errors: Types.tsx looks clean.
    assert_eq!(
        rows(&v.reports, "tsc"),
        vec![
            row("src/Syntax.tsx", 2, 10, "tsc", "TS1005", "syntax"),
            row("src/Syntax.tsx", 2, 11, "tsc", "TS1005", "syntax"),
            row("src/Syntax.tsx", 4, 1, "tsc", "TS1005", "syntax"),
        ]
    );
    let syn = rows(&v.reports, "syntax");
    assert!(!syn.is_empty() && syn.iter().all(|r| r.0 == "src/Syntax.tsx" && r.5 == "syntax"), "{syn:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_tools_are_skipped_once_and_the_syntax_check_still_runs() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path();
    write(repo, "tsconfig.json", TSCONFIG);
    // No .venv/node_modules here, and PATH without them: only the built-in check can run.
    let files = repo.join(".ai-tools/tasks/t/code/files");
    write(&files, "a.py", SYNTAX_PY);
    write(&files, "src/A.tsx", SYNTAX_TSX);
    let targets = vec![RelPath::new("a.py").unwrap(), RelPath::new("src/A.tsx").unwrap()];
    let manifest = Manifest {
        run_id: "r".into(),
        files: targets.iter().map(|p| ManifestEntry { path: p.clone(), action: Action::Create }).collect(),
    };
    let cfg = ValidateConfig { skip: vec!["pyright".into()], ..ValidateConfig::default() };
    let validators = Validators::discover(repo, &cfg, &targets);
    let skipped: Vec<(&str, &str)> =
        validators.skipped().iter().map(|s| (s.tool.as_str(), s.reason.as_str())).collect();
    assert!(skipped.contains(&("pyright", "skipped by [validate] skip")), "{skipped:?}");
    let shadow = ShadowTree::build(repo, &files, &manifest).unwrap();
    let v = validators.validate(&shadow, "validate").await.unwrap();
    let files_with_syntax: std::collections::BTreeSet<&str> =
        v.reports.iter().filter(|r| r.tool == "syntax").map(|r| r.file.as_str()).collect();
    assert_eq!(files_with_syntax.into_iter().collect::<Vec<_>>(), vec!["a.py", "src/A.tsx"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn candidate_checks_run_ruff_on_stdin_and_the_rest_in_the_shadow_tree() {
    let t = common::repo();
    let repo = t.path();
    let (_, validators) = validate(repo, &[("app.py", UNDEFINED_PY)], ValidateConfig::default()).await;
    let files = repo.join(".ai-tools/tasks/t/code/files");
    let manifest = Manifest {
        run_id: "r".into(),
        files: vec![ManifestEntry { path: RelPath::new("app.py").unwrap(), action: Action::Create }],
    };
    let shadow = ShadowTree::build(repo, &files, &manifest).unwrap();
    let p = RelPath::new("app.py").unwrap();
    let bad = validators.check_candidate(&shadow, &p, UNDEFINED_PY, "repair").await.unwrap();
    let codes: Vec<(&str, &str)> = bad.reports.iter().map(|r| (r.tool.as_str(), r.code.as_str())).collect();
    assert_eq!(codes, vec![("pyright", "reportUndefinedVariable"), ("ruff", "F821")]);
    assert!(bad.reports.iter().all(|r| r.step == "repair"));
    let good = validators.check_candidate(&shadow, &p, "def f() -> int:\n    return 1\n", "repair").await.unwrap();
    assert!(good.reports.is_empty(), "{:?}", good.reports);
    assert_eq!(std::fs::read_to_string(files.join("app.py")).unwrap(), UNDEFINED_PY, "code/files is untouched");
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_undefined_name_and_type_mismatch_from_cargo_check() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path();
    write(repo, "Cargo.toml", "[package]\nname = \"sample\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    write(repo, "src/lib.rs", "pub mod gen;\n");
    let (v, _) = validate(
        repo,
        &[("src/gen.rs", "pub fn f() -> u32 {\n    let s: String = 5;\n    missing_fn() + 1\n}\n")],
        ValidateConfig::default(),
    )
    .await;
    assert_eq!(
        rows(&v.reports, "cargo"),
        vec![
            row("src/gen.rs", 2, 21, "cargo", "E0308", "type_mismatch"),
            row("src/gen.rs", 3, 5, "cargo", "E0425", "undefined_name"),
        ]
    );
    assert!(!repo.join("target").exists(), "cargo builds outside the working tree");
}
