//! tsc: `node_modules/.bin/tsc --noEmit --pretty false -p tsconfig.json` in the shadow root
//! (never `npx tsc`, which without a local typescript runs an unrelated package). Outside the
//! sandbox `--incremental false` is added: a tsconfig's `tsBuildInfoFile` could otherwise name
//! any writable path; inside it, such a write lands in the scratch area or fails.
//!
//! Output (tsc's non-pretty diagnostics): one line per diagnostic,
//! `file(line,col): error TSxxxx: message`, 1-based, paths relative to the working directory,
//! followed by indented continuation lines that belong to the message (joined with `\n`).
//! Lines like `error TS5083: …` without a file are project-level errors. Exit status 1 (tsc 7)
//! and 2 (tsc 5) both mean "errors reported". While any syntax error exists, tsc reports only
//! syntax errors.

use crate::validate::Finding;

/// The arguments (run in the shadow root); `unsandboxed` adds `--incremental false`.
pub fn args(unsandboxed: bool) -> Vec<String> {
    let mut a: Vec<String> =
        ["--noEmit", "--pretty", "false", "-p", "tsconfig.json"].iter().map(|s| (*s).to_owned()).collect();
    if unsandboxed {
        a.extend(["--incremental".to_owned(), "false".to_owned()]);
    }
    a
}

fn parse_head(line: &str) -> Option<Finding> {
    let (loc, rest) = line.split_once("): error ")?;
    let (file, pos) = loc.rsplit_once('(')?;
    let (l, c) = pos.split_once(',')?;
    let (code, message) = rest.split_once(": ").unwrap_or((rest, ""));
    if !code.starts_with("TS") {
        return None;
    }
    Some(Finding {
        file: file.to_owned(),
        line: l.trim().parse().ok()?,
        column: c.trim().parse().ok()?,
        code: code.to_owned(),
        message: message.to_owned(),
    })
}

/// Parses tsc's output into file findings and project-level error lines.
pub fn parse(stdout: &str) -> (Vec<Finding>, Vec<String>) {
    let mut out: Vec<Finding> = Vec::new();
    let mut global = Vec::new();
    let mut last_was_finding = false;
    for line in stdout.lines() {
        if line.starts_with([' ', '\t']) {
            if last_was_finding && let Some(f) = out.last_mut() {
                f.message.push('\n');
                f.message.push_str(line.trim_end());
            }
            continue;
        }
        if let Some(f) = parse_head(line) {
            out.push(f);
            last_was_finding = true;
        } else {
            last_was_finding = false;
            if line.starts_with("error TS") {
                global.push(line.to_owned());
            }
        }
    }
    (out, global)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_continuations_and_project_errors() {
        let out = "src/App.tsx(3,14): error TS2304: Cannot find name 'missingName'.\n\
                   src/T.tsx(1,7): error TS2322: Type '{ a: string; }' is not assignable to type 'P'.\n  \
                   Object literal may only specify known properties.\n\
                   src/a(b).ts(2,1): error TS1005: ';' expected.\n\
                   error TS5083: Cannot read file 'tsconfig.base.json'.\n";
        let (f, g) = parse(out);
        assert_eq!(f.len(), 3);
        assert_eq!((f[0].file.as_str(), f[0].line, f[0].column, f[0].code.as_str()), ("src/App.tsx", 3, 14, "TS2304"));
        assert_eq!(
            f[1].message,
            "Type '{ a: string; }' is not assignable to type 'P'.\n  Object literal may only specify known properties."
        );
        assert_eq!(f[2].file, "src/a(b).ts");
        assert_eq!(g, vec!["error TS5083: Cannot read file 'tsconfig.base.json'."]);
    }
}
