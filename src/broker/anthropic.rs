//! The Anthropic Messages API provider: `POST {base}/v1/messages` with `stream: true`, headers
//! `x-api-key` and `anthropic-version: 2023-06-01` (Anthropic API reference, "Streaming
//! Messages").
//!
//! The stream is SSE: `message_start`, then per content block `content_block_start`,
//! `content_block_delta` (`text_delta` or `input_json_delta`), `content_block_stop`; then
//! `message_delta` (stop reason, cumulative usage) and `message_stop`. `ping` and unknown events
//! are ignored; an `error` event is a mid-stream error; a stream that ends before
//! `message_stop` was cut off.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::broker::Provider;
use crate::broker::base::{ApiKey, HttpBase, StreamLimits};
use crate::broker::http::{self, Timeouts, Wire};
use crate::broker::openai::parse_arguments;
use crate::broker::types::{
    Capabilities, ChatRequest, ChatResponse, DeltaSink, ErrorKind, ProviderError, StreamDelta, ToolCall, ToolChoice,
};

/// The Anthropic provider: an [`HttpBase`] speaking the Messages API. Its `Debug` cannot
/// print the key ([`crate::broker::base::ApiKey`]).
#[derive(Debug, Clone)]
pub struct AnthropicProvider {
    base: HttpBase,
}

impl AnthropicProvider {
    /// A provider called `name` at `base_url` (e.g. `https://api.anthropic.com`) using `api_key`
    /// (read from `key_env`), with default [`StreamLimits`].
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the HTTP client cannot be built.
    pub fn new(
        name: &str,
        base_url: &str,
        api_key: String,
        key_env: Option<String>,
        model: &str,
        timeouts: Timeouts,
    ) -> Result<Self, ProviderError> {
        Ok(Self { base: HttpBase::new(name, base_url, Some(api_key), key_env, model, timeouts)? })
    }

    /// The same provider with `limits`.
    pub fn with_limits(self, limits: StreamLimits) -> Self {
        Self { base: self.base.with_limits(limits) }
    }

    fn key(&self) -> &str {
        self.base.key().map_or("", ApiKey::expose)
    }

    fn body(&self, req: &ChatRequest) -> Value {
        let messages = req.wire_messages(false);
        let mut body = json!({
            "model": self.base.model(),
            "max_tokens": req.max_tokens,
            "messages": messages,
            "stream": true,
        });
        if let Some(s) = &req.system {
            body["system"] = json!(s);
        }
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(p) = req.top_p {
            body["top_p"] = json!(p);
        }
        if !req.tools.is_empty() {
            body["tools"] = req
                .tools
                .iter()
                .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.input_schema}))
                .collect();
            body["tool_choice"] = match &req.tool_choice {
                ToolChoice::Auto => json!({"type": "auto"}),
                ToolChoice::Any => json!({"type": "any"}),
                ToolChoice::Named(n) => json!({"type": "tool", "name": n}),
            };
        }
        body
    }
}

enum Block {
    Text,
    Tool { id: String, name: String, json: String },
    Other,
}

#[async_trait]
impl Provider for AnthropicProvider {
    fn name(&self) -> &str {
        self.base.name()
    }
    fn kind(&self) -> &'static str {
        "anthropic"
    }
    fn model(&self) -> &str {
        self.base.model()
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities { tools: true, tool_choice: true }
    }

    async fn probe(&self) -> Result<String, ProviderError> {
        let url = self.base.url("/v1/models");
        let headers = [("x-api-key", self.key()), ("anthropic-version", "2023-06-01")];
        let v = self.base.run(self.base.get_json(&url, &headers)).await?;
        Ok(format!("{} models listed at {}", http::count_models(&v), http::shown(&url)))
    }

    async fn stream(&self, req: &ChatRequest, sink: &DeltaSink<'_>) -> Result<ChatResponse, ProviderError> {
        self.base.run(self.stream_once(req, sink)).await
    }
}

impl AnthropicProvider {
    async fn stream_once(&self, req: &ChatRequest, sink: &DeltaSink<'_>) -> Result<ChatResponse, ProviderError> {
        let rb = self
            .base
            .client()
            .post(self.base.url("/v1/messages"))
            .header("x-api-key", self.key())
            .header("anthropic-version", "2023-06-01")
            .json(&self.body(req));
        let (headers, body) = self.base.send(rb, Wire::Sse).await?;
        let mut out = ChatResponse {
            model: self.base.model().to_owned(),
            request_id: http::request_id(&headers),
            ..Default::default()
        };
        let mut blocks: BTreeMap<u64, Block> = BTreeMap::new();
        let mut reader = self.base.sse(body, req);
        let mut stopped = false;
        while let Some(ev) = reader.next().await? {
            let Ok(v) = serde_json::from_str::<Value>(&ev.data) else { continue };
            let ty = v.get("type").and_then(Value::as_str).unwrap_or(ev.event.as_str()).to_owned();
            match ty.as_str() {
                "message_start" => {
                    let m = &v["message"];
                    if let Some(model) = m.get("model").and_then(Value::as_str) {
                        out.model = model.to_owned();
                    }
                    let u = &m["usage"];
                    out.usage.input_tokens = ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"]
                        .iter()
                        .filter_map(|k| u.get(*k).and_then(Value::as_u64))
                        .sum();
                    out.usage.output_tokens = u.get("output_tokens").and_then(Value::as_u64).unwrap_or(0);
                }
                "content_block_start" => {
                    let idx = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                    let cb = &v["content_block"];
                    let block = match cb.get("type").and_then(Value::as_str) {
                        Some("text") => {
                            if let Some(t) = cb.get("text").and_then(Value::as_str).filter(|t| !t.is_empty()) {
                                reader.delta()?;
                                out.text.push_str(t);
                                sink(StreamDelta::Text(t.to_owned()));
                            }
                            Block::Text
                        }
                        Some("tool_use") => Block::Tool {
                            id: cb.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
                            name: cb.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                            json: String::new(),
                        },
                        _ => Block::Other,
                    };
                    blocks.insert(idx, block);
                }
                "content_block_delta" => {
                    let idx = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                    let d = &v["delta"];
                    match d.get("type").and_then(Value::as_str) {
                        Some("text_delta") => {
                            if let Some(t) = d.get("text").and_then(Value::as_str) {
                                reader.delta()?;
                                out.text.push_str(t);
                                sink(StreamDelta::Text(t.to_owned()));
                            }
                        }
                        Some("input_json_delta") => {
                            if let (Some(Block::Tool { json, .. }), Some(p)) =
                                (blocks.get_mut(&idx), d.get("partial_json").and_then(Value::as_str))
                            {
                                reader.delta()?;
                                json.push_str(p);
                            }
                        }
                        _ => {}
                    }
                }
                "message_delta" => {
                    if let Some(r) = v["delta"].get("stop_reason").and_then(Value::as_str) {
                        out.stop_reason = Some(r.to_owned());
                    }
                    if let Some(o) = v["usage"].get("output_tokens").and_then(Value::as_u64) {
                        out.usage.output_tokens = o;
                    }
                    if let Some(i) = v["usage"].get("input_tokens").and_then(Value::as_u64).filter(|i| *i > 0) {
                        out.usage.input_tokens = i;
                    }
                }
                "message_stop" => {
                    stopped = true;
                    break;
                }
                "error" => {
                    let err = &v["error"];
                    let mut e = ProviderError::new(
                        self.base.name(),
                        ErrorKind::StreamError,
                        err.get("message").and_then(Value::as_str).unwrap_or("error event").to_owned(),
                    );
                    e.error_type = err.get("type").and_then(Value::as_str).map(str::to_owned);
                    e.request_id = out.request_id.clone();
                    return Err(e);
                }
                _ => {}
            }
        }
        if !stopped {
            let mut e =
                ProviderError::new(self.base.name(), ErrorKind::StreamCut, "the stream ended before `message_stop`");
            e.request_id = out.request_id;
            return Err(e);
        }
        out.tool_calls = blocks
            .into_values()
            .filter_map(|b| match b {
                Block::Tool { id, name, json } => Some(ToolCall { id, name, arguments: parse_arguments(&json) }),
                _ => None,
            })
            .collect();
        Ok(out)
    }
}
