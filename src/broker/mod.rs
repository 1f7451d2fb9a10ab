//! The model broker: providers behind one streaming trait, roles mapped to fallback chains,
//! retries with backoff, per-provider concurrency, usage and cost, sanitized transcripts.
//!
//! Invariants:
//! - a call tries its role's chain in order; each provider gets `1 + max_retries` attempts for
//!   retryable errors ([`ProviderError::retryable`]); a non-retryable error moves straight on to
//!   the next provider;
//! - before a retry or fallback re-streams a reply, the sink gets [`StreamDelta::Restart`];
//! - cancellation aborts an in-flight request at its next await point and is never retried;
//! - every error message, record and transcript passes through [`Redactor`], so no API key
//!   leaves the process; request headers are never recorded at all.
//!
//! A new HTTP provider holds a [`base::HttpBase`] (name, endpoint, model, key, timeouts, reply
//! caps) and runs each call through [`base::HttpBase::run`]; a new model family goes in
//! [`windows::KNOWN_MODELS`].

pub mod anthropic;
pub mod base;
pub mod build;
pub mod grammar;
pub mod http;
#[cfg(feature = "local")]
pub mod local;
pub mod ollama;
pub mod openai;
pub mod types;
pub mod windows;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use backon::BackoffBuilder;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub use types::*;

/// A model provider: one streaming chat call.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The configured name (`anthropic`, `my-vllm`, …).
    fn name(&self) -> &str;
    /// The wire protocol: `anthropic`, `openai`, `ollama` or `local`.
    fn kind(&self) -> &'static str;
    /// The model id requests use.
    fn model(&self) -> &str;
    /// What the provider supports.
    fn capabilities(&self) -> Capabilities;
    /// Sends `req`, passing text deltas to `sink` as they arrive, and returns the whole reply.
    ///
    /// # Errors
    /// A [`ProviderError`]; the broker decides whether to retry.
    async fn stream(&self, req: &ChatRequest, sink: &DeltaSink<'_>) -> Result<ChatResponse, ProviderError>;

    /// Checks that the provider answers, as cheaply as it can (a model list where the API has
    /// one, else a one-token request). Returns a short description of what answered.
    ///
    /// # Errors
    /// The [`ProviderError`] the check ran into.
    async fn probe(&self) -> Result<String, ProviderError> {
        let r = self.stream(&ChatRequest::new("", "Say OK.", 1), &|_| {}).await?;
        Ok(format!("answered with model {}", r.model))
    }
}

/// What a call is for; each role has its own provider chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Writing files from the plan.
    Codegen,
    /// Fixing what validators flagged.
    Repair,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Codegen => "codegen",
            Role::Repair => "repair",
        })
    }
}

/// Retry limits for one provider.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff delay.
    pub base_delay: Duration,
    /// Longest backoff delay, and the cap on a server's `retry-after`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_retries: 2, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(30) }
    }
}

/// Price per million tokens, in US dollars.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Price {
    /// Per million input tokens.
    pub input_per_mtok: f64,
    /// Per million output tokens.
    pub output_per_mtok: f64,
}

impl Price {
    /// Cost of `u` in dollars.
    pub fn cost(&self, u: &Usage) -> f64 {
        (u.input_tokens as f64 * self.input_per_mtok + u.output_tokens as f64 * self.output_per_mtok) / 1e6
    }
}

/// Replaces known secrets in text with `[REDACTED]`. Its `Debug` shows how many secrets it
/// holds, never them.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// Adds a secret (ignored when shorter than 6 characters, which could not be a key and
    /// would mangle ordinary text).
    pub fn add(&mut self, s: &str) {
        if s.len() >= 6 && !self.secrets.iter().any(|x| x == s) {
            self.secrets.push(s.to_owned());
        }
    }
    /// Adds the password and query values of a base URL (`https://user:token@host/?key=…`),
    /// so they are redacted like API keys. A string that is not a URL adds nothing.
    pub fn add_url_secrets(&mut self, url: &str) {
        let Ok(u) = reqwest::Url::parse(url) else { return };
        if let Some(p) = u.password() {
            self.add(p);
        }
        for (_, v) in u.query_pairs() {
            self.add(&v);
        }
    }
    /// `e` with every text field (provider, type, message, request id) redacted: any of them
    /// may echo what the server was sent.
    pub fn error(&self, mut e: ProviderError) -> ProviderError {
        e.provider = self.apply(&e.provider);
        e.message = self.apply(&e.message);
        e.error_type = e.error_type.map(|t| self.apply(&t));
        e.request_id = e.request_id.map(|r| self.apply(&r));
        e
    }
    /// `text` with every secret replaced.
    pub fn apply(&self, text: &str) -> String {
        let mut t = text.to_owned();
        for s in &self.secrets {
            if t.contains(s.as_str()) {
                t = t.replace(s.as_str(), "[REDACTED]");
            }
        }
        t
    }
}

/// A provider registered with the broker.
pub struct ProviderEntry {
    /// The provider.
    pub provider: Arc<dyn Provider>,
    /// Its retry limits.
    pub retry: RetryPolicy,
    /// Its price table.
    pub price: Price,
    /// Requests allowed in flight at once.
    pub max_concurrency: usize,
}

/// One finished (or failed) call to one provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRecord {
    /// Which provider.
    pub provider: String,
    /// Which model.
    pub model: String,
    /// Which role.
    pub role: Role,
    /// What it was for (usually the target file).
    pub label: String,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Retries spent on this provider.
    pub retries: u32,
    /// Wall time including retries, in milliseconds.
    pub latency_ms: u64,
    /// Time to the first text delta of the successful attempt, in milliseconds.
    pub ttft_ms: Option<u64>,
    /// Cost in dollars.
    pub cost_usd: f64,
    /// Whether it succeeded.
    pub ok: bool,
    /// The (redacted) error, when it failed.
    pub error: Option<String>,
    /// The provider this call fell back from, when it is a fallback.
    pub fell_back_from: Option<String>,
}

/// Things the broker does that a user should see.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    /// A retryable failure; the broker waits and tries again.
    Retry {
        /// Provider.
        provider: String,
        /// 1-based retry number.
        attempt: u32,
        /// Wait before it, in milliseconds.
        wait_ms: u64,
        /// What failed (redacted).
        error: String,
    },
    /// A provider gave up; the next in the chain takes over.
    Fallback {
        /// The provider that failed.
        from: String,
        /// The next one.
        to: String,
        /// Its last error (redacted).
        error: String,
    },
}

/// Per-call context: what the call is for, where deltas and notices go, how to stop it.
pub struct CallCtx<'a> {
    /// What the call is for (e.g. the target path); used in records and transcript names.
    pub label: &'a str,
    /// Receives text deltas.
    pub sink: &'a DeltaSink<'a>,
    /// Receives retries and fallbacks.
    pub notices: &'a (dyn Fn(Notice) + Send + Sync),
    /// Stops the call.
    pub cancel: &'a CancellationToken,
}

/// A successful brokered call.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The provider's response.
    pub response: ChatResponse,
    /// The record of the successful attempt.
    pub record: CallRecord,
    /// The capabilities of the provider that answered.
    pub capabilities: Capabilities,
}

/// A failed brokered call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerError {
    /// The role has no providers configured.
    #[error("no provider is configured for the {0} role")]
    NoProvider(Role),
    /// Every provider in the chain failed; the last error is kept (redacted).
    #[error("{0}")]
    Failed(ProviderError),
    /// The user stopped the run.
    #[error("cancelled")]
    Cancelled,
}

/// The broker (see the module invariants).
pub struct Broker {
    entries: BTreeMap<String, (ProviderEntry, Arc<Semaphore>)>,
    roles: BTreeMap<Role, Vec<String>>,
    redactor: Redactor,
    records: Mutex<Vec<CallRecord>>,
    transcripts: Mutex<Option<PathBuf>>,
    seq: std::sync::atomic::AtomicU64,
}

impl Broker {
    /// A broker over `entries` (by name), with `roles` naming chains of those names, redacting
    /// `redactor`'s secrets.
    pub fn new(entries: Vec<ProviderEntry>, roles: BTreeMap<Role, Vec<String>>, redactor: Redactor) -> Self {
        let entries = entries
            .into_iter()
            .map(|e| {
                let sem = Arc::new(Semaphore::new(e.max_concurrency.max(1)));
                (e.provider.name().to_owned(), (e, sem))
            })
            .collect();
        Self {
            entries,
            roles,
            redactor,
            records: Mutex::new(Vec::new()),
            transcripts: Mutex::new(None),
            seq: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The provider names in `role`'s chain.
    pub fn chain(&self, role: Role) -> Vec<String> {
        self.roles.get(&role).cloned().unwrap_or_default()
    }

    /// The first provider of `role`'s chain.
    pub fn primary(&self, role: Role) -> Option<Arc<dyn Provider>> {
        self.chain(role).first().and_then(|n| self.entries.get(n)).map(|(e, _)| e.provider.clone())
    }

    /// Every registered provider with the roles that use it, in name order.
    pub fn providers(&self) -> Vec<(Arc<dyn Provider>, Vec<Role>)> {
        self.entries
            .iter()
            .map(|(name, (e, _))| {
                let roles = self.roles.iter().filter(|(_, c)| c.contains(name)).map(|(r, _)| *r).collect();
                (e.provider.clone(), roles)
            })
            .collect()
    }

    /// Writes sanitized transcripts of later calls under `dir` (`None` stops it).
    pub fn set_transcript_dir(&self, dir: Option<PathBuf>) {
        if let Ok(mut t) = self.transcripts.lock() {
            *t = dir;
        }
    }

    /// Drains the call records gathered so far.
    pub fn take_records(&self) -> Vec<CallRecord> {
        self.records.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default()
    }

    /// The redactor, for callers that log provider text.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    fn push_record(&self, r: CallRecord) {
        if let Ok(mut v) = self.records.lock() {
            v.push(r);
        }
    }

    /// Calls `role`'s chain with the request `build` makes for each provider's capabilities.
    ///
    /// # Errors
    /// [`BrokerError::NoProvider`], [`BrokerError::Cancelled`], or the last provider's error.
    pub async fn call(
        &self,
        role: Role,
        build: &(dyn Fn(&Capabilities) -> ChatRequest + Send + Sync),
        ctx: &CallCtx<'_>,
    ) -> Result<Reply, BrokerError> {
        let chain = self.chain(role);
        let chain: Vec<&String> = chain.iter().filter(|n| self.entries.contains_key(*n)).collect::<Vec<_>>();
        if chain.is_empty() {
            return Err(BrokerError::NoProvider(role));
        }
        let chain: Vec<String> = chain.into_iter().cloned().collect();
        let mut last: Option<ProviderError> = None;
        let mut streamed = false;
        for (i, name) in chain.iter().enumerate() {
            let Some(slot) = self.entries.get(name) else { continue };
            if let Some(prev) = &last {
                (ctx.notices)(Notice::Fallback {
                    from: chain[i - 1].clone(),
                    to: name.clone(),
                    error: prev.to_string(),
                });
            }
            let fell_back_from = (i > 0).then(|| chain[i - 1].clone());
            match self.call_one(role, slot, build, ctx, &mut streamed, fell_back_from).await {
                Ok(reply) => return Ok(reply),
                Err(e) if e.kind == ErrorKind::Cancelled => return Err(BrokerError::Cancelled),
                Err(e) => last = Some(e),
            }
        }
        Err(last.map_or(BrokerError::NoProvider(role), BrokerError::Failed))
    }

    /// One provider of the chain (`slot`: its entry and semaphore), with its retries.
    async fn call_one(
        &self,
        role: Role,
        (entry, sem): &(ProviderEntry, Arc<Semaphore>),
        build: &(dyn Fn(&Capabilities) -> ChatRequest + Send + Sync),
        ctx: &CallCtx<'_>,
        streamed: &mut bool,
        fell_back_from: Option<String>,
    ) -> Result<Reply, ProviderError> {
        let p = &entry.provider;
        let caps = p.capabilities();
        let req = build(&caps);
        let started = Instant::now();
        let mut delays = backon::ExponentialBuilder::default()
            .with_min_delay(entry.retry.base_delay)
            .with_max_delay(entry.retry.max_delay)
            .with_max_times(entry.retry.max_retries as usize)
            .with_jitter()
            .build();
        let mut retries = 0u32;
        loop {
            if ctx.cancel.is_cancelled() {
                return Err(ProviderError::new(p.name(), ErrorKind::Cancelled, "cancelled"));
            }
            if *streamed {
                (ctx.sink)(StreamDelta::Restart);
                *streamed = false;
            }
            let attempt_start = Instant::now();
            let first = Mutex::new(None::<Instant>);
            let any = std::sync::atomic::AtomicBool::new(false);
            let sink = |d: StreamDelta| {
                if let StreamDelta::Text(_) = &d
                    && let Ok(mut f) = first.lock()
                    && f.is_none()
                {
                    *f = Some(Instant::now());
                }
                any.store(true, std::sync::atomic::Ordering::Relaxed);
                (ctx.sink)(match d {
                    StreamDelta::Text(t) => StreamDelta::Text(self.redactor.apply(&t)),
                    other => other,
                });
            };
            let result = tokio::select! {
                biased;
                _ = ctx.cancel.cancelled() => Err(ProviderError::new(p.name(), ErrorKind::Cancelled, "cancelled")),
                r = async {
                    let _permit = sem.acquire().await;
                    p.stream(&req, &sink).await
                } => r,
            };
            *streamed |= any.load(std::sync::atomic::Ordering::Relaxed);
            let mut result = result.map_err(|e| self.redactor.error(e));
            if let Ok(resp) = &mut result {
                resp.text = self.redactor.apply(&resp.text);
            }
            self.transcript(role, ctx.label, p.as_ref(), &req, &result, retries);
            match result {
                Ok(response) => {
                    let usage = response.usage;
                    let ttft = first.lock().ok().and_then(|f| *f).map(|t| (t - attempt_start).as_millis() as u64);
                    let record = CallRecord {
                        provider: p.name().to_owned(),
                        model: response.model.clone(),
                        role,
                        label: ctx.label.to_owned(),
                        input_tokens: usage.input_tokens,
                        output_tokens: usage.output_tokens,
                        retries,
                        latency_ms: started.elapsed().as_millis() as u64,
                        ttft_ms: ttft,
                        cost_usd: entry.price.cost(&usage),
                        ok: true,
                        error: None,
                        fell_back_from,
                    };
                    self.push_record(record.clone());
                    return Ok(Reply { response, record, capabilities: caps });
                }
                Err(e) if e.kind == ErrorKind::Cancelled => return Err(e),
                Err(e) => {
                    let next = if e.retryable() { delays.next() } else { None };
                    let Some(backoff) = next else {
                        self.push_record(CallRecord {
                            provider: p.name().to_owned(),
                            model: p.model().to_owned(),
                            role,
                            label: ctx.label.to_owned(),
                            input_tokens: 0,
                            output_tokens: 0,
                            retries,
                            latency_ms: started.elapsed().as_millis() as u64,
                            ttft_ms: None,
                            cost_usd: 0.0,
                            ok: false,
                            error: Some(e.to_string()),
                            fell_back_from: fell_back_from.clone(),
                        });
                        return Err(e);
                    };
                    let wait = e.retry_after.map_or(backoff, |w| w.min(entry.retry.max_delay));
                    retries += 1;
                    (ctx.notices)(Notice::Retry {
                        provider: p.name().to_owned(),
                        attempt: retries,
                        wait_ms: wait.as_millis() as u64,
                        error: e.to_string(),
                    });
                    tokio::select! {
                        _ = ctx.cancel.cancelled() => {
                            return Err(ProviderError::new(p.name(), ErrorKind::Cancelled, "cancelled"));
                        }
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    fn transcript(
        &self,
        role: Role,
        label: &str,
        p: &dyn Provider,
        req: &ChatRequest,
        result: &Result<ChatResponse, ProviderError>,
        retry: u32,
    ) {
        let Some(dir) = self.transcripts.lock().ok().and_then(|t| t.clone()) else { return };
        let n = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Every name part from config or the plan is reduced to `[A-Za-z0-9.-]` (`..` included:
        // dots only ever sit between other characters of one file name, never a separator).
        let safe = |t: &str| -> String {
            t.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
        };
        let name = format!("{n:04}-{role}-{}-{}-try{retry}.json", safe(label), safe(p.name()));
        let doc = serde_json::json!({
            "provider": p.name(),
            "kind": p.kind(),
            "model": p.model(),
            "role": role,
            "label": label,
            "retry": retry,
            "request": req,
            "response": result.as_ref().ok(),
            "error": result.as_ref().err(),
        });
        let text = self.redactor.apply(&serde_json::to_string_pretty(&doc).unwrap_or_default());
        if let Err(e) = crate::task::fsio::write_atomic(&dir.join(name), text.as_bytes()) {
            tracing::warn!("cannot write provider transcript: {e}");
        }
    }
}
