//! llama.cpp through `llama-cpp-2`: the process-wide backend, a loaded model, and one blocking
//! generation.
//!
//! Invariants:
//! - the backend is initialised once per process (llama.cpp's rule) and its logs go to
//!   `tracing`, never straight to the terminal;
//! - a [`LocalModel`] is immutable once loaded and shared behind an `Arc`;
//! - every generation gets its own context, sized to prompt + `max_tokens` (capped by the
//!   window), so concurrent generations never share KV state; contexts are created one at a
//!   time;
//! - [`LocalModel::generate`] asks `cancelled` between prompt batches and before every token,
//!   so a cancelled caller costs at most one more decode step;
//! - streamed text is valid UTF-8: bytes of a character split across tokens are held back until
//!   the character is complete (an invalid sequence becomes U+FFFD);
//! - with a [`Constraint`], every sampled token is one its grammar allows: the sampler chain's
//!   pick is checked against the grammar; when it is refused and the grammar may end there, the
//!   reply ends (the model wanted to write past the shape); otherwise the grammar is applied to
//!   the whole vocabulary and the pick made again. Generation stops on the token that completes
//!   the reply ([`End`]);
//! - a line repeated more than `max_repeated_lines` times in a row stops generation
//!   ([`Stop::Repetition`]); the text keeps what streamed, repeats included.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;

use crate::broker::ChatRequest;
use crate::broker::local::LocalError;
use crate::broker::local::guard::{End, RepeatGuard};
use crate::broker::local::template;

/// Tokens per prompt batch (and per llama.cpp micro-batch): the granularity at which a prompt
/// evaluation can be cancelled.
pub const BATCH: usize = 512;

/// Sampling temperature when a request sets none (llama.cpp's default).
pub const DEFAULT_TEMPERATURE: f32 = 0.8;

static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();

/// The process-wide llama.cpp backend, initialised on first use with its logs sent to
/// `tracing`.
///
/// # Errors
/// [`LocalError::Backend`] when llama.cpp cannot start.
pub fn backend() -> Result<&'static LlamaBackend, LocalError> {
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| LocalError::Backend(e.clone()))
}

/// Sampling and size settings of one generation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenParams {
    /// Most tokens to generate.
    pub max_tokens: u32,
    /// Temperature; `None` → [`DEFAULT_TEMPERATURE`]; `<= 0` → greedy.
    pub temperature: Option<f32>,
    /// Nucleus sampling threshold in (0, 1); other values turn it off.
    pub top_p: Option<f32>,
    /// Sampling seed; `None` → a random one.
    pub seed: Option<u64>,
    /// CPU threads for prompt evaluation and generation.
    pub threads: usize,
    /// Largest context window to use, in tokens (capped by the model's training window).
    pub n_ctx: u32,
    /// Repetition penalty over the last [`PENALTY_LAST_N`] tokens (1.0 turns it off).
    pub repeat_penalty: f32,
    /// Most consecutive copies of one line before generation stops (0: no limit; see
    /// [`RepeatGuard`]).
    pub max_repeated_lines: u32,
}

/// What a generation's reply must look like: a GBNF grammar (start rule
/// [`crate::broker::grammar::ROOT`]) and how to tell the reply is complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// The grammar, in llama.cpp's GBNF.
    pub gbnf: String,
    /// When the reply is complete.
    pub end: End,
}

/// How many recent tokens the repetition penalty looks at (llama.cpp's default).
pub const PENALTY_LAST_N: i32 = 64;

/// Why a generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The model produced an end-of-generation token.
    EndOfGeneration,
    /// `max_tokens` were generated.
    MaxTokens,
    /// The context window filled up.
    ContextFull,
    /// The caller cancelled.
    Cancelled,
    /// The constrained reply is complete ([`Constraint::end`]).
    Complete,
    /// A line repeated more than `max_repeated_lines` times in a row.
    Repetition,
}

/// A finished generation.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The generated text.
    pub text: String,
    /// Prompt tokens evaluated.
    pub prompt_tokens: u32,
    /// Tokens generated (the end-of-generation token not counted).
    pub output_tokens: u32,
    /// Why it stopped.
    pub stop: Stop,
    /// Context window used, tokens.
    pub n_ctx: u32,
    /// Wall time of the prompt evaluation (all prompt batches).
    pub prompt_eval: Duration,
    /// Wall time from the end of prompt evaluation to the end of generation.
    pub generation: Duration,
}

/// A GGUF model loaded into llama.cpp.
#[derive(Debug)]
pub struct LocalModel {
    model: LlamaModel,
    /// Held while a context is created: llama.cpp may write to the model then (llama-cpp-2
    /// marks `new_context` as unsound when called concurrently).
    new_ctx: Mutex<()>,
    path: PathBuf,
    template: Option<String>,
    load_time: Duration,
}

fn piece(model: &LlamaModel, t: LlamaToken) -> String {
    let vocab = model.vocab();
    if t.0 < 0 || t.0 >= vocab.n_tokens() {
        return String::new();
    }
    String::from_utf8_lossy(&vocab.token_to_piece(t, true, None)).into_owned()
}

impl LocalModel {
    /// Checks `path` ([`crate::models::check_gguf`]) and loads it.
    ///
    /// # Errors
    /// The check's [`crate::models::ModelError`], [`LocalError::Backend`], or
    /// [`LocalError::Load`] when llama.cpp rejects the file (truncated tensor data, an
    /// unsupported architecture).
    pub fn load(path: &Path) -> Result<Self, LocalError> {
        crate::models::check_gguf(path)?;
        let backend = backend()?;
        let started = Instant::now();
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|e| LocalError::Load { path: path.to_path_buf(), message: e.to_string() })?;
        let template = model.meta_val_str("tokenizer.chat_template").ok().filter(|t| !t.trim().is_empty());
        Ok(Self { model, new_ctx: Mutex::new(()), path: path.to_path_buf(), template, load_time: started.elapsed() })
    }

    /// The llama-cpp-2 model (for callers that drive llama.cpp themselves, like the benchmark).
    pub fn llama(&self) -> &LlamaModel {
        &self.model
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How long [`LocalModel::load`] took.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// The GGUF's `tokenizer.chat_template`, when it has one.
    pub fn chat_template(&self) -> Option<&str> {
        self.template.as_deref()
    }

    /// The chat prompt for `req`: the GGUF's Jinja template rendered by
    /// [`template::render`]; when that fails, llama.cpp's built-in template matching on the same
    /// template; with no template at all, ChatML.
    ///
    /// # Errors
    /// [`LocalError::Template`] when every way fails.
    pub fn prompt(&self, req: &ChatRequest) -> Result<String, LocalError> {
        let msgs = template::messages(req);
        let first_err = match &self.template {
            Some(t) => {
                let bos = piece(&self.model, self.model.vocab().bos());
                let eos = piece(&self.model, self.model.vocab().eos());
                match template::render(t, &msgs, &bos, &eos) {
                    Ok(p) => return Ok(p),
                    Err(e) => e.to_string(),
                }
            }
            None => "the model has no chat template".to_owned(),
        };
        tracing::debug!("local: rendering the GGUF chat template failed ({first_err}); trying llama.cpp's");
        let tmpl = match self.model.chat_template(None) {
            Ok(t) => t,
            Err(_) => LlamaChatTemplate::new("chatml").map_err(|e| LocalError::Template(e.to_string()))?,
        };
        let chat = msgs
            .into_iter()
            .map(|m| LlamaChatMessage::new(m.role, m.content))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| LocalError::Template(format!("{first_err}; llama.cpp: {e}")))?;
        self.model
            .apply_chat_template(&tmpl, &chat, true)
            .map_err(|e| LocalError::Template(format!("{first_err}; llama.cpp: {e}")))
    }

    /// Tokenizes `text` with special tokens parsed, adding BOS when the model wants one and the
    /// text does not already start with it.
    pub fn tokenize(&self, text: &str) -> Vec<LlamaToken> {
        let vocab = self.model.vocab();
        let bos = piece(&self.model, vocab.bos());
        let add_bos = vocab.should_add_bos() && (bos.is_empty() || !text.starts_with(&bos));
        vocab.tokenize(text.as_bytes(), add_bos, true)
    }

    /// Evaluates `prompt` and samples up to `p.max_tokens` tokens, passing text to `on_text` as
    /// it is produced, under `constraint` when given (see the module invariants for
    /// cancellation, UTF-8, grammars and repetition).
    ///
    /// # Errors
    /// [`LocalError::PromptTooLong`] when the prompt does not fit the window;
    /// [`LocalError::Grammar`] when llama.cpp rejects the constraint's grammar;
    /// [`LocalError::Context`] or [`LocalError::Decode`] when llama.cpp fails.
    pub fn generate(
        &self,
        prompt: &str,
        p: &GenParams,
        constraint: Option<&Constraint>,
        cancelled: &dyn Fn() -> bool,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation, LocalError> {
        let tokens = self.tokenize(prompt);
        let window = match self.model.n_ctx_train() {
            0 => p.n_ctx,
            train => p.n_ctx.min(train),
        };
        let n_prompt = u32::try_from(tokens.len()).unwrap_or(u32::MAX);
        if tokens.is_empty() {
            return Err(LocalError::Template("the chat prompt is empty".into()));
        }
        if n_prompt >= window {
            return Err(LocalError::PromptTooLong { tokens: n_prompt, n_ctx: window });
        }
        let mut picker = Picker::new(&self.model, p, constraint)?;
        let n_ctx = n_prompt.saturating_add(p.max_tokens.max(1)).div_ceil(256).saturating_mul(256).min(window);
        let threads = i32::try_from(p.threads.max(1)).unwrap_or(i32::MAX);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(BATCH as u32)
            .with_n_ubatch(BATCH as u32)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let mut ctx = {
            let _one_at_a_time = self.new_ctx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            self.model.new_context(backend()?, params).map_err(|e| LocalError::Context(e.to_string()))?
        };
        let mut out = Generation {
            text: String::new(),
            prompt_tokens: n_prompt,
            output_tokens: 0,
            stop: Stop::Cancelled,
            n_ctx,
            prompt_eval: Duration::ZERO,
            generation: Duration::ZERO,
        };

        let eval_start = Instant::now();
        let mut batch = LlamaBatch::new(BATCH, 1);
        let last = tokens.len() - 1;
        for (ci, chunk) in tokens.chunks(BATCH).enumerate() {
            if cancelled() {
                return Ok(out);
            }
            batch.clear();
            for (j, t) in chunk.iter().enumerate() {
                let pos = ci * BATCH + j;
                batch.add(*t, pos as i32, &[0], pos == last).map_err(|e| decode_err(&e))?;
            }
            ctx.decode(&mut batch).map_err(|e| decode_err(&e))?;
        }
        out.prompt_eval = eval_start.elapsed();

        let gen_start = Instant::now();
        let end = constraint.map_or(End::Model, |c| c.end);
        let mut until = Until { end, cancelled, on_text };
        out.stop = self.decode_loop(&mut ctx, &mut batch, &mut picker, p, &mut out, &mut until)?;
        out.generation = gen_start.elapsed();
        Ok(out)
    }

    /// Samples and decodes one token at a time until a [`Stop`]; appends the text to `out`.
    fn decode_loop(
        &self,
        ctx: &mut LlamaContext<'_>,
        batch: &mut LlamaBatch,
        picker: &mut Picker,
        p: &GenParams,
        out: &mut Generation,
        until: &mut Until<'_>,
    ) -> Result<Stop, LocalError> {
        let (end, cancelled) = (until.end, until.cancelled);
        let on_text = &mut until.on_text;
        let vocab = self.model.vocab();
        let mut utf8 = Utf8Stream::new();
        let mut repeats = RepeatGuard::new(p.max_repeated_lines);
        let mut bytes = Vec::with_capacity(32);
        let mut n_past = out.prompt_tokens;
        let mut emit = |out: &mut Generation, text: &str| {
            out.text.push_str(text);
            on_text(text);
        };
        let stop = loop {
            if out.output_tokens >= p.max_tokens {
                break Stop::MaxTokens;
            }
            if cancelled() {
                break Stop::Cancelled;
            }
            let token = picker.pick(ctx);
            if vocab.is_eog(token) {
                break Stop::EndOfGeneration;
            }
            out.output_tokens += 1;
            bytes.clear();
            vocab.token_to_piece_into(token, &mut bytes, false, None);
            let text = utf8.push(&bytes);
            if !text.is_empty() {
                emit(out, &text);
                if end.reached(&out.text, &text) {
                    break Stop::Complete;
                }
                if repeats.push(&text) {
                    break Stop::Repetition;
                }
            }
            if out.output_tokens >= p.max_tokens {
                break Stop::MaxTokens;
            }
            if n_past >= out.n_ctx {
                break Stop::ContextFull;
            }
            batch.clear();
            batch.add(token, n_past as i32, &[0], true).map_err(|e| decode_err(&e))?;
            ctx.decode(batch).map_err(|e| decode_err(&e))?;
            n_past += 1;
        };
        let rest = utf8.finish();
        if !rest.is_empty() {
            emit(out, &rest);
        }
        Ok(stop)
    }
}

/// When decoding stops besides the token cap and the context: the reply's shape is complete, the
/// caller cancelled; and who hears each piece of text.
struct Until<'a> {
    end: End,
    cancelled: &'a dyn Fn() -> bool,
    on_text: &'a mut dyn FnMut(&str),
}

fn decode_err(e: &dyn std::fmt::Display) -> LocalError {
    LocalError::Decode(e.to_string())
}

/// Picks each next token: the sampler chain's choice, checked against the grammar when there is
/// one (see the module invariants).
struct Picker {
    chain: LlamaSampler,
    grammar: Option<LlamaSampler>,
    /// The end-of-generation token: picked when the grammar may end and the model wants to go
    /// past it, or if the grammar allows no token at all.
    eos: LlamaToken,
}

impl Picker {
    fn new(model: &LlamaModel, p: &GenParams, constraint: Option<&Constraint>) -> Result<Self, LocalError> {
        let grammar = match constraint {
            Some(c) => Some(
                LlamaSampler::grammar(model, &c.gbnf, crate::broker::grammar::ROOT)
                    .map_err(|e| LocalError::Grammar(e.to_string()))?,
            ),
            None => None,
        };
        Ok(Self { chain: sampler(p, model.n_vocab()), grammar, eos: model.vocab().eos() })
    }

    fn pick(&mut self, ctx: &LlamaContext<'_>) -> LlamaToken {
        let Some(grammar) = self.grammar.as_mut() else {
            return self.chain.sample(ctx, -1);
        };
        let mut all = ctx.token_data_array_ith(-1);
        all.apply_sampler(&mut self.chain);
        let first = all.selected_token();
        let mut allows = |t: LlamaToken| {
            let mut one = LlamaTokenDataArray::new(vec![LlamaTokenData::new(t, 0.0, 0.0)], false);
            one.apply_sampler(grammar);
            one.data.first().is_some_and(|d| d.logit().is_finite())
        };
        let token = match first {
            Some(t) if allows(t) => t,
            // The model wants to go on past a point where the reply may end (e.g. prose after a
            // SEARCH/REPLACE block): end it rather than force another block.
            _ if allows(self.eos) => self.eos,
            _ => {
                let mut all = ctx.token_data_array_ith(-1);
                all.apply_sampler(grammar);
                all.apply_sampler(&mut self.chain);
                all.selected_token().unwrap_or(self.eos)
            }
        };
        self.chain.accept(token);
        grammar.accept(token);
        token
    }
}

/// The sampler for `p` over a vocabulary of `n_vocab` tokens: the repetition penalty (when
/// above 1.0), then greedy at temperature ≤ 0, else top-p (when set) → temperature → seeded
/// distribution.
pub fn sampler(p: &GenParams, n_vocab: i32) -> LlamaSampler {
    let t = p.temperature.unwrap_or(DEFAULT_TEMPERATURE);
    let mut chain = Vec::with_capacity(4);
    if p.repeat_penalty > 1.0 && p.repeat_penalty.is_finite() {
        chain.push(LlamaSampler::penalties(n_vocab, PENALTY_LAST_N, p.repeat_penalty, 0.0, 0.0));
    }
    if t <= 0.0 {
        if chain.is_empty() {
            return LlamaSampler::greedy();
        }
        chain.push(LlamaSampler::greedy());
        return LlamaSampler::chain_simple(chain);
    }
    // llama.cpp reads u32::MAX as "pick a random seed".
    let seed = p.seed.map_or(u32::MAX, |s| ((s as u32) ^ ((s >> 32) as u32)).min(u32::MAX - 1));
    if let Some(tp) = p.top_p.filter(|v| *v > 0.0 && *v < 1.0) {
        chain.push(LlamaSampler::top_p(tp, 1));
    }
    chain.push(LlamaSampler::temp(t));
    chain.push(LlamaSampler::dist(seed));
    LlamaSampler::chain_simple(chain)
}

/// Turns token pieces (byte strings that may end inside a UTF-8 character) into text.
pub struct Utf8Stream {
    decoder: encoding_rs::Decoder,
}

impl Default for Utf8Stream {
    fn default() -> Self {
        Self::new()
    }
}

impl Utf8Stream {
    /// A stream with nothing pending.
    pub fn new() -> Self {
        Self { decoder: encoding_rs::UTF_8.new_decoder_without_bom_handling() }
    }

    fn decode(&mut self, bytes: &[u8], last: bool) -> String {
        let cap = self.decoder.max_utf8_buffer_length(bytes.len()).unwrap_or(bytes.len() * 3 + 8);
        let mut s = String::with_capacity(cap);
        let _ = self.decoder.decode_to_string(bytes, &mut s, last);
        s
    }

    /// The complete characters `bytes` finish; an incomplete one at the end waits for more.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.decode(bytes, false)
    }

    /// Whatever is still pending (an unfinished character becomes U+FFFD).
    pub fn finish(&mut self) -> String {
        self.decode(&[], true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_split_across_pieces_come_out_whole() {
        let text = "é→🦀 ok";
        let bytes = text.as_bytes();
        let mut s = Utf8Stream::new();
        let mut out = String::new();
        let mut pieces = Vec::new();
        for b in bytes {
            let p = s.push(std::slice::from_ref(b));
            assert!(!p.contains('\u{FFFD}'), "partial character leaked: {p:?}");
            pieces.push(p.clone());
            out.push_str(&p);
        }
        out.push_str(&s.finish());
        assert_eq!(out, text);
        // "é" is two bytes: nothing after the first, the whole character after the second.
        assert_eq!((pieces[0].as_str(), pieces[1].as_str()), ("", "é"));
    }

    #[test]
    fn a_dangling_byte_becomes_a_replacement_character_at_the_end() {
        let mut s = Utf8Stream::new();
        assert_eq!(s.push(b"ab\xF0\x9F"), "ab");
        assert_eq!(s.finish(), "\u{FFFD}");
    }
}
