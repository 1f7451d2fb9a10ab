//! Candidate selection: of N candidate contents for one file, keep the best by the fast
//! verifiers — the validators used as a free verifier.
//!
//! Each candidate is checked ([`check`]) by: the built-in syntax check; ruff on stdin (when
//! installed); the symbols the plan names being defined, with the parameters of any `def` line
//! the plan writes ([`pysrc::named_symbols`]); the plan's examples ([`super::examples`], Python).
//! The best has the smallest [`CandidateCheck::key`] — syntax findings, then missing symbols
//! and signatures, then failing examples, then ruff findings — and ties go to the first.
//!
//! Invariants: [`check`] returns everything the checks found (for the run log and the TUI line
//! "3 candidates, kept #2 (0 findings)"), [`best_index`] makes the choice; checking never runs
//! anything but ruff and the examples runner; a verifier that fails to run counts the same for every candidate, so it cannot
//! decide the choice.

use serde::Serialize;

use crate::repair::examples::{Example, ExampleRunner, ExamplesOutcome};
use crate::repair::fastcheck::FastCheck;
use crate::repair::pysrc::{self, NamedSymbol};
use crate::sandbox::Scratch;
use crate::task::relpath::RelPath;
use crate::validate::{Family, family};

/// What the checks of one candidate found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CandidateCheck {
    /// 1-based candidate number.
    pub number: usize,
    /// Built-in syntax check findings.
    pub syntax: usize,
    /// ruff findings (`--select F,E9`).
    pub ruff: usize,
    /// Plan-named symbols the candidate does not define.
    pub missing: Vec<String>,
    /// Plan-named functions whose parameters differ from the plan's `def` line.
    pub signature: Vec<String>,
    /// Examples that passed.
    pub examples_passed: usize,
    /// Examples that failed.
    pub examples_failed: usize,
    /// Verifiers that could not run (ruff crashed, Python missing), for the log.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// The examples' results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub examples: Option<ExamplesOutcome>,
}

impl CandidateCheck {
    /// Everything the checks held against the candidate.
    pub fn findings(&self) -> usize {
        self.syntax + self.ruff + self.missing.len() + self.signature.len() + self.examples_failed
    }

    /// The ordering key (smaller is better; see the module docs).
    pub fn key(&self) -> (usize, usize, usize, usize) {
        (self.syntax, self.missing.len() + self.signature.len(), self.examples_failed, self.ruff)
    }
}

/// What selection checks against.
pub struct SelectCtx<'a> {
    /// Syntax check and ruff.
    pub fast: &'a FastCheck<'a>,
    /// Where the examples run (the shadow tree).
    pub scratch: &'a Scratch,
    /// Symbols the plan names for the file.
    pub named: &'a [NamedSymbol],
    /// The plan's examples for the file.
    pub examples: &'a [Example],
    /// Runs the examples (`None`: examples are not checked).
    pub runner: Option<&'a ExampleRunner>,
}

/// Checks one candidate (`number` is 1-based).
pub async fn check(ctx: &SelectCtx<'_>, file: &RelPath, content: &str, number: usize) -> CandidateCheck {
    let mut c = CandidateCheck { number, syntax: FastCheck::syntax(file, content).len(), ..Default::default() };
    match ctx.fast.ruff_findings(file, content).await {
        Ok(f) => c.ruff = f.len(),
        Err(e) => c.errors.push(format!("ruff: {e}")),
    }
    if family(file) != Family::Python {
        return c;
    }
    let defined = pysrc::defined_names(content);
    for s in ctx.named {
        if !defined.contains(&s.name) {
            c.missing.push(s.name.clone());
        } else if let Some(want) = &s.params
            && let Some(got) = pysrc::signature(content, &s.name)
            && &got != want
        {
            c.signature.push(s.name.clone());
        }
    }
    if let Some(runner) = ctx.runner
        && !ctx.examples.is_empty()
    {
        match runner.run(ctx.scratch, file, content, ctx.examples).await {
            Ok(o) => {
                c.examples_passed = o.passed();
                c.examples_failed = o.failed();
                c.examples = Some(o);
            }
            Err(e) => c.errors.push(format!("examples: {e}")),
        }
    }
    c
}

/// The index of the best of `checks`: the smallest [`CandidateCheck::key`], ties to the first
/// (`None` when empty).
pub fn best_index<'a>(checks: impl IntoIterator<Item = &'a CandidateCheck>) -> Option<usize> {
    checks.into_iter().enumerate().min_by_key(|(i, c)| (c.key(), *i)).map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::repair::examples;

    /// The choice among candidates.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
    struct Selection {
        /// 0-based index of the kept candidate.
        kept: usize,
        /// Every candidate's checks, in order.
        checks: Vec<CandidateCheck>,
    }

    impl Selection {
        /// The kept candidate's checks.
        fn best(&self) -> Option<&CandidateCheck> {
            self.checks.get(self.kept)
        }

        /// One line for the TUI and the log: `3 candidates, kept #2 (0 findings)`.
        fn summary(&self) -> String {
            let findings = self.best().map_or(0, CandidateCheck::findings);
            crate::report::candidates_line(self.checks.len(), self.kept + 1, findings)
        }
    }

    /// Checks every candidate and keeps the best (see the module docs); an empty `candidates`
    /// gives an empty selection.
    async fn select(ctx: &SelectCtx<'_>, file: &RelPath, candidates: &[String]) -> Selection {
        let mut checks = Vec::with_capacity(candidates.len());
        for (i, content) in candidates.iter().enumerate() {
            checks.push(check(ctx, file, content, i + 1).await);
        }
        let kept = best_index(&checks).unwrap_or(0);
        Selection { kept, checks }
    }

    #[tokio::test]
    async fn keeps_the_candidate_the_verifiers_like_best_ties_to_the_first() {
        let file = RelPath::new("pkg/add.py").unwrap();
        let plan = "def add(a: int, b: int) -> int:\n    \"\"\"Sum.\n    >>> add(2, 3)\n    5\n    \"\"\"\n";
        let named = pysrc::named_symbols(plan);
        let ex = examples::extract(plan);
        let (_repo, scratch) = crate::repair::autofix::tests::scratch();
        let fast = crate::repair::autofix::tests::fast(&scratch);
        let python = crate::validate::exec::find_tool(Path::new("."), "python3").unwrap();
        let sandbox = crate::sandbox::Sandbox::detect(&crate::sandbox::SandboxConfig::default());
        let runner = ExampleRunner::new(python, sandbox, Duration::from_secs(2), Duration::from_secs(20));
        let ctx = SelectCtx { fast: &fast, scratch: &scratch, named: &named, examples: &ex, runner: Some(&runner) };
        let candidates = [
            "def add(a, b:\n    return a + b\n".to_owned(),  // syntax error
            "def add(x, y):\n    return x + y\n".to_owned(), // wrong parameter names
            "import os\n\ndef add(a, b):\n    return a - b\n".to_owned(), // wrong result, unused import
            "def add(a, b):\n    return a + b\n".to_owned(), // right
            "def add(a, b):\n    return b + a\n".to_owned(), // right too: the tie goes to #4
        ];
        let s = select(&ctx, &file, &candidates).await;
        assert_eq!(s.kept, 3, "{s:#?}");
        assert_eq!(s.summary(), "5 candidates, kept #4 (0 findings)");
        assert_eq!(s.checks[0].syntax, 1);
        assert_eq!(s.checks[1].signature, vec!["add"]);
        assert_eq!((s.checks[2].examples_failed, s.checks[2].ruff), (1, 1));
        let one = select(&ctx, &file, &candidates[2..3]).await;
        assert_eq!(one.summary(), "1 candidate, kept #1 (2 findings)");
    }
}
