//! The `local` provider: in-process inference on a GGUF model through llama.cpp, with no key and
//! no network.
//!
//! Invariants:
//! - [`LocalProvider::new`] checks the model file (exists, GGUF magic, whole header, recorded
//!   size) so a bad path fails when the broker is built, with a hint to `ai-tools model pull`;
//! - the model is loaded once, on the first request, and shared by later ones;
//! - inference runs on tokio's blocking pool, never on an async worker; text reaches the sink
//!   as [`StreamDelta::Text`] from the async side, in order;
//! - dropping the future returned by [`Provider::stream`] (the broker does that on cancel)
//!   closes the delta channel, and the generation stops before its next token;
//! - requests are serialized by the broker's per-provider semaphore (local defaults to 1);
//!   parallel requests, when configured, get separate llama.cpp contexts;
//! - replies are constrained by a llama.cpp grammar ([`crate::broker::grammar`]) chosen by the
//!   request: tools offered → exactly one tool call as JSON, returned in
//!   [`ChatResponse::tool_calls`] like a remote provider's (tool choice `auto` is treated as
//!   `any`: a small model cannot reliably decide between prose and a call); else
//!   [`ChatRequest::reply_shape`] → one fenced block or SEARCH/REPLACE blocks; else free text.
//!   Generation stops on the token that completes the shape;
//! - a line repeated more than `max_repeated_lines` times in a row stops the stream (stop
//!   reason `repetition`).

pub mod engine;
pub mod guard;
pub mod template;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::broker::grammar::{self, GrammarError};
use crate::broker::{
    Capabilities, ChatRequest, ChatResponse, DeltaSink, ErrorKind, Provider, ProviderError, ReplyShape, StreamDelta,
    ToolCall, Usage,
};
use crate::config::{Config, ProviderConfig};
use crate::models::{self, ModelError, PULL_HINT};
use engine::{Constraint, GenParams, LocalModel, Stop};
use guard::{DEFAULT_MAX_REPEATED_LINES, End};

/// Context window used when `n_ctx` is not configured (capped by the model's training window).
pub const DEFAULT_N_CTX: u32 = 8192;

/// Why the local provider cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The model file is missing or not a usable GGUF.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// llama.cpp's backend did not start.
    #[error("llama.cpp backend: {0}")]
    Backend(String),
    /// llama.cpp rejected the file.
    #[error(
        "llama.cpp cannot load {} ({message}): the file may be truncated or not a model llama.cpp supports\n  hint: {PULL_HINT}",
        .path.display()
    )]
    Load {
        /// The file.
        path: PathBuf,
        /// llama-cpp-2's message.
        message: String,
    },
    /// No way of building a chat prompt worked.
    #[error("cannot build the chat prompt: {0}")]
    Template(String),
    /// The prompt does not fit the context window.
    #[error(
        "the prompt is {tokens} tokens but the local model's context window is {n_ctx} tokens\n  hint: lower \
         context_budget_tokens (globally or under [providers.local]), or raise [providers.local] n_ctx if the model allows"
    )]
    PromptTooLong {
        /// Prompt tokens.
        tokens: u32,
        /// The window.
        n_ctx: u32,
    },
    /// llama.cpp could not create a context (usually memory).
    #[error("llama.cpp context: {0}")]
    Context(String),
    /// llama.cpp failed while evaluating.
    #[error("llama.cpp decode: {0}")]
    Decode(String),
    /// The reply's grammar could not be built, or llama.cpp rejected it.
    #[error("reply grammar: {0}")]
    Grammar(String),
}

impl From<GrammarError> for LocalError {
    fn from(e: GrammarError) -> Self {
        LocalError::Grammar(e.to_string())
    }
}

/// How the local provider runs, from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalSettings {
    /// The GGUF file; `None` means the default model in the cache ([`models::default_model_path`]).
    pub model_path: Option<PathBuf>,
    /// CPU threads (default: the number of cores).
    pub threads: usize,
    /// Largest context window in tokens (default [`DEFAULT_N_CTX`], capped by the model).
    pub n_ctx: u32,
    /// Repetition penalty (default [`DEFAULT_REPEAT_PENALTY`]; 1.0 turns it off). Small models
    /// otherwise tend to loop on a line until the token cap.
    pub repeat_penalty: f32,
    /// Most consecutive copies of one (non-blank) line before the stream stops (default
    /// [`DEFAULT_MAX_REPEATED_LINES`]; 0 turns the stop off).
    pub max_repeated_lines: u32,
}

/// The default repetition penalty for the local model (llama.cpp's long-standing default).
pub const DEFAULT_REPEAT_PENALTY: f32 = 1.1;

/// The number of cores, as the default thread count.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map(std::num::NonZeroUsize::get).unwrap_or(4)
}

impl LocalSettings {
    /// Settings for one `local` provider: `model_path` from `--model-path` /
    /// `AI_TOOLS_MODEL_PATH` / the top-level `model_path` first, then the provider table's;
    /// `threads` and `n_ctx` from the provider table.
    pub fn from_config(cfg: &Config, pc: &ProviderConfig) -> Self {
        Self {
            model_path: cfg.model_path.clone().or_else(|| pc.model_path.clone()),
            threads: pc.threads.filter(|t| *t > 0).unwrap_or_else(default_threads),
            n_ctx: pc.n_ctx.filter(|n| *n > 0).unwrap_or(DEFAULT_N_CTX),
            repeat_penalty: pc.repeat_penalty.filter(|r| r.is_finite() && *r > 0.0).unwrap_or(DEFAULT_REPEAT_PENALTY),
            max_repeated_lines: pc.max_repeated_lines.unwrap_or(DEFAULT_MAX_REPEATED_LINES),
        }
    }
}

/// The embedded llama.cpp provider (see the module invariants).
pub struct LocalProvider {
    name: String,
    label: String,
    path: PathBuf,
    settings: LocalSettings,
    model: Arc<Mutex<Option<Arc<LocalModel>>>>,
    in_flight: Arc<AtomicUsize>,
}

impl std::fmt::Debug for LocalProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalProvider").field("name", &self.name).field("path", &self.path).finish()
    }
}

struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(n: &Arc<AtomicUsize>) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        Self(n.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl LocalProvider {
    /// A provider named `name` over `settings`' model; checks the file but does not load it.
    ///
    /// # Errors
    /// [`LocalError::Model`]: [`ModelError::NotPulled`] when the default model is not in the
    /// cache, else the file check's error.
    pub fn new(name: &str, settings: LocalSettings) -> Result<Self, LocalError> {
        let path = match &settings.model_path {
            Some(p) => p.clone(),
            None => models::default_model_path()?,
        };
        match models::check_gguf(&path) {
            Err(ModelError::Missing { path }) if settings.model_path.is_none() => {
                return Err(ModelError::NotPulled { path }.into());
            }
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        let label = path.file_stem().map_or_else(|| "local".to_owned(), |s| s.to_string_lossy().into_owned());
        Ok(Self {
            name: name.to_owned(),
            label,
            path,
            settings,
            model: Arc::new(Mutex::new(None)),
            in_flight: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The GGUF file it runs.
    pub fn model_path(&self) -> &Path {
        &self.path
    }

    /// Its settings.
    pub fn settings(&self) -> &LocalSettings {
        &self.settings
    }

    /// Generations currently running on the blocking pool (cancelled ones until they notice).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The loaded model, loading it on first use. Blocks: call it from a blocking context.
    ///
    /// # Errors
    /// [`LocalModel::load`]'s errors.
    pub fn load_blocking(&self) -> Result<Arc<LocalModel>, LocalError> {
        load_into(&self.model, &self.path)
    }

    fn error(&self, e: &LocalError) -> ProviderError {
        let kind = match e {
            LocalError::Decode(_) | LocalError::Context(_) => ErrorKind::Decode,
            _ => ErrorKind::Config,
        };
        ProviderError::new(&self.name, kind, e.to_string())
    }
}

fn load_into(slot: &Mutex<Option<Arc<LocalModel>>>, path: &Path) -> Result<Arc<LocalModel>, LocalError> {
    let mut guard = slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(m) = guard.as_ref() {
        return Ok(m.clone());
    }
    let m = Arc::new(LocalModel::load(path)?);
    tracing::debug!("local: loaded {} in {:?}", path.display(), m.load_time());
    *guard = Some(m.clone());
    Ok(m)
}

#[async_trait]
impl Provider for LocalProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "local"
    }

    fn model(&self) -> &str {
        &self.label
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { tools: true, tool_choice: true }
    }

    async fn stream(&self, req: &ChatRequest, sink: &DeltaSink<'_>) -> Result<ChatResponse, ProviderError> {
        let constraint = constraint(req).map_err(|e| self.error(&e))?;
        let tool_reply = constraint.as_ref().is_some_and(|c| c.end == End::JsonValue);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let (slot, path, req2) = (self.model.clone(), self.path.clone(), req.clone());
        let params = GenParams {
            max_tokens: req.max_tokens,
            temperature: req.temperature,
            top_p: req.top_p,
            seed: req.seed,
            threads: self.settings.threads,
            n_ctx: self.settings.n_ctx,
            repeat_penalty: self.settings.repeat_penalty,
            max_repeated_lines: self.settings.max_repeated_lines,
        };
        let guard = InFlight::enter(&self.in_flight);
        let job = tokio::task::spawn_blocking(move || {
            let _guard = guard;
            let model = load_into(&slot, &path)?;
            let prompt = model.prompt(&req2)?;
            model.generate(&prompt, &params, constraint.as_ref(), &|| tx.is_closed(), &mut |text| {
                let _ = tx.send(text.to_owned());
            })
        });
        // A tool call's JSON is not reply text: like a remote provider's, it arrives whole.
        while let Some(text) = rx.recv().await {
            if !tool_reply {
                sink(StreamDelta::Text(text));
            }
        }
        let g = job
            .await
            .map_err(|e| ProviderError::new(&self.name, ErrorKind::Decode, format!("inference thread failed: {e}")))?
            .map_err(|e| self.error(&e))?;
        tracing::debug!(
            "local: {} prompt tokens in {:?}, {} tokens in {:?} ({:?})",
            g.prompt_tokens,
            g.prompt_eval,
            g.output_tokens,
            g.generation,
            g.stop
        );
        let mut stop_reason = match g.stop {
            Stop::EndOfGeneration | Stop::Complete => "stop",
            Stop::MaxTokens | Stop::ContextFull => "length",
            Stop::Repetition => "repetition",
            Stop::Cancelled => return Err(ProviderError::new(&self.name, ErrorKind::Cancelled, "cancelled")),
        };
        let (mut text, mut tool_calls) = (g.text, Vec::new());
        if tool_reply && let Some(call) = parse_tool_call(&text) {
            (text, tool_calls, stop_reason) = (String::new(), vec![call], "tool_use");
        }
        Ok(ChatResponse {
            text,
            tool_calls,
            usage: Usage { input_tokens: u64::from(g.prompt_tokens), output_tokens: u64::from(g.output_tokens) },
            stop_reason: Some(stop_reason.to_owned()),
            model: self.label.clone(),
            request_id: None,
        })
    }
}

/// The grammar `req` asks for (see the module invariants), or `None` for free text.
///
/// # Errors
/// [`LocalError::Grammar`] when the tool choice names a tool that is not offered.
pub fn constraint(req: &ChatRequest) -> Result<Option<Constraint>, LocalError> {
    if !req.tools.is_empty() {
        let gbnf = grammar::tool_call(&req.tools, &req.tool_choice)?;
        return Ok(Some(Constraint { gbnf, end: End::JsonValue }));
    }
    Ok(req.reply_shape.as_ref().map(|shape| match shape {
        ReplyShape::FencedBlock { fence, info } => {
            Constraint { gbnf: grammar::fenced_block(*fence, info), end: End::ClosingFence { fence: (*fence).max(3) } }
        }
        ReplyShape::SearchReplace { path } => Constraint { gbnf: grammar::search_replace(path), end: End::Model },
    }))
}

/// The tool call in a [`grammar::tool_call`] reply: `{"name": …, "arguments": {…}}`; `None`
/// when the text is not one (the token cap cut it).
pub fn parse_tool_call(text: &str) -> Option<ToolCall> {
    let v: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
    let name = v.get("name")?.as_str()?.to_owned();
    let arguments = v.get("arguments")?.clone();
    Some(ToolCall { id: "call_1".to_owned(), name, arguments })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_prefer_the_global_model_path_and_default_threads_to_cores() {
        let mut cfg = Config::default();
        let pc = ProviderConfig { model_path: Some("table.gguf".into()), n_ctx: Some(2048), ..Default::default() };
        let s = LocalSettings::from_config(&cfg, &pc);
        assert_eq!((s.model_path.as_deref(), s.n_ctx), (Some(Path::new("table.gguf")), 2048));
        assert_eq!(s.threads, default_threads());
        cfg.model_path = Some("flag.gguf".into());
        assert_eq!(LocalSettings::from_config(&cfg, &pc).model_path.as_deref(), Some(Path::new("flag.gguf")));
        let s = LocalSettings::from_config(&Config::default(), &ProviderConfig::default());
        assert_eq!((s.model_path, s.n_ctx), (None, DEFAULT_N_CTX));
    }

    #[test]
    fn a_bad_model_path_fails_at_build_time_with_a_pull_hint() {
        let t = tempfile::tempdir().unwrap();
        let junk = t.path().join("junk.gguf");
        std::fs::write(&junk, b"definitely not a model").unwrap();
        for p in [junk, t.path().join("missing.gguf")] {
            let s = LocalSettings {
                model_path: Some(p),
                threads: 1,
                n_ctx: 512,
                repeat_penalty: 1.0,
                max_repeated_lines: DEFAULT_MAX_REPEATED_LINES,
            };
            let e = LocalProvider::new("local", s).unwrap_err().to_string();
            assert!(e.contains("ai-tools model pull"), "{e}");
        }
    }
}
