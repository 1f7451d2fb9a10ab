//! The formats of the ids that name entries of a task dir: run ids, accept numbers and base
//! blob ids.
//!
//! A task dir is untrusted data (tasks can be committed and cloned), so an id read from disk —
//! state.json's `run_id`, a directory name under `accepts/`, a file name under `code/base/`,
//! a blob id on a diff.patch `index` line — is checked here before it becomes a path segment.
//! Every checker accepts only ASCII letters, digits and `-`/`.` in fixed places, so a valid id
//! is always one plain path segment (never empty, `.`, `..`, absolute or containing `/`).

/// Whether `s` is a run id as [`crate::task::state::new_run_id`] makes them:
/// `YYYYMMDD-HHMMSS-xxxx` (digits, then 4 lowercase hex digits), optionally followed by
/// `.<n>` (the suffix an archive gets when its name is taken), or `unknown-YYYYMMDD-HHMMSS`
/// (the name of an archive whose run id was lost).
pub fn is_run_id(s: &str) -> bool {
    let (base, suffix) = match s.rsplit_once('.') {
        Some((b, n)) => (b, Some(n)),
        None => (s, None),
    };
    if suffix.is_some_and(|n| !is_decimal(n)) {
        return false;
    }
    let stamp = |t: &str| {
        let b = t.as_bytes();
        b.len() == 15 && b[8] == b'-' && b.iter().enumerate().all(|(i, c)| i == 8 || c.is_ascii_digit())
    };
    if let Some(t) = base.strip_prefix("unknown-") {
        return stamp(t);
    }
    match base.rsplit_once('-') {
        Some((t, hex)) => {
            stamp(t) && hex.len() == 4 && hex.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        }
        None => false,
    }
}

/// Whether `s` is a git blob id as ai-tools writes them: 40 lowercase hex digits.
pub fn is_blob_id(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// The accept number a directory under `accepts/` is named by: canonical decimal (`1`, `12`;
/// never `01`, `+1` or empty), at least 1. `None` for any other name.
pub fn accept_number(s: &str) -> Option<u32> {
    if !is_decimal(s) {
        return None;
    }
    s.parse::<u32>().ok().filter(|n| *n >= 1 && n.to_string() == s)
}

/// Whether `s` is the name of a journal scratch directory `.tmp-<n>-<pid>` or
/// `.trash-<n>-<pid>` (see [`crate::review::journal`]): the only entries besides numbered
/// records that journal cleanup may remove.
pub fn is_journal_scratch(s: &str) -> bool {
    let Some(rest) = s.strip_prefix(".tmp-").or_else(|| s.strip_prefix(".trash-")) else { return false };
    rest.split_once('-').is_some_and(|(n, pid)| accept_number(n).is_some() && is_decimal(pid))
}

fn is_decimal(s: &str) -> bool {
    !s.is_empty() && s.len() <= 10 && s.bytes().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids() {
        for ok in ["20260101-000000-aaaa", "20261122-101500-ab12", "20261122-101500-ab12.2", "unknown-20260101-120000"]
        {
            assert!(is_run_id(ok), "{ok}");
        }
        for bad in [
            "",
            "..",
            "../../x",
            "/etc",
            "20260101-000000-AAAA",
            "20260101-000000-aaaa/..",
            "20260101-000000-aaa",
            "run-1",
            "20260101-000000-aaaa.",
            "20260101-000000-aaaa..",
            "unknown-x",
        ] {
            assert!(!is_run_id(bad), "{bad:?}");
        }
        assert!(is_run_id(&crate::task::state::new_run_id()));
    }

    #[test]
    fn blob_ids_and_accept_numbers() {
        assert!(is_blob_id(&"a1".repeat(20)));
        assert!(!is_blob_id(&"A1".repeat(20)));
        assert!(!is_blob_id("../../../../../../../../../../../../etc/x"));
        assert_eq!(accept_number("12"), Some(12));
        for bad in ["0", "01", "+1", "", "1/..", "-1", "99999999999"] {
            assert_eq!(accept_number(bad), None, "{bad:?}");
        }
        assert!(is_journal_scratch(".tmp-3-1234"));
        assert!(is_journal_scratch(".trash-3-1"));
        assert!(!is_journal_scratch(".tmp-x"));
        assert!(!is_journal_scratch(".lock"));
    }
}
