//! The built-in syntax check: parses a file with its tree-sitter grammar (Python, TypeScript,
//! TSX, JavaScript/JSX, Rust, Go) and reports every `ERROR` node (code `ERROR`) and `MISSING`
//! node (code `MISSING`) as a finding of tool `syntax`. It needs no external tool, so
//! validation means something on a bare machine.
//!
//! Invariants: positions are 1-based (tree-sitter's rows and byte columns + 1); an `ERROR`
//! node's children are not reported again; at most [`MAX_PER_FILE`] findings per file.

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

fn snippet(node: Node<'_>, src: &[u8]) -> String {
    let text = node.utf8_text(src).unwrap_or("");
    let first = text.lines().next().unwrap_or("").trim();
    let mut s: String = first.chars().take(40).collect();
    if first.chars().count() > 40 {
        s.push('…');
    }
    s
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
        let pos = node.start_position();
        let (line, column) = (pos.row as u32 + 1, pos.column as u32 + 1);
        if node.is_missing() {
            out.push(Finding {
                file: path.to_string(),
                line,
                column,
                code: "MISSING".into(),
                message: format!("missing `{}`", node.kind()),
            });
            continue;
        }
        if node.is_error() {
            let near = snippet(node, src);
            let message =
                if near.is_empty() { "syntax error".to_owned() } else { format!("syntax error near `{near}`") };
            out.push(Finding { file: path.to_string(), line, column, code: "ERROR".into(), message });
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
        assert_eq!((f[0].code.as_str(), f[0].message.as_str(), f[0].line), ("MISSING", "missing `;`", 1));
    }
}
