//! The built-in syntax check: parses a file with its tree-sitter grammar (Python, TypeScript,
//! TSX, JavaScript/JSX, Rust, Go) and reports every `ERROR` node (code `ERROR`) and `MISSING`
//! node (code `MISSING`) as a finding of tool `syntax`. It needs no external tool, so
//! validation means something on a bare machine.
//!
//! Invariants: positions are 1-based (tree-sitter's rows and byte columns + 1); an `ERROR`
//! node's children are not reported again; at most [`MAX_PER_FILE`] findings per file.
//!
//! Location: tree-sitter often wraps a long valid prefix into the outermost `ERROR` node (a
//! file broken at line 40 yields an `ERROR` starting at 1:1), so a finding points at the first
//! unexpected token inside it (see `locate`) or at the `MISSING` node, and its message quotes
//! that token and the text of its line: ``syntax error at `:` in `def g(y:` ``.

use tree_sitter::{Language, Node, Parser};

use crate::task::relpath::RelPath;
use crate::validate::Finding;

/// Cap on findings per file: the first few locate the problem; the rest are noise.
pub const MAX_PER_FILE: usize = 10;

/// The grammar for `path` by extension, if there is one.
pub fn language_for(path: &RelPath) -> Option<Language> {
    let ext = path.extension()?.to_ascii_lowercase();
    let f = match ext.as_str() {
        "py" | "pyi" => tree_sitter_python::LANGUAGE,
        "ts" | "mts" | "cts" => tree_sitter_typescript::LANGUAGE_TYPESCRIPT,
        "tsx" => tree_sitter_typescript::LANGUAGE_TSX,
        "js" | "mjs" | "cjs" | "jsx" => tree_sitter_javascript::LANGUAGE,
        "rs" => tree_sitter_rust::LANGUAGE,
        "go" => tree_sitter_go::LANGUAGE,
        _ => return None,
    };
    Some(f.into())
}

fn clip(text: &str, max: usize) -> String {
    let first = text.lines().next().unwrap_or("").trim();
    let mut s: String = first.chars().take(max).collect();
    if first.chars().count() > max {
        s.push('…');
    }
    s
}

/// The text of 0-based line `row` of `src`, trimmed and clipped.
fn line_text(src: &str, row: usize) -> String {
    clip(src.lines().nth(row).unwrap_or(""), 80)
}

/// A named, error-free statement or definition: the part of an `ERROR` node that parsed.
fn complete_statement(n: Node<'_>) -> bool {
    let k = n.kind();
    n.is_named()
        && !n.has_error()
        && (k == "decorated_definition"
            || k == "comment"
            || ["_statement", "_definition", "_declaration", "_item"].iter().any(|s| k.ends_with(s)))
}

/// The first `ERROR` or `MISSING` node under `n`, in document order.
fn first_problem(n: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = n.walk();
    let children: Vec<Node<'_>> = n.children(&mut cursor).collect();
    for c in children {
        if c.is_error() || c.is_missing() {
            return Some(c);
        }
        if c.has_error()
            && let Some(p) = first_problem(c)
        {
            return Some(p);
        }
    }
    None
}

/// The last token (leaf) of `n` that starts on 0-based line `row`.
fn last_leaf_on_row(n: Node<'_>, row: usize) -> Option<Node<'_>> {
    if n.child_count() == 0 {
        return (n.start_position().row == row).then_some(n);
    }
    let mut cursor = n.walk();
    let children: Vec<Node<'_>> = n.children(&mut cursor).collect();
    children.into_iter().rev().filter(|c| c.start_position().row <= row).find_map(|c| last_leaf_on_row(c, row))
}

/// Where the parse went wrong inside the outermost `ERROR` node `err`: statements that parsed
/// at its start are skipped; a nested `ERROR` or `MISSING` in the first remaining child is
/// followed; otherwise the unexpected token is the last token on that child's first line (the
/// point where the parser gave up on the line: `def g(y:` → `:`).
fn locate(err: Node<'_>) -> Node<'_> {
    let mut node = err;
    loop {
        let mut cursor = node.walk();
        let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
        let Some(first) = children.into_iter().find(|c| !complete_statement(*c)) else { return node };
        let next = if first.is_missing() {
            return first;
        } else if first.is_error() {
            first
        } else if first.has_error() {
            match first_problem(first) {
                Some(p) if p.is_missing() => return p,
                Some(p) => p,
                None => return first,
            }
        } else {
            return last_leaf_on_row(node, first.start_position().row).unwrap_or(first);
        };
        if next.child_count() == 0 {
            return next;
        }
        node = next;
    }
}

/// Checks `content` as the file `path`; `None` when there is no grammar for it.
pub fn check(path: &RelPath, content: &str) -> Option<Vec<Finding>> {
    let lang = language_for(path)?;
    let mut parser = Parser::new();
    parser.set_language(&lang).ok()?;
    let tree = parser.parse(content, None)?;
    let src = content.as_bytes();
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if out.len() >= MAX_PER_FILE {
            break;
        }
        if node.is_missing() || node.is_error() {
            let at = if node.is_error() { locate(node) } else { node };
            let pos = at.start_position();
            let (line, column) = (pos.row as u32 + 1, pos.column as u32 + 1);
            let text = line_text(content, pos.row);
            let (code, message) = if at.is_missing() {
                ("MISSING", format!("missing `{}` in `{text}`", at.kind()))
            } else {
                let tok = clip(at.utf8_text(src).unwrap_or(""), 40);
                let message = if tok.is_empty() {
                    format!("syntax error in `{text}`")
                } else {
                    format!("syntax error at `{tok}` in `{text}`")
                };
                ("ERROR", message)
            };
            out.push(Finding { file: path.to_string(), line, column, code: code.into(), message });
            continue;
        }
        if node.has_error() {
            let mut cursor = node.walk();
            let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
            stack.extend(children.into_iter().rev());
        }
    }
    out.sort_by_key(|f| (f.line, f.column));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    #[test]
    fn clean_and_broken_files_in_each_grammar() {
        for (path, good, bad) in [
            ("a.py", "def f(x):\n    return x\n", "def f(:\n    return 1\n"),
            ("a.ts", "export const x: number = 1;\n", "export const x: number = ;\n"),
            ("a.tsx", "export const A = () => <p>{1}</p>;\n", "export const A = () => <p>{1</p>;\n"),
            ("a.js", "export const x = [1, 2];\n", "export const x = [1, 2;\n"),
            ("a.rs", "fn main() { let x = 1; }\n", "fn main() { let x = ; }\n"),
            ("a.go", "package a\n\nfunc F() int { return 1 }\n", "package a; func F( int { return 1 }\n"),
        ] {
            assert_eq!(check(&rp(path), good).unwrap(), vec![], "{path} clean");
            let f = check(&rp(path), bad).unwrap();
            assert!(!f.is_empty(), "{path} broken");
            assert!(f.iter().all(|f| f.code == "ERROR" || f.code == "MISSING"), "{f:?}");
            assert_eq!(f[0].line, 1, "{path}: {f:?}");
        }
        assert!(check(&rp("README.md"), "# x").is_none());
    }

    #[test]
    fn missing_node_is_reported_with_its_kind() {
        let f = check(&rp("a.rs"), "fn main() { let x = 1 }\n").unwrap();
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].code.as_str(), f[0].message.as_str(), f[0].line),
            ("MISSING", "missing `;` in `fn main() { let x = 1 }`", 1)
        );
    }

    #[test]
    fn errors_point_at_the_unexpected_token_not_the_start_of_the_error() {
        // A broken function after 12 good lines: the ERROR node starts after the good part.
        let good = "from dataclasses import dataclass, field\nfrom typing import List\n\n\n@dataclass\nclass Task:\n    title: str\n    tags: List[str] = field(default_factory=list)\n\n    def describe(self):\n        return self.title\n\n";
        let f = check(&rp("a.py"), &format!("{good}def g(y:\n    return y\n")).unwrap();
        assert_eq!((f[0].line, f[0].column), (13, 8), "{f:?}");
        assert_eq!(f[0].message, "syntax error at `:` in `def g(y:`");
        // Broken inside a method at the end: the last token before the parser gave up.
        let inside =
            format!("{}\n\n    def broken(self):\n        return [t for t in self.tags if (t\n", good.trim_end());
        let f = check(&rp("a.py"), &inside).unwrap();
        assert_eq!(f[0].line, 14, "{f:?}");
        assert!(f[0].message.contains("in `return [t for t in self.tags if (t`"), "{f:?}");
        // A stray fence after a good function: the fence's line, not the function's.
        let f = check(&rp("a.py"), "def f(x):\n    return x\n```\n\nThis is the explanation.\n").unwrap();
        assert_eq!(f[0].line, 3, "{f:?}");
        assert!(f[0].message.ends_with("in `````"), "{f:?}");
    }
}
