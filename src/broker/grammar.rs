//! GBNF grammars (llama.cpp's grammar format) for the reply shapes a request can ask for, so a
//! provider that constrains decoding (the embedded `local` provider) can only emit replies the
//! parsers accept:
//!
//! - [`fenced_block`]: exactly one fenced code block, opened by `` ``` `` + the info string on
//!   the reply's first line and closed by a line that is exactly `` ``` ``; no content line can
//!   close it early (no line starts with three backticks after at most three spaces, which
//!   CommonMark — and [`crate::codegen::reply::fenced_blocks`] — would read as the close);
//! - [`search_replace`]: one or more SEARCH/REPLACE blocks, each preceded by the target's path,
//!   with no SEARCH line that reads as the `=======` divider and no REPLACE line that reads as
//!   the `>>>>>>> REPLACE` marker ([`crate::codegen::reply::search_replace_blocks`]' rules);
//! - [`tool_call`]: one call of an offered tool as the JSON object
//!   `{"name": "<tool>", "arguments": {…}}`, its arguments constrained by the tool's JSON
//!   schema ([`json_schema`]).
//!
//! Invariants: builders are pure text functions (no model needed); every grammar's start rule
//! is [`ROOT`]; JSON is emitted with fixed separators (`", "` between members, `": "` after
//! keys), so a small model spends no tokens on layout; a schema construct outside the supported
//! subset becomes "any JSON value" — the grammar never rejects a reply the schema allows.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::broker::{ToolChoice, ToolSpec};

/// The start rule of every grammar built here.
pub const ROOT: &str = "root";

/// A grammar that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrammarError {
    /// No tool is left to call (none offered, or the named tool choice is not among them).
    #[error("no tool to call: {0}")]
    NoTool(String),
}

/// A GBNF string literal for `s` (`"…"` with `\`, `"` and control characters escaped).
pub fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A negated GBNF character class that excludes `c` and the newline.
fn not_char_nl(c: char) -> String {
    match c {
        '\\' | ']' | '^' | '-' => format!("[^\\{c}\\n]"),
        c => format!("[^{c}\\n]"),
    }
}

/// Alternatives for one line (with its `\n`) that does not start with `prefix`.
fn line_not_starting_with(prefix: &str) -> String {
    let chars: Vec<char> = prefix.chars().collect();
    let mut alts = vec!["\"\\n\"".to_owned()];
    for k in 0..chars.len() {
        let head: String = chars[..k].iter().collect();
        let lead = if k == 0 { String::new() } else { format!("{} ", literal(&head)) };
        alts.push(format!("{lead}{} [^\\n]* \"\\n\"", not_char_nl(chars[k])));
        if k > 0 {
            alts.push(format!("{lead}\"\\n\""));
        }
    }
    alts.join(" | ")
}

/// Exactly one fenced code block: `fence` (a run of 3+ backticks; fewer become 3) and `info`
/// on the first line, content lines, then a closing line that is exactly `fence` (optionally
/// followed by one newline), nothing before or after it. `info` loses any backtick or newline
/// (they cannot appear in a backtick fence's info string).
pub fn fenced_block(fence: usize, info: &str) -> String {
    let n = fence.max(3);
    let ticks = "`".repeat(n);
    let info: String = info.chars().filter(|c| *c != '`' && *c != '\n' && *c != '\r').collect();
    let open = literal(&format!("{ticks}{}\n", info.trim()));
    // A content line: four or more leading spaces (never a fence), or at most three spaces
    // followed by anything but a run of `n` backticks.
    let runs: Vec<String> = (1..n).map(|k| literal(&"`".repeat(k))).collect();
    let mut head = vec!["[^ `\\n]".to_owned()];
    head.extend(runs.iter().map(|r| format!("{r} [^`\\n]")));
    format!(
        "{ROOT} ::= {open} line* {close} \"\\n\"?\n\
         line ::= \"    \" [^\\n]* \"\\n\" | sp03 ( head [^\\n]* | {lone} )? \"\\n\"\n\
         sp03 ::= ( \" \" ( \" \" \" \"? )? )?\n\
         head ::= {head}\n",
        close = literal(&ticks),
        lone = runs.join(" | "),
        head = head.join(" | "),
    )
}

/// One or more SEARCH/REPLACE blocks for `path`, each written as
/// `path\n<<<<<<< SEARCH\n…=======\n…>>>>>>> REPLACE\n`.
pub fn search_replace(path: &str) -> String {
    let head = literal(&format!("{path}\n<<<<<<< SEARCH\n"));
    format!(
        "{ROOT} ::= block+\n\
         block ::= {head} sline* \"=======\\n\" rline* \">>>>>>> REPLACE\\n\"\n\
         sline ::= {}\n\
         rline ::= {}\n",
        line_not_starting_with("====="),
        line_not_starting_with(">>>>>"),
    )
}

/// Rule names the primitives and the start rule use.
const RESERVED: [&str; 10] =
    [ROOT, "string", "char", "hex", "integer", "number", "boolean", "value", "array", "object"];

/// Rules being built: name → body, in a stable order.
#[derive(Debug, Default)]
pub struct Rules {
    rules: BTreeMap<String, String>,
}

impl Rules {
    /// Adds `name ::= body` unless a rule of that name exists; returns the name.
    pub fn add(&mut self, name: &str, body: String) -> String {
        self.rules.entry(name.to_owned()).or_insert(body);
        name.to_owned()
    }

    /// A name derived from `hint` (letters, digits and dashes) that no rule has yet.
    fn fresh(&self, hint: &str) -> String {
        let base: String =
            hint.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
        let base = if base.is_empty() { "r".to_owned() } else { base };
        let mut name = base.clone();
        let mut n = 1;
        while self.rules.contains_key(&name) || RESERVED.contains(&name.as_str()) {
            n += 1;
            name = format!("{base}-{n}");
        }
        name
    }

    /// The grammar text: `root ::= root_body` then every rule.
    pub fn render(&self, root_body: &str) -> String {
        let mut out = format!("{ROOT} ::= {root_body}\n");
        for (name, body) in &self.rules {
            let _ = writeln!(out, "{name} ::= {body}");
        }
        out
    }

    fn primitives(&mut self) {
        self.add("string", r#""\"" char* "\"""#.to_owned());
        self.add("char", r#"[^"\\\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" hex hex hex hex )"#.to_owned());
        self.add("hex", "[0-9a-fA-F]".to_owned());
        self.add("integer", r#""-"? ( "0" | [1-9] [0-9]* )"#.to_owned());
        self.add("number", r#"integer ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )?"#.to_owned());
        self.add("boolean", r#""true" | "false""#.to_owned());
        self.add("value", "string | number | boolean | \"null\" | array | object".to_owned());
        self.add("array", r#""[" ( value ( ", " value )* )? "]""#.to_owned());
        self.add("object", r#""{" ( string ": " value ( ", " string ": " value )* )? "}""#.to_owned());
    }
}

/// The rule for a value matching `schema`, adding what it needs to `rules`; `hint` names new
/// rules. Supported: `type` (`string`, `integer`, `number`, `boolean`, `null`, `array` with
/// `items`, `object` with `properties` and `required`, or a list of these), `enum`, `const`,
/// `anyOf`/`oneOf`. Objects take only their listed properties — required ones in schema order,
/// then the optional ones, each optional, in schema order. Anything else is any JSON value.
pub fn json_schema(schema: &Value, hint: &str, rules: &mut Rules) -> String {
    rules.primitives();
    if let Some(c) = schema.get("const") {
        return literal(&c.to_string());
    }
    if let Some(Value::Array(vals)) = schema.get("enum") {
        let alts: Vec<String> = vals.iter().map(|v| literal(&v.to_string())).collect();
        return if alts.is_empty() { "value".into() } else { format!("( {} )", alts.join(" | ")) };
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(subs)) = schema.get(key) {
            let alts: Vec<String> =
                subs.iter().enumerate().map(|(i, s)| json_schema(s, &format!("{hint}-{i}"), rules)).collect();
            return if alts.is_empty() { "value".into() } else { format!("( {} )", alts.join(" | ")) };
        }
    }
    match schema.get("type") {
        Some(Value::String(t)) => typed(t, schema, hint, rules),
        Some(Value::Array(ts)) => {
            let alts: Vec<String> =
                ts.iter().filter_map(Value::as_str).map(|t| typed(t, schema, hint, rules)).collect();
            if alts.is_empty() { "value".into() } else { format!("( {} )", alts.join(" | ")) }
        }
        _ => "value".into(),
    }
}

fn typed(t: &str, schema: &Value, hint: &str, rules: &mut Rules) -> String {
    match t {
        "string" => "string".into(),
        "integer" => "integer".into(),
        "number" => "number".into(),
        "boolean" => "boolean".into(),
        "null" => "\"null\"".into(),
        "array" => match schema.get("items") {
            Some(items) => {
                let item = json_schema(items, &format!("{hint}-item"), rules);
                let name = rules.fresh(hint);
                rules.add(&name, format!("\"[\" ( {item} ( \", \" {item} )* )? \"]\""))
            }
            None => "array".into(),
        },
        "object" => match schema.get("properties") {
            Some(Value::Object(props)) => object(props, schema, hint, rules),
            _ => "object".into(),
        },
        _ => "value".into(),
    }
}

fn object(props: &serde_json::Map<String, Value>, schema: &Value, hint: &str, rules: &mut Rules) -> String {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut members: Vec<(String, bool)> = Vec::new();
    let ordered = required
        .iter()
        .filter_map(|r| props.get_key_value(*r))
        .chain(props.iter().filter(|(k, _)| !required.contains(&k.as_str())));
    for (key, sub) in ordered {
        let value = json_schema(sub, &format!("{hint}-{key}"), rules);
        members.push((
            format!("{} {value}", literal(&format!("{}: ", Value::String(key.clone())))),
            required.contains(&key.as_str()),
        ));
    }
    let name = rules.fresh(hint);
    // Required members first, joined by ", "; then each optional one as an optional ", " member
    // (or, with no required member, the first present optional one opens the list).
    let req: Vec<&str> = members.iter().filter(|m| m.1).map(|m| m.0.as_str()).collect();
    let opt: Vec<&str> = members.iter().filter(|m| !m.1).map(|m| m.0.as_str()).collect();
    let tail = |from: usize| opt[from..].iter().map(|m| format!(" ( \", \" {m} )?")).collect::<String>();
    let body = if req.is_empty() {
        let firsts: Vec<String> = (0..opt.len()).map(|i| format!("{}{}", opt[i], tail(i + 1))).collect();
        if firsts.is_empty() { "\"{}\"".to_owned() } else { format!("\"{{\" ( {} )? \"}}\"", firsts.join(" | ")) }
    } else {
        format!("\"{{\" {}{} \"}}\"", req.join(" \", \" "), tail(0))
    };
    rules.add(&name, body)
}

/// One call of a tool in `tools` (only the named tool when `choice` names one) as
/// `{"name": "<tool>", "arguments": <arguments matching its input schema>}`.
///
/// # Errors
/// [`GrammarError::NoTool`] when no tool is offered or the named tool is not among them.
pub fn tool_call(tools: &[ToolSpec], choice: &ToolChoice) -> Result<String, GrammarError> {
    let offered: Vec<&ToolSpec> = match choice {
        ToolChoice::Named(n) => tools.iter().filter(|t| &t.name == n).collect(),
        ToolChoice::Auto | ToolChoice::Any => tools.iter().collect(),
    };
    if offered.is_empty() {
        return Err(GrammarError::NoTool(match choice {
            ToolChoice::Named(n) => format!("the tool choice names `{n}`, which is not offered"),
            _ => "the request offers no tools".to_owned(),
        }));
    }
    let mut rules = Rules::default();
    let alts: Vec<String> = offered
        .iter()
        .map(|t| {
            let args = json_schema(&t.input_schema, &format!("{}-args", t.name), &mut rules);
            let head = format!("{{\"name\": {}, \"arguments\": ", Value::String(t.name.clone()));
            format!("{} {args} \"}}\"", literal(&head))
        })
        .collect();
    Ok(rules.render(&alts.join(" | ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::edits::tool_specs;

    fn rule<'a>(g: &'a str, name: &str) -> &'a str {
        let prefix = format!("{name} ::= ");
        g.lines().find_map(|l| l.strip_prefix(prefix.as_str())).unwrap_or_else(|| panic!("no rule {name} in\n{g}"))
    }

    #[test]
    fn literals_escape_quotes_backslashes_and_newlines() {
        assert_eq!(literal("a\"b\\c\nd\te\u{1}"), r#""a\"b\\c\nd\te\x01""#);
    }

    #[test]
    fn the_real_repair_tools_become_one_call_of_either_tool() {
        let g = tool_call(&tool_specs(), &ToolChoice::Any).unwrap();
        assert_eq!(
            rule(&g, ROOT),
            r#""{\"name\": \"patch_file\", \"arguments\": " patch-file-args "}" | "{\"name\": \"write_file\", \"arguments\": " write-file-args "}""#
        );
        // Both required strings, in schema order, with fixed separators; no other member.
        assert_eq!(rule(&g, "patch-file-args"), r#""{" "\"old_string\": " string ", " "\"new_string\": " string "}""#);
        assert_eq!(rule(&g, "write-file-args"), r#""{" "\"content\": " string "}""#);
        // JSON strings: no raw control characters or bare quotes, escapes only as JSON allows.
        assert_eq!(rule(&g, "string"), r#""\"" char* "\"""#);
        assert!(rule(&g, "char").starts_with(r#"[^"\\\x00-\x1F]"#), "{g}");
        // Every referenced rule is defined.
        for name in ["string", "char", "hex"] {
            rule(&g, name);
        }
    }

    #[test]
    fn a_named_tool_choice_leaves_only_that_tool() {
        let g = tool_call(&tool_specs(), &ToolChoice::Named("write_file".into())).unwrap();
        assert!(!rule(&g, ROOT).contains("patch_file"), "{g}");
        assert!(matches!(tool_call(&tool_specs(), &ToolChoice::Named("rm".into())), Err(GrammarError::NoTool(_))));
        assert!(matches!(tool_call(&[], &ToolChoice::Any), Err(GrammarError::NoTool(_))));
    }

    #[test]
    fn schema_types_enums_arrays_and_optional_members() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "mode": {"enum": ["fast", "slow"]},
                "count": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "note": {"type": ["string", "null"]},
                "free": {}
            },
            "required": ["count"]
        });
        let mut rules = Rules::default();
        let root = json_schema(&schema, "args", &mut rules);
        let g = rules.render(&root);
        // `count` is required and comes first; the rest are optional, in schema order.
        assert_eq!(
            rule(&g, "args"),
            r#""{" "\"count\": " integer ( ", " "\"mode\": " ( "\"fast\"" | "\"slow\"" ) )? ( ", " "\"tags\": " args-tags )? ( ", " "\"note\": " ( string | "null" ) )? ( ", " "\"free\": " value )? "}""#
        );
        assert_eq!(rule(&g, "args-tags"), r#""[" ( string ( ", " string )* )? "]""#);
        // An object with only optional members may be empty or start with any of them.
        let mut rules = Rules::default();
        let opt =
            serde_json::json!({"type": "object", "properties": {"a": {"type": "boolean"}, "b": {"type": "null"}}});
        let r = json_schema(&opt, "o", &mut rules);
        assert_eq!(
            rule(&rules.render(&r), "o"),
            r#""{" ( "\"a\": " boolean ( ", " "\"b\": " "null" )? | "\"b\": " "null" )? "}""#
        );
    }

    #[test]
    fn fenced_block_forbids_early_closing_fences() {
        let g = fenced_block(3, "python");
        assert_eq!(rule(&g, ROOT), r#""```python\n" line* "```" "\n"?"#);
        // `head` lets at most two backticks start a line; `sp03` covers CommonMark's 0-3 spaces.
        assert_eq!(rule(&g, "head"), r#"[^ `\n] | "`" [^`\n] | "``" [^`\n]"#);
        assert_eq!(rule(&g, "line"), r#""    " [^\n]* "\n" | sp03 ( head [^\n]* | "`" | "``" )? "\n""#);
        assert!(fenced_block(1, "py`\nthon").starts_with(r#"root ::= "```python\n""#));
        // A longer fence lets content lines start with shorter runs (a Markdown file's fences).
        let g = fenced_block(4, "markdown");
        assert_eq!(rule(&g, ROOT), r#""````markdown\n" line* "````" "\n"?"#);
        assert!(rule(&g, "head").ends_with(r#""```" [^`\n]"#), "{g}");
    }

    #[test]
    fn search_replace_names_the_target_and_guards_its_markers() {
        let g = search_replace("pkg/a.py");
        assert_eq!(rule(&g, "block"), r#""pkg/a.py\n<<<<<<< SEARCH\n" sline* "=======\n" rline* ">>>>>>> REPLACE\n""#);
        let sline = rule(&g, "sline");
        assert!(sline.contains(r#""====" [^=\n] [^\n]* "\n""#), "{sline}");
        assert!(!sline.contains(r#""=====" "#), "a line may not start with five '=': {sline}");
        assert!(rule(&g, "rline").contains(r#"">>>>" [^>\n]"#), "{g}");
    }
}
