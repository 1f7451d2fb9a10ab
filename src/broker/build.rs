//! Building the broker from configuration and the environment.
//!
//! Resolution (later wins): `[providers]` and `[roles]` from the config layers; `provider`
//! (config, `AI_TOOLS_PROVIDER` or `--provider`) replaces every role's chain with that one
//! provider, configured or made from its kind's defaults; `model` (or `--model`) sets the model
//! of that provider, else of the codegen chain's first. With no roles configured, the chain is
//! the first of Anthropic (`ANTHROPIC_API_KEY`), OpenAI (`OPENAI_API_KEY` or
//! `OPENAI_BASE_URL`), Ollama (`OLLAMA_HOST`) found in the environment, else the embedded local
//! model.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::broker::base::{DEFAULT_DEADLINE, DEFAULT_MAX_REPLY_BYTES, StreamLimits};
use crate::broker::http::Timeouts;
use crate::broker::{Broker, Price, Provider, ProviderEntry, Redactor, RetryPolicy, Role};
use crate::config::{Config, ProviderConfig};

/// Provider kinds ai-tools speaks.
pub const KINDS: [&str; 4] = ["anthropic", "openai", "ollama", "local"];

/// Why the broker could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A role or `--provider` names something that is neither configured nor a kind.
    #[error(
        "unknown provider `{0}`: configure it under [providers.{0}] or use one of anthropic, openai, ollama, local"
    )]
    Unknown(String),
    /// A configured provider has a bad kind.
    #[error("provider `{name}` has kind `{kind}`; expected anthropic, openai, ollama or local")]
    BadKind {
        /// Provider name.
        name: String,
        /// The kind given.
        kind: String,
    },
    /// A provider needs a key that is not set.
    #[error("provider `{name}` needs an API key in ${env}, which is not set")]
    MissingKey {
        /// Provider name.
        name: String,
        /// The variable.
        env: String,
    },
    /// The provider cannot start (no model file, no HTTP client, …).
    #[error("{0}")]
    Provider(String),
}

/// Reads an environment variable; injectable for tests.
pub type EnvFn<'a> = &'a dyn Fn(&str) -> Option<String>;

fn kind_of(name: &str, pc: &ProviderConfig) -> Result<String, BuildError> {
    let kind = pc.kind.clone().unwrap_or_else(|| name.to_owned());
    if KINDS.contains(&kind.as_str()) { Ok(kind) } else { Err(BuildError::BadKind { name: name.to_owned(), kind }) }
}

/// The provider name the environment suggests when nothing is configured.
pub fn detect(env: EnvFn<'_>) -> &'static str {
    let set = |k: &str| env(k).is_some_and(|v| !v.is_empty());
    if set("ANTHROPIC_API_KEY") {
        "anthropic"
    } else if set("OPENAI_API_KEY") || set("OPENAI_BASE_URL") {
        "openai"
    } else if set("OLLAMA_HOST") {
        "ollama"
    } else {
        "local"
    }
}

/// The role chains after applying `provider` overrides and detection.
pub fn resolve_roles(cfg: &Config, env: EnvFn<'_>) -> BTreeMap<Role, Vec<String>> {
    let mut roles = BTreeMap::new();
    if let Some(p) = &cfg.provider {
        roles.insert(Role::Codegen, vec![p.clone()]);
        roles.insert(Role::Repair, vec![p.clone()]);
        return roles;
    }
    for (k, chain) in &cfg.roles {
        let role = match k.as_str() {
            "codegen" => Role::Codegen,
            "repair" => Role::Repair,
            _ => continue,
        };
        roles.insert(role, chain.clone());
    }
    let fallback = roles.get(&Role::Codegen).cloned().unwrap_or_else(|| vec![detect(env).to_owned()]);
    roles.entry(Role::Codegen).or_insert_with(|| fallback.clone());
    roles.entry(Role::Repair).or_insert(fallback);
    roles
}

/// Builds the broker for `cfg`, reading keys and endpoints through `env`.
///
/// # Errors
/// [`BuildError`] for unknown providers, missing keys and providers that cannot start.
pub fn build(cfg: &Config, env: EnvFn<'_>) -> Result<Broker, BuildError> {
    let roles = resolve_roles(cfg, env);
    let mut names: Vec<String> = roles.values().flatten().cloned().collect();
    names.sort();
    names.dedup();
    let mut redactor = Redactor::default();
    let mut entries = Vec::new();
    for name in &names {
        let (entry, key) = build_entry(name, cfg, env, &roles)?;
        if let Some(k) = key {
            redactor.add(&k);
        }
        for url in [
            cfg.providers.get(name).and_then(|p| p.base_url.clone()),
            env("OPENAI_BASE_URL"),
            env("ANTHROPIC_BASE_URL"),
            env("OLLAMA_HOST"),
        ]
        .into_iter()
        .flatten()
        {
            redactor.add_url_secrets(&url);
        }
        entries.push(entry);
    }
    Ok(Broker::new(entries, roles, redactor))
}

/// One provider as `ai-tools providers` shows it.
pub struct ProviderStatus {
    /// Configured name.
    pub name: String,
    /// Roles whose chain uses it.
    pub roles: Vec<Role>,
    /// The built provider, or why it cannot be built.
    pub provider: Result<Arc<dyn Provider>, BuildError>,
}

/// Every provider the roles use or the config names, each built on its own so one broken
/// provider does not hide the others.
pub fn inspect(cfg: &Config, env: EnvFn<'_>) -> Vec<ProviderStatus> {
    let roles = resolve_roles(cfg, env);
    let mut names: Vec<String> = roles.values().flatten().cloned().collect();
    names.extend(cfg.providers.keys().cloned());
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let used = roles.iter().filter(|(_, c)| c.contains(&name)).map(|(r, _)| *r).collect();
            let provider = build_entry(&name, cfg, env, &roles).map(|(e, _)| e.provider);
            ProviderStatus { name, roles: used, provider }
        })
        .collect()
}

/// Builds one provider entry; returns it and the API key it read (for redaction).
fn build_entry(
    name: &str,
    cfg: &Config,
    env: EnvFn<'_>,
    roles: &BTreeMap<Role, Vec<String>>,
) -> Result<(ProviderEntry, Option<String>), BuildError> {
    let model_target = cfg.provider.clone().or_else(|| roles.get(&Role::Codegen).and_then(|c| c.first().cloned()));
    let name = name.to_owned();
    let pc = match cfg.providers.get(&name) {
        Some(pc) => pc.clone(),
        None if KINDS.contains(&name.as_str()) => ProviderConfig::default(),
        None => return Err(BuildError::Unknown(name)),
    };
    let kind = kind_of(&name, &pc)?;
    let model = match (&cfg.model, &model_target) {
        (Some(m), Some(t)) if *t == name => m.clone(),
        _ => pc.model.clone().unwrap_or_else(|| crate::broker::windows::default_model(&kind).to_owned()),
    };
    let timeouts = Timeouts {
        connect: secs(pc.connect_timeout_secs, 10.0),
        first_byte: secs(pc.first_byte_timeout_secs, 120.0),
        idle: secs(pc.idle_timeout_secs, 60.0),
    };
    let key_env = pc.api_key_env.clone().or_else(|| match kind.as_str() {
        "anthropic" => Some("ANTHROPIC_API_KEY".into()),
        "openai" => Some("OPENAI_API_KEY".into()),
        _ => None,
    });
    let key = key_env.as_deref().and_then(env).filter(|k| !k.is_empty());
    let limits = StreamLimits {
        max_reply_bytes: pc.max_reply_bytes.filter(|b| *b > 0).unwrap_or(DEFAULT_MAX_REPLY_BYTES),
        deadline: secs(pc.deadline_secs, DEFAULT_DEADLINE.as_secs_f64()),
    };
    let provider: Arc<dyn Provider> = match kind.as_str() {
        "anthropic" => {
            let Some(k) = key.clone() else {
                return Err(BuildError::MissingKey {
                    name,
                    env: key_env.unwrap_or_else(|| "ANTHROPIC_API_KEY".into()),
                });
            };
            let base = pc
                .base_url
                .clone()
                .or_else(|| env("ANTHROPIC_BASE_URL"))
                .unwrap_or_else(|| "https://api.anthropic.com".into());
            Arc::new(
                crate::broker::anthropic::AnthropicProvider::new(&name, &base, k, key_env, &model, timeouts)
                    .map_err(|e| BuildError::Provider(e.to_string()))?
                    .with_limits(limits),
            )
        }
        "openai" => {
            let base = pc
                .base_url
                .clone()
                .or_else(|| env("OPENAI_BASE_URL"))
                .unwrap_or_else(|| "https://api.openai.com/v1".into());
            Arc::new(
                crate::broker::openai::OpenAiProvider::new(&name, &base, key.clone(), key_env, &model, timeouts)
                    .map_err(|e| BuildError::Provider(e.to_string()))?
                    .with_limits(limits),
            )
        }
        "ollama" => {
            let host =
                pc.base_url.clone().or_else(|| env("OLLAMA_HOST")).unwrap_or_else(|| "http://127.0.0.1:11434".into());
            Arc::new(
                crate::broker::ollama::OllamaProvider::new(&name, &host, &model, timeouts)
                    .map_err(|e| BuildError::Provider(e.to_string()))?
                    .with_limits(limits)
                    .with_num_ctx(pc.n_ctx.filter(|n| *n > 0).unwrap_or(crate::broker::ollama::DEFAULT_NUM_CTX)),
            )
        }
        _ => local_provider(&name, cfg, &pc)?,
    };
    let default_conc = if kind == "local" { 1 } else { 4 };
    let entry = ProviderEntry {
        provider,
        retry: RetryPolicy {
            max_retries: pc.max_retries.unwrap_or(cfg.retry.max_retries),
            base_delay: Duration::from_millis(cfg.retry.base_delay_ms),
            max_delay: Duration::from_millis(cfg.retry.max_delay_ms),
        },
        price: Price {
            input_per_mtok: pc.price_input_per_mtok.unwrap_or(0.0),
            output_per_mtok: pc.price_output_per_mtok.unwrap_or(0.0),
        },
        max_concurrency: pc.max_concurrency.unwrap_or(default_conc),
    };
    Ok((entry, key))
}

/// `v` seconds (`default` when unset or 0), never panicking: a value that is not a finite
/// positive number of at most [`crate::config::MAX_SECS`] (config loading refuses those
/// already) falls back to `default`.
fn secs(v: Option<f64>, default: f64) -> Duration {
    let pick = v.filter(|s| s.is_finite() && *s > 0.0 && *s <= crate::config::MAX_SECS).unwrap_or(default);
    Duration::try_from_secs_f64(pick).unwrap_or(Duration::from_secs(60))
}

#[cfg(feature = "local")]
fn local_provider(name: &str, cfg: &Config, pc: &ProviderConfig) -> Result<Arc<dyn Provider>, BuildError> {
    let settings = crate::broker::local::LocalSettings::from_config(cfg, pc);
    crate::broker::local::LocalProvider::new(name, settings)
        .map(|p| Arc::new(p) as Arc<dyn Provider>)
        .map_err(|e| BuildError::Provider(e.to_string()))
}

#[cfg(not(feature = "local"))]
fn local_provider(name: &str, _cfg: &Config, _pc: &ProviderConfig) -> Result<Arc<dyn Provider>, BuildError> {
    Err(BuildError::Provider(format!(
        "provider `{name}`: this build of ai-tools has no embedded model (built without the `local` feature); configure a remote provider"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn detection_order() {
        assert_eq!(detect(&env_of(&[])), "local");
        assert_eq!(detect(&env_of(&[("OLLAMA_HOST", "http://h")])), "ollama");
        assert_eq!(detect(&env_of(&[("OLLAMA_HOST", "h"), ("OPENAI_BASE_URL", "u")])), "openai");
        assert_eq!(detect(&env_of(&[("OPENAI_API_KEY", "k"), ("ANTHROPIC_API_KEY", "k")])), "anthropic");
    }

    #[test]
    fn provider_flag_replaces_chains() {
        let mut c = Config::default();
        c.roles.insert("codegen".into(), vec!["a".into(), "b".into()]);
        c.provider = Some("openai".into());
        let r = resolve_roles(&c, &env_of(&[]));
        assert_eq!(r[&Role::Codegen], vec!["openai"]);
        assert_eq!(r[&Role::Repair], vec!["openai"]);
    }

    #[test]
    fn configured_chain_and_missing_key() {
        let mut c = Config::default();
        c.roles.insert("codegen".into(), vec!["anthropic".into(), "openai".into()]);
        let err = build(&c, &env_of(&[("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")])).err().unwrap();
        assert!(err.to_string().contains("ANTHROPIC_API_KEY"), "{err}");
        let b = build(
            &c,
            &env_of(&[("ANTHROPIC_API_KEY", "sk-test-123456"), ("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")]),
        )
        .unwrap();
        assert_eq!(b.chain(Role::Codegen), vec!["anthropic", "openai"]);
        assert_eq!(b.chain(Role::Repair), vec!["anthropic", "openai"]);
        assert!(!b.redactor().apply("key sk-test-123456 here").contains("sk-test"));
    }

    #[test]
    fn unknown_provider_is_an_error() {
        let c = Config { provider: Some("nope".into()), ..Config::default() };
        assert!(matches!(build(&c, &env_of(&[])), Err(BuildError::Unknown(_))));
    }
}
