//! eslint with eslint-plugin-security: the security rules for TypeScript/JavaScript.
//!
//! `node_modules/.bin/eslint --no-config-lookup -c .ai-tools-eslint.config.mjs -f json FILES…`
//! in the shadow root. The config ([`CONFIG`]) is ours, written into the shadow root (never the
//! working tree) so its imports resolve through the repo's `node_modules`: it enables only
//! `eslint-plugin-security`'s recommended rules, and parses TypeScript with
//! `@typescript-eslint/parser`. The project's own eslint config is not read: its rules are
//! not security findings, and a JavaScript config would run project code.
//!
//! Runs only when `node_modules` holds eslint, `eslint-plugin-security` and
//! `@typescript-eslint/parser` ([`installed`]).
//!
//! Output (`-f json`): `[{filePath, messages: [{ruleId, severity, message, line, column}]}]`,
//! 1-based, `filePath` absolute. Messages without a `ruleId` are parse errors, which the other
//! validators report: dropped. Exit status 0 and 1 both carry a result; 2 is eslint's own
//! failure.

use std::path::Path;

use serde::Deserialize;

use crate::validate::Finding;

/// Where the config is written, relative to the shadow root.
pub const CONFIG_PATH: &str = ".ai-tools-eslint.config.mjs";

/// The config: eslint-plugin-security's recommended rules, TypeScript parsed by
/// `@typescript-eslint/parser`.
pub const CONFIG: &str = r#"// Written by ai-tools in its scratch copy of the repo: security rules only.
import security from "eslint-plugin-security";
import tsParser from "@typescript-eslint/parser";
export default [
  { files: ["**/*.{ts,tsx,mts,cts}"], languageOptions: { parser: tsParser, parserOptions: { ecmaFeatures: { jsx: true } } } },
  { files: ["**/*.{js,jsx,mjs,cjs}"], languageOptions: { parserOptions: { ecmaFeatures: { jsx: true } } } },
  { files: ["**/*.{js,jsx,mjs,cjs,ts,tsx,mts,cts}"], ...security.configs.recommended },
];
"#;

/// Whether `repo/node_modules` holds the plugin and the TypeScript parser (eslint itself is
/// found by [`super::exec::find_tool`]).
pub fn installed(repo: &Path) -> bool {
    let nm = repo.join("node_modules");
    nm.join("eslint-plugin-security/package.json").is_file()
        && nm.join("@typescript-eslint/parser/package.json").is_file()
}

/// The arguments for `files` (paths relative to the shadow root).
pub fn args(files: &[String]) -> Vec<String> {
    let mut a: Vec<String> = ["--no-config-lookup", "-c", CONFIG_PATH, "-f", "json", "--no-warn-ignored"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    a.extend(files.iter().cloned());
    a
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Message {
    rule_id: Option<String>,
    message: String,
    #[serde(default)]
    line: u32,
    #[serde(default)]
    column: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileResult {
    file_path: String,
    messages: Vec<Message>,
}

/// Parses eslint's JSON output (see the module docs).
///
/// # Errors
/// The JSON error when the output is not eslint's array.
pub fn parse(stdout: &str) -> Result<Vec<Finding>, serde_json::Error> {
    let files: Vec<FileResult> = serde_json::from_str(stdout.trim())?;
    Ok(files
        .into_iter()
        .flat_map(|f| {
            let path = f.file_path;
            f.messages.into_iter().filter_map(move |m| {
                Some(Finding {
                    file: path.clone(),
                    line: m.line,
                    column: m.column,
                    code: m.rule_id?,
                    message: m.message,
                })
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_messages_kept_parse_errors_dropped() {
        let out = r#"[{"filePath":"/s/src/a.ts","messages":[
            {"ruleId":"security/detect-child-process","severity":1,"message":"Found child_process.exec() with non Literal first argument","line":3,"column":3},
            {"ruleId":null,"fatal":true,"severity":2,"message":"Parsing error: ')' expected.","line":9,"column":1}
          ],"errorCount":1,"warningCount":1},
          {"filePath":"/s/src/b.js","messages":[]}]"#;
        let f = parse(out).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].file.as_str(), f[0].line, f[0].column), ("/s/src/a.ts", 3, 3));
        assert_eq!(f[0].code, "security/detect-child-process");
        assert!(parse("Oops! Something went wrong!").is_err());
        assert_eq!(args(&["src/a.ts".into()])[2], CONFIG_PATH);
    }
}
