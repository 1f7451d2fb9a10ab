//! Fixtures for the review tests: a repo (optionally a real git repo) and a task whose
//! code/files, manifest and diff.patch are built with the project's own library
//! (materialize + re-diff), as a codegen run would leave them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use ai_tools::codegen::materialize;
use ai_tools::plan::Action;
use ai_tools::task::TaskDir;
use ai_tools::task::relpath::RelPath;

pub const TITLE: &str = "Add the widget";

pub struct Fx {
    _dir: tempfile::TempDir,
    pub repo: PathBuf,
    pub task: TaskDir,
}

impl Fx {
    /// A plain directory repo (no git), on tmpfs when there is one (see [`scratch_base`]).
    pub fn plain() -> Self {
        Self::plain_in(&scratch_base())
    }

    pub fn plain_in(base: &Path) -> Self {
        let dir = tempfile::Builder::new().prefix("ai-tools-review-").tempdir_in(base).unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        let task = TaskDir::new(dir.path().join("task"));
        std::fs::create_dir_all(task.root().join("planning")).unwrap();
        std::fs::write(task.plan_md(), format!("# {TITLE}\n\nSome plan.\n")).unwrap();
        Self { _dir: dir, repo, task }
    }

    /// A git repo with an identity configured.
    pub fn git_repo() -> Self {
        let fx = Self::plain();
        fx.git(&["init", "-q", "."]);
        fx.git(&["config", "user.email", "test@example.com"]);
        fx.git(&["config", "user.name", "Test"]);
        fx.git(&["config", "commit.gpgsign", "false"]);
        fx
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out =
            Command::new("git").arg("-C").arg(&self.repo).args(args).env_remove("GIT_INDEX_FILE").output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.repo.join(rel)
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    pub fn read(&self, rel: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(rel)).ok()
    }

    pub fn text(&self, rel: &str) -> String {
        String::from_utf8(self.read(rel).unwrap_or_else(|| panic!("{rel} is missing"))).unwrap()
    }

    pub fn mode(&self, rel: &str) -> u32 {
        std::fs::metadata(self.path(rel)).unwrap().permissions().mode() & 0o7777
    }

    pub fn chmod(&self, rel: &str, mode: u32) {
        std::fs::set_permissions(self.path(rel), std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Writes code/files + manifest for `files` (`(path, new content)`, `None` = delete; the
    /// action follows from whether the file exists in the repo) and derives diff.patch.
    pub fn generate(&self, files: &[(&str, Option<&str>)]) {
        let items: Vec<(RelPath, Action, Option<String>)> = files
            .iter()
            .map(|(p, c)| {
                let action = match (c, self.path(p).exists()) {
                    (None, _) => Action::Delete,
                    (Some(_), true) => Action::Modify,
                    (Some(_), false) => Action::Create,
                };
                (RelPath::new(p).unwrap(), action, c.map(str::to_owned))
            })
            .collect();
        materialize::materialize(&self.task, &self.repo, "run-1", &items).unwrap();
        ai_tools::review::rediff(&self.task, &self.repo).unwrap();
    }

    pub fn patch(&self) -> String {
        String::from_utf8(std::fs::read(self.task.diff_patch()).unwrap()).unwrap()
    }

    pub fn hunks(&self) -> Vec<ai_tools::review::FileHunks> {
        ai_tools::review::snapshot(&self.task, &self.repo).unwrap()
    }

    pub fn ids(&self, file: &str) -> Vec<String> {
        self.hunks().into_iter().filter(|f| f.path == file).flat_map(|f| f.hunks.into_iter().map(|h| h.id)).collect()
    }

    /// Runs the binary with `--repo` and `--task`; returns (exit code, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_ai-tools"))
            .args(args)
            .arg("--repo")
            .arg(&self.repo)
            .arg("--task")
            .arg(self.task.root())
            .env_remove("GIT_INDEX_FILE")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Every regular file under the repo (outside `.git/`) with its bytes and executable bit.
    pub fn tree(&self) -> BTreeMap<String, (Vec<u8>, bool)> {
        tree_of(&self.repo)
    }
}

/// Where fixtures go: `/dev/shm` (tmpfs) when writable, else the temp dir. Every write of the
/// accept engine is fsynced; on tmpfs that is free, which keeps the many-trial tests fast
/// without changing the code path.
pub fn scratch_base() -> PathBuf {
    let shm = Path::new("/dev/shm");
    let writable = shm.is_dir() && tempfile::tempdir_in(shm).is_ok();
    if writable { shm.to_path_buf() } else { std::env::temp_dir() }
}

pub fn tree_of(root: &Path) -> BTreeMap<String, (Vec<u8>, bool)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                if e.file_name() != ".git" {
                    stack.push(p);
                }
            } else if ft.is_file() {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                let x = std::fs::metadata(&p).unwrap().permissions().mode() & 0o111 != 0;
                out.insert(rel, (std::fs::read(&p).unwrap(), x));
            }
        }
    }
    out
}

/// `n` numbered lines (`1\n` … `n\n`).
pub fn numbered(n: usize) -> String {
    (1..=n).map(|i| format!("{i}\n")).collect()
}

/// `text` with line `n` (1-based) replaced by `by` (which may hold several lines).
pub fn swap(text: &str, n: usize, by: &str) -> String {
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    let old = &lines[n - 1];
    let end = if old.ends_with("\r\n") {
        "\r\n"
    } else if old.ends_with('\n') {
        eol
    } else {
        ""
    };
    lines[n - 1] = format!("{by}{end}");
    lines.concat()
}
