//! The shadow tree: a scratch copy of the repo with `code/files` overlaid, where validators run
//! so imports between generated and existing files resolve — without ever touching the working
//! tree.
//!
//! Invariants:
//! - the working tree is only read: files are hard-linked into a temp dir (copied when a link
//!   is impossible, e.g. across filesystems), symlinks are recreated as symlinks, and the
//!   dependency dirs `node_modules`, `.venv` and `venv` are linked whole as one symlink each
//!   (tools only read them);
//! - `.git`, `.ai-tools`, the top-level `target` and tool caches are left out;
//! - a hard-linked file shares its inode with the working tree, so it is never written
//!   through; files a tool rewrites in place (`Cargo.lock`, `*.tsbuildinfo`) are copied instead
//!   of linked; every overlay goes through [`SafeDir::write`], which writes a new file and renames
//!   it over the link, and refuses to write through a symlink;
//! - the temp dir is removed when the [`ShadowTree`] is dropped.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::codegen::materialize::Manifest;
use crate::plan::Action;
use crate::task::fsio::{SafeDir, WriteError};
use crate::task::relpath::RelPath;

/// Directory names never copied, at any depth.
const SKIP_ANYWHERE: &[&str] = &[".git", ".ai-tools", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"];
/// Directory names never copied at the top level.
const SKIP_TOP: &[&str] = &["target"];
/// Files that tools rewrite in place (cargo updates `Cargo.lock`; `tsc --incremental` rewrites
/// its build info): copied, never hard-linked, so the rewrite cannot reach the working tree.
fn rewritten_in_place(name: &str) -> bool {
    name == "Cargo.lock" || name.ends_with(".tsbuildinfo")
}

/// Directories linked whole (one symlink) instead of mirrored file by file.
const LINK_WHOLE: &[&str] = &["node_modules", ".venv", "venv"];

/// Why the shadow tree could not be built or updated.
#[derive(Debug, thiserror::Error)]
pub enum ShadowError {
    /// Reading the repo or writing the scratch copy failed.
    #[error("shadow tree: {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// An overlay write was refused or failed.
    #[error("shadow tree: {0}")]
    Write(#[from] WriteError),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ShadowError + '_ {
    move |source| ShadowError::Io { path: path.to_path_buf(), source }
}

/// A scratch copy of the repo (see the module invariants).
#[derive(Debug)]
pub struct ShadowTree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    safe: SafeDir,
    linked: usize,
    copied: usize,
}

impl ShadowTree {
    /// Mirrors `repo` into a new temp dir and overlays the manifest's targets from `files_dir`:
    /// `create`/`modify` targets get their generated content, `delete` targets are removed.
    ///
    /// # Errors
    /// [`ShadowError`] when the repo cannot be read, the copy cannot be written, or a generated
    /// file cannot be read.
    pub fn build(repo: &Path, files_dir: &Path, manifest: &Manifest) -> Result<Self, ShadowError> {
        let dir = tempfile::Builder::new().prefix("ai-tools-shadow-").tempdir().map_err(io_err(repo))?;
        let root = dir.path().canonicalize().map_err(io_err(dir.path()))?;
        let repo = repo.canonicalize().map_err(io_err(repo))?;
        let mut tree = Self { _dir: dir, safe: SafeDir::new(&root), root, linked: 0, copied: 0 };
        tree.mirror(&repo, &tree.root.clone(), true)?;
        let files = SafeDir::new(files_dir);
        for e in &manifest.files {
            match e.action {
                Action::Delete => tree.safe.remove(&e.path)?,
                _ => {
                    if let Some(bytes) = files.read(&e.path)? {
                        tree.overlay(&e.path, &bytes)?;
                    }
                }
            }
        }
        Ok(tree)
    }

    fn mirror(&mut self, from: &Path, to: &Path, top: bool) -> Result<(), ShadowError> {
        for entry in fs::read_dir(from).map_err(io_err(from))? {
            let entry = entry.map_err(io_err(from))?;
            let name = entry.file_name();
            let name_s = name.to_string_lossy();
            let src = entry.path();
            let dst = to.join(&name);
            let ft = entry.file_type().map_err(io_err(&src))?;
            if ft.is_dir() && (SKIP_ANYWHERE.contains(&name_s.as_ref()) || top && SKIP_TOP.contains(&name_s.as_ref())) {
                continue;
            }
            if ft.is_symlink() {
                let target = fs::read_link(&src).map_err(io_err(&src))?;
                std::os::unix::fs::symlink(&target, &dst).map_err(io_err(&dst))?;
            } else if ft.is_dir() && LINK_WHOLE.contains(&name_s.as_ref()) {
                std::os::unix::fs::symlink(&src, &dst).map_err(io_err(&dst))?;
            } else if ft.is_dir() {
                fs::create_dir(&dst).map_err(io_err(&dst))?;
                self.mirror(&src, &dst, false)?;
            } else if ft.is_file() {
                if !rewritten_in_place(&name_s) && fs::hard_link(&src, &dst).is_ok() {
                    self.linked += 1;
                } else {
                    fs::copy(&src, &dst).map_err(io_err(&src))?;
                    self.copied += 1;
                }
            }
        }
        Ok(())
    }

    /// The shadow tree's root (canonical, so tools report paths under it verbatim).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Files hard-linked and files copied while mirroring.
    pub fn counts(&self) -> (usize, usize) {
        (self.linked, self.copied)
    }

    /// Replaces `rel` in the shadow tree with `bytes` (a new file renamed over any hard link,
    /// so the working tree's file is never written).
    ///
    /// # Errors
    /// [`ShadowError::Write`] for a symlinked path or I/O failure.
    pub fn overlay(&self, rel: &RelPath, bytes: &[u8]) -> Result<(), ShadowError> {
        self.safe.write(rel, bytes, None)?;
        Ok(())
    }

    /// Reads `rel` from the shadow tree (`None` when absent).
    ///
    /// # Errors
    /// [`ShadowError::Write`] for a symlinked path or I/O failure.
    pub fn read(&self, rel: &RelPath) -> Result<Option<Vec<u8>>, ShadowError> {
        Ok(self.safe.read(rel)?)
    }

    /// The repo-relative form of a path a tool printed: made relative to the shadow root when
    /// absolute, `./` stripped; `None` when it lies outside the tree or is not a clean path.
    pub fn relative(&self, printed: &str) -> Option<RelPath> {
        let p = Path::new(printed);
        let rel = if p.is_absolute() { p.strip_prefix(&self.root).ok()? } else { p };
        let s = rel.to_str()?.trim_start_matches("./");
        RelPath::new(s).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codegen::materialize::ManifestEntry;
    use std::os::unix::fs::MetadataExt;

    fn rp(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    #[test]
    fn mirrors_links_overlays_and_never_touches_the_repo() {
        let t = tempfile::tempdir().unwrap();
        let repo = t.path().join("repo");
        let files = t.path().join("files");
        for (p, c) in [
            ("pkg/a.py", "a = 1\n"),
            ("pkg/b.py", "b = 1\n"),
            ("gone.py", "x\n"),
            (".git/HEAD", "ref\n"),
            (".ai-tools/tasks/t/state.json", "{}\n"),
            ("node_modules/x/index.js", "1\n"),
            ("target/debug/big", "bin\n"),
        ] {
            fs::create_dir_all(repo.join(p).parent().unwrap()).unwrap();
            fs::write(repo.join(p), c).unwrap();
        }
        fs::create_dir_all(files.join("pkg")).unwrap();
        fs::write(files.join("pkg/a.py"), "a = 2\n").unwrap();
        fs::write(files.join("pkg/new.py"), "n = 1\n").unwrap();
        let manifest = Manifest {
            run_id: "r".into(),
            files: vec![
                ManifestEntry { path: rp("gone.py"), action: Action::Delete },
                ManifestEntry { path: rp("pkg/a.py"), action: Action::Modify },
                ManifestEntry { path: rp("pkg/new.py"), action: Action::Create },
            ],
        };
        let s = ShadowTree::build(&repo, &files, &manifest).unwrap();
        let r = s.root();
        assert_eq!(fs::read_to_string(r.join("pkg/a.py")).unwrap(), "a = 2\n");
        assert_eq!(fs::read_to_string(r.join("pkg/new.py")).unwrap(), "n = 1\n");
        assert!(!r.join("gone.py").exists());
        assert!(!r.join(".git").exists() && !r.join(".ai-tools").exists() && !r.join("target").exists());
        assert!(fs::symlink_metadata(r.join("node_modules")).unwrap().file_type().is_symlink());
        // b.py is a hard link to the repo's file…
        let (a, b) = (fs::metadata(repo.join("pkg/b.py")).unwrap(), fs::metadata(r.join("pkg/b.py")).unwrap());
        assert_eq!((a.ino(), a.dev()), (b.ino(), b.dev()));
        // …and overlaying it replaces the link instead of writing through it.
        s.overlay(&rp("pkg/b.py"), b"b = 99\n").unwrap();
        assert_eq!(fs::read_to_string(repo.join("pkg/b.py")).unwrap(), "b = 1\n");
        assert_eq!(fs::read_to_string(repo.join("pkg/a.py")).unwrap(), "a = 1\n");
        assert!(repo.join("gone.py").exists());
        assert_eq!(s.relative(&r.join("pkg/b.py").display().to_string()), Some(rp("pkg/b.py")));
        assert_eq!(s.relative("./pkg/b.py"), Some(rp("pkg/b.py")));
        assert_eq!(s.relative("/elsewhere/x.py"), None);
        let root = r.to_path_buf();
        drop(s);
        assert!(!root.exists(), "the scratch copy is removed");
    }

    #[test]
    fn files_tools_rewrite_in_place_are_copied_not_linked() {
        let t = tempfile::tempdir().unwrap();
        let repo = t.path().join("repo");
        for p in ["Cargo.lock", "web/tsconfig.tsbuildinfo", "src/lib.rs"] {
            fs::create_dir_all(repo.join(p).parent().unwrap()).unwrap();
            fs::write(repo.join(p), "original\n").unwrap();
        }
        let s = ShadowTree::build(&repo, &t.path().join("files"), &Manifest::default()).unwrap();
        for p in ["Cargo.lock", "web/tsconfig.tsbuildinfo"] {
            // A tool truncating and rewriting the shadow's copy leaves the repo's file alone.
            fs::write(s.root().join(p), "rewritten by a tool\n").unwrap();
            assert_eq!(fs::read_to_string(repo.join(p)).unwrap(), "original\n", "{p}");
        }
        let (a, b) =
            (fs::metadata(repo.join("src/lib.rs")).unwrap(), fs::metadata(s.root().join("src/lib.rs")).unwrap());
        assert_eq!(a.ino(), b.ino(), "ordinary sources are still hard-linked");
    }
}
