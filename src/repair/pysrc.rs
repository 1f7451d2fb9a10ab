//! Facts about Python source that the deterministic fixes ([`super::autofix`]) and candidate
//! selection ([`super::candidates`]) need: top-level definitions, the names a file defines,
//! function signatures (all from tree-sitter), and the symbols a plan's description names.
//!
//! Invariant: nothing here runs the code; a file that does not parse still yields the facts
//! of the parts tree-sitter recovered.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::{Node, Parser, Tree};

/// A top-level `def`/`class` (decorators included) of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopDef {
    /// The defined name.
    pub name: String,
    /// Byte range in the source, decorators included.
    pub start_byte: usize,
    /// End of the byte range (exclusive).
    pub end_byte: usize,
    /// 0-based first line.
    pub start_row: usize,
    /// 0-based last line.
    pub end_row: usize,
    /// Whether tree-sitter found a syntax error inside it.
    pub has_error: bool,
}

/// Parses `content` as Python; `None` only if the grammar cannot be loaded.
pub fn parse(content: &str) -> Option<Tree> {
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_python::LANGUAGE.into()).ok()?;
    parser.parse(content, None)
}

fn children(n: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = n.walk();
    n.children(&mut cursor).collect()
}

/// The definition node inside a `decorated_definition` (or `n` itself).
fn definition_of(n: Node<'_>) -> Node<'_> {
    if n.kind() == "decorated_definition" { n.child_by_field_name("definition").unwrap_or(n) } else { n }
}

fn def_name(n: Node<'_>, src: &[u8]) -> Option<String> {
    let d = definition_of(n);
    matches!(d.kind(), "function_definition" | "class_definition")
        .then(|| d.child_by_field_name("name").and_then(|x| x.utf8_text(src).ok()).map(str::to_owned))
        .flatten()
}

/// The module's top-level `def`s and `class`es, in order.
pub fn top_level_defs(content: &str) -> Vec<TopDef> {
    let Some(tree) = parse(content) else { return Vec::new() };
    let src = content.as_bytes();
    children(tree.root_node())
        .into_iter()
        .filter_map(|n| {
            let name = def_name(n, src)?;
            Some(TopDef {
                name,
                start_byte: n.start_byte(),
                end_byte: n.end_byte(),
                start_row: n.start_position().row,
                end_row: n.end_position().row,
                has_error: n.has_error(),
            })
        })
        .collect()
}

/// Every name `content` defines: functions and classes at any depth (methods included) and
/// top-level assignment targets.
pub fn defined_names(content: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(tree) = parse(content) else { return out };
    let src = content.as_bytes();
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        if let Some(name) = def_name(n, src) {
            out.insert(name);
        }
        if n.kind() == "assignment"
            && n.parent().and_then(|p| p.parent()).is_some_and(|g| g.kind() == "module")
            && let Some(left) = n.child_by_field_name("left").filter(|l| l.kind() == "identifier")
            && let Ok(t) = left.utf8_text(src)
        {
            out.insert(t.to_owned());
        }
        stack.extend(children(n));
    }
    out
}

/// The parameter names of the top-level function `name` (`self`, `*args` and `**kw` as
/// written without stars), or `None` when the module defines no such function.
pub fn signature(content: &str, name: &str) -> Option<Vec<String>> {
    let tree = parse(content)?;
    let src = content.as_bytes();
    let f = children(tree.root_node())
        .into_iter()
        .map(definition_of)
        .find(|n| n.kind() == "function_definition" && def_name(*n, src).as_deref() == Some(name))?;
    let params = f.child_by_field_name("parameters")?;
    Some(children(params).into_iter().filter(|p| p.is_named()).filter_map(|p| param_name(p, src)).collect())
}

fn param_name(p: Node<'_>, src: &[u8]) -> Option<String> {
    let text = |n: Node<'_>| n.utf8_text(src).ok().map(str::to_owned);
    match p.kind() {
        "identifier" => text(p),
        "typed_parameter" | "list_splat_pattern" | "dictionary_splat_pattern" => {
            children(p).into_iter().find(|c| c.kind() == "identifier").and_then(text)
        }
        "default_parameter" | "typed_default_parameter" => p.child_by_field_name("name").and_then(text),
        _ => None,
    }
}

/// A symbol the plan's description names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedSymbol {
    /// Its name.
    pub name: String,
    /// The parameter names when the description writes a `def` line for it (a signature to
    /// keep), else `None`.
    pub params: Option<Vec<String>>,
}

static DEF_LINE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?m)^[ \t]*(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)[ \t]*\(([^)]*)\)").ok());
static CLASS_LINE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(?m)^[ \t]*class[ \t]+([A-Za-z_]\w*)").ok());
static CODE_CALL: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"`(?:[A-Za-z_]\w*\.)*([A-Za-z_]\w*)\(").ok());

/// Python builtins a description may mention in a call without asking for a definition.
const BUILTINS: &[&str] = &[
    "abs",
    "all",
    "any",
    "bool",
    "dict",
    "enumerate",
    "filter",
    "float",
    "frozenset",
    "getattr",
    "hasattr",
    "int",
    "isinstance",
    "iter",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "open",
    "print",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "sorted",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "zip",
    "field",
    "dataclass",
];

/// The symbols `description` names (in order, each once): functions written as `def name(…)`
/// lines (with their parameters), classes written as `class Name` lines, and names called in
/// code spans (`` `name(…)` ``, `` `Type.name(…)` ``), builtins excluded.
pub fn named_symbols(description: &str) -> Vec<NamedSymbol> {
    let mut out: Vec<NamedSymbol> = Vec::new();
    let mut push = |name: &str, params: Option<Vec<String>>| {
        if !out.iter().any(|s| s.name == name) {
            out.push(NamedSymbol { name: name.to_owned(), params });
        }
    };
    if let Some(re) = DEF_LINE.as_ref() {
        for c in re.captures_iter(description) {
            push(&c[1], Some(split_params(&c[2])));
        }
    }
    if let Some(re) = CLASS_LINE.as_ref() {
        for c in re.captures_iter(description) {
            push(&c[1], None);
        }
    }
    if let Some(re) = CODE_CALL.as_ref() {
        for c in re.captures_iter(description) {
            if !BUILTINS.contains(&&c[1]) {
                push(&c[1], None);
            }
        }
    }
    out
}

/// Parameter names of a `def` line's parameter list: split at top-level commas, annotations
/// and defaults dropped, stars stripped, a bare `*` or `/` skipped.
fn split_params(list: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    let (mut depth, mut cur) = (0i32, String::new());
    for ch in list.chars() {
        match ch {
            '[' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    parts.push(cur);
    parts
        .iter()
        .map(|p| p.split([':', '=']).next().unwrap_or("").trim().trim_start_matches('*').trim().to_owned())
        .filter(|p| !p.is_empty() && p != "/")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_and_signatures() {
        let src = "import os\nX = 1\n\n@dataclass\nclass Task:\n    def tag(self, t):\n        pass\n\n\
                   def f(a: List[int], b=2, *args, c: int = 3, **kw) -> int:\n    return a\n\ndef g(:\n";
        let defs = top_level_defs(src);
        let names: Vec<_> = defs.iter().map(|d| (d.name.as_str(), d.start_row, d.has_error)).collect();
        assert_eq!(names, vec![("Task", 3, false), ("f", 8, false), ("g", 11, true)]);
        let all: Vec<_> = defined_names(src).into_iter().collect();
        assert_eq!(all, vec!["Task", "X", "f", "g", "tag"]);
        assert_eq!(signature(src, "f").unwrap(), vec!["a", "b", "args", "c", "kw"]);
        assert_eq!(signature(src, "tag"), None);
    }

    #[test]
    fn symbols_named_by_a_humaneval_prompt_and_by_prose() {
        let prompt = "from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n    \"\"\" Check if in given list of numbers, are any two numbers closer to each other than\n    given threshold.\n    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)\n    False\n    \"\"\"\n";
        assert_eq!(
            named_symbols(prompt),
            vec![NamedSymbol {
                name: "has_close_elements".into(),
                params: Some(vec!["numbers".into(), "threshold".into()])
            }]
        );
        let prose = "`add(title, priority=0, tags=None)` stores `list(tags or [])` on the new task; add \
                     `with_tag(tag) -> List[Task]`; `TodoStore.count()` too.";
        let names: Vec<_> = named_symbols(prose).into_iter().map(|s| s.name).collect();
        assert_eq!(names, vec!["add", "with_tag", "count"]);
    }
}
