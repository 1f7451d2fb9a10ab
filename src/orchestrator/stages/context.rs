//! The context stage: the repo summary every context package shares. Each target's own
//! package is built just before its request (in the generate stage), once its dependencies
//! have been generated.

use std::sync::Arc;

use crate::context::repo_summary;
use crate::orchestrator::fail::Fail;
use crate::orchestrator::run::{Run, blocking};
use crate::task::state::Stage;

impl Run {
    /// Summarizes the repo (a `.gitignore`-aware walk, capped); returns the rendered summary.
    ///
    /// # Errors
    /// The cancelled ending, or an internal error.
    pub(crate) async fn context(&mut self) -> Result<Arc<String>, Fail> {
        self.enter(Stage::Context, "context")?;
        let (r, max) = (self.env.repo.clone(), self.env.settings.repo_summary_max_files);
        Ok(Arc::new(blocking(move || repo_summary::summarize(&r, max).render()).await?))
    }
}
