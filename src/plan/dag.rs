//! The file dependency DAG and its waves.
//!
//! Invariant: wave `k` holds exactly the files whose longest dependency chain has length `k`
//! (wave 0 has no dependencies), so every file's dependencies sit in earlier waves. Files within
//! a wave are sorted by path, so the layering is deterministic. Layering is linear in files +
//! edges (a 10,000-file chain layers in milliseconds); a checked [`crate::plan::Plan`] carries
//! its waves, computed once at load, so no caller needs to layer again.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
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

/// Layers `files` into waves (see the module invariant) in time linear in files + edges: one
/// pass of Kahn's algorithm over an index of the paths, each file's wave being one past the
/// deepest wave among its dependencies. Dependencies on paths outside `files` are ignored
/// (plan loading rejects them first); a dependency listed twice counts once.
///
/// # Errors
/// The first [`Cycle`] found, searching from the lexically smallest file.
pub fn waves(files: &[PlannedFile]) -> Result<Vec<Vec<RelPath>>, Cycle> {
    let index: HashMap<&RelPath, usize> = files.iter().enumerate().map(|(i, f)| (&f.path, i)).collect();
    let n = files.len();
    let mut pending = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, f) in files.iter().enumerate() {
        let mut seen = HashSet::new();
        for d in f.depends_on.iter().filter_map(|d| index.get(d).copied()) {
            if seen.insert(d) {
                pending[i] += 1;
                dependents[d].push(i);
            }
        }
    }
    let mut level = vec![0usize; n];
    let mut ready: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut done = 0;
    while let Some(i) = ready.pop() {
        done += 1;
        for &j in &dependents[i] {
            level[j] = level[j].max(level[i] + 1);
            pending[j] -= 1;
            if pending[j] == 0 {
                ready.push(j);
            }
        }
    }
    if done < n {
        let deps: BTreeMap<&RelPath, BTreeSet<&RelPath>> =
            files.iter().map(|f| (&f.path, f.depends_on.iter().filter(|d| index.contains_key(d)).collect())).collect();
        return Err(find_cycle(&deps).unwrap_or_else(|| Cycle(Vec::new())));
    }
    let depth = level.iter().max().map_or(0, |m| m + 1);
    let mut out: Vec<Vec<RelPath>> = vec![Vec::new(); depth];
    for (i, f) in files.iter().enumerate() {
        out[level[i]].push(f.path.clone());
    }
    for w in &mut out {
        w.sort();
        w.dedup();
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
    fn a_long_chain_layers_in_linear_time() {
        let n = 20_000;
        let files: Vec<PlannedFile> = (0..n)
            .map(|i| {
                let deps = if i == 0 { vec![] } else { vec![format!("f{:05}.py", i - 1)] };
                PlannedFile {
                    path: RelPath::new(&format!("f{i:05}.py")).unwrap(),
                    action: Action::Create,
                    description: String::new(),
                    depends_on: deps.iter().map(|d| RelPath::new(d).unwrap()).collect(),
                }
            })
            .collect();
        // Count work, not time: with a quadratic layering this test would not finish in the
        // suite's time; with the linear one it is instant.
        let w = waves(&files).unwrap();
        assert_eq!(w.len(), n);
        assert_eq!(w[n - 1][0].as_str(), "f19999.py");
        let mut cyc = files.clone();
        cyc[0].depends_on.push(RelPath::new("f19999.py").unwrap());
        assert!(waves(&cyc).is_err());
    }

    #[test]
    fn self_dependency_is_a_cycle() {
        let c = waves(&[f("a.py", &["a.py"])]).unwrap_err();
        assert_eq!(c.to_string(), "dependency cycle: a.py → a.py");
    }
}
