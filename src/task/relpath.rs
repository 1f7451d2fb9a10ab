//! Repo-relative paths as the plan spells them.
//!
//! Invariant: a [`RelPath`] is non-empty, uses `/` as its only separator, has no empty, `.` or
//! `..` segment, no NUL byte or backslash, is not absolute (no leading `/`, no drive letter) and
//! has no `.git` segment, and is not ai-tools' own config (`.ai-tools.toml`) or task dir
//! (`.ai-tools/`). Joining it onto a directory therefore can never leave that directory
//! lexically; symlinks are the job of [`crate::task::fsio`].

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Why a path string is not a valid [`RelPath`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelPathError {
    /// The string is empty.
    #[error("the path is empty")]
    Empty,
    /// Starts with `/` or a drive letter such as `C:`.
    #[error("`{0}` is absolute: paths are relative to the repo root")]
    Absolute(String),
    /// Contains a backslash; the plan uses forward slashes only.
    #[error("`{0}` contains a backslash: use forward slashes")]
    Backslash(String),
    /// Contains a NUL byte.
    #[error("the path contains a NUL byte")]
    Nul,
    /// Contains a `..` segment.
    #[error("`{0}` has a `..` segment: paths must stay inside the repo")]
    ParentSegment(String),
    /// Contains an empty or `.` segment (`a//b`, `./a`, `a/`).
    #[error("`{0}` has an empty or `.` segment: write it as a plain relative path")]
    EmptySegment(String),
    /// Points into a `.git` directory.
    #[error("`{0}` points into `.git/`, which ai-tools never writes")]
    GitDir(String),
    /// Points into `.ai-tools/`, where tasks (plans, state, generated files) live.
    #[error("`{0}` points into `.ai-tools/`, ai-tools' own task directory, which a plan cannot target")]
    ToolDir(String),
    /// Is the repo's `.ai-tools.toml`, ai-tools' own configuration.
    #[error("`{0}` is ai-tools' own configuration file, which a plan cannot target; edit it yourself")]
    ToolConfig(String),
}

/// A validated repo-relative path with forward slashes (see the module invariant).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RelPath(String);

impl RelPath {
    /// Validates `s`.
    ///
    /// # Errors
    /// A [`RelPathError`] naming the first rule the string breaks.
    pub fn new(s: &str) -> Result<Self, RelPathError> {
        if s.is_empty() {
            return Err(RelPathError::Empty);
        }
        if s.contains('\0') {
            return Err(RelPathError::Nul);
        }
        if s.contains('\\') {
            return Err(RelPathError::Backslash(s.to_owned()));
        }
        let b = s.as_bytes();
        if s.starts_with('/') || (b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic()) {
            return Err(RelPathError::Absolute(s.to_owned()));
        }
        let first = s.split('/').next().unwrap_or("");
        if first.eq_ignore_ascii_case(".ai-tools") {
            return Err(RelPathError::ToolDir(s.to_owned()));
        }
        if s.eq_ignore_ascii_case(".ai-tools.toml") {
            return Err(RelPathError::ToolConfig(s.to_owned()));
        }
        for seg in s.split('/') {
            match seg {
                ".." => return Err(RelPathError::ParentSegment(s.to_owned())),
                "" | "." => return Err(RelPathError::EmptySegment(s.to_owned())),
                _ if seg.eq_ignore_ascii_case(".git") => {
                    return Err(RelPathError::GitDir(s.to_owned()));
                }
                _ => {}
            }
        }
        Ok(Self(s.to_owned()))
    }

    /// The path as written, with `/` separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path's segments, outermost first.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// `base` joined with this path (lexically inside `base` by the type's invariant).
    pub fn join_to(&self, base: &Path) -> PathBuf {
        let mut p = base.to_path_buf();
        for seg in self.segments() {
            p.push(seg);
        }
        p
    }

    /// The file extension (text after the last `.` of the last segment), if any.
    pub fn extension(&self) -> Option<&str> {
        let name = self.0.rsplit('/').next().unwrap_or(&self.0);
        name.rsplit_once('.')
            .filter(|(stem, ext)| !stem.is_empty() && !ext.is_empty() && ext.chars().all(|c| c.is_ascii_alphanumeric()))
            .map(|(_, ext)| ext)
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RelPath {
    type Error = RelPathError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        RelPath::new(&s)
    }
}

impl From<RelPath> for String {
    fn from(p: RelPath) -> String {
        p.0
    }
}

impl AsRef<str> for RelPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_relative_paths() {
        for ok in ["a.py", "pkg/mod.py", "src/deep/er/x.tsx", ".github/ci.yml", "a b/c d.txt"] {
            assert_eq!(RelPath::new(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_every_unsafe_shape() {
        use RelPathError as E;
        let cases: &[(&str, fn(&RelPathError) -> bool)] = &[
            ("", |e| matches!(e, E::Empty)),
            ("/etc/passwd", |e| matches!(e, E::Absolute(_))),
            ("C:/x.py", |e| matches!(e, E::Absolute(_))),
            ("a\\b.py", |e| matches!(e, E::Backslash(_))),
            ("a\0b", |e| matches!(e, E::Nul)),
            ("../x.py", |e| matches!(e, E::ParentSegment(_))),
            ("a/../../x", |e| matches!(e, E::ParentSegment(_))),
            ("./a.py", |e| matches!(e, E::EmptySegment(_))),
            ("a//b", |e| matches!(e, E::EmptySegment(_))),
            ("a/", |e| matches!(e, E::EmptySegment(_))),
            (".git/config", |e| matches!(e, E::GitDir(_))),
            ("sub/.GIT/hooks/pre-commit", |e| matches!(e, E::GitDir(_))),
            (".ai-tools/tasks/t/state.json", |e| matches!(e, E::ToolDir(_))),
            (".ai-tools.toml", |e| matches!(e, E::ToolConfig(_))),
            (".AI-Tools.toml", |e| matches!(e, E::ToolConfig(_))),
        ];
        for (input, check) in cases {
            let err = RelPath::new(input).unwrap_err();
            assert!(check(&err), "{input:?} gave {err:?}");
        }
    }

    #[test]
    fn extension_of_last_segment() {
        assert_eq!(RelPath::new("a.b/c.py").unwrap().extension(), Some("py"));
        assert_eq!(RelPath::new("a.b/Makefile").unwrap().extension(), None);
        assert_eq!(RelPath::new(".gitignore").unwrap().extension(), None);
    }
}
