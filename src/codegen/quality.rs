//! The `[generate]` table: how many candidates the generate stage samples per file and whether
//! a file is checked and autofixed as soon as it is generated ("verify as you go").
//!
//! Read by the generate stage (see [`crate::repair::candidates`] for the selection and
//! [`crate::repair::autofix`] for the fixes); the defaults keep one reply per file for remote
//! providers.

use serde::{Deserialize, Serialize};

/// Candidates per file for the `local` kind when `[generate] candidates` is unset: 1, since
/// extra candidates cost time linearly and turned no extra file clean on the embedded model
/// (`docs/bench-local.md`, "Candidates"; README, "Candidates in the generate stage").
pub const LOCAL_CANDIDATES: u32 = 1;

/// The sampling temperature when the configuration sets none: greedy (0) for the `local` kind
/// — the embedded 135M model's greedy reply is its best one on HumanEval (README, "Candidates in
/// the generate stage") — and 0.2 for remote providers.
pub fn default_temperature(kind: &str) -> f32 {
    if kind == "local" { 0.0 } else { 0.2 }
}

/// `[generate]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenerateConfig {
    /// Replies sampled per file, the best kept by the fast verifiers; unset: 1 for remote
    /// providers, [`LOCAL_CANDIDATES`] for `local`.
    pub candidates: Option<u32>,
    /// Sampling temperature of candidates after the first (the first keeps the top-level
    /// `temperature`), so they differ.
    pub candidate_temperature: f32,
    /// Check and autofix each file as soon as it is generated, so its dependents' context
    /// holds the fixed version (`false`: the file goes to the validate stage as the model
    /// wrote it — the raw baseline of the quality benchmark).
    pub autofix: bool,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        Self { candidates: None, candidate_temperature: 0.7, autofix: true }
    }
}

impl GenerateConfig {
    /// The number of candidates for a provider of `kind` (≥ 1).
    pub fn candidates_for(&self, kind: &str) -> u32 {
        self.candidates.unwrap_or(if kind == "local" { LOCAL_CANDIDATES } else { 1 }).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_default_per_kind_and_parse_from_toml() {
        let d = GenerateConfig::default();
        assert_eq!((d.candidates_for("anthropic"), d.candidates_for("local")), (1, LOCAL_CANDIDATES));
        let c: GenerateConfig = toml::from_str("candidates = 3\nautofix = false\n").unwrap();
        assert_eq!((c.candidates_for("openai"), c.autofix), (3, false));
        assert!(toml::from_str::<GenerateConfig>("candidate = 3\n").is_err());
    }
}
