//! Syntax highlighting for diff lines (syntect with two-face's extra syntaxes and themes, so
//! TSX, TOML and the rest are covered).
//!
//! Invariant: highlighting is lazy and bounded — a caller highlights only the rows it is about
//! to draw, a run of at most [`CHUNK`] lines from a fresh parse state, and caches the result;
//! so the cost of a frame never depends on the diff's size (delta's approach: highlight what
//! is shown, per hunk).

use std::collections::HashMap;

use ratatui::style::{Color, Modifier, Style};
use syntect::easy::HighlightLines;
use syntect::highlighting::{FontStyle, Theme as SynTheme};
use syntect::parsing::{SyntaxReference, SyntaxSet};
use two_face::theme::{EmbeddedLazyThemeSet, EmbeddedThemeName};

use crate::ui::tui::theme::{ColorDepth, adapt};

/// Lines highlighted from one fresh parse state; a multi-line construct that spans a chunk
/// boundary may be colored as if it started there.
pub const CHUNK: usize = 128;

/// A run of text with one style.
pub type Span = (Style, String);

/// Syntaxes, themes and a per-chunk cache.
pub struct Highlighter {
    syntaxes: SyntaxSet,
    themes: EmbeddedLazyThemeSet,
    theme: Option<EmbeddedThemeName>,
    depth: ColorDepth,
    cache: HashMap<ChunkKey, Vec<Vec<Span>>>,
}

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

impl std::fmt::Debug for Highlighter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Highlighter").field("cached_chunks", &self.cache.len()).finish()
    }
}

impl Highlighter {
    /// A highlighter using syntect theme `theme_name` (a two-face theme such as
    /// "Monokai Extended"; unknown names fall back to plain text) on a terminal of `depth`.
    pub fn new(theme_name: &str, depth: ColorDepth) -> Self {
        let theme = EmbeddedLazyThemeSet::theme_names().iter().copied().find(|t| t.as_name() == theme_name);
        Self {
            syntaxes: two_face::syntax::extra_newlines(),
            themes: two_face::theme::extra(),
            theme,
            depth,
            cache: HashMap::new(),
        }
    }

    /// Switches the syntax theme (drops the cache).
    pub fn set_theme(&mut self, theme_name: &str, depth: ColorDepth) {
        self.theme = EmbeddedLazyThemeSet::theme_names().iter().copied().find(|t| t.as_name() == theme_name);
        self.depth = depth;
        self.cache.clear();
    }

    /// Number of cached chunks.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// Drops cached chunks of `path`.
    pub fn forget(&mut self, path: &str) {
        self.cache.retain(|k, _| k.path != path);
    }

    fn syntax_for(&self, path: &str) -> &SyntaxReference {
        let name = path.rsplit('/').next().unwrap_or(path);
        let ext = name.rsplit_once('.').map_or(name, |(_, e)| e);
        self.syntaxes
            .find_syntax_by_extension(ext)
            .or_else(|| self.syntaxes.find_syntax_by_extension(name))
            .unwrap_or_else(|| self.syntaxes.find_syntax_plain_text())
    }

    /// The spans of the chunk `key`, whose lines are `lines` (the whole chunk, in order);
    /// computed once and cached.
    pub fn chunk(&mut self, key: &ChunkKey, lines: &[&str]) -> &[Vec<Span>] {
        if !self.cache.contains_key(key) {
            let spans = self.highlight(&key.path, lines);
            self.cache.insert(key.clone(), spans);
        }
        self.cache.get(key).map_or(&[], Vec::as_slice)
    }

    /// Highlights `lines` of `path` from a fresh state. Without colors, or for an unknown
    /// theme, every line is one plain span.
    pub fn highlight(&self, path: &str, lines: &[&str]) -> Vec<Vec<Span>> {
        let plain = || lines.iter().map(|l| vec![(Style::default(), (*l).to_owned())]).collect();
        let Some(name) = self.theme.filter(|_| self.depth != ColorDepth::None) else { return plain() };
        let theme: &SynTheme = self.themes.get(name);
        let mut h = HighlightLines::new(self.syntax_for(path), theme);
        let mut out = Vec::with_capacity(lines.len());
        for line in lines {
            let with_nl = format!("{line}\n");
            match h.highlight_line(&with_nl, &self.syntaxes) {
                Ok(regions) => out.push(
                    regions
                        .into_iter()
                        .map(|(st, text)| (self.style_of(st), text.trim_end_matches('\n').to_owned()))
                        .filter(|(_, t)| !t.is_empty())
                        .collect(),
                ),
                Err(_) => out.push(vec![(Style::default(), (*line).to_owned())]),
            }
        }
        out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_python_tsx_and_toml_with_colors() {
        let h = Highlighter::new("Monokai Extended", ColorDepth::TrueColor);
        for (path, line) in
            [("a.py", "def f(x): return 1"), ("c.tsx", "const x: number = <div/>;"), ("Cargo.toml", "name = \"x\"")]
        {
            let spans = h.highlight(path, &[line]);
            let colors: std::collections::HashSet<_> = spans[0].iter().filter_map(|(s, _)| s.fg).collect();
            assert!(colors.len() >= 2, "{path}: {spans:?}");
            assert_eq!(spans[0].iter().map(|(_, t)| t.as_str()).collect::<String>(), line);
        }
    }

    #[test]
    fn no_color_means_plain_spans_and_cache_is_reused() {
        let mut h = Highlighter::new("Monokai Extended", ColorDepth::None);
        let key = ChunkKey { path: "a.py".into(), version: 1, hunk: 0, new_side: true, chunk: 0 };
        let got = h.chunk(&key, &["x = 1", "y = 2"]).to_vec();
        assert_eq!(got.len(), 2);
        assert!(got.iter().flatten().all(|(s, _)| s.fg.is_none()));
        h.chunk(&key, &["ignored"]);
        assert_eq!(h.cached(), 1);
    }
}
