//! The scratch area: a private copy of the repo with `code/files` overlaid (the *view*), plus
//! a scratch `HOME` and `TMPDIR`, where every sandboxed process runs.
//!
//! Layout: `<tmp>/ai-tools-scratch-XXXX/{view,home,tmp}`; [`Scratch::root`] is `view/`.
//!
//! Invariants:
//! - the working tree is only read: every regular file is **copied** (never hard-linked — a
//!   hard link shares its inode with the working tree, so a tool writing "its" file, e.g. a
//!   generated `tsconfig.json` with `tsBuildInfoFile: "./README.md"`, would rewrite the user's
//!   file); symlinks are recreated as symlinks; the dependency dirs `node_modules`, `.venv` and
//!   `venv` are one symlink each to the repo's dir, which the sandbox binds **read-only**; a
//!   top-level *symlink* with one of those names is bound only when its canonical target lies
//!   inside the canonical repo, or is outside it but really a venv / a `node_modules` dir that
//!   passes the sandbox's bind rule (a `.venv -> /`, `-> $HOME` or `-> ~/.ssh` stays a plain,
//!   unbound symlink);
//! - `.git`, `.ai-tools`, the top-level `target` and tool caches are left out;
//! - every overlay goes through [`SafeDir::write`] (atomic, refuses symlinked paths);
//! - the whole scratch area is removed when the [`Scratch`] is dropped.
//!
//! Cost: copying instead of linking was measured (README, "Sandbox"): on the 200-file
//! validate bench fixture the view builds in a few milliseconds either way; validators
//! dominate the stage.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::codegen::materialize::Manifest;
use crate::plan::Action;
use crate::task::fsio::{SafeDir, WriteError};
use crate::task::relpath::RelPath;

/// Directory names never copied, at any depth.
const SKIP_ANYWHERE: &[&str] = &[".git", ".ai-tools", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"];
/// Directory names never copied at the top level.
const SKIP_TOP: &[&str] = &["target"];
/// Directories linked whole (one symlink, bound read-only in the sandbox) instead of copied.
pub const LINK_WHOLE: &[&str] = &["node_modules", ".venv", "venv"];

/// Why the scratch area could not be built or updated.
#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    /// Reading the repo or writing the scratch copy failed.
    #[error("scratch area: {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// An overlay write was refused or failed.
    #[error("scratch area: {0}")]
    Write(#[from] WriteError),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ScratchError + '_ {
    move |source| ScratchError::Io { path: path.to_path_buf(), source }
}

/// The canonical target of the top-level symlink `src` named `name` when the sandbox may bind
/// it: a [`LINK_WHOLE`] name whose target is a directory inside the canonical `repo`, or outside
/// it only when it is what the name claims — a venv (`pyvenv.cfg` at its root) for `.venv`/
/// `venv`, a dir itself named `node_modules` for `node_modules` — and passes
/// [`super::bwrap::bindable`]. Anything else (`.venv -> /`, `-> ~/.ssh`) is `None`: the view
/// gets a plain symlink that nothing binds.
fn linkable(src: &Path, name: &str, repo: &Path) -> Option<PathBuf> {
    if !LINK_WHOLE.contains(&name) {
        return None;
    }
    let c = src.canonicalize().ok().filter(|c| c.is_dir())?;
    if c.starts_with(repo) {
        return (c != repo).then_some(c);
    }
    let looks_right = match name {
        "node_modules" => c.file_name().is_some_and(|n| n == "node_modules"),
        _ => c.join("pyvenv.cfg").is_file(),
    };
    let home = std::env::var_os("HOME").map(PathBuf::from);
    (looks_right && super::bwrap::bindable(&c, home.as_deref())).then_some(c)
}

/// A scratch area (see the module invariants).
#[derive(Debug)]
pub struct Scratch {
    dir: tempfile::TempDir,
    root: PathBuf,
    safe: SafeDir,
    copied: usize,
    linked_dirs: Vec<PathBuf>,
    fingerprint: Sha256,
}

impl Scratch {
    /// Copies `repo` into a new scratch area and overlays the manifest's targets from
    /// `files_dir`: `create`/`modify` targets get their generated content, `delete` targets are
    /// removed.
    ///
    /// # Errors
    /// [`ScratchError`] when the repo cannot be read, the copy cannot be written, or a
    /// generated file cannot be read.
    pub fn build(repo: &Path, files_dir: &Path, manifest: &Manifest) -> Result<Self, ScratchError> {
        let s = Self::mirror_of(repo)?;
        let files = SafeDir::new(files_dir);
        for e in &manifest.files {
            match e.action {
                Action::Delete => s.safe.remove(&e.path)?,
                _ => {
                    if let Some(bytes) = files.read(&e.path)? {
                        s.overlay(&e.path, &bytes)?;
                    }
                }
            }
        }
        Ok(s)
    }

    /// Copies `repo` into a new scratch area with nothing overlaid (the caller overlays, e.g.
    /// the base version of `modify` targets).
    ///
    /// # Errors
    /// [`ScratchError`] when the repo cannot be read or the copy cannot be written.
    pub fn mirror_of(repo: &Path) -> Result<Self, ScratchError> {
        let dir = tempfile::Builder::new().prefix("ai-tools-scratch-").tempdir().map_err(io_err(repo))?;
        let base = dir.path().canonicalize().map_err(io_err(dir.path()))?;
        let root = base.join("view");
        for d in [&root, &base.join("home"), &base.join("tmp")] {
            fs::create_dir(d).map_err(io_err(d))?;
        }
        let repo = repo.canonicalize().map_err(io_err(repo))?;
        let mut s = Self {
            dir,
            safe: SafeDir::new(&root),
            root: root.clone(),
            copied: 0,
            linked_dirs: Vec::new(),
            fingerprint: Sha256::new(),
        };
        s.mirror(&repo, &root, "", true)?;
        Ok(s)
    }

    fn mirror(&mut self, from: &Path, to: &Path, rel: &str, top: bool) -> Result<(), ScratchError> {
        let mut entries: Vec<fs::DirEntry> =
            fs::read_dir(from).map_err(io_err(from))?.collect::<Result<_, _>>().map_err(io_err(from))?;
        entries.sort_by_key(fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name();
            let name_s = name.to_string_lossy();
            let (src, dst) = (entry.path(), to.join(&name));
            let rel_here = if rel.is_empty() { name_s.to_string() } else { format!("{rel}/{name_s}") };
            let ft = entry.file_type().map_err(io_err(&src))?;
            if ft.is_dir() && (SKIP_ANYWHERE.contains(&name_s.as_ref()) || top && SKIP_TOP.contains(&name_s.as_ref())) {
                continue;
            }
            if ft.is_symlink() {
                let target = fs::read_link(&src).map_err(io_err(&src))?;
                // `from` is the canonical repo at the top level.
                match top.then(|| linkable(&src, &name_s, from)).flatten() {
                    Some(c) => {
                        std::os::unix::fs::symlink(&c, &dst).map_err(io_err(&dst))?;
                        if !self.linked_dirs.contains(&c) {
                            self.linked_dirs.push(c);
                        }
                    }
                    None => std::os::unix::fs::symlink(&target, &dst).map_err(io_err(&dst))?,
                }
            } else if ft.is_dir() && LINK_WHOLE.contains(&name_s.as_ref()) {
                self.linked_dirs.push(src.clone());
                std::os::unix::fs::symlink(&src, &dst).map_err(io_err(&dst))?;
            } else if ft.is_dir() {
                fs::create_dir(&dst).map_err(io_err(&dst))?;
                self.mirror(&src, &dst, &rel_here, false)?;
            } else if ft.is_file() {
                let meta = entry.metadata().map_err(io_err(&src))?;
                self.fingerprint.update(rel_here.as_bytes());
                self.fingerprint.update(meta.len().to_le_bytes());
                let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
                self.fingerprint.update(mtime.map_or(0, |d| d.as_nanos()).to_le_bytes());
                fs::copy(&src, &dst).map_err(io_err(&src))?;
                self.copied += 1;
            }
        }
        Ok(())
    }

    /// The view's root (canonical, so tools report paths under it verbatim).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The whole scratch area (`view/`, `home/`, `tmp/`): the only place a sandboxed process
    /// may write.
    pub fn area(&self) -> &Path {
        self.dir.path()
    }

    /// The scratch `HOME`.
    pub fn home(&self) -> PathBuf {
        self.area().join("home")
    }

    /// The scratch `TMPDIR`.
    pub fn tmp(&self) -> PathBuf {
        self.area().join("tmp")
    }

    /// Files copied from the repo while mirroring.
    pub fn copied(&self) -> usize {
        self.copied
    }

    /// The repo's dependency dirs (`node_modules`, `.venv`, `venv`; canonical paths) the view
    /// links to: the sandbox binds them read-only.
    pub fn linked_dirs(&self) -> &[PathBuf] {
        &self.linked_dirs
    }

    /// A hex digest of the mirrored repo: every copied file's path, size and modification
    /// time (not its bytes; overlays are not included). Part of the baseline cache key.
    pub fn repo_fingerprint(&self) -> String {
        hex::encode(self.fingerprint.clone().finalize())
    }

    /// Replaces `rel` in the view with `bytes` (atomically; a symlinked path is refused).
    ///
    /// # Errors
    /// [`ScratchError::Write`] for a symlinked path or I/O failure.
    pub fn overlay(&self, rel: &RelPath, bytes: &[u8]) -> Result<(), ScratchError> {
        self.safe.write(rel, bytes, None)?;
        Ok(())
    }

    /// Removes `rel` from the view (absent is fine).
    ///
    /// # Errors
    /// [`ScratchError::Write`] for a symlinked path or I/O failure.
    pub fn remove(&self, rel: &RelPath) -> Result<(), ScratchError> {
        self.safe.remove(rel)?;
        Ok(())
    }

    /// Reads `rel` from the view (`None` when absent).
    ///
    /// # Errors
    /// [`ScratchError::Write`] for a symlinked path or I/O failure.
    pub fn read(&self, rel: &RelPath) -> Result<Option<Vec<u8>>, ScratchError> {
        Ok(self.safe.read(rel)?)
    }

    /// The repo-relative form of a path a tool printed: made relative to the view root when
    /// absolute, `./` stripped; `None` when it lies outside the view or is not a clean path.
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
    fn copies_overlays_and_never_shares_an_inode_with_the_repo() {
        let t = tempfile::tempdir().unwrap();
        let repo = t.path().join("repo");
        let files = t.path().join("files");
        for (p, c) in [
            ("pkg/a.py", "a = 1\n"),
            ("README.md", "readme\n"),
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
        let s = Scratch::build(&repo, &files, &manifest).unwrap();
        let r = s.root();
        assert_eq!(fs::read_to_string(r.join("pkg/a.py")).unwrap(), "a = 2\n");
        assert_eq!(fs::read_to_string(r.join("pkg/new.py")).unwrap(), "n = 1\n");
        assert!(!r.join("gone.py").exists());
        assert!(!r.join(".git").exists() && !r.join(".ai-tools").exists() && !r.join("target").exists());
        assert!(fs::symlink_metadata(r.join("node_modules")).unwrap().file_type().is_symlink());
        assert_eq!(s.linked_dirs(), [repo.canonicalize().unwrap().join("node_modules")]);
        // A tool truncating and rewriting the view's README leaves the user's alone.
        let (a, b) = (fs::metadata(repo.join("README.md")).unwrap(), fs::metadata(r.join("README.md")).unwrap());
        assert_ne!((a.ino(), a.dev()), (b.ino(), b.dev()));
        fs::write(r.join("README.md"), "rewritten by a tool\n").unwrap();
        assert_eq!(fs::read_to_string(repo.join("README.md")).unwrap(), "readme\n");
        assert!(repo.join("gone.py").exists());
        assert_eq!(s.relative(&r.join("pkg/a.py").display().to_string()), Some(rp("pkg/a.py")));
        assert_eq!(s.relative("./pkg/a.py"), Some(rp("pkg/a.py")));
        assert_eq!(s.relative("/elsewhere/x.py"), None);
        assert!(s.home().is_dir() && s.tmp().is_dir());
        let area = s.area().to_path_buf();
        drop(s);
        assert!(!area.exists(), "the scratch area is removed");
    }

    #[test]
    fn a_dependency_symlink_is_linked_only_inside_the_repo() {
        let t = tempfile::tempdir().unwrap();
        let repo = t.path().join("repo");
        fs::create_dir_all(repo.join("deps/venv")).unwrap();
        fs::create_dir_all(t.path().join("outside")).unwrap();
        std::os::unix::fs::symlink("/", repo.join(".venv")).unwrap();
        std::os::unix::fs::symlink(t.path().join("outside"), repo.join("node_modules")).unwrap();
        std::os::unix::fs::symlink("deps/venv", repo.join("venv")).unwrap();
        let s = Scratch::mirror_of(&repo).unwrap();
        assert_eq!(s.linked_dirs(), [repo.canonicalize().unwrap().join("deps/venv")]);
        for n in [".venv", "node_modules", "venv"] {
            assert!(fs::symlink_metadata(s.root().join(n)).unwrap().file_type().is_symlink(), "{n}");
        }
        // A real venv or node_modules elsewhere (a shared one) is still linked.
        let shared = t.path().join("shared");
        fs::create_dir_all(shared.join("venv")).unwrap();
        fs::write(shared.join("venv/pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        fs::create_dir_all(shared.join("node_modules")).unwrap();
        for (n, to) in [(".venv", "venv"), ("node_modules", "node_modules")] {
            fs::remove_file(repo.join(n)).unwrap();
            std::os::unix::fs::symlink(shared.join(to), repo.join(n)).unwrap();
        }
        let s = Scratch::mirror_of(&repo).unwrap();
        assert_eq!(s.linked_dirs().len(), 3, "{:?}", s.linked_dirs());
    }

    #[test]
    fn fingerprint_follows_the_repo() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("a.py"), "a\n").unwrap();
        let one = Scratch::mirror_of(t.path()).unwrap().repo_fingerprint();
        assert_eq!(one, Scratch::mirror_of(t.path()).unwrap().repo_fingerprint());
        fs::write(t.path().join("b.py"), "b\n").unwrap();
        assert_ne!(one, Scratch::mirror_of(t.path()).unwrap().repo_fingerprint());
    }
}
