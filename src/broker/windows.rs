//! Context windows and output caps of the models ai-tools knows, and the request limits
//! (`max_tokens`, context budget) derived from them when the configuration sets none.
//!
//! Sources: Anthropic's "Models overview" and OpenAI's model pages (context window and max
//! output tokens of each current model); Ollama's window is the `num_ctx` ai-tools sends
//! ([`crate::broker::ollama::DEFAULT_NUM_CTX`] unless `n_ctx` is configured), the local
//! model's the `n_ctx` it runs with. The README's "Context and reply size" table is this table.
//!
//! Invariant: a derived budget plus `max_tokens` stays within the window, with a quarter of the
//! remainder left as headroom for the estimate (`context::approx_tokens` counts ⌈chars / 4⌉) and
//! the prompt templates.

/// A model's context window and longest reply, in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelWindow {
    /// Prompt plus reply, tokens.
    pub context: u32,
    /// Longest reply the API allows, tokens.
    pub max_output: u32,
}

/// Known model families: (model id prefix, context window, max output tokens), most specific
/// first. A model id is matched after any `vendor/` prefix (OpenRouter's `anthropic/claude-…`).
pub const KNOWN_MODELS: &[(&str, u32, u32)] = &[
    ("claude-opus-4-5", 200_000, 64_000),
    ("claude-opus-4", 200_000, 32_000),
    ("claude-sonnet-4", 200_000, 64_000),
    ("claude-haiku-4", 200_000, 64_000),
    ("claude-3-7-sonnet", 200_000, 64_000),
    ("claude-3-5", 200_000, 8_192),
    ("claude-3-haiku", 200_000, 4_096),
    ("claude", 200_000, 8_192),
    ("gpt-5", 400_000, 128_000),
    ("gpt-4.1", 1_047_576, 32_768),
    ("gpt-4o", 128_000, 16_384),
    ("gpt-4-turbo", 128_000, 4_096),
    ("gpt-3.5-turbo", 16_385, 4_096),
    ("o1", 200_000, 100_000),
    ("o3", 200_000, 100_000),
    ("o4-mini", 200_000, 100_000),
];

/// `max_tokens` for a known model: its max output, capped here (a longer cap only raises the
/// rate-limit reservation some APIs make per request; whole files longer than this are edited
/// with SEARCH/REPLACE).
pub const MAX_TOKENS_CAP: u32 = 16_384;

/// Largest derived context budget: each call sends its whole package, so a bigger window is not
/// filled just because it exists.
pub const BUDGET_CAP: usize = 100_000;

/// `max_tokens` and context budget for a model whose window is unknown (a remote model not in
/// [`KNOWN_MODELS`]).
pub const UNKNOWN_LIMITS: (u32, usize) = (4096, 16_000);

/// `max_tokens` for the `local` kind (a 135M-parameter CPU model tends to ramble).
pub const LOCAL_MAX_TOKENS: u32 = 1024;

/// Context budget for the `local` kind: fits its window with room for the reply and keeps
/// prompt evaluation on a CPU to seconds.
pub const LOCAL_CONTEXT_BUDGET_TOKENS: usize = 3072;

/// The model a kind uses when none is configured.
pub fn default_model(kind: &str) -> &'static str {
    match kind {
        "anthropic" => "claude-sonnet-4-5",
        "openai" => "gpt-4o-mini",
        "ollama" => "qwen2.5-coder:1.5b",
        _ => "SmolLM2-135M-Instruct",
    }
}

/// The window of a known remote model.
pub fn known(model: &str) -> Option<ModelWindow> {
    let id = model.rsplit('/').next().unwrap_or(model).to_ascii_lowercase();
    KNOWN_MODELS
        .iter()
        .find(|(prefix, _, _)| id.starts_with(prefix))
        .map(|&(_, context, max_output)| ModelWindow { context, max_output })
}

/// The window of `model` served by `kind`: Ollama's and the local model's is `n_ctx` (the
/// configured one, else 8192); remote models' comes from [`KNOWN_MODELS`].
pub fn window(kind: &str, model: &str, n_ctx: Option<u32>) -> Option<ModelWindow> {
    let n_ctx = n_ctx.filter(|n| *n > 0).unwrap_or(8192);
    match kind {
        "ollama" | "local" => Some(ModelWindow { context: n_ctx, max_output: n_ctx / 4 }),
        _ => known(model),
    }
}

/// Default (`max_tokens`, context budget tokens) for `model` served by `kind` (see the module
/// invariant).
pub fn default_limits(kind: &str, model: &str, n_ctx: Option<u32>) -> (u32, usize) {
    let Some(w) = window(kind, model, n_ctx) else { return UNKNOWN_LIMITS };
    let kind_cap = match kind {
        "local" => LOCAL_MAX_TOKENS,
        "ollama" => UNKNOWN_LIMITS.0,
        _ => MAX_TOKENS_CAP,
    };
    let max_tokens = w.max_output.min(kind_cap).min(w.context / 4).max(1);
    let budget = ((w.context - max_tokens) as usize * 3 / 4).min(BUDGET_CAP);
    let budget = if kind == "local" { budget.min(LOCAL_CONTEXT_BUDGET_TOKENS) } else { budget };
    (max_tokens, budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_fit_the_window() {
        for &(prefix, context, _) in KNOWN_MODELS {
            let (m, b) = default_limits("anthropic", prefix, None);
            assert!(m as usize + b <= context as usize, "{prefix}: {m} + {b} > {context}");
        }
        assert_eq!(default_limits("anthropic", "claude-sonnet-4-5", None), (16_384, 100_000));
        assert_eq!(default_limits("openai", "anthropic/claude-sonnet-4.5", None), (16_384, 100_000));
        assert_eq!(default_limits("openai", "gpt-4o-mini", None), (16_384, 83_712));
        assert_eq!(default_limits("openai", "my-vllm-model", None), UNKNOWN_LIMITS);
        assert_eq!(default_limits("ollama", "qwen2.5-coder:1.5b", None), (2048, 4608));
        assert_eq!(default_limits("ollama", "qwen2.5-coder:1.5b", Some(32_768)), (4096, 21_504));
        assert_eq!(default_limits("local", "x", None), (LOCAL_MAX_TOKENS, LOCAL_CONTEXT_BUDGET_TOKENS));
    }
}
