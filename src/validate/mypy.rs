//! mypy (optional): `mypy --output json --no-error-summary --show-column-numbers
//! --no-incremental --cache-dir /dev/null FILES…`.
//!
//! Output (mypy's JSON output format, one object per line): `{file, line, column, message,
//! hint, code, severity}`; lines 1-based, columns 0-based (made 1-based here), `-1` when the
//! finding has no position (reported as 0). Only `severity == "error"` is kept; `code` may be
//! `null` (reported as an empty code). Exit 1 means findings; 2 can also carry findings
//! (blocking errors such as syntax errors).

use std::path::Path;

use serde::Deserialize;

use crate::validate::Finding;

/// The config files mypy reads at the project root, in its order.
const CONFIGS: &[&str] = &["mypy.ini", ".mypy.ini", "pyproject.toml", "setup.cfg"];

/// Whether mypy's config under `root` names plugins (`plugins =` in `mypy.ini`, `.mypy.ini`,
/// `setup.cfg`, or `[tool.mypy]` of `pyproject.toml`): mypy imports and runs them, so mypy then
/// counts as a tool that executes project code (sandbox only). Conservative: any `plugins` key
/// in one of these files counts.
pub fn has_plugins(root: &Path) -> bool {
    CONFIGS.iter().any(|c| {
        std::fs::read_to_string(root.join(c))
            .is_ok_and(|t| t.lines().any(|l| l.trim_start().starts_with("plugins") && l.contains('=')))
    })
}

/// Arguments for checking `files`.
pub fn args(python: Option<&str>, files: &[String]) -> Vec<String> {
    let mut a: Vec<String> = [
        "--output",
        "json",
        "--no-error-summary",
        "--show-column-numbers",
        "--no-incremental",
        "--cache-dir",
        "/dev/null",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if let Some(p) = python {
        a.extend(["--python-executable".to_owned(), p.to_owned()]);
    }
    a.extend(files.iter().cloned());
    a
}

#[derive(Deserialize)]
struct Row {
    file: String,
    line: i64,
    column: i64,
    message: String,
    code: Option<String>,
    severity: String,
}

/// Parses mypy's JSON lines (see the module docs); lines that are not JSON objects are
/// skipped.
pub fn parse(stdout: &str) -> Vec<Finding> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Row>(l.trim()).ok())
        .filter(|r| r.severity == "error")
        .map(|r| Finding {
            file: r.file,
            line: u32::try_from(r.line).unwrap_or(0),
            column: u32::try_from(r.column + 1).unwrap_or(0),
            code: r.code.unwrap_or_default(),
            message: r.message,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugins_in_any_config_file_count() {
        let t = tempfile::tempdir().unwrap();
        assert!(!has_plugins(t.path()));
        std::fs::write(t.path().join("setup.cfg"), "[mypy]\nstrict = True\n").unwrap();
        assert!(!has_plugins(t.path()));
        std::fs::write(t.path().join("mypy.ini"), "[mypy]\nplugins = evil_plugin\n").unwrap();
        assert!(has_plugins(t.path()));
    }

    #[test]
    fn json_lines() {
        let out = r#"{"file": "typed.py", "line": 2, "column": 11, "end_line": 2, "end_column": 12, "message": "Incompatible return value type (got \"int\", expected \"str\")", "hint": null, "code": "return-value", "severity": "error"}
{"file": "x.py", "line": -1, "column": -1, "message": "shadows", "hint": null, "code": null, "severity": "error"}
{"file": "n.py", "line": 1, "column": 0, "message": "note", "hint": null, "code": null, "severity": "note"}
garbage"#;
        let f = parse(out);
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].line, f[0].column, f[0].code.as_str()), (2, 12, "return-value"));
        assert_eq!((f[1].line, f[1].column, f[1].code.as_str()), (0, 0, ""));
    }
}
