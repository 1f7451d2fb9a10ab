//! File types by extension: the language name used in summaries and prompts, and the fence
//! info string a code block for it carries.

use crate::task::relpath::RelPath;

/// A file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileType {
    /// Human name for summaries ("Python", "TypeScript", …).
    pub name: &'static str,
    /// Code fence info string ("python", "tsx", …); empty when unknown.
    pub fence: &'static str,
}

const TABLE: &[(&[&str], FileType)] = &[
    (&["py", "pyi"], FileType { name: "Python", fence: "python" }),
    (&["ts", "mts", "cts"], FileType { name: "TypeScript", fence: "typescript" }),
    (&["tsx"], FileType { name: "TSX", fence: "tsx" }),
    (&["js", "mjs", "cjs"], FileType { name: "JavaScript", fence: "javascript" }),
    (&["jsx"], FileType { name: "JSX", fence: "jsx" }),
    (&["rs"], FileType { name: "Rust", fence: "rust" }),
    (&["go"], FileType { name: "Go", fence: "go" }),
    (&["java"], FileType { name: "Java", fence: "java" }),
    (&["c", "h"], FileType { name: "C", fence: "c" }),
    (&["cc", "cpp", "hpp", "cxx"], FileType { name: "C++", fence: "cpp" }),
    (&["rb"], FileType { name: "Ruby", fence: "ruby" }),
    (&["sh", "bash"], FileType { name: "Shell", fence: "bash" }),
    (&["md", "markdown"], FileType { name: "Markdown", fence: "markdown" }),
    (&["toml"], FileType { name: "TOML", fence: "toml" }),
    (&["json"], FileType { name: "JSON", fence: "json" }),
    (&["yaml", "yml"], FileType { name: "YAML", fence: "yaml" }),
    (&["html", "htm"], FileType { name: "HTML", fence: "html" }),
    (&["css"], FileType { name: "CSS", fence: "css" }),
    (&["sql"], FileType { name: "SQL", fence: "sql" }),
    (&["txt"], FileType { name: "Text", fence: "text" }),
];

/// The type of `path` by its extension; "Other" with an empty fence when unknown.
pub fn file_type(path: &RelPath) -> FileType {
    let ext = path.extension().map(str::to_ascii_lowercase);
    ext.and_then(|e| TABLE.iter().find(|(exts, _)| exts.contains(&e.as_str())).map(|(_, t)| *t))
        .unwrap_or(FileType { name: "Other", fence: "" })
}

/// A backtick fence longer than any backtick run in `text` (at least 3), so `text` can sit
/// inside it intact (CommonMark: the closing fence must be at least as long as the opening).
pub fn fence_for(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_fences() {
        assert_eq!(file_type(&RelPath::new("a/b.py").unwrap()).name, "Python");
        assert_eq!(file_type(&RelPath::new("x.TSX").unwrap()).fence, "tsx");
        assert_eq!(file_type(&RelPath::new("Makefile").unwrap()).name, "Other");
        assert_eq!(fence_for("no ticks"), "```");
        assert_eq!(fence_for("has ``` inside"), "````");
    }
}
