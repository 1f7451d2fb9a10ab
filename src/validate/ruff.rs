//! ruff: `ruff check --select F,E9,S --ignore S101 --output-format json --no-cache FILES…`,
//! or for an in-memory candidate `… --stdin-filename REL -` with the content on stdin. `S` is
//! the flake8-bandit set ([security findings](super::security)); left out are `S101` (assert:
//! pytest tests are asserts) and `S603`/`S607` (bandit's low-severity "a subprocess call:
//! check the input" advisories, raised by every subprocess call with arguments, safe or not).
//!
//! Output (ruff's JSON format): an array of `{code, filename, location: {row, column},
//! message, …}`, rows and columns 1-based, `filename` absolute. Syntax errors come in three
//! shapes by ruff version: code `invalid-syntax` (≥ 0.12), code `null` with a message starting
//! `SyntaxError:` (0.6–0.11; reported here as code `SyntaxError`), or code `E999` (older).
//! Exit status 0 (clean) and 1 (findings) both carry a result; 2 is ruff's own failure.

use serde::Deserialize;

use crate::validate::Finding;

/// Arguments for checking `files` (paths relative to the working directory).
pub fn args(files: &[String]) -> Vec<String> {
    let mut a: Vec<String> =
        ["check", "--select", "F,E9,S", "--ignore", "S101,S603,S607", "--output-format", "json", "--no-cache"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
    a.extend(files.iter().cloned());
    a
}

/// Arguments for checking stdin as the file `rel`.
pub fn stdin_args(rel: &str) -> Vec<String> {
    let mut a = args(&[]);
    a.extend(["--stdin-filename".to_owned(), rel.to_owned(), "-".to_owned()]);
    a
}

/// Arguments for applying ruff's safe fixes (the same rules as [`args`]) to stdin as the file
/// `rel`: `check --fix-only` prints the fixed source on stdout (unsafe fixes stay off).
pub fn fix_args(rel: &str) -> Vec<String> {
    ["check", "--select", "F,E9", "--fix-only", "--no-cache", "--stdin-filename", rel, "-"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

#[derive(Deserialize)]
struct Location {
    row: u32,
    column: u32,
}

#[derive(Deserialize)]
struct Diagnostic {
    code: Option<String>,
    filename: String,
    location: Option<Location>,
    message: String,
}

/// Parses ruff's JSON output (see the module docs).
///
/// # Errors
/// The JSON error when the output is not ruff's array.
pub fn parse(stdout: &str) -> Result<Vec<Finding>, serde_json::Error> {
    let diags: Vec<Diagnostic> = serde_json::from_str(stdout.trim())?;
    Ok(diags
        .into_iter()
        .map(|d| {
            let code = match d.code {
                Some(c) => c,
                None if d.message.starts_with("SyntaxError:") => "SyntaxError".to_owned(),
                None => String::new(),
            };
            let (line, column) = d.location.map_or((0, 0), |l| (l.row, l.column));
            Finding { file: d.filename, line, column, code, message: d.message }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::classify::{Category, classify_error};

    #[test]
    fn all_three_syntax_error_shapes() {
        let out = r#"[
          {"code":"invalid-syntax","filename":"/s/a.py","location":{"row":1,"column":7},"message":"Expected `)`"},
          {"code":null,"filename":"/s/b.py","location":{"row":2,"column":1},"message":"SyntaxError: Unexpected token"},
          {"code":"E999","filename":"/s/c.py","location":{"row":3,"column":4},"message":"SyntaxError: invalid syntax"},
          {"code":"F821","filename":"/s/d.py","location":{"row":2,"column":12},"message":"Undefined name `valu`"}
        ]"#;
        let f = parse(out).unwrap();
        let got: Vec<_> =
            f.iter().map(|f| (f.code.as_str(), classify_error("ruff", &f.code), f.line, f.column)).collect();
        assert_eq!(
            got,
            vec![
                ("invalid-syntax", Category::Syntax, 1, 7),
                ("SyntaxError", Category::Syntax, 2, 1),
                ("E999", Category::Syntax, 3, 4),
                ("F821", Category::UndefinedName, 2, 12),
            ]
        );
        assert!(parse("[]").unwrap().is_empty());
        assert!(parse("error: boom").is_err());
        assert_eq!(stdin_args("pkg/a.py")[8..], ["--stdin-filename", "pkg/a.py", "-"]);
    }
}
