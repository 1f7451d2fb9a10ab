//! The format stage, after materialize and before the diff ([`crate::format`]): every
//! generated file is formatted by its language's formatter when it is new or its base was
//! already formatted by it, so the diff never carries unrelated reformatting.
//!
//! Invariants: formatted content is written to code/files only through [`SafeDir`] (before
//! diff.patch is derived from it); formatters run in the sandbox over a scratch view of the
//! repo; a formatter that fails, or a scratch view that cannot be built, leaves the generated
//! bytes and becomes a finding or a warning — never a failure of the run; `[format] enabled =
//! false` skips the stage.

use crate::codegen::materialize::Manifest;
use crate::format::Formatters;
use crate::orchestrator::events::Event;
use crate::orchestrator::fail::Fail;
use crate::orchestrator::run::{Run, blocking};
use crate::plan::Action;
use crate::report::ValidationReport;
use crate::sandbox::{Sandbox, Scratch};
use crate::task::fsio::SafeDir;
use crate::task::relpath::RelPath;
use crate::validate::baseline;

/// The run-log step (and the findings' step) of formatting.
const FORMAT_STEP: &str = "format";

impl Run {
    /// Formats the generated files in code/files (see the module docs).
    ///
    /// # Errors
    /// A [`Fail`] when a formatted file cannot be written or the run was cancelled.
    pub(crate) async fn format(&mut self) -> Result<(), Fail> {
        let cfg = self.env.settings.format.clone();
        let Some(manifest) = Manifest::load(&self.env.task) else { return Ok(()) };
        let targets: Vec<RelPath> =
            manifest.files.iter().filter(|e| e.action != Action::Delete).map(|e| e.path.clone()).collect();
        if !cfg.enabled || targets.is_empty() {
            return Ok(());
        }
        if self.env.cancel.is_cancelled() {
            return Err(Fail::cancelled());
        }
        self.log_step(FORMAT_STEP);
        let sandbox = Sandbox::detect(&self.env.settings.sandbox);
        let formatters = Formatters::discover(&self.env.repo, &cfg, &targets, sandbox);
        let files_dir =
            self.env.task.checked("code/files").map_err(|e| Fail::failed(e.to_string(), "check the task dir"))?;
        let (repo, m) = (self.env.repo.clone(), manifest.clone());
        let scratch = match blocking(move || Scratch::build(&repo, &files_dir, &m)).await? {
            Ok(s) => s,
            Err(e) => {
                self.env.bus.emit(Event::log("warn", format!("formatting skipped: no scratch view: {e}")));
                return Ok(());
            }
        };
        let bases = baseline::bases(&self.env.task, &self.env.repo, &manifest, &self.state.base);
        let files: SafeDir =
            self.env.task.safe_dir("code/files").map_err(|e| Fail::failed(e.to_string(), "check the task dir"))?;
        let mut findings: Vec<ValidationReport> = Vec::new();
        let mut formatted = 0usize;
        for e in manifest.files.iter().filter(|e| e.action != Action::Delete) {
            let Ok(Some(bytes)) = files.read(&e.path) else { continue };
            let Ok(content) = String::from_utf8(bytes) else { continue };
            let base = bases.iter().find(|(p, _)| *p == e.path).map(|(_, b)| String::from_utf8_lossy(b).into_owned());
            let base = if e.action == Action::Create { None } else { base };
            let r = formatters.format_file(&scratch, &e.path, base.as_deref(), &content).await;
            findings.extend(r.finding(FORMAT_STEP));
            if r.changed(&content) {
                files.write(&e.path, r.content.as_bytes(), None).map_err(|err| {
                    Fail::failed(format!("cannot write the formatted {}: {err}", e.path), "check permissions")
                })?;
                formatted += 1;
            }
        }
        self.env.bus.emit(Event::log("info", format!("formatted {formatted} of {} generated files", targets.len())));
        if let Some(r) = self.rec.as_mut()
            && let Some(s) = r.current()
        {
            s.validation_errors = findings;
        }
        self.persist_log();
        Ok(())
    }
}
