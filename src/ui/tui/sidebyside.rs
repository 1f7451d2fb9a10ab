//! The side-by-side diff (toggled with `s`): old lines on the left, new on the right, a change
//! block's i-th removed line beside its i-th added line, with the same syntax colors, add/remove
//! backgrounds and intraline emphasis as the unified view ([`crate::ui::tui::panes::diff`]).
//!
//! Invariants: the layout is built once per diff version (cached in the app) and a frame
//! renders only the lines on screen; the cursor stays a row of the file's model, so switching
//! views keeps the place.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::ui::tui::app::{App, Pane};
use crate::ui::tui::diffmodel::{FileDiffModel, RowKind};
use crate::ui::tui::panes::diff::{code_spans, diff_title, review_mark};
use crate::ui::tui::view::block;

/// One line of the side-by-side view: a full-width row (a hunk header, a no-newline note), or
/// a pair of model rows (either side may be empty; a context row is on both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbsLine {
    /// A row drawn across both halves.
    Full(usize),
    /// The old side's row and the new side's row.
    Pair(Option<usize>, Option<usize>),
}

impl SbsLine {
    /// The model row the cursor lands on for this line (left first).
    pub fn anchor(self) -> usize {
        match self {
            SbsLine::Full(i) => i,
            SbsLine::Pair(l, r) => l.or(r).unwrap_or(0),
        }
    }

    /// Whether model row `row` is shown on this line.
    pub fn holds(self, row: usize) -> bool {
        match self {
            SbsLine::Full(i) => i == row,
            SbsLine::Pair(l, r) => l == Some(row) || r == Some(row),
        }
    }
}

/// Lays out `model`'s rows side by side.
pub fn lines(model: &FileDiffModel) -> Vec<SbsLine> {
    let mut out = Vec::with_capacity(model.rows.len());
    let (mut removes, mut adds): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
    let flush = |out: &mut Vec<SbsLine>, removes: &mut Vec<usize>, adds: &mut Vec<usize>| {
        for k in 0..removes.len().max(adds.len()) {
            out.push(SbsLine::Pair(removes.get(k).copied(), adds.get(k).copied()));
        }
        removes.clear();
        adds.clear();
    };
    for (i, row) in model.rows.iter().enumerate() {
        match row.kind {
            RowKind::Remove => {
                if !adds.is_empty() {
                    flush(&mut out, &mut removes, &mut adds);
                }
                removes.push(i);
            }
            RowKind::Add => adds.push(i),
            RowKind::Context => {
                flush(&mut out, &mut removes, &mut adds);
                out.push(SbsLine::Pair(Some(i), Some(i)));
            }
            RowKind::Header | RowKind::NoNewline => {
                flush(&mut out, &mut removes, &mut adds);
                out.push(SbsLine::Full(i));
            }
        }
    }
    flush(&mut out, &mut removes, &mut adds);
    out
}

/// The side-by-side lines of the selected file, from the cache when its version matches.
pub fn cached(app: &mut App, path: &str) -> Vec<SbsLine> {
    let Some(model) = app.diffs.get(path) else { return Vec::new() };
    if let Some((p, v, l)) = &app.review.sbs_cache
        && p == path
        && *v == model.version
    {
        return l.clone();
    }
    let l = lines(model);
    app.review.sbs_cache = Some((path.to_owned(), model.version, l.clone()));
    l
}

/// Draws the selected file `path` side by side in `area`.
pub fn draw(app: &mut App, f: &mut Frame, area: Rect, path: &str) {
    let sbs = cached(app, path);
    let App { diffs, hl, theme: t, diff_cursor, diff_scroll, focus, review, .. } = app;
    let Some(model) = diffs.get_mut(path) else { return };
    let hunk = model.hunk_of(*diff_cursor).unwrap_or(0);
    let b = block(t, *focus, format!("{}[side by side] ", diff_title(path, model, hunk)), Pane::Diff);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let h = inner.height as usize;
    if h == 0 || inner.width < 8 {
        return;
    }
    let cur = sbs.iter().position(|l| l.holds(*diff_cursor)).unwrap_or(0);
    if cur < *diff_scroll {
        *diff_scroll = cur;
    } else if cur >= *diff_scroll + h {
        *diff_scroll = cur + 1 - h;
    }
    let half_l = (inner.width as usize - 1) / 2;
    let half_r = inner.width as usize - 1 - half_l;
    let end = (*diff_scroll + h).min(sbs.len());
    let mut out = Vec::with_capacity(end - *diff_scroll);
    for (n, l) in sbs[*diff_scroll..end].iter().enumerate() {
        let mut line = match *l {
            SbsLine::Full(i) => {
                let row = &model.rows[i];
                let accepted = model.hunks.get(row.hunk).is_none_or(|h| h.accepted);
                let reason = model.hunks.get(row.hunk).and_then(|h| review.reasons.get(&h.id)).map(String::as_str);
                let mut v = vec![Span::styled(
                    row.text.clone(),
                    if row.kind == RowKind::Header { t.hunk_header } else { t.muted },
                )];
                if row.kind == RowKind::Header {
                    v.push(Span::raw(" "));
                    v.push(review_mark(t, accepted, reason));
                }
                Line::from(v)
            }
            SbsLine::Pair(left, right) => {
                let mut v = half(model, hl, t, left, false, half_l);
                v.push(Span::styled("│", t.border));
                v.extend(half(model, hl, t, right, true, half_r));
                Line::from(v)
            }
        };
        if *diff_scroll + n == cur {
            line = line.patch_style(t.selection);
        }
        out.push(line);
    }
    f.render_widget(Paragraph::new(out), inner);
}

/// One half of a pair line, exactly `width` columns: the line number, the sign and the text,
/// with the row's background filling the half.
fn half(
    model: &mut FileDiffModel,
    hl: &mut crate::ui::tui::highlight::Highlighter,
    t: &crate::ui::tui::theme::Theme,
    row: Option<usize>,
    new_side: bool,
    width: usize,
) -> Vec<Span<'static>> {
    let Some(i) = row else { return vec![Span::raw(" ".repeat(width))] };
    let r = &model.rows[i];
    let no = if new_side { r.new_no } else { r.old_no };
    let accepted = model.hunks.get(r.hunk).is_none_or(|h| h.accepted);
    let kind = r.kind;
    let (sign, bg, spans) = code_spans(model, hl, t, i, accepted);
    let bg = if kind == RowKind::Context { Style::default() } else { bg };
    let numw = if width >= 40 { 5 } else { 4 };
    let mut v = vec![
        Span::styled(no.map_or_else(|| " ".repeat(numw), |n| format!("{n:>numw$}")), t.line_number),
        Span::styled(format!(" {sign}"), bg),
    ];
    v.extend(spans);
    fit(v, width, bg)
}

/// Cuts `spans` to `width` columns (ending in `…` when cut) or pads them with `pad`'s
/// background.
fn fit(spans: Vec<Span<'static>>, width: usize, pad: Style) -> Vec<Span<'static>> {
    let mut out = Vec::with_capacity(spans.len() + 1);
    let mut used = 0usize;
    for s in spans {
        let w = s.width();
        if used + w <= width {
            used += w;
            out.push(s);
            continue;
        }
        if used >= width {
            break;
        }
        let mut text = String::new();
        for c in s.content.chars() {
            let cw = Span::raw(c.to_string()).width();
            if used + cw + 1 > width {
                break;
            }
            used += cw;
            text.push(c);
        }
        text.push('…');
        used += 1;
        out.push(Span::styled(text, s.style));
        break;
    }
    if used < width {
        out.push(Span::styled(" ".repeat(width - used), pad));
    }
    out
}

impl App {
    /// Moves the diff cursor `delta` lines as the pane shows them (model rows in the unified
    /// view, side-by-side lines otherwise); `isize::MIN` / `isize::MAX` go to the top / bottom.
    pub fn move_diff_cursor(&mut self, delta: isize) {
        let Some(path) = self.selected_path().map(str::to_owned) else { return };
        let Some(rows) = self.diffs.get(&path).map(|d| d.rows.len()) else { return };
        let step = |at: usize, len: usize| -> usize {
            let last = len.saturating_sub(1) as isize;
            (at as isize).saturating_add(delta).clamp(0, last) as usize
        };
        if !self.review.side_by_side {
            self.diff_cursor = step(self.diff_cursor, rows);
            return;
        }
        let sbs = cached(self, &path);
        let at = sbs.iter().position(|l| l.holds(self.diff_cursor)).unwrap_or(0);
        if let Some(l) = sbs.get(step(at, sbs.len())) {
            self.diff_cursor = l.anchor();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_and_pads_to_the_width() {
        let cut = fit(vec![Span::raw("abcdef"), Span::raw("gh")], 5, Style::default());
        assert_eq!(cut.iter().map(|s| s.content.as_ref()).collect::<String>(), "abcd…");
        let pad = fit(vec![Span::raw("ab")], 5, Style::default());
        assert_eq!(pad.iter().map(|s| s.width()).sum::<usize>(), 5);
    }
}
