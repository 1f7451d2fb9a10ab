//! The diff pane: the selected file's hunks, syntax-highlighted, with old/new line numbers,
//! add/remove backgrounds, word-level emphasis on changed lines and each hunk header showing
//! its review state. While the file is being generated, its reply streams here instead.
//!
//! Invariant: a frame highlights and decorates only the rows it shows (see
//! [`crate::ui::tui::highlight`]), and lines are capped at [`MAX_LINE`] characters, so drawing
//! cost is independent of the diff's size.

use std::ops::Range;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::ui::tui::app::{App, FileProgress, Pane};
use crate::ui::tui::diffmodel::{FileDiffModel, RowKind};
use crate::ui::tui::highlight::{CHUNK, ChunkKey, Highlighter, Span as HlSpan};
use crate::ui::tui::sbs::SbsLine;
use crate::ui::tui::sidebyside;
use crate::ui::tui::theme::Theme;
use crate::ui::tui::view::block;

/// Longest line drawn, in characters (longer lines end in `…`).
pub const MAX_LINE: usize = 500;

/// Draws the pane.
pub fn draw(app: &mut App, f: &mut Frame, area: Rect) {
    let path = app.selected_path().map(str::to_owned);
    let streaming = path
        .as_ref()
        .and_then(|p| app.files.iter().find(|r| &r.path == p))
        .is_some_and(|r| matches!(r.progress, FileProgress::Streaming(_)));
    let Some(path) = path else {
        let b = block(&app.theme, app.focus, " Diff ", Pane::Diff);
        f.render_widget(
            Paragraph::new(Span::styled("no task files yet: /codegen starts a run", app.theme.muted)).block(b),
            area,
        );
        return;
    };
    if streaming || (!app.diffs.contains_key(&path) && app.streams.get(&path).is_some_and(|s| !s.is_empty())) {
        draw_stream(app, f, area, &path, streaming);
        return;
    }
    if app.review.side_by_side {
        draw_side_by_side(app, f, area, &path);
        return;
    }
    let App { diffs, hl, theme, diff_cursor, diff_scroll, focus, review, .. } = app;
    let Some(model) = diffs.get_mut(&path) else {
        let b = block(theme, *focus, format!(" Diff: {path} "), Pane::Diff);
        f.render_widget(Paragraph::new(Span::styled("no changes for this file", theme.muted)).block(b), area);
        return;
    };
    let hunk = model.hunk_of(*diff_cursor).unwrap_or(0);
    let title = diff_title(&path, model, hunk);
    let b = block(theme, *focus, title, Pane::Diff);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let h = inner.height as usize;
    if h == 0 {
        return;
    }
    // Keep the cursor on screen.
    if *diff_cursor < *diff_scroll {
        *diff_scroll = *diff_cursor;
    } else if *diff_cursor >= *diff_scroll + h {
        *diff_scroll = *diff_cursor + 1 - h;
    }
    let end = (*diff_scroll + h).min(model.rows.len());
    let lines: Vec<Line> = (*diff_scroll..end)
        .map(|i| {
            let reason =
                model.hunks.get(model.rows[i].hunk).and_then(|h| review.reasons.get(&h.id)).map(String::as_str);
            render_row(model, hl, theme, i, i == *diff_cursor, reason)
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

/// The diff pane's title: the file and the cursor's hunk with its review state.
pub(crate) fn diff_title(path: &str, model: &FileDiffModel, hunk: usize) -> String {
    match model.hunks.get(hunk) {
        Some(h) => format!(
            " Diff: {path} — hunk {}/{} {} ",
            hunk + 1,
            model.hunks.len(),
            if h.accepted { "✓ accepted" } else { "✗ rejected" }
        ),
        None => format!(" Diff: {path} "),
    }
}

fn draw_stream(app: &App, f: &mut Frame, area: Rect, path: &str, live: bool) {
    let what = if live { "streaming" } else { "the model's reply (the diff follows when the run ends)" };
    let b = block(&app.theme, app.focus, format!(" {path} — {what} "), Pane::Diff);
    let inner_h = b.inner(area).height as usize;
    let text = app.streams.get(path).map_or("", String::as_str);
    let all: Vec<&str> = text.split('\n').collect();
    let start = all.len().saturating_sub(inner_h);
    let lines: Vec<Line> = all[start..].iter().map(|l| Line::from(Span::styled(cap(l), app.theme.text))).collect();
    f.render_widget(Paragraph::new(lines).block(b), area);
}

fn cap(s: &str) -> String {
    if s.chars().count() > MAX_LINE {
        format!("{}…", s.chars().take(MAX_LINE).collect::<String>())
    } else {
        s.to_owned()
    }
}

/// The highlighted spans of row `i`, or the plain text while its chunk is being highlighted.
fn syntax_spans(model: &FileDiffModel, hl: &mut Highlighter, i: usize) -> Vec<HlSpan> {
    let row = &model.rows[i];
    let plain = || vec![(Style::default(), cap(&row.text))];
    let Some(h) = model.hunks.get(row.hunk) else { return plain() };
    let new_side = row.kind != RowKind::Remove;
    let side = if new_side { &h.new_rows } else { &h.old_rows };
    let chunk = row.side_idx / CHUNK;
    let from = chunk * CHUNK;
    let to = (from + CHUNK).min(side.len());
    let key = ChunkKey { path: model.path.clone(), version: model.version, hunk: row.hunk, new_side, chunk };
    let lines = || side[from..to].iter().map(|r| cap(&model.rows[*r].text)).collect();
    hl.row(&key, row.side_idx - from, lines).unwrap_or_else(plain)
}

/// Splits `spans` at the edges of `emph`, giving emphasized bytes `emph_style` and the rest
/// `base` (both patched over the syntax style).
fn overlay(spans: Vec<HlSpan>, base: Style, emph: &[Range<usize>], emph_style: Style) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    for (st, text) in spans {
        let end = at + text.len();
        let mut cuts: Vec<usize> = vec![at, end];
        for r in emph {
            for b in [r.start, r.end] {
                if b > at && b < end && text.is_char_boundary(b - at) {
                    cuts.push(b);
                }
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        for w in cuts.windows(2) {
            let (s, e) = (w[0], w[1]);
            let inside = emph.iter().any(|r| r.start <= s && e <= r.end);
            let style = st.patch(if inside { emph_style } else { base });
            out.push(Span::styled(text[s - at..e - at].to_owned(), style));
        }
        at = end;
    }
    out
}

/// A code row's sign, line background and text spans: syntax colors, the add/remove
/// background and intraline emphasis (none of either when its hunk is rejected).
pub(crate) fn code_spans(
    model: &mut FileDiffModel,
    hl: &mut Highlighter,
    t: &Theme,
    i: usize,
    accepted: bool,
) -> (&'static str, Style, Vec<Span<'static>>) {
    let kind = model.rows[i].kind;
    let (sign, bg, emph_style) = match kind {
        RowKind::Add => ("+", t.add, t.add_emph),
        RowKind::Remove => ("-", t.remove, t.remove_emph),
        _ => (" ", Style::default(), Style::default()),
    };
    let (bg, emph_style) = if accepted { (bg, emph_style) } else { (t.rejected, t.rejected) };
    let spans = syntax_spans(model, hl, i);
    let emph: Vec<Range<usize>> = if matches!(kind, RowKind::Add | RowKind::Remove) && accepted {
        model.emphasis(i).to_vec()
    } else {
        Vec::new()
    };
    (sign, bg, overlay(spans, bg, &emph, emph_style))
}

/// A hunk header's review mark: `[✓ accepted]`, `[✗ rejected]` or `[✗ rejected: reason]`.
pub(crate) fn review_mark(t: &Theme, accepted: bool, reason: Option<&str>) -> Span<'static> {
    match (accepted, reason) {
        (true, _) => Span::styled("[✓ accepted]", t.ok),
        (false, Some(r)) => Span::styled(format!("[✗ rejected: {r}]"), t.rejected),
        (false, None) => Span::styled("[✗ rejected]", t.rejected),
    }
}

fn render_row(
    model: &mut FileDiffModel,
    hl: &mut Highlighter,
    t: &Theme,
    i: usize,
    cursor: bool,
    reason: Option<&str>,
) -> Line<'static> {
    let row = model.rows[i].clone();
    let accepted = model.hunks.get(row.hunk).is_none_or(|h| h.accepted);
    let num = |n: Option<u32>| n.map_or_else(|| "     ".to_owned(), |n| format!("{n:>5}"));
    let mut line = match row.kind {
        RowKind::Header => Line::from(vec![
            Span::styled(format!("{:>11} ", ""), t.line_number),
            Span::styled(row.text.clone(), t.hunk_header),
            Span::raw(" "),
            review_mark(t, accepted, reason),
        ]),
        RowKind::NoNewline => Line::from(vec![
            Span::styled(format!("{:>11} ", ""), t.line_number),
            Span::styled(row.text.clone(), t.muted),
        ]),
        kind => {
            let (sign, bg, spans) = code_spans(model, hl, t, i, accepted);
            let mut v = vec![
                Span::styled(format!("{} {} ", num(row.old_no), num(row.new_no)), t.line_number),
                Span::styled(sign, bg),
            ];
            v.extend(spans);
            let mut l = Line::from(v);
            if kind != RowKind::Context {
                l = l.style(bg);
            }
            l
        }
    };
    if cursor {
        line = line.patch_style(t.selection);
    }
    line
}

/// Draws the selected file `path` side by side in `area`: old lines left, new right, with the
/// same colors and emphasis as the unified view; only the lines on screen are rendered.
fn draw_side_by_side(app: &mut App, f: &mut Frame, area: Rect, path: &str) {
    let sbs = sidebyside::cached(app, path);
    let App { diffs, hl, theme: t, diff_cursor, diff_scroll, focus, review, .. } = app;
    let Some(model) = diffs.get_mut(path) else { return };
    let hunk = model.hunk_of(*diff_cursor).unwrap_or(0);
    let title = diff_title(path, model, hunk).replacen(" Diff: ", " Diff ⇆ ", 1);
    let b = block(t, *focus, title, Pane::Diff);
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
    hl: &mut Highlighter,
    t: &Theme,
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

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Style;

    #[test]
    fn fit_cuts_and_pads_to_the_width() {
        let cut = fit(vec![Span::raw("abcdef"), Span::raw("gh")], 5, Style::default());
        assert_eq!(cut.iter().map(|s| s.content.as_ref()).collect::<String>(), "abcd…");
        let pad = fit(vec![Span::raw("ab")], 5, Style::default());
        assert_eq!(pad.iter().map(|s| s.width()).sum::<usize>(), 5);
    }
}
