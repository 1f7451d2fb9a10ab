//! Findings measured against the base: the same validators run on the base version of every
//! `modify` target (the content the diff was made against), in the same sandbox, and a
//! finding of the generated code that the base already had is marked
//! [`preexisting`](ValidationReport::preexisting).
//!
//! Matching ignores line numbers: two findings match when tool, code and message are equal and
//! the text of the finding's line and of its neighbours (one line either side, trimmed) is the
//! same in both versions; each base finding matches at most one finding.
//!
//! Cache: each validator's base findings are stored under the task
//! (`cache/baseline/<key>.json`), keyed by a SHA-256 of the validator, its version (the
//! executable's canonical path, size and mtime; the crate version for the syntax check), the
//! git blob id of every base file checked, the repo fingerprint (path, size and mtime of every
//! other file the tool could read, see [`Scratch::repo_fingerprint`]) and the configuration
//! (mypy on/off, sandboxed or not), so a redo or resume does not pay twice. A validator that
//! failed on the base is not cached.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::codegen::diff::git_blob_id;
use crate::report::ValidationReport;
use crate::sandbox::Scratch;
use crate::task::fsio;
use crate::task::relpath::RelPath;
use crate::validate::{Tool, ValidateError, Validators};

/// The step name base findings carry.
pub const STEP: &str = "baseline";

/// Bump when the cached format or the matching changes.
const CACHE_VERSION: u32 = 1;

/// The base's findings and texts (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    /// Findings on the base versions, by validator.
    pub findings: Vec<ValidationReport>,
    /// Base text of each checked file, by repo-relative path.
    pub texts: BTreeMap<String, String>,
    /// Validators whose base findings came from the cache.
    pub cached: Vec<String>,
    /// Validators that ran on the base in this call.
    pub ran: Vec<String>,
}

type Key = (String, String, String, String, String, String, String);

fn context(text: &str, line: u32) -> (String, String, String) {
    let lines: Vec<&str> = text.lines().collect();
    let at = |i: i64| -> String {
        usize::try_from(i).ok().and_then(|i| lines.get(i)).map_or(String::new(), |l| l.trim().to_owned())
    };
    let i = i64::from(line) - 1;
    (at(i - 1), at(i), at(i + 1))
}

fn key(r: &ValidationReport, text: Option<&str>) -> Key {
    let (a, b, c) = text.map_or_else(Default::default, |t| context(t, r.line));
    (r.file.clone(), r.tool.clone(), r.code.clone(), r.message.clone(), a, b, c)
}

impl Baseline {
    /// Marks each report in `reports` that matches a base finding (see the module docs);
    /// `current` gives the current text of a file.
    pub fn mark(&self, reports: &mut [ValidationReport], current: &dyn Fn(&str) -> Option<String>) {
        let mut pool: HashMap<Key, usize> = HashMap::new();
        for b in &self.findings {
            *pool.entry(key(b, self.texts.get(&b.file).map(String::as_str))).or_default() += 1;
        }
        let mut texts: HashMap<String, Option<String>> = HashMap::new();
        for r in reports.iter_mut() {
            let text = texts.entry(r.file.clone()).or_insert_with(|| current(&r.file));
            if let Some(n) = pool.get_mut(&key(r, text.as_deref()))
                && *n > 0
            {
                *n -= 1;
                r.preexisting = true;
            }
        }
    }
}

#[derive(Serialize)]
struct KeyParts<'a> {
    v: u32,
    tool: &'a str,
    version: String,
    files: &'a [(String, String)],
    repo: &'a str,
    mypy: bool,
    sandboxed: bool,
}

fn tool_version(tool: Tool, bin: Option<&Path>) -> String {
    match bin.and_then(|b| b.canonicalize().ok()) {
        Some(p) => {
            let m = std::fs::metadata(&p).ok();
            let mtime =
                m.as_ref().and_then(|m| m.modified().ok()).and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            format!("{}:{}:{}", p.display(), m.map_or(0, |m| m.len()), mtime.map_or(0, |d| d.as_nanos()))
        }
        None => format!("{}-builtin-{}", tool.name(), env!("CARGO_PKG_VERSION")),
    }
}

/// Runs `validators` on `bases` (each `modify` target's base content) in a scratch copy of
/// `repo`, reusing and filling the cache under `cache_dir` (none: no cache).
///
/// # Errors
/// [`ValidateError`] when the base scratch area cannot be built; a validator failing on the base
/// only leaves its base findings empty.
pub async fn measure(
    validators: &Validators,
    repo: &Path,
    bases: Vec<(RelPath, Vec<u8>)>,
    cache_dir: Option<&Path>,
) -> Result<Baseline, ValidateError> {
    let mut out = Baseline::default();
    if bases.is_empty() {
        return Ok(out);
    }
    let repo_owned = repo.to_path_buf();
    let bases_owned = bases.clone();
    let scratch = tokio::task::spawn_blocking(move || -> Result<Scratch, ValidateError> {
        let s = Scratch::mirror_of(&repo_owned)?;
        for (p, b) in &bases_owned {
            s.overlay(p, b)?;
        }
        Ok(s)
    })
    .await
    .map_err(|e| {
        ValidateError::Shadow(crate::sandbox::ScratchError::Io {
            path: repo.to_path_buf(),
            source: std::io::Error::other(e),
        })
    })??;
    let targets: Vec<RelPath> = bases.iter().map(|(p, _)| p.clone()).collect();
    for (p, b) in &bases {
        out.texts.insert(p.to_string(), String::from_utf8_lossy(b).into_owned());
    }
    let files: Vec<(String, String)> = bases.iter().map(|(p, b)| (p.to_string(), git_blob_id(b))).collect();
    let fp = scratch.repo_fingerprint();
    let full = validators.subset(&targets, &validators.tools().iter().map(|(t, _)| *t).collect::<Vec<_>>(), true);
    let mut wanted: Vec<(Tool, Option<&Path>)> = full.tools().iter().map(|(t, b)| (*t, Some(b.as_path()))).collect();
    if full.syntax_enabled() {
        wanted.push((Tool::Syntax, None));
    }
    let mut to_run = Vec::new();
    let mut keys = HashMap::new();
    for (tool, bin) in wanted {
        let parts = KeyParts {
            v: CACHE_VERSION,
            tool: tool.name(),
            version: tool_version(tool, bin),
            files: &files,
            repo: &fp,
            mypy: validators.tools().iter().any(|(t, _)| *t == Tool::Mypy),
            sandboxed: validators.sandbox().is_isolated(),
        };
        let k = hex::encode(Sha256::digest(serde_json::to_vec(&parts).unwrap_or_default()));
        let cached = cache_dir
            .and_then(|d| std::fs::read(d.join(format!("{k}.json"))).ok())
            .and_then(|b| serde_json::from_slice::<Vec<ValidationReport>>(&b).ok());
        match cached {
            Some(f) => {
                out.findings.extend(f);
                out.cached.push(tool.name().to_owned());
            }
            None => {
                to_run.push(tool);
                keys.insert(tool.name().to_owned(), k);
            }
        }
    }
    if to_run.is_empty() {
        return Ok(out);
    }
    let sub = validators.subset(&targets, &to_run, to_run.contains(&Tool::Syntax));
    let v = sub.validate(&scratch, STEP).await?;
    for run in &v.runs {
        let mine: Vec<ValidationReport> = v.reports.iter().filter(|r| r.tool == run.tool).cloned().collect();
        if run.error.is_none()
            && let (Some(d), Some(k)) = (cache_dir, keys.get(&run.tool))
            && let Ok(bytes) = serde_json::to_vec(&mine)
        {
            let _ = fsio::write_atomic(&d.join(format!("{k}.json")), &bytes);
        }
        out.ran.push(run.tool.clone());
        out.findings.extend(mine);
    }
    Ok(out)
}

/// The base content of every `modify` target in `manifest`: the blob recorded in state.json's
/// `base` and kept under `code/base/` when there is one, else the working tree's file (what the
/// diff is made against). Targets with neither are left out.
pub fn bases(
    task: &crate::task::TaskDir,
    repo: &Path,
    manifest: &crate::codegen::materialize::Manifest,
    base: &BTreeMap<String, crate::task::state::BaseEntry>,
) -> Vec<(RelPath, Vec<u8>)> {
    manifest
        .files
        .iter()
        .filter(|e| e.action == crate::plan::Action::Modify)
        .filter_map(|e| {
            let kept = base
                .get(e.path.as_str())
                .and_then(|b| b.blob.as_deref())
                .and_then(|id| crate::codegen::patch::stored_base(task, id));
            let bytes = kept.or_else(|| fsio::SafeDir::new(repo).read(&e.path).ok().flatten())?;
            Some((e.path.clone(), bytes))
        })
        .collect()
}

/// Where a task keeps its baseline cache.
pub fn cache_dir(task: &crate::task::TaskDir) -> std::path::PathBuf {
    task.root().join("cache/baseline")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::classify::Category;

    fn rep(file: &str, line: u32, code: &str, msg: &str) -> ValidationReport {
        ValidationReport {
            step: "validate".into(),
            file: file.into(),
            line,
            column: 1,
            code: code.into(),
            category: Category::Other,
            message: msg.into(),
            tool: "ruff".into(),
            severity: crate::report::Severity::Error,
            preexisting: false,
        }
    }

    #[test]
    fn matching_follows_the_text_not_the_line_number() {
        let base_text = "import requests\n\nx = 1\n";
        let b = Baseline {
            findings: vec![rep("a.py", 1, "E1", "no requests")],
            texts: BTreeMap::from([("a.py".to_owned(), base_text.to_owned())]),
            ..Baseline::default()
        };
        // Two lines were inserted above: the same finding is now on line 3.
        let now = "\"\"\"Doc.\"\"\"\n\nimport requests\n\nx = 1\nprint(y)\n";
        let mut reports =
            vec![rep("a.py", 3, "E1", "no requests"), rep("a.py", 6, "F821", "y"), rep("a.py", 5, "E1", "no requests")];
        b.mark(&mut reports, &|_| Some(now.to_owned()));
        let marks: Vec<bool> = reports.iter().map(|r| r.preexisting).collect();
        assert_eq!(marks, [true, false, false], "one base finding matches one finding, by its text");
    }
}
