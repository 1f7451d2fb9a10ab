//! UI themes: pane colors, diff backgrounds and the syntax theme, from TOML (`themes/*.toml`,
//! built in; a user file by path), adapted to the terminal.
//!
//! Invariants: with `NO_COLOR` set (https://no-color.org) no style carries a color — only
//! modifiers (bold, reverse, dim) remain, so +/− lines are still told apart by their sign and
//! emphasis; on 256- or 16-color terminals every RGB color is mapped to the nearest palette
//! entry, so nothing renders as an unsupported escape.

use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// Built-in themes by name.
pub const BUILTIN: &[(&str, &str)] =
    &[("dark", include_str!("../../../themes/dark.toml")), ("light", include_str!("../../../themes/light.toml"))];

/// What the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorDepth {
    /// No colors at all (`NO_COLOR`).
    None,
    /// The 16 ANSI colors.
    Ansi16,
    /// The xterm 256-color palette.
    Ansi256,
    /// 24-bit RGB.
    TrueColor,
}

impl ColorDepth {
    /// Detects the depth from `NO_COLOR`, `COLORTERM` and `TERM`.
    pub fn detect(get: impl Fn(&str) -> Option<String>) -> Self {
        if get("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return ColorDepth::None;
        }
        let ct = get("COLORTERM").unwrap_or_default().to_ascii_lowercase();
        if ct.contains("truecolor") || ct.contains("24bit") {
            return ColorDepth::TrueColor;
        }
        let term = get("TERM").unwrap_or_default();
        if term.contains("256") {
            ColorDepth::Ansi256
        } else if term == "dumb" {
            ColorDepth::None
        } else {
            ColorDepth::Ansi16
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    syntax_theme: String,
    colors: Colors,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Colors {
    text: String,
    muted: String,
    border: String,
    border_focused: String,
    title: String,
    accent: String,
    ok: String,
    warn: String,
    error: String,
    selection_bg: String,
    add_bg: String,
    remove_bg: String,
    add_emph_bg: String,
    remove_emph_bg: String,
    hunk_header: String,
    rejected: String,
    line_number: String,
}

/// A resolved theme: styles ready for ratatui.
#[derive(Debug, Clone)]
pub struct Theme {
    /// Theme name.
    pub name: String,
    /// syntect theme name for code.
    pub syntax_theme: String,
    /// Whether syntax colors may be used.
    pub depth: ColorDepth,
    /// Plain text.
    pub text: Style,
    /// Secondary text.
    pub muted: Style,
    /// Pane borders.
    pub border: Style,
    /// The focused pane's border.
    pub border_focused: Style,
    /// Pane titles.
    pub title: Style,
    /// Highlights.
    pub accent: Style,
    /// Success.
    pub ok: Style,
    /// Warnings.
    pub warn: Style,
    /// Errors.
    pub error: Style,
    /// The cursor row.
    pub selection: Style,
    /// Added lines.
    pub add: Style,
    /// Removed lines.
    pub remove: Style,
    /// Changed words on added lines.
    pub add_emph: Style,
    /// Changed words on removed lines.
    pub remove_emph: Style,
    /// Hunk headers.
    pub hunk_header: Style,
    /// Rejected hunks.
    pub rejected: Style,
    /// Line numbers.
    pub line_number: Style,
}

/// A theme that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// Unknown name and no such file.
    #[error("unknown theme `{0}`: use dark, light, or a path to a theme .toml file")]
    Unknown(String),
    /// The file is not a theme.
    #[error("theme {path}: {message}")]
    Invalid {
        /// Which file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Parses `#rrggbb` or an ANSI color name.
pub fn parse_color(s: &str) -> Option<Color> {
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() != 6 {
            return None;
        }
        let v = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    s.parse::<Color>().ok()
}

const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 49, 49)),
    (Color::Green, (13, 188, 121)),
    (Color::Yellow, (229, 229, 16)),
    (Color::Blue, (36, 114, 200)),
    (Color::Magenta, (188, 63, 188)),
    (Color::Cyan, (17, 168, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (102, 102, 102)),
    (Color::LightRed, (241, 76, 76)),
    (Color::LightGreen, (35, 209, 139)),
    (Color::LightYellow, (245, 245, 67)),
    (Color::LightBlue, (59, 142, 234)),
    (Color::LightMagenta, (214, 112, 214)),
    (Color::LightCyan, (41, 184, 219)),
    (Color::White, (255, 255, 255)),
];

fn dist(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).unsigned_abs();
    d(a.0, b.0).pow(2) + d(a.1, b.1).pow(2) + d(a.2, b.2).pow(2)
}

/// The nearest xterm-256 index for an RGB color (6×6×6 cube or gray ramp).
pub fn nearest_256(r: u8, g: u8, b: u8) -> u8 {
    let level = |v: u8| -> u8 {
        if v < 48 {
            0
        } else if v < 115 {
            1
        } else {
            (v - 35) / 40
        }
    };
    let cube_val = |i: u8| if i == 0 { 0 } else { 55 + i * 40 };
    let (ri, gi, bi) = (level(r), level(g), level(b));
    let cube = (cube_val(ri), cube_val(gi), cube_val(bi));
    let cube_idx = 16 + 36 * ri + 6 * gi + bi;
    let avg = ((u16::from(r) + u16::from(g) + u16::from(b)) / 3) as u8;
    let gi2 = if avg > 238 { 23 } else { avg.saturating_sub(3) / 10 };
    let gray = 8 + gi2 * 10;
    if dist((gray, gray, gray), (r, g, b)) < dist(cube, (r, g, b)) { 232 + gi2 } else { cube_idx }
}

/// `c` as the terminal can show it.
pub fn adapt(c: Color, depth: ColorDepth) -> Option<Color> {
    match (c, depth) {
        (_, ColorDepth::None) => None,
        (Color::Rgb(r, g, b), ColorDepth::Ansi256) => Some(Color::Indexed(nearest_256(r, g, b))),
        (Color::Rgb(r, g, b), ColorDepth::Ansi16) => {
            ANSI16.iter().min_by_key(|(_, rgb)| dist(*rgb, (r, g, b))).map(|(c, _)| *c)
        }
        (c, _) => Some(c),
    }
}

impl Theme {
    /// Loads `name_or_path` (a built-in name or a TOML file) for a terminal of `depth`.
    ///
    /// # Errors
    /// [`ThemeError`].
    pub fn load(name_or_path: &str, depth: ColorDepth) -> Result<Self, ThemeError> {
        let (text, shown) = match BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            Some((_, t)) => ((*t).to_owned(), name_or_path.to_owned()),
            None => {
                let p = Path::new(name_or_path);
                let t = std::fs::read_to_string(p).map_err(|_| ThemeError::Unknown(name_or_path.to_owned()))?;
                (t, p.display().to_string())
            }
        };
        let file: ThemeFile =
            toml::from_str(&text).map_err(|e| ThemeError::Invalid { path: shown.clone(), message: e.to_string() })?;
        Self::from_file(file, depth, &shown)
    }

    fn from_file(f: ThemeFile, depth: ColorDepth, shown: &str) -> Result<Self, ThemeError> {
        let c = |s: &str| -> Result<Option<Color>, ThemeError> {
            let color = parse_color(s)
                .ok_or_else(|| ThemeError::Invalid { path: shown.to_owned(), message: format!("bad color `{s}`") })?;
            Ok(adapt(color, depth))
        };
        let fg = |s: &str| -> Result<Style, ThemeError> {
            Ok(c(s)?.map_or_else(Style::default, |x| Style::default().fg(x)))
        };
        let bg = |s: &str| -> Result<Style, ThemeError> {
            Ok(c(s)?.map_or_else(Style::default, |x| Style::default().bg(x)))
        };
        let k = &f.colors;
        let mono = depth == ColorDepth::None;
        let or_mod = |s: Style, m: Modifier| if mono { s.add_modifier(m) } else { s };
        Ok(Self {
            name: f.name,
            syntax_theme: f.syntax_theme,
            depth,
            text: fg(&k.text)?,
            muted: or_mod(fg(&k.muted)?, Modifier::DIM),
            border: fg(&k.border)?,
            border_focused: or_mod(fg(&k.border_focused)?, Modifier::BOLD),
            title: fg(&k.title)?.add_modifier(Modifier::BOLD),
            accent: fg(&k.accent)?,
            ok: fg(&k.ok)?,
            warn: fg(&k.warn)?,
            error: or_mod(fg(&k.error)?, Modifier::BOLD),
            selection: or_mod(bg(&k.selection_bg)?, Modifier::REVERSED),
            add: bg(&k.add_bg)?,
            remove: bg(&k.remove_bg)?,
            add_emph: or_mod(bg(&k.add_emph_bg)?, Modifier::BOLD),
            remove_emph: or_mod(bg(&k.remove_emph_bg)?, Modifier::BOLD),
            hunk_header: fg(&k.hunk_header)?,
            rejected: or_mod(fg(&k.rejected)?, Modifier::DIM | Modifier::CROSSED_OUT),
            line_number: or_mod(fg(&k.line_number)?, Modifier::DIM),
        })
    }

    /// Names of the built-in themes.
    pub fn names() -> Vec<String> {
        BUILTIN.iter().map(|(n, _)| (*n).to_owned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_load_at_every_depth() {
        for name in ["dark", "light"] {
            for d in [ColorDepth::None, ColorDepth::Ansi16, ColorDepth::Ansi256, ColorDepth::TrueColor] {
                let t = Theme::load(name, d).unwrap();
                match d {
                    ColorDepth::None => assert_eq!(t.add.bg, None),
                    ColorDepth::Ansi256 => assert!(matches!(t.add.bg, Some(Color::Indexed(_)))),
                    ColorDepth::Ansi16 => assert!(!matches!(t.add.bg, Some(Color::Rgb(..) | Color::Indexed(_)))),
                    ColorDepth::TrueColor => assert!(matches!(t.add.bg, Some(Color::Rgb(..)))),
                }
            }
        }
    }

    #[test]
    fn depth_detection() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(ColorDepth::detect(env(&[("NO_COLOR", "1"), ("COLORTERM", "truecolor")])), ColorDepth::None);
        assert_eq!(ColorDepth::detect(env(&[("COLORTERM", "truecolor")])), ColorDepth::TrueColor);
        assert_eq!(ColorDepth::detect(env(&[("TERM", "xterm-256color")])), ColorDepth::Ansi256);
        assert_eq!(ColorDepth::detect(env(&[("TERM", "xterm")])), ColorDepth::Ansi16);
    }

    #[test]
    fn palette_mapping() {
        assert_eq!(nearest_256(0, 0, 0), 16);
        assert_eq!(nearest_256(255, 255, 255), 231);
        assert_eq!(nearest_256(128, 128, 128), 244);
        assert_eq!(adapt(Color::Rgb(240, 10, 10), ColorDepth::Ansi16), Some(Color::Red));
        assert_eq!(adapt(Color::Rgb(250, 80, 80), ColorDepth::Ansi16), Some(Color::LightRed));
        assert!(Theme::load("nope", ColorDepth::TrueColor).is_err());
    }
}
