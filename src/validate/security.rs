//! Security findings: ruff's `S` rules (the flake8-bandit set) for Python and
//! eslint-plugin-security's rules for TypeScript/JavaScript ([`super::eslint`]), as findings of
//! category `security` whose [`Severity`] says how bad they are.
//!
//! Security severities are the finding severities: **high = error**, **medium = warning**,
//! **low = info**. High findings are repaired like errors; medium and low ones are reported and
//! weighed by the [quality score](crate::quality) (high and medium weigh `security`, 20; low
//! weighs `info`, 1), and medium ones are offered to the improvement loop.
//!
//! Where the levels come from:
//! - ruff prints no severity: [`ruff_severity`] uses bandit's documented severity of the same
//!   check, raised to high for the checks that hand attacker-controlled text to an interpreter
//!   (`S102` exec, `S307` eval, `S506` unsafe `yaml.load`). `S101`, `S603` and `S607` are not
//!   selected (see [`super::ruff`]).
//! - eslint-plugin-security reports everything as a warning: [`eslint_severity`] assigns high to
//!   code execution (`detect-eval-with-expression`, `detect-child-process`,
//!   `detect-disable-mustache-escape`, `detect-bidi-characters`), low to the rules whose own
//!   documentation calls them noisy (`detect-object-injection`, `detect-possible-timing-attacks`,
//!   `detect-pseudoRandomBytes`), medium to the rest.

use crate::report::Severity;

/// ruff `S` codes bandit rates high (plus the raised ones, see the module docs).
const RUFF_HIGH: &[&str] = &[
    "S102", "S201", "S202", "S307", "S312", "S321", "S324", "S413", "S501", "S502", "S503", "S504", "S506", "S602",
    "S605", "S609", "S701", "S702",
];

/// ruff `S` codes bandit rates low (`S4xx` imports other than `S413` are low too).
const RUFF_LOW: &[&str] = &["S105", "S106", "S107", "S110", "S112", "S311", "S603", "S606", "S607"];

/// The severity of ruff security code `code` (`S602`, …); see the module docs.
pub fn ruff_severity(code: &str) -> Severity {
    if RUFF_HIGH.contains(&code) {
        Severity::Error
    } else if RUFF_LOW.contains(&code) || code.starts_with("S4") {
        Severity::Info
    } else {
        Severity::Warning
    }
}

/// The severity of eslint-plugin-security rule `rule` (`security/detect-…`); see the module
/// docs.
pub fn eslint_severity(rule: &str) -> Severity {
    let name = rule.strip_prefix("security/").unwrap_or(rule);
    match name {
        "detect-eval-with-expression"
        | "detect-child-process"
        | "detect-disable-mustache-escape"
        | "detect-bidi-characters" => Severity::Error,
        "detect-object-injection" | "detect-possible-timing-attacks" | "detect-pseudoRandomBytes" => Severity::Info,
        _ => Severity::Warning,
    }
}

/// The severity of a finding of validator `tool` with `code`: security rules by the tables
/// above, `go vet`'s analyzers warnings (suspicious constructs, not broken code), everything
/// else an error.
pub fn severity_of(tool: &str, code: &str) -> Severity {
    match tool {
        "ruff" if code.starts_with('S') && code[1..].chars().all(|c| c.is_ascii_digit()) && code.len() > 1 => {
            ruff_severity(code)
        }
        "eslint" => eslint_severity(code),
        "go_vet" => Severity::Warning,
        _ => Severity::Error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_by_tool_and_code() {
        for (tool, code, want) in [
            ("ruff", "S602", Severity::Error),
            ("ruff", "S307", Severity::Error),
            ("ruff", "S608", Severity::Warning),
            ("ruff", "S113", Severity::Warning),
            ("ruff", "S603", Severity::Info),
            ("ruff", "S404", Severity::Info),
            ("ruff", "S413", Severity::Error),
            ("ruff", "F821", Severity::Error),
            ("ruff", "SyntaxError", Severity::Error),
            ("eslint", "security/detect-eval-with-expression", Severity::Error),
            ("eslint", "security/detect-non-literal-regexp", Severity::Warning),
            ("eslint", "security/detect-object-injection", Severity::Info),
            ("go_vet", "printf", Severity::Warning),
            ("go_build", "undefined", Severity::Error),
            ("tsc", "TS2304", Severity::Error),
        ] {
            assert_eq!(severity_of(tool, code), want, "{tool} {code}");
        }
    }
}
