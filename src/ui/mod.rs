//! Front ends. Each renders the orchestrator's event stream and sends it commands; none calls
//! a stage directly.
//!
//! - [`headless`]: progress on stderr and NDJSON events, for `ai-tools codegen`;
//! - [`tui`]: the ratatui workbench (`ai-tools` with no subcommand);
//! - [`commands`]: the slash commands the interactive front ends share.

pub mod commands;
pub mod describe;
pub mod headless;
pub mod repl;
pub mod tui;
pub mod visible;
