//! The materialize stage: write what the generate stage produced to `code/files/` (atomic,
//! path-checked, through [`crate::codegen::materialize`]), then end the run when generation
//! did not fully succeed — a reply that wrote outside the plan routes back to planning,
//! whatever else failed.

use crate::codegen::lang;
use crate::codegen::materialize::{self, Materialized};
use crate::orchestrator::events::Event;
use crate::orchestrator::fail::Fail;
use crate::orchestrator::run::{Run, blocking};
use crate::plan::Action;
use crate::task::relpath::RelPath;
use crate::task::state::{FileStatus, Stage};

impl Run {
    /// Materializes the generated files and checks the generation's outcome.
    ///
    /// # Errors
    /// A [`Fail`] when a write fails, a reply wrote outside the plan while files failed
    /// (scope mismatch), some files failed, or nothing was produced.
    pub(crate) async fn materialize(&mut self) -> Result<(), Fail> {
        self.enter(Stage::Materialize, "materialize")?;
        let items: Vec<(RelPath, Action, Option<String>)> = self
            .plan
            .files
            .iter()
            .filter_map(|f| self.generation.generated.get(&f.path).map(|c| (f.path.clone(), f.action, c.clone())))
            .collect();
        let (task, repo, rid) = (self.env.task.clone(), self.env.repo.clone(), self.run_id.clone());
        let written = blocking(move || materialize::materialize(&task, &repo, &rid, &items)).await?.map_err(|e| {
            Fail::failed(format!("materialize failed: {e}"), "fix the reported path or permission, then /redo codegen")
        })?;
        self.record_materialized(&written);
        self.save();
        let g = &self.generation;
        if !g.failed.is_empty() && !g.scope.is_empty() {
            return Err(Fail::scope_mismatch(&g.scope));
        }
        if !g.failed.is_empty() {
            return Err(Fail::failed(
                format!("{} of {} files could not be generated: {}", g.failed.len(), self.plan.files.len(), g.failed.join(", ")),
                "see each file's error; code/files holds what was generated; run `ai-tools codegen --redo` to try again",
            )
            .with_files(g.failed.clone()));
        }
        if written.is_empty() {
            return Err(Fail::failed("missing outputs: no files were produced", "run codegen again"));
        }
        Ok(())
    }

    fn record_materialized(&mut self, written: &[Materialized]) {
        for m in written {
            if let Some(fs) = self.state.files.get_mut(m.path.as_str()) {
                fs.status = FileStatus::Materialized;
            }
            let s = &mut self.summary;
            if m.action == Action::Delete {
                s.files_deleted += 1;
            } else {
                s.files_generated += 1;
                s.total_loc += m.lines;
                let ty = lang::file_type(&m.path).name.to_owned();
                *s.loc_by_type.entry(ty.clone()).or_default() += m.lines;
                *s.files_by_type.entry(ty).or_default() += 1;
            }
            self.env.bus.emit(Event::FileMaterialized {
                path: m.path.to_string(),
                action: m.action.to_string(),
                bytes: m.bytes,
                lines: m.lines,
            });
        }
    }
}
