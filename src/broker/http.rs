//! HTTP plumbing shared by the remote providers: the client, status-to-error mapping with the
//! retry headers, the content-type check of a streaming reply, and reading an SSE or NDJSON
//! stream under first-byte and idle timeouts and the reply caps ([`ReplyCaps`]).
//!
//! Invariants: nothing here logs or returns a request header; an API key lives only in the
//! outgoing request. A success response whose body is not the expected stream (a proxy's JSON
//! or HTML error page) is read, capped, as an error with its message, not as a cut stream.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use reqwest::header::HeaderMap;

use crate::broker::types::{ErrorKind, ProviderError};

/// Connect, first-byte and idle timeouts for one provider.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    /// TCP/TLS connect.
    pub connect: Duration,
    /// From sending the request to the response headers and first stream event.
    pub first_byte: Duration,
    /// Longest silence between two stream events.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { connect: Duration::from_secs(10), first_byte: Duration::from_secs(120), idle: Duration::from_secs(60) }
    }
}

/// A client with the connect timeout set.
///
/// # Errors
/// [`ErrorKind::Config`] when the TLS backend cannot start.
pub fn client(provider: &str, t: &Timeouts) -> Result<reqwest::Client, ProviderError> {
    reqwest::Client::builder()
        .connect_timeout(t.connect)
        .build()
        .map_err(|e| ProviderError::new(provider, ErrorKind::Config, format!("cannot build HTTP client: {e}")))
}

/// `url` without credentials or query: `scheme://host[:port]/path`, safe to show.
pub fn safe_url(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// `url` (a string) as [`safe_url`] shows it.
pub fn shown(url: &str) -> String {
    reqwest::Url::parse(url).map_or_else(|_| "the endpoint".to_owned(), |u| safe_url(&u))
}

/// Maps a transport error (no response) to a provider error. The URL is shown without
/// credentials or query string (a base URL may carry a token there).
pub fn transport_error(provider: &str, e: &reqwest::Error) -> ProviderError {
    let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Connect };
    let mut msg = match e.url() {
        Some(u) => format!("request to {} failed", safe_url(u)),
        None => "request failed".to_owned(),
    };
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    ProviderError::new(provider, kind, msg)
}

/// The longest wait a `retry-after` header is taken at (one day); the broker then caps it at
/// the retry policy's `max_delay`.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// The wait a response asks for: `retry-after-ms`, else `retry-after` in seconds or as an HTTP
/// date; at most [`MAX_RETRY_AFTER`] (a huge or infinite value is clamped, never a panic);
/// negative or NaN values are ignored.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).map(str::trim);
    let clamp = |secs: f64| {
        let capped = secs.min(MAX_RETRY_AFTER.as_secs_f64());
        Duration::try_from_secs_f64(capped).unwrap_or(MAX_RETRY_AFTER)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()).filter(|v| *v >= 0.0) {
        return Some(clamp(ms / 1000.0));
    }
    let v = get("retry-after")?;
    if let Ok(secs) = v.parse::<f64>() {
        return (secs >= 0.0).then(|| clamp(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// The request id a provider put in its response headers.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    ["request-id", "x-request-id", "openai-request-id"]
        .iter()
        .find_map(|k| headers.get(*k).and_then(|v| v.to_str().ok()).map(str::to_owned))
}

/// Turns a non-success response into a [`ProviderError`], reading the body's error type and
/// message (`{"error": {"type", "message"}}`, Anthropic's `{"type": "error", "error": …}`,
/// Ollama's `{"error": "…"}`). A 401/403 names `key_env`, the variable the key came from.
pub async fn status_error(provider: &str, resp: reqwest::Response, key_env: Option<&str>) -> ProviderError {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body =
        tokio::time::timeout(Duration::from_secs(10), resp.text()).await.ok().and_then(Result::ok).unwrap_or_default();
    let (error_type, message) = parse_error_body(&body);
    let mut e = ProviderError::new(provider, ErrorKind::Http, message.unwrap_or_else(|| truncate(&body, 300)));
    e.status = Some(status);
    e.error_type = error_type;
    e.request_id = request_id(&headers);
    e.retry_after = retry_after(&headers);
    e.should_retry = headers.get("x-should-retry").and_then(|v| v.to_str().ok()).map(|v| v.trim() == "true");
    if matches!(status, 401 | 403) {
        e.kind = ErrorKind::Auth;
        let from = key_env.map_or_else(|| "no key was configured".to_owned(), |k| format!("the key came from ${k}"));
        e.message = format!("the API key was refused ({from}): {}", e.message);
    }
    e
}

/// (error type, message) from a provider's JSON error body.
pub fn parse_error_body(body: &str) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else { return (None, None) };
    let err = v.get("error").unwrap_or(&v);
    if let Some(s) = err.as_str() {
        return (None, Some(s.to_owned()));
    }
    let ty = err
        .get("type")
        .or_else(|| err.get("code"))
        .and_then(|t| t.as_str().map(str::to_owned).or_else(|| Some(t.to_string())));
    let msg = err.get("message").and_then(|m| m.as_str()).map(str::to_owned);
    (ty.filter(|t| t != "null"), msg)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.trim().to_owned();
    }
    format!("{}…", s.chars().take(n).collect::<String>().trim())
}

/// A stream of raw body chunks.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;

/// The body framing a streaming request expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Server-sent events (`text/event-stream`).
    Sse,
    /// Newline-delimited JSON (`application/x-ndjson`; any JSON type is read line by line).
    Ndjson,
}

impl Wire {
    /// Whether a response's `content-type` fits; a missing one is given the benefit of the
    /// doubt (the parser reports what does not parse).
    fn accepts(self, content_type: Option<&str>) -> bool {
        let Some(ct) = content_type.map(str::to_ascii_lowercase) else { return true };
        match self {
            Wire::Sse => ct.contains("event-stream"),
            Wire::Ndjson => ct.contains("json"),
        }
    }
}

/// Most bytes of a wrong-type success body read for its error message.
const ERROR_BODY_CAP: usize = 64 * 1024;

/// Sends `req`, waiting at most the first-byte timeout for response headers, and checks that a
/// success response carries the `wire` content type.
///
/// # Errors
/// Timeout, transport or status errors as [`ProviderError`]s; a success response of another
/// content type becomes [`ErrorKind::Http`] with status 200 and the body's error message
/// (JSON `error` object, HTML title, or the start of the text).
pub async fn send(
    provider: &str,
    req: reqwest::RequestBuilder,
    t: &Timeouts,
    key_env: Option<&str>,
    wire: Wire,
) -> Result<(HeaderMap, ByteStream), ProviderError> {
    let resp = match tokio::time::timeout(t.first_byte, req.send()).await {
        Err(_) => {
            return Err(ProviderError::new(
                provider,
                ErrorKind::Timeout,
                format!("no response within {:.0?} (first-byte timeout)", t.first_byte),
            ));
        }
        Ok(Err(e)) => return Err(transport_error(provider, &e)),
        Ok(Ok(r)) => r,
    };
    if !resp.status().is_success() {
        return Err(status_error(provider, resp, key_env).await);
    }
    let headers = resp.headers().clone();
    let ctype = headers.get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if !wire.accepts(ctype.as_deref()) {
        return Err(wrong_type_error(provider, resp, ctype.as_deref().unwrap_or_default(), wire).await);
    }
    Ok((headers, Box::pin(resp.bytes_stream())))
}

/// Reads (at most [`ERROR_BODY_CAP`] bytes of) a success body of the wrong content type as an
/// error.
async fn wrong_type_error(provider: &str, resp: reqwest::Response, ctype: &str, wire: Wire) -> ProviderError {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    let read = async {
        while let Some(Ok(chunk)) = stream.next().await {
            body.extend_from_slice(&chunk);
            if body.len() >= ERROR_BODY_CAP {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    body.truncate(ERROR_BODY_CAP);
    let text = String::from_utf8_lossy(&body);
    let (error_type, message) =
        if ctype.to_ascii_lowercase().contains("html") { (None, html_message(&text)) } else { parse_error_body(&text) };
    let expected = match wire {
        Wire::Sse => "an event stream",
        Wire::Ndjson => "an NDJSON stream",
    };
    let said = message.unwrap_or_else(|| truncate(&text, 300));
    let mut e = ProviderError::new(
        provider,
        ErrorKind::Http,
        format!("expected {expected} but got a `{ctype}` body (a proxy or gateway error?): {said}"),
    );
    e.status = Some(status);
    e.error_type = error_type;
    e.request_id = request_id(&headers);
    e.should_retry = headers.get("x-should-retry").and_then(|v| v.to_str().ok()).map(|v| v.trim() == "true");
    e
}

/// The `<title>` of an HTML page, else its text without tags, shortened.
fn html_message(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    if let (Some(a), Some(b)) = (lower.find("<title>"), lower.find("</title>"))
        && a + 7 <= b
    {
        let t = html[a + 7..b].trim();
        if !t.is_empty() {
            return Some(truncate(t, 300));
        }
    }
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!words.is_empty()).then(|| truncate(&words, 300))
}

/// Caps on one streamed reply: body bytes, and content deltas (each carries at least one
/// token, so more deltas than the request's `max_tokens` means the server ignores it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyCaps {
    /// Most body bytes read.
    pub max_bytes: u64,
    /// Most content deltas (text or tool-argument fragments) accepted.
    pub max_deltas: u32,
}

/// Where the readers keep count against their [`ReplyCaps`].
struct Tally {
    provider: String,
    caps: ReplyCaps,
    deltas: u32,
    over_bytes: Arc<AtomicBool>,
}

impl Tally {
    /// Wraps `body` so it ends after `caps.max_bytes` bytes, flagging that it was cut.
    fn new(provider: &str, body: ByteStream, caps: ReplyCaps) -> (Self, ByteStream) {
        let over = Arc::new(AtomicBool::new(false));
        let flag = over.clone();
        let capped = body.scan(0u64, move |seen, item| {
            if let Ok(b) = &item {
                *seen += b.len() as u64;
                if *seen > caps.max_bytes {
                    flag.store(true, Ordering::Relaxed);
                    return futures::future::ready(None);
                }
            }
            futures::future::ready(Some(item))
        });
        (Self { provider: provider.to_owned(), caps, deltas: 0, over_bytes: over }, Box::pin(capped))
    }

    /// The byte-cap error, when the body was cut at the cap.
    fn over_bytes(&self) -> Result<(), ProviderError> {
        if self.over_bytes.load(Ordering::Relaxed) {
            return Err(ProviderError::new(
                &self.provider,
                ErrorKind::Limit,
                format!(
                    "the reply went over {} bytes without ending (max_reply_bytes under [providers.{}])",
                    self.caps.max_bytes, self.provider
                ),
            ));
        }
        Ok(())
    }

    fn delta(&mut self) -> Result<(), ProviderError> {
        self.deltas = self.deltas.saturating_add(1);
        if self.deltas > self.caps.max_deltas {
            return Err(ProviderError::new(
                &self.provider,
                ErrorKind::Limit,
                format!(
                    "the reply went over the request's max_tokens ({}) without ending: the server does not honour the limit",
                    self.caps.max_deltas
                ),
            ));
        }
        Ok(())
    }
}

/// One SSE event: its `event:` name (empty when absent) and `data:`.
#[derive(Debug, Clone)]
pub struct SseEvent {
    /// Event name.
    pub event: String,
    /// Data payload.
    pub data: String,
}

/// Reads SSE events from `body`, failing with a timeout when the first event takes longer than
/// `t.first_byte` or a later one longer than `t.idle`, and with [`ErrorKind::Limit`] past its
/// [`ReplyCaps`]. `Ok(None)` at the end of the body.
pub struct SseReader {
    inner: Pin<Box<dyn Stream<Item = Result<eventsource_stream::Event, String>> + Send>>,
    provider: String,
    t: Timeouts,
    seen: bool,
    tally: Tally,
}

impl SseReader {
    /// Wraps a body stream.
    pub fn new(provider: &str, body: ByteStream, t: Timeouts, caps: ReplyCaps) -> Self {
        let (tally, body) = Tally::new(provider, body, caps);
        let inner = body.eventsource().map(|r| r.map_err(|e| e.to_string()));
        Self { inner: Box::pin(inner), provider: provider.to_owned(), t, seen: false, tally }
    }

    /// Counts one content delta (a text or tool-argument fragment) against the request's
    /// `max_tokens`.
    ///
    /// # Errors
    /// [`ErrorKind::Limit`] past the cap.
    pub fn delta(&mut self) -> Result<(), ProviderError> {
        self.tally.delta()
    }

    /// The next event.
    ///
    /// # Errors
    /// [`ErrorKind::Timeout`] on silence, [`ErrorKind::StreamCut`] on a broken body,
    /// [`ErrorKind::Limit`] past the byte cap.
    pub async fn next(&mut self) -> Result<Option<SseEvent>, ProviderError> {
        let limit = if self.seen { self.t.idle } else { self.t.first_byte };
        let next = tokio::time::timeout(limit, self.inner.next()).await;
        self.tally.over_bytes()?;
        match next {
            Err(_) => Err(ProviderError::new(
                &self.provider,
                ErrorKind::Timeout,
                format!("stream stalled: no event for {limit:.0?} (idle timeout)"),
            )),
            Ok(None) => Ok(None),
            Ok(Some(Err(e))) => {
                Err(ProviderError::new(&self.provider, ErrorKind::StreamCut, format!("stream broke: {e}")))
            }
            Ok(Some(Ok(ev))) => {
                self.seen = true;
                Ok(Some(SseEvent { event: ev.event, data: ev.data }))
            }
        }
    }
}

/// Reads newline-delimited JSON lines under the same timeouts and caps as [`SseReader`].
pub struct NdjsonReader {
    body: ByteStream,
    buf: Vec<u8>,
    provider: String,
    t: Timeouts,
    seen: bool,
    done: bool,
    tally: Tally,
}

impl NdjsonReader {
    /// Wraps a body stream.
    pub fn new(provider: &str, body: ByteStream, t: Timeouts, caps: ReplyCaps) -> Self {
        let (tally, body) = Tally::new(provider, body, caps);
        Self { body, buf: Vec::new(), provider: provider.to_owned(), t, seen: false, done: false, tally }
    }

    /// As [`SseReader::delta`].
    ///
    /// # Errors
    /// [`ErrorKind::Limit`] past the cap.
    pub fn delta(&mut self) -> Result<(), ProviderError> {
        self.tally.delta()
    }

    /// The next non-empty line.
    ///
    /// # Errors
    /// As [`SseReader::next`].
    pub async fn next(&mut self) -> Result<Option<String>, ProviderError> {
        loop {
            self.tally.over_bytes()?;
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                let s = String::from_utf8_lossy(&line).trim().to_owned();
                if s.is_empty() {
                    continue;
                }
                return Ok(Some(s));
            }
            if self.done {
                let rest = String::from_utf8_lossy(&std::mem::take(&mut self.buf)).trim().to_owned();
                return Ok((!rest.is_empty()).then_some(rest));
            }
            let limit = if self.seen { self.t.idle } else { self.t.first_byte };
            match tokio::time::timeout(limit, self.body.next()).await {
                Err(_) => {
                    return Err(ProviderError::new(
                        &self.provider,
                        ErrorKind::Timeout,
                        format!("stream stalled: no data for {limit:.0?} (idle timeout)"),
                    ));
                }
                Ok(None) => self.done = true,
                Ok(Some(Err(e))) => {
                    return Err(ProviderError::new(&self.provider, ErrorKind::StreamCut, format!("stream broke: {e}")));
                }
                Ok(Some(Ok(b))) => {
                    self.seen = true;
                    self.buf.extend_from_slice(&b);
                }
            }
        }
    }
}

/// GETs `url` (with `headers`) under the first-byte timeout and returns the JSON body.
///
/// # Errors
/// Timeout, transport, status or decode errors.
pub async fn get_json(
    provider: &str,
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
    t: &Timeouts,
    key_env: Option<&str>,
) -> Result<serde_json::Value, ProviderError> {
    let mut rb = client.get(url);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let resp = match tokio::time::timeout(t.first_byte, rb.send()).await {
        Err(_) => {
            return Err(ProviderError::new(
                provider,
                ErrorKind::Timeout,
                format!("no response from {} within {:.0?}", shown(url), t.first_byte),
            ));
        }
        Ok(Err(e)) => return Err(transport_error(provider, &e)),
        Ok(Ok(r)) => r,
    };
    if !resp.status().is_success() {
        return Err(status_error(provider, resp, key_env).await);
    }
    resp.json().await.map_err(|e| ProviderError::new(provider, ErrorKind::Decode, format!("{}: {e}", shown(url))))
}

/// The number of entries in a model-list response (`data` or `models` array).
pub fn count_models(v: &serde_json::Value) -> usize {
    v.get("data").or_else(|| v.get("models")).and_then(serde_json::Value::as_array).map_or(0, Vec::len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        for huge in ["1e30", "inf", "1e400"] {
            let mut h = HeaderMap::new();
            h.insert("retry-after", huge.parse().unwrap());
            assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER), "{huge}");
            let mut h = HeaderMap::new();
            h.insert("retry-after-ms", huge.parse().unwrap());
            assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER), "{huge} ms");
        }
        let mut h = HeaderMap::new();
        h.insert("retry-after", "nan".parse().unwrap());
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after-ms", HeaderValue::from_static("150"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
        let mut d = HeaderMap::new();
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        d.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        let w = retry_after(&d).unwrap();
        assert!(w > Duration::from_secs(25) && w <= Duration::from_secs(30), "{w:?}");
    }

    #[test]
    fn error_bodies_of_each_provider() {
        assert_eq!(
            parse_error_body(r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
            (Some("overloaded_error".into()), Some("Overloaded".into()))
        );
        assert_eq!(
            parse_error_body(r#"{"error":{"message":"bad","type":"invalid_request_error","code":null}}"#),
            (Some("invalid_request_error".into()), Some("bad".into()))
        );
        assert_eq!(parse_error_body(r#"{"error":"model not found"}"#), (None, Some("model not found".into())));
    }
}
