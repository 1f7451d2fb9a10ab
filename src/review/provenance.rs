//! code/diff.patch is derived from code/files/, never trusted on its own: a task dir can come
//! from a clone, and its diff.patch is bytes anyone could have written. Before accept lands
//! anything, [`check`] holds every file section of the patch against what ai-tools itself
//! would have derived it from.
//!
//! Invariant (checked per file section, the whole accept refused on the first failure):
//! - the path is a target of code/manifest.json with a matching action (a `create`/`modify`
//!   target for a created or modified file, a `delete` target for a deletion), and lies outside
//!   the dependency dirs ([`crate::plan::DEPENDENCY_DIRS`]) like every planned target;
//! - a created or modified file's new side (the `index` line's blob) is exactly the blob of
//!   `code/files/<path>` (read without following symlinks), and its hunks, applied all together
//!   to the old side (empty for a created file; the working tree's bytes when they are still
//!   the `index` line's old blob, else the base kept under `code/base/`), give exactly those
//!   bytes — so accept can only land lines that are in `code/files/`;
//! - a new mode is `100644` or `100755`.

use std::path::Path;

use crate::codegen::diff::git_blob_id;
use crate::codegen::materialize::Manifest;
use crate::plan::{Action, DEPENDENCY_DIRS};
use crate::review::patchset::{FileAction, FilePatch, Hunk, HunkKind, PatchSet};
use crate::review::{ReviewError, merge, tree};
use crate::task::TaskDir;
use crate::task::fsio::SafeDir;

/// Checks `patch` against the task's manifest and code/files/ (see the module invariant).
///
/// # Errors
/// [`ReviewError::NotDerived`] naming the file and what does not match (exit 2: re-derive with
/// `ai-tools hunks --rediff`); read errors of code/files/.
pub fn check(task: &TaskDir, repo: &Path, patch: &PatchSet) -> Result<(), ReviewError> {
    let manifest = Manifest::load(task).unwrap_or_default();
    let files = SafeDir::new(task.files_dir());
    let tree = SafeDir::new(repo);
    for f in &patch.files {
        let checked = check_file(&manifest, &files, f).and_then(|generated| match generated {
            Some(g) => check_hunks(task, &tree, f, &g),
            None => Ok(()),
        });
        if let Err(why) = checked {
            return Err(ReviewError::NotDerived { path: f.path.to_string(), why });
        }
    }
    Ok(())
}

/// The path, action, mode and new-side rules; the bytes of `code/files/<path>` when the file is
/// created or modified (`None` for a deletion).
fn check_file(manifest: &Manifest, files: &SafeDir, f: &FilePatch) -> Result<Option<Vec<u8>>, String> {
    if let Some(dir) = f.path.segments().find(|s| DEPENDENCY_DIRS.contains(s)) {
        return Err(format!("it lies inside `{dir}/`, where no plan may generate files"));
    }
    let Some(entry) = manifest.files.iter().find(|e| e.path == f.path) else {
        return Err("it is not a target of code/manifest.json".into());
    };
    match (f.action, entry.action) {
        (FileAction::Delete, Action::Delete) => return Ok(None),
        (FileAction::Delete, _) | (_, Action::Delete) => {
            return Err(format!("the patch's action does not match the manifest's `{:?}`", entry.action));
        }
        _ => {}
    }
    if let Some(m) = f.new_mode
        && m != 0o644
        && m != 0o755
    {
        return Err(format!("its new mode {m:o} is neither 100644 nor 100755"));
    }
    let generated = files.read(&f.path).map_err(|e| e.to_string())?;
    let Some(generated) = generated else {
        return Err("code/files/ has no such file".into());
    };
    match &f.new_blob {
        Some(b) if *b == git_blob_id(&generated) => Ok(Some(generated)),
        None if f.hunks.iter().all(|h| h.kind != HunkKind::Text) => Ok(None),
        _ => Err("its new side is not the content of code/files/".into()),
    }
}

/// Applies every text hunk of `f` to its old side and compares with `generated`. A section
/// with text hunks must name its old side (a modified file's `index` line), and that base must
/// still be at hand — in the tree, under `code/base/`, or in git — or nothing is trusted.
fn check_hunks(task: &TaskDir, tree: &SafeDir, f: &FilePatch, generated: &[u8]) -> Result<(), String> {
    let text: Vec<&Hunk> = f.hunks.iter().filter(|h| h.kind == HunkKind::Text).collect();
    if text.is_empty() {
        return Ok(());
    }
    let base = match (f.action, &f.old_blob) {
        (FileAction::Create, _) => Some(Vec::new()),
        (_, Some(old)) => match tree::read(tree, &f.path) {
            Ok(Some(cur)) if cur.blob() == *old => Some(cur.bytes),
            _ => crate::codegen::patch::stored_base(task, old)
                .or_else(|| crate::review::git::Git::discover(tree.root()).and_then(|g| g.blob(old))),
        },
        (_, None) => return Err("its `index` line names no base for a modified file".into()),
    };
    let Some(base) = base else {
        return Err("the base it was derived from is no longer kept (code/base/, git)".into());
    };
    match merge::apply(&base, &base, &text) {
        Ok(bytes) if bytes == generated => Ok(()),
        Ok(_) => Err("its hunks do not turn the base into the content of code/files/".into()),
        Err(_) => Err("its hunks do not apply to the base they were derived from".into()),
    }
}
