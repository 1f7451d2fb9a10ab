//! The shared base of the HTTP providers (Anthropic, OpenAI-compatible, Ollama): the name,
//! endpoint, model, key, timeouts, reply limits and HTTP client every one of them holds, and
//! the guards every call goes through.
//!
//! Invariants:
//! - the API key is held as an [`ApiKey`], whose `Debug` prints `[REDACTED]`, so no provider
//!   struct can print its key; the key only ever goes into an outgoing request header;
//! - every call made through [`HttpBase::run`] ends within [`StreamLimits::deadline`], and
//!   every error it returns has had the key (and any secret in the base URL) redacted from
//!   every field;
//! - a stream read through [`HttpBase::sse`] / [`HttpBase::ndjson`] stops with
//!   [`ErrorKind::Limit`] after [`StreamLimits::max_reply_bytes`] body bytes or more content
//!   deltas than the request's `max_tokens` (each delta carries at least one token), so a
//!   stream that never ends cannot run forever or grow memory without bound.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::broker::Redactor;
use crate::broker::http::{self, ByteStream, NdjsonReader, ReplyCaps, SseReader, Timeouts, Wire};
use crate::broker::types::{ChatRequest, ErrorKind, ProviderError};

/// An API key. `Debug` and `Display` never show it; [`ApiKey::expose`] is the one way to read
/// it, for the request header.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key's value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The key's value, for an outgoing request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Default [`StreamLimits::max_reply_bytes`]: 32 MiB of response body per call.
pub const DEFAULT_MAX_REPLY_BYTES: u64 = 32 * 1024 * 1024;

/// Default [`StreamLimits::deadline`]: 20 minutes per call (one attempt).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(20 * 60);

/// Caps on one call's reply, on top of the request's `max_tokens`
/// (`[providers.<name>] max_reply_bytes`, `deadline_secs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamLimits {
    /// Most response-body bytes one call may read (SSE or NDJSON framing included).
    pub max_reply_bytes: u64,
    /// Longest wall time of one call, from sending the request to the end of the stream.
    pub deadline: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self { max_reply_bytes: DEFAULT_MAX_REPLY_BYTES, deadline: DEFAULT_DEADLINE }
    }
}

/// What every HTTP provider holds (see the module invariants). Its `Debug` shows the base URL
/// without userinfo, query or fragment ([`http::shown`]) and the key as `[REDACTED]`.
#[derive(Clone)]
pub struct HttpBase {
    name: String,
    base_url: String,
    model: String,
    key: Option<ApiKey>,
    key_env: Option<String>,
    timeouts: Timeouts,
    limits: StreamLimits,
    redactor: Redactor,
    client: reqwest::Client,
}

impl fmt::Debug for HttpBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpBase")
            .field("name", &self.name)
            .field("base_url", &http::shown(&self.base_url))
            .field("model", &self.model)
            .field("key", &self.key)
            .field("key_env", &self.key_env)
            .field("timeouts", &self.timeouts)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl HttpBase {
    /// A base for provider `name` at `base_url` (trailing `/` dropped) asking for `model`, with
    /// `key` read from the environment variable `key_env`, default [`StreamLimits`].
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the HTTP client cannot be built.
    pub fn new(
        name: &str,
        base_url: &str,
        key: Option<String>,
        key_env: Option<String>,
        model: &str,
        timeouts: Timeouts,
    ) -> Result<Self, ProviderError> {
        let mut redactor = Redactor::default();
        if let Some(k) = &key {
            redactor.add(k);
        }
        redactor.add_url_secrets(base_url);
        Ok(Self {
            name: name.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            model: model.to_owned(),
            key: key.map(ApiKey::new),
            key_env,
            timeouts,
            limits: StreamLimits::default(),
            redactor,
            client: http::client(name, &timeouts)?,
        })
    }

    /// The same base with `limits`.
    pub fn with_limits(mut self, limits: StreamLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The configured provider name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The model id requests use.
    pub fn model(&self) -> &str {
        &self.model
    }
    /// `{base_url}{path}`; `path` starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
    /// The API key, when one is configured.
    pub fn key(&self) -> Option<&ApiKey> {
        self.key.as_ref()
    }
    /// The environment variable the key came from (named in 401/403 errors).
    pub fn key_env(&self) -> Option<&str> {
        self.key_env.as_deref()
    }
    /// The connect, first-byte and idle timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }
    /// The reply caps.
    pub fn limits(&self) -> StreamLimits {
        self.limits
    }
    /// The HTTP client.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends a streaming request expecting a `wire` body (see [`http::send`]).
    ///
    /// # Errors
    /// Timeout, transport and status errors, and a success response whose body is not the
    /// expected stream (its JSON or HTML error message surfaced).
    pub async fn send(
        &self,
        rb: reqwest::RequestBuilder,
        wire: Wire,
    ) -> Result<(HeaderMap, ByteStream), ProviderError> {
        http::send(&self.name, rb, &self.timeouts, self.key_env(), wire).await
    }

    /// Reply caps for `req`: the byte cap and `req.max_tokens` content deltas.
    pub fn caps(&self, req: &ChatRequest) -> ReplyCaps {
        ReplyCaps { max_bytes: self.limits.max_reply_bytes, max_deltas: req.max_tokens }
    }

    /// An SSE reader over `body` under the timeouts and `req`'s caps.
    pub fn sse(&self, body: ByteStream, req: &ChatRequest) -> SseReader {
        SseReader::new(&self.name, body, self.timeouts, self.caps(req))
    }

    /// An NDJSON reader over `body` under the timeouts and `req`'s caps.
    pub fn ndjson(&self, body: ByteStream, req: &ChatRequest) -> NdjsonReader {
        NdjsonReader::new(&self.name, body, self.timeouts, self.caps(req))
    }

    /// GETs `url` with `headers` and returns its JSON body (see [`http::get_json`]).
    ///
    /// # Errors
    /// Timeout, transport, status or decode errors.
    pub async fn get_json(&self, url: &str, headers: &[(&str, &str)]) -> Result<serde_json::Value, ProviderError> {
        http::get_json(&self.name, &self.client, url, headers, &self.timeouts, self.key_env()).await
    }

    /// Runs one call under the deadline and redacts its error (see the module invariants).
    ///
    /// # Errors
    /// The call's error, redacted, or [`ErrorKind::Limit`] when the deadline passed.
    pub async fn run<T>(&self, call: impl Future<Output = Result<T, ProviderError>>) -> Result<T, ProviderError> {
        let deadline = self.limits.deadline;
        let r = match tokio::time::timeout(deadline, call).await {
            Ok(r) => r,
            Err(_) => Err(ProviderError::new(
                &self.name,
                ErrorKind::Limit,
                format!(
                    "no complete reply within {} s (the call's deadline; raise deadline_secs under [providers.{}])",
                    deadline.as_secs_f64(),
                    self.name
                ),
            )),
        };
        r.map_err(|e| self.redactor.error(e))
    }
}
