//! Sorting validator findings into the six coarse categories of the codegen reliability log.
//!
//! Invariant: [`classify_error`] walks one table in order and the first row whose tool matches
//! and whose code prefix starts the finding's code wins; anything unmatched is
//! [`Category::Other`]. The table keeps the seed's rows in the seed's order, then the
//! extensions (ruff ≥ 0.12 `invalid-syntax`, pyright's rule-less syntax diagnostics, cargo,
//! mypy and the built-in syntax check).

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
    ("examples", "", Category::TestFailure),
];

/// The category of a finding with `code` from `tool` (see the module invariant).
pub fn classify_error(tool: &str, code: &str) -> Category {
    TABLE.iter().find(|(t, prefix, _)| *t == tool && code.starts_with(prefix)).map_or(Category::Other, |(_, _, c)| *c)
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
    fn first_match_wins_in_table_order() {
        // `import-not-found` also starts with the later `import` row; the earlier row decides.
        let first = TABLE.iter().position(|r| r.1 == "import-not-found");
        let general = TABLE.iter().position(|r| r.0 == "mypy" && r.1 == "import");
        assert!(first < general);
        assert_eq!(classify_error("tsc", "TS1"), Syntax);
        assert_eq!(Category::MissingImport.to_string(), "missing_import");
    }
}
