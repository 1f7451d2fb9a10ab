//! Test support: a loopback HTTP server that replays the providers' real wire formats, and
//! helpers that build test repos and run the `ai-tools` binary.
//!
//! The SSE bodies are built from the recorded streams in `tests/fixtures/wire/` (copied from the
//! project's shared fixtures so the tests need nothing outside the repository): the
//! recorded JSON chunks are the templates, with only the text swapped, so field order, extra
//! fields, the usage chunk and `[DONE]` are the providers' own.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod tmux;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The recorded wire fixtures, inside the repository.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wire")
}

/// A recorded fixture's text.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// `data:` JSON payloads of a recorded SSE stream (without `[DONE]`).
fn sse_json(name: &str) -> Vec<Value> {
    fixture(name)
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

/// Splits text into pieces of about `n` characters.
fn pieces(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(n.max(1)).map(|c| c.iter().collect()).collect()
}

/// An OpenAI Chat Completions stream replying `text`, from the `oai_text.sse` recording.
pub fn openai_text_stream(text: &str) -> String {
    let rec = sse_json("oai_text.sse");
    let mut out = String::new();
    let mut push = |v: &Value| out.push_str(&format!("data: {}\n\n", serde_json::to_string(v).unwrap()));
    push(&rec[0]);
    for p in pieces(text, 40) {
        let mut c = rec[1].clone();
        c["choices"][0]["delta"]["content"] = Value::String(p);
        push(&c);
    }
    push(&rec[3]);
    let mut usage = rec[4].clone();
    usage["usage"]["completion_tokens"] = Value::from(text.len() as u64 / 4 + 1);
    push(&usage);
    out.push_str("data: [DONE]\n\n");
    out
}

/// An Anthropic Messages stream replying `text`, from the `anth_text.sse` recording.
pub fn anthropic_text_stream(text: &str) -> String {
    let raw = fixture("anth_text.sse");
    let events: Vec<(String, Value)> = raw
        .split("\n\n")
        .filter_map(|block| {
            let ev = block.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
            Some((ev.to_owned(), serde_json::from_str(data).unwrap()))
        })
        .collect();
    let mut out = String::new();
    let mut push = |(ev, v): &(String, Value)| {
        out.push_str(&format!("event: {ev}\ndata: {}\n\n", serde_json::to_string(v).unwrap()))
    };
    for e in &events {
        match e.0.as_str() {
            "content_block_delta" => {}
            "content_block_stop" => {
                for p in pieces(text, 40) {
                    let mut d = events.iter().find(|x| x.0 == "content_block_delta").unwrap().clone();
                    d.1["delta"]["text"] = Value::String(p);
                    push(&d);
                }
                push(e);
            }
            _ => push(e),
        }
    }
    out
}

/// How the server answers one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with an SSE body sent in chunks.
    Sse(String),
    /// 200 with a body whose content type is NDJSON.
    Ndjson(String),
    /// A status with headers and a JSON body.
    Status { status: u16, headers: Vec<(String, String)>, body: String },
    /// 200 and the first `n` bytes of the body, then the connection closes.
    Truncated { body: String, n: usize },
    /// 200 and the first `n` bytes of the body, then silence (a stalled stream).
    Stall { body: String, n: usize },
    /// Another reply, after a wait.
    Delayed(Duration, Box<Reply>),
    /// 200 with a `content_type` body of `status`, whole (a gateway's error page, say).
    Typed { status: u16, content_type: String, body: String },
    /// 200 with an SSE body that never ends: `head`, then `chunk` every `every`, forever.
    Trickle { head: String, chunk: String, every: Duration },
}

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Request {
    /// Path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// Headers, lowercased names.
    pub headers: Vec<(String, String)>,
    /// Parsed JSON body.
    pub body: Value,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Request {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    /// The user message text (OpenAI, Anthropic and Ollama shapes).
    pub fn user_text(&self) -> String {
        self.body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["role"] == "user")
            .filter_map(|m| m["content"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
    /// The `Target file: …` the prompt names.
    pub fn target(&self) -> Option<String> {
        self.user_text().lines().find_map(|l| l.strip_prefix("Target file: ").map(|s| s.trim().to_owned()))
    }
}

type Responder = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A loopback server; answers from a queue of scripted replies, then from a responder.
#[derive(Clone)]
pub struct Server {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Request>>>,
    queue: Arc<Mutex<VecDeque<Reply>>>,
}

impl Server {
    /// Starts a server on 127.0.0.1 in the current tokio runtime.
    pub async fn start(responder: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let s = Server { addr, requests: Arc::default(), queue: Arc::default() };
        let responder: Responder = Arc::new(responder);
        let s2 = s.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { break };
                let (s3, r) = (s2.clone(), responder.clone());
                tokio::spawn(async move {
                    let _ = s3.serve(sock, r).await;
                });
            }
        });
        s
    }

    /// Queues replies to use before the responder.
    pub fn push(&self, r: Reply) {
        self.queue.lock().unwrap().push_back(r);
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received so far.
    pub fn received(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    async fn serve(&self, mut sock: TcpStream, responder: Responder) -> std::io::Result<()> {
        loop {
            let mut buf = Vec::new();
            let header_end = loop {
                let mut tmp = [0u8; 4096];
                let n = sock.read(&mut tmp).await?;
                if n == 0 {
                    return Ok(());
                }
                buf.extend_from_slice(&tmp[..n]);
                if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break p + 4;
                }
            };
            let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
            let mut lines = head.lines();
            let path = lines.next().unwrap_or("").split_whitespace().nth(1).unwrap_or("").to_owned();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let len: usize =
                headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
            while buf.len() < header_end + len {
                let mut tmp = [0u8; 4096];
                let n = sock.read(&mut tmp).await?;
                if n == 0 {
                    return Ok(());
                }
                buf.extend_from_slice(&tmp[..n]);
            }
            let body: Value = serde_json::from_slice(&buf[header_end..header_end + len]).unwrap_or(Value::Null);
            let req = Request { path, headers, body, at: std::time::Instant::now() };
            self.requests.lock().unwrap().push(req.clone());
            let mut reply = self.queue.lock().unwrap().pop_front().unwrap_or_else(|| responder(&req));
            while let Reply::Delayed(d, r) = reply {
                tokio::time::sleep(d).await;
                reply = *r;
            }
            match reply {
                Reply::Sse(body) => stream_body(&mut sock, "text/event-stream", &body, None).await?,
                Reply::Ndjson(body) => stream_body(&mut sock, "application/x-ndjson", &body, None).await?,
                Reply::Status { status, headers, body } => {
                    let mut h = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                        body.len()
                    );
                    for (k, v) in headers {
                        h.push_str(&format!("{k}: {v}\r\n"));
                    }
                    h.push_str("\r\n");
                    sock.write_all(h.as_bytes()).await?;
                    sock.write_all(body.as_bytes()).await?;
                }
                Reply::Truncated { body, n } => {
                    stream_body(&mut sock, "text/event-stream", &body, Some(n)).await?;
                    return Ok(());
                }
                Reply::Stall { body, n } => {
                    stream_body(&mut sock, "text/event-stream", &body, Some(n)).await?;
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return Ok(());
                }
                Reply::Typed { status, content_type, body } => {
                    let h = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    sock.write_all(h.as_bytes()).await?;
                    sock.write_all(body.as_bytes()).await?;
                }
                Reply::Trickle { head, chunk, every } => {
                    stream_body(&mut sock, "text/event-stream", &head, Some(head.len())).await?;
                    loop {
                        sock.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
                        sock.write_all(chunk.as_bytes()).await?;
                        sock.write_all(b"\r\n").await?;
                        sock.flush().await?;
                        tokio::time::sleep(every).await;
                    }
                }
                Reply::Delayed(..) => unreachable!("unwrapped above"),
            }
        }
    }
}

/// Writes a chunked 200 response; with `cut`, only its first bytes, without the final chunk.
async fn stream_body(sock: &mut TcpStream, ctype: &str, body: &str, cut: Option<usize>) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ntransfer-encoding: chunked\r\nx-request-id: req_test_1\r\n\r\n"
    );
    sock.write_all(head.as_bytes()).await?;
    let bytes = body.as_bytes();
    let limit = cut.unwrap_or(bytes.len()).min(bytes.len());
    for chunk in bytes[..limit].chunks(200) {
        sock.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
        sock.write_all(chunk).await?;
        sock.write_all(b"\r\n").await?;
        sock.flush().await?;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    if cut.is_none() {
        sock.write_all(b"0\r\n\r\n").await?;
    }
    sock.flush().await
}

/// Runs `git` in `dir`, panicking on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A git repo at a fresh temp dir with `files` committed.
pub fn repo_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    for (p, c) in files {
        let path = t.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, c).unwrap();
    }
    git(t.path(), &["init", "-q", "-b", "main"]);
    git(t.path(), &["add", "-A"]);
    git(t.path(), &["commit", "-qm", "init"]);
    t
}

/// Writes a task `slug` with `plan_md` and `files_json` under the repo.
pub fn write_task(repo: &Path, slug: &str, plan_md: &str, files_json: &str) -> PathBuf {
    let t = repo.join(".ai-tools/tasks").join(slug);
    std::fs::create_dir_all(t.join("planning")).unwrap();
    std::fs::write(t.join("planning/plan.md"), plan_md).unwrap();
    std::fs::write(t.join("planning/plan.files.json"), files_json).unwrap();
    t
}

/// The binary under test with an isolated environment (no user config, no provider keys).
pub fn ai_tools(repo: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ai-tools"));
    c.current_dir(repo);
    for k in [
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OLLAMA_HOST",
        "ANTHROPIC_BASE_URL",
        "AI_TOOLS_PROVIDER",
        "AI_TOOLS_MODEL",
    ] {
        c.env_remove(k);
    }
    c.env("AI_TOOLS_CONFIG", user_config_file(repo));
    c.env("AI_TOOLS_STATE_DIR", repo.join(".no-user-state"));
    c.env("NO_COLOR", "1");
    c
}

/// The user config file [`ai_tools`] points `$AI_TOOLS_CONFIG` at (absent unless a test writes
/// it): where settings that a repo's `.ai-tools.toml` may set only when trusted go.
pub fn user_config_file(repo: &Path) -> PathBuf {
    repo.join(".no-user-config.toml")
}

/// Parsed NDJSON lines.
pub fn ndjson(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not NDJSON: {l}: {e}")))
        .collect()
}

/// The `event` names of NDJSON events, in order.
pub fn event_names(events: &[Value]) -> Vec<String> {
    events.iter().filter_map(|e| e["event"].as_str().map(str::to_owned)).collect()
}

/// Starts a [`Server`] on its own thread and runtime, for plain `#[test]`s that run the binary.
pub fn serve(responder: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let s = Server::start(responder).await;
            tx.send(s).unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().unwrap()
}
