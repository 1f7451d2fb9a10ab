//! Property: generated content for a `modify` target keeps its base file's line-ending style —
//! the dominant ending of a CRLF, LF or mixed file, and its final-newline state — whichever way
//! the content was produced: a whole-file reply (materialize), SEARCH/REPLACE edits
//! (materialize), or a repair (text reply or `write_file` tool call). Models answer in LF with
//! a final newline, so without this a CRLF file's diff changes every line and a file without a
//! final newline gains one. For a file with one ending style, the diff changes exactly the lines
//! the model changed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use ai_tools::broker::ToolCall;
use ai_tools::codegen::diff::{Backend, FileInput, unified_diff};
use ai_tools::codegen::edit;
use ai_tools::codegen::materialize;
use ai_tools::codegen::reply::SearchReplace;
use ai_tools::plan::Action;
use ai_tools::repair::edits;
use ai_tools::task::TaskDir;
use ai_tools::task::relpath::RelPath;
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
enum Style {
    Lf,
    Crlf,
    /// Each line's ending drawn at random, with a strict majority for one of them.
    Mixed,
}

#[derive(Debug, Clone)]
struct Case {
    /// Line `i` is `line {i}`; its ending.
    crlf: Vec<bool>,
    final_newline: bool,
    /// Indices of lines the model changes.
    changed: BTreeSet<usize>,
}

impl Case {
    fn base(&self) -> String {
        let n = self.crlf.len();
        (0..n)
            .map(|i| {
                let end = if i + 1 == n && !self.final_newline {
                    ""
                } else if self.crlf[i] {
                    "\r\n"
                } else {
                    "\n"
                };
                format!("line {i}{end}")
            })
            .collect()
    }

    fn text_of(&self, i: usize) -> String {
        if self.changed.contains(&i) { format!("changed {i}") } else { format!("line {i}") }
    }

    /// The model's whole-file answer: LF endings and a final newline, as a fenced reply has.
    fn reply(&self) -> String {
        (0..self.crlf.len()).map(|i| format!("{}\n", self.text_of(i))).collect()
    }

    /// The endings of the base's terminated lines: (CRLF count, LF count).
    fn counts(&self) -> (usize, usize) {
        let n = self.crlf.len();
        let terminated = if self.final_newline { n } else { n - 1 };
        let crlf = self.crlf[..terminated].iter().filter(|c| **c).count();
        (crlf, terminated - crlf)
    }
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..40, prop_oneof![Just(Style::Lf), Just(Style::Crlf), Just(Style::Mixed)], any::<bool>())
        .prop_flat_map(|(n, style, final_newline)| {
            let endings = match style {
                Style::Lf => Just(vec![false; n]).boxed(),
                Style::Crlf => Just(vec![true; n]).boxed(),
                Style::Mixed => prop::collection::vec(any::<bool>(), n).boxed(),
            };
            (endings, Just(final_newline), prop::collection::btree_set(0..n, 0..=n.min(5)))
        })
        .prop_map(|(crlf, final_newline, changed)| {
            let mut c = Case { crlf, final_newline, changed };
            // A mixed base needs a dominant ending to follow: break a tie.
            let (cr, lf) = c.counts();
            if cr == lf && cr > 0 {
                c.crlf[0] = !c.crlf[0];
            }
            c
        })
}

/// Splits `text` into (line text, terminator).
fn lines(text: &str) -> Vec<(&str, &str)> {
    text.split_inclusive('\n')
        .map(|l| match l.strip_suffix("\r\n") {
            Some(b) => (b, "\r\n"),
            None => match l.strip_suffix('\n') {
                Some(b) => (b, "\n"),
                None => (l, ""),
            },
        })
        .collect()
}

/// Checks `result` (produced from the base of `case`) against the properties in the module docs.
fn check(case: &Case, result: &str, how: &str) -> Result<(), TestCaseError> {
    let base = case.base();
    let got = lines(result);
    let texts: Vec<String> = got.iter().map(|(t, _)| (*t).to_owned()).collect();
    let want: Vec<String> = (0..case.crlf.len()).map(|i| case.text_of(i)).collect();
    prop_assert_eq!(&texts, &want, "{}: line texts", how);
    prop_assert_eq!(
        result.ends_with('\n'),
        base.ends_with('\n'),
        "{}: final newline of {:?} -> {:?}",
        how,
        base,
        result
    );
    let (cr, lf) = case.counts();
    if cr != lf {
        let dominant = if cr > lf { "\r\n" } else { "\n" };
        for (i, (_, end)) in got.iter().enumerate() {
            prop_assert!(end.is_empty() || *end == dominant, "{}: line {} ends {:?} in {:?}", how, i, end, result);
        }
    }
    if cr == 0 || lf == 0 {
        // One style: the diff touches exactly the changed lines.
        let path = RelPath::new("f.txt").unwrap();
        let mut input = [FileInput {
            path: &path,
            old: Some(base.as_bytes()),
            new: Some(result.as_bytes()),
            old_mode: 0o644,
            new_mode: 0o644,
        }];
        let (_, stats) = unified_diff(&mut input, Backend::default()).unwrap();
        let added = stats.first().map_or(0, |s| s.additions);
        prop_assert_eq!(added, case.changed.len(), "{}: {:?} -> {:?}", how, base, result);
    }
    Ok(())
}

/// Writes `content` for a `modify` of `f.txt` (whose working-tree bytes are the case's base)
/// through materialize, and returns what landed in code/files.
fn materialized(case: &Case, content: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("f.txt"), case.base()).unwrap();
    let task = TaskDir::new(dir.path().join("task"));
    let items = [(RelPath::new("f.txt").unwrap(), Action::Modify, Some(content.to_owned()))];
    materialize::materialize(&task, &repo, "20260101-000000-aaaa", &items).unwrap();
    std::fs::read_to_string(task.files_dir().join("f.txt")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn whole_file_replies_follow_the_base_style(c in case()) {
        check(&c, &materialized(&c, &c.reply()), "whole file")?;
    }

    #[test]
    fn search_replace_edits_follow_the_base_style(c in case()) {
        let blocks: Vec<SearchReplace> = c
            .changed
            .iter()
            .map(|i| SearchReplace { declared: None, search: format!("line {i}\n"), replace: format!("changed {i}\n") })
            .collect();
        let edited = edit::apply(&c.base(), &blocks).unwrap();
        check(&c, &materialized(&c, &edited), "search/replace")?;
    }

    #[test]
    fn repairs_follow_the_content_they_start_from(c in case()) {
        let file = RelPath::new("f.txt").unwrap();
        let text = edits::apply_text_reply(&c.base(), &format!("Fixed:\n```\n{}```\n", c.reply()), &file).unwrap();
        check(&c, &text, "repair text reply")?;
        let call = ToolCall { id: "1".into(), name: "write_file".into(), arguments: serde_json::json!({"content": c.reply()}) };
        let tool = edits::apply_tool_calls(&c.base(), &[call]).unwrap();
        check(&c, &tool, "repair write_file")?;
    }
}
