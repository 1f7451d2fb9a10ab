//! The Ollama provider: the native `POST {host}/api/chat` NDJSON stream (Ollama API docs,
//! "Generate a chat completion"). Each line is a JSON object with a `message` delta; the last
//! has `done: true` with `prompt_eval_count` / `eval_count`. Tool calls arrive whole, with
//! `arguments` as a JSON object. Ollama has tools but no tool choice, which the capability flag
//! says, so callers that need a forced tool call fall back to text formats.

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::broker::Provider;
use crate::broker::http::{self, NdjsonReader, Timeouts};
use crate::broker::types::{
    Capabilities, ChatRequest, ChatResponse, DeltaSink, ErrorKind, ProviderError, StreamDelta, ToolCall,
};

/// The Ollama provider.
#[derive(Debug, Clone)]
pub struct OllamaProvider {
    name: String,
    host: String,
    model: String,
    timeouts: Timeouts,
    client: reqwest::Client,
}

impl OllamaProvider {
    /// A provider called `name` at `host` (`http://127.0.0.1:11434`; a bare `host:port` gets
    /// `http://`).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the HTTP client cannot be built.
    pub fn new(name: &str, host: &str, model: &str, timeouts: Timeouts) -> Result<Self, ProviderError> {
        let host = host.trim_end_matches('/');
        let host = if host.contains("://") { host.to_owned() } else { format!("http://{host}") };
        Ok(Self {
            name: name.to_owned(),
            host,
            model: model.to_owned(),
            timeouts,
            client: http::client(name, &timeouts)?,
        })
    }

    fn body(&self, req: &ChatRequest) -> Value {
        let messages = req.wire_messages(true);
        let mut options = json!({"num_predict": req.max_tokens});
        if let Some(t) = req.temperature {
            options["temperature"] = json!(t);
        }
        if let Some(p) = req.top_p {
            options["top_p"] = json!(p);
        }
        if let Some(s) = req.seed {
            options["seed"] = json!(s);
        }
        let mut body = json!({"model": self.model, "messages": messages, "stream": true, "options": options});
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
        &self.name
    }
    fn kind(&self) -> &'static str {
        "ollama"
    }
    fn model(&self) -> &str {
        &self.model
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities { tools: true, tool_choice: false }
    }

    async fn probe(&self) -> Result<String, ProviderError> {
        let url = format!("{}/api/tags", self.host);
        let v = http::get_json(&self.name, &self.client, &url, &[], &self.timeouts, None).await?;
        let has = v["models"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| m["name"] == self.model.as_str() || m["model"] == self.model.as_str());
        let note = if has { "" } else { " (the configured model is not pulled: run `ollama pull`)" };
        Ok(format!("{} models at {}{note}", http::count_models(&v), http::shown(&url)))
    }

    async fn stream(&self, req: &ChatRequest, sink: &DeltaSink<'_>) -> Result<ChatResponse, ProviderError> {
        let rb = self.client.post(format!("{}/api/chat", self.host)).json(&self.body(req));
        let (headers, body) = http::send(&self.name, rb, &self.timeouts, None).await?;
        let mut out =
            ChatResponse { model: self.model.clone(), request_id: http::request_id(&headers), ..Default::default() };
        let mut reader = NdjsonReader::new(&self.name, body, self.timeouts);
        let mut done = false;
        while let Some(line) = reader.next().await? {
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                return Err(ProviderError::new(
                    &self.name,
                    ErrorKind::Decode,
                    format!("unparseable stream line: {line:.200}"),
                ));
            };
            if let Some(err) = v.get("error") {
                let msg = err.as_str().map_or_else(|| err.to_string(), str::to_owned);
                return Err(ProviderError::new(&self.name, ErrorKind::StreamError, msg));
            }
            if let Some(m) = v.get("model").and_then(Value::as_str) {
                out.model = m.to_owned();
            }
            if let Some(msg) = v.get("message") {
                if let Some(t) = msg.get("content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
                    out.text.push_str(t);
                    sink(StreamDelta::Text(t.to_owned()));
                }
                for tc in msg.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
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
            return Err(ProviderError::new(&self.name, ErrorKind::StreamCut, "the stream ended before `done: true`"));
        }
        Ok(out)
    }
}
