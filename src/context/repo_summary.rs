//! The repo summary: the files of the repo with their sizes, as a model-readable list.
//!
//! Invariant: the listing honours `.gitignore` and git's exclude files, never lists anything
//! under `.git/` or `.ai-tools/` nor anything but regular files, sorts paths, and lists at most
//! `max_files`, saying how many more there were. In a git work tree with tracked files the
//! names are the **tracked** files (`git ls-files --cached`: git reads its index and never
//! walks the tree — the same choice as aider's repo map). Untracked files are left out on
//! purpose: finding them makes git scan every directory, which on 100,000 files cost 8× the
//! index read (README, "Scale"); the plan's own targets reach the prompt through the context
//! stage whether tracked or not. Outside git, or in a work tree with nothing tracked yet, the
//! names come from a walk with the `ignore` crate (which honours `.gitignore` and `.ignore`).
//! Only the files that are listed are looked at on disk (their sizes).

use std::path::Path;
use std::process::{Command, Stdio};

/// A repo's file list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSummary {
    /// `(path, size in bytes)`, sorted by path, at most `max_files` of them.
    pub files: Vec<(String, u64)>,
    /// Files found beyond the cap.
    pub omitted: usize,
}

impl RepoSummary {
    /// The summary as text: one `path (size)` line per file, and a last line for the omitted.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for (p, size) in &self.files {
            s.push_str(&format!("{p} ({})\n", human_size(*size)));
        }
        if self.omitted > 0 {
            s.push_str(&format!("… and {} more files not listed\n", self.omitted));
        }
        s
    }
}

fn human_size(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

/// Lists `repo`'s files with their sizes (see the module invariant).
pub fn summarize(repo: &Path, max_files: usize) -> RepoSummary {
    let names = git_listing(repo).unwrap_or_else(|| walk(repo));
    let mut files = Vec::new();
    let mut seen = 0;
    for rel in &names {
        if files.len() == max_files {
            break;
        }
        seen += 1;
        // A tracked file deleted from the tree, or a symlink, is not listed.
        if let Ok(m) = std::fs::symlink_metadata(repo.join(rel))
            && m.is_file()
        {
            files.push((rel.clone(), m.len()));
        }
    }
    RepoSummary { files, omitted: names.len() - seen }
}

/// Whether a repo-relative path lies under a `.git` or `.ai-tools` directory.
fn tool_dir(rel: &str) -> bool {
    let mut parts: Vec<&str> = rel.split('/').collect();
    parts.pop();
    parts.iter().any(|p| *p == ".git" || *p == ".ai-tools")
}

/// The paths git tracks in `repo`, sorted; `None` outside a git work tree, when git fails or
/// when nothing is tracked yet (a fresh `git init`, where the walk lists the new files).
fn git_listing(repo: &Path) -> Option<Vec<String>> {
    let mut git = Command::new("git");
    // git may run the repo's config (`core.fsmonitor`): never with a key.
    crate::sandbox::env::scrub(&mut git, &[]);
    let out = git
        .arg("-C")
        .arg(repo)
        .args(["ls-files", "-z", "--cached"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let mut names: Vec<String> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .filter(|p| !tool_dir(p))
        .collect();
    if names.is_empty() {
        return None;
    }
    names.sort();
    // An unmerged path is listed once per stage.
    names.dedup();
    Some(names)
}

/// The regular files under `repo` by a `.gitignore`-aware walk, sorted.
fn walk(repo: &Path) -> Vec<String> {
    let walker = ignore::WalkBuilder::new(repo)
        .hidden(false)
        .require_git(false)
        .filter_entry(|e| {
            let name = e.file_name();
            !(e.depth() > 0 && e.file_type().is_some_and(|t| t.is_dir()) && (name == ".git" || name == ".ai-tools"))
        })
        .build();
    let mut names: Vec<String> = walker
        .flatten()
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter_map(|e| e.path().strip_prefix(repo).ok().map(|r| r.to_string_lossy().replace('\\', "/")))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn honours_gitignore_and_skips_tool_dirs() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        fs::write(r.join(".gitignore"), "build/\n*.log\n").unwrap();
        for (p, c) in [
            ("src/a.py", "x"),
            ("build/out.bin", "x"),
            ("debug.log", "x"),
            (".git/HEAD", "x"),
            (".ai-tools/tasks/t/state.json", "{}"),
            ("README.md", "hello"),
        ] {
            fs::create_dir_all(r.join(p).parent().unwrap()).unwrap();
            fs::write(r.join(p), c).unwrap();
        }
        let s = summarize(r, 100);
        let names: Vec<&str> = s.files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, vec![".gitignore", "README.md", "src/a.py"]);
        assert!(s.render().contains("README.md (5 B)"));
    }

    #[test]
    fn in_a_git_work_tree_lists_the_tracked_files() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        let git = |args: &[&str]| {
            let ok = Command::new("git").arg("-C").arg(r).args(args).output().unwrap().status.success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        fs::write(r.join(".gitignore"), "build/\n*.log\n").unwrap();
        for (p, c) in [
            ("src/a.py", "x"),
            ("build/out.bin", "x"),
            ("debug.log", "x"),
            (".ai-tools/tasks/t/state.json", "{}"),
            ("README.md", "hello"),
            ("gone.txt", "x"),
        ] {
            fs::create_dir_all(r.join(p).parent().unwrap()).unwrap();
            fs::write(r.join(p), c).unwrap();
        }
        // Nothing tracked yet: the walk lists the new files, ignored ones and tool dirs left out.
        let s = summarize(r, 100);
        let names: Vec<&str> = s.files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, vec![".gitignore", "README.md", "gone.txt", "src/a.py"]);
        git(&["add", "src/a.py", "gone.txt", "README.md", "debug.log", "-f"]);
        fs::remove_file(r.join("gone.txt")).unwrap();
        let s = summarize(r, 100);
        let names: Vec<&str> = s.files.iter().map(|(p, _)| p.as_str()).collect();
        // Tracked files only (a force-added ignored file is tracked); the untracked .gitignore,
        // the ignored build/, the tool dir and a deleted tracked file are not listed.
        assert_eq!(names, vec!["README.md", "debug.log", "src/a.py"]);
        assert!(s.render().contains("README.md (5 B)"));
    }

    #[test]
    fn caps_and_counts_the_rest() {
        let t = tempfile::tempdir().unwrap();
        for i in 0..10 {
            fs::write(t.path().join(format!("f{i}.txt")), "x").unwrap();
        }
        let s = summarize(t.path(), 4);
        assert_eq!(s.files.len(), 4);
        assert_eq!(s.omitted, 6);
        assert!(s.render().ends_with("… and 6 more files not listed\n"));
    }
}
