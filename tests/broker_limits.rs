//! Hostile provider streams against loopback servers: a stream that never ends is stopped by
//! the request's `max_tokens`, the reply byte cap or the call's deadline (each a clear error,
//! not retried); a `200` carrying a gateway's JSON or HTML error surfaces its message; error
//! fields and provider structs never show the key; Ollama requests carry the context window.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_tools::broker::anthropic::AnthropicProvider;
use ai_tools::broker::base::StreamLimits;
use ai_tools::broker::http::Timeouts;
use ai_tools::broker::ollama::OllamaProvider;
use ai_tools::broker::openai::OpenAiProvider;
use ai_tools::broker::{
    Broker, BrokerError, CallCtx, ChatRequest, ErrorKind, Notice, Price, Provider, ProviderEntry, ProviderError,
    Redactor, RetryPolicy, Role, StreamDelta,
};
use common::*;
use tokio_util::sync::CancellationToken;

const KEY: &str = "sk-oai-test-limits-777777";
const ANTH_KEY: &str = "sk-ant-test-limits-888888";

fn quick() -> Timeouts {
    Timeouts { connect: Duration::from_secs(2), first_byte: Duration::from_secs(5), idle: Duration::from_secs(2) }
}

fn openai(s: &Server, limits: StreamLimits) -> Arc<dyn Provider> {
    let p = OpenAiProvider::new("openai", &format!("{}/v1", s.url()), Some(KEY.into()), None, "gpt-test", quick())
        .unwrap()
        .with_limits(limits);
    Arc::new(p)
}

fn broker(p: Arc<dyn Provider>) -> Broker {
    let entry = ProviderEntry {
        provider: p.clone(),
        retry: RetryPolicy { max_retries: 2, base_delay: Duration::from_millis(10), max_delay: Duration::from_secs(1) },
        price: Price::default(),
        max_concurrency: 2,
    };
    let mut roles = BTreeMap::new();
    roles.insert(Role::Codegen, vec![p.name().to_owned()]);
    let mut r = Redactor::default();
    r.add(KEY);
    r.add(ANTH_KEY);
    Broker::new(vec![entry], roles, r)
}

/// Calls the codegen role with `req`; returns the provider error, the notices and the reply
/// text that streamed.
async fn fail(b: &Broker, req: ChatRequest) -> (ProviderError, Vec<Notice>) {
    let notices = std::sync::Mutex::new(Vec::new());
    let sink = |_: StreamDelta| {};
    let on_notice = |n: Notice| notices.lock().unwrap().push(n);
    let cancel = CancellationToken::new();
    let ctx = CallCtx { label: "a.py", sink: &sink, notices: &on_notice, cancel: &cancel };
    let build = move |_: &ai_tools::broker::Capabilities| req.clone();
    match b.call(Role::Codegen, &build, &ctx).await {
        Err(BrokerError::Failed(e)) => (e, notices.into_inner().unwrap()),
        other => panic!("expected a provider error, got {other:?}"),
    }
}

/// An OpenAI stream's first chunk, then the same content delta forever.
fn trickle(delta_text: &str, every: Duration) -> Reply {
    let chunk = |content: &str| {
        let v = serde_json::json!({"id": "c1", "object": "chat.completion.chunk", "model": "gpt-test",
            "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]});
        format!("data: {v}\n\n")
    };
    Reply::Trickle { head: chunk(""), chunk: chunk(delta_text), every }
}

#[tokio::test]
async fn a_never_ending_stream_stops_at_max_tokens_without_retry() {
    let s = Server::start(|_| trickle("tok ", Duration::from_millis(1))).await;
    let b = broker(openai(&s, StreamLimits::default()));
    let t = Instant::now();
    let (e, notices) = fail(&b, ChatRequest::new("sys", "go", 50)).await;
    assert_eq!(e.kind, ErrorKind::Limit, "{e}");
    assert!(e.message.contains("max_tokens (50)"), "{e}");
    assert_eq!(s.received().len(), 1, "a limit is not retried");
    assert!(notices.is_empty(), "{notices:?}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[tokio::test]
async fn a_never_ending_stream_stops_at_the_byte_cap() {
    let big = "x".repeat(2000);
    let s = Server::start(move |_| trickle(&big, Duration::from_millis(1))).await;
    let limits = StreamLimits { max_reply_bytes: 64 * 1024, ..StreamLimits::default() };
    let b = broker(openai(&s, limits));
    let (e, _) = fail(&b, ChatRequest::new("sys", "go", 1_000_000)).await;
    assert_eq!(e.kind, ErrorKind::Limit, "{e}");
    assert!(e.message.contains("65536 bytes") && e.message.contains("max_reply_bytes"), "{e}");
    assert_eq!(s.received().len(), 1);
}

#[tokio::test]
async fn a_slow_trickle_stops_at_the_deadline() {
    // One delta every 100 ms never trips the 2 s idle timeout.
    let s = Server::start(|_| trickle("t", Duration::from_millis(100))).await;
    let limits = StreamLimits { deadline: Duration::from_millis(1500), ..StreamLimits::default() };
    let b = broker(openai(&s, limits));
    let t = Instant::now();
    let (e, _) = fail(&b, ChatRequest::new("sys", "go", 1_000_000)).await;
    assert_eq!(e.kind, ErrorKind::Limit, "{e}");
    assert!(e.message.contains("deadline"), "{e}");
    assert_eq!(s.received().len(), 1);
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
}

#[tokio::test]
async fn a_200_carrying_a_gateway_error_surfaces_its_message() {
    let json = r#"{"error":{"message":"upstream quota exhausted for org","type":"insufficient_quota","code":"quota"}}"#;
    let s = Server::start(move |_| Reply::Typed {
        status: 200,
        content_type: "application/json".into(),
        body: json.into(),
    })
    .await;
    let (e, _) = fail(&broker(openai(&s, StreamLimits::default())), ChatRequest::new("s", "u", 10)).await;
    assert!(e.message.contains("upstream quota exhausted for org"), "{e}");
    assert_eq!(e.error_type.as_deref(), Some("insufficient_quota"));
    assert!(!e.to_string().contains("[DONE]"), "{e}");
    assert_eq!(s.received().len(), 1, "not retried");

    let html = "<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>";
    let s = Server::start(move |_| Reply::Typed {
        status: 200,
        content_type: "text/html; charset=utf-8".into(),
        body: html.into(),
    })
    .await;
    let (e, _) = fail(&broker(openai(&s, StreamLimits::default())), ChatRequest::new("s", "u", 10)).await;
    assert!(e.message.contains("502 Bad Gateway") && e.message.contains("text/html"), "{e}");
    assert_eq!(s.received().len(), 1);

    // Ollama's NDJSON endpoint too.
    let s = Server::start(move |_| Reply::Typed {
        status: 200,
        content_type: "text/html".into(),
        body: "<html><title>Access denied by proxy</title></html>".into(),
    })
    .await;
    let o: Arc<dyn Provider> = Arc::new(OllamaProvider::new("ollama", &s.url(), "qwen", quick()).unwrap());
    let (e, _) = fail(&broker(o), ChatRequest::new("s", "u", 10)).await;
    assert!(e.message.contains("Access denied by proxy"), "{e}");
}

#[tokio::test]
async fn every_error_field_is_redacted_and_providers_cannot_print_their_key() {
    let body = format!(r#"{{"error":{{"message":"bad key","type":"{KEY}","code":"{KEY}"}}}}"#);
    let s = Server::start(move |_| Reply::Status { status: 400, headers: vec![], body: body.clone() }).await;
    let p = openai(&s, StreamLimits::default());
    let (e, _) = fail(&broker(p.clone()), ChatRequest::new("s", "u", 10)).await;
    assert_eq!(e.error_type.as_deref(), Some("[REDACTED]"), "{e:?}");
    assert!(!e.to_string().contains(KEY) && !serde_json::to_string(&e).unwrap().contains(KEY), "{e:?}");
    // Without the broker (as `ai-tools providers` probes), the provider redacts its own key.
    let probe = p.probe().await.unwrap_err();
    assert!(!format!("{probe:?}").contains(KEY), "{probe:?}");

    let a = AnthropicProvider::new("a", "http://127.0.0.1:9", ANTH_KEY.into(), None, "m", quick()).unwrap();
    let o = OpenAiProvider::new("o", "http://127.0.0.1:9", Some(KEY.into()), None, "m", quick()).unwrap();
    for shown in [format!("{a:?}"), format!("{o:?}"), format!("{:?}", broker(p).redactor())] {
        assert!(!shown.contains(KEY) && !shown.contains(ANTH_KEY), "{shown}");
    }
}

#[tokio::test]
async fn ollama_requests_carry_the_context_window() {
    let s = Server::start(|_| Reply::Ndjson(fixture("ollama_text.ndjson"))).await;
    let mut cfg = ai_tools::config::Config { provider: Some("ollama".into()), ..Default::default() };
    cfg.providers
        .insert("ollama".into(), ai_tools::config::ProviderConfig { n_ctx: Some(32_768), ..Default::default() });
    let url = s.url();
    let env = move |k: &str| (k == "OLLAMA_HOST").then(|| url.clone());
    let b = ai_tools::broker::build::build(&cfg, &env).unwrap();
    let p = b.primary(Role::Codegen).unwrap();
    p.stream(&ChatRequest::new("s", "u", 100), &|_| {}).await.unwrap();
    let limits = cfg.limits_for("ollama");
    assert_eq!(s.received()[0].body["options"]["num_ctx"], 32_768);
    assert!(limits.max_tokens as usize + limits.context_budget_tokens <= 32_768, "{limits:?}");

    let s = Server::start(|_| Reply::Ndjson(fixture("ollama_text.ndjson"))).await;
    let o = OllamaProvider::new("ollama", &s.url(), "qwen", quick()).unwrap();
    o.stream(&ChatRequest::new("s", "u", 100), &|_| {}).await.unwrap();
    assert_eq!(s.received()[0].body["options"]["num_ctx"], 8192, "the default window is sent too");
}
