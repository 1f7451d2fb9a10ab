//! Git through its command line: committing exactly the accepted paths, staging them, and
//! reading base blobs from the object store.
//!
//! Invariants: pathspecs are literal (`GIT_LITERAL_PATHSPECS=1`, git(1)), so a path is never a
//! glob; `GIT_INDEX_FILE` from the caller's environment is ignored; a commit uses
//! `git commit --only -- <paths>` (git-commit(1)), which commits those paths' working-tree
//! content from a temporary index built from HEAD and leaves every other staged or unstaged
//! change exactly as it was. New files are made known to git with `git add --intent-to-add`
//! first (and forgotten again if the commit fails). Undo of an accept that staged its paths
//! unstages them again. No git child sees a secret variable (API keys; see `base_command`).
//!
//! Paths: ai-tools' paths are relative to the repo it was given (`--repo`), which may be a
//! subdirectory of the git work tree. [`Git::discover`] resolves the work tree's top and the
//! repo's prefix under it once; every command runs at the top with prefixed paths, and every
//! path git prints (top-relative) is mapped back by removing the prefix. So `status
//! --porcelain` output and the task's paths are compared in one space, whatever the layout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::review::ReviewError;
use crate::task::relpath::RelPath;

/// A git work tree and where ai-tools' repo sits in it.
#[derive(Debug, Clone)]
pub struct Git {
    /// The repo ai-tools was given; task paths are relative to it.
    repo: PathBuf,
    /// The work tree's top (`git rev-parse --show-toplevel`); every command runs here.
    top: PathBuf,
    /// `repo` relative to `top`, with a trailing `/`, or empty (`git rev-parse --show-prefix`).
    prefix: String,
}

impl Git {
    /// The work tree containing `dir`, or `None` when it is not in one (or git is missing).
    pub fn discover(dir: &Path) -> Option<Self> {
        let out = base_command(dir)
            .args(["rev-parse", "--is-inside-work-tree", "--show-toplevel", "--show-prefix"])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8(out.stdout).ok()?;
        let mut lines = text.split('\n');
        if lines.next()? != "true" {
            return None;
        }
        let top = PathBuf::from(lines.next()?);
        let prefix = lines.next().unwrap_or("").to_owned();
        Some(Self { repo: dir.to_path_buf(), top, prefix })
    }

    /// The repo's prefix under the work tree's top (`sub/dir/`, or empty at the top).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `rel` (repo-relative) as a top-relative pathspec.
    fn spec(&self, rel: &RelPath) -> String {
        format!("{}{rel}", self.prefix)
    }

    /// A top-relative path git printed, as a repo-relative path (`None` outside the repo).
    fn relative_to_repo<'a>(&self, p: &'a str) -> Option<&'a str> {
        p.strip_prefix(self.prefix.as_str())
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = base_command(&self.top);
        c.args(args);
        c
    }

    fn run(&self, args: &[&str], paths: &[&RelPath]) -> Result<Output, ReviewError> {
        let mut c = self.command(args);
        if !paths.is_empty() {
            c.arg("--").args(paths.iter().map(|p| self.spec(p)));
        }
        let shown = args.join(" ");
        let out = c.output().map_err(|e| ReviewError::Git { args: shown.clone(), stderr: e.to_string() })?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(ReviewError::Git { args: shown, stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned() })
        }
    }

    /// The bytes of blob `id` when the object store has it.
    pub fn blob(&self, id: &str) -> Option<Vec<u8>> {
        if id.len() != 40 || !id.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let out = self.command(&["cat-file", "blob", id]).output().ok()?;
        out.status.success().then_some(out.stdout)
    }

    /// Stages `paths` as they are in the working tree, deletions included (aggressive mode):
    /// `git update-index --add --remove`.
    ///
    /// # Errors
    /// [`ReviewError::Git`] with git's message.
    pub fn stage(&self, paths: &[&RelPath]) -> Result<(), ReviewError> {
        if paths.is_empty() {
            return Ok(());
        }
        self.run(&["update-index", "--add", "--remove"], paths).map(|_| ())
    }

    /// Unstages `paths` (index entries back to HEAD's, or removed in a repo without commits),
    /// as `git reset -q -- <paths>` does.
    ///
    /// # Errors
    /// [`ReviewError::Git`] with git's message.
    pub fn unstage(&self, paths: &[&RelPath]) -> Result<(), ReviewError> {
        if paths.is_empty() {
            return Ok(());
        }
        if self.has_head() {
            self.run(&["reset", "--quiet"], paths).map(|_| ())
        } else {
            self.run(&["rm", "--cached", "--quiet", "--ignore-unmatch"], paths).map(|_| ())
        }
    }

    /// Which of `paths` hold uncommitted changes — staged or unstaged, against HEAD — as
    /// `git status --porcelain` reports them. Committing or staging such a path would take
    /// those changes along with the accepted hunks.
    ///
    /// # Errors
    /// [`ReviewError::Git`] with git's message.
    pub fn dirty(&self, paths: &[&RelPath]) -> Result<Vec<RelPath>, ReviewError> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let out = self.run(&["status", "--porcelain=v1", "-z", "--untracked-files=no"], paths)?;
        Ok(out
            .stdout
            .split(|&c| c == 0)
            .filter(|e| e.len() > 3)
            .filter_map(|e| std::str::from_utf8(&e[3..]).ok())
            .filter_map(|p| self.relative_to_repo(p))
            .filter_map(|p| paths.iter().find(|x| x.as_str() == p).map(|x| (*x).clone()))
            .collect())
    }

    fn has_head(&self) -> bool {
        self.command(&["rev-parse", "--verify", "-q", "HEAD"]).output().is_ok_and(|o| o.status.success())
    }

    /// Which of `paths` the index knows (repo-relative).
    fn tracked(&self, paths: &[&RelPath]) -> Result<Vec<String>, ReviewError> {
        let out = self.run(&["ls-files", "-z"], paths)?;
        Ok(out
            .stdout
            .split(|&c| c == 0)
            .filter(|s| !s.is_empty())
            .filter_map(|s| self.relative_to_repo(&String::from_utf8_lossy(s)).map(str::to_owned))
            .collect())
    }

    /// Commits exactly `paths` (their working-tree content) with `message`; other staged and
    /// unstaged changes stay as they are. Returns the new commit id, or `None` when the paths
    /// hold no change against HEAD.
    ///
    /// # Errors
    /// [`ReviewError::Git`] with git's message (no identity configured, a hook refused, …).
    pub fn commit_only(&self, paths: &[&RelPath], message: &str) -> Result<Option<String>, ReviewError> {
        let tracked = self.tracked(paths)?;
        let known = |p: &RelPath| tracked.iter().any(|t| t == p.as_str());
        let untracked: Vec<&RelPath> =
            paths.iter().copied().filter(|p| !known(p) && p.join_to(&self.repo).is_file()).collect();
        let commit: Vec<&RelPath> = paths.iter().copied().filter(|p| known(p) || untracked.contains(p)).collect();
        if commit.is_empty() {
            return Ok(None);
        }
        if !untracked.is_empty() {
            self.run(&["add", "--intent-to-add", "--force"], &untracked)?;
        }
        let has_head =
            self.command(&["rev-parse", "--verify", "-q", "HEAD"]).output().is_ok_and(|o| o.status.success());
        let changed = !has_head || {
            let mut c = self.command(&["diff", "--quiet", "HEAD"]);
            c.arg("--").args(commit.iter().map(|p| self.spec(p)));
            c.status().map_or(true, |s| !s.success())
        };
        if !changed {
            return Ok(None);
        }
        let done = self.run(&["commit", "--quiet", "--only", "-m", message], &commit);
        if let Err(e) = done {
            if !untracked.is_empty() {
                let _ = self.run(&["rm", "--cached", "--quiet", "--ignore-unmatch"], &untracked);
            }
            return Err(e);
        }
        let head = self.run(&["rev-parse", "HEAD"], &[])?;
        Ok(Some(String::from_utf8_lossy(&head.stdout).trim().to_owned()))
    }
}

/// `git -C <dir>` with literal pathspecs, the caller's `GIT_INDEX_FILE` removed, and every
/// secret variable ([`crate::sandbox::env::scrub`]) removed: `accept --commit` runs the user's
/// hooks, which must not see an API key.
fn base_command(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-C").arg(dir).env("GIT_LITERAL_PATHSPECS", "1").env_remove("GIT_INDEX_FILE");
    crate::sandbox::env::scrub(&mut c, &[]);
    c
}
