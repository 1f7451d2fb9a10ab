//! The Ollama provider: the native `POST {host}/api/chat` NDJSON stream (Ollama API docs,
//! "Generate a chat completion"). Each line is a JSON object with a `message` delta; the last
//! has `done: true` with `prompt_eval_count` / `eval_count`. Tool calls arrive whole, with
//! `arguments` as a JSON object. Ollama has tools but no tool choice, which the capability flag
//! says, so callers that need a forced tool call fall back to text formats.

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::broker::Provider;
use crate::broker::base::{HttpBase, StreamLimits};
use crate::broker::http::{self, Timeouts, Wire};
use crate::broker::types::{
    Capabilities, ChatRequest, ChatResponse, DeltaSink, ErrorKind, ProviderError, StreamDelta, ToolCall,
};

/// The Ollama provider: an [`HttpBase`] (no key) speaking `/api/chat`, sending `num_ctx`.
#[derive(Debug, Clone)]
pub struct OllamaProvider {
    base: HttpBase,
    num_ctx: u32,
}

/// The `num_ctx` (context window, tokens) sent when none is configured; Ollama's own default
/// (2048 or 4096, by version) silently cuts longer prompts from the front.
pub const DEFAULT_NUM_CTX: u32 = 8192;

impl OllamaProvider {
    /// A provider called `name` at `host` (`http://127.0.0.1:11434`; a bare `host:port` gets
    /// `http://`), sending [`DEFAULT_NUM_CTX`] and default [`StreamLimits`].
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the HTTP client cannot be built.
    pub fn new(name: &str, host: &str, model: &str, timeouts: Timeouts) -> Result<Self, ProviderError> {
        let host = host.trim_end_matches('/');
        let host = if host.contains("://") { host.to_owned() } else { format!("http://{host}") };
        Ok(Self { base: HttpBase::new(name, &host, None, None, model, timeouts)?, num_ctx: DEFAULT_NUM_CTX })
    }

    /// The same provider with `limits`.
    pub fn with_limits(self, limits: StreamLimits) -> Self {
        Self { base: self.base.with_limits(limits), ..self }
    }

    /// The same provider sending `num_ctx` (context window, tokens) with every request.
    pub fn with_num_ctx(self, num_ctx: u32) -> Self {
        Self { num_ctx: num_ctx.max(1), ..self }
    }

    fn body(&self, req: &ChatRequest) -> Value {
        let messages = req.wire_messages(true);
        let mut options = json!({"num_predict": req.max_tokens, "num_ctx": self.num_ctx});
        if let Some(t) = req.temperature {
            options["temperature"] = json!(t);
        }
        if let Some(p) = req.top_p {
            options["top_p"] = json!(p);
        }
        if let Some(s) = req.seed {
            options["seed"] = json!(s);
        }
        let mut body = json!({"model": self.base.model(), "messages": messages, "stream": true, "options": options});
        if !req.tools.is_empty() {
            body["tools"] = req
                .tools
                .iter()
                .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.input_schema}}))
                .collect();
        }
        body
    }
}

#[async_trait]
impl Provider for OllamaProvider {
    fn name(&self) -> &str {
        self.base.name()
    }
    fn kind(&self) -> &'static str {
        "ollama"
    }
    fn model(&self) -> &str {
        self.base.model()
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities { tools: true, tool_choice: false }
    }

    async fn probe(&self) -> Result<String, ProviderError> {
        let url = self.base.url("/api/tags");
        let v = self.base.run(self.base.get_json(&url, &[])).await?;
        let model = self.base.model();
        let has = v["models"].as_array().into_iter().flatten().any(|m| m["name"] == model || m["model"] == model);
        let note = if has { "" } else { " (the configured model is not pulled: run `ollama pull`)" };
        Ok(format!("{} models at {}{note}", http::count_models(&v), http::shown(&url)))
    }

    async fn stream(&self, req: &ChatRequest, sink: &DeltaSink<'_>) -> Result<ChatResponse, ProviderError> {
        self.base.run(self.stream_once(req, sink)).await
    }
}

impl OllamaProvider {
    async fn stream_once(&self, req: &ChatRequest, sink: &DeltaSink<'_>) -> Result<ChatResponse, ProviderError> {
        let rb = self.base.client().post(self.base.url("/api/chat")).json(&self.body(req));
        let (headers, body) = self.base.send(rb, Wire::Ndjson).await?;
        let mut out = ChatResponse {
            model: self.base.model().to_owned(),
            request_id: http::request_id(&headers),
            ..Default::default()
        };
        let mut reader = self.base.ndjson(body, req);
        let mut done = false;
        while let Some(line) = reader.next().await? {
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                return Err(ProviderError::new(
                    self.base.name(),
                    ErrorKind::Decode,
                    format!("unparseable stream line: {line:.200}"),
                ));
            };
            if let Some(err) = v.get("error") {
                let msg = err.as_str().map_or_else(|| err.to_string(), str::to_owned);
                return Err(ProviderError::new(self.base.name(), ErrorKind::StreamError, msg));
            }
            if let Some(m) = v.get("model").and_then(Value::as_str) {
                out.model = m.to_owned();
            }
            if let Some(msg) = v.get("message") {
                if let Some(t) = msg.get("content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
                    reader.delta()?;
                    out.text.push_str(t);
                    sink(StreamDelta::Text(t.to_owned()));
                }
                for tc in msg.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                    reader.delta()?;
                    let f = &tc["function"];
                    let arguments = match f.get("arguments") {
                        Some(Value::String(s)) => crate::broker::openai::parse_arguments(s),
                        Some(v) => v.clone(),
                        None => json!({}),
                    };
                    out.tool_calls.push(ToolCall {
                        id: tc.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
                        name: f.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                        arguments,
                    });
                }
            }
            if v.get("done").and_then(Value::as_bool) == Some(true) {
                out.stop_reason =
                    v.get("done_reason").and_then(Value::as_str).map(str::to_owned).or(Some("stop".into()));
                out.usage.input_tokens = v.get("prompt_eval_count").and_then(Value::as_u64).unwrap_or(0);
                out.usage.output_tokens = v.get("eval_count").and_then(Value::as_u64).unwrap_or(0);
                done = true;
                break;
            }
        }
        if !done {
            return Err(ProviderError::new(
                self.base.name(),
                ErrorKind::StreamCut,
                "the stream ended before `done: true`",
            ));
        }
        Ok(out)
    }
}
