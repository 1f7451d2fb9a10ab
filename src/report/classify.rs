//! Sorting validator findings into the six coarse categories of the codegen reliability log.
//!
//! Invariant: [`classify_error`] walks one table in order and the first row whose tool matches
//! and whose code prefix starts the finding's code wins; anything unmatched is
//! [`Category::Other`]. The table keeps the seed's rows in the seed's order, then the
//! extensions (ruff ≥ 0.12 `invalid-syntax`, pyright's rule-less syntax diagnostics, cargo,
//! mypy, the built-in syntax check and Go, whose codes `validate::go::code_for` derives from
//! the messages).
//!
//! [`classify_finding`] adds one rule in front of the table: an import that fails because a
//! third-party package is not installed where the tool looks is [`Category::Environment`]
//! ([`third_party_import`]: pyright `reportMissingImports`/`reportMissingModuleSource` and mypy
//! `import-not-found`/`import-untyped` naming a module whose top-level package is not in the
//! repo, tsc `TS2307` for a bare package specifier); cargo's `E0463` ("can't find crate") is a
//! plain table row.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The coarse bucket a finding falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The file does not parse.
    Syntax,
    /// An import that does not resolve (or is unused).
    MissingImport,
    /// A name used but never defined.
    UndefinedName,
    /// Types that do not agree.
    TypeMismatch,
    /// A broken contract between files (API shapes).
    ContractViolation,
    /// The code is fine but the environment is not: an import of a third-party package that is
    /// not installed where the tool looks. Shown with the advice to install the project's
    /// dependencies; never repaired.
    Environment,
    /// A test that fails on the generated code.
    TestFailure,
    /// A security rule (ruff's `S` rules, …) flagged the code; see the finding's severity.
    Security,
    /// Anything else.
    Other,
}

impl Category {
    /// The category as run logs spell it (`missing_import`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Syntax => "syntax",
            Category::MissingImport => "missing_import",
            Category::UndefinedName => "undefined_name",
            Category::TypeMismatch => "type_mismatch",
            Category::ContractViolation => "contract_violation",
            Category::Environment => "environment",
            Category::TestFailure => "test_failure",
            Category::Security => "security",
            Category::Other => "other",
        }
    }

    /// What to do about findings of this category when it is not the code's fault (shown with
    /// environment findings, which are never repaired).
    pub fn suggestion(self) -> Option<&'static str> {
        match self {
            Category::Environment => Some(
                "install the project's dependencies where the validators look (e.g. `pip install -r requirements.txt` or `uv sync` into .venv, `npm install`), then /redo validate",
            ),
            _ => None,
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `(tool, code prefix, category)`, first match wins (see the module invariant).
pub const TABLE: &[(&str, &str, Category)] = &[
    // The seed's rows, in its order.
    ("ruff", "E9", Category::Syntax),
    ("ruff", "W6", Category::Syntax),
    ("ruff", "F401", Category::MissingImport),
    ("ruff", "F811", Category::MissingImport),
    ("ruff", "F821", Category::UndefinedName),
    ("pyright", "reportMissingImports", Category::MissingImport),
    ("pyright", "reportMissingModuleSource", Category::MissingImport),
    ("pyright", "reportUndefinedVariable", Category::UndefinedName),
    ("pyright", "reportGeneralTypeIssues", Category::TypeMismatch),
    ("pyright", "reportArgumentType", Category::TypeMismatch),
    ("pyright", "reportReturnType", Category::TypeMismatch),
    ("tsc", "TS1", Category::Syntax),
    ("tsc", "TS2304", Category::UndefinedName),
    ("tsc", "TS2339", Category::UndefinedName),
    ("tsc", "TS2551", Category::UndefinedName),
    ("tsc", "TS2307", Category::MissingImport),
    ("tsc", "TS2322", Category::TypeMismatch),
    ("tsc", "TS2345", Category::TypeMismatch),
    ("ast", "SyntaxError", Category::Syntax),
    // Extensions.
    ("ruff", "invalid-syntax", Category::Syntax),
    ("ruff", "SyntaxError", Category::Syntax),
    ("pyright", "syntax", Category::Syntax),
    ("cargo", "E0425", Category::UndefinedName),
    ("cargo", "E0432", Category::MissingImport),
    ("cargo", "E0433", Category::MissingImport),
    ("cargo", "E0308", Category::TypeMismatch),
    ("cargo", "E0463", Category::Environment),
    ("cargo", "syntax", Category::Syntax),
    ("mypy", "syntax", Category::Syntax),
    ("mypy", "import-not-found", Category::MissingImport),
    ("mypy", "import-untyped", Category::MissingImport),
    ("mypy", "import", Category::MissingImport),
    ("mypy", "name-defined", Category::UndefinedName),
    ("mypy", "attr-defined", Category::UndefinedName),
    ("mypy", "arg-type", Category::TypeMismatch),
    ("mypy", "return-value", Category::TypeMismatch),
    ("mypy", "assignment", Category::TypeMismatch),
    ("syntax", "", Category::Syntax),
    // Security rules (see `validate::security` for their severities). After the ruff
    // `SyntaxError` row, which also starts with `S`.
    ("ruff", "S", Category::Security),
    ("eslint", "security/", Category::Security),
    // Go: codes derived from the messages by `validate::go::code_for` (see its table).
    ("gofmt", "syntax", Category::Syntax),
    ("go_build", "syntax", Category::Syntax),
    ("go_build", "undefined", Category::UndefinedName),
    ("go_build", "unused_import", Category::MissingImport),
    ("go_build", "missing_package", Category::MissingImport),
    ("go_build", "module_not_downloaded", Category::Environment),
    ("go_build", "cannot_use", Category::TypeMismatch),
    ("go_vet", "undefined", Category::UndefinedName),
    ("go_vet", "unused_import", Category::MissingImport),
    ("go_vet", "missing_package", Category::MissingImport),
    ("go_vet", "module_not_downloaded", Category::Environment),
    ("go_vet", "cannot_use", Category::TypeMismatch),
    ("examples", "", Category::TestFailure),
];

/// The category of a finding with `code` from `tool` (see the module invariant).
pub fn classify_error(tool: &str, code: &str) -> Category {
    TABLE.iter().find(|(t, prefix, _)| *t == tool && code.starts_with(prefix)).map_or(Category::Other, |(_, _, c)| *c)
}

/// The first quoted name in `message` (`"x"`, `'x'` or `` `x` ``).
fn quoted(message: &str) -> Option<&str> {
    let start = message.find(['"', '\'', '`'])?;
    let q = message[start..].chars().next()?;
    let rest = &message[start + 1..];
    Some(&rest[..rest.find(q)?])
}

/// The module or package an import finding names when it is a third-party import (see the
/// module docs): `Some(name)` for pyright/mypy import failures (dotted name; the caller checks
/// whether its top-level package is in the repo) and for tsc `TS2307` with a bare specifier
/// (not `.`-, `/`-, `@/`- or `~/`-relative).
pub fn third_party_import<'m>(tool: &str, code: &str, message: &'m str) -> Option<&'m str> {
    match (tool, code) {
        ("pyright", "reportMissingImports" | "reportMissingModuleSource")
        | ("mypy", "import-not-found" | "import-untyped") => quoted(message),
        ("tsc", "TS2307") => {
            let spec = quoted(message)?;
            let local =
                spec.starts_with('.') || spec.starts_with('/') || spec.starts_with("@/") || spec.starts_with("~/");
            (!local).then_some(spec)
        }
        _ => None,
    }
}

/// The category of a finding, with the environment rule in front of the table:
/// `in_repo(top_level_name)` says whether a Python module's top-level package exists in the
/// repo (or among the generated files).
pub fn classify_finding(tool: &str, code: &str, message: &str, in_repo: &dyn Fn(&str) -> bool) -> Category {
    match third_party_import(tool, code, message) {
        Some(m) if tool == "tsc" || !in_repo(m.split('.').next().unwrap_or(m)) => Category::Environment,
        _ => classify_error(tool, code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Category::*;

    #[test]
    fn every_row_classifies_as_documented() {
        let cases: &[(&str, &str, Category)] = &[
            // Seed: ruff.
            ("ruff", "E999", Syntax),
            ("ruff", "E902", Syntax),
            ("ruff", "W605", Syntax),
            ("ruff", "F401", MissingImport),
            ("ruff", "F811", MissingImport),
            ("ruff", "F821", UndefinedName),
            // Seed: pyright.
            ("pyright", "reportMissingImports", MissingImport),
            ("pyright", "reportMissingModuleSource", MissingImport),
            ("pyright", "reportUndefinedVariable", UndefinedName),
            ("pyright", "reportGeneralTypeIssues", TypeMismatch),
            ("pyright", "reportArgumentType", TypeMismatch),
            ("pyright", "reportReturnType", TypeMismatch),
            // Seed: tsc.
            ("tsc", "TS1005", Syntax),
            ("tsc", "TS1128", Syntax),
            ("tsc", "TS2304", UndefinedName),
            ("tsc", "TS2339", UndefinedName),
            ("tsc", "TS2551", UndefinedName),
            ("tsc", "TS2307", MissingImport),
            ("tsc", "TS2322", TypeMismatch),
            ("tsc", "TS2345", TypeMismatch),
            ("examples", "example", TestFailure),
            // Seed: ast.
            ("ast", "SyntaxError", Syntax),
            // Extensions.
            ("ruff", "invalid-syntax", Syntax),
            ("ruff", "SyntaxError", Syntax),
            ("pyright", "syntax", Syntax),
            ("cargo", "E0425", UndefinedName),
            ("cargo", "E0432", MissingImport),
            ("cargo", "E0433", MissingImport),
            ("cargo", "E0308", TypeMismatch),
            ("cargo", "E0463", Environment),
            ("cargo", "syntax", Syntax),
            ("mypy", "syntax", Syntax),
            ("mypy", "import-not-found", MissingImport),
            ("mypy", "import-untyped", MissingImport),
            ("mypy", "import", MissingImport),
            ("mypy", "name-defined", UndefinedName),
            ("mypy", "attr-defined", UndefinedName),
            ("mypy", "arg-type", TypeMismatch),
            ("mypy", "return-value", TypeMismatch),
            ("mypy", "assignment", TypeMismatch),
            ("syntax", "ERROR", Syntax),
            ("syntax", "MISSING", Syntax),
            // Security.
            ("ruff", "S602", Security),
            ("ruff", "S307", Security),
            ("eslint", "security/detect-child-process", Security),
            // Go.
            ("gofmt", "syntax", Syntax),
            ("go_build", "syntax", Syntax),
            ("go_build", "undefined", UndefinedName),
            ("go_build", "unused_import", MissingImport),
            ("go_build", "missing_package", MissingImport),
            ("go_build", "module_not_downloaded", Environment),
            ("go_build", "cannot_use", TypeMismatch),
            ("go_vet", "undefined", UndefinedName),
            ("go_vet", "unused_import", MissingImport),
            ("go_vet", "missing_package", MissingImport),
            ("go_vet", "module_not_downloaded", Environment),
            ("go_vet", "cannot_use", TypeMismatch),
            ("go_build", "compile", Other),
            ("go_vet", "printf", Other),
            // Unmatched.
            ("ruff", "F841", Other),
            ("ruff", "", Other),
            ("pyright", "reportOptionalMemberAccess", Other),
            ("tsc", "TS2741", Other),
            ("tsc", "TS7006", Other),
            ("cargo", "E0599", Other),
            ("cargo", "", Other),
            ("mypy", "union-attr", Other),
            ("eslint", "no-undef", Other),
            ("F821", "ruff", Other),
        ];
        for (tool, code, want) in cases {
            assert_eq!(classify_error(tool, code), *want, "{tool} {code}");
        }
        // Every table row is exercised by at least one case.
        for (tool, prefix, _) in TABLE {
            assert!(
                cases.iter().any(|(t, c, _)| t == tool && c.starts_with(prefix)),
                "row ({tool}, {prefix}) has no case"
            );
        }
    }

    #[test]
    fn uninstalled_third_party_imports_are_environment() {
        let local = |m: &str| m == "app";
        let cases: &[(&str, &str, &str, Category)] = &[
            ("pyright", "reportMissingImports", "Import \"requests\" could not be resolved", Environment),
            ("pyright", "reportMissingModuleSource", "Import \"yaml\" could not be resolved from source", Environment),
            ("pyright", "reportMissingImports", "Import \"app.nope\" could not be resolved", MissingImport),
            (
                "mypy",
                "import-not-found",
                "Cannot find implementation or library stub for module named \"numpy.linalg\"",
                Environment,
            ),
            ("mypy", "import-untyped", "Library stubs not installed for \"requests\"", Environment),
            (
                "mypy",
                "import-not-found",
                "Cannot find implementation or library stub for module named \"app.x\"",
                MissingImport,
            ),
            ("tsc", "TS2307", "Cannot find module 'lodash' or its corresponding type declarations.", Environment),
            ("tsc", "TS2307", "Cannot find module '@scope/pkg' or its corresponding type declarations.", Environment),
            ("tsc", "TS2307", "Cannot find module './nope' or its corresponding type declarations.", MissingImport),
            (
                "tsc",
                "TS2307",
                "Cannot find module '@/components/x' or its corresponding type declarations.",
                MissingImport,
            ),
            ("cargo", "E0463", "can't find crate for `serde`", Environment),
            ("ruff", "F401", "`requests` imported but unused", MissingImport),
            ("pyright", "reportMissingImports", "no quotes at all", MissingImport),
        ];
        for (tool, code, msg, want) in cases {
            assert_eq!(classify_finding(tool, code, msg, &local), *want, "{tool} {code} {msg}");
        }
        assert!(Environment.suggestion().unwrap().contains("install the project's dependencies"));
        assert_eq!(UndefinedName.suggestion(), None);
    }

    #[test]
    fn first_match_wins_in_table_order() {
        // `import-not-found` also starts with the later `import` row; the earlier row decides.
        let first = TABLE.iter().position(|r| r.1 == "import-not-found");
        let general = TABLE.iter().position(|r| r.0 == "mypy" && r.1 == "import");
        assert!(first < general);
        assert_eq!(classify_error("tsc", "TS1"), Syntax);
        assert_eq!(Category::MissingImport.to_string(), "missing_import");
    }
}
