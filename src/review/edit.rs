//! Edit before accepting: the reviewer changes a generated file by hand in `$VISUAL` /
//! `$EDITOR`, then it is re-validated and re-diffed.
//!
//! The front end (REPL, TUI) runs the editor — the TUI has to suspend and restore its terminal
//! around it — and this module does the rest:
//! 1. [`editor_command`] resolves the editor from `VISUAL`, then `EDITOR` (split like a shell
//!    would, so `code --wait` works);
//! 2. [`begin`] copies the file from `code/files/` to a scratch copy under the task
//!    (`code/.edit-<pid>-<n>/<path>`, same file name so the editor picks the language) and
//!    returns the path to open;
//! 3. after the editor exits, [`EditSession::finish`] decides: an editor that failed (non-zero
//!    exit) or left the bytes unchanged changes nothing; otherwise the previous candidate is
//!    archived ([`crate::review::candidate`]), the edited file is re-validated
//!    ([`crate::review::verify`]), written to `code/files/` through [`SafeDir`], and diff.patch
//!    is re-derived for that file — hunks the edit did not touch keep their review states.
//!
//! Invariant: `code/files/` is never opened by the editor itself, so an editor that crashes,
//! is killed or writes half a file cannot damage the candidate; the scratch copy is removed
//! when the session is dropped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use serde::Serialize;

use crate::codegen::materialize::Manifest;
use crate::config::ValidateConfig;
use crate::plan::Action;
use crate::report::ValidationReport;
use crate::review::candidate::{self, CandidateKind, Installed};
use crate::review::{ReviewError, verify};
use crate::task::TaskDir;
use crate::task::fsio::SafeDir;
use crate::task::relpath::RelPath;

/// Why no editor can be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditorError {
    /// Neither variable is set (or both are empty).
    #[error("no editor: set $VISUAL or $EDITOR (e.g. `export EDITOR=vi`)")]
    Unset,
    /// The variable does not split into words (an unclosed quote).
    #[error("${name} = `{value}` cannot be split into a command (check its quotes)")]
    Unparsable {
        /// `VISUAL` or `EDITOR`.
        name: &'static str,
        /// Its value.
        value: String,
    },
}

/// The editor command from `VISUAL`, else `EDITOR` (looked up with `env`), split into program
/// and arguments by POSIX shell rules; the file to edit goes last.
///
/// # Errors
/// [`EditorError`].
pub fn editor_command(env: impl Fn(&str) -> Option<String>) -> Result<Vec<String>, EditorError> {
    for name in ["VISUAL", "EDITOR"] {
        let Some(value) = env(name).filter(|v| !v.trim().is_empty()) else { continue };
        return match shlex::split(&value) {
            Some(words) if !words.is_empty() => Ok(words),
            _ => Err(EditorError::Unparsable { name, value }),
        };
    }
    Err(EditorError::Unset)
}

/// The process that opens `file` in `editor` (from [`editor_command`]; the file goes last),
/// with every variable [`crate::sandbox::env::is_denied`] names removed from the environment it
/// inherits — keys and tokens by suffix, the broker's own variables, and `deny` (the configured
/// providers' `api_key_env` names) — so an editor, its plugins and its shell never see a key.
pub fn editor_process(editor: &[String], file: &Path, deny: &[String]) -> std::process::Command {
    let mut c = std::process::Command::new(editor.first().map_or("vi", String::as_str));
    c.args(editor.iter().skip(1)).arg(file);
    crate::sandbox::env::scrub(&mut c, deny);
    c
}

/// One edit in progress (see the module docs).
#[derive(Debug)]
pub struct EditSession {
    task: TaskDir,
    path: RelPath,
    scratch: PathBuf,
    file: PathBuf,
    before: Vec<u8>,
}

/// How an edit ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EditOutcome {
    /// Nothing changed: the editor failed or the file is as it was.
    Unchanged {
        /// Why.
        why: String,
    },
    /// The edit replaced the candidate.
    Changed {
        /// The archive holding the previous candidate.
        archive: u32,
        /// The edited file's findings after re-validation (introduced and pre-existing).
        findings: Vec<ValidationReport>,
        /// The re-derived diff and which hunks kept their states.
        installed: Installed,
    },
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Starts editing `path`: a generated (`create`/`modify`) target with content in `code/files/`.
///
/// # Errors
/// [`ReviewError::UnknownFiles`] for a path that is not such a target; read and write errors.
pub fn begin(task: &TaskDir, path: &str) -> Result<EditSession, ReviewError> {
    let unknown = || ReviewError::UnknownFiles(format!("`{path}` (edit a generated file of code/files/)"));
    let rel = RelPath::new(path.trim().strip_prefix("./").unwrap_or(path.trim())).map_err(|_| unknown())?;
    let planned =
        Manifest::load(task).is_some_and(|m| m.files.iter().any(|e| e.path == rel && e.action != Action::Delete));
    if !planned {
        return Err(unknown());
    }
    let before = SafeDir::new(task.files_dir()).read(&rel)?.ok_or_else(unknown)?;
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let scratch = task.code_dir().join(format!(".edit-{}-{n}", std::process::id()));
    if scratch.exists() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    let file = SafeDir::new(&scratch).write(&rel, &before, Some(0o600))?;
    Ok(EditSession { task: task.clone(), path: rel, scratch, file, before })
}

impl EditSession {
    /// The file to open in the editor (the scratch copy).
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The target being edited.
    pub fn path(&self) -> &RelPath {
        &self.path
    }

    /// Finishes the edit after the editor exited (`editor_ok`: it exited with status 0); see
    /// the module docs.
    ///
    /// # Errors
    /// Read errors of the scratch copy, validation that cannot run, lock, write and diff errors;
    /// `code/files/` is unchanged on any error before the install step.
    pub async fn finish(
        self,
        repo: &Path,
        validate: &ValidateConfig,
        sandbox: &crate::sandbox::SandboxConfig,
        editor_ok: bool,
    ) -> Result<EditOutcome, ReviewError> {
        if !editor_ok {
            return Ok(EditOutcome::Unchanged { why: "the editor exited with an error; nothing changed".into() });
        }
        let after = match std::fs::symlink_metadata(&self.file) {
            Ok(m) if m.is_file() => std::fs::read(&self.file)
                .map_err(|e| crate::task::fsio::WriteError::Io { path: self.file.clone(), source: e })?,
            _ => return Ok(EditOutcome::Unchanged { why: "the edited file is gone; nothing changed".into() }),
        };
        if after == self.before {
            return Ok(EditOutcome::Unchanged { why: "the file is unchanged".into() });
        }
        let new = vec![(self.path.clone(), after)];
        let checked = verify::validate(repo, &self.task, validate, sandbox, &new, "edit").await?;
        let validated = checked.map(|c| c.files).unwrap_or_default();
        let findings =
            validated.iter().find(|(p, _, _)| p == &self.path).map(|(_, _, f)| f.clone()).unwrap_or_default();
        let rec = candidate::archive(&self.task, CandidateKind::Edit, std::slice::from_ref(&self.path), None)?;
        let installed = candidate::install(&self.task, repo, &new, &validated)?;
        Ok(EditOutcome::Changed { archive: rec.number, findings, installed })
    }
}

impl Drop for EditSession {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visual_wins_over_editor_and_words_split_like_a_shell() {
        let env = |v: Option<&str>, e: Option<&str>| {
            let (v, e) = (v.map(str::to_owned), e.map(str::to_owned));
            move |k: &str| {
                if k == "VISUAL" {
                    v.clone()
                } else if k == "EDITOR" {
                    e.clone()
                } else {
                    None
                }
            }
        };
        assert_eq!(editor_command(env(Some("code --wait"), Some("vi"))).unwrap(), vec!["code", "--wait"]);
        assert_eq!(editor_command(env(Some(" "), Some("'my editor' -n"))).unwrap(), vec!["my editor", "-n"]);
        assert_eq!(editor_command(env(None, None)), Err(EditorError::Unset));
        assert!(matches!(
            editor_command(env(None, Some("vi 'open"))),
            Err(EditorError::Unparsable { name: "EDITOR", .. })
        ));
    }
}
