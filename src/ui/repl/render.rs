//! Text for the REPL: event lines and syntax-colored hunks as ANSI escapes (none under
//! `NO_COLOR`).

use std::fmt::Write as _;

use ratatui::style::{Color, Modifier, Style};

use crate::orchestrator::Event;
use crate::review::patchset::LineKind;
use crate::review::view::{FileHunks, HunkState, HunkView};
use crate::ui::describe;
use crate::ui::tui::highlight::{Highlighter, Span};
use crate::ui::tui::theme::{ColorDepth, Theme};

fn sgr_color(c: Color, fg: bool) -> Option<String> {
    let base = if fg { 30 } else { 40 };
    Some(match c {
        Color::Rgb(r, g, b) => format!("{};2;{r};{g};{b}", if fg { 38 } else { 48 }),
        Color::Indexed(i) => format!("{};5;{i}", if fg { 38 } else { 48 }),
        Color::Black => format!("{base}"),
        Color::Red => format!("{}", base + 1),
        Color::Green => format!("{}", base + 2),
        Color::Yellow => format!("{}", base + 3),
        Color::Blue => format!("{}", base + 4),
        Color::Magenta => format!("{}", base + 5),
        Color::Cyan => format!("{}", base + 6),
        Color::Gray => format!("{}", base + 7),
        Color::DarkGray => format!("{}", base + 60),
        Color::LightRed => format!("{}", base + 61),
        Color::LightGreen => format!("{}", base + 62),
        Color::LightYellow => format!("{}", base + 63),
        Color::LightBlue => format!("{}", base + 64),
        Color::LightMagenta => format!("{}", base + 65),
        Color::LightCyan => format!("{}", base + 66),
        Color::White => format!("{}", base + 67),
        Color::Reset => return None,
    })
}

/// `text` wrapped in the SGR sequence for `style` (plain when the style is empty).
pub fn paint(text: &str, style: Style) -> String {
    let mut codes: Vec<String> = Vec::new();
    if style.add_modifier.contains(Modifier::BOLD) {
        codes.push("1".into());
    }
    if style.add_modifier.contains(Modifier::DIM) {
        codes.push("2".into());
    }
    if style.add_modifier.contains(Modifier::REVERSED) {
        codes.push("7".into());
    }
    codes.extend(style.fg.and_then(|c| sgr_color(c, true)));
    codes.extend(style.bg.and_then(|c| sgr_color(c, false)));
    // The text is untrusted (diff lines, findings): its control characters are shown, not sent.
    let text = crate::ui::visible::visible(text);
    if codes.is_empty() { text.into_owned() } else { format!("\x1b[{}m{text}\x1b[0m", codes.join(";")) }
}

/// The line for an event, colored for failures when `color`.
pub fn event_line(e: &Event, color: bool) -> Option<String> {
    let l = describe::line(e)?;
    let bad = matches!(e, Event::Failed { .. } | Event::FileFailed { .. } | Event::Rejected { .. });
    Some(if color && bad { paint(&l, Style::default().fg(Color::Red)) } else { l })
}

fn spans_text(spans: &[Span], base: Style) -> String {
    spans.iter().map(|(st, t)| paint(t, st.patch(base))).collect()
}

/// One hunk with its header, line numbers, +/− signs and syntax colors.
pub fn hunk(f: &FileHunks, h: &HunkView, hl: &mut Highlighter, theme: &Theme) -> String {
    let mut out = String::new();
    let state = if h.state == HunkState::Accepted { "accepted" } else { "rejected" };
    let _ = writeln!(out, "{} {}", paint(&h.header, theme.hunk_header), paint(&format!("[{state}]"), theme.muted));
    let colored = theme.depth != ColorDepth::None;
    let new_side: Vec<&str> = h.lines.iter().filter(|l| l.kind != LineKind::Remove).map(|l| l.text.as_str()).collect();
    let old_side: Vec<&str> = h.lines.iter().filter(|l| l.kind == LineKind::Remove).map(|l| l.text.as_str()).collect();
    let (new_hl, old_hl) = if colored {
        (hl.highlight(&f.path, &new_side), hl.highlight(&f.path, &old_side))
    } else {
        (Vec::new(), Vec::new())
    };
    let (mut ni, mut oi) = (0, 0);
    for l in &h.lines {
        let num = |n: Option<usize>| n.map_or_else(|| "    ".to_owned(), |n| format!("{n:>4}"));
        let (sign, base, spans) = match l.kind {
            LineKind::Remove => {
                oi += 1;
                ("-", theme.remove, old_hl.get(oi - 1))
            }
            LineKind::Add => {
                ni += 1;
                ("+", theme.add, new_hl.get(ni - 1))
            }
            LineKind::Context => {
                ni += 1;
                (" ", Style::default(), new_hl.get(ni - 1))
            }
        };
        let body = match spans {
            Some(s) => spans_text(s, base),
            None => paint(&l.text, base),
        };
        let _ = writeln!(
            out,
            "{} {} {}{}",
            paint(&num(l.old), theme.line_number),
            paint(&num(l.new), theme.line_number),
            paint(sign, base),
            body
        );
        if l.no_newline {
            let _ = writeln!(out, "{}", paint("\\ No newline at end of file", theme.muted));
        }
    }
    out
}

/// A file's header line: path and +/− counts.
pub fn header(f: &FileHunks, theme: &Theme) -> String {
    paint(&format!("── {} (+{} −{})", f.path, f.additions, f.deletions), theme.title)
}

/// Every hunk of a file, under a file header.
pub fn file(f: &FileHunks, hl: &mut Highlighter, theme: &Theme) -> String {
    let mut out = format!("{}\n", header(f, theme));
    for h in &f.hunks {
        out.push_str(&hunk(f, h, hl, theme));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_emits_sgr_only_for_styled_text() {
        assert_eq!(paint("x", Style::default()), "x");
        assert_eq!(
            paint("x", Style::default().fg(Color::Rgb(1, 2, 3)).add_modifier(Modifier::BOLD)),
            "\x1b[1;38;2;1;2;3mx\x1b[0m"
        );
        assert_eq!(paint("x", Style::default().bg(Color::Indexed(22))), "\x1b[48;5;22mx\x1b[0m");
    }
}
