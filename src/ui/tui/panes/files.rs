//! The files pane: each target with its status, viewed mark, action, +/− counts, validation
//! findings, the best-of-N choice (`#2/3`: kept candidate 2 of 3, once a file was sampled more
//! than once), the quality score (after a run) and review state (all / some / none of its hunks
//! accepted).
//!
//! Invariant: a path that does not fit is shortened from the left (`…/models.py`), dropping
//! leading directories first; the file name itself is never cut.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table, TableState};

use crate::ui::tui::app::{App, FileProgress, Pane};
use crate::ui::tui::view::block;

/// Inner widths below this use the compact columns (3-letter actions).
const COMPACT: usize = 60;

/// `path` shortened from the left to fit `width` columns: `a/b/c/models.py` becomes
/// `…/c/models.py`, then `…/models.py`; a file name wider than `width` is returned whole.
pub fn shorten_left(path: &str, width: usize) -> String {
    let w = |s: &str| Span::raw(s).width();
    if w(path) <= width {
        return path.to_owned();
    }
    let Some((dirs, name)) = path.rsplit_once('/') else { return path.to_owned() };
    let dirs: Vec<&str> = dirs.split('/').collect();
    for keep in (0..dirs.len()).rev() {
        let mut s = String::from("…/");
        for d in &dirs[dirs.len() - keep..] {
            s.push_str(d);
            s.push('/');
        }
        s.push_str(name);
        if w(&s) <= width {
            return s;
        }
    }
    name.to_owned()
}

fn short_action(a: &str) -> String {
    match a {
        "create" => "new".into(),
        "modify" => "mod".into(),
        "delete" => "del".into(),
        other => other.chars().take(3).collect(),
    }
}

/// Draws the pane; records the table's scroll offset for mouse clicks.
pub fn draw(app: &mut App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let b = block(&app.theme, app.focus, format!(" Files ({}) ", app.files.len()), Pane::Files);
    let inner_w = b.inner(area).width as usize;
    let compact = inner_w < COMPACT;
    let counts: Vec<(String, String)> =
        app.files.iter().map(|r| (format!("+{}", r.additions), format!("−{}", r.deletions))).collect();
    let count_w = counts.iter().map(|(a, d)| a.chars().count() + 1 + d.chars().count()).max().unwrap_or(0).max(3);
    let review_w = 6;
    let action_w = if compact { 3 } else { 6 };
    // The quality score per file, once a run has scored them (wide panes only).
    let scores = app.last_summary.as_ref().map(|s| &s.file_scores).filter(|m| !m.is_empty() && !compact);
    let score_w = if scores.is_some() { 5 } else { 0 };
    // The kept candidate of a best-of-N sample (wide panes, once some file had more than one).
    let cands: Vec<Option<String>> =
        app.files.iter().map(|r| r.candidates.filter(|(_, n)| *n > 1).map(|(k, n)| format!("#{k}/{n}"))).collect();
    let sampled = !compact && cands.iter().any(Option::is_some);
    let cand_w = if sampled { cands.iter().flatten().map(String::len).max().unwrap_or(0).max(4) } else { 0 };
    // status, viewed, path, action, +/−, err, [cand,] [score,] review; a space between each.
    let gaps = 6 + usize::from(sampled) + usize::from(scores.is_some());
    let fixed = 1 + 1 + action_w + count_w + 3 + cand_w + score_w + review_w + gaps;
    let path_w = inner_w.saturating_sub(fixed).max(4);
    let rows: Vec<Row> = app
        .files
        .iter()
        .zip(&counts)
        .zip(&cands)
        .map(|((r, (adds, dels)), cand)| {
            let (acc, total) = app.review_counts(&r.path);
            let review = match (acc, total) {
                (_, 0) => Span::styled("—", t.muted),
                (a, n) if a == n => Span::styled("all", t.ok),
                (0, _) => Span::styled("none", t.error),
                (a, n) => Span::styled(format!("{a}/{n}"), t.warn),
            };
            let status = match &r.progress {
                FileProgress::Failed(_) => Span::styled("✗", t.error),
                FileProgress::Streaming(_) => Span::styled("…", t.accent),
                FileProgress::Done => Span::styled("✓", t.ok),
                FileProgress::Queued => Span::styled("·", t.muted),
            };
            let viewed = if app.is_viewed(&r.path) { Span::styled("●", t.accent) } else { Span::raw(" ") };
            let findings =
                if r.findings > 0 { Span::styled(r.findings.to_string(), t.error) } else { Span::styled("0", t.muted) };
            let action = if compact { short_action(&r.action) } else { r.action.clone() };
            let score = match scores.and_then(|m| m.get(&r.path)) {
                Some(q) => Span::styled(format!("{q:.2}"), if *q >= 0.9 { t.ok } else { t.warn }),
                None => Span::styled("—", t.muted),
            };
            let mut cells = vec![
                Cell::from(status),
                Cell::from(viewed),
                Cell::from(Span::styled(shorten_left(&r.path, path_w), t.text)),
                Cell::from(Span::styled(action, t.muted)),
                Cell::from(Line::from(vec![
                    Span::styled(adds.clone(), t.ok),
                    Span::raw(" "),
                    Span::styled(dels.clone(), t.error),
                ])),
                Cell::from(findings),
            ];
            if sampled {
                cells.push(Cell::from(match (cand, r.candidates) {
                    (Some(c), Some((k, _))) => Span::styled(c.clone(), if k == 1 { t.muted } else { t.accent }),
                    _ => Span::styled("—", t.muted),
                }));
            }
            if scores.is_some() {
                cells.push(Cell::from(score));
            }
            cells.push(Cell::from(review));
            Row::new(cells)
        })
        .collect();
    let mut titles = vec!["", "v", "path", if compact { "act" } else { "action" }, "+/−", "err"];
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(path_w as u16),
        Constraint::Length(action_w as u16),
        Constraint::Length(count_w as u16),
        Constraint::Length(3),
    ];
    if sampled {
        titles.push("cand");
        widths.push(Constraint::Length(cand_w as u16));
    }
    if scores.is_some() {
        titles.push("score");
        widths.push(Constraint::Length(score_w as u16));
    }
    titles.push("review");
    widths.push(Constraint::Length(review_w as u16));
    let header = Row::new(titles).style(t.muted);
    let table = Table::new(rows, widths).header(header).block(b).row_highlight_style(t.selection);
    let mut state = TableState::default().with_selected((!app.files.is_empty()).then_some(app.selected));
    f.render_stateful_widget(table, area, &mut state);
    app.review.files_offset = state.offset();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortens_from_the_left_and_never_cuts_the_name() {
        assert_eq!(shorten_left("app/models.py", 20), "app/models.py");
        assert_eq!(shorten_left("src/app/db/models.py", 16), "…/db/models.py");
        assert_eq!(shorten_left("src/app/db/models.py", 12), "…/models.py");
        assert_eq!(shorten_left("src/app/db/models.py", 5), "models.py");
        assert_eq!(shorten_left("a_very_long_file_name.py", 10), "a_very_long_file_name.py");
    }
}
