//! The "exactly one match" rule of SEARCH/REPLACE edits and of the repair tool `patch_file`
//! counts overlapping occurrences: a SEARCH that fits two overlapping places in the file is
//! ambiguous and an error for the model to fix, never applied at one of them.
#![allow(clippy::unwrap_used)]

use ai_tools::broker::ToolCall;
use ai_tools::codegen::edit::{self, EditError};
use ai_tools::codegen::reply::SearchReplace;
use ai_tools::repair::edits;

fn sr(search: &str, replace: &str) -> SearchReplace {
    SearchReplace { declared: None, search: search.into(), replace: replace.into() }
}

#[test]
fn a_search_block_matching_two_overlapping_places_is_ambiguous() {
    // Three closing braces at line starts: "}\n}\n" fits at the first and at the second.
    let file = "mod m {\nfn f() {\n    g();\n}\n}\n}\n";
    let err = edit::apply(file, &[sr("}\n}\n", "}\n")]).unwrap_err();
    assert!(matches!(err, EditError::Ambiguous { count: 2, .. }), "{err}");
    let err = edit::apply("a\na\na\n", &[sr("a\na\n", "b\n")]).unwrap_err();
    assert!(matches!(err, EditError::Ambiguous { count: 2, .. }), "{err}");
    // One real place still applies.
    assert_eq!(edit::apply("a\na\nb\n", &[sr("a\nb\n", "c\n")]).unwrap(), "a\nc\n");
}

#[test]
fn a_repair_patch_whose_old_string_overlaps_itself_is_not_unique() {
    let call = ToolCall {
        id: "1".into(),
        name: "patch_file".into(),
        arguments: serde_json::json!({"old_string": "aa", "new_string": "b"}),
    };
    let err = edits::apply_tool_calls("x = 'aaa'\n", &[call]).unwrap_err();
    assert!(err.contains("is not unique: it occurs 2 times"), "{err}");
}
