//! The broker against loopback servers replaying each provider's recorded wire format: text
//! and tool-call streams, and every fault the broker must survive or report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ai_tools::broker::anthropic::AnthropicProvider;
use ai_tools::broker::http::Timeouts;
use ai_tools::broker::ollama::OllamaProvider;
use ai_tools::broker::openai::OpenAiProvider;
use ai_tools::broker::{
    Broker, BrokerError, CallCtx, ChatRequest, ErrorKind, Notice, Price, Provider, ProviderEntry, Redactor,
    RetryPolicy, Role, StreamDelta, ToolChoice, ToolSpec,
};
use common::*;
use serde_json::json;
use tokio_util::sync::CancellationToken;

const KEY: &str = "sk-ant-test-key-0123456789";

fn quick() -> Timeouts {
    Timeouts { connect: Duration::from_secs(2), first_byte: Duration::from_secs(5), idle: Duration::from_millis(400) }
}

fn entry(p: Arc<dyn Provider>) -> ProviderEntry {
    ProviderEntry {
        provider: p,
        retry: RetryPolicy { max_retries: 2, base_delay: Duration::from_millis(10), max_delay: Duration::from_secs(3) },
        price: Price { input_per_mtok: 3.0, output_per_mtok: 15.0 },
        max_concurrency: 4,
    }
}

fn anthropic(s: &Server, name: &str) -> Arc<dyn Provider> {
    Arc::new(
        AnthropicProvider::new(name, &s.url(), KEY.into(), Some("ANTHROPIC_API_KEY".into()), "claude-test", quick())
            .unwrap(),
    )
}

fn openai(s: &Server, name: &str) -> Arc<dyn Provider> {
    Arc::new(
        OpenAiProvider::new(
            name,
            &format!("{}/v1", s.url()),
            Some("sk-oai-test-999999".into()),
            Some("OPENAI_API_KEY".into()),
            "gpt-test",
            quick(),
        )
        .unwrap(),
    )
}

fn broker(entries: Vec<ProviderEntry>) -> Broker {
    let names: Vec<String> = entries.iter().map(|e| e.provider.name().to_owned()).collect();
    let mut roles = BTreeMap::new();
    roles.insert(Role::Codegen, names.clone());
    roles.insert(Role::Repair, names);
    let mut r = Redactor::default();
    r.add(KEY);
    r.add("sk-oai-test-999999");
    Broker::new(entries, roles, r)
}

struct Seen {
    text: Mutex<String>,
    restarts: Mutex<usize>,
    notices: Mutex<Vec<Notice>>,
}

async fn call(
    b: &Broker,
    req: ChatRequest,
    cancel: &CancellationToken,
) -> (Result<ai_tools::broker::Reply, BrokerError>, Arc<Seen>) {
    let seen = Arc::new(Seen { text: Mutex::default(), restarts: Mutex::default(), notices: Mutex::default() });
    let s1 = seen.clone();
    let sink = move |d: StreamDelta| match d {
        StreamDelta::Text(t) => s1.text.lock().unwrap().push_str(&t),
        StreamDelta::Restart => {
            s1.text.lock().unwrap().clear();
            *s1.restarts.lock().unwrap() += 1;
        }
    };
    let s2 = seen.clone();
    let notices = move |n: Notice| s2.notices.lock().unwrap().push(n);
    let ctx = CallCtx { label: "a.py", sink: &sink, notices: &notices, cancel };
    let build = move |_: &ai_tools::broker::Capabilities| req.clone();
    (b.call(Role::Codegen, &build, &ctx).await, seen)
}

fn text_req() -> ChatRequest {
    ChatRequest::new("sys", "write a.py", 100)
}

fn tool_req() -> ChatRequest {
    let mut r = text_req();
    r.tools = vec![ToolSpec {
        name: "write_file".into(),
        description: "write".into(),
        input_schema: json!({"type": "object", "properties": {"path": {"type": "string"}, "content": {"type": "string"}}}),
    }];
    r.tool_choice = ToolChoice::Any;
    r
}

#[tokio::test]
async fn each_provider_replays_its_recorded_text_and_tool_streams() {
    let cancel = CancellationToken::new();
    // Anthropic
    let s = Server::start(|_| Reply::Sse(fixture("anth_text.sse"))).await;
    let b = broker(vec![entry(anthropic(&s, "anthropic"))]);
    let (r, seen) = call(&b, text_req(), &cancel).await;
    let r = r.unwrap();
    assert_eq!(r.response.text, "Hello there!");
    assert_eq!(*seen.text.lock().unwrap(), "Hello there!");
    assert_eq!((r.response.usage.input_tokens, r.response.usage.output_tokens), (11, 6));
    assert_eq!(r.response.stop_reason.as_deref(), Some("end_turn"));
    let q = &s.received()[0];
    assert_eq!(q.path, "/v1/messages");
    assert_eq!(q.header("x-api-key"), Some(KEY));
    assert_eq!(q.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(q.body["stream"], true);
    assert_eq!(q.body["system"], "sys");

    let s = Server::start(|_| Reply::Sse(fixture("anth_tool.sse"))).await;
    let b = broker(vec![entry(anthropic(&s, "anthropic"))]);
    let r = call(&b, tool_req(), &cancel).await.0.unwrap();
    assert_eq!(r.response.tool_calls.len(), 1);
    assert_eq!(r.response.tool_calls[0].name, "write_file");
    assert_eq!(r.response.tool_calls[0].arguments, json!({"path": "src/main.py", "content": "print(1)\n"}));
    assert_eq!(s.received()[0].body["tool_choice"], json!({"type": "any"}));

    // OpenAI
    let s = Server::start(|_| Reply::Sse(fixture("oai_text.sse"))).await;
    let b = broker(vec![entry(openai(&s, "openai"))]);
    let r = call(&b, text_req(), &cancel).await.0.unwrap();
    assert_eq!(r.response.text, "Hello there!");
    assert_eq!((r.response.usage.input_tokens, r.response.usage.output_tokens), (14, 3));
    let s = Server::start(|_| Reply::Sse(fixture("oai_tool.sse"))).await;
    let b = broker(vec![entry(openai(&s, "openai"))]);
    let r = call(&b, tool_req(), &cancel).await.0.unwrap();
    assert_eq!(r.response.tool_calls[0].arguments, json!({"path": "src/main.py", "content": "print(1)\n"}));
    assert_eq!(r.response.tool_calls[0].id, "call_5uxE");
    assert_eq!(s.received()[0].body["tool_choice"], "required");

    // Ollama
    let s = Server::start(|_| Reply::Ndjson(fixture("ollama_text.ndjson"))).await;
    let o: Arc<dyn Provider> = Arc::new(OllamaProvider::new("ollama", &s.addr.to_string(), "qwen", quick()).unwrap());
    assert!(!o.capabilities().tool_choice, "Ollama says it has no tool choice");
    let b = broker(vec![entry(o)]);
    let r = call(&b, text_req(), &cancel).await.0.unwrap();
    assert_eq!(r.response.text, "```python\nprint(1)\n```\n");
    assert_eq!((r.response.usage.input_tokens, r.response.usage.output_tokens), (42, 9));
    assert_eq!(s.received()[0].path, "/api/chat");
    let s = Server::start(|_| Reply::Ndjson(fixture("ollama_tool.ndjson"))).await;
    let o: Arc<dyn Provider> = Arc::new(OllamaProvider::new("ollama", &s.url(), "qwen", quick()).unwrap());
    let b = broker(vec![entry(o)]);
    let r = call(&b, tool_req(), &cancel).await.0.unwrap();
    assert_eq!(r.response.tool_calls[0].arguments, json!({"content": "print(1)\n"}));
}

fn status(code: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    Reply::Status {
        status: code,
        headers: headers.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
        body: body.into(),
    }
}

async fn retried_then_ok(first: Reply) -> (Server, ai_tools::broker::Reply, Arc<Seen>) {
    let s = Server::start(|_| Reply::Sse(fixture("anth_text.sse"))).await;
    s.push(first);
    let b = broker(vec![entry(anthropic(&s, "anthropic"))]);
    let (r, seen) = call(&b, text_req(), &CancellationToken::new()).await;
    (s, r.unwrap(), seen)
}

#[tokio::test]
async fn retries_429_honouring_retry_after() {
    let (s, r, seen) = retried_then_ok(status(
        429,
        &[("retry-after", "1")],
        r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#,
    ))
    .await;
    let reqs = s.received();
    assert_eq!(reqs.len(), 2);
    let waited = reqs[1].at - reqs[0].at;
    assert!(waited >= Duration::from_millis(950), "waited {waited:?}");
    assert_eq!(r.record.retries, 1);
    let n = seen.notices.lock().unwrap();
    assert!(matches!(&n[0], Notice::Retry { wait_ms: 1000, .. }), "{n:?}");
}

#[tokio::test]
async fn a_huge_retry_after_waits_max_delay_instead_of_panicking() {
    for (header, value) in [("retry-after", "1e30"), ("retry-after-ms", "inf")] {
        let body = r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#;
        let (s, r, seen) = retried_then_ok(status(429, &[(header, value)], body)).await;
        assert_eq!(s.received().len(), 2, "{header}: {value}");
        assert_eq!(r.record.retries, 1);
        let n = seen.notices.lock().unwrap();
        assert!(matches!(&n[0], Notice::Retry { wait_ms: 3000, .. }), "capped at max_delay (3 s): {n:?}");
    }
}

#[tokio::test]
async fn retries_529_503_cut_streams_error_events_and_stalls() {
    let overloaded = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    for first in [
        status(529, &[], overloaded),
        status(503, &[], overloaded),
        Reply::Sse(fixture("anth_err.sse")),
        Reply::Truncated { body: fixture("anth_text.sse"), n: 600 },
        Reply::Stall { body: fixture("anth_text.sse"), n: 600 },
    ] {
        let shown = format!("{first:?}").chars().take(40).collect::<String>();
        let (s, r, seen) = retried_then_ok(first).await;
        assert_eq!(s.received().len(), 2, "{shown}");
        assert_eq!(r.response.text, "Hello there!", "{shown}");
        assert_eq!(*seen.text.lock().unwrap(), "Hello there!", "{shown}: restart dropped the partial reply");
        assert_eq!(r.record.retries, 1, "{shown}");
    }
}

#[tokio::test]
async fn mid_stream_error_event_carries_type_and_message() {
    let s = Server::start(|_| Reply::Sse(fixture("anth_err.sse"))).await;
    let b = broker(vec![entry(anthropic(&s, "anthropic"))]);
    let err = call(&b, text_req(), &CancellationToken::new()).await.0.unwrap_err();
    let BrokerError::Failed(e) = err else { panic!("{err}") };
    assert_eq!(e.kind, ErrorKind::StreamError);
    assert_eq!(e.error_type.as_deref(), Some("overloaded_error"));
    assert_eq!(e.message, "Overloaded");
    assert_eq!(s.received().len(), 3, "1 attempt + 2 retries");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let s = Server::start(|_| {
        status(
            400,
            &[("request-id", "req_400")],
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large"}}"#,
        )
    })
    .await;
    let b = broker(vec![entry(anthropic(&s, "anthropic"))]);
    let err = call(&b, text_req(), &CancellationToken::new()).await.0.unwrap_err().to_string();
    assert_eq!(s.received().len(), 1);
    assert!(
        err.contains("HTTP 400")
            && err.contains("invalid_request_error")
            && err.contains("max_tokens: too large")
            && err.contains("req_400"),
        "{err}"
    );

    let s = Server::start(|_| {
        status(
            401,
            &[],
            &format!(
                r#"{{"type":"error","error":{{"type":"authentication_error","message":"invalid x-api-key {KEY}"}}}}"#
            ),
        )
    })
    .await;
    let b = broker(vec![entry(anthropic(&s, "anthropic"))]);
    let err = call(&b, text_req(), &CancellationToken::new()).await.0.unwrap_err().to_string();
    assert_eq!(s.received().len(), 1);
    assert!(err.contains("API key was refused") && err.contains("$ANTHROPIC_API_KEY"), "{err}");
    assert!(!err.contains(KEY), "the key leaked: {err}");

    let s = Server::start(|_| status(503, &[("x-should-retry", "false")], "{}")).await;
    let b = broker(vec![entry(anthropic(&s, "anthropic"))]);
    assert!(call(&b, text_req(), &CancellationToken::new()).await.0.is_err());
    assert_eq!(s.received().len(), 1, "x-should-retry: false is honoured");
}

#[tokio::test]
async fn chain_falls_through_to_the_next_provider() {
    // The first provider refuses connections (nothing listens there).
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        a
    };
    let first: Arc<dyn Provider> = Arc::new(
        AnthropicProvider::new("primary", &format!("http://{dead}"), KEY.into(), None, "claude-test", quick()).unwrap(),
    );
    let s = Server::start(|_| Reply::Sse(fixture("oai_text.sse"))).await;
    let b = broker(vec![entry(first), entry(openai(&s, "backup"))]);
    let (r, seen) = call(&b, text_req(), &CancellationToken::new()).await;
    let r = r.unwrap();
    assert_eq!(r.record.provider, "backup");
    assert_eq!(r.record.fell_back_from.as_deref(), Some("primary"));
    let n = seen.notices.lock().unwrap();
    assert_eq!(n.iter().filter(|x| matches!(x, Notice::Retry { .. })).count(), 2, "{n:?}");
    assert!(
        matches!(n.last(), Some(Notice::Fallback { from, to, .. }) if from == "primary" && to == "backup"),
        "{n:?}"
    );
    let records = b.take_records();
    assert_eq!(records.len(), 2);
    assert!(!records[0].ok && records[0].error.as_deref().unwrap_or("").contains("primary"));
    assert!(records[1].ok && records[1].cost_usd > 0.0);
}

#[tokio::test]
async fn cancellation_aborts_a_stalled_request_promptly() {
    let s = Server::start(|_| Reply::Stall { body: fixture("anth_text.sse"), n: 600 }).await;
    let slow = Timeouts { idle: Duration::from_secs(60), ..quick() };
    let p: Arc<dyn Provider> =
        Arc::new(AnthropicProvider::new("anthropic", &s.url(), KEY.into(), None, "m", slow).unwrap());
    let b = broker(vec![entry(p)]);
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        c2.cancel();
    });
    let t = Instant::now();
    let r = call(&b, text_req(), &cancel).await.0;
    assert!(matches!(r, Err(BrokerError::Cancelled)), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

/// A provider name from config becomes part of a transcript file name: one with `/` and `..`
/// still lands as one file inside the transcript dir, and an `HttpBase`-holding provider's
/// `Debug` never shows a token in its base URL.
#[tokio::test]
async fn provider_names_and_base_urls_cannot_escape_or_leak() {
    let s = Server::start(|_| Reply::Sse(fixture("anth_text.sse"))).await;
    let b = broker(vec![entry(anthropic(&s, "../../pwned"))]);
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("transcripts");
    std::fs::create_dir_all(&dir).unwrap();
    b.set_transcript_dir(Some(dir.clone()));
    let (r, _) = call(&b, text_req(), &CancellationToken::new()).await;
    r.unwrap();
    let names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].contains("pwned") && !names[0].contains('/'), "{names:?}");
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1, "nothing written beside the dir");

    let url = s.url().replacen("http://", "http://user:sk-secret-in-url@", 1);
    let p = OpenAiProvider::new("x", &format!("{url}/v1?token=sk-q"), None, None, "m", quick()).unwrap();
    let shown = format!("{p:?}");
    assert!(!shown.contains("sk-secret-in-url") && !shown.contains("sk-q"), "{shown}");
}
