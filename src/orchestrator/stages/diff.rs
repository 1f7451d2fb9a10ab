//! The diff stage: `code/diff.patch` from `code/files/` against the working tree (a resumed
//! run logs it as `diff (resumed)`).

use crate::orchestrator::fail::Fail;
use crate::orchestrator::run::Run;
use crate::task::state::Stage;

impl Run {
    /// Derives and announces the diff.
    ///
    /// # Errors
    /// The cancelled ending, or a [`Fail`] when the diff cannot be written.
    pub(crate) async fn diff(&mut self) -> Result<(), Fail> {
        let name = if self.opts.resume.is_some() { "diff (resumed)" } else { "diff" };
        self.enter(Stage::Diff, name)?;
        self.rediff().await
    }
}
