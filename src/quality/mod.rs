//! The quality score of generated files, by seed 003's formula:
//! `score = max(0, (100 − Σ weights) / 100)` with the weights error 10, warning 5, info 1,
//! security 20, performance 15 — 1.0 for a file without findings, 0.0 from ten errors on.
//!
//! Which findings weigh what ([`weight_of`]):
//! - a finding of category `security` weighs **security** (20) when its severity is high or
//!   medium (error or warning), **info** (1) when low — see [`crate::validate::security`];
//! - every other finding weighs by its severity: **error** (10) — syntax, undefined names,
//!   missing imports, type mismatches, compile errors, failing tests (`test_failure`), which are
//!   all errors; **warning** (5) — `go vet`'s analyzers; **info** (1) — formatter failures;
//! - **performance** (15) is in the table for the seed's formula; no validator reports
//!   performance findings yet;
//! - findings that are not the generation's doing weigh nothing: `preexisting` ones (also in
//!   the base) and category `environment` (a package not installed).
//!
//! A run's score is the mean of its generated files' scores (a file without findings scores
//! 1.0), so one bad file out of ten costs a tenth of its own loss.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::report::classify::Category;
use crate::report::{Severity, ValidationReport};

/// Quality settings (`[quality]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityConfig {
    /// Files scoring below this after repair get improvement attempts (0.0–1.0).
    pub min_score: f64,
    /// Improvement attempts per file (0 turns the improvement loop off).
    pub max_iterations: u32,
}

impl Default for QualityConfig {
    fn default() -> Self {
        Self { min_score: 0.9, max_iterations: 3 }
    }
}

/// The seed's weight classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Weight {
    /// 10.
    Error,
    /// 5.
    Warning,
    /// 1.
    Info,
    /// 20.
    Security,
    /// 15.
    Performance,
}

impl Weight {
    /// The seed's number for this class.
    pub fn value(self) -> u32 {
        match self {
            Weight::Error => 10,
            Weight::Warning => 5,
            Weight::Info => 1,
            Weight::Security => 20,
            Weight::Performance => 15,
        }
    }
}

/// The weight class of `r`, or `None` when it weighs nothing (see the module docs).
pub fn weight_of(r: &ValidationReport) -> Option<Weight> {
    if r.preexisting || r.category == Category::Environment {
        return None;
    }
    Some(match (r.category, r.severity) {
        (Category::Security, Severity::Error | Severity::Warning) => Weight::Security,
        (_, Severity::Error) => Weight::Error,
        (_, Severity::Warning) => Weight::Warning,
        (_, Severity::Info) => Weight::Info,
    })
}

/// The score of a set of findings (see the module docs), in 0.0–1.0.
pub fn score(findings: &[ValidationReport]) -> f64 {
    let total: u32 = findings.iter().filter_map(weight_of).map(Weight::value).sum();
    (100.0 - f64::from(total)).max(0.0) / 100.0
}

/// One file's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileScore {
    /// Repo-relative path.
    pub file: String,
    /// 0.0–1.0.
    pub score: f64,
    /// How many findings of each weight class it has.
    pub counts: BTreeMap<Weight, usize>,
}

/// A run's scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunScore {
    /// Every generated file, in path order.
    pub files: Vec<FileScore>,
    /// The mean of the files' scores (1.0 when there are none).
    pub score: f64,
}

/// Scores `files` (the generated files) given all `findings` of the run.
pub fn score_run(files: &[String], findings: &[ValidationReport]) -> RunScore {
    let mut paths: Vec<&String> = files.iter().collect();
    paths.sort();
    paths.dedup();
    let per: Vec<FileScore> = paths
        .into_iter()
        .map(|f| {
            let mine: Vec<ValidationReport> = findings.iter().filter(|r| &r.file == f).cloned().collect();
            let mut counts = BTreeMap::new();
            for w in mine.iter().filter_map(weight_of) {
                *counts.entry(w).or_insert(0) += 1;
            }
            FileScore { file: f.clone(), score: score(&mine), counts }
        })
        .collect();
    let score = if per.is_empty() { 1.0 } else { per.iter().map(|f| f.score).sum::<f64>() / per.len() as f64 };
    RunScore { files: per, score }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(file: &str, category: Category, severity: Severity, preexisting: bool) -> ValidationReport {
        ValidationReport {
            step: "validate".into(),
            file: file.into(),
            line: 1,
            column: 1,
            code: "X".into(),
            category,
            message: String::new(),
            tool: "t".into(),
            severity,
            preexisting,
        }
    }

    #[test]
    fn the_seed_formula_on_a_table() {
        use Category::*;
        use Severity::*;
        let e = |c, s| f("a.py", c, s, false);
        let rows: Vec<(Vec<ValidationReport>, f64)> = vec![
            (vec![], 1.0),
            (vec![e(UndefinedName, Error)], 0.90),
            (vec![e(Other, Warning)], 0.95),
            (vec![e(Other, Info)], 0.99),
            (vec![e(Security, Error)], 0.80),
            (vec![e(Security, Warning)], 0.80),
            (vec![e(Security, Info)], 0.99),
            (vec![e(TestFailure, Error), e(Syntax, Error), e(Other, Warning)], 0.75),
            (vec![e(Security, Error); 5], 0.0),
            (vec![e(Security, Error); 6], 0.0),
            (vec![e(Environment, Error)], 1.0),
            (vec![f("a.py", UndefinedName, Error, true)], 1.0),
        ];
        for (findings, want) in rows {
            let got = score(&findings);
            assert!((got - want).abs() < 1e-9, "{findings:?}: {got} != {want}");
        }
        assert_eq!(Weight::Performance.value(), 15);
    }

    #[test]
    fn a_run_is_the_mean_of_its_files() {
        let findings = vec![
            f("b.py", Category::Syntax, Severity::Error, false),
            f("b.py", Category::Security, Severity::Error, false),
            f("other.py", Category::Syntax, Severity::Error, false),
        ];
        let r = score_run(&["b.py".into(), "a.py".into()], &findings);
        assert_eq!(
            r.files.iter().map(|f| (f.file.as_str(), f.score)).collect::<Vec<_>>(),
            vec![("a.py", 1.0), ("b.py", 0.7)]
        );
        assert!((r.score - 0.85).abs() < 1e-9);
        assert_eq!(r.files[1].counts.get(&Weight::Security), Some(&1));
        assert_eq!(score_run(&[], &[]).score, 1.0);
    }
}
