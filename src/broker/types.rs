//! The shapes every provider speaks: requests, streamed deltas, responses, tool calls, errors.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    /// The user (ai-tools).
    User,
    /// The model.
    Assistant,
}

impl ChatRole {
    /// The role's name on the wire (`user`, `assistant`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChatRole::User => "user",
            ChatRole::Assistant => "assistant",
        }
    }
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: ChatRole,
    /// Its text.
    pub content: String,
}

impl ChatMessage {
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self { role: ChatRole::User, content: content.into() }
    }
}

/// A tool the model may call: a name, what it does, and a JSON schema for its input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Tool name, e.g. `write_file`.
    pub name: String,
    /// What the tool does, for the model.
    pub description: String,
    /// JSON schema of the tool's input object.
    pub input_schema: serde_json::Value,
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides.
    #[default]
    Auto,
    /// The model must call some tool.
    Any,
    /// The model must call this tool.
    Named(String),
}

/// A request to a provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// System prompt.
    pub system: Option<String>,
    /// The conversation so far.
    pub messages: Vec<ChatMessage>,
    /// Upper bound on completion tokens.
    pub max_tokens: u32,
    /// Sampling temperature, when set.
    pub temperature: Option<f32>,
    /// Nucleus sampling, when set.
    pub top_p: Option<f32>,
    /// Sampling seed, for providers that take one.
    pub seed: Option<u64>,
    /// Tools offered (empty: none).
    pub tools: Vec<ToolSpec>,
    /// Tool choice (ignored without tools).
    pub tool_choice: ToolChoice,
    /// The shape the text reply must take, for providers that constrain decoding to it (the
    /// `local` provider, through a llama.cpp grammar); other providers ignore it — the prompt
    /// asks for the same shape. Ignored when tools are offered: the reply is then a tool call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_shape: Option<ReplyShape>,
}

/// The shape a text reply must take ([`ChatRequest::reply_shape`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum ReplyShape {
    /// Exactly one fenced code block opened by `` ```<info> `` (e.g. `python`) and nothing
    /// else: the whole-file codegen reply.
    FencedBlock {
        /// Backticks in the opening and closing fence (3, or more when the content has runs
        /// of backticks: [`crate::codegen::lang::fence_for`]).
        fence: usize,
        /// The fence's info string.
        info: String,
    },
    /// One or more SEARCH/REPLACE blocks, each preceded by `path` on its own line: the
    /// codegen reply for a large `modify` target.
    SearchReplace {
        /// The target's repo-relative path.
        path: String,
    },
}

impl ChatRequest {
    /// A request with a system prompt and one user message, no tools.
    pub fn new(system: impl Into<String>, user: impl Into<String>, max_tokens: u32) -> Self {
        Self {
            system: Some(system.into()),
            messages: vec![ChatMessage::user(user)],
            max_tokens,
            temperature: None,
            top_p: None,
            seed: None,
            tools: Vec::new(),
            tool_choice: ToolChoice::Auto,
            reply_shape: None,
        }
    }
}

/// The seed base of candidate samples when the configuration sets no `seed`.
pub const CANDIDATE_SEED_BASE: u64 = 0x5eed;

/// The sampling seed of candidate `index` (0-based) among the N samples of one request whose
/// configured seed is `base`: `base + index` (wrapping; `base` defaults to
/// [`CANDIDATE_SEED_BASE`]), so the N candidates get N distinct seeds and a rerun draws the same
/// ones. The local provider folds the 64-bit seed to llama.cpp's 32 bits by XOR of the halves,
/// which keeps consecutive seeds distinct.
pub fn candidate_seed(base: Option<u64>, index: u32) -> u64 {
    base.unwrap_or(CANDIDATE_SEED_BASE).wrapping_add(u64::from(index))
}

impl ChatRequest {
    /// A copy of this request for candidate `index` of a best-of-N sample: seed
    /// [`candidate_seed`]`(self.seed, index)` and temperature `temperature` (0 is greedy on the
    /// local provider, which makes every candidate the same).
    pub fn candidate(&self, index: u32, temperature: f32) -> ChatRequest {
        let mut r = self.clone();
        r.seed = Some(candidate_seed(self.seed, index));
        r.temperature = Some(temperature);
        r
    }

    /// The messages as `{"role", "content"}` objects, led by a `system` message when
    /// `with_system` (OpenAI and Ollama put the system prompt there; Anthropic has a field).
    pub fn wire_messages(&self, with_system: bool) -> Vec<serde_json::Value> {
        let system =
            self.system.iter().filter(|_| with_system).map(|s| serde_json::json!({"role": "system", "content": s}));
        system
            .chain(self.messages.iter().map(|m| serde_json::json!({"role": m.role.as_str(), "content": m.content})))
            .collect()
    }
}

/// A complete tool call from the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's call id (may be empty).
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Parsed input object.
    pub arguments: serde_json::Value,
}

/// Token usage of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
}

/// A finished provider call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ChatResponse {
    /// The concatenated text deltas.
    pub text: String,
    /// Complete tool calls, in order.
    pub tool_calls: Vec<ToolCall>,
    /// Token usage as the provider reported it (or counted, for the local model).
    pub usage: Usage,
    /// Why generation stopped, in the provider's words (`end_turn`, `stop`, `tool_use`, …).
    pub stop_reason: Option<String>,
    /// The model that answered.
    pub model: String,
    /// The provider's request id, when it sent one.
    pub request_id: Option<String>,
}

/// What streams out of a provider while it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamDelta {
    /// More reply text.
    Text(String),
    /// A retry or fallback started the reply over: drop what streamed so far.
    Restart,
}

/// Where a provider sends deltas as they arrive.
pub type DeltaSink<'a> = dyn Fn(StreamDelta) + Send + Sync + 'a;

/// What a provider can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Takes tool definitions and returns tool calls.
    pub tools: bool,
    /// Honours a tool choice (any / named).
    pub tool_choice: bool,
}

/// The kind of a provider error; decides retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A non-success HTTP status.
    Http,
    /// The key was refused (401/403).
    Auth,
    /// Connection refused, reset or DNS failure.
    Connect,
    /// Connect, first-byte or idle timeout.
    Timeout,
    /// The stream ended before its end event.
    StreamCut,
    /// The provider sent an error event mid-stream.
    StreamError,
    /// A response that does not parse.
    Decode,
    /// The user stopped the run.
    Cancelled,
    /// Misconfiguration (no key, no model file, …).
    Config,
    /// The reply went over a client-side cap: the request's `max_tokens`, the reply byte cap
    /// or the call's deadline. Not retried: the same request would run into it again.
    Limit,
}

/// A provider call that failed. Never carries an API key: messages are redacted by the broker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderError {
    /// Configured provider name.
    pub provider: String,
    /// What kind of failure.
    pub kind: ErrorKind,
    /// HTTP status, when there was one.
    pub status: Option<u16>,
    /// The provider's error type (`overloaded_error`, `invalid_request_error`, …).
    pub error_type: Option<String>,
    /// The provider's message, or ours.
    pub message: String,
    /// The provider's request id.
    pub request_id: Option<String>,
    /// Server-requested wait (`retry-after-ms` / `retry-after`).
    #[serde(skip)]
    pub retry_after: Option<Duration>,
    /// The `x-should-retry` header, when sent.
    pub should_retry: Option<bool>,
}

impl ProviderError {
    /// An error of `kind` with `message` and nothing else.
    pub fn new(provider: &str, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            provider: provider.to_owned(),
            kind,
            status: None,
            error_type: None,
            message: message.into(),
            request_id: None,
            retry_after: None,
            should_retry: None,
        }
    }

    /// Whether a retry may succeed: never for cancellation, configuration, auth, decode and
    /// limit errors; else `x-should-retry` when sent; else 408, 409, 429, 5xx and 529,
    /// connection failures, timeouts, cut streams and mid-stream error events.
    pub fn retryable(&self) -> bool {
        match self.kind {
            ErrorKind::Cancelled | ErrorKind::Config | ErrorKind::Auth | ErrorKind::Decode | ErrorKind::Limit => false,
            _ if self.should_retry.is_some() => self.should_retry == Some(true),
            ErrorKind::Http => matches!(self.status, Some(408 | 409 | 429) | Some(500..=599)),
            ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::StreamCut | ErrorKind::StreamError => true,
        }
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.provider)?;
        if let Some(s) = self.status {
            write!(f, "HTTP {s}: ")?;
        }
        if let Some(t) = &self.error_type {
            write!(f, "{t}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(r) = &self.request_id {
            write!(f, " (request id {r})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProviderError {}
