//! The panes. Each `draw` reads the app state and renders one area; none changes the state
//! except the diff pane's scroll position and highlight cache.

pub mod diff;
pub mod files;
pub mod log;
pub mod phases;
pub mod validation;
