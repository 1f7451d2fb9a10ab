//! The plan stage: load and check the plan, layer it into waves once, and read state.json.
//! Everything it rejects is bad input (exit 2) found before the run writes anything.

use std::sync::Arc;

use crate::orchestrator::fail::Fail;
use crate::orchestrator::run::{Run, blocking};
use crate::plan::{self, dag};
use crate::task::state::TaskState;

impl Run {
    /// Loads the plan, its waves and the task's state.json.
    ///
    /// # Errors
    /// [`Fail::bad_input`] for a plan error, a dependency cycle or a corrupt state.json.
    pub(crate) async fn load_plan(&mut self) -> Result<(), Fail> {
        let (task, repo) = (self.env.task.clone(), self.env.repo.clone());
        let plan = blocking(move || plan::load(&task, &repo))
            .await?
            .map_err(|e| Fail::bad_input(e.to_string(), "fix the plan, then run codegen again"))?;
        self.waves = dag::waves(&plan.files)
            .map_err(|c| Fail::bad_input(c.to_string(), "break the cycle in plan.files.json"))?;
        self.plan = Arc::new(plan);
        self.state = TaskState::load(&self.env.task)
            .map_err(|e| Fail::bad_input(e.to_string(), "move state.json aside to start fresh"))?;
        Ok(())
    }
}
