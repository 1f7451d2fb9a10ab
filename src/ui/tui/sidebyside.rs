//! Moving through the side-by-side diff (toggled with `s`): its lines, cached per diff
//! version, and the cursor, which stays a row of the file's model so switching views keeps the
//! place. The layout is [`crate::ui::tui::sbs`]; the drawing is in
//! [`crate::ui::tui::panes::diff`].

use crate::ui::tui::app::App;
use crate::ui::tui::sbs::{self, SbsLine};

/// The side-by-side lines of the selected file, from the cache when its version matches.
pub fn cached(app: &mut App, path: &str) -> Vec<SbsLine> {
    let Some(model) = app.diffs.get(path) else { return Vec::new() };
    if let Some((p, v, l)) = &app.review.sbs_cache
        && p == path
        && *v == model.version
    {
        return l.clone();
    }
    let l = sbs::lines(model);
    app.review.sbs_cache = Some((path.to_owned(), model.version, l.clone()));
    l
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
