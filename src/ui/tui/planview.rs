//! The plan as the workbench shows it (`/plan`): plan.md, and the per-file plan laid out in
//! waves, or the first error `plan::load` finds, located as `file:line:column`.
//!
//! Invariant: [`load`] only reads (it is called by the event loop, never by the app); a plan
//! that does not load still shows whatever plan.md says, with the error above it.

use std::path::Path;

use crate::plan::{self, dag};
use crate::task::TaskDir;

/// One target of the per-file plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    /// 1-based wave.
    pub wave: usize,
    /// Repo-relative path.
    pub path: String,
    /// `create`, `modify` or `delete`.
    pub action: String,
    /// Paths it depends on.
    pub depends_on: Vec<String>,
    /// What the plan says about it.
    pub description: String,
}

/// What the plan view shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanView {
    /// The plan's title (plan.md's first heading).
    pub title: String,
    /// plan.md's text (empty when unreadable).
    pub plan_md: String,
    /// Targets in wave order, then path order.
    pub rows: Vec<PlanRow>,
    /// Waves.
    pub waves: usize,
    /// The error that stops the plan from loading, as `file:line:column: field: message` and a
    /// hint line.
    pub error: Option<String>,
    /// Lines scrolled down.
    pub scroll: u16,
}

/// Longest plan.md read for display, in bytes (the rest is cut with a note).
const MAX_MD: usize = 256 * 1024;

/// Reads and checks the plan of `task` (paths checked against `repo`, as a run would).
pub fn load(task: &TaskDir, repo: &Path) -> PlanView {
    let mut v = PlanView::default();
    match plan::load(task, repo) {
        Ok(p) => {
            v.title = p.title.clone();
            v.plan_md = p.plan_md.clone();
            match dag::waves(&p.files) {
                Ok(waves) => {
                    v.waves = waves.len();
                    for (w, paths) in waves.iter().enumerate() {
                        for path in paths {
                            let Some(f) = p.entry(path) else { continue };
                            v.rows.push(PlanRow {
                                wave: w + 1,
                                path: f.path.to_string(),
                                action: f.action.as_str().to_owned(),
                                depends_on: f.depends_on.iter().map(ToString::to_string).collect(),
                                description: f.description.clone(),
                            });
                        }
                    }
                }
                Err(c) => v.error = Some(format!("{}: {c}", task.plan_files_json().display())),
            }
        }
        Err(e) => {
            v.error = Some(e.to_string());
            v.plan_md = std::fs::read_to_string(task.plan_md()).unwrap_or_default();
            v.title = plan::title_of(&v.plan_md, &task.slug());
        }
    }
    if v.plan_md.len() > MAX_MD {
        let mut cut = MAX_MD;
        while !v.plan_md.is_char_boundary(cut) {
            cut -= 1;
        }
        v.plan_md.truncate(cut);
        v.plan_md.push_str("\n… (plan.md continues; open it in an editor)");
    }
    v
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn task_with(files_json: &str) -> (tempfile::TempDir, TaskDir) {
        let d = tempfile::tempdir().unwrap();
        let t = TaskDir::new(d.path().join(".ai-tools/tasks/t"));
        std::fs::create_dir_all(t.plan_md().parent().unwrap()).unwrap();
        std::fs::write(t.plan_md(), "# Add models\n\nSplit the models.\n").unwrap();
        std::fs::write(t.plan_files_json(), files_json).unwrap();
        std::fs::create_dir_all(d.path().join("app")).unwrap();
        std::fs::write(d.path().join("app/main.py"), "x = 1\n").unwrap();
        (d, t)
    }

    #[test]
    fn lays_the_targets_out_in_waves() {
        let (d, t) = task_with(
            r#"{"files": [
                {"path": "app/main.py", "action": "modify", "description": "use the models", "depends_on": ["app/models.py"]},
                {"path": "app/models.py", "action": "create", "description": "the models"}
            ]}"#,
        );
        let v = load(&t, d.path());
        assert_eq!(v.error, None);
        assert_eq!(v.title, "Add models");
        assert_eq!(v.waves, 2);
        let order: Vec<(usize, &str)> = v.rows.iter().map(|r| (r.wave, r.path.as_str())).collect();
        assert_eq!(order, vec![(1, "app/models.py"), (2, "app/main.py")]);
        assert_eq!(v.rows[1].depends_on, vec!["app/models.py".to_owned()]);
    }

    #[test]
    fn a_bad_plan_shows_the_located_error_and_still_the_narrative() {
        let (d, t) = task_with("{\"files\": [\n  {\"path\": \"app/x.py\", \"action\": \"rename\"}\n]}");
        let v = load(&t, d.path());
        let e = v.error.unwrap();
        assert!(e.contains("plan.files.json:2:"), "{e}");
        assert!(v.plan_md.contains("Split the models"));
        assert!(v.rows.is_empty());
    }
}
