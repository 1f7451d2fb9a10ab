//! pyright: `pyright --outputjson -p ROOT --pythonpath PYTHON FILES…`.
//!
//! Output (pyright's `--outputjson` report): `{generalDiagnostics: [{file, severity, message,
//! range: {start: {line, character}}, rule?}]}` with 0-based lines and characters (made 1-based
//! here). Only `severity == "error"` is kept. A diagnostic without a `rule` is a syntax error
//! (reported with code `syntax`). Exit status 0 (clean) and 1 (errors) both carry a report.

use serde::Deserialize;

use crate::validate::Finding;

/// Arguments for checking `files` in project `root` with interpreter `python`.
pub fn args(root: &str, python: Option<&str>, files: &[String]) -> Vec<String> {
    let mut a = vec!["--outputjson".to_owned(), "-p".to_owned(), root.to_owned()];
    if let Some(p) = python {
        a.extend(["--pythonpath".to_owned(), p.to_owned()]);
    }
    a.extend(files.iter().cloned());
    a
}

#[derive(Deserialize)]
struct Pos {
    line: u32,
    character: u32,
}

#[derive(Deserialize)]
struct Range {
    start: Pos,
}

#[derive(Deserialize)]
struct Diagnostic {
    file: String,
    severity: String,
    message: String,
    range: Option<Range>,
    rule: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    #[serde(default)]
    general_diagnostics: Vec<Diagnostic>,
}

/// Parses pyright's JSON report (see the module docs).
///
/// # Errors
/// The JSON error when the output is not a pyright report.
pub fn parse(stdout: &str) -> Result<Vec<Finding>, serde_json::Error> {
    let r: Report = serde_json::from_str(stdout.trim())?;
    Ok(r.general_diagnostics
        .into_iter()
        .filter(|d| d.severity == "error")
        .map(|d| {
            let (line, column) = d.range.map_or((0, 0), |r| (r.start.line + 1, r.start.character + 1));
            Finding {
                file: d.file,
                line,
                column,
                code: d.rule.filter(|r| !r.is_empty()).unwrap_or_else(|| "syntax".to_owned()),
                message: d.message,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_one_based_and_ruleless_is_syntax() {
        let out = r#"{"version":"1","generalDiagnostics":[
          {"file":"/s/a.py","severity":"error","message":"\"valu\" is not defined","range":{"start":{"line":1,"character":11},"end":{"line":1,"character":15}},"rule":"reportUndefinedVariable"},
          {"file":"/s/b.py","severity":"error","message":"Expected expression","range":{"start":{"line":0,"character":0},"end":{"line":0,"character":1}}},
          {"file":"/s/c.py","severity":"warning","message":"unused","range":{"start":{"line":4,"character":0},"end":{"line":4,"character":1}},"rule":"reportUnusedVariable"}
        ],"summary":{}}"#;
        let f = parse(out).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].line, f[0].column, f[0].code.as_str()), (2, 12, "reportUndefinedVariable"));
        assert_eq!((f[1].line, f[1].column, f[1].code.as_str()), (1, 1, "syntax"));
    }
}
