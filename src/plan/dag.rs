//! The file dependency DAG and its waves.
//!
//! Invariant: wave `k` holds exactly the files whose longest dependency chain has length `k`
//! (wave 0 has no dependencies), so every file's dependencies sit in earlier waves. Files within
//! a wave are sorted by path, so the layering is deterministic.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::plan::types::PlannedFile;
use crate::task::relpath::RelPath;

/// A dependency cycle, listed from its first file back to that file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle(pub Vec<RelPath>);

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dependency cycle: ")?;
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, " → ")?;
            }
            write!(f, "{p}")?;
        }
        if let Some(first) = self.0.first() {
            write!(f, " → {first}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Cycle {}

/// Layers `files` into waves (see the module invariant). Dependencies on paths outside `files`
/// are ignored (plan loading rejects them first).
///
/// # Errors
/// The first [`Cycle`] found, searching from the lexically smallest file.
pub fn waves(files: &[PlannedFile]) -> Result<Vec<Vec<RelPath>>, Cycle> {
    let deps: BTreeMap<&RelPath, BTreeSet<&RelPath>> = files
        .iter()
        .map(|f| {
            let known = f.depends_on.iter().filter(|d| files.iter().any(|g| &g.path == *d)).collect();
            (&f.path, known)
        })
        .collect();
    if let Some(cycle) = find_cycle(&deps) {
        return Err(cycle);
    }
    let mut level: BTreeMap<&RelPath, usize> = BTreeMap::new();
    // Acyclic: repeated relaxation converges in at most |files| rounds.
    let mut changed = true;
    while changed {
        changed = false;
        for (node, ds) in &deps {
            let l = ds.iter().map(|d| level.get(d).map_or(1, |x| x + 1)).max().unwrap_or(0);
            if level.get(node) != Some(&l) {
                level.insert(node, l);
                changed = true;
            }
        }
    }
    let depth = level.values().copied().max().map_or(0, |m| m + 1);
    let mut out: Vec<Vec<RelPath>> = vec![Vec::new(); depth];
    for (node, l) in level {
        out[l].push(node.clone());
    }
    Ok(out)
}

/// A node's dependencies as a stack that pops the smallest path first.
fn pending_of<'a>(deps: &BTreeMap<&'a RelPath, BTreeSet<&'a RelPath>>, node: &RelPath) -> Vec<&'a RelPath> {
    deps.get(node).map(|s| s.iter().rev().copied().collect()).unwrap_or_default()
}

fn find_cycle(deps: &BTreeMap<&RelPath, BTreeSet<&RelPath>>) -> Option<Cycle> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    let mut mark: BTreeMap<&RelPath, Mark> = BTreeMap::new();
    for &start in deps.keys() {
        if mark.contains_key(start) {
            continue;
        }
        // Iterative DFS; `stack` is the current path with an iterator over each node's deps.
        let mut stack: Vec<(&RelPath, Vec<&RelPath>)> = vec![(start, pending_of(deps, start))];
        mark.insert(start, Mark::Open);
        while let Some((node, pending)) = stack.last_mut() {
            if let Some(next) = pending.pop() {
                match mark.get(next) {
                    Some(Mark::Open) => {
                        let from = stack.iter().position(|(n, _)| *n == next).unwrap_or(0);
                        return Some(Cycle(stack[from..].iter().map(|(n, _)| (*n).clone()).collect()));
                    }
                    Some(Mark::Done) => {}
                    None => {
                        mark.insert(next, Mark::Open);
                        stack.push((next, pending_of(deps, next)));
                    }
                }
            } else {
                let n = *node;
                mark.insert(n, Mark::Done);
                stack.pop();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::types::Action;

    fn f(path: &str, deps: &[&str]) -> PlannedFile {
        PlannedFile {
            path: RelPath::new(path).unwrap(),
            action: Action::Create,
            description: String::new(),
            depends_on: deps.iter().map(|d| RelPath::new(d).unwrap()).collect(),
        }
    }

    fn names(w: &[Vec<RelPath>]) -> Vec<Vec<&str>> {
        w.iter().map(|l| l.iter().map(|p| p.as_str()).collect()).collect()
    }

    #[test]
    fn layers_by_longest_chain() {
        let files = [
            f("app.py", &["api.py", "util.py"]),
            f("api.py", &["models.py"]),
            f("models.py", &["util.py"]),
            f("util.py", &[]),
            f("readme.md", &[]),
        ];
        let w = waves(&files).unwrap();
        assert_eq!(names(&w), vec![vec!["readme.md", "util.py"], vec!["models.py"], vec!["api.py"], vec!["app.py"]]);
    }

    #[test]
    fn independent_files_share_one_wave() {
        let w = waves(&[f("b.py", &[]), f("a.py", &[])]).unwrap();
        assert_eq!(names(&w), vec![vec!["a.py", "b.py"]]);
    }

    #[test]
    fn names_the_cycle() {
        let files = [f("a.py", &["b.py"]), f("b.py", &["c.py"]), f("c.py", &["a.py"]), f("d.py", &[])];
        let c = waves(&files).unwrap_err();
        assert_eq!(c.to_string(), "dependency cycle: a.py → b.py → c.py → a.py");
    }

    #[test]
    fn self_dependency_is_a_cycle() {
        let c = waves(&[f("a.py", &["a.py"])]).unwrap_err();
        assert_eq!(c.to_string(), "dependency cycle: a.py → a.py");
    }
}
