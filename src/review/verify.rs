//! Re-validation of new candidates before they replace `code/files/`: the run's validate stage
//! for the review loop (a regeneration, an edit before accepting).
//!
//! Invariants: validation runs in a shadow tree (the working tree with `code/files/` overlaid,
//! then the new candidates overlaid on that), never in the working tree nor in `code/files/`;
//! every manifest target is validated, so the findings of files that depend on a new
//! candidate are fresh too; with validation disabled, nothing is checked and no finding is
//! reported (as in a run).

use std::path::{Path, PathBuf};

use crate::codegen::materialize::Manifest;
use crate::config::ValidateConfig;
use crate::plan::Action;
use crate::report::ValidationReport;
use crate::review::ReviewError;
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::task::TaskDir;
use crate::task::fsio::SafeDir;
use crate::task::relpath::RelPath;
use crate::validate::shadow::ShadowTree;
use crate::validate::{Validation, Validators};

/// A finished re-validation.
pub struct Checked {
    /// The validators that ran (for a repair loop on the same shadow tree).
    pub validators: Validators,
    /// The shadow tree holding the new candidates.
    pub shadow: ShadowTree,
    /// What they found.
    pub validation: Validation,
    /// Every target's content as validated, with its findings (for [`crate::review::findings`]).
    pub files: Vec<(RelPath, Vec<u8>, Vec<ValidationReport>)>,
}

/// Validates the task's targets with `new` (`(path, bytes)`) overlaid; `None` when validation
/// is disabled. `step` names the findings' step (`regen`, `edit`). The validators run through
/// the sandbox `sandbox` (the user's `[sandbox]` settings, as in a run).
///
/// # Errors
/// [`ReviewError::Validation`] when the manifest is missing or the shadow tree cannot be built;
/// read errors.
pub async fn validate(
    repo: &Path,
    task: &TaskDir,
    cfg: &ValidateConfig,
    sandbox: &SandboxConfig,
    new: &[(RelPath, Vec<u8>)],
    step: &str,
) -> Result<Option<Checked>, ReviewError> {
    if !cfg.enabled {
        return Ok(None);
    }
    let manifest = Manifest::load(task)
        .ok_or_else(|| ReviewError::Validation("code/manifest.json is missing; run codegen first".into()))?;
    let targets: Vec<RelPath> =
        manifest.files.iter().filter(|e| e.action != Action::Delete).map(|e| e.path.clone()).collect();
    let validators = Validators::discover_with(repo, cfg, &targets, Sandbox::detect(sandbox));
    let (r, files_dir, m): (PathBuf, PathBuf, Manifest) = (repo.to_path_buf(), task.files_dir(), manifest);
    let overlay = new.to_vec();
    let shadow = tokio::task::spawn_blocking(move || -> Result<ShadowTree, String> {
        let s = ShadowTree::build(&r, &files_dir, &m).map_err(|e| e.to_string())?;
        for (p, b) in &overlay {
            s.overlay(p, b).map_err(|e| e.to_string())?;
        }
        Ok(s)
    })
    .await
    .map_err(|e| ReviewError::Validation(format!("internal error: {e}")))?
    .map_err(|e| ReviewError::Validation(format!("cannot build the shadow tree: {e}")))?;
    let validation = validators.validate(&shadow, step).await.map_err(|e| ReviewError::Validation(e.to_string()))?;
    let code = SafeDir::new(task.files_dir());
    let mut files = Vec::new();
    for t in &targets {
        let bytes = match new.iter().find(|(p, _)| p == t) {
            Some((_, b)) => b.clone(),
            None => code.read(t)?.unwrap_or_default(),
        };
        let found = validation.reports.iter().filter(|r| r.file == t.as_str()).cloned().collect();
        files.push((t.clone(), bytes, found));
    }
    Ok(Some(Checked { validators, shadow, validation, files }))
}
