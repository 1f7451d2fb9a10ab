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

/// Whether mypy's config under `root` names plugins: mypy imports and runs them, so mypy then
/// counts as a tool that executes project code (sandbox only). Read as mypy reads them:
/// `pyproject.toml` parsed as TOML (`[tool.mypy] plugins`, a dotted `tool.mypy.plugins` key or
/// an inline table; a `plugins` key anywhere under `tool.mypy` counts, and a file that does not
/// parse counts too), `mypy.ini`, `.mypy.ini` and `setup.cfg` as INI (a `plugins` key, any
/// case, `=` or `:`, in any `[mypy…]` section).
pub fn has_plugins(root: &Path) -> bool {
    CONFIGS.iter().any(|c| {
        let Ok(text) = std::fs::read_to_string(root.join(c)) else { return false };
        if *c == "pyproject.toml" { toml_has_plugins(&text) } else { ini_has_plugins(&text) }
    })
}

fn toml_has_plugins(text: &str) -> bool {
    fn any_plugins(v: &toml::Value) -> bool {
        match v {
            toml::Value::Table(t) => t.iter().any(|(k, v)| k.eq_ignore_ascii_case("plugins") || any_plugins(v)),
            toml::Value::Array(a) => a.iter().any(any_plugins),
            _ => false,
        }
    }
    match text.parse::<toml::Table>() {
        Ok(t) => t.get("tool").and_then(|tool| tool.get("mypy")).is_some_and(any_plugins),
        Err(_) => true,
    }
}

fn ini_has_plugins(text: &str) -> bool {
    let mut in_mypy = false;
    for line in text.lines() {
        let t = line.trim().to_ascii_lowercase();
        if let Some(section) = t.strip_prefix('[') {
            in_mypy = section.trim_start().starts_with("mypy");
        } else if in_mypy
            && let Some(rest) = t.strip_prefix("plugins")
            && rest.trim_start().starts_with(['=', ':'])
        {
            return true;
        }
    }
    false
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
    fn plugins_are_found_however_the_config_spells_them() {
        let with = |file: &str, text: &str| {
            let t = tempfile::tempdir().unwrap();
            std::fs::write(t.path().join(file), text).unwrap();
            has_plugins(t.path())
        };
        for (file, text) in [
            ("pyproject.toml", "[tool.mypy]\nplugins = [\"evil\"]\n"),
            ("pyproject.toml", "tool.mypy.plugins = [\"evil\"]\n"),
            ("pyproject.toml", "[tool]\nmypy = { plugins = [\"evil\"] }\n"),
            ("pyproject.toml", "[tool.mypy]\n\"plugins\" = \"evil\"\n"),
            ("pyproject.toml", "not = = toml"),
            ("mypy.ini", "[mypy]\nPLUGINS = evil\n"),
            ("mypy.ini", "[mypy]\nplugins: evil\n"),
            ("setup.cfg", "[metadata]\nname = x\n[mypy]\n  Plugins=evil\n"),
        ] {
            assert!(with(file, text), "{file}: {text}");
        }
        for (file, text) in [
            ("pyproject.toml", "[tool.ruff]\nplugins = [\"x\"]\n[tool.mypy]\nstrict = true\n"),
            ("setup.cfg", "[flake8]\nplugins = x\n[mypy]\nstrict = True\n"),
            ("mypy.ini", "[mypy]\nplugins_extra = 1\n"),
        ] {
            assert!(!with(file, text), "{file}: {text}");
        }
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
