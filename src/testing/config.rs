//! `[test]` settings: a leaf module, so the configuration ([`crate::config`]) can name them
//! without depending on the test step itself.

use serde::{Deserialize, Serialize};

/// `[test]` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TestConfig {
    /// Run the test step at all.
    pub enabled: bool,
    /// Replaces the detected runners: the argv of one command, run in the repo root; it
    /// passes when it exits 0 (one pseudo-test `command`).
    pub command: Option<Vec<String>>,
    /// Wall-clock limit per runner invocation, seconds.
    pub timeout_secs: u64,
    /// `changed` (default): the generated tests and the repo's tests that use a changed module;
    /// `all`: the whole suite.
    pub scope: Scope,
}

impl Default for TestConfig {
    fn default() -> Self {
        Self { enabled: true, command: None, timeout_secs: 300, scope: Scope::Changed }
    }
}

/// Which tests run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Tests among the generated files and tests that use a generated module.
    Changed,
    /// The whole suite.
    All,
}
