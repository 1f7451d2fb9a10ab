//! The OpenAI-compatible Chat Completions provider: `POST {base}/chat/completions` with
//! `stream: true` and `stream_options.include_usage`, SSE `data:` chunks ending in
//! `data: [DONE]` (OpenAI API reference, "Create chat completion", streaming). Serves OpenAI,
//! vLLM, llama.cpp's server, LM Studio and OpenRouter by base URL.
//!
//! Parsing is lenient: unknown fields are ignored, text deltas are appended, tool-call fragments
//! are accumulated by `index`, a chunk with empty `choices` carries usage, and a chunk with an
//! `error` object is a mid-stream error.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::broker::Provider;
use crate::broker::base::{HttpBase, StreamLimits};
use crate::broker::http::{self, Timeouts, Wire};
use crate::broker::types::{
    Capabilities, ChatRequest, ChatResponse, DeltaSink, ErrorKind, ProviderError, StreamDelta, ToolCall, ToolChoice,
};

/// An OpenAI-compatible endpoint: an [`HttpBase`] speaking Chat Completions. Its `Debug`
/// cannot print the key ([`crate::broker::base::ApiKey`]).
#[derive(Debug, Clone)]
pub struct OpenAiProvider {
    base: HttpBase,
}

impl OpenAiProvider {
    /// A provider called `name` at `base_url` (e.g. `https://api.openai.com/v1`); the key, if
    /// any, came from the env var `key_env`. Default [`StreamLimits`].
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the HTTP client cannot be built.
    pub fn new(
        name: &str,
        base_url: &str,
        api_key: Option<String>,
        key_env: Option<String>,
        model: &str,
        timeouts: Timeouts,
    ) -> Result<Self, ProviderError> {
        Ok(Self { base: HttpBase::new(name, base_url, api_key, key_env, model, timeouts)? })
    }

    /// The same provider with `limits`.
    pub fn with_limits(self, limits: StreamLimits) -> Self {
        Self { base: self.base.with_limits(limits) }
    }

    fn body(&self, req: &ChatRequest) -> Value {
        let messages = req.wire_messages(true);
        let mut body = json!({
            "model": self.base.model(),
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": req.max_tokens,
        });
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(p) = req.top_p {
            body["top_p"] = json!(p);
        }
        if let Some(s) = req.seed {
            body["seed"] = json!(s);
        }
        if !req.tools.is_empty() {
            body["tools"] = req
                .tools
                .iter()
                .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.input_schema}}))
                .collect();
            body["tool_choice"] = match &req.tool_choice {
                ToolChoice::Auto => json!("auto"),
                ToolChoice::Any => json!("required"),
                ToolChoice::Named(n) => json!({"type": "function", "function": {"name": n}}),
            };
        }
        body
    }
}

#[derive(Default)]
struct PartialCall {
    id: String,
    name: String,
    args: String,
}

/// Parses a tool call's accumulated argument text; malformed JSON is kept as a string so the
/// caller can report it back to the model.
pub fn parse_arguments(raw: &str) -> Value {
    if raw.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
}

#[async_trait]
impl Provider for OpenAiProvider {
    fn name(&self) -> &str {
        self.base.name()
    }
    fn kind(&self) -> &'static str {
        "openai"
    }
    fn model(&self) -> &str {
        self.base.model()
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities { tools: true, tool_choice: true }
    }

    async fn probe(&self) -> Result<String, ProviderError> {
        let auth = self.base.key().map(|k| format!("Bearer {}", k.expose()));
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
        let url = self.base.url("/models");
        let v = self.base.run(self.base.get_json(&url, &headers)).await?;
        Ok(format!("{} models listed at {}", http::count_models(&v), http::shown(&url)))
    }

    async fn stream(&self, req: &ChatRequest, sink: &DeltaSink<'_>) -> Result<ChatResponse, ProviderError> {
        self.base.run(self.stream_once(req, sink)).await
    }
}

impl OpenAiProvider {
    async fn stream_once(&self, req: &ChatRequest, sink: &DeltaSink<'_>) -> Result<ChatResponse, ProviderError> {
        let mut rb = self.base.client().post(self.base.url("/chat/completions")).json(&self.body(req));
        if let Some(k) = self.base.key() {
            rb = rb.bearer_auth(k.expose());
        }
        let (headers, body) = self.base.send(rb, Wire::Sse).await?;
        let mut out = ChatResponse {
            model: self.base.model().to_owned(),
            request_id: http::request_id(&headers),
            ..Default::default()
        };
        let mut calls: BTreeMap<u64, PartialCall> = BTreeMap::new();
        let mut reader = self.base.sse(body, req);
        let mut done = false;
        while let Some(ev) = reader.next().await? {
            let data = ev.data.trim();
            if data == "[DONE]" {
                done = true;
                break;
            }
            if data.is_empty() {
                continue;
            }
            let Ok(v) = serde_json::from_str::<Value>(data) else {
                return Err(ProviderError::new(
                    self.base.name(),
                    ErrorKind::Decode,
                    format!("unparseable stream chunk: {data:.200}"),
                ));
            };
            if let Some(err) = v.get("error") {
                let (ty, msg) = http::parse_error_body(&json!({"error": err}).to_string());
                let mut e = ProviderError::new(
                    self.base.name(),
                    ErrorKind::StreamError,
                    msg.unwrap_or_else(|| err.to_string()),
                );
                e.error_type = ty;
                e.request_id = out.request_id.clone();
                return Err(e);
            }
            if let Some(m) = v.get("model").and_then(Value::as_str) {
                out.model = m.to_owned();
            }
            if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
                out.usage.input_tokens =
                    u.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(out.usage.input_tokens);
                out.usage.output_tokens =
                    u.get("completion_tokens").and_then(Value::as_u64).unwrap_or(out.usage.output_tokens);
            }
            for choice in v.get("choices").and_then(Value::as_array).into_iter().flatten() {
                if let Some(r) = choice.get("finish_reason").and_then(Value::as_str) {
                    out.stop_reason = Some(r.to_owned());
                }
                let Some(delta) = choice.get("delta") else { continue };
                if let Some(t) = delta.get("content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
                    reader.delta()?;
                    out.text.push_str(t);
                    sink(StreamDelta::Text(t.to_owned()));
                }
                for tc in delta.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                    let idx = tc.get("index").and_then(Value::as_u64).unwrap_or(0);
                    let pc = calls.entry(idx).or_default();
                    if let Some(id) = tc.get("id").and_then(Value::as_str) {
                        pc.id = id.to_owned();
                    }
                    if let Some(f) = tc.get("function") {
                        if let Some(n) = f.get("name").and_then(Value::as_str) {
                            pc.name.push_str(n);
                        }
                        if let Some(a) = f.get("arguments").and_then(Value::as_str).filter(|a| !a.is_empty()) {
                            reader.delta()?;
                            pc.args.push_str(a);
                        }
                    }
                }
            }
        }
        if !done && out.stop_reason.is_none() {
            let mut e =
                ProviderError::new(self.base.name(), ErrorKind::StreamCut, "the stream ended before `data: [DONE]`");
            e.request_id = out.request_id;
            return Err(e);
        }
        out.tool_calls = calls
            .into_values()
            .map(|c| ToolCall { id: c.id, name: c.name, arguments: parse_arguments(&c.args) })
            .collect();
        Ok(out)
    }
}
