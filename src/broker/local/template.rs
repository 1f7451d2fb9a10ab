//! Chat prompts for the local model: the GGUF's own Jinja chat template
//! (`tokenizer.chat_template`) rendered with minijinja the way Hugging Face tokenizers render
//! it — `trim_blocks` and `lstrip_blocks` on, Python string methods (`.strip()`,
//! `.startswith()`), `raise_exception`, `strftime_now`, and `tools`/`documents` set to none — so
//! the prompt is the one the model was trained on, default system prompt included.
//!
//! Invariant: rendering needs no model and has no side effects; the engine falls back to
//! llama.cpp's built-in template matching only when it fails.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{Environment, Error, ErrorKind, Value, context};
use serde::Serialize;

use crate::broker::{ChatRequest, ChatRole, ToolSpec};

/// One message as chat templates see it (`message['role']`, `message['content']`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

/// The messages of `req`: its system prompt first (when set, or when tools are offered), then
/// the conversation. Offered tools are described at the end of the system prompt
/// ([`tool_section`]): chat templates differ in how (and whether) they render tools, and the
/// call format the grammar enforces is the same for every model.
pub fn messages(req: &ChatRequest) -> Vec<TemplateMessage> {
    let system = match (&req.system, req.tools.is_empty()) {
        (s, true) => s.clone(),
        (Some(s), false) => Some(format!("{s}\n\n{}", tool_section(&req.tools))),
        (None, false) => Some(tool_section(&req.tools)),
    };
    let system = system.into_iter().map(|s| TemplateMessage { role: "system".into(), content: s });
    let turns = req.messages.iter().map(|m| TemplateMessage {
        role: match m.role {
            ChatRole::User => "user".into(),
            ChatRole::Assistant => "assistant".into(),
        },
        content: m.content.clone(),
    });
    system.chain(turns).collect()
}

/// The system prompt's description of `tools`: the call format, then one line per tool with its
/// argument names and types (from its JSON schema's `properties`) and its description.
pub fn tool_section(tools: &[ToolSpec]) -> String {
    let mut out = String::from(
        "# Tools\n\nReply with exactly one tool call, as JSON: {\"name\": \"<tool>\", \"arguments\": {…}}\n",
    );
    for t in tools {
        let args: Vec<String> = t
            .input_schema
            .get("properties")
            .and_then(serde_json::Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .map(|(k, v)| format!("\"{k}\": {}", v.get("type").and_then(|t| t.as_str()).unwrap_or("value")))
                    .collect()
            })
            .unwrap_or_default();
        out.push_str(&format!("\n- {} {{{}}}: {}", t.name, args.join(", "), t.description));
    }
    out
}

/// A chat template that did not compile or render.
#[derive(Debug, thiserror::Error)]
#[error("chat template: {0}")]
pub struct TemplateError(String);

/// Renders `template` over `messages` with the generation prompt appended, giving the
/// template `bos_token` and `eos_token`.
///
/// # Errors
/// [`TemplateError`] with minijinja's message (syntax errors, unknown filters or methods, a
/// `raise_exception` call).
pub fn render(template: &str, messages: &[TemplateMessage], bos: &str, eos: &str) -> Result<String, TemplateError> {
    let err = |e: Error| TemplateError(format!("{e:#}"));
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build().map_err(err)?;
    env.set_syntax(syntax);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_function("raise_exception", |msg: String| -> Result<Value, Error> {
        Err(Error::new(ErrorKind::InvalidOperation, msg))
    });
    env.add_function("strftime_now", |fmt: String| -> Result<String, Error> {
        use std::fmt::Write as _;
        let mut s = String::new();
        write!(s, "{}", chrono::Local::now().format(&fmt))
            .map_err(|_| Error::new(ErrorKind::InvalidOperation, format!("bad strftime format {fmt:?}")))?;
        Ok(s)
    });
    let tmpl = env.template_from_str(template).map_err(err)?;
    tmpl.render(context! {
        messages => Value::from(Serde(messages)),
        add_generation_prompt => true,
        bos_token => bos,
        eos_token => eos,
        tools => (),
        documents => (),
    })
    .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tokenizer.chat_template` of SmolLM2-135M-Instruct, as its GGUF carries it.
    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn renders_smollm2_exactly_with_and_without_a_system_prompt() {
        let req = ChatRequest::new("Write code.", "Add two numbers.", 10);
        let out = render(SMOLLM2, &messages(&req), "", "<|im_end|>").unwrap();
        assert_eq!(
            out,
            "<|im_start|>system\nWrite code.<|im_end|>\n<|im_start|>user\nAdd two numbers.<|im_end|>\n<|im_start|>assistant\n"
        );
        let mut req = req;
        req.system = None;
        let out = render(SMOLLM2, &messages(&req), "", "").unwrap();
        assert!(
            out.starts_with("<|im_start|>system\nYou are a helpful AI assistant named SmolLM"),
            "the template's default system prompt must survive: {out}"
        );
        assert!(out.ends_with("<|im_start|>user\nAdd two numbers.<|im_end|>\n<|im_start|>assistant\n"), "{out}");
    }

    #[test]
    fn offered_tools_are_described_after_the_system_prompt() {
        let mut req = ChatRequest::new("Fix the file.", "Findings: …", 10);
        req.tools = crate::repair::edits::tool_specs();
        let msgs = messages(&req);
        let sys = &msgs[0].content;
        assert!(sys.starts_with("Fix the file.\n\n# Tools\n"), "{sys}");
        assert!(sys.contains(r#"{"name": "<tool>", "arguments": {…}}"#), "{sys}");
        assert!(
            sys.contains(r#"- patch_file {"old_string": string, "new_string": string}: Replace one exact"#),
            "{sys}"
        );
        assert!(sys.contains(r#"- write_file {"content": string}: "#), "{sys}");
        req.system = None;
        assert!(messages(&req)[0].content.starts_with("# Tools"));
    }

    #[test]
    fn supports_python_methods_block_trimming_and_exceptions() {
        let t = "{{ bos_token }}{% for m in messages %}\n  {% if m.role == 'system' %}\n[{{ m.content.strip() | upper }}]\n  {% else %}\n{{ m.role }}: {{ m.content }}\n  {% endif %}\n{% endfor %}";
        let req = ChatRequest::new("  be brief  ", "hi", 10);
        assert_eq!(render(t, &messages(&req), "<s>", "").unwrap(), "<s>[BE BRIEF]\nuser: hi\n");
        let e = render("{{ raise_exception('only user and assistant roles') }}", &[], "", "").unwrap_err();
        assert!(e.to_string().contains("only user and assistant roles"), "{e}");
        assert!(render("{% for %}", &[], "", "").is_err());
    }
}
