//! The panes. Each `draw` reads the app state and renders one area; none changes the state
//! except the diff pane's scroll position and highlight cache and the files pane's scroll
//! offset (kept for mouse clicks). The plan view is an overlay drawn over the panes.

pub mod changes;
pub mod diff;
pub mod files;
pub mod log;
pub mod phases;
pub mod plan;
pub mod validation;
