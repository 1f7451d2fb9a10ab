//! The phase pane: global phases, codegen's stages lit as they happen, a gauge per wave, and
//! per-file status (queued, streaming with tokens so far, done, failed).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph};

use crate::task::state::{Phase, RunStatus, Stage};
use crate::ui::tui::app::{App, FileProgress, Pane, RunView};
use crate::ui::tui::view::block;

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

/// Draws the pane.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let b = block(&app.theme, app.focus, " Phases ", Pane::Phases);
    let inner = b.inner(area);
    f.render_widget(b, area);
    if inner.height == 0 {
        return;
    }
    // Abbreviate when the full names do not fit (80-column terminals).
    let compact = inner.width < 62;
    let mut phases = Vec::new();
    for (i, p) in Phase::ALL.iter().enumerate() {
        if i > 0 {
            phases.push(Span::styled(if compact { "→" } else { " → " }, t.muted));
        }
        let style = if *p == app.phase { t.accent.add_modifier(ratatui::style::Modifier::BOLD) } else { t.muted };
        let name = match (compact, p) {
            (true, Phase::Planning) => "plan",
            (true, Phase::PlanReview) => "plan_review",
            (true, Phase::Review) => "review",
            _ => p.as_str(),
        };
        phases.push(Span::styled(name, style));
    }
    let mut lines = vec![Line::from(phases)];
    let failed = matches!(app.run, RunView::Finished(s, _) if s != RunStatus::Ready);
    let mut stages = Vec::new();
    for s in Stage::ALL {
        let style = match app.stage {
            Some(cur) if cur == s && failed => t.error,
            Some(cur) if cur == s => {
                t.accent.add_modifier(ratatui::style::Modifier::BOLD | ratatui::style::Modifier::REVERSED)
            }
            Some(cur) if s < cur => t.ok,
            _ => t.muted,
        };
        let name = if compact { short(s) } else { s.as_str() };
        stages.push(Span::styled(if compact { format!("{name} ") } else { format!(" {name} ") }, style));
    }
    lines.push(Line::from(stages));
    let header = lines.len() as u16;
    f.render_widget(Paragraph::new(lines), Rect { height: header.min(inner.height), ..inner });

    // One gauge per wave, then the files of the active waves.
    let mut y = inner.y + header;
    let bottom = inner.y + inner.height;
    let tick = app.log.len() % SPINNER.len();
    for (i, w) in app.waves.iter().enumerate() {
        if y >= bottom {
            return;
        }
        let total = w.files.len().max(1);
        let secs = w.elapsed.unwrap_or_else(|| w.started.elapsed()).as_secs_f64();
        let label = format!("wave {} {}/{} {:.1}s", i + 1, w.done, w.files.len(), secs);
        let g = LineGauge::default()
            .ratio((w.done as f64 / total as f64).clamp(0.0, 1.0))
            .label(label)
            .filled_symbol("━")
            .unfilled_symbol("─")
            .filled_style(if w.elapsed.is_some() { t.ok } else { t.accent })
            .unfilled_style(t.muted);
        f.render_widget(g, Rect { y, height: 1, ..inner });
        y += 1;
    }
    let mut rows = Vec::new();
    for r in app.files.iter().filter(|r| {
        !matches!(r.progress, FileProgress::Done)
            || app.waves.iter().any(|w| w.elapsed.is_none() && w.files.contains(&r.path))
    }) {
        let (mark, style, note) = match &r.progress {
            FileProgress::Queued => ("·", t.muted, "queued".to_owned()),
            FileProgress::Streaming(n) => {
                (SPINNER[tick], t.accent, format!("streaming, {n} token{}", if *n == 1 { "" } else { "s" }))
            }
            FileProgress::Done => ("✓", t.ok, "done".to_owned()),
            FileProgress::Failed(e) => ("✗", t.error, format!("failed: {e}")),
        };
        rows.push(Line::from(vec![
            Span::styled(format!("{mark} "), style),
            Span::styled(r.path.clone(), t.text),
            Span::styled(format!("  {note}"), t.muted),
        ]));
    }
    if y < bottom && !rows.is_empty() {
        f.render_widget(Paragraph::new(rows), Rect { y, height: bottom - y, ..inner });
    }
}

/// Stage names for narrow panes.
fn short(s: Stage) -> &'static str {
    match s {
        Stage::Context => "ctx",
        Stage::Generate => "gen",
        Stage::Materialize => "mat",
        Stage::Diff => "diff",
        Stage::Validate => "val",
        Stage::Repair => "fix",
        Stage::Ready => "ready",
    }
}
