//! The repo summary: the files of the repo with their sizes, as a model-readable list.
//!
//! Invariant: the walk honours `.gitignore`, `.ignore` and git's exclude files (the `ignore`
//! crate, also outside a git repo), never lists anything under `.git/` or `.ai-tools/`, sorts
//! paths, and lists at most `max_files`, saying how many more there were.

use std::path::Path;

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

/// Walks `repo` (see the module invariant).
pub fn summarize(repo: &Path, max_files: usize) -> RepoSummary {
    let walker = ignore::WalkBuilder::new(repo)
        .hidden(false)
        .require_git(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|e| {
            let name = e.file_name();
            !(e.depth() > 0 && e.file_type().is_some_and(|t| t.is_dir()) && (name == ".git" || name == ".ai-tools"))
        })
        .build();
    let mut files = Vec::new();
    for entry in walker.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(repo) else { continue };
        let rel = rel.to_string_lossy().replace('\\', "/");
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        files.push((rel, size));
    }
    files.sort();
    let omitted = files.len().saturating_sub(max_files);
    files.truncate(max_files);
    RepoSummary { files, omitted }
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
