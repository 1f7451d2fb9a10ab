//! The plan: loading and checking a task's `planning/plan.md`, `planning/plan.files.json` and the
//! optional `planning/planning.ai.json` and `review/plan-review.json`.
//!
//! Invariant: a [`Plan`] that [`load`] returns is safe to act on: every path is a valid
//! [`RelPath`], paths are unique, every `depends_on` names a planned path, the dependency graph
//! is acyclic, and each action agrees with the working tree (`modify`/`delete` of an existing
//! regular file, `create` of a missing one). Every rejection is a [`PlanError`] that names the
//! file and, for JSON, the line, column and field.
//!
//! Layout: [`types`] holds the checked plan's types, [`dag`] layers its files into waves, and
//! this module parses and checks the planning files.

pub mod dag;
pub mod types;

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::plan::types::{Action, Plan, PlannedFile};
use crate::task::TaskDir;
use crate::task::relpath::RelPath;

#[derive(Deserialize)]
struct RawPlanFiles {
    files: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    path: String,
    action: Action,
    #[serde(default)]
    description: String,
    #[serde(default)]
    depends_on: Vec<String>,
}

/// Bad input in a task's planning files. Rendered as `file:line:column: field: message` plus a
/// hint line; the CLI maps it to exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlanError {
    /// The file at fault.
    pub file: PathBuf,
    /// 1-based line, for JSON input.
    pub line: Option<usize>,
    /// 1-based column (in characters), for JSON input.
    pub column: Option<usize>,
    /// The offending field, as a JSON path like `files[2].depends_on[0]`.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl PlanError {
    fn new(file: &Path, message: impl Into<String>) -> Self {
        Self { file: file.to_path_buf(), line: None, column: None, field: None, message: message.into(), hint: None }
    }
    fn hint(mut self, h: impl Into<String>) -> Self {
        self.hint = Some(h.into());
        self
    }
}

/// One step of a JSON path.
#[derive(Debug, Clone)]
enum Seg {
    Key(&'static str),
    Index(usize),
}

fn path_string(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// 1-based (line, column) of byte `offset` in `text`, columns counted in characters.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Finds where the value at `segs` starts in the JSON `text`.
fn locate(text: &str, segs: &[Seg]) -> Option<(usize, usize)> {
    use jsonc_parser::ast::Value;
    use jsonc_parser::common::Ranged;
    let parsed = jsonc_parser::parse_to_ast(text, &Default::default(), &Default::default()).ok()?;
    let mut cur = parsed.value?;
    for seg in segs {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Object(o)) => o.properties.into_iter().find(|p| p.name.as_str() == *k)?.value,
            (Seg::Index(i), Value::Array(a)) => a.elements.into_iter().nth(*i)?,
            _ => return None,
        };
    }
    Some(line_col(text, cur.start()))
}

struct Locator<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Locator<'_> {
    fn err(&self, segs: &[Seg], message: impl Into<String>) -> PlanError {
        let (line, column) = locate(self.text, segs).map_or((None, None), |(l, c)| (Some(l), Some(c)));
        PlanError {
            file: self.file.to_path_buf(),
            line,
            column,
            field: Some(path_string(segs)),
            message: message.into(),
            hint: None,
        }
    }
}

fn read_optional_json(path: &Path) -> Result<Option<String>, PlanError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(PlanError::new(path, format!("cannot read: {e}"))),
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| PlanError {
        line: Some(e.line()),
        column: Some(e.column()),
        ..PlanError::new(path, format!("not valid JSON: {e}")).hint("fix the JSON or remove the file; it is optional")
    })?;
    Ok(Some(serde_json::to_string_pretty(&value).unwrap_or(text)))
}

/// The plan's title: the first `# ` heading of `plan_md`, or `fallback` when it has none.
pub fn title_of(plan_md: &str, fallback: &str) -> String {
    plan_md
        .lines()
        .find_map(|l| l.strip_prefix("# ").map(|t| t.trim().to_owned()))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| fallback.to_owned())
}

/// Loads and checks the task's plan against the repo at `repo` (see the module invariant).
///
/// # Errors
/// A [`PlanError`] for the first problem found, in the order: plan.md, plan.files.json syntax
/// and schema, each entry's path and action, duplicates, `depends_on`, cycles, the optional
/// JSON files.
pub fn load(task: &TaskDir, repo: &Path) -> Result<Plan, PlanError> {
    let md_path = task.plan_md();
    let plan_md = match fs::read_to_string(&md_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PlanError::new(&md_path, "missing: codegen needs the narrative plan")
                .hint("write the plan there, or scaffold a task with `ai-tools task new <slug>`"));
        }
        Err(e) => return Err(PlanError::new(&md_path, format!("cannot read: {e}"))),
    };
    if plan_md.trim().is_empty() {
        return Err(PlanError::new(&md_path, "is empty").hint("describe the change in plan.md"));
    }
    let files_path = task.plan_files_json();
    let text = match fs::read_to_string(&files_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PlanError::new(&files_path, "missing: codegen needs the per-file plan")
                .hint(r#"write {"files": [{"path": "...", "action": "create", "description": "..."}]}"#));
        }
        Err(e) => return Err(PlanError::new(&files_path, format!("cannot read: {e}"))),
    };
    let files = parse_plan_files(&files_path, &text, repo)?;
    let planning_ai = read_optional_json(&task.planning_ai_json())?;
    let plan_review = read_optional_json(&task.plan_review_json())?;
    let fallback = task.slug();
    Ok(Plan { title: title_of(&plan_md, &fallback), plan_md, files, planning_ai, plan_review })
}

/// Parses and checks plan.files.json `text` (read from `file`) against the repo at `repo`.
///
/// # Errors
/// A located [`PlanError`], as for [`load`].
pub fn parse_plan_files(file: &Path, text: &str, repo: &Path) -> Result<Vec<PlannedFile>, PlanError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let raw: RawPlanFiles = serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner();
        let field = e.path().to_string();
        let syntax = inner.is_syntax() || inner.is_eof();
        PlanError {
            file: file.to_path_buf(),
            line: Some(inner.line()),
            column: Some(inner.column()),
            field: (!syntax && field != ".").then_some(field),
            message: if syntax { format!("not valid JSON: {inner}") } else { format!("{inner}") },
            hint: Some(
                r#"expected {"files": [{"path": "pkg/x.py", "action": "create" | "modify" | "delete", "description": "...", "depends_on": ["pkg/y.py"]}]}"#
                    .into(),
            ),
        }
    })?;
    let loc = Locator { file, text };
    if raw.files.is_empty() {
        return Err(loc
            .err(&[Seg::Key("files")], "the file list is empty: there is nothing to generate")
            .hint(r#"add at least one entry: {"path": "...", "action": "create", "description": "..."}"#));
    }
    let mut out: Vec<PlannedFile> = Vec::with_capacity(raw.files.len());
    let mut seen: BTreeMap<RelPath, usize> = BTreeMap::new();
    for (i, e) in raw.files.iter().enumerate() {
        let at = [Seg::Key("files"), Seg::Index(i), Seg::Key("path")];
        let path = RelPath::new(&e.path).map_err(|err| loc.err(&at, err.to_string()))?;
        if let Some(first) = seen.insert(path.clone(), i) {
            return Err(loc
                .err(&at, format!("duplicate path `{path}` (first listed as files[{first}])"))
                .hint("list each file once; merge the two descriptions"));
        }
        check_against_repo(&path, e.action, repo).map_err(|(msg, hint)| {
            let mut err = loc.err(&at, msg);
            err.hint = Some(hint);
            err
        })?;
        out.push(PlannedFile { path, action: e.action, description: e.description.clone(), depends_on: Vec::new() });
    }
    for (i, e) in raw.files.iter().enumerate() {
        for (j, d) in e.depends_on.iter().enumerate() {
            let at = [Seg::Key("files"), Seg::Index(i), Seg::Key("depends_on"), Seg::Index(j)];
            let dep = RelPath::new(d).map_err(|err| loc.err(&at, err.to_string()))?;
            if !seen.contains_key(&dep) {
                return Err(loc
                    .err(&at, format!("depends on `{dep}`, which is not in the plan"))
                    .hint("add that file to the plan or remove the dependency"));
            }
            if !out[i].depends_on.contains(&dep) {
                out[i].depends_on.push(dep);
            }
        }
    }
    if let Err(cycle) = dag::waves(&out) {
        let first = seen.get(&cycle.0[0]).copied().unwrap_or(0);
        let at = [Seg::Key("files"), Seg::Index(first), Seg::Key("depends_on")];
        return Err(loc
            .err(&at, cycle.to_string())
            .hint("break the cycle: a file can only depend on files generated before it"));
    }
    Ok(out)
}

/// Checks one planned action against the working tree; `Err((message, hint))` when they disagree.
fn check_against_repo(path: &RelPath, action: Action, repo: &Path) -> Result<(), (String, String)> {
    // No component on the way may be a symlink: accept must never write through one.
    let mut cur = repo.to_path_buf();
    let segs: Vec<&str> = path.segments().collect();
    for (k, seg) in segs.iter().enumerate() {
        cur.push(seg);
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                let shown = segs[..=k].join("/");
                return Err((
                    format!("`{shown}` is a symlink; ai-tools never writes through symlinks"),
                    "plan the file at its real location".into(),
                ));
            }
            Ok(m) if k + 1 < segs.len() && !m.is_dir() => {
                return Err((
                    format!("`{}` is a file, so `{path}` cannot exist below it", segs[..=k].join("/")),
                    "fix the path".into(),
                ));
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let meta = fs::symlink_metadata(path.join_to(repo)).ok();
    match (action, meta) {
        (Action::Create, Some(_)) => Err((
            format!("`{path}` already exists, so it cannot be created"),
            "use \"action\": \"modify\" to change an existing file".into(),
        )),
        (Action::Modify | Action::Delete, None) => Err((
            format!(
                "`{path}` does not exist, so it cannot be {}",
                if action == Action::Modify { "modified" } else { "deleted" }
            ),
            "use \"action\": \"create\" for a new file, or fix the path".into(),
        )),
        (Action::Modify | Action::Delete, Some(m)) if !m.is_file() => {
            Err((format!("`{path}` is not a regular file"), "plan regular files only".into()))
        }
        (Action::Modify, Some(_)) if fs::read(path.join_to(repo)).is_ok_and(|b| std::str::from_utf8(&b).is_err()) => {
            Err((
                format!("`{path}` is not UTF-8 text, and ai-tools edits text files only"),
                "convert the file to UTF-8 first, or leave it out of the plan".into(),
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repo with `existing` files and a task whose plan.files.json is `json`.
    fn setup(existing: &[&str], json: &str) -> (tempfile::TempDir, TaskDir) {
        let t = tempfile::tempdir().unwrap();
        let repo = t.path().join("repo");
        for p in existing {
            let f = repo.join(p);
            fs::create_dir_all(f.parent().unwrap()).unwrap();
            fs::write(f, "x\n").unwrap();
        }
        fs::create_dir_all(&repo).unwrap();
        let task = TaskDir::new(t.path().join("task"));
        fs::create_dir_all(task.root().join("planning")).unwrap();
        fs::write(task.plan_md(), "# Title here\n\nThe plan.\n").unwrap();
        fs::write(task.plan_files_json(), json).unwrap();
        (t, task)
    }

    fn err(existing: &[&str], json: &str) -> PlanError {
        let (t, task) = setup(existing, json);
        load(&task, &t.path().join("repo")).unwrap_err()
    }

    #[test]
    fn loads_a_good_plan_with_title_and_dependencies() {
        let (t, task) = setup(
            &["pkg/api.py"],
            r#"{"files": [{"path": "pkg/u.py", "action": "create"}, {"path": "pkg/api.py", "action": "modify", "description": "d", "depends_on": ["pkg/u.py"]}]}"#,
        );
        let p = load(&task, &t.path().join("repo")).unwrap();
        assert_eq!(p.title, "Title here");
        assert_eq!(p.files.len(), 2);
        assert_eq!(p.files[1].depends_on, vec![RelPath::new("pkg/u.py").unwrap()]);
        assert!(p.planning_ai.is_none() && p.plan_review.is_none());
    }

    #[test]
    fn missing_plan_md() {
        let (t, task) = setup(&[], r#"{"files": [{"path": "a.py", "action": "create"}]}"#);
        fs::remove_file(task.plan_md()).unwrap();
        let e = load(&task, &t.path().join("repo")).unwrap_err();
        assert!(e.file.ends_with("planning/plan.md") && e.message.starts_with("missing"), "{e}");
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let e = err(&[], "{\"files\": [\n  {\"path\": \"a.py\",, }\n]}");
        assert_eq!((e.line, e.column), (Some(2), Some(19)), "{e}");
        assert!(e.message.starts_with("not valid JSON"), "{e}");
        assert!(e.to_string().contains("plan.files.json:2:19"), "{e}");
    }

    #[test]
    fn schema_violations_name_the_field() {
        let e = err(&[], r#"{"files": [{"path": "a.py", "action": "craete"}]}"#);
        assert_eq!(e.field.as_deref(), Some("files[0].action"), "{e}");
        assert!(e.message.contains("unknown variant `craete`"), "{e}");
        let e = err(&[], r#"{"files": [{"path": "a.py", "action": "create", "depends": []}]}"#);
        assert!(e.message.contains("unknown field `depends`"), "{e}");
        let e = err(&[], r#"{"files": [{"action": "create"}]}"#);
        assert!(e.message.contains("missing field `path`"), "{e}");
        let e = err(&[], r#"{"nope": 1}"#);
        assert!(e.message.contains("missing field `files`"), "{e}");
    }

    #[test]
    fn empty_list_and_duplicates() {
        let e = err(&[], r#"{"files": []}"#);
        assert!(e.message.contains("empty"), "{e}");
        assert_eq!(e.field.as_deref(), Some("files"));
        let e = err(
            &[],
            "{\"files\": [\n {\"path\": \"a.py\", \"action\": \"create\"},\n {\"path\": \"a.py\", \"action\": \"create\"}]}",
        );
        assert_eq!((e.field.as_deref(), e.line), (Some("files[1].path"), Some(3)), "{e}");
        assert!(e.message.contains("duplicate path `a.py` (first listed as files[0])"), "{e}");
    }

    #[test]
    fn unknown_dependency_and_cycles() {
        let e = err(&[], r#"{"files": [{"path": "a.py", "action": "create", "depends_on": ["b.py"]}]}"#);
        assert_eq!(e.field.as_deref(), Some("files[0].depends_on[0]"));
        assert!(e.message.contains("`b.py`, which is not in the plan"), "{e}");
        let e = err(
            &[],
            r#"{"files": [{"path": "a.py", "action": "create", "depends_on": ["b.py"]}, {"path": "b.py", "action": "create", "depends_on": ["a.py"]}]}"#,
        );
        assert_eq!(e.message, "dependency cycle: a.py → b.py → a.py");
    }

    #[test]
    fn unsafe_paths_are_refused() {
        for (p, what) in [
            ("/etc/x", "absolute"),
            ("../x.py", "`..`"),
            ("a\\\\b.py", "backslash"),
            ("a\\u0000b", "NUL"),
            (".git/config", ".git/"),
        ] {
            let e = err(&[], &format!(r#"{{"files": [{{"path": "{p}", "action": "create"}}]}}"#));
            assert_eq!(e.field.as_deref(), Some("files[0].path"), "{p}: {e}");
            assert!(e.message.contains(what), "{p}: {e}");
        }
    }

    #[test]
    fn actions_must_agree_with_the_tree() {
        let e = err(&[], r#"{"files": [{"path": "a.py", "action": "modify"}]}"#);
        assert!(e.message.contains("does not exist, so it cannot be modified"), "{e}");
        assert!(e.hint.as_deref().unwrap_or("").contains("\"create\""), "{e}");
        let e = err(&[], r#"{"files": [{"path": "a.py", "action": "delete"}]}"#);
        assert!(e.message.contains("cannot be deleted"), "{e}");
        let e = err(&["a.py"], r#"{"files": [{"path": "a.py", "action": "create"}]}"#);
        assert!(e.message.contains("already exists"), "{e}");
        assert!(e.hint.as_deref().unwrap_or("").contains("\"modify\""), "{e}");
    }

    #[test]
    fn modify_of_a_non_utf8_file_is_refused() {
        let (t, task) = setup(&[], r#"{"files": [{"path": "latin1.txt", "action": "modify"}]}"#);
        fs::write(t.path().join("repo/latin1.txt"), b"caf\xe9\n").unwrap();
        let e = load(&task, &t.path().join("repo")).unwrap_err();
        assert!(e.message.contains("not UTF-8"), "{e}");
    }

    #[test]
    fn symlinked_components_are_refused() {
        let (t, task) = setup(&["real/a.py"], r#"{"files": [{"path": "link/a.py", "action": "modify"}]}"#);
        let repo = t.path().join("repo");
        std::os::unix::fs::symlink(repo.join("real"), repo.join("link")).unwrap();
        let e = load(&task, &repo).unwrap_err();
        assert!(e.message.contains("`link` is a symlink"), "{e}");
    }

    #[test]
    fn optional_json_files_must_parse() {
        let (t, task) = setup(&[], r#"{"files": [{"path": "a.py", "action": "create"}]}"#);
        fs::create_dir_all(task.root().join("review")).unwrap();
        fs::write(task.plan_review_json(), "{\"caveats\": [\"x\"]}").unwrap();
        let p = load(&task, &t.path().join("repo")).unwrap();
        assert!(p.plan_review.unwrap().contains("caveats"));
        fs::write(task.planning_ai_json(), "{oops").unwrap();
        let e = load(&task, &t.path().join("repo")).unwrap_err();
        assert!(e.file.ends_with("planning.ai.json") && e.line == Some(1), "{e}");
    }
}
