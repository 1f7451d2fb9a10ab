//! Layered configuration: built-in defaults < the user's file (`<config dir>/ai-tools/config.toml`)
//! < the repo's `.ai-tools.toml` < environment variables < command-line flags. Later layers win;
//! TOML tables merge key by key, so a repo file can change one provider's model without
//! restating the rest.
//!
//! Invariants:
//! - a config names API keys only by the environment variable that holds them (`api_key_env`);
//!   a key's value is read from the environment when a provider is built and is never stored
//!   here, printed, or written anywhere;
//! - a repo file is untrusted data: the keys in [`trust::TRUST_REQUIRED`] are dropped from it
//!   (and reported in [`Sources::ignored`]) unless the user trusted the file as it is now.

pub mod trust;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One configured provider (`[providers.<name>]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderConfig {
    /// Wire protocol: `anthropic`, `openai`, `ollama` or `local`. Defaults to the table name
    /// when that is a kind.
    pub kind: Option<String>,
    /// Endpoint base URL (`https://api.anthropic.com`, `http://127.0.0.1:8080/v1`, …).
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key.
    pub api_key_env: Option<String>,
    /// Model id.
    pub model: Option<String>,
    /// Requests in flight at once (default 4; the local model 1).
    pub max_concurrency: Option<usize>,
    /// Dollars per million input tokens.
    pub price_input_per_mtok: Option<f64>,
    /// Dollars per million output tokens.
    pub price_output_per_mtok: Option<f64>,
    /// Connect timeout, seconds; a finite number from 0 to [`MAX_SECS`] (0: the default).
    #[serde(deserialize_with = "finite_secs")]
    pub connect_timeout_secs: Option<f64>,
    /// Time to first byte, seconds; a finite number from 0 to [`MAX_SECS`] (0: the default).
    #[serde(deserialize_with = "finite_secs")]
    pub first_byte_timeout_secs: Option<f64>,
    /// Longest silence between stream events, seconds; a finite number from 0 to [`MAX_SECS`] (0: the default).
    #[serde(deserialize_with = "finite_secs")]
    pub idle_timeout_secs: Option<f64>,
    /// Retries after the first attempt (default 2).
    pub max_retries: Option<u32>,
    /// Most response-body bytes one call may read (default 32 MiB; HTTP providers).
    pub max_reply_bytes: Option<u64>,
    /// Longest wall time of one call, seconds (default 1200; HTTP providers); a finite number from 0 to [`MAX_SECS`] (0: the default).
    #[serde(deserialize_with = "finite_secs")]
    pub deadline_secs: Option<f64>,
    /// For `local`: the GGUF file (default: the pulled SmolLM2).
    pub model_path: Option<PathBuf>,
    /// For `local`: inference threads (default: the number of cores).
    pub threads: Option<usize>,
    /// For `local` and `ollama`: context window in tokens (Ollama's `num_ctx`, sent with every
    /// request; default 8192 for both).
    pub n_ctx: Option<u32>,
    /// For `local`: repetition penalty (default 1.1; 1.0 turns it off).
    pub repeat_penalty: Option<f32>,
    /// For `local`: most consecutive copies of one line before the stream stops (default 6;
    /// 0 turns the stop off).
    pub max_repeated_lines: Option<u32>,
    /// Completion token cap when this provider writes code (overrides the top-level `max_tokens`).
    pub max_tokens: Option<u32>,
    /// Context package budget when this provider writes code (overrides the top-level
    /// `context_budget_tokens`).
    pub context_budget_tokens: Option<usize>,
}

/// Backoff settings (`[retry]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Retries per provider after the first attempt.
    pub max_retries: u32,
    /// First backoff delay, milliseconds.
    pub base_delay_ms: u64,
    /// Longest delay (and cap on `retry-after`), milliseconds.
    pub max_delay_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self { max_retries: 2, base_delay_ms: 500, max_delay_ms: 30_000 }
    }
}

/// Validation settings (`[validate]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidateConfig {
    /// Run the validate stage at all.
    pub enabled: bool,
    /// Validators to skip by name (`ruff`, `pyright`, `tsc`, `cargo`, `mypy`, `syntax`).
    pub skip: Vec<String>,
    /// Run mypy too (off by default: pyright covers types).
    pub mypy: bool,
    /// Per-validator timeout, seconds.
    pub timeout_secs: u64,
}

impl Default for ValidateConfig {
    fn default() -> Self {
        Self { enabled: true, skip: Vec::new(), mypy: false, timeout_secs: 300 }
    }
}

/// Repair loop settings (`[repair]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RepairConfig {
    /// Run the repair stage at all.
    pub enabled: bool,
    /// Attempts per file.
    pub max_attempts: u32,
    /// Largest fraction of a file's lines an attempt may change.
    pub max_changed_fraction: f64,
    /// A change of at most this many lines is always allowed, whatever the fraction (the floor
    /// under `max_changed_fraction`: fixing 2 lines of a 3-line file is 67%).
    pub min_changed_lines: usize,
    /// Replies sampled per model repair (and improvement) attempt, up to this many: the one
    /// with the fewest findings is kept, sampling stops at a clean one (`crate::repair`'s
    /// `attempt` module); 1 = one reply.
    pub candidates: u32,
}

impl Default for RepairConfig {
    fn default() -> Self {
        Self { enabled: true, max_attempts: 2, max_changed_fraction: 0.5, min_changed_lines: 6, candidates: 1 }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Provider (configured name or kind) for every role, overriding `[roles]`.
    pub provider: Option<String>,
    /// Model id for that provider (or the codegen chain's first).
    pub model: Option<String>,
    /// Concurrent codegen requests within a wave.
    pub concurrency: usize,
    /// Token budget of a context package (estimated, see `context::approx_tokens`); unset:
    /// sized to the model ([`Config::limits_for`]).
    pub context_budget_tokens: Option<usize>,
    /// Files listed in the repo summary at most.
    pub repo_summary_max_files: usize,
    /// `modify` targets with more lines get SEARCH/REPLACE edits.
    pub edit_threshold_lines: usize,
    /// Completion token cap per request; unset: sized to the model ([`Config::limits_for`]).
    pub max_tokens: Option<u32>,
    /// Sampling temperature; unset: 0.2, or 0 (greedy) for the `local` kind
    /// ([`crate::codegen::quality::default_temperature`]).
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    pub top_p: Option<f32>,
    /// Sampling seed.
    pub seed: Option<u64>,
    /// UI theme name or path.
    pub theme: String,
    /// GGUF model for the local provider.
    pub model_path: Option<PathBuf>,
    /// Providers by name.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Role name (`codegen`, `repair`) → provider chain.
    pub roles: BTreeMap<String, Vec<String>>,
    /// Backoff.
    pub retry: RetryConfig,
    /// Validation.
    pub validate: ValidateConfig,
    /// Repair.
    pub repair: RepairConfig,
    /// `[format]`: formatting generated files.
    pub format: crate::format::FormatConfig,
    /// `[quality]`: the quality score's threshold and improvement attempts.
    pub quality: crate::quality::QualityConfig,
    /// `[test]`: the test step.
    pub test: crate::testing::config::TestConfig,
    /// Candidates and autofix at generation (`[generate]`).
    pub generate: crate::codegen::quality::GenerateConfig,
    /// The sandbox for validators and tests (user config only: a repo's `[sandbox]` is ignored).
    pub sandbox: crate::sandbox::SandboxConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            provider: None,
            model: None,
            concurrency: 4,
            context_budget_tokens: None,
            repo_summary_max_files: 300,
            edit_threshold_lines: 400,
            max_tokens: None,
            temperature: None,
            top_p: None,
            seed: None,
            theme: "dark".into(),
            model_path: None,
            providers: BTreeMap::new(),
            roles: BTreeMap::new(),
            retry: RetryConfig::default(),
            validate: ValidateConfig::default(),
            repair: RepairConfig::default(),
            format: crate::format::FormatConfig::default(),
            quality: crate::quality::QualityConfig::default(),
            test: crate::testing::config::TestConfig::default(),
            generate: crate::codegen::quality::GenerateConfig::default(),
            sandbox: crate::sandbox::SandboxConfig::default(),
        }
    }
}

pub use crate::broker::windows::{LOCAL_CONTEXT_BUDGET_TOKENS, LOCAL_MAX_TOKENS};

/// Request limits for the provider that writes the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Completion token cap per request.
    pub max_tokens: u32,
    /// Context package budget, estimated tokens.
    pub context_budget_tokens: usize,
}

impl Config {
    /// The limits for requests to `provider` (a configured name or a kind), each from the first
    /// that sets it: the provider table's `max_tokens` / `context_budget_tokens`; the top-level
    /// ones (capped at [`LOCAL_MAX_TOKENS`] / [`LOCAL_CONTEXT_BUDGET_TOKENS`] for the `local`
    /// kind); the defaults sized to the provider's model and window
    /// ([`crate::broker::windows::default_limits`]).
    pub fn limits_for(&self, provider: &str) -> Limits {
        let pc = self.providers.get(provider);
        let kind = pc.and_then(|p| p.kind.as_deref()).unwrap_or(provider);
        let configured_model = match &self.provider {
            Some(p) if p != provider => None,
            _ => self.model.as_deref(),
        };
        let model = configured_model
            .or_else(|| pc.and_then(|p| p.model.as_deref()))
            .unwrap_or_else(|| crate::broker::windows::default_model(kind));
        let (sized_tokens, sized_budget) =
            crate::broker::windows::default_limits(kind, model, pc.and_then(|p| p.n_ctx));
        let (mut top_tokens, mut top_budget) = (self.max_tokens, self.context_budget_tokens);
        if kind == "local" {
            top_tokens = top_tokens.map(|t| t.min(LOCAL_MAX_TOKENS));
            top_budget = top_budget.map(|b| b.min(LOCAL_CONTEXT_BUDGET_TOKENS));
        }
        Limits {
            max_tokens: pc.and_then(|p| p.max_tokens).or(top_tokens).unwrap_or(sized_tokens),
            context_budget_tokens: pc.and_then(|p| p.context_budget_tokens).or(top_budget).unwrap_or(sized_budget),
        }
    }
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable file.
    #[error("{path}: {source}")]
    Io {
        /// Which file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Bad TOML or an unknown/mistyped key; the message carries line and column.
    #[error("{path}:{line}:{column}: {message}\n  hint: see the Configuration section of the README for the keys")]
    Parse {
        /// Which file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// An environment variable with a bad value.
    #[error("environment variable {name}={value:?}: {message}")]
    Env {
        /// Variable.
        name: String,
        /// Its value.
        value: String,
        /// What is wrong.
        message: String,
    },
}

/// Where the layers come from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The user's config file, when it exists.
    pub user: Option<PathBuf>,
    /// The repo's `.ai-tools.toml`, when it exists.
    pub repo: Option<PathBuf>,
    /// Keys of the repo file ignored because it is not trusted; the caller shows this once.
    pub ignored: Option<trust::Ignored>,
}

/// The user's config file path: `<config dir>/ai-tools/config.toml`.
pub fn user_config_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("AI_TOOLS_CONFIG") {
        return Some(PathBuf::from(p));
    }
    directories::ProjectDirs::from("", "", "ai-tools").map(|d| d.config_dir().join("config.toml"))
}

/// The longest duration a `*_timeout_secs` or `deadline_secs` key accepts: one week, in seconds.
pub const MAX_SECS: f64 = 604_800.0;

/// Reads an optional duration in seconds, refusing what cannot be one (`inf`, `nan`, negative,
/// over [`MAX_SECS`]) so the error carries the key's file and line.
fn finite_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Option::<f64>::deserialize(d)? {
        Some(s) if !(0.0..=MAX_SECS).contains(&s) => Err(serde::de::Error::custom(format!(
            "{s} is not a duration: use seconds from 0 to {MAX_SECS} (0 means the default)"
        ))),
        v => Ok(v),
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    (before.matches('\n').count() + 1, before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1)
}

fn read_text(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Io { path: path.to_path_buf(), source }),
    }
}

fn read_table(path: &Path) -> Result<Option<toml::Table>, ConfigError> {
    read_text(path)?.map(|text| parse_table(path, &text)).transpose()
}

/// Checks `text`, the contents of the config file `path`, as a config layer (TOML, known keys,
/// right types) and returns its table.
///
/// # Errors
/// [`ConfigError::Parse`] with the file, line and column.
pub fn parse_table(path: &Path, text: &str) -> Result<toml::Table, ConfigError> {
    let parsed: toml::Table = toml::from_str(text).map_err(|e| parse_error(path, text, &e))?;
    // Check the file on its own too, so an unknown key is reported against its own file.
    if let Err(e) = toml::from_str::<Config>(text) {
        return Err(parse_error(path, text, &e));
    }
    Ok(parsed)
}

fn parse_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
    ConfigError::Parse { path: path.to_path_buf(), line, column, message: e.message().to_owned() }
}

/// Loads defaults < `user` < `repo_file` < environment (`AI_TOOLS_PROVIDER`, `AI_TOOLS_MODEL`,
/// `AI_TOOLS_CONCURRENCY`, `AI_TOOLS_MODEL_PATH`, `AI_TOOLS_THEME`), checking the repo file
/// against the user's trust store ([`trust::TrustStore::user`]). Flags are applied by the
/// caller on the result; [`Sources::ignored`] is for the caller to show.
///
/// # Errors
/// [`ConfigError`] naming the file (with line and column) or variable at fault.
pub fn load(user: Option<&Path>, repo_file: Option<&Path>) -> Result<(Config, Sources), ConfigError> {
    load_with_trust(user, repo_file, trust::TrustStore::user().ok().as_ref())
}

/// [`load`] with an explicit trust store; with none, the repo file is untrusted.
///
/// # Errors
/// As [`load`].
pub fn load_with_trust(
    user: Option<&Path>,
    repo_file: Option<&Path>,
    store: Option<&trust::TrustStore>,
) -> Result<(Config, Sources), ConfigError> {
    let mut table = toml::Table::try_from(Config::default()).unwrap_or_default();
    let mut sources = Sources::default();
    if let Some(p) = user
        && let Some(t) = read_table(p)?
    {
        merge(&mut table, t);
        sources.user = Some(p.to_path_buf());
    }
    if let Some(p) = repo_file
        && let Some(text) = read_text(p)?
    {
        let mut t = parse_table(p, &text)?;
        if !store.is_some_and(|s| s.is_trusted(p, text.as_bytes())) {
            let keys = trust::strip_guarded(&mut t);
            if !keys.is_empty() {
                sources.ignored = Some(trust::Ignored { file: p.to_path_buf(), keys });
            }
        }
        // A cloned repo cannot weaken its own sandbox, trusted or not.
        if crate::sandbox::strip_repo_layer(&mut t) {
            tracing::warn!("{}: [sandbox] is read from the user's config only; ignored here", p.display());
        }
        merge(&mut table, t);
        sources.repo = Some(p.to_path_buf());
    }
    let mut cfg: Config = toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| ConfigError::Parse {
        path: repo_file.or(user).map(Path::to_path_buf).unwrap_or_default(),
        line: 1,
        column: 1,
        message: e.message().to_owned(),
    })?;
    apply_env(&mut cfg, |k| std::env::var(k).ok())?;
    Ok((cfg, sources))
}

/// Applies the `AI_TOOLS_*` variables that `get` returns.
///
/// # Errors
/// [`ConfigError::Env`] for a value that does not parse.
pub fn apply_env(cfg: &mut Config, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    if let Some(v) = get("AI_TOOLS_PROVIDER").filter(|v| !v.is_empty()) {
        cfg.provider = Some(v);
    }
    if let Some(v) = get("AI_TOOLS_MODEL").filter(|v| !v.is_empty()) {
        cfg.model = Some(v);
    }
    if let Some(v) = get("AI_TOOLS_MODEL_PATH").filter(|v| !v.is_empty()) {
        cfg.model_path = Some(PathBuf::from(v));
    }
    if let Some(v) = get("AI_TOOLS_THEME").filter(|v| !v.is_empty()) {
        cfg.theme = v;
    }
    if let Some(v) = get("AI_TOOLS_CONCURRENCY").filter(|v| !v.is_empty()) {
        cfg.concurrency = v.parse().ok().filter(|n: &usize| *n > 0).ok_or_else(|| ConfigError::Env {
            name: "AI_TOOLS_CONCURRENCY".into(),
            value: v.clone(),
            message: "expected a positive integer".into(),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_win_key_by_key() {
        let t = tempfile::tempdir().unwrap();
        let user = t.path().join("user.toml");
        let repo = t.path().join("repo.toml");
        std::fs::write(
            &user,
            "concurrency = 2\n[providers.fast]\nkind = \"openai\"\nmodel = \"a\"\nbase_url = \"http://x\"\n[roles]\ncodegen = [\"fast\"]\n",
        )
        .unwrap();
        std::fs::write(&repo, "temperature = 0.5\n[providers.fast]\nmodel = \"b\"\n").unwrap();
        let (c, s) = load(Some(&user), Some(&repo)).unwrap();
        assert_eq!(c.concurrency, 2);
        assert_eq!(c.temperature, Some(0.5));
        let p = &c.providers["fast"];
        assert_eq!((p.model.as_deref(), p.base_url.as_deref()), (Some("b"), Some("http://x")));
        assert_eq!(c.roles["codegen"], vec!["fast"]);
        assert!(s.user.is_some() && s.repo.is_some());
    }

    #[test]
    fn a_duration_that_is_not_one_names_its_file_and_line() {
        for bad in ["inf", "nan", "-1.0", "1e30", "-inf"] {
            let text = format!("[providers.local]\nkind = \"local\"\nidle_timeout_secs = {bad}\n");
            let e = parse_table(Path::new("/r/.ai-tools.toml"), &text).unwrap_err().to_string();
            assert!(e.starts_with("/r/.ai-tools.toml:3:") && e.contains("is not a duration"), "{bad}: {e}");
        }
        let ok = "[providers.x]\ndeadline_secs = 0\nconnect_timeout_secs = 2.5\n";
        assert!(parse_table(Path::new("c.toml"), ok).is_ok());
    }

    #[test]
    fn unknown_keys_name_file_line_and_column() {
        let t = tempfile::tempdir().unwrap();
        let repo = t.path().join(".ai-tools.toml");
        std::fs::write(&repo, "concurrency = 2\n\n[providers.x]\nmodle = \"typo\"\n").unwrap();
        let e = load(None, Some(&repo)).unwrap_err().to_string();
        assert!(e.contains(".ai-tools.toml:4:1"), "{e}");
        assert!(e.contains("modle"), "{e}");
    }

    #[test]
    fn limits_are_sized_to_the_model_unless_configured() {
        let mut c = Config::default();
        // Claude Sonnet 4.5 (the anthropic default) has a 200k window.
        assert_eq!(c.limits_for("anthropic"), Limits { max_tokens: 16_384, context_budget_tokens: 100_000 });
        c.model = Some("gpt-4o".into());
        c.provider = Some("openai".into());
        assert_eq!(c.limits_for("openai").context_budget_tokens, 83_712);
        c.providers.insert(
            "ol".into(),
            ProviderConfig { kind: Some("ollama".into()), n_ctx: Some(32_768), ..ProviderConfig::default() },
        );
        assert_eq!(c.limits_for("ol"), Limits { max_tokens: 4096, context_budget_tokens: 21_504 });
        c.context_budget_tokens = Some(9_000);
        c.max_tokens = Some(1_000);
        assert_eq!(c.limits_for("openai"), Limits { max_tokens: 1_000, context_budget_tokens: 9_000 });
    }

    #[test]
    fn local_providers_get_smaller_limits_unless_their_table_sets_them() {
        let mut c = Config::default();
        assert_eq!(
            c.limits_for("local"),
            Limits { max_tokens: LOCAL_MAX_TOKENS, context_budget_tokens: LOCAL_CONTEXT_BUDGET_TOKENS }
        );
        c.max_tokens = Some(256);
        assert_eq!(c.limits_for("local").max_tokens, 256);
        c.providers.insert(
            "big-gguf".into(),
            ProviderConfig { kind: Some("local".into()), max_tokens: Some(8000), ..ProviderConfig::default() },
        );
        assert_eq!(
            c.limits_for("big-gguf"),
            Limits { max_tokens: 8000, context_budget_tokens: LOCAL_CONTEXT_BUDGET_TOKENS }
        );
    }

    #[test]
    fn an_untrusted_repo_file_cannot_redirect_a_provider_or_pick_its_key() {
        let t = tempfile::tempdir().unwrap();
        let user = t.path().join("user.toml");
        let repo = t.path().join(".ai-tools.toml");
        std::fs::write(&user, "[providers.openai]\nbase_url = \"https://api.openai.com/v1\"\n").unwrap();
        std::fs::write(
            &repo,
            "[providers.openai]\nbase_url = \"http://127.0.0.1:9/v1\"\napi_key_env = \"GITHUB_TOKEN\"\nmodel = \"gpt-4o\"\n",
        )
        .unwrap();
        let store = trust::TrustStore::at(t.path().join("state/trusted.json"));
        let (c, s) = load_with_trust(Some(&user), Some(&repo), Some(&store)).unwrap();
        let p = &c.providers["openai"];
        assert_eq!(p.base_url.as_deref(), Some("https://api.openai.com/v1"));
        assert_eq!(p.api_key_env, None);
        assert_eq!(p.model.as_deref(), Some("gpt-4o"), "harmless keys still apply");
        let ignored = s.ignored.unwrap();
        assert_eq!(ignored.keys, ["providers.openai.api_key_env", "providers.openai.base_url"]);
        assert!(ignored.to_string().contains(".ai-tools.toml"), "{ignored}");

        store.trust(&repo, &std::fs::read(&repo).unwrap()).unwrap();
        let (c, s) = load_with_trust(Some(&user), Some(&repo), Some(&store)).unwrap();
        assert_eq!(c.providers["openai"].base_url.as_deref(), Some("http://127.0.0.1:9/v1"));
        assert!(s.ignored.is_none());
    }

    #[test]
    fn a_repo_cannot_weaken_the_sandbox() {
        let t = tempfile::tempdir().unwrap();
        let (user, repo) = (t.path().join("user.toml"), t.path().join(".ai-tools.toml"));
        std::fs::write(&user, "[sandbox]\nmemory_mb = 1024\n").unwrap();
        std::fs::write(&repo, "[sandbox]\nenabled = false\nallow_unsandboxed = true\n").unwrap();
        let (c, _) = load(Some(&user), Some(&repo)).unwrap();
        assert!(c.sandbox.enabled && !c.sandbox.allow_unsandboxed);
        assert_eq!(c.sandbox.memory_mb, 1024);
    }

    #[test]
    fn env_overrides_files() {
        let mut c = Config::default();
        apply_env(&mut c, |k| (k == "AI_TOOLS_CONCURRENCY").then(|| "7".to_owned())).unwrap();
        assert_eq!(c.concurrency, 7);
        let bad = apply_env(&mut c, |k| (k == "AI_TOOLS_CONCURRENCY").then(|| "many".to_owned()));
        assert!(bad.is_err());
    }
}
