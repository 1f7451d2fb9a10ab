//! Syntax highlighting for diff lines (syntect with two-face's extra syntaxes and themes, so
//! TSX, TOML and the rest are covered).
//!
//! Invariants: highlighting is lazy and bounded — only chunks holding rows about to be drawn are
//! highlighted, each a run of at most [`CHUNK`] lines from a fresh parse state (delta's
//! approach: highlight what is shown, per hunk), and results are cached. In background mode (the
//! running workbench) the work happens on a worker thread: a frame never waits for it, draws the
//! not-yet-highlighted rows plain, and the worker asks for a redraw when a chunk is ready. So a
//! frame's cost never depends on the diff's size or on syntect's speed.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};

use ratatui::style::{Color, Modifier, Style};
use syntect::easy::HighlightLines;
use syntect::highlighting::FontStyle;
use syntect::parsing::{SyntaxReference, SyntaxSet};
use tokio::sync::mpsc::UnboundedSender;
use two_face::theme::{EmbeddedLazyThemeSet, EmbeddedThemeName};

use crate::ui::tui::theme::{ColorDepth, adapt};

/// Lines highlighted from one fresh parse state; a multi-line construct that spans a chunk
/// boundary may be colored as if it started there.
pub const CHUNK: usize = 64;

/// A run of text with one style.
pub type Span = (Style, String);

/// Identifies a cached chunk: the file, its content version, the hunk, the side of the diff
/// (old or new), and the chunk number within that side's lines.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChunkKey {
    /// File path.
    pub path: String,
    /// A version number that changes when the file's diff changes.
    pub version: u64,
    /// Hunk index.
    pub hunk: usize,
    /// `false` for the old side, `true` for the new side.
    pub new_side: bool,
    /// Chunk number (line index / [`CHUNK`]).
    pub chunk: usize,
}

/// The syntect side: syntaxes, the theme, the terminal's depth. Immutable once built.
struct Core {
    syntaxes: Arc<SyntaxSet>,
    themes: EmbeddedLazyThemeSet,
    theme: Option<EmbeddedThemeName>,
    depth: ColorDepth,
}

impl Core {
    fn syntax_for(&self, path: &str) -> &SyntaxReference {
        let name = path.rsplit('/').next().unwrap_or(path);
        let ext = name.rsplit_once('.').map_or(name, |(_, e)| e);
        self.syntaxes
            .find_syntax_by_extension(ext)
            .or_else(|| self.syntaxes.find_syntax_by_extension(name))
            .unwrap_or_else(|| self.syntaxes.find_syntax_plain_text())
    }

    fn highlight(&self, path: &str, lines: &[String]) -> Vec<Vec<Span>> {
        let plain = || lines.iter().map(|l| vec![(Style::default(), l.clone())]).collect();
        let Some(name) = self.theme.filter(|_| self.depth != ColorDepth::None) else { return plain() };
        let mut h = HighlightLines::new(self.syntax_for(path), self.themes.get(name));
        lines
            .iter()
            .map(|line| match h.highlight_line(&format!("{line}\n"), &self.syntaxes) {
                Ok(regions) => regions
                    .into_iter()
                    .map(|(st, text)| (self.style_of(st), text.trim_end_matches('\n').to_owned()))
                    .filter(|(_, t)| !t.is_empty())
                    .collect(),
                Err(_) => vec![(Style::default(), line.clone())],
            })
            .collect()
    }

    fn style_of(&self, st: syntect::highlighting::Style) -> Style {
        let c = st.foreground;
        let mut s = Style::default();
        if let Some(fg) = adapt(Color::Rgb(c.r, c.g, c.b), self.depth) {
            s = s.fg(fg);
        }
        if st.font_style.contains(FontStyle::BOLD) {
            s = s.add_modifier(Modifier::BOLD);
        }
        if st.font_style.contains(FontStyle::ITALIC) {
            s = s.add_modifier(Modifier::ITALIC);
        }
        s
    }
}

/// Chunks by key, each with the theme generation it was highlighted under.
type Cache = Arc<Mutex<HashMap<ChunkKey, (u64, Arc<Vec<Vec<Span>>>)>>>;

struct Job {
    key: ChunkKey,
    lines: Vec<String>,
    core: Arc<Core>,
    generation: u64,
}

/// Highlighting with a chunk cache, inline or on a worker thread (see the module invariants).
pub struct Highlighter {
    core: Arc<Core>,
    /// Bumped by a theme change: chunks highlighted under an older theme are stale.
    generation: u64,
    cache: Cache,
    pending: HashSet<ChunkKey>,
    worker: Option<Sender<Job>>,
}

impl std::fmt::Debug for Highlighter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Highlighter").field("background", &self.worker.is_some()).finish()
    }
}

fn theme_named(name: &str) -> Option<EmbeddedThemeName> {
    EmbeddedLazyThemeSet::theme_names().iter().copied().find(|t| t.as_name() == name)
}

impl Highlighter {
    /// An inline highlighter using syntect theme `theme_name` (a two-face theme such as
    /// "Monokai Extended"; unknown names give plain text) on a terminal of `depth`.
    pub fn new(theme_name: &str, depth: ColorDepth) -> Self {
        let core = Core {
            syntaxes: Arc::new(two_face::syntax::extra_newlines()),
            themes: two_face::theme::extra(),
            theme: theme_named(theme_name),
            depth,
        };
        Self { core: Arc::new(core), generation: 0, cache: Arc::default(), pending: HashSet::new(), worker: None }
    }

    /// Moves highlighting to a worker thread that sends `()` on `redraw` whenever a chunk is
    /// ready. If the thread cannot start, highlighting stays inline.
    pub fn run_in_background(&mut self, redraw: UnboundedSender<()>) {
        let (tx, rx) = channel::<Job>();
        let cache = self.cache.clone();
        let spawned = std::thread::Builder::new().name("ai-tools-highlight".into()).spawn(move || {
            while let Ok(job) = rx.recv() {
                let done =
                    cache.lock().map(|c| c.get(&job.key).is_some_and(|(g, _)| *g == job.generation)).unwrap_or(true);
                if done {
                    continue;
                }
                let spans = Arc::new(job.core.highlight(&job.key.path, &job.lines));
                if let Ok(mut c) = cache.lock() {
                    // A job from before a theme change must not overwrite newer colors.
                    if c.get(&job.key).is_none_or(|(g, _)| *g <= job.generation) {
                        c.insert(job.key, (job.generation, spans));
                    }
                }
                if redraw.send(()).is_err() {
                    break;
                }
            }
        });
        if spawned.is_ok() {
            self.worker = Some(tx);
        }
    }

    /// Switches the syntax theme (drops the cache).
    pub fn set_theme(&mut self, theme_name: &str, depth: ColorDepth) {
        let core = Core {
            syntaxes: self.core.syntaxes.clone(),
            themes: two_face::theme::extra(),
            theme: theme_named(theme_name),
            depth,
        };
        self.core = Arc::new(core);
        self.generation += 1;
        self.clear();
    }

    fn clear(&mut self) {
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
        self.pending.clear();
    }

    /// Number of cached chunks.
    pub fn cached(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Drops cached chunks of `path`.
    pub fn forget(&mut self, path: &str) {
        if let Ok(mut c) = self.cache.lock() {
            c.retain(|k, _| k.path != path);
        }
        self.pending.retain(|k| k.path != path);
    }

    /// Row `idx` of chunk `key`, whose lines `lines` yields. Inline: computed now and cached.
    /// Background: `None` until the worker has it (the request is queued once).
    pub fn row(&mut self, key: &ChunkKey, idx: usize, lines: impl FnOnce() -> Vec<String>) -> Option<Vec<Span>> {
        let current = self.generation;
        let cached =
            self.cache.lock().ok().and_then(|c| c.get(key).filter(|(g, _)| *g == current).map(|(_, s)| s.clone()));
        if let Some(chunk) = cached {
            return chunk.get(idx).cloned();
        }
        match &self.worker {
            Some(tx) => {
                if self.pending.insert(key.clone()) {
                    let _ =
                        tx.send(Job { key: key.clone(), lines: lines(), core: self.core.clone(), generation: current });
                }
                None
            }
            None => {
                let spans = Arc::new(self.core.highlight(&key.path, &lines()));
                let row = spans.get(idx).cloned();
                if let Ok(mut c) = self.cache.lock() {
                    c.insert(key.clone(), (current, spans));
                }
                row
            }
        }
    }

    /// Highlights `lines` of `path` from a fresh state, inline and uncached.
    pub fn highlight(&self, path: &str, lines: &[&str]) -> Vec<Vec<Span>> {
        let owned: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        self.core.highlight(path, &owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_python_tsx_go_and_toml_with_colors() {
        let h = Highlighter::new("Monokai Extended", ColorDepth::TrueColor);
        for (path, line) in [
            ("a.py", "def f(x): return 1"),
            ("c.tsx", "const x: number = <div/>;"),
            ("pkg/a.go", "func F(x int) string { return \"x\" }"),
            ("Cargo.toml", "name = \"x\""),
        ] {
            let spans = h.highlight(path, &[line]);
            let colors: HashSet<_> = spans[0].iter().filter_map(|(s, _)| s.fg).collect();
            assert!(colors.len() >= 2, "{path}: {spans:?}");
            assert_eq!(spans[0].iter().map(|(_, t)| t.as_str()).collect::<String>(), line);
        }
    }

    #[test]
    fn no_color_means_plain_spans_and_cache_is_reused() {
        let mut h = Highlighter::new("Monokai Extended", ColorDepth::None);
        let key = ChunkKey { path: "a.py".into(), version: 1, hunk: 0, new_side: true, chunk: 0 };
        let got = h.row(&key, 1, || vec!["x = 1".into(), "y = 2".into()]).unwrap();
        assert_eq!(got, vec![(Style::default(), "y = 2".to_owned())]);
        assert!(h.row(&key, 0, || panic!("cached: lines not needed")).is_some());
        assert_eq!(h.cached(), 1);
    }

    #[tokio::test]
    async fn background_mode_never_blocks_and_asks_for_a_redraw() {
        let mut h = Highlighter::new("Monokai Extended", ColorDepth::TrueColor);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        h.run_in_background(tx);
        let key = ChunkKey { path: "a.py".into(), version: 1, hunk: 0, new_side: true, chunk: 0 };
        assert!(h.row(&key, 0, || vec!["def f(): pass".into()]).is_none(), "not ready yet");
        rx.recv().await.unwrap();
        let row = h.row(&key, 0, || panic!("cached")).unwrap();
        assert!(row.iter().filter_map(|(s, _)| s.fg).count() >= 2);
    }
}
